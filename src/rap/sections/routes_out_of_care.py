"""Routes out of care by ethnic group: the chapter of notebook ``04_routes_out_of_care``.

The strategy is about children looked after "and their routes out of care". The figures are the breakdowns
chapter's publication table (``ceased_by_reason``, ``adopted``, ``cla_on_31_march``, and the counts of children
waiting with a placement order and of children returning to care within 12 months), whose CSVs that chapter
writes; this module only says what they show. The adoption averages (age at adoption, time between the stages,
time waited with a placement order) are :mod:`rap.sections.adoption_timeliness`'s. Every sentence is built from the published figures and, for a
difference between groups, from the ratio to White British and its 95% interval (judged on unrounded limits,
:func:`rap.sections.common.significant_differences`): no claim is made that the numbers do not support, and
none where a route has no intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.domain import ethnicity as eth
from rap.domain.disclosure import percent
from rap.measures import catalogue
from rap.measures.common import TOTAL
from rap.sections.common import carries_intervals, england_groups, has, significant_differences

REASONS = "ceased_by_reason"
ALL = "All children"
WHITE_BRITISH = "White British"


def _majors() -> list[str]:
    """Major groups in publication order, without the group of unknown ethnicity."""
    return [eth.major_label(m) for m in eth.major_order() if m != "unknown"]


def mix_table(table: pd.DataFrame, year: int, measure: str = REASONS, first: str = "Reason care ended") -> pd.DataFrame:
    """England: for each breakdown of ``measure`` (reasons care ended, ages on starting, ...), the percentage of
    each major group's children in it, and White British children's (the groups are compared with them), as
    published (``c`` where suppressed); empty where the inputs lack it."""
    t = england_groups(table, measure, year)
    if t.empty:
        return pd.DataFrame()
    wb = table[
        (table["measure"] == measure)
        & (table["time_period"] == year)
        & (table["geographic_level"] == "National")
        & (table["ethnicity_minor"] == WHITE_BRITISH)
    ]
    t = pd.concat([t, wb.assign(ethnicity_major=WHITE_BRITISH)])
    wide = t.pivot_table(index="breakdown", columns="ethnicity_major", values="percentage", aggfunc="first")
    cols = [c for c in [TOTAL, WHITE_BRITISH, *_majors()] if c in wide.columns]
    out = wide.reindex(index=catalogue()[measure]["breakdowns"], columns=cols).rename(columns={TOTAL: ALL})
    return out.reset_index().rename(columns={"breakdown": first})


def difference_sentences(table: pd.DataFrame, year: int, measure: str = REASONS) -> list[str]:
    """For each breakdown of ``measure``, the groups in it significantly more or less often than White British
    children (as a share of each group's children); an intro line first when any is named."""
    what = _WHAT[measure]
    if not has(table, measure):
        return [f"These inputs do not give {what[0]} by ethnic group."]
    out = []
    for part in catalogue()[measure]["breakdowns"]:
        diffs = significant_differences(table, measure, part, year)
        higher = [d.split(" (")[0] for d in diffs if d.endswith(": higher")]
        lower = [d.split(" (")[0] for d in diffs if d.endswith(": lower")]
        parts = [f"more often for {_join(higher)} children"] if higher else []
        parts += [f"less often for {_join(lower)} children"] if lower else []
        if parts:
            out.append(f"{part}: {' and '.join(parts)} than for White British children.")
    if out:
        return [f"Compared with White British children, as a share of each group's {what[1]}:", *out]
    if not carries_intervals(england_groups(table, measure, year)):
        return [f"These figures carry no intervals, so differences in {what[0]} between groups are not tested."]
    return [f"No major group differs significantly from White British children in {what[0]}."]


#: What each measure of the chapter is about: (in a sentence, whose share).
_WHAT = {
    REASONS: ("how children left care", "children who stopped being looked after in the year"),
    "started_by_age": ("age on starting to be looked after", "children who started to be looked after"),
    "started_by_need": ("the need that brought children into care", "children who started to be looked after"),
    "legal_status": ("legal status on 31 March", "children looked after on 31 March"),
    "placement_order_not_placed": (
        "whether children with a placement order were still waiting to be placed for adoption",
        "children looked after on 31 March under a placement order",
    ),
    "reentered_within_12_months": (
        "returning to care within 12 months of leaving it",
        "children who started to be looked after",
    ),
}


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def shares(table: pd.DataFrame, measure: str, year: int) -> pd.Series:
    """Each major group's share of England's children counted by ``measure`` (from the published numbers; NaN
    where a number is suppressed)."""
    t = england_groups(table, measure, year).set_index("ethnicity_major")["number"]
    num = pd.to_numeric(t.where(t.map(lambda v: isinstance(v, int | float | np.integer))), errors="coerce")
    total = num.get(TOTAL, np.nan)
    return (num.reindex(_majors()) / total).astype(float)


def adoption_sentence(table: pd.DataFrame, year: int) -> str:
    """Who is adopted against who is looked after: each group's share of adoptions beside its share of children
    looked after on 31 March (from the published numbers)."""
    if not (has(table, "adopted") and has(table, "cla_on_31_march")):
        return "These inputs do not give children adopted by ethnic group."
    a, c = shares(table, "adopted", year), shares(table, "cla_on_31_march", year)
    ok = a.notna() & c.notna()
    if not ok.any():
        return "Too few children were adopted to give each group's share."
    groups = [g for g in a.index if ok[g]]
    return (
        f"Of children adopted in the year to 31 March {year}, "
        + ", ".join(f"{percent(a[g], 0)} were {g}" for g in groups)
        + "; of children looked after on 31 March, "
        + ", ".join(f"{percent(c[g], 0)}" for g in groups)
        + " respectively."
    )


def summary_lines(table: pd.DataFrame, year: int) -> list[str]:
    """Key findings for the front page: the adoption shares, and up to two routes that differ significantly."""
    share = adoption_sentence(table, year)
    lines = [f"Routes out of care: {share[0].lower() + share[1:]}"]
    reasons = difference_sentences(table, year)
    for r in reasons[1:3] if len(reasons) > 1 else []:
        part, _, rest = r.partition(": ")
        lines.append(
            f"Routes out of care, {part[0].lower() + part[1:]}: {rest.removesuffix('.')}, as a share of each "
            "group's children who stopped being looked after."
        )
    return lines
