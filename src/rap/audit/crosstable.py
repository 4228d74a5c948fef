"""Attack 4: the same quantity published in two tables merges what each says about it.

For each ``same_quantity`` entry of ``relations.yaml``, rows of the tables named are matched on period, area
and the filters the tables share (a filter only one side has must be at ``Total`` there, unless a ``where``
fixes it); the left cells' sum equals the right cells' sum, label by label. A ``c`` in one table is then as
well known as the same count shown in another.
"""

from __future__ import annotations

import numpy as np

from rap.audit.equations import solver_knowledge
from rap.audit.knowledge import Evidence, Knowledge
from rap.audit.labels import isin, labels
from rap.audit.relations import Term, matches
from rap.audit.system import System
from rap.audit.tables import GEO, PERIOD

TOTAL = "Total"


def same_quantity(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Equalities between tables, for the solver."""
    return solver_knowledge(ev, lo, hi, equalities_of(ev))


def equalities_of(ev: Evidence) -> System:
    """The rows of attack 4."""
    sys = System()
    for sq in ev.rel.same_quantity:
        terms = [*sq.left, *sq.right]
        if any(t.table not in ev.tables or ev.cells.of(t.table, t.column) is None for t in terms):
            continue
        shared = _shared_filters(ev, terms)
        group, cells, coefs, per_term = [], [], [], []
        for sign, side in ((1.0, sq.left), (-1.0, sq.right)):
            for term in side:
                lab, ids = _term_cells(ev, term, shared)
                group.append(lab)
                cells.append(ids)
                coefs.append(np.full(len(ids), sign))
                per_term.append(_complete_labels(lab, term))
        whole = set.intersection(*per_term) if per_term else set()
        g, c, v = np.concatenate(group), np.concatenate(cells), np.concatenate(coefs)
        keep = isin(g, whole)
        sys.add(g[keep], c[keep], v[keep], 0.0, 0.0, f"same quantity: {sq.name}")
    return sys


def _shared_filters(ev: Evidence, terms: list[Term]) -> list[str]:
    """Filters every term's table has and no term's ``where`` fixes."""
    fixed = {c for t in terms for c in t.where}
    common = set.intersection(*(set(ev.tables[t.table].filters) for t in terms))
    first = ev.tables[terms[0].table].filters
    return [f for f in first if f in common and f not in fixed]


def _term_cells(ev: Evidence, term: Term, shared: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and cell ids of a term's rows: its ``where``, other unshared filters at Total."""
    t = ev.tables[term.table]
    ok = matches(t.frame, term.where) if term.where else np.ones(len(t.frame), dtype=bool)
    for f in t.filters:
        if f not in shared and f not in term.where:
            ok &= t.frame[f].eq(TOTAL).to_numpy()
    rows = np.flatnonzero(ok)
    lab = labels(t.frame.iloc[rows], [PERIOD, GEO, *shared])
    return lab, ev.cells.of(term.table, term.column)[rows]


def _complete_labels(lab: np.ndarray, term: Term) -> set:
    """Labels where the term has exactly the rows its ``where`` lists (a sum missing an item would be wrong);
    with a wildcard in ``where``, any number of rows."""
    want, literal = 1, True
    for pats in term.where.values():
        if any(ch in p for p in pats for ch in "*?["):
            literal = False
        want *= len(pats)
    if len(lab) == 0:
        return set()
    uniq, counts = np.unique(lab, return_counts=True)
    return set(uniq[counts == want]) if literal else set(uniq)
