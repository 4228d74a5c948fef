"""The EES tables of a build (a ``.csv`` with its ``.meta.csv``): identifiers in their values and unsuppressed
small counts.

Identifiers: each column's distinct values are searched once (a table repeats the same labels in thousands of
rows). Numeric cells of Indicator columns are statistics: a six-digit count would "be" a numeric child id, so
they are not searched for identifiers, only for a date of birth written as eight digits ``yyyymmdd`` (a
count of 19 to 20 million is no count these tables publish; ``ddmmyyyy`` would be, at national scale).

Small counts: in every column that the metadata calls an Indicator and ``data/disclosure_counts.yaml`` lists
as a count of people, a whole number from 1 to ``threshold`` in a row whose ``geographic_level`` is not
National or Regional (a table without that column counts as local); in National and Regional rows, which are
rounded instead, a count from 1 to ``threshold`` that is not a multiple of ``rounding_base``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from rap.build.leaks.match import Finding, Segment, scan_segment
from rap.build.leaks.needles import Needles

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["count_columns", "meta_for", "scan_ees", "unclassified_indicators"]

ROUNDED_LEVELS = frozenset({"National", "Regional"})


@lru_cache(maxsize=1)
def _count_rules() -> tuple[frozenset[str], tuple[str, ...]]:
    with resources.files("rap.data").joinpath("disclosure_counts.yaml").open("r", encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    return frozenset(spec["counts"]), tuple(spec["not_counts"])


def count_columns(indicators: Iterable[str]) -> list[str]:
    """The indicator columns that are counts of people (``data/disclosure_counts.yaml``)."""
    counts, _ = _count_rules()
    return [c for c in indicators if c in counts]


def unclassified_indicators(indicators: Iterable[str]) -> list[str]:
    """Indicator columns that ``data/disclosure_counts.yaml`` neither lists as counts nor as not counts."""
    counts, not_counts = _count_rules()
    return [c for c in indicators if c not in counts and not any(fnmatch.fnmatchcase(c, p) for p in not_counts)]


def meta_for(path: Path) -> Path | None:
    """The ``.meta.csv`` beside an EES table, or None (not a table, or no metadata)."""
    if path.name.endswith(".meta.csv"):
        return None
    meta = path.with_name(path.name[: -len(".csv")] + ".meta.csv")
    return meta if meta.is_file() else None


def _is_number(values: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_numeric(values, errors="coerce").notna()


def _numeric_date(value: str, needles: Needles) -> bool:
    """A numeric cell that is a date of birth written ``yyyymmdd`` (``20100906``, ``20100906.0``)."""
    digits = value[:-2] if value.endswith(".0") else value
    if len(digits) != 8 or not digits.isdigit() or needles.dob_range is None:
        return False
    try:
        d = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return needles.dob_range[0] <= d <= needles.dob_range[1] and d not in needles.period


def _identifier_findings(df: pd.DataFrame, indicators: set[str], rel: str, needles: Needles) -> list[Finding]:
    """Identifiers in the header and in each column's distinct values (numeric indicator cells: dates only)."""
    import pandas as pd

    header = list(df.columns)
    findings = scan_segment(Segment("line 1", ",".join(header), None), needles, rel)
    dates_only = replace(needles, tokens={}, other={}, postcodes=frozenset())
    for col in header:
        s = df[col]
        uniq = pd.Series(pd.unique(s))
        values = [(v, needles) for v in uniq]
        if col in indicators:
            number = _is_number(uniq)
            eight = uniq[number & uniq.str.fullmatch(r"[0-9]{8}(?:\.0)?")]
            values = [(v, needles) for v in uniq[~number]] + [
                (v, dates_only) for v in eight if _numeric_date(v, needles)
            ]
        for v, looked_for in values:
            found = scan_segment(Segment("", v, None), looked_for, rel) if v else []
            if found:  # name the first row holding the value
                row = int((s.to_numpy() == v).argmax())
                findings += [replace(f, location=f"line {row + 2}, column {col}") for f in found]
    return findings


def _small_count_findings(
    df: pd.DataFrame, m: pd.DataFrame, indicators: set[str], rel: str, threshold: int, rounding_base: int
) -> list[Finding]:
    import pandas as pd

    counts = count_columns([c for c in df.columns if c in indicators])
    if not counts:
        return []
    level = df["geographic_level"] if "geographic_level" in df.columns else pd.Series("", index=df.index)
    rounded = level.isin(ROUNDED_LEVELS).to_numpy()
    place_cols = [c for c in ("la_name", "region_name") if c in df.columns]
    filters = [c for c in m.loc[m["col_type"] == "Filter", "col_name"] if c in df.columns]
    cells: list[tuple[int, str, bool]] = []
    for col in counts:
        num = pd.to_numeric(df[col], errors="coerce")
        small = (num >= 1) & (num <= threshold) & (num % 1 == 0)
        local = small.to_numpy() & ~rounded
        unrounded = small.to_numpy() & rounded & (num % rounding_base != 0).to_numpy()
        cells += [(int(i), col, False) for i in local.nonzero()[0]]
        cells += [(int(i), col, True) for i in unrounded.nonzero()[0]]
    findings = []
    for i, col, is_rounded in sorted(cells):
        where = next((df.at[i, c] for c in place_cols if df.at[i, c]), "") or level.iat[i] or "row"
        keys = ", ".join(f"{c} {df.at[i, c]}" for c in ["time_period", *filters] if c in df.columns)
        excerpt = f"{level.iat[i] or 'no geographic_level'} {where} ({keys}): {col} = [1 to {threshold}]"
        detail = (
            f"{level.iat[i]} count not rounded to {rounding_base}"
            if is_rounded
            else f"a local count of 1 to {threshold}, not suppressed"
        )
        findings.append(Finding(rel, "small count", f"line {i + 2}, column {col}", excerpt, detail))
    return findings


def scan_ees(path: Path, meta: Path, rel: str, needles: Needles, threshold: int, rounding_base: int) -> list[Finding]:
    """Identifiers in the table's distinct values, then small counts. Raises ValueError (or pandas' parser
    error) for a file EES could not load either: the caller reads it as text instead."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    m = pd.read_csv(meta, dtype=str, keep_default_na=False)
    if not {"col_name", "col_type"} <= set(m.columns):
        raise ValueError(f"{meta.name} is not EES metadata")
    indicators = set(m.loc[m["col_type"] == "Indicator", "col_name"])
    findings = _identifier_findings(df, indicators, rel, needles) if needles else []
    return findings + _small_count_findings(df, m, indicators, rel, threshold, rounding_base)
