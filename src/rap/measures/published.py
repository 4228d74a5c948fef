"""The measures in the tidy shape from DfE's published EES release (published mode), national level.

``from_published(tables, year)`` takes the dict of ``rap.inputs.readers.ees.read_ees_release`` and returns, for
collection ``year``, the national rows DfE publishes *by ethnicity* of:

* ``cla_on_31_march``, ``started``, ``ceased`` and ``adopted`` (``breakdown`` Total): the one-way tables
  ``cla_on_31_march``, ``cla_started``, ``cla_ceased`` (``cla_group = Ethnicity``) and ``cla_adopted``
  (``cla_group = Ethnic origin``); ``denominator`` = published total of children (the base of DfE's column
  percentages);
* ``missing``: ``Children who went missing`` from the ``missing`` table ("Children missing from placement by
  ethnic origin") and ``Away without authorisation`` from ``away_without_authorisation``; ``denominator`` =
  children looked after during the year of the same group from ``cla_during_year_and_12_months`` when the
  release has it (DfE publishes no percentage here, so ``percentage_published`` is NA);
* ``placement_stability`` (``breakdown`` "3 or more placements"): ``placement_count`` with
  ``cla_group = CLA on 31 March``, placement_stability "With 3 or more placements during the year";
  ``denominator`` = the group's "Total children" row;
* ``care_leavers_activity``: ``care_leavers_activity_by_placement_ethnicity`` with ``cla_group = Ethnicity``,
  ``breakdown`` "<17 years | 18 years | 19 to 21 years>: <DfE activity label>" (as ``rap.measures.care_leavers``);
  ``denominator`` = the group's "Total care leavers" of that age.

Values are kept exactly as published: numbers are DfE's (national counts rounded to the nearest 10), never
recomputed or re-suppressed. A published symbol (c, k, low, x, z, u) goes to ``symbol`` with ``number`` NA —
never 0; DfE's percentage goes to ``percentage_published`` (its symbol, e.g. ``k`` = under 0.5%, to
``percentage_symbol``). The matrix is completed like the record-level measures: a group DfE does not publish
(e.g. Not recorded, Invalid code, the minor row of Other ethnic group) gets ``symbol = "x"`` (not available).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.domain.ethnicity import codes, major_groups
from rap.measures.care_leavers import TOTAL_CARE_LEAVERS, activity_breakdowns
from rap.measures.common import TIDY_COLUMNS, TOTAL, group_order
from rap.measures.missing import AWAY, WENT_MISSING
from rap.measures.stability import THREE_PLUS

PUBLISHED_COLUMNS = TIDY_COLUMNS + ["symbol", "percentage_published", "percentage_symbol"]
_AGE = {
    "17 years": "17 years",
    "18 years": "18 years",
    "19to21 years": "19 to 21 years",
    "19 to 21 years": "19 to 21 years",
}


def with_group_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Add ethnicity_major / ethnicity_minor (CLA labels) from the reader's ethnicity_level / ethnicity."""
    c = codes()
    lab = major_groups()["label_cla"]
    lvl = df["ethnicity_level"].astype(object)
    val = df["ethnicity"].astype(object)
    major = np.where(lvl == "total", TOTAL, np.where(lvl == "major", val.map(lab), val.map(c["major"]).map(lab)))
    minor = np.where(lvl == "minor", val.map(c["label"]), TOTAL)
    return df.assign(ethnicity_major=major, ethnicity_minor=minor)


def _pick(tables: dict, table: str, year: int, **filters) -> pd.DataFrame:
    df = tables.get(table)
    if df is None or not len(df):
        return pd.DataFrame()
    sel = (df["time_period"] == int(year)) & (df["geographic_level"] == "National") & df["ethnicity_level"].notna()
    for col, v in filters.items():
        sel &= df[col].astype(str).str.strip().isin([v] if isinstance(v, str) else list(v))
    return with_group_labels(df.loc[sel])


def _wide(long: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    """One row per (groups + extra) with value/symbol of number and percentage."""
    keys = ["ethnicity_major", "ethnicity_minor", *extra]
    num = long.loc[long["indicator"] == "number", keys + ["value", "symbol"]]
    num = num.drop_duplicates(keys).rename(columns={"value": "number", "symbol": "symbol"})
    pct = long.loc[long["indicator"] == "percentage", keys + ["value", "symbol"]]
    pct = pct.drop_duplicates(keys).rename(columns={"value": "percentage_published", "symbol": "percentage_symbol"})
    return (
        num.merge(pct, on=keys, how="left")
        if len(pct)
        else num.assign(percentage_published=np.nan, percentage_symbol=None)
    )


def _complete(measure: str, year: int, breakdowns: list[str], rows: pd.DataFrame) -> pd.DataFrame:
    """Every group x breakdown, national; unpublished cells get symbol x."""
    order = group_order()
    grid = pd.DataFrame(
        [(g[0], g[1], b) for b in breakdowns for g in order],
        columns=["ethnicity_major", "ethnicity_minor", "breakdown"],
    )
    keys = ["ethnicity_major", "ethnicity_minor", "breakdown"]
    cols = ["number", "denominator", "symbol", "percentage_published", "percentage_symbol"]
    if len(rows):
        out = grid.merge(rows[keys + [c for c in cols if c in rows.columns]], on=keys, how="left")
    else:
        out = grid
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan if c in ("number", "denominator", "percentage_published") else None
    absent = out["number"].isna() & out["symbol"].isna()
    out["symbol"] = out["symbol"].astype(object).where(~absent, "x")
    out["percentage_symbol"] = (
        out["percentage_symbol"]
        .astype(object)
        .where(~(absent & out["percentage_published"].isna() & out["percentage_symbol"].isna()), "x")
    )
    out.insert(0, "measure", measure)
    out.insert(1, "time_period", int(year))
    out.insert(2, "geographic_level", "National")
    for c in ("region_code", "region_name", "old_la_code", "new_la_code", "la_name"):
        out[c] = ""
    out["number"] = pd.array(np.rint(pd.to_numeric(out["number"])).astype("Int64"), dtype="Int64")
    out["denominator"] = pd.array(np.rint(pd.to_numeric(out["denominator"])).astype("Int64"), dtype="Int64")
    out["points_total"] = pd.array([pd.NA] * len(out), dtype="Float64")
    out["pupils"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["percentage_published"] = pd.array(pd.to_numeric(out["percentage_published"]), dtype="Float64")
    for c in ("symbol", "percentage_symbol"):
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype("str")
    return out[PUBLISHED_COLUMNS]


def _denominator_from_total(w: pd.DataFrame, total_key: str, col: str) -> pd.DataFrame:
    """Per group, the number on the row where ``col == total_key`` becomes ``denominator``."""
    keys = ["ethnicity_major", "ethnicity_minor"]
    tot = w.loc[w[col] == total_key, keys + ["number"]].rename(columns={"number": "denominator"})
    return w.merge(tot, on=keys, how="left")


def from_published(tables: dict[str, pd.DataFrame], year: int) -> pd.DataFrame:
    """National measures by ethnicity as DfE published them for ``year`` (see the module docstring)."""
    out = [
        part
        for part in (
            *(_one_way(tables, year, m) for m in _ONE_WAY),
            _missing(tables, year),
            _placement_stability(tables, year),
            _care_leavers_activity(tables, year),
        )
        if part is not None
    ]
    if not out:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PUBLISHED_COLUMNS})
    return pd.concat(out, ignore_index=True)


#: One-way national tables by ethnicity: measure -> (canonical table, the cla_group of its ethnicity rows).
_ONE_WAY = {
    "cla_on_31_march": ("cla_on_31_march", "Ethnicity"),
    "started": ("cla_started", "Ethnicity"),
    "ceased": ("cla_ceased", "Ethnicity"),
    "adopted": ("cla_adopted", "Ethnic origin"),
}


def _one_way(tables: dict, year: int, measure: str) -> pd.DataFrame | None:
    """A count of children by ethnicity from its one-way table (children looked after on 31 March, who started,
    ceased, were adopted), denominator the published total of children: the base of DfE's column percentages."""
    table, group = _ONE_WAY[measure]
    df = _pick(tables, table, year, cla_group=group)
    if not len(df):
        return None
    w = _wide(df, [])
    tot = w.loc[(w["ethnicity_major"] == TOTAL), "number"]
    w["denominator"] = tot.iloc[0] if len(tot) else np.nan
    return _complete(measure, year, [TOTAL], w.assign(breakdown=TOTAL))


def _missing(tables: dict, year: int) -> pd.DataFrame | None:
    """Missing and away, denominator the group's children looked after during the year when published."""
    during = _pick(
        tables,
        "cla_during_year_and_12_months",
        year,
        cla_group="All children looked after during the year ending 31 March",
        population_group="Ethnicity",
    )
    den = (
        _wide(during, []).rename(columns={"number": "denominator"})[
            ["ethnicity_major", "ethnicity_minor", "denominator"]
        ]
        if len(during)
        else None
    )
    parts = []
    for table, status, brk in (
        ("missing", "Children missing from placement by ethnic origin", WENT_MISSING),
        ("away_without_authorisation", "Children away from placement without authorisation by ethnic origin", AWAY),
    ):
        m = _pick(tables, table, year, missing_status=status)
        if len(m):
            w = _wide(m, []).assign(breakdown=brk)
            if den is not None:
                w = w.merge(den, on=["ethnicity_major", "ethnicity_minor"], how="left")
            parts.append(w)
    if not parts:
        return None
    return _complete("missing", year, [WENT_MISSING, AWAY], pd.concat(parts, ignore_index=True))


def _placement_stability(tables: dict, year: int) -> pd.DataFrame | None:
    """3 or more placements among children looked after on 31 March, denominator the group's total."""
    pl = _pick(tables, "placement_count", year, cla_group="CLA on 31 March", population_group="Ethnicity")
    if not len(pl):
        return None
    w = _denominator_from_total(_wide(pl, ["placement_stability"]), "Total children", "placement_stability")
    w = w.loc[w["placement_stability"] == "With 3 or more placements during the year"].assign(breakdown=THREE_PLUS)
    return _complete("placement_stability", year, [THREE_PLUS], w)


def _care_leavers_activity(tables: dict, year: int) -> pd.DataFrame | None:
    """Care leavers' activity by age, denominator the group's total care leavers of that age."""
    cl = _pick(
        tables, "care_leavers_activity_by_placement_ethnicity", year, cla_group="Ethnicity", age_group=list(_AGE)
    )
    if not len(cl):
        return None
    cl = cl.assign(age_group=cl["age_group"].map(_AGE))
    w = _wide(cl, ["age_group", "activity_type"])
    keys = ["ethnicity_major", "ethnicity_minor", "age_group"]
    tot = w.loc[w["activity_type"] == TOTAL_CARE_LEAVERS, keys + ["number"]].rename(columns={"number": "denominator"})
    w = w.merge(tot, on=keys, how="left")
    w["breakdown"] = w["age_group"] + ": " + w["activity_type"]
    brk = activity_breakdowns()
    return _complete("care_leavers_activity", year, brk, w.loc[w["breakdown"].isin(brk)])
