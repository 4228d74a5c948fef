"""Writers for published tables: EES open-data CSV with its ``.meta.csv``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rap.domain.disclosure import SYMBOLS
from rap.domain.ethnicity import ees_harmonised

GEOGRAPHY = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name"]
META_COLUMNS = [
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
    "filter_default",
]


ENGLAND = ("E92000001", "England")


def with_ees_columns(df: pd.DataFrame, *, year: str, level: str = "National") -> pd.DataFrame:
    """``df`` with EES's mandatory columns for England: ``time_period`` from the column ``year`` (moved),
    ``time_identifier`` (reporting year), ``geographic_level`` (a column of that name if ``df`` has one, else
    ``level``), country code and name. Region and LA columns are kept, blanks for rows they do not apply to."""
    out = df.copy()
    period = out.pop(year).astype(int)
    geo = out.pop("geographic_level") if "geographic_level" in out.columns else level
    for c in ("region_code", "region_name"):
        if c in out.columns:
            out[c] = out[c].fillna("")
    head = pd.DataFrame(
        {
            "time_period": period,
            "time_identifier": "Reporting year",
            "geographic_level": geo,
            "country_code": ENGLAND[0],
            "country_name": ENGLAND[1],
        },
        index=out.index,
    )
    return pd.concat([head, out], axis=1)


def write_ees(
    df: pd.DataFrame,
    path: Path,
    *,
    filters: dict[str, str],
    indicators: dict[str, tuple[str, str, int]],
) -> tuple[Path, Path]:
    """Write ``df`` as an EES tidy CSV and its metadata.

    ``filters`` maps column -> label; ``indicators`` maps column -> (label, unit, decimal places).
    Columns are written in EES order (geography, filters, indicators); a missing mandatory column or an
    indicator cell left blank is an error, because EES rejects both.
    """
    missing = [c for c in GEOGRAPHY + list(filters) + list(indicators) if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}")
    geo = GEOGRAPHY + [
        c for c in ("region_code", "region_name", "old_la_code", "new_la_code", "la_name") if c in df.columns
    ]
    out = ees_harmonised(df[geo + list(filters) + list(indicators)])
    blank = out[list(indicators)].isna() | out[list(indicators)].astype("string").eq("")
    if blank.to_numpy().any():
        col = blank.any().idxmax()
        raise ValueError(f"{path.name}: blank indicator cell in column {col}; use an EES symbol (c, x, z, ...)")
    _no_text_in_indicators(out, list(indicators), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, lineterminator="\n")
    meta = [
        {
            "col_name": c,
            "col_type": "Filter",
            "label": label,
            "indicator_grouping": "",
            "indicator_unit": "",
            "indicator_dp": "",
            "filter_hint": "",
            "filter_grouping_column": "",
            "filter_default": _default_item(out[c]),
        }
        for c, label in filters.items()
    ] + [
        {
            "col_name": c,
            "col_type": "Indicator",
            "label": label,
            "indicator_grouping": "",
            "indicator_unit": unit,
            "indicator_dp": dp,
            "filter_hint": "",
            "filter_grouping_column": "",
            "filter_default": "",
        }
        for c, (label, unit, dp) in indicators.items()
    ]
    meta_path = path.with_name(path.stem + ".meta.csv")
    pd.DataFrame(meta, columns=META_COLUMNS).to_csv(meta_path, index=False, lineterminator="\n")
    return path, meta_path


def _no_text_in_indicators(out: pd.DataFrame, indicators: list[str], path: Path) -> None:
    """EES's API takes only numbers and its symbols in an indicator: a word (a verdict, a rating, a code) is a
    filter, or is left to the report when the numbers beside it give it."""
    allowed = set(SYMBOLS)
    for c in indicators:
        col = out[c]
        if pd.api.types.is_numeric_dtype(col):
            continue
        text = col.astype(str)
        bad = pd.to_numeric(text, errors="coerce").isna() & ~text.isin(allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path.name}: indicator {c} holds text ({text.iloc[row]!r} on data row {row + 1}); EES indicators "
                "hold numbers or its symbols: make it a filter, or leave it to the report"
            )


def _default_item(values: pd.Series) -> str:
    """The item EES selects first for a filter: its Total where it has one, else its first item as written (EES
    warns on a filter with neither, and such a file is not suitable for its API)."""
    items = values.astype(str)
    return "Total" if (items == "Total").any() else (items.iloc[0] if len(items) else "")
