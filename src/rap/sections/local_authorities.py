"""Applying national results to local authorities (LAs): the strategy's question "can national ethnicity
results be used at LA level?", answered with the methods set out in the project's methods notes.

* :func:`la_inputs`: one shape (:class:`rap.inputs.la_inputs.LaInputs`) for both kinds of input: children
  looked after on 31 March by LA and major group (``counts``), children 0-17 by LA and group (``population``),
  minor-group counts where the input has them.
* :func:`national_rates`: England's rate per child for each major group (children of known ethnicity).
* :func:`la_group_rates`: each LA's rate per 10,000 by group with its interval, England's, the region's and
  the statistical neighbours' rates beside it, and whether the LA's rate is consistent with England's.
* :func:`standardised_ratios`: indirect standardisation, observed / expected children with intervals, and
  funnel limits (exact Poisson, and widened for overdispersion with an additive tau^2, Spiegelhalter 2005).
* :func:`pattern_summary`, :func:`minor_publishability`: how far national patterns hold, and how often a
  minor group can be published at all.
* statistical neighbours (:func:`rap.inputs.neighbours.statistical_neighbours`, shared with the dashboard):
  DfE's 2025 statistical neighbour model, the 10 LAs DfE's own tools set beside each LA.

Everything is computed from unsuppressed counts; :func:`publishable_rates` and
:func:`publishable_ratios` apply disclosure control before a table leaves the pipeline.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import norm

from rap.domain import stats
from rap.domain.disclosure import C, X, Z, percent, published_numbers, round_places, rounded_counts
from rap.domain.ethnicity import major_groups
from rap.domain.geography import local_authorities
from rap.domain.la_disclosure import la_pattern, la_quantities, protect_la_counts
from rap.inputs.front import Inputs
from rap.inputs.la_inputs import ENGLAND, KNOWN, TOTAL, UNKNOWN, LaInputs, child_population_by_la
from rap.sections.common import capital

PER = 10_000


class Rounding(NamedTuple):
    """How national and regional counts are published (``suppression.rounding_base`` and ``.threshold``)."""

    base: int
    threshold: int


CLA = "children_looked_after"  #: the LA quantity (rap/data/la_disclosure.yaml) of this chapter's counts
#: Verdicts on an LA group's rate against England's (95% interval of the count).
HIGHER, LOWER, CONSISTENT = "Higher than England", "Lower than England", "Consistent with England"
NOT_ASSESSED = "Not assessed (suppressed or no population)"


def major_label(key: str) -> str:
    """'white' -> 'White'; 'total' -> 'Total'."""
    return "Total" if key == TOTAL else str(major_groups().loc[key, "label_cla"])


# --------------------------------------------------------------------------------------------------
# inputs


def _label_to_key() -> dict[str, str]:
    g = major_groups()
    return {**dict(zip(g["label_cla"], g.index)), "Total": TOTAL}


def la_inputs_from_measures(measures: pd.DataFrame, population: pd.DataFrame | None, *, synthetic: bool) -> LaInputs:
    """From the measures layer (record-level data): ``cla_on_31_march`` LA rows, and the child population
    file (synthetic children 0-17 by LA and ONS 2021 group)."""
    m = measures[(measures["measure"] == "cla_on_31_march") & (measures["geographic_level"] == "Local authority")]
    key = m["ethnicity_major"].map(_label_to_key())
    majors = m[m["ethnicity_minor"] == "Total"].assign(major=key)
    counts = (
        majors[["time_period", "new_la_code", "major"]]
        .assign(number=majors["number"].astype(float), symbol=None)
        .reset_index(drop=True)
    )
    minor = m[m["ethnicity_minor"] != "Total"].assign(major=key)
    minor = (
        minor[["time_period", "new_la_code", "major"]]
        .assign(minor=minor["ethnicity_minor"], number=minor["number"].astype(float))
        .reset_index(drop=True)
    )
    pop = child_population_by_la(population)
    if population is None or population.empty:
        note = "no child population by ethnic group was supplied, so no rates or standardisation"
    else:
        note = (
            "children 0-17 by LA and ethnic group from the synthetic population file (one random draw from the "
            "package's estimate: ONS mid-(Y-1) estimates split by the LA's school census shares)"
            if synthetic
            else "children 0-17 by LA and ethnic group from the population file supplied"
        )
    src = "SSDA903 returns" + (" (synthetic)" if synthetic else "")
    return LaInputs(counts=counts, population=pop, population_note=note, source=src, minor=minor)


# --------------------------------------------------------------------------------------------------
# rates


def _wide(inp: LaInputs, year: int) -> pd.DataFrame:
    """One row per LA x group with number (NaN if suppressed at source) and population."""
    c = inp.counts[inp.counts["time_period"] == year]
    p = inp.population[inp.population["time_period"] == year]
    out = c.merge(p, on=["time_period", "new_la_code", "major"], how="left")
    return out


def published_count(values: pd.Series | np.ndarray, rounding: Rounding) -> np.ndarray:
    """National or regional counts as their published figure gives them, as numbers: rounded half up to
    ``rounding.base``, NaN where the count is ``c`` (1 to ``rounding.threshold``) and so not shown as a number
    (:func:`rap.domain.disclosure.rounded_counts`). A rate worked out from these (and populations to the
    nearest 10) tells nothing the published counts do not."""
    v = np.nan_to_num(np.asarray(values, dtype=float)).round()
    return rounded_counts(v, rounding.base, rounding.threshold)


def published_population(values: pd.Series | np.ndarray) -> np.ndarray:
    """Child populations as published: to the nearest 10, half up."""
    return round_places(np.asarray(values, dtype=float) / 10, 0) * 10


def _pooled(num: pd.Series, pop: pd.Series, rounding: Rounding | None) -> pd.Series:
    """Count / population, from the published (rounded) sums when ``rounding`` is given."""
    if rounding is None:
        return num / pop
    return pd.Series(published_count(num, rounding) / published_population(pop), index=num.index)


def national_rates(inp: LaInputs, year: int, rounding: Rounding | None = None) -> pd.Series:
    """England's children looked after per child for each known major group: England's own counts where the
    source publishes them (DfE's national rows: no LA cell it suppresses is missing from them) over every LA's
    children, else from LAs whose count and population are both known (all LAs for record data). With
    ``rounding`` (record-level inputs), from England's counts as published, rounded, and its populations to the
    nearest 10, so every figure built on these rates comes from published figures. Indexed by group key."""
    return _england_rates(inp, year, rounding).reindex(KNOWN)


def _england_rates(inp: LaInputs, year: int, rounding: Rounding | None) -> pd.Series:
    """England's rate per child for every group the counts hold (``total`` among them), indexed by group key."""
    own = _own_counts(inp, year, "National")
    w = _wide(inp, year) if own is None else _children(inp, year)
    g = _area_rates(w.assign(area_code=ENGLAND), "area_code", rounding, own)
    return g.set_index("major")["rate"].div(PER)


def _children(inp: LaInputs, year: int) -> pd.DataFrame:
    """Every LA's children by known group and in all (``total``) for ``year``, with its region: the population
    behind an area's own count, whether or not the LA's own cell is shown."""
    p = inp.population[inp.population["time_period"] == year]
    p = p[p["major"].isin(KNOWN)]
    tot = p.groupby(["time_period", "new_la_code"], as_index=False)["population"].sum().assign(major=TOTAL)
    out = pd.concat([p, tot], ignore_index=True)
    return out.assign(region_code=out["new_la_code"].map(local_authorities().set_index("new_la_code")["region_code"]))


def _own_counts(inp: LaInputs, year: int, level: str) -> pd.DataFrame | None:
    """The source's own counts of a level (``area_code``, ``major``, ``number``) for ``year``, or None."""
    if inp.areas is None:
        return None
    a = inp.areas[(inp.areas["time_period"] == year) & (inp.areas["geographic_level"] == level)]
    return None if a.empty else a[["area_code", "major", "number"]]


def _area_rates(
    w: pd.DataFrame, by: str, rounding: Rounding | None = None, own: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Pooled rates (count / population) per ``by`` and group: from ``own`` counts (by ``area_code``, the codes
    of ``by``) over the population of every LA where given, else sums over the LA cells known in both; from the
    published (rounded) counts and populations with ``rounding``."""
    if own is None:
        k = w[w["number"].notna() & w["population"].notna()]
        g = k.groupby([by, "major"], as_index=False)[["number", "population"]].sum()
    else:
        g = w[w["population"].notna()].groupby([by, "major"], as_index=False)["population"].sum()
        num = own.rename(columns={"area_code": by}).set_index([by, "major"])["number"]
        g["number"] = num.reindex(pd.MultiIndex.from_frame(g[[by, "major"]])).to_numpy()
    g["rate"] = _pooled(g["number"], g["population"], rounding) * PER
    return g


def la_group_rates(
    inp: LaInputs,
    year: int,
    level: float = 0.95,
    ratios: pd.DataFrame | None = None,
    rounding: Rounding | None = None,
    hidden: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each LA's rate per 10,000 by known major group (and all groups) with a Byar/exact interval, England's
    and the region's pooled rates (from their published, rounded, counts with ``rounding``), and a verdict:
    the LA's count against the count England's rate would give (``HIGHER``/``LOWER``/``CONSISTENT`` at
    ``level``, allowing for how much LAs usually vary: :func:`_verdicts`), unassessed where the count is
    suppressed at source or there is no population. ``verdict_own_level`` asks the same after allowing for the
    LA's overall level (its standardised ratio, from ``ratios`` when the caller already has
    :func:`standardised_ratios` for this year): does the *pattern* between groups hold? The between-LA
    variation is estimated from published counts only: not from the cells in ``hidden`` (new_la_code, major;
    :func:`hidden_cells`). Unsuppressed: use :func:`publishable_rates` before publishing (it adds the
    statistical neighbours' rate, from the published rates)."""
    las = local_authorities().reset_index()[["new_la_code", "old_la_code", "la_name", "region_code", "region_name"]]
    w = _wide(inp, year).merge(las, on="new_la_code", how="left")
    pop_total = w[w["major"].isin(KNOWN)].groupby("new_la_code")["population"].sum(min_count=1)
    w.loc[w["major"] == TOTAL, "population"] = w.loc[w["major"] == TOTAL, "new_la_code"].map(pop_total)
    nat = national_rates(inp, year, rounding)
    nat_total = _england_total_rate(inp, year, rounding)
    known = w["number"].notna() & w["population"].gt(0)
    o = w["number"].fillna(0).to_numpy(float)
    p = w["population"].fillna(1).to_numpy(float)
    rc = stats.rate_ci(o, np.where(p > 0, p, 1), per=PER, level=level)
    w["rate"] = np.where(known, rc.estimate, np.nan)
    w["rate_lower"] = np.where(known, rc.lower, np.nan)
    w["rate_upper"] = np.where(known, rc.upper, np.nan)
    w["england_rate"] = w["major"].map((nat * PER).to_dict() | {TOTAL: nat_total * PER})
    own = _own_counts(inp, year, "Regional")
    reg = _area_rates(w if own is None else _children(inp, year), "region_code", rounding, own)
    reg = reg.rename(columns={"rate": "region_rate"})
    w = w.merge(reg[["region_code", "major", "region_rate"]], on=["region_code", "major"], how="left")
    # verdicts: the LA's count against England's rate applied to its population
    exp = w["england_rate"].to_numpy(float) / PER * p
    assess = (known & w["major"].isin(KNOWN + [TOTAL])).to_numpy() & (exp > 0)
    w["expected_at_england_rate"] = np.where(assess, exp, np.nan)
    shown = ~_in_cells(w, hidden)
    w["verdict"], w["tau2"] = _verdicts(o, exp, assess, w["major"], level, shown)
    if ratios is None:
        ratios = standardised_ratios(inp, year, level=level, rounding=rounding)
    sr = ratios.set_index("new_la_code")["ratio"]
    exp_own = exp * w["new_la_code"].map(sr).to_numpy(float)
    ok_own = assess & np.isfinite(exp_own) & (exp_own > 0) & w["major"].isin(KNOWN).to_numpy()
    shown_own = shown & ~_in_cells(w.assign(major=TOTAL), hidden)  # the LA's level rests on its total
    w["verdict_own_level"], w["tau2_own_level"] = _verdicts(o, exp_own, ok_own, w["major"], level, shown_own)
    w["ethnicity_major"] = w["major"].map(major_label)
    order = {k: i for i, k in enumerate(KNOWN + [UNKNOWN, TOTAL])}
    return w.sort_values(
        ["region_code", "la_name", "major"], key=lambda s: s.map(order) if s.name == "major" else s
    ).reset_index(drop=True)


def _verdicts(
    o: np.ndarray, e: np.ndarray, assess: np.ndarray, groups: pd.Series, level: float, shown: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``HIGHER``/``LOWER`` only where the count ``o`` is beyond what chance gives (the exact Poisson interval
    excludes ``e``) *and* beyond how far LAs usually differ: ln(o/e) outside +/- z sqrt(1/e + tau^2), with the
    group's between-LA variance tau^2 (Spiegelhalter 2005, as the funnel plot's limits) estimated from the
    assessed, ``shown`` cells of that group. Without it (phi about 68 between LAs in 2024) "consistent" would
    mostly say an LA is small. Also returns each row's tau^2."""
    lo, hi = stats.poisson_count_ci(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(np.where(o > 0, o, 0.5) / e)
        se = 1 / np.sqrt(e)
        z = log_ratio / se
    tau2 = np.zeros(len(o))
    g = groups.to_numpy()
    for group in pd.unique(g[assess]):
        rows = assess & (g == group)
        est = stats.additive_tau2(z[rows & shown], se[rows & shown])
        tau2[rows] = est if np.isfinite(est) else 0.0
    with np.errstate(invalid="ignore"):
        band = norm.ppf(0.5 + level / 2) * np.sqrt(se**2 + tau2)
    higher = (lo > e) & (log_ratio > band)
    lower = (hi < e) & (log_ratio < -band)
    verdict = np.select([~assess, higher, lower], [NOT_ASSESSED, HIGHER, LOWER], CONSISTENT)
    return verdict, np.where(assess, tau2, np.nan)


def _in_cells(w: pd.DataFrame, cells: pd.DataFrame | None) -> np.ndarray:
    """Whether each row of ``w`` (new_la_code, major) is one of ``cells``."""
    if cells is None or cells.empty:
        return np.zeros(len(w), dtype=bool)
    keys = pd.MultiIndex.from_frame(cells[["new_la_code", "major"]])
    return pd.MultiIndex.from_frame(w[["new_la_code", "major"]]).isin(keys)


def hidden_cells(pattern: pd.DataFrame | None) -> pd.DataFrame:
    """The LA counts of children looked after the pattern hides, as new_la_code and major group key."""
    cols = ["new_la_code", "major"]
    if pattern is None:
        return pd.DataFrame(columns=cols)
    p = pattern[(pattern["quantity"] == CLA) & pattern["suppression"].isin(["primary", "secondary"])]
    return pd.DataFrame(
        {"new_la_code": p["new_la_code"].to_numpy(), "major": p["group"].map(_label_to_key()).to_numpy()}
    )


def _england_total_rate(inp: LaInputs, year: int, rounding: Rounding | None = None) -> float:
    """All children looked after per child in England (LAs with a known total and population); from the
    published (rounded) sums with ``rounding``."""
    w = _wide(inp, year)
    if _own_counts(inp, year, "National") is not None:  # England's own count over every LA's children
        return float(_england_rates(inp, year, rounding).get(TOTAL, np.nan))
    tot = w[w["major"] == TOTAL].set_index("new_la_code")["number"]
    pop = w[w["major"].isin(KNOWN)].groupby("new_la_code")["population"].sum(min_count=1)
    both = tot.notna() & pop.reindex(tot.index).notna()
    if not both.any():
        return float("nan")
    n, d = pd.Series([tot[both].sum()]), pd.Series([pop.reindex(tot.index)[both].sum()])
    return float(_pooled(n, d, rounding).iloc[0])


# --------------------------------------------------------------------------------------------------
# indirect standardisation and funnel limits


def standardised_ratios(
    inp: LaInputs,
    year: int,
    level: float = 0.95,
    funnel_level: float = 0.998,
    rounding: Rounding | None = None,
    hidden: Collection[str] = (),
) -> pd.DataFrame:
    """Observed / expected children looked after for each LA (indirect standardisation by major group).

    E_a = f x sum_e r_e P_ae, with r_e England's rate for group e (:func:`national_rates`) and P_ae the LA's
    children in e; f = England's children in all groups / children of known group spreads the children whose
    ethnicity is not known over the groups, so E sums to England's total. O_a = all the LA's children
    looked after (any ethnicity). Interval: exact (O < 10) or Byar limits on O, divided by E. With
    ``rounding`` (record-level inputs) England's rates and f come from its published, rounded, counts.

    Funnel: exact Poisson limits at 95% and ``funnel_level``, and limits widened for overdispersion with an
    additive between-LA variance tau^2 of ln(O/E), estimated from 10%-winsorised z-scores (Spiegelhalter
    2005); ``phi`` (multiplicative) is reported too. ``flag`` uses the widened limits at ``funnel_level``.
    tau^2 and phi are estimated from the LAs whose observed count is published (not those in ``hidden``),
    so the published limits rest on published counts only.
    """
    w = _wide(inp, year)
    rates = national_rates(inp, year, rounding)
    obs = w[w["major"] == TOTAL][["new_la_code", "number"]].dropna()
    kids = _children(inp, year)  # every LA's children, also where the source shows no count for a group
    pop = kids[kids["major"].isin(KNOWN)][["new_la_code", "major", "population"]]
    pop = pop[pop["new_la_code"].isin(obs["new_la_code"])]
    res = stats.indirect_standardisation(
        obs.rename(columns={"new_la_code": "area", "number": "observed"}),
        pop.rename(columns={"new_la_code": "area", "major": "group"}),
        rates * _unknown_scaling(w, obs, pop, rounding),
        level=level,
    )
    res = res.rename(columns={"area": "new_la_code"})
    res = res[res["expected"] > 0].reset_index(drop=True)
    res = _funnel(res, funnel_level, ~res["new_la_code"].isin(list(hidden)).to_numpy())
    las = local_authorities().reset_index()[["new_la_code", "old_la_code", "la_name", "region_code", "region_name"]]
    res = las.merge(res, on="new_la_code", how="right")
    res.insert(0, "time_period", year)
    res["unknown_scaling"] = _unknown_scaling(w, obs, pop, rounding)
    return res


def _unknown_scaling(w: pd.DataFrame, obs: pd.DataFrame, pop: pd.DataFrame, rounding: Rounding | None) -> float:
    """England's children in all groups / children of known group (from the published, rounded, counts with
    ``rounding``): spreads the children of unknown ethnicity over the groups."""
    known = w[w["major"].isin(KNOWN) & w["new_la_code"].isin(pop["new_la_code"])]
    if not known["number"].notna().all():
        return _scale_from_totals(w)
    all_total = obs[obs["new_la_code"].isin(pop["new_la_code"])]["number"].sum()
    if rounding is None:
        return all_total / known["number"].sum()
    by_group = known.groupby("major")["number"].sum()
    return float(published_count([all_total], rounding)[0] / np.nansum(published_count(by_group, rounding)))


def _funnel(res: pd.DataFrame, funnel_level: float, shown: np.ndarray) -> pd.DataFrame:
    """Null z-scores, tau^2 and phi (from the ``shown`` LAs), the exact and widened funnel limits and each LA's
    place in the funnel. Overdispersion on the log scale, where between-LA variation in a ratio is symmetric:
    z = ln(O/E) / s with s = 1/sqrt(E); limits exp(+/- z sqrt(s^2 + tau^2))."""
    e = res["expected"].to_numpy(float)
    o = res["observed"].to_numpy(float)
    se = 1 / np.sqrt(e)
    with np.errstate(divide="ignore"):
        z = np.log(np.where(o > 0, o, 0.5) / e) / se
    tau2 = stats.additive_tau2(z[shown], se[shown]) if shown.any() else 0.0
    res["z"] = z
    res["tau2"] = tau2
    res["phi"] = stats.overdispersion_phi(z[shown]) if shown.any() else np.nan
    exact = stats.funnel_limits_ratio(e, (0.95, funnel_level))
    wide = stats.overdispersed_limits(0.0, se, (0.95, funnel_level), tau2=tau2)
    lab = _label(funnel_level)
    for col in exact.columns:
        if col.startswith(("lower", "upper")):
            res[f"exact_{col}"] = exact[col].to_numpy()
            res[f"adj_{col}"] = np.exp(wide[col].to_numpy())
    # an LA with none observed (the Isles of Scilly) is placed by the 0.5 its z-score uses: on the log scale of the
    # widened limits a ratio of 0 would lie below any limit, however few children were expected
    r = np.where(o > 0, res["ratio"].to_numpy(float), 0.5 / e)
    res["flag"] = np.select(
        [r > res[f"adj_upper_{lab}"], r < res[f"adj_lower_{lab}"]],
        [f"Above the {_pct(funnel_level)} limit", f"Below the {_pct(funnel_level)} limit"],
        "Within the limits",
    )
    return res


def _scale_from_totals(w: pd.DataFrame) -> float:
    """Published input with suppressed cells: England's total / England's known, from complete LAs."""
    piv = w.pivot_table(index="new_la_code", columns="major", values="number", aggfunc="first")
    complete = piv[KNOWN + [TOTAL]].dropna()
    return float(complete[TOTAL].sum() / complete[KNOWN].sum(axis=1).sum())


def _label(level: float) -> str:
    return stats._level_label(level)


def _pct(level: float) -> str:
    """A funnel level as text (``99.8%``) by the one percentage formatter, with as many places as the
    setting has: a level is chosen, not estimated, so it is never rounded."""
    return percent(level, len(f"{level * 100:g}".partition(".")[2]))


# --------------------------------------------------------------------------------------------------
# how far national patterns hold; minor groups; completeness


def pattern_summary(rates: pd.DataFrame) -> pd.DataFrame:
    """Per known major group: LAs assessed, and the share whose rate is higher than, consistent with and lower
    than England's; and the share consistent after allowing for the LA's overall level."""
    rows = []
    for major in KNOWN:
        r = rates[rates["major"] == major]
        a = r[r["verdict"] != NOT_ASSESSED]
        b = r[r["verdict_own_level"] != NOT_ASSESSED]
        n = len(a)
        rows.append(
            {
                "major": major,
                "ethnicity_major": major_label(major),
                "las": len(r),
                "las_assessed": n,
                "higher": (a["verdict"] == HIGHER).sum(),
                "consistent": (a["verdict"] == CONSISTENT).sum(),
                "lower": (a["verdict"] == LOWER).sum(),
                "consistent_own_level": (b["verdict_own_level"] == CONSISTENT).sum(),
                "las_assessed_own_level": len(b),
            }
        )
    out = pd.DataFrame(rows)
    for c in ("higher", "consistent", "lower"):
        out[f"{c}_share"] = out[c] / out["las_assessed"].where(out["las_assessed"] > 0)
    out["consistent_own_level_share"] = out["consistent_own_level"] / out["las_assessed_own_level"].where(
        out["las_assessed_own_level"] > 0
    )
    return out


def minor_publishability(inp: LaInputs, year: int, threshold: int) -> pd.DataFrame:
    """Per minor group: LAs with a return, LAs where the group's count is above ``threshold`` (a number that
    can be published, before any secondary suppression), and LAs with none. Record-level inputs only."""
    if inp.minor is None:
        return pd.DataFrame(
            columns=["major", "ethnicity_major", "ethnicity_minor", "las", "publishable", "none", "publishable_share"]
        )
    m = inp.minor[inp.minor["time_period"] == year]
    g = m.groupby(["major", "minor"], sort=False)["number"]
    out = pd.DataFrame(
        {
            "las": g.size(),
            "publishable": g.apply(lambda s: int((s > threshold).sum())),
            "none": g.apply(lambda s: int((s == 0).sum())),
        }
    ).reset_index()
    out = out[out["major"] != UNKNOWN]
    out["publishable_share"] = out["publishable"] / out["las"]
    out["ethnicity_major"] = out["major"].map(major_label)
    return out.rename(columns={"minor": "ethnicity_minor"}).reset_index(drop=True)


def completeness(inp: LaInputs, year: int) -> pd.DataFrame:
    """Each LA's share of children looked after on 31 March whose ethnicity is known, as bounds: exact when
    the unknown count is known; when it is suppressed at source (``c``), the range its LA's row allows. A ``c``
    is 1 to 5 only if it is the primary suppression: DfE's LA file also hides larger counts, and zeros
    (secondary suppression; in 2024 North East Lincolnshire's two ``c`` add up to 1), so the unknown count is
    anything from 0 to the LA's hidden children (all children minus the groups shown), and exactly those when
    it is the only ``c``. Columns new_la_code, children, unknown, unknown_low, unknown_high, known_share_low,
    known_share_high."""
    w = _wide(inp, year).pivot_table(
        index="new_la_code", columns="major", values="number", aggfunc="first", dropna=False
    )
    total = w[TOTAL]
    unk = w[UNKNOWN] if UNKNOWN in w else pd.Series(np.nan, index=w.index)
    lo_unknown, hi_unknown = _hidden_unknown_bounds(inp, year, w)
    n = total.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):  # an LA with no children has no share
        low = np.where(n > 0, 1 - hi_unknown / n, np.nan)
        high = np.where(n > 0, 1 - lo_unknown / n, np.nan)
    out = pd.DataFrame(
        {
            "new_la_code": w.index,
            "children": n,
            "unknown": unk.to_numpy(),
            "unknown_low": lo_unknown,
            "unknown_high": hi_unknown,
            "known_share_low": low,
            "known_share_high": high,
        }
    )
    return out.reset_index(drop=True)


def _hidden_unknown_bounds(inp: LaInputs, year: int, w: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The least and most children of unknown ethnicity each LA (rows of ``w``: LAs by group) can have: its
    count where shown; where it is ``c``, 0 to the row's hidden children (all of them when no other group is
    hidden); NaN where the LA's total is hidden too, so nothing bounds it."""
    unk = (w[UNKNOWN] if UNKNOWN in w else pd.Series(np.nan, index=w.index)).to_numpy(float)
    sym = inp.counts[(inp.counts["time_period"] == year) & inp.counts["major"].isin([*KNOWN, UNKNOWN])]
    hidden = sym[sym["symbol"].eq(C) & sym["number"].isna()]
    n_hidden = hidden.groupby("new_la_code").size().reindex(w.index, fill_value=0).to_numpy()
    is_c = w.index.isin(hidden.loc[hidden["major"] == UNKNOWN, "new_la_code"])
    shown = w.reindex(columns=[*KNOWN, UNKNOWN]).sum(axis=1).to_numpy(float)
    hidden_children = w[TOTAL].to_numpy(float) - shown
    lo = np.where(is_c, np.where(n_hidden == 1, hidden_children, 0.0), unk)
    return lo, np.where(is_c, hidden_children, unk)


def completeness_rag(comp: pd.DataFrame, green: float, amber: float) -> pd.Series:
    """Red/amber/green from the bounds: a band only when both ends of the range fall in it, else 'Unclear'."""

    def band(x: np.ndarray) -> np.ndarray:
        return np.select([x >= green, x >= amber, np.isfinite(x)], ["Green", "Amber", "Red"], "")

    lo, hi = band(comp["known_share_low"].to_numpy(float)), band(comp["known_share_high"].to_numpy(float))
    return pd.Series(np.where(lo == hi, lo, "Unclear"), index=comp.index).replace("", "Not known")


# --------------------------------------------------------------------------------------------------
# disclosure control: what may leave the pipeline


def la_suppression(data: Inputs, threshold: int, rounding_base: int, year: int | None = None) -> pd.DataFrame | None:
    """The build's one pattern of LA suppression for ``year`` (every year: None), (:func:`rap.domain.la_disclosure.la_pattern`), made
    from the measures of every LA quantity exactly as the dashboard makes it, so a count hidden there is hidden
    here; None for published inputs (DfE's own suppression is kept)."""
    if data.published:
        return None
    from rap import measures as M

    cat = M.catalogue()
    need = sorted({cat[c["measure"]]["function"] for cells in la_quantities()[0].values() for c in cells})
    m = M.compute(data.record, data.years, need)
    return la_pattern(m if year is None else m[m["time_period"] == year], threshold, rounding_base)


def _hidden_counts(
    rates: pd.DataFrame, threshold: int, pattern: pd.DataFrame | None, rounding_base: int | None
) -> np.ndarray:
    """Which rows' children looked after are hidden: as ``pattern`` says (a count it lacks, or holds with
    another value, is an error), or without one by the pattern of these counts alone."""
    cells = pd.DataFrame(
        {
            "quantity": CLA,
            "time_period": rates["time_period"].to_numpy(),
            "new_la_code": rates["new_la_code"].to_numpy(),
            "region_code": rates["region_code"].to_numpy(),
            "group": rates["ethnicity_major"].to_numpy(),
            "value": rates["number"].to_numpy(float),
        }
    )
    if pattern is None:
        if rounding_base is None:
            raise ValueError("LA rates of record-level inputs need the build's LA pattern or the rounding base")
        pattern = protect_la_counts(cells, (), threshold, rounding_base)
    keys = ["quantity", "time_period", "new_la_code", "group"]
    found = pattern.set_index(keys).reindex(pd.MultiIndex.from_frame(cells[keys]))
    bad = cells["value"].notna().to_numpy() & (found["value"].to_numpy(float) != cells["value"].to_numpy(float))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"LA count {tuple(cells[keys].iloc[i])} is not in the LA suppression pattern as published")
    return found["suppression"].isin(["primary", "secondary"]).to_numpy()


def publishable_rates(
    rates: pd.DataFrame,
    threshold: int,
    *,
    published_input: bool,
    pattern: pd.DataFrame | None = None,
    neighbours: pd.DataFrame | None = None,
    rounding_base: int | None = None,
) -> pd.DataFrame:
    """The LA rates table as published: counts hidden as the build's one LA pattern says (``pattern``,
    :func:`la_suppression`; record-level input; without it, the pattern of these counts alone, for which
    ``rounding_base`` is needed), or DfE's own suppression kept (published input); a hidden count
    hides its rate, interval and verdicts, and a hidden all-children count the verdicts that allow for the LA's
    level (they rest on it). Rates to 1 dp, populations to the nearest 10. The statistical neighbours' rate is
    the mean of their published rates (:func:`neighbours_mean`)."""
    t = rates.copy()
    t["number"] = t["number"].astype(float)
    if published_input:
        at_source = t["symbol"].fillna("").to_numpy()
        hidden = (at_source == C) & t["number"].isna().to_numpy()
    else:
        hidden = _hidden_counts(t, threshold, pattern, rounding_base)
    shown = [C if h else (X if pd.isna(v) else str(int(v))) for v, h in zip(t["number"], hidden)]
    out = t[
        ["time_period", "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "ethnicity_major"]
    ].copy()
    out["geographic_level"] = "Local authority"
    out["number"] = shown
    out["population"] = _fmt(published_population(t["population"].to_numpy(float)), 0, "x")
    for col, name in (("rate", "rate_per_10000"), ("rate_lower", "rate_lower_95"), ("rate_upper", "rate_upper_95")):
        out[name] = np.where(hidden, C, _fmt(t[col].to_numpy(float), 1, X))
    for col in ("england_rate", "region_rate"):
        out[col] = _fmt(t[col].to_numpy(float), 1, X)
    out["neighbours_rate"], out["neighbours_used"] = neighbours_mean(out, "rate_per_10000", neighbours, 1)
    is_total = t["major"].eq(TOTAL).to_numpy()
    total_hidden = t["new_la_code"].isin(t.loc[is_total & hidden, "new_la_code"]).to_numpy() & ~is_total
    out["compared_with_england"] = np.where(hidden, C, t["verdict"].to_numpy())
    own = np.where(t["major"].eq(TOTAL), Z, t["verdict_own_level"].to_numpy())
    out["compared_allowing_la_level"] = np.where(hidden | total_hidden, C, own)
    out["suppression"] = np.where(hidden, "suppressed", "none")
    return out


def neighbours_mean(
    table: pd.DataFrame, column: str, neighbours: pd.DataFrame | None, dp: int, by: Sequence[str] = ("ethnicity_major",)
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``table`` (a published table with ``new_la_code``): the mean of its LA's statistical neighbours'
    published ``column`` in the same ``by`` (neighbours whose figure is not shown as a number are left out), to
    ``dp`` places, and how many neighbours that mean is of. As DfE's LA Interactive Tool averages statistical
    neighbours; a mean of published figures gives back nothing they do not. ``x`` where none is shown."""
    n = len(table)
    if neighbours is None or neighbours.empty:
        return np.full(n, X, dtype=object), np.full(n, "0", dtype=object)
    keys = list(by)
    shown = table.assign(_v=pd.to_numeric(table[column], errors="coerce")).dropna(subset=["_v"])
    pairs = neighbours[["new_la_code", "neighbour_code"]].merge(
        shown.rename(columns={"new_la_code": "neighbour_code"})[["neighbour_code", *keys, "_v"]], on="neighbour_code"
    )
    g = pairs.groupby(["new_la_code", *keys])["_v"].agg(["mean", "size"])
    got = g.reindex(pd.MultiIndex.from_frame(table[["new_la_code", *keys]]))
    mean = np.asarray(_fmt(got["mean"].to_numpy(float), dp, X), dtype=object)
    return mean, got["size"].fillna(0).astype(int).astype(str).to_numpy(dtype=object)


def published_verdicts(rates: pd.DataFrame, rates_pub: pd.DataFrame) -> pd.DataFrame:
    """``rates`` with every verdict the published table hides counted as not assessed, so the summary of how far
    England's rates hold (:func:`pattern_summary`) rests on published verdicts only."""
    out = rates.copy()
    out.loc[rates_pub["compared_with_england"].eq(C).to_numpy(), "verdict"] = NOT_ASSESSED
    out.loc[rates_pub["compared_allowing_la_level"].eq(C).to_numpy(), "verdict_own_level"] = NOT_ASSESSED
    return out


def hidden_totals(pattern: pd.DataFrame | None) -> list[str]:
    """LAs whose count of all children looked after the pattern hides."""
    if pattern is None:
        return []
    p = pattern[(pattern["quantity"] == CLA) & (pattern["group"] == "Total")]
    return p.loc[p["suppression"].isin(["primary", "secondary"]), "new_la_code"].tolist()


def publishable_ratios(
    sr: pd.DataFrame,
    comp: pd.DataFrame,
    rag: pd.Series,
    threshold: int,
    funnel_level: float,
    pattern: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The standardised-ratio table as published: the observed count hidden as in the rates table (``pattern``;
    without it, counts of 1 to ``threshold``) with its ratio; completeness (a percentage and a rating, both from
    the unknown and all-children counts) shown only where both counts are."""
    lab = _label(funnel_level)
    t = sr.merge(comp.assign(rag=rag.to_numpy()), on="new_la_code", how="left")
    if pattern is None:
        small = t["observed"].between(1, threshold).to_numpy()
        unk = t["unknown"].to_numpy(float)
        unknown_hidden = ~(np.isfinite(unk) & ((unk == 0) | (unk > threshold)))
    else:
        cla = pattern[pattern["quantity"] == CLA]
        hid = cla["suppression"].isin(["primary", "secondary"])
        small = t["new_la_code"].isin(cla.loc[hid & cla["group"].eq("Total"), "new_la_code"]).to_numpy().copy()
        unk_label = major_label(UNKNOWN)
        unknown_hidden = t["new_la_code"].isin(cla.loc[hid & cla["group"].eq(unk_label), "new_la_code"]).to_numpy()
        unknown_hidden = unknown_hidden | small | ~np.isfinite(t["unknown"].to_numpy(float))
    out = t[["time_period", "region_code", "region_name", "old_la_code", "new_la_code", "la_name"]].copy()
    out["geographic_level"] = "Local authority"
    out["observed"] = np.where(small, C, _fmt(t["observed"].to_numpy(float), 0, X))
    out["expected"] = _fmt(t["expected"].to_numpy(float), 1, X)
    for col in ("ratio", "lower", "upper", f"adj_lower_{lab}", f"adj_upper_{lab}"):
        out[col] = np.where(small, C, _fmt(t[col].to_numpy(float), 2, X))
    out = out.rename(
        columns={
            "lower": "ratio_lower_95",
            "upper": "ratio_upper_95",
            f"adj_lower_{lab}": f"limit_lower_{lab}",
            f"adj_upper_{lab}": f"limit_upper_{lab}",
        }
    )
    out["funnel"] = np.where(small, C, t["flag"].to_numpy())
    kids = t["children"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        known = np.where(kids > 0, (1 - t["unknown"].to_numpy(float) / kids) * 100, np.nan)
    out["recorded_pct"] = np.where(unknown_hidden, C, _fmt(known, 1, X))
    rating = t["rag"].fillna("Not known").to_numpy()
    out["recording_rating"] = rating if pattern is None else np.where(unknown_hidden, C, rating)
    return out


def _fmt(values: np.ndarray, dp: int, missing: str) -> np.ndarray:
    """Numbers rounded half up to ``dp`` places; ``missing`` where not finite."""
    return np.asarray(published_numbers(values, dp, missing), dtype=object)


# --------------------------------------------------------------------------------------------------
# one call for the notebook


def la_inputs(data: Inputs) -> LaInputs:
    """The section's inputs for any kind of input: record-level (children looked after on 31 March from the
    measures of the SSDA903 returns, the population file beside them) or published (``data.la_ethnicity_file``
    and the ONS files in ``data.population_path``). Years outside the series are dropped."""
    if data.published:
        return data.published_la
    from rap.measures import compute

    return la_inputs_from_measures(
        compute(data.record, data.years, ["cla_on_31_march"]), data.record.population, synthetic=data.synthetic
    )


def funnel_chart_data(
    sr: pd.DataFrame, threshold: int, funnel_level: float, hidden: Collection[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (LAs whose observed count is published: not in ``hidden``, or without it above ``threshold``) and a
    smooth grid of the widened limits for :func:`rap.present.charts.ratio_funnel_plot`."""
    lab = _label(funnel_level)
    shown = ~sr["observed"].between(1, threshold) if hidden is None else ~sr["new_la_code"].isin(list(hidden))
    pts = sr[shown].copy()
    pts["flagged"] = pts["flag"] != "Within the limits"
    tau2 = float(sr["tau2"].iloc[0]) if len(sr) else 0.0
    lo_e = max(float(sr["expected"].min()) * 0.8, 1.0) if len(sr) else 1.0
    hi_e = float(sr["expected"].max()) * 1.2 if len(sr) else 10.0
    grid = np.geomspace(lo_e, hi_e, 200)
    wide = stats.overdispersed_limits(0.0, 1 / np.sqrt(grid), (0.95, funnel_level), tau2=tau2)
    limits = pd.DataFrame(
        {
            "expected": grid,
            "lower_95": np.exp(wide["lower_95"]),
            "upper_95": np.exp(wide["upper_95"]),
            "lower_outer": np.exp(wide[f"lower_{lab}"]),
            "upper_outer": np.exp(wide[f"upper_{lab}"]),
        }
    )
    return pts[["la_name", "expected", "ratio", "flagged"]], limits


# --------------------------------------------------------------------------------------------------
# words and display tables for the chapter (from publishable values only)


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


def funnel_sentences(sr: pd.DataFrame, funnel_level: float) -> list[str]:
    """What the funnel shows, with the overdispersion adjustment stated."""
    if sr.empty:
        return ["No LA has both a count and a population, so no standardised ratios can be made."]
    lab, pct = _label(funnel_level), _pct(funnel_level)
    above = int((sr["flag"] == f"Above the {pct} limit").sum())
    below = int((sr["flag"] == f"Below the {pct} limit").sum())
    r = sr["ratio"].to_numpy(float)
    exact_out = int(((r > sr[f"exact_upper_{lab}"]) | (r < sr[f"exact_lower_{lab}"])).sum())
    tau = float(np.sqrt(sr["tau2"].iloc[0]))
    phi = float(sr["phi"].iloc[0])
    differ = (
        "LAs differ far more than their ethnic mix explains"
        if phi > 2
        else ("LAs differ somewhat more than chance" if phi > 1.2 else "LAs differ little more than chance")
    )
    return [
        f"Of {len(sr)} LAs, {exact_out} lie outside the {pct} limits that chance alone would allow: {differ} "
        f"(overdispersion: phi = {phi:.1f}, where 1 means none).",
        f"Allowing for that real variation between LAs (an additive between-LA standard deviation of {tau:.2f} on the "
        f"log scale, so a typical LA's rate is within a factor of about {np.exp(2 * tau):.1f} of what its ethnic mix "
        f"predicts), {_n(above, 'LA')} {'is' if above == 1 else 'are'} above and {below} below the {pct} limits.",
    ]


def funnel_title(sr: pd.DataFrame, funnel_level: float, year: int) -> str:
    """The funnel chart's title: its finding, from the same counts as :func:`funnel_sentences` (a title must be
    true of its data: Analysis Function chart guidance)."""
    head = f"Children looked after on 31 March {year}"
    if sr.empty:
        return f"{head}: no LA has both a count and a population"
    lab, pct = _label(funnel_level), _pct(funnel_level)
    r = sr["ratio"].to_numpy(float)
    chance = ((r > sr[f"exact_upper_{lab}"]) | (r < sr[f"exact_lower_{lab}"])).mean()
    wide = int((sr["flag"] != "Within the limits").sum())
    by_chance = (
        "most LAs differ from what their ethnic mix predicts by more than chance"
        if chance > 0.5
        else ("some LAs differ from what their ethnic mix predicts by more than chance" if chance > 0 else
              "no LA differs from what its ethnic mix predicts by more than chance")
    )  # fmt: skip
    usual = (
        f"{_n(wide, 'LA')} outside the {pct} limits allowing for how LAs usually vary"
        if wide
        else "all within the range LAs usually vary"
    )
    return f"{head}: {by_chance}; {usual}"


def summary_lines(sr: pd.DataFrame, summary: pd.DataFrame, funnel_level: float) -> list[str]:
    """The key finding for the front page, in plain English: how far England's rates by ethnic group hold in
    local authorities, and how many LAs lie beyond the funnel limits."""
    if sr.empty:
        return ["No LA had both a count and a population, so national results could not be tested locally."]
    pct = _pct(funnel_level)
    out = int((sr["flag"] != "Within the limits").sum())
    beyond = (
        f"{out} {'local authority' if out == 1 else 'local authorities'} of {len(sr)} "
        f"{'has' if out == 1 else 'have'} more or fewer children looked after than England's rates by ethnic group "
        f"predict, beyond the {pct} funnel limits (@fig-la-funnel)"
    )
    s = summary[summary["las_assessed"] > 0]
    if s.empty:
        return [capital(beyond) + "."]
    lo, hi = float(s["consistent_share"].min()), float(s["consistent_share"].max())
    spread = percent(lo, 0) if round(lo, 2) == round(hi, 2) else f"{percent(lo, 0)} to {percent(hi, 0)}"
    return [
        f"England's rates by ethnic group are {_guide(lo)}: allowing for how much LAs usually differ, they are "
        f"consistent with an LA's own rate in {spread} of LAs, depending on the group (@tbl-la-pattern); "
        f"{beyond}."
    ]


def pattern_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The chapter's table of how far England's group rates hold in LAs."""

    def pct(x: pd.Series) -> list[str]:
        return [percent(v, 0, missing="") for v in x.astype(float)]

    return pd.DataFrame(
        {
            "Ethnic group": summary["ethnicity_major"],
            "LAs assessed": summary["las_assessed"].astype(int),
            "Higher than England": pct(summary["higher_share"]),
            "Consistent with England": pct(summary["consistent_share"]),
            "Lower than England": pct(summary["lower_share"]),
            "Consistent, allowing for the LA's level": pct(summary["consistent_own_level_share"]),
        }
    )


def _guide(worst: float) -> str:
    """How good a guide England's group rates are to LAs', from the share of LAs they hold in for the worst group."""
    if worst >= 0.8:
        return "a fair first guide to most LAs, though not to every one"
    return "a guide to many LAs but not to all" if worst >= 0.5 else "a poor guide to most LAs"


def pattern_sentences(summary: pd.DataFrame) -> list[str]:
    """How often England's group rates hold in LAs, in words that follow the shares: how good a guide they are
    is said from the worst group's share, and the LA's level is said to matter only where allowing for it
    raises the shares."""
    s = summary[summary["las_assessed"] > 0]
    if s.empty:
        return ["No LA's group rates could be assessed."]
    lo = s.loc[s["consistent_share"].idxmin()]
    hi = s.loc[s["consistent_share"].idxmax()]
    worst = float(lo["consistent_share"])
    guide = _guide(worst)
    out = [
        f"Allowing for how much LAs usually differ, an LA's rate for a group is consistent with England's in "
        f"{percent(hi['consistent_share'], 0)} of LAs ({hi['ethnicity_major']}) down to "
        f"{percent(worst, 0)} ({lo['ethnicity_major']}): England's rates are {guide}."
    ]
    own = s.loc[s["consistent_own_level_share"].idxmin()]
    gain = float((s["consistent_own_level_share"] - s["consistent_share"]).mean())
    if gain > 0.02:
        out.append(
            f"Part of the difference is the LA's overall level: once it is allowed for, the pattern between groups "
            f"holds in more LAs, though for {own['ethnicity_major']} in {percent(own['consistent_own_level_share'], 0)}."
        )
    else:
        out.append("Allowing for the LA's overall level changes these shares little.")
    return out


def outliers_table(pub_ratios: pd.DataFrame, sr: pd.DataFrame, rates_pub: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """LAs outside the widened limits, or (if none) the ``n`` highest and lowest ratios, with completeness,
    region and neighbours beside them. From publishable values only."""
    t = pub_ratios.merge(sr[["new_la_code", "ratio"]].rename(columns={"ratio": "_r"}), on="new_la_code")
    t = t[t["funnel"] != C]
    out = t[t["funnel"].str.startswith(("Above", "Below"))]
    if out.empty:
        t = t.sort_values("_r")
        out = pd.concat([t.tail(n).iloc[::-1], t.head(n)])
    else:
        out = out.sort_values("_r", ascending=False)
    tot = rates_pub[rates_pub["ethnicity_major"] == "Total"].set_index("new_la_code")
    return pd.DataFrame(
        {
            "Local authority": out["la_name"].to_numpy(),
            "Region": out["region_name"].to_numpy(),
            "Observed": out["observed"].to_numpy(),
            "Expected": out["expected"].to_numpy(),
            "Ratio (95% CI)": [
                f"{r} ({lo} to {hi})" for r, lo, hi in zip(out["ratio"], out["ratio_lower_95"], out["ratio_upper_95"])
            ],
            "Rate per 10,000": out["new_la_code"].map(tot["rate_per_10000"]).to_numpy(),
            "Region's rate": out["new_la_code"].map(tot["region_rate"]).to_numpy(),
            "Neighbours' rate": out["new_la_code"].map(tot["neighbours_rate"]).to_numpy(),
            "Ethnicity known": out["recording_rating"].to_numpy(),
        }
    )


def minor_table(pub: pd.DataFrame) -> pd.DataFrame:
    """Share of LAs where each minor group's count can be published."""
    return pd.DataFrame(
        {
            "Major group": pub["ethnicity_major"],
            "Minor group": pub["ethnicity_minor"],
            "LAs": pub["las"].astype(int),
            "Publishable (more than the threshold)": pub["publishable"].astype(int),
            "Share of LAs": [percent(v, 0) for v in pub["publishable_share"].astype(float)],
            "LAs with none": pub["none"].astype(int),
        }
    )


def completeness_table(pub_ratios: pd.DataFrame) -> pd.DataFrame:
    """LAs whose ethnicity recording is not green, beside their standardised ratio: where local figures are
    least reliable. LAs whose rating is hidden (it rests on a hidden count) are not listed."""
    t = pub_ratios[~pub_ratios["recording_rating"].isin(["Green", C])]  # a hidden rating says nothing
    order = {"Red": 0, "Amber": 1, "Unclear": 2, "Not known": 3}
    t = t.sort_values(
        ["recording_rating", "la_name"], key=lambda s: s.map(order) if s.name == "recording_rating" else s
    )
    return pd.DataFrame(
        {
            "Local authority": t["la_name"].to_numpy(),
            "Region": t["region_name"].to_numpy(),
            "Ethnicity known (%)": t["recorded_pct"].to_numpy(),
            "Rating": t["recording_rating"].to_numpy(),
            "Observed / expected": t["ratio"].to_numpy(),
            "Funnel": t["funnel"].to_numpy(),
        }
    )


#: The indicators of ``la_cla_rates_by_ethnicity.csv``: column -> (label, unit, decimal places).
_RATE_INDICATORS = {
    "number": ("Children looked after on 31 March", "", 0),
    "population": ("Children aged 0-17 (nearest 10)", "", 0),
    "rate_per_10000": ("Rate per 10,000 children", "", 1),
    "rate_lower_95": ("Rate, lower 95% limit", "", 1),
    "rate_upper_95": ("Rate, upper 95% limit", "", 1),
    "england_rate": ("England's rate per 10,000", "", 1),
    "region_rate": ("Region's rate per 10,000", "", 1),
    "neighbours_rate": (
        "Statistical neighbours' rate per 10,000 (DfE 2025 model): mean of their published rates",
        "",
        1,
    ),
    "neighbours_used": ("Statistical neighbours in that mean", "", 0),
}
#: The verdicts on an LA's rate: filters of the EES file (EES indicators hold numbers), one item per row, with
#: the symbols they carry in the report's table written out.
_RATE_VERDICTS = {
    "compared_with_england": "Compared with England's rate (95%)",
    "compared_allowing_la_level": "Compared with England, allowing for the LA's level",
}
_VERDICT_ITEMS = {C: "Not shown (count suppressed)", Z: "Not applicable (all children)"}

#: The counts of LAs in ``la_pattern_consistency.csv``, with their labels.
_PATTERN_INDICATORS = {
    "las_assessed": ("LAs assessed", "", 0),
    "higher": ("LAs higher than England", "", 0),
    "consistent": ("LAs consistent with England", "", 0),
    "lower": ("LAs lower than England", "", 0),
    "consistent_own_level": ("LAs consistent, allowing for the LA's level", "", 0),
}

#: The counts of LAs in ``la_minor_group_publishability.csv``, with their labels.
_MINOR_INDICATORS = {
    "las": ("LAs with a return", "", 0),
    "publishable": ("LAs where the count can be published", "", 0),
    "none": ("LAs with none", "", 0),
}


def _ratio_indicators(ratios_pub: pd.DataFrame) -> dict[str, tuple[str, str, int]]:
    """The indicators of ``la_cla_standardised_ratios.csv``; the funnel limits' columns are named after the
    funnel level, so they are read from the table."""
    lab = [c for c in ratios_pub.columns if c.startswith("limit_lower_")][0].removeprefix("limit_lower_")
    return {
        "observed": ("Children looked after on 31 March", "", 0),
        "expected": ("Expected from England's rates by ethnic group", "", 1),
        "ratio": ("Observed / expected", "", 2),
        "ratio_lower_95": ("Ratio, lower 95% limit", "", 2),
        "ratio_upper_95": ("Ratio, upper 95% limit", "", 2),
        f"limit_lower_{lab}": ("Funnel lower limit (overdispersed)", "", 2),
        f"limit_upper_{lab}": ("Funnel upper limit (overdispersed)", "", 2),
        "recorded_pct": ("Ethnicity known (%)", "%", 1),
    }  # not the funnel position or the recording rating: text, which the ratio, limits and percentage give


def _pattern_ees(pattern: pd.DataFrame, year: int) -> pd.DataFrame:
    """How many LAs each group's England rate holds in, for the year, with the counts as text (EES cells)."""
    cols = list(_PATTERN_INDICATORS)
    return pattern.assign(time_period=year)[["time_period", "ethnicity_major", *cols]].astype({c: str for c in cols})


def _minor_ees(minor: pd.DataFrame, year: int) -> pd.DataFrame:
    """How many LAs can publish each minor group's count, for the year, with the counts as text (EES cells)."""
    cols = list(_MINOR_INDICATORS)
    return minor.assign(time_period=year)[["time_period", "ethnicity_major", "ethnicity_minor", *cols]].astype(
        {c: str for c in cols}
    )


#: A neighbour is a filter (EES indicators hold numbers); its rank is the indicator.
_NEIGHBOUR_FILTERS = {
    "neighbour_code": "Neighbour (LA code)",
    "neighbour_name": "Neighbour (LA name)",
    "closeness": "How close (DfE's model)",
}
_NEIGHBOUR_INDICATORS = {"rank": ("Neighbour rank (1 is closest)", "", 0)}


def _rates_ees(rates_pub: pd.DataFrame) -> pd.DataFrame:
    """The published rates with their verdicts as filter items (a symbol written out as words)."""
    out = rates_pub.drop(columns=["suppression"])
    for col in _RATE_VERDICTS:
        out[col] = out[col].map(lambda v: _VERDICT_ITEMS.get(v, v))
    return out


def _neighbours_ees(neighbours: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each LA's statistical neighbours in DfE's 2025 model, in rank order with DfE's closeness, both LAs named
    (codes alone are unreadable)."""
    las = local_authorities().reset_index()
    names = las[["new_la_code", "la_name"]]
    nb = neighbours.merge(
        las[["new_la_code", "old_la_code", "la_name", "region_code", "region_name"]], on="new_la_code"
    )
    nb = nb.merge(
        names.rename(columns={"new_la_code": "neighbour_code", "la_name": "neighbour_name"}), on="neighbour_code"
    )
    nb = nb.sort_values(["new_la_code", "rank"]).assign(
        time_period=year, geographic_level="Local authority", rank=lambda d: d["rank"].astype(str)
    )
    cols = ["time_period", "geographic_level", "region_code", "region_name", "old_la_code", "new_la_code", "la_name"]
    cols += ["rank", "neighbour_code", "neighbour_name"]
    return nb[[*cols, "closeness"]]


def write_tables(
    out,
    rates_pub: pd.DataFrame,
    ratios_pub: pd.DataFrame,
    pattern: pd.DataFrame,
    minor: pd.DataFrame,
    neighbours: pd.DataFrame,
    year: int,
    population_years: list[int] | None = None,
) -> list:
    """The section's EES tidy CSVs (with ``.meta.csv``) under ``out/tables``, with the estimated child
    population by ethnic group for ``population_years`` (default: ``year``)."""
    from pathlib import Path

    from rap.domain import child_population as cp
    from rap.domain.ees import with_ees_columns, write_ees

    tables = Path(out) / "tables"
    major = {"ethnicity_major": "Ethnic group (major)"}
    paths = []
    paths += write_ees(
        with_ees_columns(_rates_ees(rates_pub), year="time_period"),
        tables / "la_cla_rates_by_ethnicity.csv",
        filters={**major, **_RATE_VERDICTS},
        indicators=_RATE_INDICATORS,
    )
    paths += write_ees(
        with_ees_columns(ratios_pub, year="time_period"),
        tables / "la_cla_standardised_ratios.csv",
        filters={},
        indicators=_ratio_indicators(ratios_pub),
    )
    paths += write_ees(
        with_ees_columns(_pattern_ees(pattern, year), year="time_period"),
        tables / "la_pattern_consistency.csv",
        filters=major,
        indicators=_PATTERN_INDICATORS,
    )
    if not minor.empty:
        paths += write_ees(
            with_ees_columns(_minor_ees(minor, year), year="time_period"),
            tables / "la_minor_group_publishability.csv",
            filters={**major, "ethnicity_minor": "Ethnic group (minor)"},
            indicators=_MINOR_INDICATORS,
        )
    paths += write_ees(
        with_ees_columns(_neighbours_ees(neighbours, year), year="time_period"),
        tables / "la_statistical_neighbours.csv",
        filters=_NEIGHBOUR_FILTERS,
        indicators=_NEIGHBOUR_INDICATORS,
    )
    paths += write_ees(
        with_ees_columns(cp.publication_frame(population_years or [year]), year="time_period"),
        tables / "child_population_by_ethnicity.csv",
        filters=cp.FILTERS,
        indicators=cp.INDICATORS,
    )
    return paths
