"""Attack 5: a published rate or value with published populations gives a count back, alone or pooled.

A value v published to dp decimals as scale x numerator / denominator says
``(v - h) x den <= scale x num <= (v + h) x den`` (h half a unit in the last place): two linear rows, whatever
is rounded or suppressed among the counts. For one row that brings a regional count back from its 1-d.p. rate
and rounded population; pooled over an LA's statistical neighbours, its region or England (the ``pooled``
entries of ``relations.yaml``) it ties many LAs' cells together, so a hidden neighbour's count is the pooled
total less the shown ones. Figures hidden because the pooled count is small say that sum is 1 to the
threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.audit.cells import SUPPRESSED
from rap.audit.equations import mark_examined
from rap.audit.inversion import from_published
from rap.audit.knowledge import Evidence, Knowledge
from rap.audit.relations import Derived, Pooled, bottom_level, matches
from rap.audit.system import System
from rap.audit.tables import LEVEL, PERIOD, PublishedTable

SLACK = 1e-9  # the pipeline's rounding adds 1e-9 before flooring


def pooled_values(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Linear rows from every published value over its own counts and over pooled counts."""
    k = Knowledge.start(lo, hi)
    k.solve = True
    k.system = value_rows(ev)
    for p in ev.rel.pooled:
        for t in ev.tables.values():
            skipped = _pooled(k.system, ev, p, t)
            if skipped:
                k.notes.append(f"{t.name}: {skipped} {p.figure} figures their shown cells alone explain: not used")
    mark_examined(k, ev.cells)
    return k


def value_rows(ev: Evidence) -> System:
    """Two rows per published value whose numerator and denominator are cells (or a published figure)."""
    sys = System()
    for d in ev.rel.derived:
        if "value" not in d.figures:
            continue
        for t in ev.tables.values():
            _value_rows(sys, ev, d, t)
    return sys


def _half(t: PublishedTable, col: str) -> np.ndarray:
    """Half a unit in the last place of each published number of ``col``, with the pipeline's rounding slack."""
    return 0.5 * 10.0 ** -t.decimals(col) + SLACK


def _value_rows(sys: System, ev: Evidence, d: Derived, t: PublishedTable) -> None:
    col = d.figures["value"]
    nums = [(s, ev.cells.of(t.name, c)) for s, c in d.numerator]
    den = ev.cells.of(t.name, d.denominator)
    if col not in t.frame.columns or any(ids is None for _, ids in nums) or den is None:
        return
    text = t.frame[col].astype(str).str.strip()
    v = pd.to_numeric(text, errors="coerce").to_numpy(float)
    below = text.isin(ev.rel.below_half).to_numpy()
    v = np.where(below, 0.0, v)
    ok = np.isfinite(v) & (den >= 0) & (matches(t.frame, d.where) if d.where else True)
    for _, ids in nums:
        ok &= ids >= 0
    kinds = [ev.cells.kind[ids[ok]] for _, ids in nums] + [ev.cells.kind[den[ok]]]
    hidden = np.any([kk != 0 for kk in kinds], axis=0) if kinds else np.zeros(0, dtype=bool)
    rows = np.flatnonzero(ok)[hidden]  # rows with every cell exact teach nothing
    rows = rows[~from_published(ev, d, t)[rows]]  # figures made from the published counts say nothing more
    if len(rows) == 0:
        return
    h = _half(t, col)[rows]
    up = np.where(below[rows], h - SLACK, v[rows] + h)
    down = np.where(below[rows], 0.0, v[rows] - h)
    n = len(rows)
    for bound, lo_, hi_ in ((up, -np.inf, 0.0), (down, 0.0, np.inf)):
        group = np.concatenate([np.arange(n)] * (len(nums) + 1))
        cells = np.concatenate([ids[rows] for _, ids in nums] + [den[rows]])
        coefs = np.concatenate([np.full(n, d.scale * s) for s, _ in nums] + [-bound])
        sys.add(group, cells, coefs, lo_, hi_, f"{d.name}: value over its counts")


def _pool_members(ev: Evidence, p: Pooled, fig: PublishedTable, src: PublishedTable, rows: np.ndarray) -> pd.DataFrame:
    """(figure row, pooled row) pairs: the rows of ``src`` in each figure row's pool, same period and filters."""
    keys = [PERIOD] + [f for f in fig.filters if f in src.filters]
    left = fig.frame.iloc[rows][keys].assign(_fig=rows)
    bottom, region = bottom_level(ev.rel)
    la_rows = src.frame[src.frame[LEVEL].eq(bottom)]
    right = la_rows[keys].assign(_src=la_rows.index.to_numpy())
    if p.pool == "neighbours":
        nb = _neighbour_lists(ev)
        la, code = ev.rel.neighbours.get("la", "new_la_code"), ev.rel.neighbours.get("neighbour", "neighbour_code")
        if nb is None or la not in fig.frame.columns:
            return pd.DataFrame(columns=["_fig", "_src"])
        left = left.assign(_la=fig.frame[la].to_numpy()[rows]).merge(nb, left_on="_la", right_on=la)
        right = right.assign(_nb=src.frame.loc[la_rows.index, la].to_numpy())
        pairs = left.merge(right, left_on=[*keys, code], right_on=[*keys, "_nb"])
    elif p.pool == "region":
        if region not in fig.frame.columns:
            return pd.DataFrame(columns=["_fig", "_src"])
        left = left.assign(_reg=fig.frame[region].to_numpy()[rows])
        right = right.assign(_reg=src.frame.loc[la_rows.index, region].to_numpy())
        pairs = left.merge(right, on=[*keys, "_reg"])
    else:
        pairs = left.merge(right, on=keys)
    return pairs[["_fig", "_src"]]


def _neighbour_lists(ev: Evidence) -> pd.DataFrame | None:
    """(LA, neighbour) pairs from any table that has both columns (periods ignored: the lists are one year's)."""
    la, code = ev.rel.neighbours.get("la"), ev.rel.neighbours.get("neighbour")
    for t in ev.tables.values():
        if la in t.frame.columns and code in t.frame.columns:
            return t.frame[[la, code]].drop_duplicates()
    return None


def _pooled(sys: System, ev: Evidence, p: Pooled, fig: PublishedTable) -> int:
    """Rows for one pooled figure column; returns how many figures were set aside by the shown-cells test."""
    src = ev.tables.get(p.counts_from) if p.counts_from else fig
    if src is None or p.figure not in fig.frame.columns:
        return 0
    num, den = ev.cells.of(src.name, p.numerator), ev.cells.of(src.name, p.denominator)
    if num is None or den is None:
        return 0
    text = fig.frame[p.figure].astype(str).str.strip()
    v = pd.to_numeric(text, errors="coerce").to_numpy(float)
    hidden = text.isin(ev.rel.suppressed).to_numpy() & bool(p.hidden_when_small)
    ok = (np.isfinite(v) | hidden) & (matches(fig.frame, p.where) if p.where else True)
    pairs = _pool_members(ev, p, fig, src, np.flatnonzero(ok))
    if pairs.empty:
        return 0
    f, s = pairs["_fig"].to_numpy(), pairs["_src"].to_numpy()
    n_ids, d_ids = num[s], den[s]
    good = pd.Series((n_ids >= 0) & (d_ids >= 0)).groupby(f).transform("all").to_numpy()
    f, n_ids, d_ids = f[good], n_ids[good], d_ids[good]
    return _pooled_rows(sys, ev, p, fig, f, n_ids, d_ids, v, hidden)


def _pooled_rows(
    sys: System,
    ev: Evidence,
    p: Pooled,
    fig: PublishedTable,
    f: np.ndarray,
    n_ids: np.ndarray,
    d_ids: np.ndarray,
    v: np.ndarray,
    hidden: np.ndarray,
) -> int:
    cells = ev.cells
    sup = (cells.kind[n_ids] == SUPPRESSED) | (cells.kind[d_ids] == SUPPRESSED)
    any_sup = pd.Series(sup).groupby(f).transform("any").to_numpy()
    h = _half(fig, p.figure)
    explained = _shown_alone_fits(cells, f, n_ids, d_ids, sup, v, h, p.scale)
    use = any_sup & ~explained[f] & ~hidden[f]
    name = f"{p.name} ({fig.name})"
    for bound, lo_, hi_ in ((v[f] + h[f], -np.inf, 0.0), (v[f] - h[f], 0.0, np.inf)):
        g = np.concatenate([f[use], f[use]])
        c = np.concatenate([n_ids[use], d_ids[use]])
        k = np.concatenate([np.full(int(use.sum()), p.scale), -bound[use]])
        sys.add(g, c, k, lo_, hi_, name)
    pos = np.isfinite(v[f]) & (v[f] > 0) & bool(p.hidden_when_small) & any_sup
    if pos.any():
        sys.add(
            f[pos], n_ids[pos], np.ones(int(pos.sum())), float(ev.threshold + 1), np.inf, name + ": shown, so not small"
        )
    figs_sup = np.unique(f[any_sup & ~hidden[f]])
    return int(explained[figs_sup].sum())


def _shown_alone_fits(
    cells,
    f: np.ndarray,
    n_ids: np.ndarray,
    d_ids: np.ndarray,
    sup: np.ndarray,
    v: np.ndarray,
    h: np.ndarray,
    scale: float,
) -> np.ndarray:
    """Per figure row: could the pool's shown cells alone give the figure? Then the hidden cells may be outside
    the pool (DfE's published pools leave them out) and the figure is not used."""
    size = int(f.max()) + 1 if len(f) else 0
    keep = ~sup
    n_lo = np.bincount(f[keep], weights=cells.lo[n_ids[keep]], minlength=size)
    n_hi = np.bincount(f[keep], weights=cells.hi[n_ids[keep]], minlength=size)
    d_lo = np.bincount(f[keep], weights=cells.lo[d_ids[keep]], minlength=size)
    d_hi = np.bincount(f[keep], weights=cells.hi[d_ids[keep]], minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        smallest = np.where(d_hi > 0, scale * n_lo / d_hi, np.inf)
        largest = np.where(d_lo > 0, scale * n_hi / d_lo, np.inf)
    vv, hh = v[:size], h[:size]
    return (smallest <= vv + hh) & (largest >= vv - hh)
