"""Every published count cell as an unknown with the bounds its publication gives.

A shown count is exact; a rounded one lies in its rounding interval (``10`` rounded half up to 10: 5 to 14);
``low`` is 1 to 4; ``c`` is any whole number from 0. These bounds are what an attacker starts from; the attacks
narrow them. Cells are numbered across all tables so equations can span tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rap.audit.relations import CountRule, Relations, matches
from rap.audit.tables import LEVEL, PublishedTable
from rap.domain.disclosure import largest_hidden

EXACT, ROUNDED, LOW, SUPPRESSED = 0, 1, 2, 3
KIND_NAMES = {EXACT: "exact", ROUNDED: "rounded", LOW: "low", SUPPRESSED: "suppressed"}


@dataclass
class Cells:
    """The unknowns: one per published count cell (a symbol like ``x`` or ``z`` is not a cell)."""

    tables: list[str]
    table: np.ndarray  # index into ``tables``
    row: np.ndarray
    column: np.ndarray  # column name (object)
    kind: np.ndarray  # EXACT / ROUNDED / LOW / SUPPRESSED
    lo: np.ndarray  # bounds the publication gives
    hi: np.ndarray
    integer: np.ndarray
    sensitive: np.ndarray
    additive: np.ndarray
    text: np.ndarray  # the published text
    ids: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (table, column) -> id per row, -1 none

    def __len__(self) -> int:
        return len(self.kind)

    def of(self, table: str, column: str) -> np.ndarray | None:
        """Cell ids of a column, one per row (-1 where the row has no cell), or None if not a count column."""
        return self.ids.get((table, column))

    @property
    def targets(self) -> np.ndarray:
        """Cells whose value publication hides (rounded, low, suppressed) and that say something about a child."""
        return self.sensitive & (self.kind != EXACT)


def build_cells(tables: dict[str, PublishedTable], rel: Relations, rounding_base: int, threshold: int = 5) -> Cells:
    """Parse every count column of every table into cells with their published bounds."""
    parts: list[dict[str, np.ndarray]] = []
    ids: dict[tuple[str, str], np.ndarray] = {}
    names = list(tables)
    start = 0
    for ti, (name, t) in enumerate(tables.items()):
        for col in t.indicators:
            rules = [r for r in rel.counts if r.column == col]
            if not rules:
                continue
            p = _parse_column(t, col, rules, rel, rounding_base, threshold)
            n = int(p["has"].sum())
            col_ids = np.full(len(t.frame), -1, dtype=np.int64)
            col_ids[p["has"]] = np.arange(start, start + n)
            ids[(name, col)] = col_ids
            rows = np.flatnonzero(p["has"])
            parts.append(
                {
                    "table": np.full(n, ti),
                    "row": rows,
                    "column": np.full(n, col, dtype=object),
                    **{k: p[k][rows] for k in _FIELDS[3:]},
                }
            )
            start += n
    cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.array([], dtype=_EMPTY[k]) for k in _FIELDS}
    return Cells(tables=names, **cat, ids=ids)


_FIELDS = ("table", "row", "column", "kind", "lo", "hi", "integer", "sensitive", "additive", "text")
#: The dtype of each field when a folder has no count cell at all.
_EMPTY = {"table": np.int64, "row": np.int64, "column": object, "kind": np.int8, "lo": float, "hi": float,
          "integer": bool, "sensitive": bool, "additive": bool, "text": object}  # fmt: skip


def _parse_column(
    t: PublishedTable, col: str, rules: list[CountRule], rel: Relations, base: int, threshold: int
) -> dict[str, np.ndarray]:
    """Bounds of one column's cells; each row takes the first rule whose ``where`` it matches. A ``c`` at a level
    where it is primary suppression only is 0 to the largest count hidden (zeros are ``c`` there too)."""
    text = t.frame[col].astype(str).str.strip().to_numpy(dtype=object)
    n = len(text)
    out = {
        "has": np.zeros(n, dtype=bool),
        "kind": np.zeros(n, dtype=np.int8),
        "lo": np.zeros(n),
        "hi": np.zeros(n),
        "integer": np.ones(n, dtype=bool),
        "sensitive": np.ones(n, dtype=bool),
        "additive": np.ones(n, dtype=bool),
        "text": text,
    }
    value = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(float)
    todo = np.ones(n, dtype=bool)
    rounded_level = t.frame[LEVEL].isin(list(rel.rounded_levels)).to_numpy()
    primary = t.frame[LEVEL].isin(list(rel.primary_only_levels)).to_numpy()
    for rule in rules:
        rows = todo & (matches(t.frame, rule.where) if rule.where else True)
        todo &= ~rows
        b = rule.base or base
        rounded = rows & {"levels": rounded_level, "always": True, "none": False}[rule.rounding]
        _bounds(out, rows, rounded, value, text, rel, b, rule)
        small = rows & primary & (out["kind"] == SUPPRESSED) & (rule.rounding == "levels")
        out["lo"][small], out["hi"][small] = 0, largest_hidden(threshold, b)
    return out


def _bounds(
    out: dict[str, np.ndarray],
    rows: np.ndarray,
    rounded: np.ndarray,
    value: np.ndarray,
    text: np.ndarray,
    rel: Relations,
    base: int,
    rule: CountRule,
) -> None:
    """Fill bounds for ``rows`` (one rule): exact, rounded (half up to ``base``), low or suppressed."""
    half = base / 2
    num = rows & np.isfinite(value)
    low = rows & np.isin(text, rel.low)
    sup = rows & np.isin(text, rel.suppressed)
    # a published 0 at a rounded level is exactly 0 when `low` marks the non-zero counts that round to 0
    zero_exact = rule.rounding == "levels"
    rnd = num & rounded & ~((value == 0) & zero_exact)
    exact = num & ~rnd
    top = half - 1 if rule.integer else half
    out["lo"][exact], out["hi"][exact] = value[exact], value[exact]
    out["lo"][rnd] = np.maximum(value[rnd] - half, 0)
    out["hi"][rnd] = value[rnd] + top
    out["lo"][low], out["hi"][low] = 1, half - 1
    out["lo"][sup], out["hi"][sup] = 0, np.inf
    out["kind"][rnd], out["kind"][low], out["kind"][sup] = ROUNDED, LOW, SUPPRESSED
    out["has"] |= exact | rnd | low | sup
    out["integer"][rows] = rule.integer
    out["sensitive"][rows] = rule.sensitive
    out["additive"][rows] = rule.additive
