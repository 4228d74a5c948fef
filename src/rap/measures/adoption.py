"""Adoption timeliness, children waiting with a placement order, and re-entry to care (DfE definitions where
DfE has one; the stages and their events are data, ``rap/data/adoption_stages.yaml``).

Count measures (the tidy shape, registered in :data:`rap.measures.FUNCTIONS`):

* ``placement_order_not_placed``: children looked after on 31 March whose open episode (the latest) has legal
  status E1 (placement order granted), who are not placed for adoption (PLACE not A3-A6) and whose return holds a
  decision that they should be placed for adoption (PlacedAdoption DATE_PLACED on or before 31 March, not
  ceased by then); denominator the children looked after on 31 March under a placement order;
* ``reentered_within_12_months``: children who started to be looked after in the year (first start, as
  ``started``) who had ceased to be looked after in the same LA in the 12 months before that start (an episode
  with REC other than X1 ending in that window, in this year's or last year's return); denominator the
  starters. A year whose previous return is not in the inputs gives no rows: a re-entry cannot be seen.

Averages (their own shape, :data:`AVERAGE_COLUMNS`; not in ``FUNCTIONS``): ``adoption_timeliness`` (per
adopted child, the days between the events of each stage) and ``placement_order_waiting`` (days since the
placement order of each child counted by ``placement_order_not_placed``). Each group's ``children``, mean,
standard deviation and 95% t-interval are made from sums over the children, so areas and groups add up as the
counts do. Unrounded and unsuppressed: disclosure control is applied by the sections.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd
import yaml

from rap.domain import stats
from rap.domain.ssda903 import code_group
from rap.measures.common import (
    KEY,
    KEY_COLUMNS,
    Spec,
    child_ethnicity,
    empty_tidy,
    episodes,
    finish,
    in_year,
    merge_on_child,
    open_on_31_march,
    year_end,
)
from rap.measures.leaving_care import ADOPTED, _last_ceasing, reason_groups

ADOPTION_PLACES = code_group("adoption_placements")
PLACEMENT_ORDER = code_group("placement_order_legal_status")
NOT_PLACED = "Placement order, not placed for adoption"
REENTERED = "Ceased to be looked after in the previous 12 months"
#: The columns of an average measure's output.
AVERAGE_COLUMNS = [*KEY_COLUMNS, "children", "mean", "sd", "lower_95", "upper_95"]


@cache
def stage_config() -> dict:
    """``rap/data/adoption_stages.yaml``: the stages (label, from, to), the waiting label, the re-entry window."""
    with resources.files("rap.data").joinpath("adoption_stages.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def stage_labels() -> list[str]:
    return [s["label"] for s in stage_config()["stages"]]


# ------------------------------------------------------------------------------------ shared pieces


def _history(data, years: list[int]) -> pd.DataFrame:
    """Every episode of the inputs up to the last of ``years`` (any return), once each: a period of care that
    began before this year's return is in earlier returns. The latest return's copy of an episode wins."""
    ep = episodes(data, list(range(min(data.ssda903["Episodes"]["YEAR"].min(), min(years)), max(years) + 1)))
    ep = ep.sort_values("YEAR", kind="stable").drop_duplicates(["LA", "CHILD", "DECOM"], keep="last")
    return ep.drop(columns="YEAR")


def _entry(hist: pd.DataFrame, on: pd.DataFrame, when: str) -> pd.Series:
    """For each row of ``on`` (KEY + ``when``), the start of the period of care open then: the latest RNE = S
    episode with DECOM on or before ``when`` (NaT when it is not in the inputs)."""
    starts = hist.loc[hist["RNE"].eq("S"), ["LA", "CHILD", "DECOM"]]
    m = merge_on_child(on[[*KEY, when]].reset_index(), starts, ["LA", "CHILD"], "left")
    m = m.loc[m["DECOM"] <= m[when]]
    return m.groupby("index")["DECOM"].max().reindex(on.index)


def _first_in_period(hist: pd.DataFrame, on: pd.DataFrame, mask: pd.Series, name: str) -> pd.Series:
    """For each row of ``on`` (KEY + entry + until), the first DECOM of an episode selected by ``mask`` in
    the period from ``entry`` to ``until`` (from the earliest episode in the inputs when ``entry`` is not known)."""
    ep = hist.loc[mask.to_numpy(dtype=bool), ["LA", "CHILD", "DECOM"]]
    m = merge_on_child(on[[*KEY, "entry", "until"]].reset_index(), ep, ["LA", "CHILD"], "left")
    m = m.loc[(m["entry"].isna() | (m["DECOM"] >= m["entry"])) & (m["DECOM"] <= m["until"])]
    return m.groupby("index")["DECOM"].min().reindex(on.index).rename(name)


def _table_dates(data, table: str, cols: list[str]) -> pd.DataFrame:
    t = data.ssda903.tables.get(table)
    if t is None:
        return pd.DataFrame(columns=[*KEY, *cols])
    return t.sort_values(cols, kind="stable")[[*KEY, *cols]].drop_duplicates(KEY, keep="last")


def _spread(days: pd.DataFrame, measure: str, breakdowns: list[str], data, years: list[int]) -> pd.DataFrame:
    """Units with ``days`` per child and breakdown -> each area's and group's children, mean, sd and 95%
    t-interval, summing count, days and squared days with the count measures' own aggregation."""
    spec = Spec(measure, breakdowns, denominator=tuple(breakdowns))
    d = days["days"].astype("float64")
    sums = finish(days.assign(number=1, denominator=d), spec, data, years)
    squares = finish(days.assign(number=0, denominator=d * d), spec, data, years)
    n = sums["number"].astype("float64").to_numpy()
    ci, sd = stats.mean_ci(n, sums["denominator"].astype("float64"), squares["denominator"].astype("float64"))
    out = sums[KEY_COLUMNS].copy()
    out["children"] = sums["number"].astype("int64")
    out["mean"], out["sd"], out["lower_95"], out["upper_95"] = ci.estimate, sd, ci.lower, ci.upper
    return out[AVERAGE_COLUMNS]


# ---------------------------------------------------------------------------------- adoption stages


def adoption_events(data, years: list[int]) -> pd.DataFrame:
    """One row per child adopted in the year (KEY) with the date of each event of ``adoption_stages.yaml``."""
    last = _last_ceasing(data, years)
    ep = episodes(data, years)
    ad = last.loc[last["REC"].isin(reason_groups()[ADOPTED]), KEY].merge(
        ep.loc[ep["REC"].isin(reason_groups()[ADOPTED])].sort_values("DEC").drop_duplicates(KEY, keep="last"),
        on=KEY,
        how="left",
    )
    ad = ad.loc[in_year(ad["DEC"], ad["YEAR"]), KEY + ["DEC"]].rename(columns={"DEC": "adopted"})
    ad = ad.reset_index(drop=True)
    hist = _history(data, years)
    ad["entry"] = _entry(hist, ad, "adopted")
    ad["until"] = ad["adopted"]
    ad["order"] = _first_in_period(hist, ad, hist["LS"].isin(PLACEMENT_ORDER), "order")
    ad["placed"] = _first_in_period(hist, ad, hist["PLACE"].isin(ADOPTION_PLACES), "placed")
    ad1 = _table_dates(data, "AD1", ["DATE_INT", "DATE_MATCH"])
    pa = _table_dates(data, "PlacedAdoption", ["DATE_PLACED"])
    ad = ad.merge(ad1, on=KEY, how="left").merge(pa, on=KEY, how="left")
    ad["decision"] = ad["DATE_INT"].fillna(ad["DATE_PLACED"])
    ad["match"] = ad["DATE_MATCH"]
    ad = merge_on_child(ad, child_ethnicity(data)[[*KEY, "DOB"]], list(KEY), "left").rename(columns={"DOB": "dob"})
    return ad[[*KEY, "dob", "entry", "decision", "order", "match", "placed", "adopted"]]


def stage_days(events: pd.DataFrame) -> pd.DataFrame:
    """Units (KEY, breakdown = stage, days) of each child and stage whose two dates are known and in order (a
    stage whose end is before its start is left out: one of its dates is wrong)."""
    frames = []
    for s in stage_config()["stages"]:
        days = (pd.to_datetime(events[s["to"]]) - pd.to_datetime(events[s["from"]])).dt.days
        ok = days.notna() & (days >= 0)
        frames.append(events.loc[ok, KEY].assign(breakdown=s["label"], days=days[ok].astype("int64")))
    return pd.concat(frames, ignore_index=True)


def adoption_timeliness(data, years: list[int]) -> pd.DataFrame:
    """Children adopted in the year: average days of each adoption stage, and age at adoption (see module)."""
    return _spread(stage_days(adoption_events(data, years)), "adoption_timeliness", stage_labels(), data, years)


# ---------------------------------------------------------------------- placement order, not placed


def _on_placement_order(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March whose open episode (the latest) is under a placement order: KEY,
    PLACE, ``waiting`` (not placed for adoption, a decision not ceased) and ``order`` (its first day)."""
    ep = episodes(data, years)
    o = ep.loc[open_on_31_march(ep)].sort_values([*KEY, "DECOM"], kind="stable").drop_duplicates(KEY, keep="last")
    o = o.loc[o["LS"].isin(PLACEMENT_ORDER), [*KEY, "PLACE"]].reset_index(drop=True)
    o["until"] = pd.to_datetime(o["YEAR"].map(year_end))
    hist = _history(data, years)
    o["entry"] = _entry(hist, o, "until")
    o["order"] = _first_in_period(hist, o, hist["LS"].isin(PLACEMENT_ORDER), "order")
    pa = data.ssda903.tables.get("PlacedAdoption")
    pa = pa if pa is not None else pd.DataFrame(columns=[*KEY, "DATE_PLACED", "DATE_PLACED_CEASED"])
    pa = pa.merge(o[[*KEY, "until"]], on=KEY)
    live = (pa["DATE_PLACED"] <= pa["until"]) & ~(pa["DATE_PLACED_CEASED"] <= pa["until"])
    decided = o.set_index(KEY).index.isin(pa.loc[live].set_index(KEY).index)
    o["waiting"] = decided & ~o["PLACE"].isin(ADOPTION_PLACES).to_numpy()
    return o


def placement_order_not_placed(data, years: list[int]) -> pd.DataFrame:
    """Children under a placement order on 31 March not yet placed for adoption, of all under one."""
    o = _on_placement_order(data, years)
    units = o[KEY].assign(breakdown=NOT_PLACED, number=o["waiting"].astype("int64"), denominator=1)
    return finish(units, Spec("placement_order_not_placed", [NOT_PLACED], denominator=(NOT_PLACED,)), data, years)


def placement_order_waiting(data, years: list[int]) -> pd.DataFrame:
    """The children of ``placement_order_not_placed``: average days from the placement order to 31 March."""
    o = _on_placement_order(data, years)
    o = o.loc[o["waiting"] & o["order"].notna()]
    label = stage_config()["waiting"]
    days = o[KEY].assign(breakdown=label, days=(o["until"] - o["order"]).dt.days.astype("int64"))
    return _spread(days, "placement_order_waiting", [label], data, years)


# ----------------------------------------------------------------------------------------- re-entry


def reentered_within_12_months(data, years: list[int]) -> pd.DataFrame:
    """Starters who had ceased to be looked after by the same LA in the 12 months before starting."""
    have = set(data.ssda903["Episodes"]["YEAR"].unique())
    yrs = [y for y in years if y - 1 in have]
    if not yrs:
        return empty_tidy()
    ep = episodes(data, yrs)
    sel = ep["RNE"].eq("S").to_numpy(dtype=bool) & in_year(ep["DECOM"], ep["YEAR"])
    s = ep.loc[sel].sort_values([*KEY, "DECOM"], kind="stable").drop_duplicates(KEY, keep="first")
    s = s[[*KEY, "DECOM"]].reset_index(drop=True)
    prev = episodes(data, sorted(set(yrs) | {y - 1 for y in yrs}))
    rec = prev["REC"].fillna("").str.strip()
    ended = prev.loc[rec.ne("") & rec.ne("X1") & prev["DEC"].notna(), ["LA", "CHILD", "DECOM", "DEC"]]
    ended = ended.drop_duplicates().rename(columns={"DECOM": "began"})
    m = merge_on_child(s.reset_index(), ended, ["LA", "CHILD"], "left")
    window = m["DECOM"] - pd.DateOffset(months=int(stage_config()["reentry_months"]))
    before = (m["began"] < m["DECOM"]) & (m["DEC"] <= m["DECOM"])
    hit = m.loc[before & (m["DEC"] >= window), "index"].unique()
    units = s[KEY].assign(breakdown=REENTERED, number=s.index.isin(hit).astype("int64"), denominator=1)
    return finish(units, Spec("reentered_within_12_months", [REENTERED], denominator=(REENTERED,)), data, yrs)


def average_measures(data, years: list[int]) -> pd.DataFrame:
    """Both average measures, stacked (the shape of :data:`AVERAGE_COLUMNS`)."""
    return pd.concat([adoption_timeliness(data, years), placement_order_waiting(data, years)], ignore_index=True)


__all__ = [
    "AVERAGE_COLUMNS",
    "adoption_events",
    "adoption_timeliness",
    "average_measures",
    "placement_order_not_placed",
    "placement_order_waiting",
    "reentered_within_12_months",
    "stage_days",
    "stage_labels",
]
