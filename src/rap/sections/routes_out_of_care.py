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
from rap.measures.leaving_care import reason_phrases
from rap.sections.common import (
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
        parts = [f"more often for {join_words(higher)} children"] if higher else []
        parts += [f"less often for {join_words(lower)} children"] if lower else []
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


def summary_lines(table: pd.DataFrame, year: int, timing: str = "") -> list[str]:
    """Key findings for the front page, in plain English: who is adopted against who is looked after (with
    ``timing``, how long adoption takes, after it), and the routes out of care that differ significantly from
    White British children's."""
    adoption = " ".join(s for s in (adoption_finding(table, year), timing) if s)
    return [line for line in (adoption, routes_finding(table, year)) if line]


def adoption_finding(table: pd.DataFrame, year: int) -> str:
    """Each major group's share of children adopted beside its share of children looked after (published
    numbers; a share, so no test is claimed)."""
    if not (has(table, "adopted") and has(table, "cla_on_31_march")):
        return ""
    a, c = shares(table, "adopted", year), shares(table, "cla_on_31_march", year)
    groups = [g for g in a.index if np.isfinite(a[g]) and np.isfinite(c[g])]
    if not groups:
        return f"Too few children were adopted in the year to 31 March {year} to give each group's share."
    first, rest = groups[0], groups[1:]
    text = (
        f"{capital(children_from([first]))} made up {percent(a[first], 0)} of children adopted in the year to 31 "
        f"March {year}, against {percent(c[first], 0)} of children looked after on 31 March"
    )
    text += "".join(f"; {short_name(g)} {percent(a[g], 0)} against {percent(c[g], 0)}" for g in rest)
    return text + (" (@tbl-routes)." if has(table, REASONS) else ".")


def routes_finding(table: pd.DataFrame, year: int) -> str:
    """The routes out of care that groups took significantly more or less often than White British children, as
    a share of each group's children who left care; groups that differ in the same ways named together."""
    if not has(table, REASONS) or not carries_intervals(england_groups(table, REASONS, year)):
        return ""
    phrases = reason_phrases()
    actions: dict[tuple[str, ...], list[str]] = {}
    for part in catalogue()[REASONS]["breakdowns"]:
        sides = significant_sides(table, REASONS, part, year)
        for side, word in ((1, "more"), (-1, "less")):
            groups = tuple(g for g, s in sides.items() if s == side)
            if groups:
                actions.setdefault(groups, []).append(f"{phrases[part]} {word} often")
    if not actions:
        return (
            f"No ethnic group left care in the year to 31 March {year} by any route significantly more or less "
            "often than White British children (@tbl-routes)."
        )
    clauses = [f"{children_from(list(g))} {join_words(did)}" for g, did in actions.items()]
    return (
        f"Of children who left care in the year to 31 March {year}, compared with White British children, "
        f"{'; '.join(clauses)} (@tbl-routes)."
    )
