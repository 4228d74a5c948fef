"""The EES tables of a finished build, as the annexes and the checks read them: which tables there are, their
metadata, and which columns are keys (geography and filters) and which are indicators.

Everything is read as text (``dtype=str``, blanks kept as ""): the checks and the comparison with last year
look at the published cells, symbols included, not at numbers parsed from them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: EES geography and time columns that, with a table's filters, identify a row.
GEO_KEYS = [
    "time_period",
    "geographic_level",
    "country_code",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
]
META_COLUMNS = ["col_name", "col_type", "label", "indicator_unit"]


def published_tables(folder: Path) -> dict[str, Path]:
    """{table name: csv path} of the EES tables in ``folder`` (``.meta.csv`` files excluded)."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.csv")) if not p.name.endswith(".meta.csv")}


def table_meta(csv: Path) -> pd.DataFrame:
    """The ``.meta.csv`` beside ``csv``, or an empty one (no filters, no indicators) when there is none."""
    meta = csv.with_name(csv.stem + ".meta.csv")
    if meta.is_file():
        return pd.read_csv(meta, dtype=str, keep_default_na=False)
    return pd.DataFrame(columns=META_COLUMNS)


def read_table(csv: Path) -> pd.DataFrame:
    """A published table's cells as text."""
    return pd.read_csv(csv, dtype=str, keep_default_na=False)


def filter_columns(meta: pd.DataFrame, df: pd.DataFrame) -> list[str]:
    """The table's filter columns, in metadata order."""
    return [c for c in meta.loc[meta["col_type"] == "Filter", "col_name"] if c in df.columns]


def keys_and_indicators(csv: Path, df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(columns that identify a row: geography then filters, indicator columns) of the table ``df`` read from
    ``csv``."""
    meta = table_meta(csv)
    indicators = [c for c in meta.loc[meta["col_type"] == "Indicator", "col_name"] if c in df.columns]
    keys = [c for c in GEO_KEYS if c in df.columns] + filter_columns(meta, df)
    return keys, indicators
