"""What the attacks found, per attack and table, in a form fit for the QA annex and ``qa/checks.csv``.

Findings name cells (table, CSV line, column, what was published) and what happened to them; they never carry
the value an attack recovered into any text, because these messages are meant to be published.

* recovered: a suppressed (``c``) or ``low`` cell whose exact value, above 0, follows from the published tables;
* zero: a suppressed cell shown to be 0 (a national or regional ``c`` may hide a 0; a zero says nothing about a
  child, which is why DfE publishes zeros: not a leak);
* pinned: a rounded count whose exact value follows. A leak when a figure computed from it gives it away (the
  interval and pattern attacks, ``PINS_LEAK``: every figure must be computed from the published counts);
  otherwise reported, not a leak: a rounded count is never a small one (0 to the threshold are ``c`` at rounded
  levels), one pinned by adding up local authorities' exact counts, as DfE's own releases allow, hides nothing,
  and a small count it gives by subtraction is *disclosed*;
* narrowed: a cell not pinned but shown to be 1 to the threshold where publication said less than that;
* disclosed: a small count (1 to the threshold) that follows from two exactly published cells;
* undecided: a cell the combined attacker's linear programmes had no time left for (neither pinned nor shown
  to vary).

A release passes when nothing is recovered, disclosed or undecided.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rap.audit.cells import EXACT, KIND_NAMES, ROUNDED
from rap.audit.knowledge import Evidence, Knowledge

EXAMPLES = 5
#: Attacks whose pinned counts are leaks: a figure derived from a count (its interval, its pattern of ``c``) gave
#: the count back, which the scheme says no figure may do.
PINS_LEAK = ("intervals", "patterns")


@dataclass
class Figures:
    """Counts of cells for one attack and table (or in total)."""

    examined: int = 0
    recovered: int = 0
    zero: int = 0
    pinned: int = 0
    narrowed: int = 0
    disclosed: int = 0
    undecided: int = 0

    def add(self, other: Figures) -> None:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def leaks(self) -> int:
        """Cells whose hidden small value an outsider gets exactly."""
        return self.recovered + self.disclosed


@dataclass
class Finding:
    """One cell an attack learnt about, named but never valued."""

    table: str
    line: int
    column: str
    published: str
    status: str  # recovered | zero | pinned | narrowed | disclosed | undecided
    value: float | None = field(default=None, repr=False)  # for tests only: never in any message

    def message(self) -> str:
        """Which cell and what happened to it (not its value)."""
        how = {
            "recovered": "recovered exactly",
            "zero": "shown to be 0",
            "pinned": "true count pinned exactly",
            "narrowed": "narrowed to a small count",
            "disclosed": "gives a small count by subtraction",
            "undecided": "not decided in the time given",
        }[self.status]
        return f"{self.table}.csv line {self.line}, {self.column} (published {self.published!r}): {how}"


@dataclass
class AttackResult:
    """One attack's figures per table, its findings, notes and time taken."""

    id: str
    title: str
    tables: dict[str, Figures]
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    bounds: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # every cell's final bounds

    @property
    def leaks(self) -> int:
        """Cells whose hidden value this attack gets exactly (pinned counts only for :data:`PINS_LEAK`)."""
        t = self.total
        return t.leaks + (t.pinned if self.id in PINS_LEAK else 0)

    @property
    def total(self) -> Figures:
        out = Figures()
        for f in self.tables.values():
            out.add(f)
        return out

    def examples(self, n: int = EXAMPLES) -> list[str]:
        """The first ``n`` leaks (or narrowed cells when nothing leaked), as masked messages."""
        kinds = ("recovered", "disclosed", "pinned") if self.id in PINS_LEAK else ("recovered", "disclosed")
        leaks = [f for f in self.findings if f.status in kinds]
        leaks = leaks or [f for f in self.findings if f.status == "undecided"] or self.findings
        return [f.message() for f in leaks[:n]]

    def summary(self) -> str:
        t = self.total
        return (
            f"{t.recovered:,} suppressed cells recovered, {t.zero:,} shown to be 0, {t.pinned:,} rounded counts pinned, "
            f"{t.disclosed:,} small counts disclosed, {t.narrowed:,} narrowed to a small count"
            + (f", {t.undecided:,} undecided" if t.undecided else "")
            + f"; {t.examined:,} cells examined"
        )


def classify(
    ev: Evidence,
    attack_id: str,
    title: str,
    k: Knowledge,
    lo: np.ndarray,
    hi: np.ndarray,
    undecided: np.ndarray | None = None,
) -> AttackResult:
    """Compare final bounds with the published ones: every target cell recovered, pinned, narrowed or (left
    open when the solver's budget of linear programmes ran out) undecided."""
    cells = ev.cells
    tg = cells.targets
    exact = (hi - lo) < 0.5
    pub_width = cells.hi - cells.lo
    status = np.full(len(cells), "", dtype=object)
    status[tg & exact & (cells.kind == ROUNDED)] = "pinned"
    hidden = tg & exact & (cells.kind != ROUNDED) & (cells.kind != EXACT)
    status[hidden] = np.where(hi[hidden] < 0.5, "zero", "recovered")
    narrowed = tg & ~exact & (lo >= 1) & (hi <= ev.threshold) & (hi - lo < pub_width)
    status[narrowed] = "narrowed"
    if undecided is not None:
        status[tg & undecided & ~exact] = "undecided"
    tables: dict[str, Figures] = {}
    findings: list[Finding] = []
    examined = k.examined & tg
    for i in np.flatnonzero(examined | (status != "")):
        name = cells.tables[cells.table[i]]
        f = tables.setdefault(name, Figures())
        f.examined += bool(examined[i])
        if status[i]:
            setattr(f, status[i], getattr(f, status[i]) + 1)
            line = ev.tables[name].line(cells.row[i])
            findings.append(Finding(name, line, str(cells.column[i]), str(cells.text[i]), status[i], float(lo[i])))
    for d in k.disclosed:
        tables.setdefault(d.table, Figures()).disclosed += 1
        findings.append(
            Finding(d.table, ev.tables[d.table].line(d.row), " - ".join(d.columns[::-1]), "", "disclosed", d.value)
        )
    return AttackResult(attack_id, title, tables, findings, list(k.notes), dict(k.stats), bounds=(lo, hi))


@dataclass
class AuditReport:
    """Every attack alone and all of them together (the attacker who passes or fails the release)."""

    folder: str
    threshold: int
    rounding_base: int
    attacks: list[AttackResult]
    combined: AttackResult
    skipped: list[str] = field(default_factory=list)
    cells: dict[str, int] = field(default_factory=dict)  # published cells by kind
    seconds: float = 0.0

    @property
    def recovered(self) -> int:
        return self.combined.total.recovered

    @property
    def pinned(self) -> int:
        return self.combined.total.pinned

    @property
    def disclosed(self) -> int:
        return self.combined.total.disclosed

    @property
    def narrowed(self) -> int:
        return self.combined.total.narrowed

    @property
    def passed(self) -> bool:
        """Nothing hidden comes back exactly, alone or all together, and the attacker decided every cell."""
        return all(a.leaks == 0 for a in [*self.attacks, self.combined]) and self.combined.total.undecided == 0

    def checks(self) -> list[dict[str, str]]:
        """Rows for ``qa/checks.csv`` (name, result, detail): one per attack and one for all together."""
        rows = []
        for a in [*self.attacks, self.combined]:
            t = a.total
            rows.append(
                {
                    "name": f"Disclosure attack: {a.title.lower()}",
                    "result": "passed" if a.leaks == 0 and t.undecided == 0 else "failed",
                    "detail": a.summary() + (f"; e.g. {a.examples(1)[0]}" if a.leaks or t.undecided else ""),
                }
            )
        return rows

    def lines(self) -> list[str]:
        """A plain-text summary for people (masked: cells named, values never shown)."""
        out = [f"Disclosure attack on {self.folder} (threshold {self.threshold}, rounding to {self.rounding_base})"]
        out.append("  cells: " + ", ".join(f"{v:,} {k}" for k, v in self.cells.items()))
        for a in [*self.attacks, self.combined]:
            out.append(f"- {a.title} ({a.seconds:.1f} s): {a.summary()}")
            out += [f"    {m}" for m in a.examples()]
            out += [f"    note: {n}" for n in a.notes]
        out += [f"  skipped {s}" for s in self.skipped]
        out.append(f"Result: {'passed' if self.passed else 'FAILED'} ({self.seconds:.1f} s)")
        return out

    def to_dict(self) -> dict:
        """JSON-ready figures and masked examples."""

        def one(a: AttackResult) -> dict:
            return {
                "id": a.id,
                "title": a.title,
                "seconds": round(a.seconds, 2),
                "total": vars(a.total),
                "tables": {k: vars(v) for k, v in sorted(a.tables.items())},
                "examples": a.examples(),
                "notes": a.notes,
                "stats": a.stats,
            }

        return {
            "folder": self.folder,
            "threshold": self.threshold,
            "rounding_base": self.rounding_base,
            "passed": self.passed,
            "cells": self.cells,
            "attacks": [one(a) for a in self.attacks],
            "combined": one(self.combined),
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
        }


__all__ = ["KIND_NAMES", "AttackResult", "AuditReport", "Figures", "Finding", "classify"]
