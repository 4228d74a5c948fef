"""The registry of attacks and the attacker that combines them, run on a folder of published tables.

Each attack is one function ``(evidence, lo, hi) -> Knowledge`` (as in DfE's eesyscreener, one check per
function, all listed in one place). Alone, each says what it gives an attacker who knows only that trick.
Together they are the attacker that passes or fails a release: the row attacks' bounds feed the solver, the
solver's bounds feed the row attacks again, until nothing moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rap.audit import complements, crosstable, equations, inversion, pooled
from rap.audit.cells import KIND_NAMES, SUPPRESSED, build_cells
from rap.audit.knowledge import Evidence, Knowledge
from rap.audit.relations import Relations, load_relations
from rap.audit.report import AttackResult, AuditReport, classify
from rap.audit.solve import LPBudget, solve
from rap.audit.system import System
from rap.audit.tables import read_folder

MAX_ROUNDS = 4  # row attacks and solver in turn, until nothing moves
#: Linear programmes the combined attacker may solve (a count, so a report never depends on the machine's
#: speed); cells left open are "undecided" and the release does not pass.
LP_SOLVES = 5000


@dataclass(frozen=True)
class Attack:
    id: str
    title: str
    run: Callable[[Evidence, np.ndarray, np.ndarray], Knowledge]


ATTACKS: tuple[Attack, ...] = (
    Attack("intervals", "Intervals and derived figures inverted", inversion.intervals),
    Attack("patterns", "Rounding and suppression patterns", inversion.patterns),
    Attack("totals", "Totals and parts, and hierarchies", equations.totals_and_hierarchy),
    Attack("cross_table", "The same quantity in two tables", crosstable.same_quantity),
    Attack("pooled", "Published values and pooled comparators", pooled.pooled_values),
    Attack("complements", "Small complements", complements.small_complements),
)
COMBINED = ("combined", "All attacks together")


def audit_folder(
    path: str | Path,
    threshold: int = 5,
    rounding_base: int = 10,
    *,
    relations: Relations | str | Path | None = None,
    attacks: tuple[Attack, ...] = ATTACKS,
    lp_solves: int = LP_SOLVES,
) -> AuditReport:
    """Attack every table in ``path`` as an outsider with only these tables would; see :mod:`rap.audit`.
    The combined attacker solves at most ``lp_solves`` linear programmes; what they leave open is reported as
    undecided (and the release does not pass), never as safe."""
    start = time.perf_counter()
    rel = relations if isinstance(relations, Relations) else load_relations(relations)
    tables, skipped = read_folder(path, rel)
    cells = build_cells(tables, rel, rounding_base, threshold)
    ev = Evidence(tables, rel, cells, threshold, rounding_base)
    results, knowledge = [], []
    for a in attacks:
        t0 = time.perf_counter()
        k = a.run(ev, cells.lo, cells.hi)
        lo, hi = _solved(ev, k)
        res = classify(ev, a.id, a.title, k, lo, hi)
        res.seconds = time.perf_counter() - t0
        results.append(res)
        knowledge.append(k)
    t0 = time.perf_counter()
    combined = _combined(ev, knowledge, LPBudget(lp_solves))
    combined.seconds = time.perf_counter() - t0
    kinds = {KIND_NAMES[k]: int((cells.kind == k).sum()) for k in KIND_NAMES}
    report = AuditReport(str(path), threshold, rounding_base, results, combined, skipped, kinds)
    report.seconds = time.perf_counter() - start
    return report


def _solved(ev: Evidence, k: Knowledge) -> tuple[np.ndarray, np.ndarray]:
    """The knowledge's bounds, after the solver when it has linear rows."""
    if not k.solve or k.system.size == 0:
        return k.lo, k.hi
    sol = solve(k.system, k.lo, k.hi, ev.cells.integer, ev.cells.targets, use_lp=False)
    _note_solution(k, sol)
    return sol.lo, sol.hi


def _note_solution(k: Knowledge, sol) -> None:
    for name, n in sol.dropped.items():
        k.notes.append(f"{n:,} rows of '{name}' contradict the published figures: not used")
    if sol.inconsistent:
        k.notes.append(f"{sol.inconsistent} groups of cells with contradictory rows left at their published bounds")
    k.stats["lp_solves"] = k.stats.get("lp_solves", 0) + sol.lp_solves


def _combined(ev: Evidence, parts: list[Knowledge], budget: LPBudget) -> AttackResult:
    """Every attack's knowledge at once, row attacks and solver in turn."""
    system = System()
    for k in parts:
        if k.solve:
            system.extend(k.system)
    total = Knowledge.start(ev.cells.lo, ev.cells.hi)
    total.system = system
    for k in parts:
        total.examined |= k.examined
        total.disclosed += k.disclosed
    lo, hi = ev.cells.lo.astype(float), ev.cells.hi.astype(float)
    dirty = None
    undecided = np.zeros(len(lo), dtype=bool)
    for rnd in range(MAX_ROUNDS):
        row = inversion.invert_all(ev, lo, hi)
        if rnd:
            dirty = (row.lo > lo + 1e-9) | (row.hi < hi - 1e-9)
        sol = solve(
            system, row.lo, row.hi, ev.cells.integer, ev.cells.targets, dirty=dirty, budget=budget,
            zero_harmless=ev.cells.kind == SUPPRESSED,
        )  # fmt: skip
        _note_solution(total, sol)
        if sol.undecided is not None:
            undecided |= sol.undecided
        moved = (sol.lo > lo + 1e-9) | (sol.hi < hi - 1e-9)
        lo, hi = np.maximum(lo, sol.lo), np.minimum(hi, sol.hi)
        total.stats["rounds"] = rnd + 1
        if not (moved & ev.cells.targets).any():
            break
    final = complements.small_complements(ev, lo, hi)  # differences of cells now known exactly, pinned ones too
    total.disclosed = list({(d.table, d.row, d.columns): d for d in [*total.disclosed, *final.disclosed]}.values())
    total.notes = list(dict.fromkeys(total.notes))
    undecided &= hi - lo >= 0.5
    if undecided.any():
        total.notes.append(
            f"the linear programmes used their budget of solves: {int(undecided.sum()):,} cells undecided"
        )
    return classify(ev, *COMBINED, total, lo, hi, undecided)
