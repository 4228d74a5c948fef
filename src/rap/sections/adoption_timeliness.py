"""Adoption timeliness and children waiting with a placement order, made safe to publish, and what they show.

From the unrounded averages of :func:`rap.measures.adoption.average_measures` (children, mean, standard
deviation, 95% t-interval of a number of days per area, ethnic group and stage) this builds, for national and
regional rows, the one table every published figure about them comes from (:func:`average_table`):

* ``number``: the children an average rests on, rounded half up to ``suppression.rounding_base``, ``c`` for 0
  to ``suppression.threshold`` (and anything that rounds to 0), as every count of the report;
* ``average_days``, ``average_years_months`` (DfE's ``yy:mm``), ``sd_days`` and the interval limits: ``c``
  wherever the number is ``c``, so no average of a few children (and no average of one child: their own value)
  is published; an average is never a median, minimum or maximum;
* complementary suppression: where exactly one group under a parent (a minor group in its major, a major
  group in the total, a region in England) is suppressed with children in it, the smallest other published
  group with children is suppressed too, so the parent's average and its other groups' cannot be differenced
  to give it (with counts published rounded, such a difference is rough anyway).

This is the one place disclosure control is applied to these averages; the chapter's tables and sentences,
and ``tables/adoption_timeliness_by_ethnicity.csv`` and ``tables/placement_order_waiting_by_ethnicity.csv``,
are all made from :func:`average_table`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.params import Params
from rap.domain import ethnicity as eth
from rap.domain.disclosure import C, hidden_small, national_counts, published_numbers
from rap.domain.ees import with_ees_columns, write_ees
from rap.inputs.front import Inputs
from rap.measures import average_catalogue, catalogue
from rap.measures.adoption import average_measures, stage_labels

TOTAL = "Total"
WHITE_BRITISH = "White British"
_LEVELS = ["National", "Regional"]
_KEEP = ["measure", "time_period", "geographic_level", "region_code", "region_name", "ethnicity_major"]
_KEEP += ["ethnicity_minor", "breakdown"]
#: Published columns (EES indicators): label, unit, decimal places.
INDICATORS = {
    "number": ("Number of children", "", 0),
    "average_days": ("Average (days)", "", 0),
    "average_years_months": ("Average (years:months)", "", 0),
    "sd_days": ("Standard deviation (days)", "", 0),
    "average_lower_95": ("Average: lower 95% limit (days)", "", 0),
    "average_upper_95": ("Average: upper 95% limit (days)", "", 0),
}
#: The EES file's indicators: not the years:months text (EES indicators hold numbers; the days give it).
EES_INDICATORS = {k: v for k, v in INDICATORS.items() if k != "average_years_months"}
FILTERS = {"stage": "Stage", "ethnicity_major": "Ethnic group (major)", "ethnicity_minor": "Ethnic group (minor)"}


def years_months(days: float) -> str:
    """Days as DfE's years:months (``03:03`` for 3 years 3 months), months of 365.25 / 12 days, rounded."""
    months = int(np.floor(days / (365.25 / 12) + 0.5))
    return f"{months // 12:02d}:{months % 12:02d}"


def _parents(out: pd.DataFrame) -> list[tuple[np.ndarray, list[str]]]:
    """Groups of rows that add up to a published parent: (rows, columns naming the parent) for the minors of
    each major, the majors of the total, and the regions of England, within each measure, year and stage."""
    keys = ["measure", "time_period", "breakdown"]
    minor = out["ethnicity_minor"].ne(TOTAL).to_numpy()
    major = (~minor) & out["ethnicity_major"].ne(TOTAL).to_numpy()
    region = out["geographic_level"].eq("Regional").to_numpy()
    area = [*keys, "geographic_level", "region_name"]
    return [
        (minor, [*area, "ethnicity_major"]),
        (major, area),
        (region, [*keys, "ethnicity_major", "ethnicity_minor"]),
    ]


def _complementary(out: pd.DataFrame, hide: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``hide`` with complementary suppression (module docstring): where one group of a parent is hidden with
    children in it, the smallest other shown group with children is hidden too; repeated until nothing changes
    (a second suppression can leave another parent with one)."""
    hide = hide.copy()
    parents = [
        (rows, out.index[rows].groupby(out.loc[rows, cols].apply(tuple, axis=1))) for rows, cols in _parents(out)
    ]
    changed = True
    while changed:
        changed = False
        for _, groups in parents:
            for idx in groups.values():
                pos = out.index.get_indexer(idx)
                lone = hide[pos] & (n[pos] > 0)
                shown = ~hide[pos] & (n[pos] > 0)
                if lone.sum() == 1 and shown.any():
                    hide[pos[shown][np.argmin(n[pos][shown])]] = True
                    changed = True
    return hide


def average_table(averages: pd.DataFrame, params: Params) -> pd.DataFrame:
    """National and regional rows of the average measures, with disclosure control (module docstring)."""
    s = params.suppression
    out = averages[averages["geographic_level"].isin(_LEVELS)].reset_index(drop=True)
    n = out["children"].to_numpy(dtype="float64")
    hide = _complementary(out, hidden_small(n, s.threshold, s.rounding_base), n)
    pub = out[_KEEP].copy()
    pub["number"] = national_counts(out["children"], s.rounding_base, threshold=s.threshold)
    pub["average_days"] = published_numbers(out["mean"], 0)
    pub["average_years_months"] = [years_months(v) if np.isfinite(v) else "x" for v in out["mean"]]
    pub["sd_days"] = published_numbers(out["sd"], 0)
    pub["average_lower_95"] = published_numbers(np.maximum(out["lower_95"], 0), 0)  # days cannot be negative
    pub["average_upper_95"] = published_numbers(out["upper_95"], 0)
    for col in list(INDICATORS)[1:]:
        pub[col] = pub[col].astype(object).where(~hide, C)
    return pub.rename(columns={"breakdown": "stage"})


def chapter_averages(params: Params, data: Inputs) -> pd.DataFrame:
    """The chapter's averages from this run's inputs (empty on DfE's published route: it has no child's dates)."""
    if data.published:
        return pd.DataFrame(columns=[*_KEEP, *INDICATORS]).rename(columns={"breakdown": "stage"})
    return average_table(average_measures(data.record, params.series_years), params)


def write_tables(table: pd.DataFrame, out: Path) -> list[Path]:
    """One EES CSV (with ``.meta.csv``) per average measure: ``tables/<measure>_by_ethnicity.csv``."""
    paths = []
    for measure, t in table.groupby("measure", sort=True):
        if measure not in average_catalogue():
            raise KeyError(f"average measure {measure} is not in rap/data/measures.yaml (averages)")
        t = with_ees_columns(t.drop(columns="measure"), year="time_period")
        t = t.sort_values(["time_period", "geographic_level", "region_name"], kind="stable")
        own = FILTERS if t["stage"].nunique() > 1 else {k: v for k, v in FILTERS.items() if k != "stage"}
        path = out / "tables" / f"{measure}_by_ethnicity.csv"
        write_ees(t, path, filters=own, indicators=EES_INDICATORS)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------- for the chapter


def _england(table: pd.DataFrame, measure: str, year: int) -> pd.DataFrame:
    t = table[
        (table["measure"] == measure) & (table["time_period"] == year) & (table["geographic_level"] == "National")
    ]
    majors = t["ethnicity_minor"].eq(TOTAL)
    return t[majors | t["ethnicity_minor"].eq(WHITE_BRITISH)]


def _groups() -> list[str]:
    return [TOTAL, WHITE_BRITISH, *[eth.major_label(m) for m in eth.major_order() if m != "unknown"]]


def _name(row: pd.Series) -> str:
    return row["ethnicity_minor"] if row["ethnicity_minor"] != TOTAL else row["ethnicity_major"]


def _shown(row: pd.Series, age: bool) -> object:
    """A published average as the chapter shows it: years:months for an age, days otherwise; ``c`` kept."""
    if row["average_days"] == C:
        return C
    return row["average_years_months"] if age else row["average_days"]


def summary_table(table: pd.DataFrame, year: int, measure: str = "adoption_timeliness") -> pd.DataFrame:
    """England: each stage's published average for all children, White British children and each major
    group (years:months for age at adoption, days otherwise), with the number of children for all children."""
    t = _england(table, measure, year)
    if t.empty:
        return pd.DataFrame()
    t = t.assign(group=t.apply(_name, axis=1))
    stages = stage_labels() if measure == "adoption_timeliness" else list(t["stage"].unique())
    rows = []
    for stage in stages:
        s = t[t["stage"] == stage].set_index("group")
        row = {"Stage": stage, "Children (all)": s["number"].get(TOTAL, C)}
        for g in _groups():
            row[g if g != TOTAL else "All children"] = (
                _shown(s.loc[g], stage == "Age at adoption") if g in s.index else C
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(row: pd.Series) -> tuple[float, float] | None:
    lo, hi = row["average_lower_95"], row["average_upper_95"]
    return (float(lo), float(hi)) if isinstance(lo, int | float) and isinstance(hi, int | float) else None


def difference_sentences(table: pd.DataFrame, year: int, measure: str = "adoption_timeliness") -> list[str]:
    """For each stage, the major groups whose 95% interval for the average lies wholly above or below White
    British children's (non-overlapping intervals: a cautious test, so a difference named is a real one)."""
    t = _england(table, measure, year)
    if t.empty:
        return ["These inputs do not give children's adoption dates, so no averages are shown."]
    t = t.assign(group=t.apply(_name, axis=1)).set_index(["stage", "group"])
    out = []
    for stage in t.index.get_level_values(0).unique():
        ref = _interval(t.loc[(stage, WHITE_BRITISH)]) if (stage, WHITE_BRITISH) in t.index else None
        if ref is None:
            continue
        longer, shorter = [], []
        for g in _groups()[2:]:
            iv = _interval(t.loc[(stage, g)]) if (stage, g) in t.index else None
            if iv and iv[0] > ref[1]:
                longer.append(g)
            elif iv and iv[1] < ref[0]:
                shorter.append(g)
        parts = [f"longer for {_join(longer)} children"] if longer else []
        parts += [f"shorter for {_join(shorter)} children"] if shorter else []
        if parts:
            out.append(f"{stage}: {' and '.join(parts)} than for White British children.")
    if out:
        return ["Where the 95% intervals of the averages do not overlap those of White British children:", *out]
    return ["No major group's average differs from White British children's by more than the intervals allow."]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def headline(table: pd.DataFrame, year: int) -> str:
    """England's average age at adoption and time from entry to adoption, as published."""
    t = _england(table, "adoption_timeliness", year)
    t = t[t["ethnicity_major"].eq(TOTAL)].set_index("stage")
    age, entry = "Age at adoption", "Entry into care to adoption"
    if t.empty:
        return ""
    if age not in t.index or t.at[age, "average_days"] == C:
        return "Too few children were adopted to publish their average age at adoption."
    y, m = (int(v) for v in str(t.at[age, "average_years_months"]).split(":"))
    text = (
        f"Children adopted in the year to 31 March {year} were on average {y} years {m} months old when adopted "
        f"({t.at[age, 'number']} children, rounded)"
    )
    if entry in t.index and t.at[entry, "average_days"] != C:
        text += f", and were adopted on average {t.at[entry, 'average_days']} days after entering care"
    return text + "."


def key_sentence(table: pd.DataFrame, year: int) -> str:
    """For the front page: England's average age at adoption and time from entry to adoption, pointing to the
    table of stages (shown whenever there is a headline); empty where the inputs give no averages."""
    head = headline(table, year)
    if not head or summary_table(table, year).empty:
        return head
    return head.removesuffix(".") + " (@tbl-adoption-stages)."


#: The count measures of the chapter's adoption and re-entry sections, defined beside the averages.
COUNT_MEASURES = ("placement_order_not_placed", "reentered_within_12_months")


def definitions() -> pd.DataFrame:
    """Title and definition (``measures.yaml``) of the averages and of the chapter's new count measures."""
    entries = {**average_catalogue(), **{m: catalogue()[m] for m in COUNT_MEASURES}}
    return pd.DataFrame([{"Measure": e["title"], "Definition": e["definition"]} for e in entries.values()])
