"""A folder of published EES tables as the attacker sees it: each CSV as text, with its ``.meta.csv``.

Nothing else is read: the attack must work from what is published. Cells stay text (``"10"``, ``"c"``,
``"low"``) because the symbols are part of what an attacker learns from. A few virtual columns, all starting
with ``_`` (plus ``kind``), give each row its period, its area and the area it sums to, so the attacks can
match rows across levels and tables without knowing any table's layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rap.audit.labels import labels
from rap.audit.relations import Relations, matches
from rap.core.errors import InputError

PERIOD, GEO, PARENT, LEVEL = "_period", "_geo", "_parent", "_level"


@dataclass
class PublishedTable:
    """One published table: its rows (text), which columns are filters and indicators, and their decimals."""

    name: str
    path: Path
    frame: pd.DataFrame
    filters: tuple[str, ...]
    indicators: tuple[str, ...]
    dp: dict[str, int]

    def keys(self, exclude: tuple[str, ...] = ()) -> list[str]:
        """The columns that identify a row: period, area and every filter not in ``exclude``."""
        return [PERIOD, GEO] + [f for f in self.filters if f not in exclude]

    def decimals(self, column: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Decimal places each published number was rounded to. The text says it: ``7`` was rounded to 0 places
        even where the metadata says 1 (the dashboard's percentages), since a number rounded to 1 place is written
        ``7.0``; ``2.5`` in a 2-place column was 2.50 written as a float."""
        text = self.frame[column].astype(str).str.strip()
        if rows is not None:
            text = text.iloc[rows]
        after = text.str.partition(".")
        places = after[2].str.len().to_numpy(dtype=float)
        has_point = after[1].eq(".").to_numpy()
        return np.where(has_point, np.maximum(places, self.dp.get(column, 0)), 0).astype(int)

    def line(self, row: int) -> int:
        """The CSV line of a row (the header is line 1)."""
        return int(row) + 2


def read_folder(folder: str | Path, rel: Relations) -> tuple[dict[str, PublishedTable], list[str]]:
    """Every ``*.csv`` with a ``.meta.csv`` beside it; tables that cannot be attacked are listed with the reason."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "not a folder of published tables")
    tables: dict[str, PublishedTable] = {}
    skipped: list[str] = []
    for path in sorted(root.glob("*.csv")):
        if path.name.endswith(".meta.csv"):
            continue
        meta = path.with_name(path.stem + ".meta.csv")
        if not meta.exists():
            skipped.append(f"{path.name}: no {meta.name} beside it, so its filters and indicators are unknown")
            continue
        try:
            tables[path.stem] = _read(path, meta, rel)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, KeyError, ValueError) as exc:
            skipped.append(f"{path.name}: cannot be read ({exc})")
    return tables, skipped


def _read(path: Path, meta_path: Path, rel: Relations) -> PublishedTable:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    meta = pd.read_csv(meta_path, dtype=str, keep_default_na=False)
    kind = meta["col_type"].str.strip().str.lower()
    filters = tuple(c for c in meta.loc[kind.eq("filter"), "col_name"] if c in df.columns)
    indicators = tuple(c for c in meta.loc[kind.eq("indicator"), "col_name"] if c in df.columns)
    dps = pd.to_numeric(meta.set_index("col_name")["indicator_dp"], errors="coerce")
    dp = {c: int(v) for c, v in dps.items() if c in indicators and np.isfinite(v)}
    frame = _with_virtual(df, rel)
    return PublishedTable(path.stem, path, frame, _splitting(frame, filters), indicators, dp)


def _splitting(frame: pd.DataFrame, filters: tuple[str, ...]) -> tuple[str, ...]:
    """The filters that split a count, without those that only describe a row (an LA's place in a funnel, a
    verdict, a neighbour's name): a filter is descriptive when the rows stay unique on period, area and the
    other filters without it, it has more than one item and no ``Total``. A descriptive filter is not a key:
    matching a table with another must not ask for it to be at Total."""
    keep = list(filters)
    for f in reversed(filters):
        col = frame[f].astype(str)
        if col.eq("Total").any() or col.nunique() < 2:
            continue
        rest = [PERIOD, GEO, *(k for k in keep if k != f)]
        if not pd.Series(labels(frame, rest)).duplicated().any():
            keep.remove(f)
    return tuple(keep)


def _with_virtual(df: pd.DataFrame, rel: Relations) -> pd.DataFrame:
    """``df`` with ``_period``, ``_level``, ``_geo`` (level:code), ``_parent`` (the area it sums to) and ``kind``."""
    out = df.copy()
    per = [c for c in rel.period if c in out.columns]
    out[PERIOD] = labels(out, per) if per else ""
    level = out[rel.level_column] if rel.level_column in out.columns else pd.Series("", index=out.index)
    out[LEVEL] = level
    geo = pd.Series("", index=out.index, dtype=object)
    parent = pd.Series("", index=out.index, dtype=object)
    for name, spec in rel.levels.items():
        at = level.eq(name).to_numpy()
        if not at.any():
            continue
        code = spec.get("code", "")
        geo[at] = name + ":" + (out.loc[at, code] if code in out.columns else "")
        pcode = spec.get("parent_code", "")
        if spec.get("parent") and pcode in out.columns:
            parent[at] = spec["parent"] + ":" + out.loc[at, pcode]
    out[GEO] = geo.where(level.isin(list(rel.levels)), level)
    out[PARENT] = parent
    if rel.kind_column in out.columns and "kind" not in out.columns:
        out["kind"] = ""
        todo = np.ones(len(out), dtype=bool)
        for pattern, kind in rel.kind_rules:
            hit = todo & matches(out, {rel.kind_column: (pattern,)})
            out.loc[hit, "kind"] = kind
            todo &= ~hit
    return out
