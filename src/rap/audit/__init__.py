"""A disclosure attacker that reads only a folder of published EES tables.

It tries what an outsider with the tables (and the methods notes) can: inverting intervals and other derived
figures to undo rounding, reading suppression patterns, solving totals and parts across groups, areas and
tables, pooled comparators, and small complements. ``audit_folder(path)`` returns an :class:`AuditReport`:
figures per attack and table, masked examples, and QA checks that pass when nothing hidden comes back exactly.
What the attacker knows about how tables are made is data: ``relations.yaml`` beside this module.

Run it as ``python -m rap.audit DIR [--threshold N] [--rounding-base N] [--json FILE]``.
"""

from rap.audit.attacks import ATTACKS, Attack, audit_folder
from rap.audit.report import AttackResult, AuditReport, Figures, Finding

__all__ = ["ATTACKS", "Attack", "AttackResult", "AuditReport", "Figures", "Finding", "audit_folder"]
