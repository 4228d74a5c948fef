"""Linear knowledge about cells: ``lo <= sum(coef x cell) <= hi``, one row per relation instance.

Totals and parts, hierarchies, the same quantity in two tables and rounded figures made from counts all become
rows here, so one solver can combine them. Rows are added in blocks (arrays), because the national tables give
hundreds of thousands of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse


@dataclass
class System:
    """Constraint rows in coordinate form, each with its bounds and the name of the relation that made it."""

    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    lo: list[np.ndarray] = field(default_factory=list)
    hi: list[np.ndarray] = field(default_factory=list)
    source: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    size: int = 0

    def add(
        self, group: np.ndarray, cells: np.ndarray, coefs: np.ndarray, lo: np.ndarray, hi: np.ndarray, name: str
    ) -> int:
        """Add one row per distinct ``group`` label: entries (cell, coef) with that label; ``lo``/``hi`` per row
        in order of first appearance of the labels (or scalars). Rows touching a missing cell (-1) are dropped.
        Returns the number of rows added."""
        group, cells, coefs = np.asarray(group), np.asarray(cells, dtype=np.int64), np.asarray(coefs, dtype=float)
        if len(cells) == 0:
            return 0
        codes, uniq = pd.factorize(group)
        k = len(uniq)
        lo = np.broadcast_to(np.asarray(lo, dtype=float), (k,)).copy()
        hi = np.broadcast_to(np.asarray(hi, dtype=float), (k,)).copy()
        bad = np.zeros(k, dtype=bool)
        bad[codes[cells < 0]] = True
        keep_row = ~bad
        new_index = np.cumsum(keep_row) - 1
        ent = keep_row[codes]
        n = int(keep_row.sum())
        if n == 0:
            return 0
        if name not in self.names:
            self.names.append(name)
        self.rows.append(self.size + new_index[codes[ent]])
        self.cols.append(cells[ent])
        self.vals.append(coefs[ent])
        self.lo.append(lo[keep_row])
        self.hi.append(hi[keep_row])
        self.source.append(np.full(n, self.names.index(name)))
        self.size += n
        return n

    def extend(self, other: System) -> None:
        """Append every row of ``other``."""
        offset = self.size
        for nm in other.names:
            if nm not in self.names:
                self.names.append(nm)
        remap = np.array([self.names.index(nm) for nm in other.names], dtype=np.int64)
        for r, c, v, lo, hi, s in zip(other.rows, other.cols, other.vals, other.lo, other.hi, other.source):
            self.rows.append(r + offset)
            self.cols.append(c)
            self.vals.append(v)
            self.lo.append(lo)
            self.hi.append(hi)
            self.source.append(remap[s])
        self.size += other.size

    def matrix(self, n_cells: int) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
        """(A, lo, hi, source) with A of shape (rows, n_cells); repeated entries are summed."""
        if self.size == 0:
            return sparse.csr_matrix((0, n_cells)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
        a = sparse.coo_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.size, n_cells),
        ).tocsr()
        a.sum_duplicates()
        return a, np.concatenate(self.lo), np.concatenate(self.hi), np.concatenate(self.source)


def sum_rows(
    totals: np.ndarray, parts: np.ndarray, part_group: np.ndarray, total_group: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries of "parts minus total = 0" rows: ``parts``/``part_group`` and ``totals``/``total_group`` give the
    cell ids and the row each belongs to. Rows with no total or no part are left out."""
    pk = pd.Series(part_group, dtype=object).isin(set(total_group)).to_numpy()
    tk = pd.Series(total_group, dtype=object).isin(set(part_group)).to_numpy()
    group = np.concatenate([part_group[pk], total_group[tk]])
    cells = np.concatenate([parts[pk], totals[tk]])
    coefs = np.concatenate([np.ones(int(pk.sum())), -np.ones(int(tk.sum()))])
    return group, cells, coefs
