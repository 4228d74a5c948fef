"""What every attack reads (the published evidence) and what it hands back (the knowledge it gained)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rap.audit.cells import Cells
from rap.audit.relations import Relations
from rap.audit.system import System
from rap.audit.tables import PublishedTable


@dataclass
class Evidence:
    """The published tables, parsed into cells, with the rules an outsider knows."""

    tables: dict[str, PublishedTable]
    rel: Relations
    cells: Cells
    threshold: int
    rounding_base: int
    memo: dict = field(default_factory=dict)  # results worked out once from the published bounds


@dataclass
class Disclosed:
    """A small count that follows directly from published cells without being a cell itself (a complement)."""

    table: str
    row: int
    columns: tuple[str, str]
    value: int = field(repr=False)  # never printed: reports say which cells, not what they give


@dataclass
class Knowledge:
    """What one attack learnt: tighter bounds on cells, linear rows for the solver, and cells it looked at."""

    lo: np.ndarray
    hi: np.ndarray
    examined: np.ndarray
    system: System = field(default_factory=System)
    disclosed: list[Disclosed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    solve: bool = False  # whether the linear rows still need the solver

    @classmethod
    def start(cls, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
        """Nothing learnt yet: the bounds given, nothing examined."""
        return cls(lo.astype(float).copy(), hi.astype(float).copy(), np.zeros(len(lo), dtype=bool))
