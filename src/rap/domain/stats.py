"""Intervals, ratios, funnel limits, overdispersion and indirect standardisation.

The methods follow the Public Health England (now OHID/UKHSA) "Technical Guide: Confidence Intervals" and
Spiegelhalter (2005), "Funnel plots for comparing institutional performance", as the project's methods notes
set out:

* proportions: Wilson score interval (good coverage at small counts, never outside [0, 1]);
* counts and rates: Byar's approximation for O >= 10, exact chi-squared (Poisson) limits for O < 10;
* ratios of rates: log method; ratios of proportions: statsmodels ``confint_proportions_2indep``;
* funnel plots: exact binomial / Poisson control limits, widened for overdispersion when needed;
* indirect standardisation: O / E with E from national rates applied to each area's population.

Every function is vectorised: it takes scalars, numpy arrays or pandas Series, and returns numpy arrays
(or Series with the input's index when the first argument is a Series), so a whole table of LAs is one
call. Nothing here reads files or parameters; the caller passes the confidence level.

The GPL-3 packages PHEindicatormethods (R) and PHStatsMethods (Python) were used only as an outside check:
their published test values appear in ``tests/test_stats.py`` with citations; none of their code is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

ArrayLike = float | int | Sequence[float] | np.ndarray | pd.Series

__all__ = [
    "Interval",
    "additive_tau2",
    "byar_limits",
    "exact_poisson_limits",
    "funnel_limits_proportion",
    "funnel_limits_ratio",
    "indirect_standardisation",
    "overdispersion_phi",
    "overdispersed_limits",
    "poisson_count_ci",
    "proportion_ratio_ci",
    "rate_ci",
    "rate_ratio_ci",
    "wilson_ci",
    "winsorise",
    "z_scores_proportion",
    "z_scores_ratio",
]

#: Counts below this use exact chi-squared limits; at or above it Byar's approximation (PHE guidance:
#: Byar is within 0.2% of exact for O >= 10 at 95%).
BYAR_MIN_COUNT = 10


class Interval(NamedTuple):
    """A point estimate with its lower and upper limits (arrays, or Series when the input was one)."""

    estimate: np.ndarray | pd.Series
    lower: np.ndarray | pd.Series
    upper: np.ndarray | pd.Series


# --------------------------------------------------------------------------------------------------
# helpers


def _arr(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _like(values: np.ndarray, template: object) -> np.ndarray | pd.Series:
    """Give results the input's index when the caller passed a Series, so they line up on assignment."""
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index)
    return values


def _z(level: float) -> float:
    """Two-sided normal quantile: 1.959964 for 95%, 3.090232 for 99.8% (never the rounded 1.96)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _level_label(level: float) -> str:
    """Column-name label for a level: 0.95 -> '95', 0.998 -> '99_8'."""
    txt = f"{level * 100:.10g}"
    return txt.replace(".", "_")


# --------------------------------------------------------------------------------------------------
# proportions


def wilson_ci(count: ArrayLike, n: ArrayLike, level: float = 0.95) -> Interval:
    """Wilson score interval for count / n.

    Why Wilson: it keeps good coverage for small counts and proportions near 0 or 1 (both common for
    ethnic groups within one LA), and gives a non-degenerate interval when count is 0. statsmodels'
    default method is "normal" (Wald), so the method is passed explicitly. Rows with n == 0 give NaN.
    """
    c, nn = _arr(count), _arr(n)
    if np.any(c < 0) or np.any(c > nn):
        raise ValueError("counts must be between 0 and n")
    ok = nn > 0
    est = np.full(np.broadcast(c, nn).shape, np.nan)
    lo, hi = est.copy(), est.copy()
    cb, nb = np.broadcast_arrays(c, nn)
    if ok.any():
        okb = np.broadcast_to(ok, cb.shape)
        lo[okb], hi[okb] = proportion_confint(cb[okb], nb[okb], alpha=1 - level, method="wilson")
        est[okb] = cb[okb] / nb[okb]
    return Interval(_like(est, count), _like(lo, count), _like(hi, count))


# --------------------------------------------------------------------------------------------------
# counts and rates


def mean_ci(n: ArrayLike, total: ArrayLike, total_sq: ArrayLike, level: float = 0.95) -> tuple[Interval, np.ndarray]:
    """Mean with its t-interval, and the standard deviation, from each group's count, sum and sum of squares
    (what can be added up over areas and groups). NaN where ``n`` < 2 (no spread, no interval)."""
    n, s, ss = _arr(n), _arr(total), _arr(total_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        var = np.where(n > 1, np.maximum(ss - s * s / n, 0) / (n - 1), np.nan)
        sd = np.sqrt(var)
        half = stats.t.ppf(0.5 + level / 2, np.where(n > 1, n - 1, np.nan)) * sd / np.sqrt(n)
    return Interval(mean, mean - half, mean + half), sd


def byar_limits(count: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the Poisson limits of a count O (accurate for O >= 10).

    O_L = O (1 - 1/(9O) - z/(3 sqrt O))^3, O_U = (O+1)(1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3.
    For O = 0 the lower limit is 0 (the formula is undefined there).
    """
    o = _arr(count)
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(o > 0, o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3, 0.0)
    o1 = o + 1
    upper = o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3
    return lower, upper


def exact_poisson_limits(count: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson limits via chi-squared quantiles; the lower limit is 0 when O = 0.

    O_L = chi2.ppf(alpha/2, 2O) / 2, O_U = chi2.ppf(1 - alpha/2, 2O + 2) / 2.
    """
    o = _arr(count)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
    return lower, upper


def poisson_count_ci(count: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Limits for an observed count: exact below 10, Byar from 10 (the PHE/OHID rule)."""
    o = _arr(count)
    if np.any(o < 0):
        raise ValueError("counts must be >= 0")
    bl, bu = byar_limits(o, level)
    el, eu = exact_poisson_limits(o, level)
    small = o < BYAR_MIN_COUNT
    return np.where(small, el, bl), np.where(small, eu, bu)


def rate_ci(count: ArrayLike, denominator: ArrayLike, per: float = 10_000, level: float = 0.95) -> Interval:
    """Rate per ``per`` (e.g. children looked after per 10,000 children) with its confidence interval.

    Limits on the count come from :func:`poisson_count_ci` (exact below 10, Byar from 10) and are divided
    by the denominator and scaled, so the interval is asymmetric as it should be for small counts.
    A zero or missing denominator gives NaN.
    """
    o, d = _arr(count), _arr(denominator)
    lo, hi = poisson_count_ci(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(d > 0, per / d, np.nan)
    return Interval(_like(o * scale, count), _like(lo * scale, count), _like(hi * scale, count))


# --------------------------------------------------------------------------------------------------
# ratios between groups


def rate_ratio_ci(a: ArrayLike, pop_a: ArrayLike, b: ArrayLike, pop_b: ArrayLike, level: float = 0.95) -> Interval:
    """Ratio of two rates (a/pop_a) / (b/pop_b) with the log-method interval.

    ln(RR) +/- z sqrt(1/a + 1/b): the usual large-sample interval for a ratio of Poisson rates with known
    denominators (e.g. the rate for a group over the rate for White British children). Undefined (NaN)
    when either count is 0; pool years or report the rates instead.
    """
    a_, pa, b_, pb = _arr(a), _arr(pop_a), _arr(b), _arr(pop_b)
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (a_ / pa) / (b_ / pb)
        se = np.sqrt(1 / a_ + 1 / b_)
        bad = (a_ <= 0) | (b_ <= 0) | (pa <= 0) | (pb <= 0)
        lo = np.where(bad, np.nan, rr * np.exp(-z * se))
        hi = np.where(bad, np.nan, rr * np.exp(z * se))
        rr = np.where((pa <= 0) | (pb <= 0) | (b_ <= 0), np.nan, rr)
    return Interval(_like(rr, a), _like(lo, a), _like(hi, a))


ProportionRatioMethod = Literal["log-adjusted", "log", "score"]


def proportion_ratio_ci(
    count1: ArrayLike,
    n1: ArrayLike,
    count2: ArrayLike,
    n2: ArrayLike,
    level: float = 0.95,
    method: ProportionRatioMethod = "log-adjusted",
) -> Interval:
    """Ratio of two independent proportions (count1/n1) / (count2/n2) with its interval.

    Uses ``statsmodels.stats.proportion.confint_proportions_2indep(compare="ratio")``. Its default for a
    ratio (statsmodels 0.14-0.15) is ``method="log-adjusted"``: the Katz log interval computed after adding
    0.5 to each count and each n, var = 1/x1' - 1/n1' + 1/x2' - 1/n2' — which keeps the interval finite when
    a count is 0. We pass that method explicitly so a statsmodels default change cannot move our numbers.
    ``method="score"`` gives the Koopman (1984) score interval (per pair; slower, not vectorised upstream).
    The point estimate is the unadjusted ratio of the observed proportions.

    Where both proportions are 100% the log-adjusted variance is 0 and its interval has no width (1.00 to
    1.00, as if the ratio were known exactly); there each cell of both 2x2 tables gets 0.5 instead
    (Haldane-Anscombe: counts + 0.5, n + 1), which keeps the interval honest.
    """
    c1, m1, c2, m2 = np.broadcast_arrays(_arr(count1), _arr(n1), _arr(count2), _arr(n2))
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (c1 / m1) / (c2 / m2)
    if method == "score":
        lo = np.empty(c1.shape)
        hi = np.empty(c1.shape)
        for i in np.ndindex(c1.shape):
            lo[i], hi[i] = confint_proportions_2indep(
                c1[i], m1[i], c2[i], m2[i], method="score", compare="ratio", alpha=alpha
            )
    else:
        lo, hi = confint_proportions_2indep(c1, m1, c2, m2, method=method, compare="ratio", alpha=alpha)
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        lo, hi = _all_or_none_limits(c1, m1, c2, m2, lo, hi, level)
    return Interval(_like(est, count1), _like(lo, count1), _like(hi, count1))


def _all_or_none_limits(
    c1: np.ndarray, m1: np.ndarray, c2: np.ndarray, m2: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """The log interval with 0.5 added to every cell (n + 1) where both proportions are 1, whose log-adjusted
    interval has zero width."""
    full = (c1 == m1) & (c2 == m2) & (m1 > 0) & (m2 > 0)
    if not np.any(full):
        return lo, hi
    a1, n1, a2, n2 = c1 + 0.5, m1 + 1.0, c2 + 0.5, m2 + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log((a1 / n1) / (a2 / n2))
        half = _z(level) * np.sqrt(1 / a1 - 1 / n1 + 1 / a2 - 1 / n2)
    return np.where(full, np.exp(centre - half), lo), np.where(full, np.exp(centre + half), hi)


def ratio_to_whole_ci(
    count: ArrayLike,
    n: ArrayLike,
    whole_count: ArrayLike,
    whole_n: ArrayLike,
    level: float = 0.95,
    *,
    binomial: bool = True,
) -> Interval:
    """Ratio of a group's figure (count / n) to the figure of a whole that contains it (whole_count / whole_n,
    e.g. all children), with a log interval that allows for the group being part of the whole.

    The whole is the group plus the rest, independent of each other, so by the delta method
    var(ln R) = (1/x - 1/X)^2 var(x) + var(x_rest) / X^2, with var(x) = x(1 - x/n) for a proportion
    (``binomial``) and x for a rate per population (Poisson). Treating the two as independent instead makes
    the interval of a large group far too wide (White's about 2.4 times). Where that variance is 0 (the group
    is the whole, or every proportion is 0 or 1) the rest gets 0.5 children, so no interval has zero width.
    NaN where the group's count or either n is 0.
    """
    x, m, big_x, big_m = np.broadcast_arrays(_arr(count), _arr(n), _arr(whole_count), _arr(whole_n))
    rest, rest_n = np.maximum(big_x - x, 0.0), np.maximum(big_m - m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (x / m) / (big_x / big_m)
        var = _part_of_whole_variance(x, m, rest, rest_n, binomial)
        var = np.where(var > 0, var, _part_of_whole_variance(x, m, rest + 0.5, rest_n + 1.0, binomial))
        half = _z(level) * np.sqrt(var)
        bad = (x <= 0) | (m <= 0) | (big_x <= 0) | (big_m <= 0)
        est = np.where(bad, np.nan, est)
        lo, hi = np.where(bad, np.nan, est * np.exp(-half)), np.where(bad, np.nan, est * np.exp(half))
    return Interval(_like(est, count), _like(lo, count), _like(hi, count))


def _part_of_whole_variance(
    x: np.ndarray, m: np.ndarray, rest: np.ndarray, rest_n: np.ndarray, binomial: bool
) -> np.ndarray:
    """Delta-method variance of ln((x / m) / ((x + rest) / (m + rest_n))) for independent x and rest."""
    whole = x + rest
    if binomial:
        var_x = x * (1 - x / m)
        var_rest = np.where(rest_n > 0, rest * (1 - rest / np.where(rest_n > 0, rest_n, 1.0)), 0.0)
    else:
        var_x, var_rest = x, rest
    return (1 / x - 1 / whole) ** 2 * var_x + var_rest / whole**2


# --------------------------------------------------------------------------------------------------
# funnel plots


def _interpolated_quantile(cdf_at: np.ndarray, cdf_below: np.ndarray, r: np.ndarray, p: float) -> np.ndarray:
    """Spiegelhalter (2005, appendix A.1.1) smoothing of a discrete quantile r_p.

    alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)); the limit count is r_p - alpha, which turns the step
    function of a discrete distribution into the smooth funnel drawn in practice.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (cdf_at - p) / (cdf_at - cdf_below)
    return r - np.nan_to_num(a, nan=0.0)


def funnel_limits_proportion(
    target_p: float,
    n: ArrayLike,
    levels: Sequence[float] = (0.95, 0.998),
    method: Literal["exact", "spiegelhalter", "wilson"] = "exact",
) -> pd.DataFrame:
    """Control limits for a proportion around ``target_p`` (e.g. the England value) for denominators ``n``.

    ``method="exact"`` (default): the continuous inversion of the exact binomial test — the limit count k
    solves P(X <= k) = alpha/2 (lower) or P(X >= k) = alpha/2 (upper) for X ~ Bin(n, target), using the
    regularised incomplete beta function so k is not restricted to whole numbers. A point is outside the
    limits exactly when its one-sided exact p-value is below alpha/2, so small LAs are never flagged by an
    artefact of discreteness. Chosen as default because LA proportions for single ethnic groups are often
    small and based on small denominators, where normal limits are poor.

    ``method="spiegelhalter"``: Spiegelhalter's (2005, Stat Med, appendix A.1.1) interpolated binomial
    quantile (r_p - alpha) / n. It smooths the discrete quantile rather than inverting the test; for very
    small n it can put an upper limit below a point that is not significant (e.g. 1 of 1 against a target
    of 0.8), which is why it is not the default here.

    ``method="wilson"``: target +/- z sqrt(target (1 - target) / n), truncated to [0, 1] — the limits drawn
    by PHE's Fingertips funnel tool and PHEindicatormethods (``phe_funnels``): a point is outside them
    exactly when its Wilson score test against the target rejects.

    Returns one row per ``n`` with columns ``n``, ``target``, ``lower_95``, ``upper_95``, ``lower_99_8``,
    ``upper_99_8`` (labels follow ``levels``) as proportions (multiply by 100 for percentages).
    """
    nn = np.atleast_1d(_arr(n))
    t = float(target_p)
    if not 0 <= t <= 1:
        raise ValueError("target_p must be a proportion between 0 and 1")
    out = pd.DataFrame({"n": nn, "target": t})
    for level in levels:
        lab = _level_label(level)
        tail = (1 - level) / 2
        if method == "wilson":
            half = _z(level) * np.sqrt(t * (1 - t) / nn)
            lo, hi = np.clip(t - half, 0, 1), np.clip(t + half, 0, 1)
        elif method == "spiegelhalter":
            lo = _binomial_limit(t, nn, tail)
            hi = _binomial_limit(t, nn, 1 - tail)
        elif method == "exact":
            lo = _binomial_exact_limit(t, nn, tail, "lower")
            hi = _binomial_exact_limit(t, nn, tail, "upper")
        else:
            raise ValueError(f"unknown method {method!r}")
        out[f"lower_{lab}"] = lo
        out[f"upper_{lab}"] = hi
    return out


def _binomial_exact_limit(t: float, n: np.ndarray, tail: float, side: str) -> np.ndarray:
    """Continuous k on the exact binomial test boundary, returned as a proportion k / n.

    P(X <= k) = I_{1-t}(n - k, k + 1) and P(X >= k) = I_t(k, n - k + 1) (regularised incomplete beta),
    both continuous in k; solved by vectorised bisection on k in [0, n].
    """
    nn = n.astype(float)
    lo = np.zeros_like(nn)
    hi = nn.copy()
    eps = 1e-12
    for _ in range(200):
        mid = (lo + hi) / 2
        if side == "lower":
            f = special.betainc(np.maximum(nn - mid, eps), mid + 1, 1 - t)  # P(X <= k), increasing
            go_up = f < tail
        else:
            f = special.betainc(np.maximum(mid, eps), nn - mid + 1, t)  # P(X >= k), decreasing
            go_up = f > tail
        lo = np.where(go_up, mid, lo)
        hi = np.where(go_up, hi, mid)
    k = (lo + hi) / 2
    if side == "lower":
        k = np.where((1 - t) ** nn >= tail, 0.0, k)
    else:
        k = np.where(t**nn >= tail, nn, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(nn > 0, k / nn, np.nan), 0, 1)


def _binomial_limit(t: float, n: np.ndarray, p: float) -> np.ndarray:
    nn = np.maximum(np.round(n).astype(int), 0)
    r = stats.binom.ppf(p, nn, t)
    at = stats.binom.cdf(r, nn, t)
    below = stats.binom.cdf(r - 1, nn, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        lim = _interpolated_quantile(at, below, r, p) / nn
    return np.clip(np.where(nn > 0, lim, np.nan), 0, 1)


def _poisson_interpolated_limit(e: np.ndarray, p: float) -> np.ndarray:
    r = stats.poisson.ppf(p, e)
    at = stats.poisson.cdf(r, e)
    below = stats.poisson.cdf(r - 1, e)
    return np.maximum(_interpolated_quantile(at, below, r, p), 0.0)


def _poisson_exact_count_limit(e: np.ndarray, tail: float, side: str) -> np.ndarray:
    """Continuous O at which an observed count is exactly on the exact-test boundary for mean E.

    lower: P(X <= O | E) = tail, i.e. Q(O + 1, E) = tail (regularised upper incomplete gamma);
    upper: P(X >= O | E) = tail, i.e. P(O, E) = tail. Solved by vectorised bisection in O; this is the
    inverse of the chi-squared limits, so a point is outside these limits exactly when its exact CI
    excludes E (consistent with :func:`poisson_count_ci` for O < 10).
    """
    lo = np.zeros_like(e)
    hi = e + 20 * np.sqrt(e) + 50
    for _ in range(200):
        mid = (lo + hi) / 2
        if side == "lower":
            f = special.gammaincc(mid + 1, e)  # P(X <= O), increasing in O
            go_up = f < tail
        else:
            f = special.gammainc(np.maximum(mid, 1e-300), e)  # P(X >= O), decreasing in O
            go_up = f > tail
        lo = np.where(go_up, mid, lo)
        hi = np.where(go_up, hi, mid)
    res = (lo + hi) / 2
    if side == "lower":
        res = np.where(np.exp(-e) >= tail, 0.0, res)
    return res


def funnel_limits_ratio(
    expected: ArrayLike,
    levels: Sequence[float] = (0.95, 0.998),
    method: Literal["exact", "spiegelhalter"] = "exact",
) -> pd.DataFrame:
    """Control limits for an observed/expected ratio (target 1) at expected counts ``expected``.

    ``method="exact"`` (default): the continuous inversion of the exact Poisson test, as in PHE's ISR
    funnels (PHEindicatormethods ``phe_funnels(type="ratio")``): a point is outside them exactly when its
    exact (chi-squared) interval on O excludes E, so the funnel agrees with the intervals in
    :func:`indirect_standardisation` for O < 10. ``method="spiegelhalter"``: Poisson quantile on O with
    Spiegelhalter's (2005) interpolation, divided by E (differs by up to one event; see
    :func:`funnel_limits_proportion` for why it is not the default).

    Returns columns ``expected``, ``target`` (1.0) and ``lower_<level>``/``upper_<level>`` as ratios.
    """
    e = np.atleast_1d(_arr(expected))
    out = pd.DataFrame({"expected": e, "target": 1.0})
    for level in levels:
        lab = _level_label(level)
        tail = (1 - level) / 2
        if method == "spiegelhalter":
            lo = _poisson_interpolated_limit(e, tail)
            hi = _poisson_interpolated_limit(e, 1 - tail)
        elif method == "exact":
            lo = _poisson_exact_count_limit(e, tail, "lower")
            hi = _poisson_exact_count_limit(e, tail, "upper")
        else:
            raise ValueError(f"unknown method {method!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"lower_{lab}"] = np.where(e > 0, lo / e, np.nan)
            out[f"upper_{lab}"] = np.where(e > 0, hi / e, np.nan)
    return out


# --------------------------------------------------------------------------------------------------
# overdispersion (Spiegelhalter 2005, "Handling over-dispersion of performance indicators", QSHC 14:347)


def z_scores_proportion(count: ArrayLike, n: ArrayLike, target_p: float) -> tuple[np.ndarray, np.ndarray]:
    """Null z-scores (y - t) / s and null standard errors s = sqrt(t (1 - t) / n) for proportions."""
    c, nn = _arr(count), _arr(n)
    se = np.sqrt(target_p * (1 - target_p) / nn)
    return (c / nn - target_p) / se, se


def z_scores_ratio(observed: ArrayLike, expected: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Null z-scores (O/E - 1) / s and standard errors s = 1 / sqrt(E) for O/E ratios (Poisson)."""
    o, e = _arr(observed), _arr(expected)
    se = 1 / np.sqrt(e)
    return (o / e - 1) / se, se


def winsorise(z: ArrayLike, winsor: float = 0.1) -> np.ndarray:
    """Pull the lowest and highest ``winsor`` share of z-scores in to the ``winsor`` percentiles.

    Spiegelhalter winsorises at 10% each side so that the outliers we are trying to detect do not inflate
    the overdispersion estimate. Percentiles use numpy's default (linear) definition.
    """
    zz = _arr(z)
    zz = zz[np.isfinite(zz)]
    if winsor <= 0 or zz.size == 0:
        return zz
    lo, hi = np.quantile(zz, [winsor, 1 - winsor])
    return np.clip(zz, lo, hi)


def overdispersion_phi(z_scores: ArrayLike, winsor: float = 0.1) -> float:
    """Multiplicative overdispersion factor phi = mean of squared winsorised z-scores.

    Under no overdispersion, I * phi is approximately chi-squared on I degrees of freedom, so phi near 1
    means the funnel limits are fine as they are. Non-finite z-scores are dropped.
    """
    zw = winsorise(z_scores, winsor)
    return float(np.mean(zw**2)) if zw.size else float("nan")


def additive_tau2(z_scores: ArrayLike, standard_errors: ArrayLike, winsor: float = 0.1) -> float:
    """Between-unit variance tau^2 (DerSimonian-Laird style, Spiegelhalter 2005 QSHC eq. for tau^2).

    tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), with w = 1 / s^2 and phi from winsorised
    z-scores; truncated at 0 (no overdispersion detected).
    """
    z = _arr(z_scores)
    s = _arr(standard_errors)
    keep = np.isfinite(z) & np.isfinite(s) & (s > 0)
    z, s = z[keep], s[keep]
    i = z.size
    if i < 2:
        return float("nan")
    phi = overdispersion_phi(z, winsor)
    w = 1 / s**2
    denom = w.sum() - (w**2).sum() / w.sum()
    return float(max(0.0, (i * phi - (i - 1)) / denom))


def overdispersed_limits(
    target: float,
    standard_errors: ArrayLike,
    levels: Sequence[float] = (0.95, 0.998),
    *,
    phi: float | None = None,
    tau2: float | None = None,
) -> pd.DataFrame:
    """Normal-approximation control limits widened for overdispersion.

    Give ``tau2`` for the additive random-effects limits target +/- z sqrt(s^2 + tau^2) (our default choice,
    see below) or ``phi`` for the multiplicative limits target +/- z sqrt(phi) s. A phi below 1 is treated
    as 1 (limits are never narrowed).

    Why additive is the default in this project: LAs differ enormously in size (a few dozen to a few
    thousand children in care). With a multiplicative phi the limits still close in on the target for big
    LAs, so real between-LA differences in recording and practice flag almost every large LA; an additive
    tau^2 keeps a floor of genuine between-LA variation, which is what Spiegelhalter recommends when
    between-unit variation does not shrink with size. Use ``phi`` when variation is believed to scale
    with the sampling variance.
    """
    s = np.atleast_1d(_arr(standard_errors))
    if (phi is None) == (tau2 is None):
        raise ValueError("give exactly one of phi (multiplicative) or tau2 (additive)")
    if tau2 is not None:
        spread = np.sqrt(s**2 + max(tau2, 0.0))
    else:
        spread = np.sqrt(max(float(phi), 1.0)) * s  # type: ignore[arg-type]
    out = pd.DataFrame({"se": s, "target": target})
    for level in levels:
        lab = _level_label(level)
        out[f"lower_{lab}"] = target - _z(level) * spread
        out[f"upper_{lab}"] = target + _z(level) * spread
    return out


# --------------------------------------------------------------------------------------------------
# indirect standardisation


def indirect_standardisation(
    observed: pd.DataFrame | pd.Series,
    area_population: pd.DataFrame,
    reference_rates: pd.Series,
    level: float = 0.95,
    *,
    area: str = "area",
    group: str = "group",
    population: str = "population",
    count: str = "observed",
) -> pd.DataFrame:
    """Standardised ratio O / E for each area, adjusting for its ethnic mix.

    E_a = sum over groups e of reference_rates[e] * area_population[a, e] (rates per person, e.g. national
    children looked after per child in group e). The ratio's interval is the count interval on O (exact
    below 10, Byar from 10) divided by E — E is treated as fixed, as is usual when the reference is
    national. A ratio above 1 means more children than the area's ethnic mix alone predicts.

    ``observed``: a Series indexed by area, or a DataFrame with columns ``area`` and ``count``.
    ``area_population``: long DataFrame with columns ``area``, ``group``, ``population``.
    ``reference_rates``: Series indexed by group. Groups in the population that have no reference rate
    raise an error rather than silently dropping children from E.

    Returns one row per area: ``area, observed, expected, ratio, lower, upper, level, method``.
    """
    if isinstance(observed, pd.Series):
        obs = observed.rename_axis(area).rename(count).reset_index()
    else:
        obs = observed[[area, count]].copy()
    pop = area_population[[area, group, population]]
    missing = set(pop[group].unique()) - set(reference_rates.index)
    if missing:
        raise ValueError(f"no reference rate for groups: {sorted(map(str, missing))}")
    contrib = pop[population].to_numpy(dtype=float) * reference_rates.reindex(pop[group]).to_numpy(dtype=float)
    expected = pd.Series(contrib, index=pop.index).groupby(pop[area], sort=False).sum().rename("expected")
    out = obs.merge(expected, left_on=area, right_index=True, how="left", validate="one_to_one")
    o = out[count].to_numpy(dtype=float)
    e = out["expected"].to_numpy(dtype=float)
    lo, hi = poisson_count_ci(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = e > 0
        out["ratio"] = np.where(good, o / e, np.nan)
        out["lower"] = np.where(good, lo / e, np.nan)
        out["upper"] = np.where(good, hi / e, np.nan)
    out["level"] = level
    out["method"] = np.where(o < BYAR_MIN_COUNT, "exact", "byar")
    return out.rename(columns={count: "observed"})[
        [area, "observed", "expected", "ratio", "lower", "upper", "level", "method"]
    ]
