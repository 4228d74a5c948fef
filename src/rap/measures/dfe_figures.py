"""DfE's national figures by ethnicity exactly as published, for the tables of the release no chapter holds.

The breakdowns chapter carries DfE's one-way tables (children looked after, starting, ceasing, adopted, missing)
with rates and intervals beside them. The rest of what DfE publishes by ethnicity (placements of every cohort,
long-term stability, UASC, children looked after during the year, care leavers' activity at every age) is
republished here table by table, so a user of the published route finds every national ethnicity figure of the
release in an EES table. ``rap/data/dfe_figures.yaml`` says which release table goes where and how its filters
are named; cells are DfE's (numbers without thousands separators, symbols kept), never recomputed.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd
import yaml

from rap.measures.published import with_group_labels

GROUP_COLUMNS = ["ethnicity_major", "ethnicity_minor"]


@cache
def figure_map() -> dict:
    """``rap/data/dfe_figures.yaml``: {"tables": {release table: spec}, "indicators": {column: metadata}}."""
    with resources.files("rap.data").joinpath("dfe_figures.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def national_ethnicity_cells(df: pd.DataFrame) -> pd.DataFrame:
    """The release table's national cells by ethnic group (every year it holds), with CLA group labels."""
    return with_group_labels(df.loc[(df["geographic_level"] == "National") & df["ethnicity_level"].notna()])


def cell_text(cells: pd.DataFrame) -> pd.Series:
    """Each cell as written in an EES table: DfE's symbol, or its number without thousands separators."""
    raw = cells["raw"].astype(str).str.strip().str.replace(",", "", regex=False)
    return raw.where(cells["symbol"].isna(), cells["symbol"].astype(object))


def keyed_cells(df: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The release table's national ethnicity cells as (time_period, output filters, groups, column, cell,
    line): the coordinates each figure has in its output table."""
    cells = national_ethnicity_cells(df)
    out = pd.DataFrame({"time_period": cells["time_period"].astype(int)}, index=cells.index)
    for src, f in (spec.get("filters") or {}).items():
        names = (spec.get("labels") or {}).get(src, {})
        out[f["column"]] = cells[src].astype(str).str.strip().map(lambda v, n=names: n.get(v, v))
    for col, value in (spec.get("where") or {}).items():
        out[col] = value
    out[GROUP_COLUMNS] = cells[GROUP_COLUMNS]
    out["column"] = cells["indicator"].map(spec["indicators"])
    out["cell"] = cell_text(cells)
    out["line"] = cells["line"].astype(int)
    out["source_file"] = cells["source_file"]
    return out.loc[out["column"].notna()]


def republished(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{output table: DfE's figures, one row per year x filters x group, one column per indicator} for every
    release table marked ``republish``; rows in DfE's order."""
    out = {}
    for table, spec in figure_map()["tables"].items():
        if not spec["republish"] or table not in tables:
            continue
        cells = keyed_cells(tables[table], spec)
        if cells.empty:
            continue
        keys = ["time_period", *[f["column"] for f in (spec.get("filters") or {}).values()], *GROUP_COLUMNS]
        wide = cells.sort_values(["time_period", "line"], kind="stable").pivot_table(
            index=keys, columns="column", values="cell", aggfunc="first", sort=False
        )
        wide = wide.reindex(columns=list(dict.fromkeys(spec["indicators"].values()))).fillna("x")
        out[spec["output"]] = wide.reset_index()
    return out
