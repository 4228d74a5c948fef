"""What this run's inputs hold: rows and local authorities (LAs) per collection and year.

The collections are those of the catalogue (``rap/data/collections.yaml``); each names what can be scanned
for it in record-level inputs (``input``) and which published tables are built from it (``ees_tables``).
The data availability chapter shows the scan; the data quality chapter judges user needs from it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from rap.domain.geography import local_authorities

if TYPE_CHECKING:
    from rap.inputs.load import RecordData

SCAN_COLUMNS = ["year", "rows", "las"]


@cache
def collections() -> tuple[dict, ...]:
    """The collections catalogue as read, one dict per collection, in the order the YAML lists them."""
    with resources.files("rap.data").joinpath("collections.yaml").open("r", encoding="utf-8") as fh:
        return tuple(yaml.safe_load(fh)["collections"])


def _counts(df: pd.DataFrame | None, year: str, la: str) -> pd.DataFrame:
    """Rows and distinct LAs of ``df`` per value of its ``year`` column (empty when there is no frame)."""
    if df is None or df.empty:
        return pd.DataFrame(columns=SCAN_COLUMNS)
    g = df.groupby(year)
    return pd.DataFrame({"rows": g.size(), "las": g[la].nunique()}).rename_axis("year").reset_index()


def _school_counts(df: pd.DataFrame | None, prefix: str) -> pd.DataFrame:
    """Pupils with any value in the school columns starting with ``prefix``, per year."""
    if df is None or df.empty:
        return _counts(None, "YEAR", "LA")
    cols = [c for c in df.columns if c.startswith(prefix)]
    filled = df[cols].notna() & df[cols].astype("string").ne("")
    return _counts(df.loc[filled.any(axis=1)], "YEAR", "LA")


def _record_counts(data: RecordData, source: str) -> pd.DataFrame:
    kind, _, what = source.partition(":")
    if kind == "ssda903":
        return _counts(data.ssda903.tables.get(what), "YEAR", "LA")
    if kind == "school":
        return _school_counts(data.school.tables.get("School"), what)
    if kind == "population":
        return _counts(data.population, "time_period", "old_la_code")
    return _counts(None, "YEAR", "LA")


def scan_record(data: RecordData, years: list[int]) -> pd.DataFrame:
    """Rows and LAs covered per collection and year in this run's record-level inputs (long form)."""
    frames = []
    for row in collections():
        s = _record_counts(data, row["input"])
        s = s.set_index("year").reindex(years).fillna(0).astype(int).rename_axis("year").reset_index()
        s.insert(0, "collection", row["id"])
        frames.append(s)
    out = pd.concat(frames, ignore_index=True)
    out["share_las"] = out["las"] / len(local_authorities())
    return out


def scan_published(tables: dict[str, pd.DataFrame], years: list[int]) -> pd.DataFrame:
    """For published (EES) inputs: rows per collection and year, and LAs where a table has LA rows."""
    frames = []
    for row in collections():
        counts = pd.DataFrame({"year": years, "rows": 0, "las": 0}).set_index("year")
        for name in row["ees_tables"]:
            df = tables.get(name)
            if df is None or df.empty or "time_period" not in df.columns:
                continue
            t = pd.to_numeric(df["time_period"], errors="coerce")
            for y in years:
                sel = df[t == y]
                counts.at[y, "rows"] += len(sel)
                if "new_la_code" in sel.columns:
                    las = sel["new_la_code"].astype("string").str.strip().replace("", pd.NA).dropna().nunique()
                    counts.at[y, "las"] = max(counts.at[y, "las"], las)
        c = counts.reset_index()
        c.insert(0, "collection", row["id"])
        frames.append(c)
    out = pd.concat(frames, ignore_index=True)
    out["share_las"] = out["las"] / len(local_authorities())
    return out
