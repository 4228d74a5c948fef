"""Attacks 1 and 2: undo rounding row by row from the figures published beside a count.

For a rounded count (and its rounded denominator) the attacker tries every pair of true values that rounds to
what is shown, recomputes each published figure the way the methods notes say it is made (percentage and
Wilson interval, rate and Poisson interval, dashboard value), rounded half up to the published decimals, and
keeps the pairs that reproduce every figure (attack 1, "intervals"). That is only sound where the figures were
made from the true counts: a scheme that computes them from the published (rounded) counts makes the published
counts themselves reproduce every figure, and a true count far from them might reproduce none. So a row's
figures are used only when the published counts do NOT reproduce them (:func:`from_published`): then they were
made from the true counts, the one other way the methods notes allow. Attack 2 ("patterns") keeps the pairs
consistent with the suppression rule instead: a figure is ``c`` exactly when one of its counts is 1 to the
threshold, so "number 10, percentage c" leaves only 5. A denominator that is not published (the child
population behind a rate) is a positive number to be found too: a candidate count survives when some
denominator reproduces every figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rap.audit.cells import SUPPRESSED
from rap.audit.knowledge import Evidence, Knowledge
from rap.audit.relations import Derived, matches
from rap.audit.tables import PublishedTable
from rap.domain import stats
from rap.domain.disclosure import round_places

MAX_WIDTH = 200  # cells known less well than this are not enumerated
TINY = 1e-9  # the pipeline's rounding adds 1e-9 before flooring: allow for it


@dataclass
class _Rows:
    """The rows of one table a derived relation applies to, with what the attacker knows of their counts."""

    table: PublishedTable
    rows: np.ndarray
    num: np.ndarray  # cell ids of the numerator
    nlo: np.ndarray  # its bounds
    nhi: np.ndarray
    den: np.ndarray  # cell ids of an integer denominator, -1 where the denominator is a real interval
    dlo: np.ndarray  # the denominator's bounds
    dhi: np.ndarray
    figures: dict[str, np.ndarray]  # role -> published text
    values: dict[str, np.ndarray]  # role -> that text as a number (NaN for a symbol), parsed once per table
    below_half: tuple[str, ...] = ("k",)  # symbols of a figure above 0 that rounds to 0

    def is_below_half(self, role: str) -> np.ndarray:
        return np.isin(self.figures[role], self.below_half)


def intervals(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Attack 1: counts that reproduce every published figure (values and interval limits)."""
    return _invert(ev, lo, hi, use_values=True, use_rule=False)


def patterns(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Attack 2: counts consistent with which figures are suppressed (``c``) and which are shown."""
    return _invert(ev, lo, hi, use_values=False, use_rule=True)


def invert_all(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Attacks 1 and 2 together, as the combined attacker uses them."""
    return _invert(ev, lo, hi, use_values=True, use_rule=True)


def _invert(ev: Evidence, lo: np.ndarray, hi: np.ndarray, *, use_values: bool, use_rule: bool) -> Knowledge:
    k = Knowledge.start(lo, hi)
    before = after = rows_seen = contradicted = 0
    for d in ev.rel.derived:
        if len(d.numerator) != 1 or d.numerator[0][0] != 1:
            continue  # a numerator made of several counts is left to the linear attacks
        for t in ev.tables.values():
            rs = _rows(ev, d, t, k.lo, k.hi)
            if rs is None or len(rs.rows) == 0:
                continue
            pos, n, dd = _combos(rs)
            keep = np.ones(len(pos), dtype=bool)
            if d.proportion:
                keep &= np.isnan(dd) | (n <= dd)
            if use_values:
                keep &= _values_fit(rs, d, pos, n, dd) | from_published(ev, d, t)[rs.rows][pos]
            if use_rule:
                keep &= _rule_fits(ev, rs, d, pos, n, dd, k.lo, k.hi)
            b, a, c = _narrow(k, rs, pos, n, dd, keep)
            before, after, contradicted = before + b, after + a, contradicted + c
            rows_seen += len(rs.rows)
    k.stats = {"rows": rows_seen, "candidates_before": before, "candidates_after": after}
    if contradicted:
        k.notes.append(f"{contradicted} rows matched no candidate (their figures are not made as assumed): left alone")
    return k


def _rows(ev: Evidence, d: Derived, t: PublishedTable, lo: np.ndarray, hi: np.ndarray) -> _Rows | None:
    """Rows where ``d`` applies, the numerator is known to within MAX_WIDTH and there is something to learn."""
    num = ev.cells.of(t.name, d.numerator[0][1])
    figs = {role: col for role, col in d.figures.items() if col in t.frame.columns}
    if num is None or not figs:
        return None
    sel = (num >= 0) & (matches(t.frame, d.where) if d.where else True)
    nid = np.where(num >= 0, num, 0)
    sel &= np.isfinite(hi[nid]) & (hi[nid] - lo[nid] <= MAX_WIDTH)
    den_ids = ev.cells.of(t.name, d.denominator)
    if den_ids is not None:
        did = np.where(den_ids >= 0, den_ids, 0)
        sel &= den_ids >= 0
        dlo, dhi = lo[did], hi[did]
        integer = ev.cells.integer[did] & (den_ids >= 0)
        sel &= ~integer | (np.isfinite(dhi) & (dhi - dlo <= MAX_WIDTH))
        den = np.where(integer, den_ids, -1)
    elif d.denominator in t.frame.columns:  # a published figure (an expected count): known to its decimals
        v = pd.to_numeric(t.frame[d.denominator], errors="coerce").to_numpy(float)
        h = 0.5 * 10.0 ** -t.decimals(d.denominator)
        dlo, dhi, den = v - h, v + h, np.full(len(v), -1)
        sel &= np.isfinite(v)
    else:  # not published: any positive number
        dlo, dhi, den = np.zeros(len(num)), np.full(len(num), np.inf), np.full(len(num), -1)
    unknown = (hi[nid] > lo[nid]) | ((den >= 0) & (dhi > dlo))
    sel &= unknown
    rows = np.flatnonzero(sel)
    figures = {role: _text(ev, t, col)[rows] for role, col in figs.items()}
    values = {role: _number(ev, t, col)[rows] for role, col in figs.items()}
    nr = num[rows]
    return _Rows(t, rows, nr, lo[nr], hi[nr], den[rows], dlo[rows], dhi[rows], figures, values, ev.rel.below_half)


def _text(ev: Evidence, t: PublishedTable, col: str) -> np.ndarray:
    """A published column as stripped text, made once per audit (every round reads it again)."""
    key = ("text", t.name, col)
    if key not in ev.memo:
        ev.memo[key] = t.frame[col].astype(str).str.strip().to_numpy(dtype=object)
    return ev.memo[key]


def _number(ev: Evidence, t: PublishedTable, col: str) -> np.ndarray:
    """A published column as numbers (NaN for a symbol), parsed once per audit."""
    key = ("number", t.name, col)
    if key not in ev.memo:
        ev.memo[key] = _published(_text(ev, t, col))
    return ev.memo[key]


def from_published(ev: Evidence, d: Derived, t: PublishedTable) -> np.ndarray:
    """Per row of ``t``: True where the figures of ``d`` may have been made from the counts as published (they
    reproduce every published figure, or the row has no published count or figure to try), so the figures say
    nothing about the true counts. Worked out once, from the published bounds."""
    key = ("from_published", d.name, t.name)
    if key not in ev.memo:
        ev.memo[key] = _from_published(ev, d, t)
    return ev.memo[key]


def _from_published(ev: Evidence, d: Derived, t: PublishedTable) -> np.ndarray:
    out = np.ones(len(t.frame), dtype=bool)
    figs = {role: col for role, col in d.figures.items() if col in t.frame.columns}
    if not figs or any(c not in t.frame.columns for _, c in d.numerator):
        return out
    num = sum(s * _number(ev, t, c) for s, c in d.numerator)
    den_ids = ev.cells.of(t.name, d.denominator)
    rows = np.flatnonzero(np.isfinite(num) & (matches(t.frame, d.where) if d.where else True))
    if den_ids is not None:
        did = den_ids[rows]
        rows, did = rows[did >= 0], did[did >= 0]
        exact_den = ev.cells.integer[did]
        dd = np.where(exact_den, _published(ev.cells.text[did]), np.nan)
        dlo, dhi = ev.cells.lo[did], ev.cells.hi[did]  # a population: anywhere it can be
        keep = ~exact_den | np.isfinite(dd)
        rows, dd, dlo, dhi = rows[keep], dd[keep], dlo[keep], dhi[keep]
    elif d.denominator in t.frame.columns:
        v = pd.to_numeric(t.frame[d.denominator], errors="coerce").to_numpy(float)
        h = 0.5 * 10.0 ** -t.decimals(d.denominator)
        rows = rows[np.isfinite(v[rows])]
        dd, dlo, dhi = np.full(len(rows), np.nan), (v - h)[rows], (v + h)[rows]
    else:
        dd, dlo, dhi = np.full(len(rows), np.nan), np.zeros(len(rows)), np.full(len(rows), np.inf)
    figures = {role: _text(ev, t, col)[rows] for role, col in figs.items()}
    values = {role: _number(ev, t, col)[rows] for role, col in figs.items()}
    n = num[rows]
    none = np.full(len(rows), -1)
    rs = _Rows(t, rows, none, n, n, none, dlo, dhi, figures, values, ev.rel.below_half)
    out[rows] = _values_fit(rs, d, np.arange(len(rows)), n, dd)
    return out


def _combos(rs: _Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (row, numerator, denominator) candidate: integer denominators enumerated, real ones NaN."""
    wn = (rs.nhi - rs.nlo + 1).astype(np.int64)
    is_int = rs.den >= 0
    dlo = np.where(is_int, rs.dlo, 0)
    wd = np.where(is_int, rs.dhi - rs.dlo + 1, 1).astype(np.int64)
    total = wn * wd
    pos = np.repeat(np.arange(len(rs.rows)), total)
    start = np.repeat(np.cumsum(total) - total, total)
    k = np.arange(int(total.sum())) - start
    n = rs.nlo[pos] + k // wd[pos]
    dd = np.where(is_int[pos], dlo[pos] + k % wd[pos], np.nan)
    return pos, n.astype(float), dd.astype(float)


def _published(text: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(float)


def _values_fit(rs: _Rows, d: Derived, pos: np.ndarray, n: np.ndarray, dd: np.ndarray) -> np.ndarray:
    """Candidates whose recomputed figures round to every published number (and ``k`` where shown)."""
    keep = np.ones(len(pos), dtype=bool)
    real = np.isnan(dd)
    if (~real).any():
        keep[~real] = _fit_known_denominator(rs, d, pos[~real], n[~real], dd[~real])
    if real.any():
        keep[real] = _fit_unknown_denominator(rs, d, pos[real], n[real])
    return keep


def _raw_figures(d: Derived, n: np.ndarray, dd: np.ndarray | None) -> dict[str, np.ndarray]:
    """Unrounded figures for candidates: with ``dd`` None, the numerator side only (to divide later)."""
    out = {"value": n.astype(float)}
    if d.interval == "wilson" and dd is not None:
        ok = (dd > 0) & (n <= dd)
        ci = stats.wilson_ci(np.where(ok, n, 0), np.where(ok, dd, 1))
        out["lower"] = np.where(ok, np.asarray(ci.lower) * dd, np.nan)
        out["upper"] = np.where(ok, np.asarray(ci.upper) * dd, np.nan)
    elif d.interval == "poisson":
        low, up = stats.poisson_count_ci(n)
        out["lower"], out["upper"] = np.asarray(low, dtype=float), np.asarray(up, dtype=float)
    return out


def _fit_known_denominator(rs: _Rows, d: Derived, pos: np.ndarray, n: np.ndarray, dd: np.ndarray) -> np.ndarray:
    """Candidates whose figures, recomputed from (numerator, denominator) and rounded, match the published ones."""
    keep = np.ones(len(pos), dtype=bool)
    raw = _raw_figures(d, n, dd)
    for role in rs.figures:
        if role not in raw:
            continue
        dp = rs.table.decimals(d.figures[role], rs.rows)[pos]
        v = rs.values[role][pos]
        with np.errstate(divide="ignore", invalid="ignore"):
            fig = d.scale * raw[role] / dd
        r = round_places(fig, dp)
        num = np.isfinite(v)
        keep &= ~num | (np.isfinite(r) & (np.abs(r - v) < 0.25 * 10.0**-dp))
        if role == "value":
            k = rs.is_below_half(role)[pos]
            keep &= ~k | ((fig > 0) & (r == 0))
    return keep


def _fit_unknown_denominator(rs: _Rows, d: Derived, pos: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A candidate survives when some denominator in its bounds reproduces every published figure: each figure
    scale x g / P rounding to v puts P in (scale x g / (v + h), scale x g / (v - h)]; the intervals must meet."""
    plo, phi = rs.dlo[pos].astype(float).copy(), rs.dhi[pos].astype(float).copy()
    keep = np.ones(len(pos), dtype=bool)
    raw = _raw_figures(d, n, None)
    for role in rs.figures:
        if role not in raw:
            continue
        h = 0.5 * 10.0 ** -rs.table.decimals(d.figures[role], rs.rows)[pos]
        v = rs.values[role][pos]
        if role == "value":  # k: above 0 but rounds to 0
            k = rs.is_below_half(role)[pos]
            v = np.where(k, 0.0, v)
            keep &= ~k | (n > 0)
        g = d.scale * raw[role]
        num = np.isfinite(v)
        keep &= ~(num & (g <= 0)) | (np.abs(v) < h)  # a zero figure, whatever the denominator
        use = num & (g > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lo_p = g / (v + h + TINY)
            hi_p = np.where(v - h - TINY > 0, g / (v - h - TINY), np.inf)
        plo = np.where(use, np.maximum(plo, lo_p), plo)
        phi = np.where(use, np.minimum(phi, hi_p), phi)
    return keep & (plo <= phi * (1 + 1e-12))


def _rule_fits(
    ev: Evidence, rs: _Rows, d: Derived, pos: np.ndarray, n: np.ndarray, dd: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Candidates consistent with the rule: a figure is hidden when a listed count is 1 to the threshold. A shown
    figure rules small counts out; a hidden one says a count is small only where none of its counts is itself
    ``c`` (a suppressed count, perhaps suppressed for another's sake, hides the figure whatever it is)."""
    role = "value" if "value" in rs.figures else next(iter(rs.figures))
    hidden = np.isin(rs.figures[role], ev.rel.suppressed)[pos]
    shown = (np.isfinite(rs.values[role]) | rs.is_below_half(role))[pos]
    thr = ev.threshold
    sure_small = np.zeros(len(pos), dtype=bool)
    sure_not = np.ones(len(pos), dtype=bool)
    any_c = np.zeros(len(pos), dtype=bool)
    for col in d.hidden_when_small:
        ids = ev.cells.of(rs.table.name, col)
        cid = ids[rs.rows][pos] if ids is not None else np.full(len(pos), -1)
        any_c |= (cid >= 0) & (ev.cells.kind[np.maximum(cid, 0)] == SUPPRESSED)
        if col == d.numerator[0][1]:
            clo, chi = n, n
        elif col == d.denominator and not np.isnan(dd).all():
            real = np.isnan(dd)
            clo, chi = np.where(real, rs.dlo[pos], dd), np.where(real, rs.dhi[pos], dd)
        elif ids is not None:
            clo = np.where(cid >= 0, lo[np.maximum(cid, 0)], 0.0)  # no cell: not a count here, never small
            chi = np.where(cid >= 0, hi[np.maximum(cid, 0)], 0.0)
        else:
            continue
        sure_small |= (clo >= 1) & (chi <= thr)
        sure_not &= (chi < 1) | (clo > thr)
    return np.where(hidden, any_c | ~sure_not, np.where(shown, ~sure_small, True))


def _narrow(
    k: Knowledge, rs: _Rows, pos: np.ndarray, n: np.ndarray, dd: np.ndarray, keep: np.ndarray
) -> tuple[int, int, int]:
    """Bounds from the surviving candidates; returns candidates (distinct numerators) before and after, and
    the rows no candidate fits (left as they were: the relation does not hold there)."""
    r = len(rs.rows)
    alive = np.bincount(pos[keep], minlength=r) > 0
    big = np.inf
    nmin = np.full(r, big)
    nmax = np.full(r, -big)
    np.minimum.at(nmin, pos[keep], n[keep])
    np.maximum.at(nmax, pos[keep], n[keep])
    ids = rs.num[alive]
    k.lo[ids] = np.maximum(k.lo[ids], nmin[alive])
    k.hi[ids] = np.minimum(k.hi[ids], nmax[alive])
    is_int = (rs.den >= 0) & alive
    if is_int.any():
        dmin, dmax = np.full(r, big), np.full(r, -big)
        sel = keep & ~np.isnan(dd)
        np.minimum.at(dmin, pos[sel], dd[sel])
        np.maximum.at(dmax, pos[sel], dd[sel])
        dids = rs.den[is_int]
        k.lo[dids] = np.maximum(k.lo[dids], dmin[is_int])
        k.hi[dids] = np.minimum(k.hi[dids], dmax[is_int])
        k.examined[rs.den[rs.den >= 0]] = True
    k.examined[rs.num] = True
    before = int((rs.nhi - rs.nlo + 1).sum())
    return before, _distinct_pairs(pos[keep], n[keep]), int((~alive).sum())


def _distinct_pairs(pos: np.ndarray, n: np.ndarray) -> int:
    """How many distinct (row, numerator) candidates survive. ``_combos`` lists them in order (row, then
    numerator), so counting changes is enough; anything else is sorted first."""
    if len(pos) == 0:
        return 0
    step_p, step_n = np.diff(pos), np.diff(n)
    if (step_p < 0).any() or ((step_p == 0) & (step_n < 0)).any():
        return np.unique(np.stack([pos, n]), axis=1).shape[1]
    return 1 + int(((step_p != 0) | (step_n != 0)).sum())
