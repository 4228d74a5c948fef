"""Placement stability (short and long term) and school stability of children looked after (DfE definitions).

DfE ("Children looked after in England", placement stability; DfE's SSDA903 guidance):

* ``placement_stability``: children looked after on 31 March with 3 or more placements during the year;
  denominator children looked after on 31 March. One row, ``breakdown = "3 or more placements"``.
* ``long_term_stability``: children under 16 on 31 March who had been looked after continuously for at least
  2.5 years, and who had been in the same placement for at least 2 years or were placed for adoption and their
  adoption placement together with their previous placement lasted at least 2 years; denominator the children
  under 16 looked after for 2.5 years or more. ``breakdown = "Total"``.
* ``school_stability``: children looked after on 31 March linked by UPN to the same year's school extract
  (``docs/data-contract.md``) and of compulsory school age (national curriculum year 1 to 11); ``number`` of them
  with at least one school move (SCHOOL_MOVES >= 1) and with a mid-year move (MIDYEAR_MOVES >= 1), two rows
  ``At least one school move`` / ``Mid-year school move``; denominator the linked school-age children.

Simplifications (documented in ``rap/data/measures.yaml`` too):

* placements in the year = episodes overlapping the year that start a placement: the first such episode of the
  child, then every later one whose RNE is not L (L = change of legal status only, same placement). Temporary
  placements (PLACE T0-T4: hospital, holiday, etc.) are not counted, as DfE does not count them as placements;
  a return to the same carer after a temporary placement counts as a new placement (the return cannot tell).
* long-term: the history of a child's care is rebuilt from every loaded return of the same LA (episodes
  de-duplicated on CHILD and DECOM, latest return wins). A period of care starts at an episode with RNE = S or
  after a gap between episodes; when the earliest available episode does not start with S, its DECOM is used,
  which can only *understate* time looked after (children looked after long before the first loaded year whose
  earliest loaded episode is recent fall out of the denominator). Placed for adoption = PLACE A3-A6.
* school stability links on UPN only (UN1-UN5 and blank UPNs do not link); a UPN twice in a school extract uses
  its first row. Children who do not link are outside the denominator (report the link rate separately).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.domain.ssda903 import code_group
from rap.measures.common import (
    KEY,
    SHORT_BREAK_LS,
    Spec,
    age_on,
    child_ethnicity,
    children,
    episodes,
    finish,
    merge_on_child,
    open_on_31_march,
    overlaps_year,
    with_linkable_upn,
    year_end,
)

THREE_PLUS = "3 or more placements"
ANY_MOVE = "At least one school move"
MIDYEAR_MOVE = "Mid-year school move"
#: PLACE codes of temporary placements (T0-T4), which DfE does not count as placements.
TEMPORARY_PLACES = code_group("temporary_placements")
#: PLACE codes of a placement for adoption (A3-A6).
ADOPTION_PLACES = code_group("adoption_placements")
SCHOOL_AGE_NCYEARS = tuple(str(i) for i in range(1, 12))


def placement_counts(data, years: list[int]) -> pd.DataFrame:
    """Placements during the year of each child looked after on 31 March: KEY + ``placements``."""
    ep = episodes(data, years)
    pop = children(ep.loc[open_on_31_march(ep)])
    e = ep.loc[overlaps_year(ep) & ~ep["PLACE"].isin(TEMPORARY_PLACES).to_numpy(dtype=bool)]
    e = e.sort_values(KEY + ["DECOM"], kind="stable")
    first = ~e.duplicated(KEY, keep="first").to_numpy()
    starts = first | e["RNE"].ne("L").to_numpy(dtype=bool)
    n = e.loc[starts].groupby(KEY, sort=False).size().rename("placements").reset_index()
    out = merge_on_child(pop, n, list(KEY), "left")
    out["placements"] = out["placements"].fillna(0).astype("int64")
    return out


def placement_stability(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March with 3 or more placements in the year (DfE); see module docstring."""
    pc = placement_counts(data, years)
    units = pc[KEY].assign(breakdown=THREE_PLUS, number=(pc["placements"] >= 3).astype("int64"), denominator=1)
    return finish(units, Spec("placement_stability", [THREE_PLUS], denominator=(THREE_PLUS,)), data, years)


def care_history(data) -> pd.DataFrame:
    """Every episode in the loaded returns (short breaks excluded), de-duplicated on LA, CHILD, DECOM (the
    latest return wins), with ``period_start`` (start of its period of care), ``placement_start`` (start of
    its placement) and ``prev_placement_start`` (start of the previous placement in the same period, NaT if
    none)."""
    ep = data.ssda903["Episodes"]
    ep = ep.loc[~ep["LS"].isin(SHORT_BREAK_LS), KEY + ["DECOM", "DEC", "RNE", "PLACE"]]
    ep = ep.sort_values(["LA", "CHILD", "DECOM", "YEAR"], kind="stable")
    ep = ep.loc[~ep.duplicated(["LA", "CHILD", "DECOM"], keep="last")].reset_index(drop=True)
    same_child = (ep["LA"].eq(ep["LA"].shift()) & ep["CHILD"].eq(ep["CHILD"].shift())).to_numpy(dtype=bool)
    decom = ep["DECOM"].to_numpy(dtype="datetime64[ns]")
    prev_dec = ep["DEC"].shift().to_numpy(dtype="datetime64[ns]")
    gap = ~np.isnat(prev_dec) & (prev_dec < decom)
    new_period = ~same_child | ep["RNE"].eq("S").to_numpy(dtype=bool) | gap
    new_place = new_period | ep["RNE"].ne("L").to_numpy(dtype=bool)
    period_start = pd.Series(np.where(new_period, decom, np.datetime64("NaT")), dtype="datetime64[ns]").ffill()
    pid = np.cumsum(new_place) - 1
    pstarts = decom[new_place]
    pperiod = period_start.to_numpy()[new_place]
    prev = np.full(len(pstarts), np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(pstarts) > 1:
        same = pperiod[1:] == pperiod[:-1]
        same &= np.asarray(ep["LA"])[new_place][1:] == np.asarray(ep["LA"])[new_place][:-1]
        same &= np.asarray(ep["CHILD"])[new_place][1:] == np.asarray(ep["CHILD"])[new_place][:-1]
        prev[1:] = np.where(same, pstarts[:-1], np.datetime64("NaT"))
    ep["period_start"] = period_start.to_numpy()
    ep["placement_start"] = pstarts[pid]
    ep["prev_placement_start"] = prev[pid]
    return ep[["LA", "CHILD", "DECOM", "period_start", "placement_start", "prev_placement_start"]]


def _per_year(year_col: pd.Series, **offset) -> np.ndarray:
    """31 March of each row's year minus ``offset`` (a pandas DateOffset), computed once per distinct year."""
    y = year_col.to_numpy(dtype="int64")
    uy, inv = np.unique(y, return_inverse=True)
    d = np.array([np.datetime64(year_end(int(v)) - pd.DateOffset(**offset)) for v in uy], dtype="datetime64[ns]")
    return d[inv]


def long_term_stability(data, years: list[int]) -> pd.DataFrame:
    """Long-term placement stability (DfE); see module docstring for the definition and the simplification."""
    ep = episodes(data, years)
    op = ep.loc[open_on_31_march(ep)].sort_values(KEY + ["DECOM"], kind="stable")
    op = op.loc[~op.duplicated(KEY, keep="last"), KEY + ["DECOM", "PLACE"]]  # the latest open episode
    hist = care_history(data)
    op = merge_on_child(op, hist, ["LA", "CHILD", "DECOM"], "left")
    eth = child_ethnicity(data)
    op = merge_on_child(op, eth[KEY + ["_k", "DOB"]], list(KEY), "left")
    two_half = _per_year(op["YEAR"], years=2, months=6)
    two = _per_year(op["YEAR"], years=2)
    age = age_on(op["DOB"], op["YEAR"])
    pstart = op["period_start"].to_numpy(dtype="datetime64[ns]")
    in_pop = (age < 16) & ~np.isnat(pstart) & (pstart <= two_half)
    place = op["placement_start"].to_numpy(dtype="datetime64[ns]")
    prev = op["prev_placement_start"].to_numpy(dtype="datetime64[ns]")
    adopt = op["PLACE"].isin(ADOPTION_PLACES).to_numpy(dtype=bool)
    stable = (~np.isnat(place) & (place <= two)) | (adopt & ~np.isnat(prev) & (prev <= two))
    u = op.loc[in_pop, KEY].assign(breakdown="Total", number=stable[in_pop].astype("int64"), denominator=1)
    return finish(u, Spec("long_term_stability", ["Total"], denominator=("Total",)), data, years, eth=eth)


def school_stability(data, years: list[int]) -> pd.DataFrame:
    """School moves of children looked after on 31 March (DfE); see module docstring."""
    ep = episodes(data, years)
    pop = children(ep.loc[open_on_31_march(ep)])
    eth = child_ethnicity(data)
    pop = with_linkable_upn(merge_on_child(pop, eth[KEY + ["_k", "UPN"]], list(KEY), "left"))
    sch = data.school["School"]
    if len(sch) == 0:
        units = pop.iloc[0:0][KEY]
    else:
        sch = sch.loc[sch["YEAR"].isin(years), ["YEAR", "UPN", "NCYEAR", "SCHOOL_MOVES", "MIDYEAR_MOVES"]]
        sch = sch.loc[~sch.duplicated(["YEAR", "UPN"], keep="first")]
        units = pop.merge(sch, on=["YEAR", "UPN"], how="inner")
        units = units.loc[units["NCYEAR"].astype(str).isin(SCHOOL_AGE_NCYEARS)]
    moves = (
        pd.to_numeric(units.get("SCHOOL_MOVES", pd.Series(dtype="float"))).fillna(0).to_numpy()
        if len(units)
        else np.array([])
    )
    mid = (
        pd.to_numeric(units.get("MIDYEAR_MOVES", pd.Series(dtype="float"))).fillna(0).to_numpy()
        if len(units)
        else np.array([])
    )
    base = units[KEY]
    u = pd.concat(
        [
            base.assign(breakdown=ANY_MOVE, number=(moves >= 1).astype("int64"), denominator=1),
            base.assign(breakdown=MIDYEAR_MOVE, number=(mid >= 1).astype("int64"), denominator=1),
        ],
        ignore_index=True,
    )
    spec = Spec("school_stability", [ANY_MOVE, MIDYEAR_MOVE], denominator=(ANY_MOVE, MIDYEAR_MOVE))
    return finish(u, spec, data, years, eth=eth)
