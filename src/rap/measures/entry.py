"""Who comes into care, and on what legal footing they are looked after (DfE's one-way tables, by ethnicity).

* ``started_by_age``: children who started to be looked after in the year (as ``started``: the first episode
  with RNE = S and DECOM in the year) by their age in completed years on that day, in DfE's bands;
* ``started_by_need``: the same children by the category of need (CIN) of that episode;
* ``legal_status``: children looked after on 31 March by the legal status (LS) of their episode open that day
  (the latest one if a return has two), grouped as DfE does.

Groups and labels are data (``rap/data/entry_groups.yaml``). Each denominator is the group's children of the
whole (starters, or children looked after on 31 March), so a percentage is the group's own mix; a child whose
date of birth, CIN or LS is missing counts in the denominator and in no band.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from rap.measures.common import (
    KEY,
    SHORT_BREAK_LS,
    Spec,
    child_ethnicity,
    finish,
    in_year,
    merge_on_child,
    open_on_31_march,
)


@cache
def entry_groups() -> dict:
    with resources.files("rap.data").joinpath("entry_groups.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _episodes(data, years: list[int]) -> pd.DataFrame:
    ep = data.ssda903["Episodes"]
    return ep.loc[ep["YEAR"].isin(years) & ~ep["LS"].isin(SHORT_BREAK_LS), [*KEY, "DECOM", "DEC", "RNE", "LS", "CIN"]]


def _first_starts(data, years: list[int]) -> pd.DataFrame:
    """Each starter's first episode starting a period of care in the year."""
    ep = _episodes(data, years)
    sel = ep["RNE"].eq("S").to_numpy(dtype=bool) & in_year(ep["DECOM"], ep["YEAR"])
    s = ep.loc[sel].sort_values([*KEY, "DECOM"], kind="stable")
    return s.drop_duplicates(KEY, keep="first")


def _spread(frame: pd.DataFrame, labels: np.ndarray, groups: list[str]) -> pd.DataFrame:
    """One unit per child and group: number 1 in the child's own group, denominator 1 in every group."""
    return pd.concat(
        [frame[KEY].assign(breakdown=g, number=(labels == g).astype("int64"), denominator=1) for g in groups],
        ignore_index=True,
    )


def _completed_years(dob: pd.Series, on: pd.Series) -> np.ndarray:
    d, o = pd.to_datetime(dob), pd.to_datetime(on)
    before = (o.dt.month < d.dt.month) | ((o.dt.month == d.dt.month) & (o.dt.day < d.dt.day))
    return (o.dt.year - d.dt.year - before.astype(int)).to_numpy(dtype="float64")


def started_by_age(data, years: list[int]) -> pd.DataFrame:
    """Starters by age on starting (DfE's bands)."""
    s = _first_starts(data, years)
    s = merge_on_child(s, child_ethnicity(data)[[*KEY, "DOB"]], KEY, "left")
    bands = entry_groups()["age_on_starting"]
    names, lows = list(bands), np.array(list(bands.values()), dtype=float)
    age = _completed_years(s["DOB"], s["DECOM"])
    pos = np.searchsorted(lows, age, side="right") - 1
    label = np.where(np.isfinite(age) & (age >= 0), np.array(names, dtype=object)[np.clip(pos, 0, None)], "")
    return finish(_spread(s, label, names), Spec("started_by_age", names, denominator=tuple(names)), data, years)


def started_by_need(data, years: list[int]) -> pd.DataFrame:
    """Starters by category of need of the episode that started their care."""
    s = _first_starts(data, years)
    groups = entry_groups()["category_of_need"]
    label = s["CIN"].map({code: name for name, code in groups.items()}).fillna("").to_numpy(dtype=object)
    names = list(groups)
    return finish(_spread(s, label, names), Spec("started_by_need", names, denominator=tuple(names)), data, years)


def legal_status(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March by the legal status of their open episode (the latest)."""
    ep = _episodes(data, years)
    o = ep.loc[open_on_31_march(ep)].sort_values([*KEY, "DECOM"], kind="stable").drop_duplicates(KEY, keep="last")
    groups = entry_groups()["legal_status"]
    label = o["LS"].map({c: name for name, codes in groups.items() for c in codes}).fillna("").to_numpy(dtype=object)
    names = list(groups)
    return finish(_spread(o, label, names), Spec("legal_status", names, denominator=tuple(names)), data, years)
