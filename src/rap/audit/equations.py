"""Attack 3: totals and parts, and hierarchies, as linear equations over the cells.

Within each table: minor groups add up to their major group, major groups to all groups (the ``totals`` of
``relations.yaml``); breakdown items add up to their total item or to the denominator (``breakdowns``); LAs
add up to their region and regions to England (``geography``). Every count column takes part: numbers,
denominators and populations alike. A row with no value for one of its cells (``x``, ``z``) is left out, as
is a group with no total row: nothing published to subtract from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.audit.cells import Cells
from rap.audit.knowledge import Evidence, Knowledge
from rap.audit.labels import isin, labels
from rap.audit.relations import Breakdown, Relations, Total
from rap.audit.system import System, sum_rows
from rap.audit.tables import GEO, LEVEL, PARENT, PERIOD, PublishedTable


def totals_and_hierarchy(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Every sum the tables' structure implies, for the solver."""
    return solver_knowledge(ev, lo, hi, equations_of(ev))


def solver_knowledge(ev: Evidence, lo: np.ndarray, hi: np.ndarray, system: System) -> Knowledge:
    """What an attack made only of linear rows knows: the rows, for the solver, and the cells they touch."""
    k = Knowledge.start(lo, hi)
    k.solve = True
    k.system = system
    mark_examined(k, ev.cells)
    return k


def equations_of(ev: Evidence) -> System:
    """The rows of attack 3 for every table."""
    sys = System()
    for t in ev.tables.values():
        for col in t.indicators:
            ids = ev.cells.of(t.name, col)
            if ids is None:
                continue
            ids = np.where((ids >= 0) & ev.cells.additive[np.maximum(ids, 0)], ids, -1)
            for spec in ev.rel.totals:
                _filter_totals(sys, t, col, ids, spec)
            _geography(sys, t, col, ids, ev.rel)
        for b in ev.rel.breakdowns:
            _breakdown(sys, ev.cells, t, b)
    return sys


def mark_examined(k: Knowledge, cells: Cells) -> None:
    """Cells that appear in any of the knowledge's rows."""
    if k.system.size:
        used = np.unique(np.concatenate(k.system.cols))
        k.examined[used] = True


def _filter_totals(sys: System, t: PublishedTable, col: str, ids: np.ndarray, spec: Total) -> None:
    f = spec.filter
    if f not in t.filters:
        return
    ok = np.ones(len(t.frame), dtype=bool)
    for c, tot in spec.at.items():
        if c in t.frame.columns:
            ok &= t.frame[c].eq(tot).to_numpy()
    lab = labels(t.frame, t.keys(exclude=(f,)))
    is_tot = t.frame[f].eq(spec.total).to_numpy()
    tot_rows, part_rows = np.flatnonzero(ok & is_tot), np.flatnonzero(ok & ~is_tot)
    context = labels(t.frame.iloc[part_rows], [c for c in t.filters if c != f])
    part_rows = part_rows[_complete(lab[part_rows], t.frame[f].to_numpy(dtype=object)[part_rows], context)]
    g, c, v = sum_rows(ids[tot_rows], ids[part_rows], lab[part_rows], lab[tot_rows])
    sys.add(g, c, v, 0.0, 0.0, f"{f} items within their total")


def _geography(sys: System, t: PublishedTable, col: str, ids: np.ndarray, rel: Relations) -> None:
    keys = [PERIOD] + list(t.filters)
    for level, spec in rel.levels.items():
        parent = spec.get("parent")
        if not parent:
            continue
        child = t.frame[LEVEL].eq(level).to_numpy()
        top = t.frame[LEVEL].eq(parent).to_numpy()
        if not (child.any() and top.any()):
            continue
        ch, tp = np.flatnonzero(child), np.flatnonzero(top)
        lab_child = labels(t.frame.iloc[ch], keys, t.frame[PARENT].to_numpy()[ch])
        lab_top = labels(t.frame.iloc[tp], keys, t.frame[GEO].to_numpy()[tp])
        ch = ch[
            _complete(lab_child, t.frame[GEO].to_numpy(dtype=object)[ch], t.frame[PARENT].to_numpy(dtype=object)[ch])
        ]
        lab_child = labels(t.frame.iloc[ch], keys, t.frame[PARENT].to_numpy()[ch])
        g, c, v = sum_rows(ids[tp], ids[ch], lab_child, lab_top)
        sys.add(g, c, v, 0.0, 0.0, f"{level} rows within their {parent.lower()} row")


def _breakdown(sys: System, cells: Cells, t: PublishedTable, b: Breakdown) -> None:
    ids = cells.of(t.name, b.column)
    if ids is None or b.filter not in t.filters:
        return
    text = t.frame[b.filter].astype(str)
    if b.prefix_separator:
        split = text.str.partition(b.prefix_separator)
        prefix, item = split[0].where(split[1].ne(""), ""), split[2].where(split[1].ne(""), text)
    else:
        prefix, item = pd.Series("", index=text.index, dtype=object), text
    item = item.to_numpy(dtype=object)
    is_part = isin(item, b.parts)
    if not is_part.any():
        return
    lab = labels(t.frame, t.keys(exclude=(b.filter,)), prefix.to_numpy(dtype=object))
    den = cells.of(t.name, "denominator")
    name = f"breakdown items adding up ({', '.join(b.parts[:2])}, ...)"
    parts = np.flatnonzero(is_part)
    parts = parts[_complete(lab[parts], item[parts], np.zeros(len(parts)), want=len(set(b.parts)))]
    if b.total is not None:
        tot = np.flatnonzero(item == b.total)
        g, c, v = sum_rows(ids[tot], ids[parts], lab[parts], lab[tot])
        sys.add(g, c, v, 0.0, 0.0, name)
        if b.same_denominator and den is not None:  # each row's denominator is the total item's number
            rows = np.concatenate([parts, tot])
            ref = dict(zip(lab[tot], ids[tot]))
            rows = rows[isin(lab[rows], ref)]
            _equal_pairs(sys, den[rows], np.array([ref[x] for x in lab[rows]], dtype=np.int64), name + ": denominators")
    elif b.total_column is not None:
        tot_ids = cells.of(t.name, b.total_column)
        if tot_ids is None:
            return
        first = _first_per_label(lab, parts)
        g, c, v = sum_rows(tot_ids[first], ids[parts], lab[parts], lab[first])
        sys.add(g, c, v, 0.0, 0.0, name)
        _equal_to_first(sys, tot_ids, lab, parts, name + f": shared {b.total_column}")
    elif b.same_denominator and den is not None:
        _equal_to_first(sys, den, lab, parts, name + ": shared denominator")


def _complete(group: np.ndarray, items: np.ndarray, context: np.ndarray, want: int | None = None) -> np.ndarray:
    """Rows of groups that hold every item their context shows anywhere in the table (or ``want`` items): a
    sum missing a part (an LA absent one year, whose population still counts in its region) is not an equation."""
    df = pd.DataFrame({"g": group, "i": items, "c": context})
    have = df.groupby("g")["i"].transform("nunique").to_numpy()
    need = df.groupby("c")["i"].transform("nunique").to_numpy() if want is None else want
    return have == need


def _first_per_label(lab: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The first of ``rows`` for each distinct label."""
    _, first = np.unique(lab[rows], return_index=True)
    return rows[np.sort(first)]


def _equal_to_first(sys: System, ids: np.ndarray, lab: np.ndarray, rows: np.ndarray, name: str) -> None:
    """Rows with the same label hold the same value in ``ids``: each equals the first."""
    first = _first_per_label(lab, rows)
    ref = dict(zip(lab[first], ids[first]))
    others = np.setdiff1d(rows, first)
    _equal_pairs(sys, ids[others], np.array([ref[x] for x in lab[others]], dtype=np.int64), name)


def _equal_pairs(sys: System, a: np.ndarray, b: np.ndarray, name: str) -> None:
    """One row a_i - b_i = 0 per pair."""
    if len(a) == 0:
        return
    group = np.concatenate([np.arange(len(a)), np.arange(len(a))])
    sys.add(group, np.concatenate([a, b]), np.concatenate([np.ones(len(a)), -np.ones(len(a))]), 0.0, 0.0, name)
