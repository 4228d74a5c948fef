"""The breakdown tables: every measure by ethnic group with the statistics a reviewer needs, made safe.

From the tidy, unsuppressed output of ``rap.measures`` (or DfE's published figures) this builds, for national
and regional rows over the series years:

* ``number`` and ``denominator`` rounded half up to ``suppression.rounding_base`` (DfE's national practice),
  ``c`` where they are 0 to ``suppression.threshold`` (1 to the threshold look alike on every row of every
  table; a national or regional 0 is ``c`` too, so sums of ``c`` cells cannot pin each other);
* ``percentage`` (whole number, half up) with a 95% Wilson interval;
* ``rate_per_10000`` children with a Byar/exact interval, where a population by ethnic group exists (the
  synthetic one, labelled so), else ``x`` (not available);
* disproportionality ratios against White British and against all children, with intervals
  (log method for rates; statsmodels' ratio of proportions otherwise);
* for Key Stage 4, the average Attainment 8 score.

Every figure derived from a count is computed from the counts as published (the rounded numerator and
denominator, the published child population), and is ``c`` when a count it rests on is ``c``: so no interval,
rate or ratio tells an outsider more about a count than the rounded count does (the project's disclosure
notes, docs/disclosure.md, give the scheme and why). Indicators that do not apply are ``z``; nothing is left
blank. This is the one place disclosure control is applied to these tables: everything published from them
(tables, sentences, chart titles) goes through :func:`publication_table`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.params import Params
from rap.domain import ethnicity as eth
from rap.domain import stats
from rap.domain.disclosure import (
    C,
    X,
    Z,
    hidden_small,
    largest_hidden,
    national_counts,
    percent,
    percentages,
    published_numbers,
    round_half_up,
    rounded_counts,
)
from rap.domain.ees import with_ees_columns, write_ees
from rap.inputs.front import Inputs
from rap.measures import catalogue, compute_all
from rap.sections.common import (
    DIRECTION,
    capital,
    carries_intervals,
    children_from,
    england_groups,
    has,
    join_words,
    short_name,
    significant_differences,
    significant_sides,
)

TOTAL = "Total"
WHITE_BRITISH = "White British"
#: Measures counted in children with no denominator of their own: rates per 10,000 children apply. UASC counts
#: too, as on the dashboard (UASC per 10,000 children), though UASC are not drawn from the resident population.
RATE_MEASURES = (
    "cla_on_31_march",
    "started",
    "cla_during_year",
    "ceased",
    "adopted",
    "uasc_on_31_march",
    "uasc_started",
)

#: Measures whose ratios between groups are not published (see publication_table).
NO_RATIO_MEASURES = ("uasc_on_31_march", "uasc_started")
#: The column (never published) holding the population behind a row's rate, as the rate used it: the key
#: findings set a group's share of children looked after beside its share of all children.
POPULATION = "_population"

INDICATORS = {
    "number": ("Number", "", 0),
    "denominator": ("Denominator", "", 0),
    "percentage": ("Percentage", "%", 0),
    "percentage_lower_95": ("Percentage: lower 95% limit", "%", 1),
    "percentage_upper_95": ("Percentage: upper 95% limit", "%", 1),
    "rate_per_10000": ("Rate per 10,000 children", "", 1),
    "rate_lower_95": ("Rate: lower 95% limit", "", 1),
    "rate_upper_95": ("Rate: upper 95% limit", "", 1),
    "ratio_to_reference": ("Ratio to White British (the reference group)", "", 2),
    "ratio_to_reference_lower_95": ("Ratio to White British (the reference group): lower 95% limit", "", 2),
    "ratio_to_reference_upper_95": ("Ratio to White British (the reference group): upper 95% limit", "", 2),
    "ratio_to_all_children": ("Ratio to all children", "", 2),
    "ratio_to_all_children_lower_95": ("Ratio to all children: lower 95% limit", "", 2),
    "ratio_to_all_children_upper_95": ("Ratio to all children: upper 95% limit", "", 2),
    "average_attainment8": ("Average Attainment 8 score", "", 1),
}


def population_by_group(population: pd.DataFrame | None, years: list[int]) -> pd.DataFrame:
    """Children 0-17 by year, region and ethnic group (major labels, and minor labels: the DfE code where the
    file gives one, else where the ONS 2021 group matches one DfE code), with national and regional totals.
    Empty when there is no population."""
    if population is None or population.empty:
        return pd.DataFrame(columns=["time_period", "region_name", "ethnicity_major", "ethnicity_minor", "population"])
    pop = population[population["time_period"].isin(years)].copy()
    majors = eth.major_groups()["label_cla"]
    pop["ethnicity_major"] = pop["major"].map(majors)
    if "ethnic_code" in pop.columns:  # the DfE group itself
        pop["ethnicity_minor"] = pop["ethnic_code"].map(eth.codes()["label"])
    else:
        ons = eth.ons2021_lookup().reset_index()  # code -> ons2021_code (one-to-one only)
        minor = dict(zip(ons["ons2021_code"], ons["code"].map(eth.codes()["label"])))
        pop["ethnicity_minor"] = pop["ons2021_code"].map(minor)
    frames = []
    for region in (False, True):
        keys = ["time_period"] + (["region_name"] if region else [])
        by_major = (
            pop.groupby(keys + ["ethnicity_major"], as_index=False)["population"].sum().assign(ethnicity_minor=TOTAL)
        )
        by_minor = (
            pop.dropna(subset=["ethnicity_minor"])
            .groupby(keys + ["ethnicity_major", "ethnicity_minor"], as_index=False)["population"]
            .sum()
        )
        total = (
            pop.groupby(keys, as_index=False)["population"].sum().assign(ethnicity_major=TOTAL, ethnicity_minor=TOTAL)
        )
        f = pd.concat([by_major, by_minor, total], ignore_index=True)
        if not region:
            f["region_name"] = ""
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _reference(df: pd.DataFrame, major: str, minor: str, cols: list[str]) -> pd.DataFrame:
    keys = ["measure", "breakdown", "time_period", "geographic_level", "region_name"]
    ref = df[(df["ethnicity_major"] == major) & (df["ethnicity_minor"] == minor)][keys + cols]
    return df[keys].merge(ref, on=keys, how="left")[cols]


#: The columns that say what a row of the publication table is.
_ROW_COLUMNS = [
    "measure",
    "breakdown",
    "time_period",
    "geographic_level",
    "region_code",
    "region_name",
    "ethnicity_major",
    "ethnicity_minor",
]
#: The groups ratios are taken against: (major, minor, column).
_REFERENCES = (("White", WHITE_BRITISH, "ratio_to_reference"), (TOTAL, TOTAL, "ratio_to_all_children"))
_POPULATION_KEYS = ["time_period", "region_name", "ethnicity_major", "ethnicity_minor"]


@dataclass(frozen=True)
class _Counts:
    """A table's counts as published, as numbers: rounded half up to the base, NaN where ``c`` (0 to the
    threshold) or missing. Every figure of the table is computed from these, never from the exact counts, so
    nothing published says more about a count than the count itself does (the project's disclosure notes)."""

    num: np.ndarray  # published numerator
    den: np.ndarray  # published denominator
    has_den: np.ndarray  # the measure has a denominator
    small: np.ndarray  # the numerator or the denominator is c: every figure resting on them is c


def _published_counts(df: pd.DataFrame, threshold: int, base: int) -> _Counts:
    num = df["number"].astype("float").to_numpy()
    den = df["denominator"].astype("float").to_numpy()
    small = hidden_small(num, threshold, base) | hidden_small(den, threshold, base)
    return _Counts(rounded_counts(num, base, threshold), rounded_counts(den, base, threshold), np.isfinite(den), small)


def _percentage_columns(k: _Counts) -> dict[str, list]:
    """Percentages (whole numbers, half up) with 95% Wilson intervals, from the published counts: ``c`` with
    its interval where a count is ``c``, ``z`` without a denominator."""
    pct = percentages(np.where(k.has_den, k.num, np.nan), np.where(k.has_den, k.den, np.nan), k.small, dp=0)
    cols = {"percentage": [Z if not h else p for p, h in zip(pct, k.has_den)]}
    ok = k.has_den & ~k.small & np.isfinite(k.num) & (np.nan_to_num(k.den) > 0)
    ci = stats.wilson_ci(np.where(ok, k.num, 0), np.where(ok, k.den, 0))
    for col, vals in (("percentage_lower_95", ci.lower), ("percentage_upper_95", ci.upper)):
        v = published_numbers(np.asarray(vals, dtype=float) * 100, 1)
        cols[col] = [Z if not h else (C if s else x) for x, h, s in zip(v, k.has_den, k.small)]
    return cols


def _proportion_ratio_columns(df: pd.DataFrame, k: _Counts) -> dict[str, list]:
    """Ratios of proportions to White British and to all children (same measure, breakdown, year and area)
    with intervals, from the published counts of both groups: ``c`` where a count it rests on is ``c`` (the
    reference group's only when a ratio could otherwise be formed), ``x`` where either proportion is 0 or
    missing, so no ratio can be formed."""
    cols = {}
    for ref_major, ref_minor, name in _REFERENCES:
        ref = _reference(df, ref_major, ref_minor, [_NUM, _DEN, _SMALL])
        rn, rd = ref[_NUM].astype(float).to_numpy(), ref[_DEN].astype(float).to_numpy()
        num, den = np.nan_to_num(k.num), np.nan_to_num(k.den)
        own = (
            k.has_den & (den > 0) & (num > 0)
        )  # a ratio of this row can be formed: only then can it rest on the reference
        hidden = k.small | (own & ref[_SMALL].eq(True).to_numpy())
        ok = own & ~hidden & (np.nan_to_num(rd) > 0) & (np.nan_to_num(rn) > 0)
        args = (np.where(ok, num, 1), np.where(ok, den, 2), np.where(ok, rn, 1), np.where(ok, rd, 2))
        whole = name == _WHOLE  # a group is part of all children: not independent of it
        r = stats.ratio_to_whole_ci(*args) if whole else stats.proportion_ratio_ci(*args)
        for suffix, vals in (("", r.estimate), ("_lower_95", r.lower), ("_upper_95", r.upper)):
            v = published_numbers(np.asarray(vals, dtype=float), 2)
            cols[name + suffix] = [
                (C if s else (x if o else X)) if h else Z for x, o, h, s in zip(v, ok, k.has_den, hidden)
            ]
        cols[name + DIRECTION] = _direction(r, ok & k.has_den)
    return cols


_WHOLE = "ratio_to_all_children"


def _direction(r: stats.Interval, ok: np.ndarray) -> np.ndarray:
    lo, hi = np.asarray(r.lower, dtype=float), np.asarray(r.upper, dtype=float)
    return np.where(ok & np.isfinite(lo) & np.isfinite(hi), np.where(lo > 1, 1.0, np.where(hi < 1, -1.0, 0.0)), np.nan)


def _row_population(
    df: pd.DataFrame, pop: pd.DataFrame, major: str | None = None, minor: str | None = None
) -> np.ndarray:
    """Children 0-17 for each row's year, area and group (or for the group ``major``/``minor`` of the same
    year and area, the reference of a rate ratio); NaN where there is no population."""
    rows = df[_POPULATION_KEYS]
    if major is not None:
        rows = rows.assign(ethnicity_major=major, ethnicity_minor=minor)
    return rows.merge(pop, on=_POPULATION_KEYS, how="left")["population"].astype(float).to_numpy()


def _rate_columns(k: _Counts, p: np.ndarray, has_pop: np.ndarray, is_rate: np.ndarray) -> dict[str, list]:
    """Rates per 10,000 children with intervals, from the published count and the published population, where
    a population exists: ``c`` where the count is ``c``, ``x`` for a count of children without a population
    (not available), ``z`` for measures that are not counts of children."""
    ok = has_pop & ~k.small
    rc = stats.rate_ci(np.where(ok, np.nan_to_num(k.num), 0), np.where(has_pop, p, 1))
    cols = {}
    for col, vals, dp in (
        ("rate_per_10000", rc.estimate, 1),  # as its limits: a rare event's rate (adoptions) needs the decimal
        ("rate_lower_95", rc.lower, 1),
        ("rate_upper_95", rc.upper, 1),
    ):
        v = published_numbers(np.asarray(vals, dtype=float), dp)
        cols[col] = [(C if s else x) if hp else (X if r else Z) for x, hp, r, s in zip(v, has_pop, is_rate, k.small)]
    return cols


def _rate_ratio_columns(
    df: pd.DataFrame,
    pop: pd.DataFrame,
    k: _Counts,
    p: np.ndarray,
    has_pop: np.ndarray,
    current: pd.DataFrame,
    base: int,
) -> dict[str, list]:
    """The ratio columns with rate ratios in place of the proportion ratios (``current``) for counts of
    children: for those the population, not a denominator of their own, is what a group is compared on. From
    the published counts and populations of both groups; ``c`` where either count is ``c``."""
    num = np.nan_to_num(k.num)
    is_rate = df["measure"].isin(RATE_MEASURES).to_numpy()
    cols = {}
    for ref_major, ref_minor, name in _REFERENCES:
        ref = _reference(df, ref_major, ref_minor, [_NUM, _SMALL])
        ref_num = np.nan_to_num(ref[_NUM].astype(float).to_numpy())
        own = has_pop & (num > 0)
        hidden = k.small | (own & ref[_SMALL].eq(True).to_numpy())
        ref_pop = _published_population(_row_population(df, pop, ref_major, ref_minor), base)
        ok = own & ~hidden & np.isfinite(ref_pop) & (ref_pop > 0) & (ref_num > 0)
        args = (np.where(ok, num, 1), np.where(ok, p, 1), np.where(ok, ref_num, 1), np.where(ok, ref_pop, 1))
        whole = name == _WHOLE  # a group is part of all children: not independent of it
        rr = stats.ratio_to_whole_ci(*args, binomial=False) if whole else stats.rate_ratio_ci(*args)
        for suffix, vals in (("", rr.estimate), ("_lower_95", rr.lower), ("_upper_95", rr.upper)):
            v = published_numbers(np.asarray(vals, dtype=float), 2)
            col = name + suffix
            cols[col] = [
                (C if s else (x if o else X)) if r else cur
                for x, o, r, s, cur in zip(v, ok, is_rate, hidden, current[col])
            ]
        previous = current[name + DIRECTION].to_numpy(float) if name + DIRECTION in current else np.nan
        cols[name + DIRECTION] = np.where(is_rate, _direction(rr, ok), previous)
    return cols


def _published_population(p: np.ndarray, base: int) -> np.ndarray:
    """Child populations as the dashboard publishes them: rounded half up to ``base`` (NaN kept), so a rate
    can be recomputed from published figures alone."""
    return np.asarray(round_half_up(p, base), dtype=float)


def _attainment8_columns(df: pd.DataFrame, thr: int, base: int) -> tuple[list, pd.Series]:
    """Key Stage 4 average Attainment 8 score (points / pupils; a mean of scores, not a count) and the pupils
    as published: ``c`` for both where the pupils are ``c`` (an average of so few gives a pupil's score
    away), ``z`` for other measures."""
    pts = df["points_total"].astype(float).to_numpy()
    pupils = df["pupils"].astype(float).to_numpy()
    is_a8 = df["measure"].eq("ks4_attainment8").to_numpy()
    avg = published_numbers(np.where(pupils > 0, pts / np.where(pupils > 0, pupils, 1), np.nan), 1)
    small = hidden_small(pupils, thr, base)
    shown = national_counts(df["pupils"].astype("Int64").fillna(0), base, threshold=thr)
    return [Z if not a else (C if s else v) for v, a, s in zip(avg, is_a8, small)], shown


#: Working columns of the publication table: a row's published counts as numbers (for other rows' ratios).
_NUM, _DEN, _SMALL = "_published_number", "_published_denominator", "_small"


def publication_table(measures: pd.DataFrame, params: Params, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """National and regional rows of every measure with publishable indicators (see module docstring)."""
    thr = params.suppression.threshold
    base = params.suppression.rounding_base
    df = measures[measures["geographic_level"].isin(["National", "Regional"])].copy().reset_index(drop=True)
    df["region_name"] = df["region_name"].fillna("")
    k = _published_counts(df, thr, base)
    df[_NUM], df[_DEN], df[_SMALL] = k.num, k.den, k.small

    out = df[_ROW_COLUMNS].copy()
    out["number"] = national_counts(df["number"].astype("Int64").fillna(0), base, threshold=thr).where(
        df["number"].notna(), Z
    )
    out["denominator"] = national_counts(df["denominator"].astype("Int64").fillna(0), base, threshold=thr).where(
        k.has_den, Z
    )
    for col, vals in {**_percentage_columns(k), **_proportion_ratio_columns(df, k)}.items():
        out[col] = vals

    # rates per 10,000 for counts of children, where a population exists; rate ratios replace the
    # proportion ratios for them
    pop = population_by_group(population, sorted(df["time_period"].unique()))
    p = _published_population(_row_population(df, pop), base)
    is_rate = df["measure"].isin(RATE_MEASURES).to_numpy()
    has_pop = is_rate & np.isfinite(p) & (p > 0)
    for col, vals in _rate_columns(k, p, has_pop, is_rate).items():
        out[col] = vals
    out[POPULATION] = np.where(has_pop, p, np.nan)
    for col, vals in _rate_ratio_columns(df, pop, k, p, has_pop, out, base).items():
        out[col] = vals

    # UASC are mostly older boys from a few countries, outside the resident child population: a ratio of their
    # rate for a group to White British children's says nothing useful, so it is not applicable
    no_ratio = df["measure"].isin(NO_RATIO_MEASURES).to_numpy()
    for col in [c for c in out.columns if c.startswith(("ratio_to_reference", "ratio_to_all_children"))]:
        out[col] = out[col].astype(object).where(~no_ratio, Z)
    _self_comparisons_not_applicable(df, out)

    out["average_attainment8"], pupils = _attainment8_columns(df, thr, base)
    is_a8 = df["measure"].eq("ks4_attainment8").to_numpy()
    out.loc[is_a8, "number"] = pupils[is_a8]
    return out


def published_table(tables: dict, years: list[int]) -> pd.DataFrame:
    """The same shape from DfE's published release: numbers and percentages as published, symbols kept,
    nothing re-suppressed; rates per 10,000 and rate ratios for counts of children from the published numbers
    and the estimated child population (mid-(Y-1), :func:`estimated_population`); what the aggregates cannot
    give (percentage intervals, proportion ratios) is ``x``."""
    from rap.measures import from_published

    frames = [from_published(tables, y) for y in years]
    pub = pd.concat([f for f in frames if len(f)], ignore_index=True)
    out = pub[
        [
            "measure",
            "breakdown",
            "time_period",
            "geographic_level",
            "region_code",
            "region_name",
            "ethnicity_major",
            "ethnicity_minor",
        ]
    ].copy()
    num = pub["number"].astype("Int64").astype(object).where(pub["number"].notna(), None)
    out["number"] = [
        s if (isinstance(s, str) and s) else (X if n is None else int(n)) for n, s in zip(num, pub["symbol"])
    ]
    den = pub["denominator"]
    out["denominator"] = [Z if pd.isna(d) else int(d) for d in den]
    out["percentage"] = [
        ps if (isinstance(ps, str) and ps) else (Z if pd.isna(p) else (int(p) if float(p).is_integer() else float(p)))
        for p, ps in zip(pub["percentage_published"], pub["percentage_symbol"])
    ]
    for col in INDICATORS:
        if col not in out.columns:
            out[col] = X if col != "average_attainment8" else Z
    return _with_published_rates(out, estimated_population(years))


def estimated_population(years: list[int]) -> pd.DataFrame:
    """The package's estimate of children 0-17 by LA and DfE group (:mod:`rap.domain.child_population`:
    mid-(Y-1) ONS totals, school census shares) in the layout :func:`population_by_group` reads."""
    from rap.domain.child_population import child_population, with_areas

    la = with_areas(child_population(years))
    la = la[la["geographic_level"] == "Local authority"]
    return la.rename(columns={"code": "ethnic_code"})[
        ["time_period", "region_name", "major", "ethnic_code", "population"]
    ]


def _with_published_rates(out: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Rates per 10,000 children and rate ratios for DfE's counts of children, from the numbers as published
    (already rounded; a symbol hides the count) and the estimated population rounded to 10: they say no more
    about a count than the published number does."""
    df = out.copy()
    num = pd.to_numeric(df["number"].where(df["number"].map(lambda v: not isinstance(v, str)), np.nan))
    df[_NUM] = num.astype(float)
    df[_SMALL] = df["number"].map(lambda v: isinstance(v, str) and v not in (X, Z))
    k = _Counts(df[_NUM].to_numpy(float), np.full(len(df), np.nan), np.zeros(len(df), bool), df[_SMALL].to_numpy())
    pop = population_by_group(population, sorted(df["time_period"].unique()))
    p = _published_population(_row_population(df, pop), 10)
    is_rate = df["measure"].isin(RATE_MEASURES).to_numpy()
    has_pop = is_rate & np.isfinite(p) & (p > 0) & (np.isfinite(k.num) | k.small)
    res = out.copy()
    for col, vals in _rate_columns(k, p, has_pop, is_rate).items():
        res[col] = [v if r else cur for v, r, cur in zip(vals, is_rate, out[col])]
    for col, vals in _rate_ratio_columns(df, pop, k, p, has_pop, out, 10).items():
        res[col] = vals
    res[POPULATION] = np.where(has_pop, p, np.nan)
    no_ratio = df["measure"].isin(NO_RATIO_MEASURES).to_numpy()
    for col in [c for c in res.columns if c.startswith(("ratio_to_reference", "ratio_to_all_children"))]:
        res[col] = res[col].astype(object).where(~no_ratio, out[col] if col in out else np.nan)
    _self_comparisons_not_applicable(df, res)
    return res


def _self_comparisons_not_applicable(df: pd.DataFrame, out: pd.DataFrame) -> None:
    """A group compared with itself (White British with White British, all children with all children) has
    no ratio to publish: ``z``, not 1.00 with an interval around it."""
    for ref_major, ref_minor, name in _REFERENCES:
        own = (df["ethnicity_major"].eq(ref_major) & df["ethnicity_minor"].eq(ref_minor)).to_numpy()
        for col in [c for c in out.columns if c.startswith(name)]:
            out[col] = out[col].astype(object).where(~own, Z)


def chapter_table(params: Params, data: Inputs) -> pd.DataFrame:
    """The chapter's table from this run's inputs: :func:`publication_table` of the measures computed from
    record-level inputs, or :func:`published_table` of DfE's published release."""
    if data.published:
        return published_table(data.release, params.series_years)
    return publication_table(compute_all(data.record, params.series_years), params, data.record.population)


def reading_note(params: Params, data: Inputs) -> str:
    """How to read the chapter's tables: the disclosure rules as this run applies them (from the parameters)."""
    s = params.suppression
    tail = (
        "Rates per 10,000 children use a population by ethnic group with an exact or Byar interval. The ratio to "
        "White British compares each group with the White British figure. The text describes a difference only "
        "when its 95% interval for the ratio excludes 1."
    )
    if data.published:
        return (
            "**How to read the tables.** Numbers are rounded to the nearest 10 (`[low]`: fewer than 5 but not none). "
            "Percentages are whole numbers worked out from unrounded counts, with a 95% confidence interval (Wilson). "
            f"{tail} Groups with very few children are suppressed (`[c]`)."
        )
    return (
        f"**How to read the tables.** Numbers are rounded to the nearest {s.rounding_base}; numbers from 0 to "
        f"{largest_hidden(s.threshold, s.rounding_base)} are suppressed (`[c]`), and so is every figure that rests "
        "on one. Percentages (whole numbers, with a 95% Wilson confidence interval), rates and ratios are worked "
        "out from the rounded numbers as published, so they tell no more than the numbers do. "
        f"{tail}"
    )


def source_text(data: Inputs) -> str:
    """How the chapter's notes name the source of its figures."""
    if data.published:
        return "DfE's published tables (numbers and percentages as published)"
    return "SSDA903 and school census extracts" + (" (synthetic)" if data.synthetic else "")


def write_tables(table: pd.DataFrame, out: Path) -> list[Path]:
    """One EES tidy CSV (with ``.meta.csv``) per measure: ``tables/<measure>_by_ethnicity.csv``."""
    unknown = set(table["measure"]) - set(catalogue())
    if unknown:
        raise KeyError(f"measures {sorted(unknown)} are not in rap/data/measures.yaml")
    paths = []
    filters = {
        "breakdown": "Breakdown",
        "ethnicity_major": "Ethnic group (major)",
        "ethnicity_minor": "Ethnic group (minor)",
    }
    for measure, t in table.groupby("measure", sort=True):
        t = with_ees_columns(t.drop(columns="measure"), year="time_period").sort_values(
            ["time_period", "geographic_level", "region_name", "breakdown"], kind="stable"
        )
        path = out / "tables" / f"{measure}_by_ethnicity.csv"
        # a filter with one level is no filter (EES refuses it): a measure with one breakdown is written without
        own = filters if t["breakdown"].nunique() > 1 else {k: v for k, v in filters.items() if k != "breakdown"}
        write_ees(t, path, filters=own, indicators=INDICATORS)
        paths.append(path)
    return paths


def write_dfe_tables(data: Inputs, out: Path) -> list[Path]:
    """On the published route, DfE's other national figures by ethnicity as published
    (:func:`rap.measures.dfe_figures.republished`), one EES table per release table: ``tables/dfe_*.csv``.
    Nothing is written from record-level inputs (the figures are DfE's)."""
    from rap.measures.dfe_figures import figure_map, republished

    if not data.published:
        return []
    fmap = figure_map()
    specs = {s["output"]: s for s in fmap["tables"].values()}
    paths = []
    for name, t in republished(data.release).items():
        spec = specs[name]
        named = {f["column"]: f["label"] for f in (spec.get("filters") or {}).values()}
        named.update({"ethnicity_major": "Ethnic group (major)", "ethnicity_minor": "Ethnic group (minor)"})
        # a filter with one level is no filter (EES refuses it): DfE's care leavers have major groups only
        filters = {c: label for c, label in named.items() if t[c].nunique() > 1}
        t = t.drop(columns=[c for c in named if c not in filters])
        indicators = {
            c: (fmap["indicators"][c]["label"], fmap["indicators"][c]["unit"], fmap["indicators"][c]["dp"])
            for c in t.columns
            if c in fmap["indicators"]
        }
        path = out / "tables" / f"{name}.csv"
        write_ees(with_ees_columns(t, year="time_period"), path, filters=filters, indicators=indicators)
        paths.append(path)
    return paths


def dfe_tables_note(paths: list[Path]) -> str:
    """The sentence naming the tables of DfE's figures republished as published (empty when none)."""
    if not paths:
        return ""
    names = ", ".join(f"`{p.name}`" for p in paths)
    return (
        "DfE's other national figures by ethnic group are republished exactly as DfE published them (numbers "
        f"rounded to the nearest 10, DfE's symbols kept) in {names}; the QA annex lists how many of the "
        "release's figures the tables reproduce."
    )


# ----------------------------------------------------------------------------------- for the chapter


def headline_table(table: pd.DataFrame, measure: str, breakdown: str, year: int, *, minor: bool = True) -> pd.DataFrame:
    """England, one measure and year, groups in publication order: what the chapter shows."""
    t = table[
        (table["measure"] == measure)
        & (table["breakdown"] == breakdown)
        & (table["time_period"] == year)
        & (table["geographic_level"] == "National")
    ]
    if not minor:
        t = t[t["ethnicity_minor"] == TOTAL]
    order = {lab: i for i, lab in enumerate([TOTAL] + [eth.major_label(m) for m in eth.major_order()])}
    t = t.assign(_o=t["ethnicity_major"].map(order), _m=(t["ethnicity_minor"] != TOTAL).astype(int)).sort_values(
        ["_o", "_m"], kind="stable"
    )
    # One group column (major groups by name, their minor groups after them) keeps the table narrow enough
    # for a printed page.
    t = t.assign(
        group=np.where(
            t["ethnicity_minor"] == TOTAL,
            np.where(t["ethnicity_major"] == TOTAL, "All children", t["ethnicity_major"].astype(str) + " (total)"),
            t["ethnicity_minor"].astype(str),
        )
    )
    is_rate = measure in RATE_MEASURES
    cols = {"group": "Ethnic group", "number": "Number"}
    if is_rate:
        cols.update({"rate_per_10000": "Rate per 10,000", "rate_lower_95": "Lower 95%", "rate_upper_95": "Upper 95%"})
    elif measure == "ks4_attainment8":
        cols.update({"number": "Pupils", "average_attainment8": "Average Attainment 8"})
    else:
        cols.update(
            {
                "denominator": "Out of",
                "percentage": "%",
                "percentage_lower_95": "Lower 95%",
                "percentage_upper_95": "Upper 95%",
            }
        )
    cols.update({"ratio_to_reference": "Ratio to White British"})
    return t[list(cols)].rename(columns=cols).reset_index(drop=True)


@dataclass(frozen=True)
class MeasureBlock:
    """Shows one measure of the chapter (call it with the measure): its table and chart, with the significant
    differences named; where the figures carry no intervals (DfE's published percentages), nothing is tested."""

    table: pd.DataFrame
    year: int
    data: Inputs

    def __call__(
        self, measure: str, breakdown: str, label: str, caption: str, minor: bool = True, chart: bool = True
    ) -> None:
        from IPython.display import Markdown
        from IPython.display import display as show

        from rap.present import charts, display

        table, y = self.table, self.year
        if not has(table, measure, breakdown):
            show(Markdown(f"*Not available from these inputs: {caption.lower()}.*"))
            return
        diffs = significant_differences(table, measure, breakdown, y)
        text = (
            ("Significantly different from White British: " + "; ".join(diffs) + ".")
            if diffs
            else "No major group differs significantly from White British."
        )
        rows = table[(table["measure"] == measure) & (table["breakdown"] == breakdown) & (table["time_period"] == y)]
        if not carries_intervals(rows):
            # DfE's published percentages carry no intervals (its counts with the estimated population do)
            text = "These figures carry no intervals, so differences are not tested here."
        show(Markdown(f"@tbl-{label} shows {caption[0].lower() + caption[1:]}. {text}"))
        if chart:
            c = charts.interval_dots(**chart_data(table, measure, breakdown, y))
            if c.data["value"].notna().any():
                display.figure(c.figure, f"fig-{label}", c.title, alt=c.alt)
        pop_source = "synthetic" if self.data.synthetic else "child"
        notes = [f"Source: {source_text(self.data)}."] + [n for n in [rate_note(table, measure, y, pop_source)] if n]
        display.table(
            headline_table(table, measure, breakdown, y, minor=minor),
            f"tbl-{label}",
            f"{caption}, England, {y}",
            notes=notes,
        )


def chart_data(table: pd.DataFrame, measure: str, breakdown: str, year: int) -> dict:
    """Major groups' percentage (or rate) with intervals, a title that states the finding, and alt text."""
    t = england_groups(table, measure, year, breakdown)
    rate = measure in RATE_MEASURES
    v, lo, hi = (
        ("rate_per_10000", "rate_lower_95", "rate_upper_95")
        if rate
        else ("percentage", "percentage_lower_95", "percentage_upper_95")
    )
    groups = t[t["ethnicity_major"] != TOTAL]
    allv = pd.to_numeric(t.loc[t["ethnicity_major"] == TOTAL, v], errors="coerce")
    title_measure = catalogue()[measure]["title"] + ("" if breakdown == TOTAL else f" ({breakdown.lower()})")
    unit = "per 10,000 children" if rate else "%"
    known = groups[~groups["ethnicity_major"].eq(eth.major_label("unknown"))]
    kv = pd.to_numeric(known[v], errors="coerce")
    if carries_intervals(groups) and not significant_differences(table, measure, breakdown, year):
        # government style: a chart title states a finding only when it is significant
        title = f"{title_measure}: no major ethnic group differs significantly from White British, {year}"
    elif kv.notna().any():
        top = known.iloc[int(kv.to_numpy().argmax())]
        title = (
            f"{title_measure}: highest for {top['ethnicity_major']} children ({top[v]}{'' if rate else '%'}), {year}"
        )
    else:
        title = f"{title_measure} by ethnic group, {year}"
    alt = (
        f"Dot plot with 95% intervals of {title_measure[0].lower() + title_measure[1:]} ({unit}) by major ethnic group in {year}: "
        + "; ".join(
            f"{r.ethnicity_major} {getattr(r, v)} ({getattr(r, lo)} to {getattr(r, hi)})" for r in groups.itertuples()
        )
        + (
            f". All children: {allv.iloc[0]:,.{1 if allv.iloc[0] < 10 else 0}f}."
            if len(allv) and allv.notna().iloc[0]
            else "."
        )
    )
    return {
        "labels": groups["ethnicity_major"],
        "values": groups[v],  # as published: a symbol is written on the chart
        "lower": groups[lo],
        "upper": groups[hi],
        "title": title,
        "alt": alt,
        "xlabel": f"{title_measure} ({unit})",
        "reference": float(allv.iloc[0]) if len(allv) and allv.notna().iloc[0] else None,
        "reference_label": "All children",
    }


def definitions_table(table: pd.DataFrame) -> pd.DataFrame:
    """The DfE definition (and this pipeline's simplifications) of each measure in the chapter."""
    cat = catalogue()
    rows = [
        {"Measure": cat[m]["title"], "Definition": " ".join(str(cat[m].get("definition", "")).split())}
        for m in sorted(set(table["measure"]), key=list(cat).index)
    ]
    return pd.DataFrame(rows)


def unknown_sentence(table: pd.DataFrame, year: int) -> str:
    """The share of children whose ethnicity is unknown: always reported, and included in the totals."""
    t = table[
        (table["measure"] == "cla_on_31_march")
        & (table["time_period"] == year)
        & (table["geographic_level"] == "National")
        & (table["ethnicity_minor"] == TOTAL)
    ]
    unk = t.loc[t["ethnicity_major"] == eth.major_label("unknown"), "number"]
    tot = t.loc[t["ethnicity_major"] == TOTAL, "number"]
    if not len(unk) or not len(tot) or not all(isinstance(x, (int, np.integer)) for x in (unk.iloc[0], tot.iloc[0])):
        return ""
    return (
        f"Ethnicity was refused, not yet obtained, blank or invalid for {unk.iloc[0]:,} of the {tot.iloc[0]:,} "
        f"children looked after on 31 March {year} ({percent(unk.iloc[0] / tot.iloc[0])}). They are included in every "
        "total and shown as their own group; they are not discussed further."
    )


def population_note(data: Inputs) -> str:
    """What the key findings say about the children behind the rates, for the route the run is on: rates by
    ethnic group on DfE's published counts divide by an estimated population whose error no interval holds."""
    if data.published:
        return (
            "The child population by ethnic group is estimated from ONS totals and school census shares, an error "
            "the intervals leave out."
        )
    return "The child population by ethnic group is synthetic." if data.synthetic else ""


def write_summary(table: pd.DataFrame, out: Path, year: int, population_note: str = "") -> None:
    """Key findings for the front page, in plain English: who is over- or under-represented among children
    looked after, and who goes missing or moves placement more often, naming only significant differences.
    ``population_note`` says where the population behind the rates came from (e.g. that it is synthetic)."""
    from rap.sections.common import write_summary as _write

    lines = [representation_sentence(table, year, population_note), experience_sentence(table, year)]
    _write(out, "03_breakdowns", [line for line in lines if line])


def _population_shares(table: pd.DataFrame, year: int) -> tuple[pd.Series, pd.Series]:
    """England's major groups: (share of children looked after on 31 March, share of all children), from the
    published numbers and the population the rates used."""
    t = england_groups(table, "cla_on_31_march", year, TOTAL).set_index("ethnicity_major")
    num = pd.to_numeric(t["number"].where(t["number"].map(lambda v: not isinstance(v, str))), errors="coerce")
    pop = pd.to_numeric(t[POPULATION], errors="coerce") if POPULATION in t else pd.Series(np.nan, index=t.index)
    return num / num.get(TOTAL, np.nan), pop / pop.get(TOTAL, np.nan)


def _pair(a: float, b: float) -> tuple[str, str]:
    """Two shares as the sentence shows them: whole numbers, one decimal place where whole numbers would tie."""
    places = 1 if round(a * 100) == round(b * 100) else 0
    return percent(a, places), percent(b, places)


def representation_sentence(table: pd.DataFrame, year: int, population_note: str = "") -> str:
    """Groups over- and under-represented among children looked after: their rate's ratio to all children's has
    a 95% interval wholly above or below 1; each named with its share of children looked after and of all
    children. Empty where the inputs give no rates."""
    if not has(table, "cla_on_31_march", TOTAL):
        return ""
    t = england_groups(table, "cla_on_31_march", year, TOTAL)
    if not carries_intervals(t, "ratio_to_all_children"):
        return (
            f"The figures for children looked after on 31 March {year} carry no confidence intervals, so "
            "over- and under-representation are not tested (@tbl-cla)."
        )
    sides = significant_sides(table, "cla_on_31_march", TOTAL, year, ratio="ratio_to_all_children")
    cla, pop = _population_shares(table, year)
    over = [g for g, s in sides.items() if s > 0 and np.isfinite(cla.get(g, np.nan) * pop.get(g, np.nan))]
    under = [g for g, s in sides.items() if s < 0 and np.isfinite(cla.get(g, np.nan) * pop.get(g, np.nan))]
    note = f" {population_note}" if population_note else ""
    if not (over or under):
        return (
            f"No ethnic group was significantly over- or under-represented among children looked after on 31 "
            f"March {year}, compared with all children (@tbl-cla).{note}"
        )
    said = []
    if over:
        said.append(f"{children_from(over)} were over-represented among children looked after on 31 March {year}")
    if under:
        said.append(f"{children_from(under)} under-represented")
    figures = []
    for i, g in enumerate(over + under):
        a, b = _pair(cla[g], pop[g])
        figures.append(
            f"{short_name(g)} {a} of children looked after against {b} of all children"
            if i == 0
            else f"{short_name(g)} {a} against {b}"
        )
    return f"{capital(', and '.join(said))}: {'; '.join(figures)} (@tbl-cla).{note}"


#: The experiences the key findings compare with White British children: (measure, breakdown, table label,
#: what the children did).
EXPERIENCES = (
    ("missing", "Children who went missing", "missing", "went missing"),
    ("placement_stability", "3 or more placements", "placements", "had 3 or more placements in the year"),
)


def experience_sentence(table: pd.DataFrame, year: int) -> str:
    """Which groups went missing, or moved placement 3 or more times, significantly more or less often than
    White British children, with each group's percentage beside White British children's."""
    tested, untested = [], []
    for measure, breakdown, label, did in EXPERIENCES:
        if not has(table, measure, breakdown):
            continue
        t = england_groups(table, measure, year, breakdown)
        if not carries_intervals(t):
            untested.append((did, label))
            continue
        sides = significant_sides(table, measure, breakdown, year)
        wb = _white_british_percentage(table, measure, breakdown, year)
        pct = t.set_index("ethnicity_major")["percentage"]
        for side, word in ((1, "more"), (-1, "less")):
            groups = [g for g, s in sides.items() if s == side]
            if groups:
                shown = ", ".join((short_name(g) if len(groups) > 1 else "") + _as_percent(pct[g]) for g in groups)
                figures = " ".join(
                    p for p in (shown.strip(), f"against{_as_percent(wb)}" if _as_percent(wb) else "") if p
                )
                inner = f"{figures}; @tbl-{label}" if figures else f"@tbl-{label}"
                tested.append(f"{children_from(groups)} {did} {word} often ({inner})")
        if not sides:
            tested.append(f"no ethnic group {did} significantly more or less often (@tbl-{label})")
    out = f"Compared with White British children, {'; '.join(tested)}." if tested else ""
    if untested:
        who = join_words([f"who {did}" for did, _ in untested])
        refs = join_words([f"@tbl-{label}" for _, label in untested])
        out += (" " if out else "") + (
            f"The figures on {who} carry no confidence intervals, so differences between groups are not tested "
            f"({refs})."
        )
    return out


def _as_percent(value: object) -> str:
    """`` 12%`` for a published percentage, nothing for a symbol (``c``, ``x``)."""
    return f" {value}%" if pd.notna(pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]) else ""


def _white_british_percentage(table: pd.DataFrame, measure: str, breakdown: str, year: int) -> object:
    t = table[
        (table["measure"] == measure)
        & (table["breakdown"] == breakdown)
        & (table["time_period"] == year)
        & (table["geographic_level"] == "National")
        & (table["ethnicity_minor"] == WHITE_BRITISH)
    ]
    return t["percentage"].iloc[0] if len(t) else X


def rate_note(table: pd.DataFrame, measure: str, year: int, population_source: str) -> str:
    """Why some groups have no rate: no population group matches them, or no population at all."""
    if measure not in RATE_MEASURES:
        return ""
    t = table[
        (table["measure"] == measure) & (table["time_period"] == year) & (table["geographic_level"] == "National")
    ]
    missing = (
        t.loc[t["rate_per_10000"] == X, "ethnicity_minor"]
        .where(lambda s: s != TOTAL, t["ethnicity_major"])
        .unique()
        .tolist()
    )
    if len(missing) == len(t):
        return "Rates [x]: no population by ethnic group is available for these inputs."
    if not missing:
        return f"Rates per 10,000 children use the {population_source} population."
    return (
        f"Rates per 10,000 children use the {population_source} population; [x] where no population group "
        f"matches: {', '.join(missing)} (the ethnicity is unknown, or the population has no group that matches "
        "it one to one)."
    )
