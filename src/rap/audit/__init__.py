"""A disclosure attacker that reads only a folder of published EES tables.

It tries what an outsider with the tables (and the methods notes) can: inverting intervals and other derived
figures to undo rounding, reading suppression patterns, solving totals and parts across groups, areas and
tables, pooled comparators, and small complements. ``audit_folder(path)`` returns an :class:`AuditReport`:
figures per attack and table, masked examples, and QA checks that pass when nothing hidden comes back exactly.
What the attacker knows about how tables are made is data: ``relations.yaml`` beside this module.

Run it as ``rap audit-disclosure DIR`` or ``python -m rap.audit DIR [--threshold N] [--rounding-base N]
[--json FILE]``. The names below are imported on first use, so the ``rap`` command can offer the
subcommand without loading numpy, pandas and scipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "ATTACKS": "rap.audit.attacks",
    "Attack": "rap.audit.attacks",
    "audit_folder": "rap.audit.attacks",
    "AttackResult": "rap.audit.report",
    "AuditReport": "rap.audit.report",
    "Figures": "rap.audit.report",
    "Finding": "rap.audit.report",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'rap.audit' has no attribute {name!r}")
