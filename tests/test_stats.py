"""Checks of rap.domain.stats against published reference values and hand calculations.

Reference values are copied (as facts, with their source) from the public test suites of PHE/UKHSA's
PHEindicatormethods (R) and DHSC's PHStatsMethods (Python). Both are GPL-3 and are NOT dependencies: only
the expected numbers are used here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from rap.domain import stats

Z95 = sps.norm.ppf(0.975)

# Sources (cited by short name beside each value):
# [PHSM-wilson]  DataS-DHSC/PHStatsMethods, ph_statistical_methods/unit_tests/test.wilsons.py
#                (commit 0e4699f9fccbb5f35a2ddcd995fb2c2c8f4d0038)
# [PHSM-funnel]  DataS-DHSC/PHStatsMethods, ph_statistical_methods/tests/test_utils_funnel.py
#                (commit 0480bb8634e4766d76ee70cd1258327a9b32f39d), funnel_ratio_significance: Byar / exact
#                limit on O divided by E, rounded to 2 dp; its p argument is the confidence level.
# [PHEim-ratio]  ukhsa-collaboration/PHEindicatormethods, tests/testthat/testdata_funnel_ratio_outputs.csv
#                (commit 8ac28e54249d9b01d586b19d1d1b39f5af3d49ac): for each observed count O, the expected
#                count E at which O sits on the exact 95% ("2s") / 99.8% ("3s") limit. E on the upper
#                limit of O is the exact lower CI of O and vice versa.
# [PHEim-prop]   ukhsa-collaboration/PHEindicatormethods, tests/testthat/testdata_funnel_prop_outputs.csv
#                (commit 63894a99103ffc9e0a3e8a15644200a3abb95669): proportion funnel limits (%) around a
#                baseline of 80.642448% by population.
# [ruby-byar]    rubygem "byar" README/source (research.rubygems.info blob 561925ce...): Byar limits for
#                O = 100 computed with z = 1.96 exactly (hence the 1e-5 relative tolerance against our
#                z = 1.959964).


# --------------------------------------------------------------------------------------------------
# Wilson


@pytest.mark.parametrize(
    "count, n, level, side, expected",
    [
        (20, 360, 0.95, "lower", 0.036248204600072345),  # [PHSM-wilson] test_wilson_lower95
        (550, 2400, 0.998, "lower", 0.20375892211705743),  # [PHSM-wilson] test_wilson_lower99_8
        (30, 400, 0.95, "upper", 0.10504770626130437),  # [PHSM-wilson] test_wilson_upper95
        (76, 238, 0.998, "upper", 0.418131030603369),  # [PHSM-wilson] test_wilson_upper99_8
    ],
)
def test_wilson_matches_phstatsmethods(count, n, level, side, expected):
    ci = stats.wilson_ci(count, n, level)
    got = ci.lower if side == "lower" else ci.upper
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_wilson_formula_and_zero_count():
    # The PHE formula (Fingertips technical guidance, "Proportions"): (2O + z^2 +/- z sqrt(z^2 + 4Oq)) /
    # (2(n + z^2)), recomputed by hand for 81 of 263 and for 0 of 10.
    for o, n in [(81, 263), (0, 10)]:
        q = 1 - o / n
        root = Z95 * math.sqrt(Z95**2 + 4 * o * q)
        lo = (2 * o + Z95**2 - root) / (2 * (n + Z95**2))
        hi = (2 * o + Z95**2 + root) / (2 * (n + Z95**2))
        ci = stats.wilson_ci(o, n)
        assert float(ci.lower) == pytest.approx(max(lo, 0), abs=1e-12)
        assert float(ci.upper) == pytest.approx(hi, rel=1e-12)


def test_wilson_keeps_series_index_and_handles_zero_n():
    idx = pd.Index(["a", "b"])
    ci = stats.wilson_ci(pd.Series([1, 0], index=idx), pd.Series([4, 0], index=idx))
    assert list(ci.lower.index) == ["a", "b"]
    assert np.isnan(ci.upper["b"])


# --------------------------------------------------------------------------------------------------
# counts and rates: Byar and exact


def test_byar_o100_ruby_gem():
    lo, hi = stats.byar_limits(100)
    assert float(hi) == pytest.approx(121.628347271806, rel=1e-5)  # [ruby-byar] upper_bound
    assert float(lo) / 90 == pytest.approx(0.9040199067337297, rel=1e-5)  # [ruby-byar] lower(90)


@pytest.mark.parametrize(
    "obs, expected, level, side, result",
    [
        (25, 20.0, 0.95, "upper", 1.85),  # [PHSM-funnel] Byar, O >= 10
        (20, 15.0, 0.05, "lower", 1.29),  # [PHSM-funnel] Byar at a 5% level
        (5, 10.0, 0.95, "upper", 1.17),  # [PHSM-funnel] exact, O < 10
        (5, 10.0, 0.05, "lower", 0.45),  # [PHSM-funnel] exact at a 5% level
    ],
)
def test_count_limits_over_expected_phstatsmethods(obs, expected, level, side, result):
    lo, hi = stats.poisson_count_ci(obs, level)
    got = (hi if side == "upper" else lo) / expected
    assert round(float(got), 2) == result


@pytest.mark.parametrize(
    "obs, level, lower, upper",
    [
        (1, 0.95, 0.025317898, 5.571644585),  # [PHEim-ratio] row O=1, upper_2s / lower_2s exp_events
        (5, 0.95, 1.623486324, 11.6683331),  # [PHEim-ratio] row O=5
        (1, 0.998, 0.001000547, 9.233410143),  # [PHEim-ratio] row O=1, 3s columns
    ],
)
def test_exact_limits_match_phe(obs, level, lower, upper):
    lo, hi = stats.poisson_count_ci(obs, level)
    # PHE finds E by bisection on v = E / (1 + O + E) stopping at a step of 1e-7, which leaves up to
    # ~5e-5 relative error for small E; hence rel=1e-4 (our chi-squared quantiles are exact).
    assert float(lo) == pytest.approx(lower, rel=1e-4)
    assert float(hi) == pytest.approx(upper, rel=1e-4)


def test_exact_limits_zero_count():
    lo, hi = stats.poisson_count_ci(0)
    # Analytic: P(X = 0 | mu) = exp(-mu) = 0.025  =>  mu = -ln 0.025 = 3.688879...
    assert float(lo) == 0.0
    assert float(hi) == pytest.approx(-math.log(0.025), rel=1e-12)


def test_byar_switch_at_ten_and_close_to_exact():
    # PHE Technical Guide: at 95%, Byar is within 0.2% of the exact limits for O >= 10.
    o = np.arange(10, 400)
    bl, bu = stats.byar_limits(o)
    el, eu = stats.exact_poisson_limits(o)
    assert np.all(np.abs(bl / el - 1) < 0.002)
    assert np.all(np.abs(bu / eu - 1) < 0.002)
    lo, hi = stats.poisson_count_ci([9, 10])
    assert lo[0] == pytest.approx(stats.exact_poisson_limits(9)[0])
    assert lo[1] == pytest.approx(stats.byar_limits(10)[0])


def test_rate_ci_scales_and_handles_zero():
    r = stats.rate_ci([0, 30], [20_000, 20_000], per=10_000)
    o = 30
    byar_lo = o * (1 - 1 / (9 * o) - Z95 / (3 * math.sqrt(o))) ** 3
    assert r.estimate[1] == pytest.approx(15.0)
    assert r.lower[1] == pytest.approx(byar_lo / 2)
    assert r.lower[0] == 0.0 and r.upper[0] == pytest.approx(-math.log(0.025) / 2)
    assert np.isnan(stats.rate_ci(3, 0).estimate)


# --------------------------------------------------------------------------------------------------
# ratios


def test_rate_ratio_log_method_by_hand():
    # 50 in 10,000 vs 100 in 40,000: RR = 2, se(ln RR) = sqrt(1/50 + 1/100)
    rr = stats.rate_ratio_ci(50, 10_000, 100, 40_000)
    se = math.sqrt(1 / 50 + 1 / 100)
    assert float(rr.estimate) == pytest.approx(2.0)
    assert float(rr.lower) == pytest.approx(2 * math.exp(-Z95 * se))
    assert float(rr.upper) == pytest.approx(2 * math.exp(Z95 * se))
    assert np.isnan(stats.rate_ratio_ci(0, 10, 5, 10).lower)


def test_proportion_ratio_log_adjusted_by_hand():
    # statsmodels "log-adjusted": add 0.5 to counts and ns, Katz log interval.
    c1, n1, c2, n2 = 10, 100, 20, 100
    a1, m1, a2, m2 = c1 + 0.5, n1 + 0.5, c2 + 0.5, n2 + 0.5
    rr = (a1 / m1) / (a2 / m2)
    se = math.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    ci = stats.proportion_ratio_ci(c1, n1, c2, n2)
    assert float(ci.estimate) == pytest.approx(0.5)
    assert float(ci.lower) == pytest.approx(rr * math.exp(-Z95 * se))
    assert float(ci.upper) == pytest.approx(rr * math.exp(Z95 * se))
    score = stats.proportion_ratio_ci([10, 0], [100, 50], [20, 5], [100, 60], method="score")
    assert score.lower[1] == 0.0 and score.upper[1] > 0


def test_proportion_ratio_of_two_full_proportions_has_an_interval_with_width():
    """10 of 10 against 20 of 20: the log-adjusted variance is 0 (a 1.00 to 1.00 interval, as if the ratio were
    known exactly); with 0.5 in every cell it is 1/10.5 - 1/11 + 1/20.5 - 1/21."""
    ci = stats.proportion_ratio_ci([10, 10], [10, 100], [20, 20], [20, 100])
    centre = math.log((10.5 / 11) / (20.5 / 21))
    half = Z95 * math.sqrt(1 / 10.5 - 1 / 11 + 1 / 20.5 - 1 / 21)
    assert float(ci.estimate[0]) == 1.0
    assert float(ci.lower[0]) == pytest.approx(math.exp(centre - half))
    assert float(ci.upper[0]) == pytest.approx(math.exp(centre + half))
    assert ci.lower[0] < 1 < ci.upper[0] and ci.upper[0] - ci.lower[0] > 0.1
    plain = stats.proportion_ratio_ci(10, 100, 20, 100)  # other rows keep the log-adjusted interval
    assert float(ci.lower[1]) == pytest.approx(float(plain.lower)) and float(ci.upper[1]) == pytest.approx(
        float(plain.upper)
    )


# --------------------------------------------------------------------------------------------------
# funnels


@pytest.mark.parametrize(
    "n, col, expected_pct",
    [
        (1, "lower_95", 3.204264),  # [PHEim-prop] Population 1, Lower2s0025limit
        (3, "lower_99_8", 10.150815),  # [PHEim-prop] Population 3, Lower3s0001limit
        (18, "upper_95", 98.894803),  # [PHEim-prop] Population 18, Upper2s0025limit
        (41, "upper_99_8", 99.710497),  # [PHEim-prop] Population 41, Upper3s0001limit
        (110000, "lower_95", 80.408963),  # [PHEim-prop] Population 110000, Lower2s0025limit
    ],
)
def test_proportion_funnel_wilson_matches_phe(n, col, expected_pct):
    f = stats.funnel_limits_proportion(0.80642448, [n], method="wilson")
    assert f[col].iloc[0] * 100 == pytest.approx(expected_pct, abs=1e-5)


def test_ratio_funnel_exact_matches_phe():
    # [PHEim-ratio]: O=1 lies on the lower 95% limit at E=5.571644585 (ISR 17.94802207%), on the upper
    # 95% limit at E=0.025317898 (ISR 3949.774946%) and on the lower 99.8% limit at E=9.233410143
    # (ISR 10.83023482%); O=100 on the lower 95% limit at E=121.6268111 (ISR 82.21871402%).
    # Tolerance 1e-4: PHE's bisection tolerance (see test_exact_limits_match_phe).
    f = stats.funnel_limits_ratio([5.571644585, 0.025317898, 9.233410143, 121.6268111])
    assert f["lower_95"][0] * 100 == pytest.approx(17.94802207, rel=1e-4)
    assert f["upper_95"][1] * 100 == pytest.approx(3949.774946, rel=1e-4)
    assert f["lower_99_8"][2] * 100 == pytest.approx(10.83023482, rel=1e-4)
    assert f["lower_95"][3] * 100 == pytest.approx(82.21871402, rel=1e-4)


def test_proportion_funnel_exact_agrees_with_exact_test():
    # Independent check: an integer count x is below the exact lower limit iff P(X <= x) < 2.5%, and
    # above the upper limit iff P(X >= x) < 2.5%, for X ~ Bin(n, t).
    t = 0.07
    for n in [1, 5, 20, 57, 300]:
        f = stats.funnel_limits_proportion(t, [n], levels=(0.95,))
        lo, hi = f["lower_95"].iloc[0], f["upper_95"].iloc[0]
        for x in range(n + 1):
            p_low = sps.binom.cdf(x, n, t)
            p_high = sps.binom.sf(x - 1, n, t)
            assert (x / n < lo - 1e-9) == (p_low < 0.025 - 1e-9), (n, x)
            assert (x / n > hi + 1e-9) == (p_high < 0.025 - 1e-9), (n, x)


def test_spiegelhalter_interpolation_by_hand():
    # n = 100, t = 0.2: r_p = binomial 2.5% quantile, alpha = (F(r) - p) / (F(r) - F(r - 1)).
    n, t, p = 100, 0.2, 0.025
    r = 0
    while sps.binom.cdf(r, n, t) < p:
        r += 1
    a = (sps.binom.cdf(r, n, t) - p) / (sps.binom.cdf(r, n, t) - sps.binom.cdf(r - 1, n, t))
    f = stats.funnel_limits_proportion(t, [n], levels=(0.95,), method="spiegelhalter")
    assert f["lower_95"].iloc[0] == pytest.approx((r - a) / n)


# --------------------------------------------------------------------------------------------------
# overdispersion


def test_overdispersion_phi_and_tau2_by_hand():
    z = np.arange(10.0)  # 0..9; numpy linear percentiles: 10th = 0.9, 90th = 8.1
    winsorised = [0.9, 1, 2, 3, 4, 5, 6, 7, 8, 8.1]
    phi = sum(v * v for v in winsorised) / 10  # = 27.042
    assert phi == pytest.approx(27.042)
    assert stats.overdispersion_phi(np.random.default_rng(1).permutation(z)) == pytest.approx(phi)
    # Equal standard errors s = 1: w = 1, sum w - sum w^2 / sum w = 10 - 1 = 9
    assert stats.additive_tau2(z, np.ones(10)) == pytest.approx((10 * phi - 9) / 9)
    # No overdispersion: tau2 truncated at 0; phi < 1 does not narrow the limits
    assert stats.additive_tau2(np.zeros(10), np.ones(10)) == 0.0
    lim = stats.overdispersed_limits(0.5, [0.1], levels=(0.95,), phi=0.5)
    assert lim["upper_95"].iloc[0] == pytest.approx(0.5 + Z95 * 0.1)
    lim = stats.overdispersed_limits(0.5, [0.1], levels=(0.95,), tau2=0.03)
    assert lim["upper_95"].iloc[0] == pytest.approx(0.5 + Z95 * math.sqrt(0.01 + 0.03))


def test_z_scores():
    z, se = stats.z_scores_ratio([30], [20])
    assert se[0] == pytest.approx(1 / math.sqrt(20))
    assert z[0] == pytest.approx(0.5 * math.sqrt(20))
    z, se = stats.z_scores_proportion([30], [100], 0.2)
    assert z[0] == pytest.approx(0.1 / math.sqrt(0.2 * 0.8 / 100))


# --------------------------------------------------------------------------------------------------
# indirect standardisation


def test_indirect_standardisation_by_hand():
    rates = pd.Series({"A": 0.01, "B": 0.02})
    pop = pd.DataFrame(
        {
            "area": ["X", "X", "Y", "Y"],
            "group": ["A", "B", "A", "B"],
            "population": [1000, 500, 200, 100],
        }
    )
    observed = pd.Series({"X": 30, "Y": 2})
    out = stats.indirect_standardisation(observed, pop, rates).set_index("area")
    # X: E = 0.01*1000 + 0.02*500 = 20; O = 30 >= 10 -> Byar
    assert out.loc["X", "expected"] == pytest.approx(20.0)
    assert out.loc["X", "ratio"] == pytest.approx(1.5)
    o = 30
    byar_lo = o * (1 - 1 / (9 * o) - Z95 / (3 * math.sqrt(o))) ** 3
    byar_hi = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * math.sqrt(o + 1))) ** 3
    assert out.loc["X", "lower"] == pytest.approx(byar_lo / 20)
    assert out.loc["X", "upper"] == pytest.approx(byar_hi / 20)
    assert out.loc["X", "method"] == "byar"
    # Y: E = 2 + 2 = 4; O = 2 < 10 -> exact chi-squared
    assert out.loc["Y", "expected"] == pytest.approx(4.0)
    assert out.loc["Y", "lower"] == pytest.approx(sps.chi2.ppf(0.025, 4) / 2 / 4)
    assert out.loc["Y", "upper"] == pytest.approx(sps.chi2.ppf(0.975, 6) / 2 / 4)
    assert out.loc["Y", "method"] == "exact"


def test_indirect_standardisation_rejects_unrated_groups():
    pop = pd.DataFrame({"area": ["X"], "group": ["C"], "population": [10]})
    with pytest.raises(ValueError, match="no reference rate"):
        stats.indirect_standardisation(pd.Series({"X": 1}), pop, pd.Series({"A": 0.1}))


@pytest.mark.parametrize("binomial", [False, True], ids=["rate", "proportion"])
def test_ratio_to_the_whole_allows_for_the_group_being_part_of_it(binomial):
    """Simulated: a group and the rest drawn independently, the whole their sum. The interval's standard error
    of ln(ratio) matches the spread of the simulated ratios (the independent-groups formula is far too wide for
    a large group), and about 95% of intervals cover the true ratio."""
    rng = np.random.default_rng(1)
    m, rest_m, p, rest_p, sims = 30_000, 12_000, 0.004, 0.002, 20_000
    if binomial:
        x, rest = rng.binomial(m, p, sims), rng.binomial(rest_m, rest_p, sims)
    else:
        x, rest = rng.poisson(m * p, sims), rng.poisson(rest_m * rest_p, sims)
    r = stats.ratio_to_whole_ci(x, m, x + rest, m + rest_m, binomial=binomial)
    truth = p / ((m * p + rest_m * rest_p) / (m + rest_m))
    se = np.log(r.upper / r.lower) / (2 * 1.959964)
    empirical = np.std(np.log(r.estimate))
    assert abs(np.median(se) / empirical - 1) < 0.05
    covered = np.mean((r.lower <= truth) & (truth <= r.upper))
    assert 0.935 < covered < 0.965
    independent = stats.rate_ratio_ci(x, m, x + rest, m + rest_m)
    assert np.median(np.log(independent.upper / independent.lower)) > 1.5 * np.median(np.log(r.upper / r.lower))


def test_ratio_to_the_whole_never_has_zero_width():
    """The group is everyone (or every proportion is 0 or 1): ratio 1, with an interval around it."""
    for binomial in (False, True):
        r = stats.ratio_to_whole_ci([100, 400], [1000, 400], [100, 6000], [1000, 6000], binomial=binomial)
        assert np.all(r.lower < r.estimate) and np.all(r.estimate < r.upper)
    assert np.isnan(stats.ratio_to_whole_ci(0, 100, 50, 1000).estimate)
