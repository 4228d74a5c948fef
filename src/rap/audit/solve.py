"""What linear knowledge pins down: the smallest and largest value each cell can take.

Two steps, both sound (a bound is only ever tightened to one every solution respects):

1. bound propagation over every row at once (vectorised): each row bounds each of its cells given the others'
   bounds; whole-number cells round their bounds inwards; repeated until nothing moves. Most recoveries (a
   total less its shown parts) come out here, in milliseconds.
2. linear programming (scipy's HiGHS) per connected component of the cells still unknown: random objectives
   first show most cells can vary (two solutions 2 or more apart mean the cell is not pinned); each remaining
   cell then gets its own minimum and maximum. The LP relaxation's bounds contain the whole-number ones, so
   rounding them inwards stays sound.

A row that the published bounds contradict (a relation that does not hold in these tables) is dropped and
counted; a component whose rows contradict each other is left at its published bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from rap.audit.system import System

EPS = 1e-6  # feasibility slack of propagated bounds
LP_EPS = 1e-4  # slack on LP optima before rounding inwards (HiGHS works to about 1e-7)
PROBES = 12  # at most this many probes (a random pair, then pushes) per component before cell-by-cell optimisation


@dataclass
class Solution:
    """Bounds every cell respects in every solution of the knowledge given, and what the solver set aside."""

    lo: np.ndarray
    hi: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)  # rows contradicted by the published bounds, by relation
    inconsistent: int = 0  # components whose rows contradict each other (left at their starting bounds)
    lp_solves: int = 0
    #: target cells the LP stage left open when its budget of solves ran out: neither pinned nor shown to vary
    undecided: np.ndarray | None = None


@dataclass
class LPBudget:
    """How many linear programmes the combined attacker may still solve. A count, not a clock: the same
    tables always give the same report (and the build's annexes stay byte-identical), on any machine."""

    left: int

    def exhausted(self) -> bool:
        return self.left <= 0

    def spend(self, n: int) -> None:
        self.left -= n


def solve(
    system: System,
    lo: np.ndarray,
    hi: np.ndarray,
    integer: np.ndarray,
    targets: np.ndarray,
    *,
    use_lp: bool = True,
    dirty: np.ndarray | None = None,
    budget: LPBudget | None = None,
    zero_harmless: np.ndarray | None = None,
) -> Solution:
    """Tightest bounds propagation and LP give for every cell; ``targets`` are the cells worth an LP and, when
    ``dirty`` is given, only components holding a dirty cell (one whose bounds moved) are solved again. Once
    ``budget`` is spent no LP is started: the cells left open are ``undecided``. A ``zero_harmless`` cell (a
    ``c``: pinned at 0 it gives nothing away) that a solution puts at 0 is not decided further: pinned or not,
    it is no leak."""
    a, rlo, rhi, src = system.matrix(len(lo))
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    sol = Solution(lo, hi)
    if a.shape[0] == 0:
        return sol
    keep = _consistent_rows(a, rlo, rhi, lo, hi)
    for i in np.flatnonzero(~keep):
        name = system.names[int(src[i])]
        sol.dropped[name] = sol.dropped.get(name, 0) + 1
    a, rlo, rhi = a[keep], rlo[keep], rhi[keep]
    start_lo, start_hi = lo.copy(), hi.copy()
    for _ in range(3):
        plo, phi, bad = propagate(a, rlo, rhi, lo, hi, integer)
        if not bad.any():
            lo, hi = plo, phi
            break
        rows = _rows_of_components(a, bad)
        sol.inconsistent += int(_count_components(a, bad))
        a, rlo, rhi = a[~rows], rlo[~rows], rhi[~rows]
        lo, hi = start_lo.copy(), start_hi.copy()
    else:
        return Solution(start_lo, start_hi, sol.dropped, sol.inconsistent)
    if use_lp:
        if dirty is not None:  # cells the caller moved, and those propagation moved in turn
            dirty = dirty | (lo > start_lo + 1e-9) | (hi < start_hi - 1e-9)
        lo, hi, n, sol.undecided = lp_bounds(a, rlo, rhi, lo, hi, integer, targets, dirty, budget, zero_harmless)
        sol.lp_solves = n
        plo, phi, bad = propagate(a, rlo, rhi, lo, hi, integer)
        if not bad.any():
            lo, hi = plo, phi
    sol.lo, sol.hi = lo, hi
    return sol


@dataclass
class _Entries:
    """A constraint matrix in coordinate form, converted once for the many propagation passes."""

    r: np.ndarray
    c: np.ndarray
    v: np.ndarray
    m: int

    @classmethod
    def of(cls, a: sparse.csr_matrix) -> _Entries:
        coo = a.tocoo()
        return cls(coo.row, coo.col, coo.data, a.shape[0])


def _activity(e: _Entries, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per entry and per row: the finite parts of the smallest and largest row activity, and how many
    infinite contributions each has (cells are >= 0, so only upper bounds are infinite)."""
    pos = e.v > 0
    at_min = np.where(pos, lo[e.c], hi[e.c]) * e.v
    at_max = np.where(pos, hi[e.c], lo[e.c]) * e.v
    inf_min, inf_max = np.isinf(at_min), np.isinf(at_max)
    fin_min = np.bincount(e.r, weights=np.where(inf_min, 0.0, at_min), minlength=e.m)
    fin_max = np.bincount(e.r, weights=np.where(inf_max, 0.0, at_max), minlength=e.m)
    n_min = np.bincount(e.r, weights=inf_min, minlength=e.m)
    n_max = np.bincount(e.r, weights=inf_max, minlength=e.m)
    return at_min, at_max, inf_min, inf_max, fin_min, fin_max, n_min, n_max


def _consistent_rows(
    a: sparse.csr_matrix, rlo: np.ndarray, rhi: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Rows the starting bounds can satisfy on their own."""
    *_, fin_min, fin_max, n_min, n_max = _activity(_Entries.of(a), lo, hi)
    smallest = np.where(n_min > 0, -np.inf, fin_min)
    largest = np.where(n_max > 0, np.inf, fin_max)
    tol = EPS * (1 + np.abs(rlo).clip(max=1e12) + np.abs(rhi).clip(max=1e12))
    return (smallest <= rhi + tol) & (largest >= rlo - tol)


def propagate(
    a: sparse.csr_matrix,
    rlo: np.ndarray,
    rhi: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    integer: np.ndarray,
    max_rounds: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds after repeated row-by-row tightening; the third array marks cells left with no value (lo > hi)."""
    lo, hi = lo.copy(), hi.copy()
    e = _Entries.of(a)
    for _ in range(max_rounds):
        nlo, nhi = _tighten_once(e, rlo, rhi, lo, hi)
        nlo = np.where(integer, np.ceil(nlo - EPS), nlo)
        nhi = np.where(integer, np.floor(nhi + EPS), nhi)
        nlo, nhi = np.maximum(lo, nlo), np.minimum(hi, nhi)
        bad = nlo > nhi + EPS * (1 + np.abs(nlo))
        if bad.any():
            return nlo, nhi, bad
        with np.errstate(invalid="ignore"):
            up = nlo - lo
            down = np.where(np.isinf(hi) & np.isinf(nhi), 0.0, hi - nhi)
        moved = (up > 1e-9 * (1 + np.abs(lo))) | (down > 1e-9 * (1 + np.abs(nhi)))
        big = integer | (up > 1e-3) | (down > 1e-3)
        lo, hi = nlo, np.maximum(nhi, nlo)
        if not (moved & big).any():
            break
    return lo, hi, np.zeros(len(lo), dtype=bool)


def _tighten_once(
    e: _Entries, rlo: np.ndarray, rhi: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One pass: every (row, cell) entry bounds its cell by the row's bounds less the others' extremes."""
    at_min, at_max, inf_min, inf_max, fin_min, fin_max, n_min, n_max = _activity(e, lo, hi)
    r, c, v = e.r, e.c, e.v
    rest_min = fin_min[r] - np.where(inf_min, 0.0, at_min)
    rest_max = fin_max[r] - np.where(inf_max, 0.0, at_max)
    ok_min = (n_min[r] - inf_min) == 0  # every other cell has a finite extreme
    ok_max = (n_max[r] - inf_max) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        from_hi = np.where(ok_min & np.isfinite(rhi[r]), (rhi[r] - rest_min) / v, np.nan)  # v x <= rhi - rest_min
        from_lo = np.where(ok_max & np.isfinite(rlo[r]), (rlo[r] - rest_max) / v, np.nan)  # v x >= rlo - rest_max
    pos = v > 0
    upper = np.where(pos, from_hi, from_lo)
    lower = np.where(pos, from_lo, from_hi)
    nlo, nhi = lo.copy(), hi.copy()
    good = np.isfinite(lower)
    np.maximum.at(nlo, c[good], lower[good])
    good = np.isfinite(upper)
    np.minimum.at(nhi, c[good], upper[good])
    return nlo, nhi


def _graph(a: sparse.csr_matrix, cells: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Connected components of cells and rows (bipartite graph); with ``cells``, only those cells link rows."""
    m, n = a.shape
    b = a if cells is None else a[:, :] @ sparse.diags(cells.astype(float))
    b = (b != 0).astype(np.int8)
    g = sparse.bmat([[None, b], [b.T, None]], format="csr")
    return connected_components(g, directed=False)


def _rows_of_components(a: sparse.csr_matrix, bad: np.ndarray) -> np.ndarray:
    """Rows in the components that hold any ``bad`` cell."""
    _, lab = _graph(a)
    m = a.shape[0]
    hit = np.unique(lab[m:][bad])
    return np.isin(lab[:m], hit)


def _count_components(a: sparse.csr_matrix, bad: np.ndarray) -> int:
    _, lab = _graph(a)
    return len(np.unique(lab[a.shape[0] :][bad]))


def lp_bounds(
    a: sparse.csr_matrix,
    rlo: np.ndarray,
    rhi: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    integer: np.ndarray,
    targets: np.ndarray,
    dirty: np.ndarray | None = None,
    budget: LPBudget | None = None,
    zero_harmless: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """LP bounds for the target cells still unknown, component by component of the unknown cells: probes first,
    then each cell the probes leave open gets its own minimum and maximum. A tree of cells and rows is skipped
    (propagation gives its exact bounds). Also returns the targets left open when ``budget`` ran out."""
    lo, hi, budget = lo.copy(), hi.copy(), budget if budget is not None else LPBudget(np.iinfo(np.int64).max)
    harmless = np.zeros(len(lo), dtype=bool) if zero_harmless is None else zero_harmless
    undecided = np.zeros(len(lo), dtype=bool)
    free = hi - lo > EPS
    todo = targets & free & (np.asarray(abs(a).sum(axis=0)).ravel() > 0)
    if not todo.any():
        return lo, hi, 0, undecided
    _, lab = _graph(a, free)
    cell_lab, row_lab = lab[a.shape[0] :], lab[: a.shape[0]]
    todo &= _cyclic(a, free, cell_lab, row_lab)[cell_lab]
    if dirty is not None:
        todo &= np.isin(cell_lab, np.unique(cell_lab[dirty & free]))
    fixed = a @ np.where(free, 0.0, lo)
    order = np.argsort(cell_lab, kind="stable")
    starts = np.searchsorted(cell_lab[order], np.unique(cell_lab[todo]))
    row_order = np.argsort(row_lab, kind="stable")
    solves = 0
    comps = np.unique(cell_lab[todo])
    size = np.bincount(row_lab, minlength=int(comps.max(initial=0)) + 1)[comps]
    by_size = np.argsort(size, kind="stable")  # small components first: most are decided before the budget runs out
    for comp, st in zip(comps[by_size], starts[by_size]):
        c_all = order[st : st + int(np.searchsorted(cell_lab[order][st:], comp, side="right"))]
        c_cols = c_all[free[c_all]]
        lo_r, hi_r = np.searchsorted(row_lab[row_order], [comp, comp + 1])
        c_rows = row_order[lo_r:hi_r]
        if len(c_rows) == 0 or len(c_cols) == 0:
            continue
        if budget.exhausted():
            undecided[c_cols[todo[c_cols]]] = True
            continue
        part = _Merged.of(
            a[c_rows][:, c_cols], rlo[c_rows] - fixed[c_rows], rhi[c_rows] - fixed[c_rows], lo[c_cols], hi[c_cols]
        )
        got = part.bounds(todo[c_cols], budget, harmless[c_cols])
        solves += got[2]
        if got[0] is None:
            continue  # infeasible: claim nothing here
        clo, chi, _, left = got
        undecided[c_cols[left]] = True
        ints = integer[c_cols]
        clo = np.where(ints, np.ceil(clo - LP_EPS * (1 + np.abs(clo))), clo - LP_EPS)
        chi = np.where(ints, np.floor(chi + LP_EPS * (1 + np.abs(chi))), chi + LP_EPS)
        lo[c_cols] = np.maximum(lo[c_cols], clo)
        hi[c_cols] = np.maximum(np.minimum(hi[c_cols], chi), lo[c_cols])
    return lo, hi, solves, undecided


@dataclass
class _Merged:
    """A component with every pair of cells that a row holds equal (``x_a - x_b = 0``: the same quantity in two
    tables, a shared denominator) made one unknown: the LPs get smaller."""

    comp: _Component
    of_cell: np.ndarray  # each cell's unknown

    @classmethod
    def of(cls, a: sparse.csr_matrix, rlo: np.ndarray, rhi: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> _Merged:
        a = a.tocsr()
        nnz = np.diff(a.indptr)
        pair = (nnz == 2) & (rlo == 0) & (rhi == 0)
        pair &= np.isclose(np.asarray(a.sum(axis=1)).ravel(), 0) & np.isclose(np.asarray(abs(a).sum(axis=1)).ravel(), 2)
        n = a.shape[1]
        ends = a[pair].tocsr()  # each row's two cells, in column order
        cols = ends.indices.reshape(-1, 2)
        link = sparse.coo_matrix((np.ones(len(cols)), (cols[:, 0], cols[:, 1])), shape=(n, n))
        k, lab = connected_components(link, directed=False)
        to = sparse.csr_matrix((np.ones(n), (np.arange(n), lab)), shape=(n, k))
        m_lo = np.full(k, -np.inf)
        m_hi = np.full(k, np.inf)
        np.maximum.at(m_lo, lab, lo)
        np.minimum.at(m_hi, lab, hi)
        keep = ~pair
        return cls(_Component((a[keep] @ to).tocsr(), rlo[keep], rhi[keep], m_lo, np.maximum(m_hi, m_lo)), lab)

    def bounds(
        self, targets: np.ndarray, budget: LPBudget, zero_harmless: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None, int, np.ndarray | None]:
        """Each cell's LP minimum and maximum (None when the LP is infeasible), the LPs solved, and the targets
        left undecided."""
        t = np.bincount(self.of_cell, weights=targets.astype(float), minlength=self.comp.n) > 0
        harmful = targets & ~zero_harmless
        harmless = t & (np.bincount(self.of_cell, weights=harmful.astype(float), minlength=self.comp.n) == 0)
        seen, n = self.comp.probe(t, harmless)
        budget.spend(n)
        if seen is None:
            return None, None, n, None
        open_zero = harmless & (seen[0] < 0.5)  # a solution puts it at 0: pinned or not, no leak
        clo, chi, n2, left = self.comp.exact(t & ~open_zero, *seen, budget=budget)
        lab = self.of_cell
        return clo[lab], chi[lab], n + n2, left[lab] & targets


def _cyclic(a: sparse.csr_matrix, free: np.ndarray, cell_lab: np.ndarray, row_lab: np.ndarray) -> np.ndarray:
    """Per component label: whether its free cells and rows contain a cycle (entries > cells + rows - 1)."""
    k = int(max(cell_lab.max(initial=0), row_lab.max(initial=0))) + 1
    coo = a.tocoo()
    keep = free[coo.col]
    entries = np.bincount(row_lab[coo.row[keep]], minlength=k)
    rows_used = np.zeros(a.shape[0], dtype=bool)
    rows_used[coo.row[keep]] = True
    n_rows = np.bincount(row_lab[rows_used], minlength=k)
    n_cells = np.bincount(cell_lab[free], minlength=k)
    return entries > n_cells + n_rows - 1


def _settled(seen_lo: np.ndarray, seen_hi: np.ndarray) -> np.ndarray:
    """Cells two seen solutions put on different whole numbers (after rounding inwards): never pinned."""
    return np.ceil(seen_lo - LP_EPS) < np.floor(seen_hi + LP_EPS)


class _Component:
    """Cells and rows as one LP: probes with random objectives, then each open cell's minimum and maximum."""

    def __init__(self, a: sparse.csr_matrix, rlo: np.ndarray, rhi: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        eq = np.isclose(rlo, rhi, rtol=0, atol=1e-12)
        ub_hi = ~eq & np.isfinite(rhi)
        ub_lo = ~eq & np.isfinite(rlo)
        self.a_eq = a[eq] if eq.any() else None
        self.b_eq = rlo[eq] if eq.any() else None
        self.a_ub = sparse.vstack([a[ub_hi], -a[ub_lo]]).tocsr() if (ub_hi.any() or ub_lo.any()) else None
        self.b_ub = np.concatenate([rhi[ub_hi], -rlo[ub_lo]]) if self.a_ub is not None else None
        finite = hi[np.isfinite(hi)]
        scale = np.abs(np.concatenate([rlo[np.isfinite(rlo)], rhi[np.isfinite(rhi)], finite, [0.0]]))
        cap = 2 * float(scale.max()) + 1e4
        self.bounds_ = np.column_stack([lo, np.where(np.isfinite(hi), hi, np.inf)])
        self.capped_ = np.column_stack([lo, np.where(np.isfinite(hi), hi, cap)])
        self.n = a.shape[1]
        self.lo, self.hi = lo, hi
        self.warm = _Warm.of(a, rlo, rhi)

    def _solve(self, c: np.ndarray, capped: bool = False) -> tuple[int, np.ndarray | None]:
        """One LP; ``capped`` (a probe) bounds unbounded cells by a large number, so a probe always has an
        optimum (any point it finds is still a solution of the uncapped problem, which is all a probe needs)."""
        bounds = self.capped_ if capped else self.bounds_
        if self.warm is not None:
            return self.warm.solve(c, bounds, fresh=capped)
        res = linprog(c, A_ub=self.a_ub, b_ub=self.b_ub, A_eq=self.a_eq, b_eq=self.b_eq, bounds=bounds, method="highs")
        return res.status, (res.x if res.status == 0 else None)

    def probe(
        self, targets: np.ndarray, zero_harmless: np.ndarray | None = None
    ) -> tuple[tuple[np.ndarray, np.ndarray] | None, int]:
        """Smallest and largest value each cell took over a few LPs (None: infeasible). The first pair uses random
        signed objectives; later ones push every cell still open away from the one value seen for it."""
        seen_lo, seen_hi = np.full(self.n, np.inf), np.full(self.n, -np.inf)
        rng = np.random.default_rng(0)
        solves, left = 0, int(targets.sum())
        w = rng.uniform(0.5, 1.5, self.n) * rng.choice([-1.0, 1.0], self.n) * targets
        objectives = [w, -w]
        for probe in range(PROBES):
            for c in objectives:
                status, x = self._solve(c, capped=True)
                solves += 1
                if x is None:
                    return None, solves
                np.minimum(seen_lo, x, out=seen_lo)
                np.maximum(seen_hi, x, out=seen_hi)
            todo = targets & ~_settled(seen_lo, seen_hi)
            if zero_harmless is not None:
                todo &= ~(zero_harmless & (seen_lo < 0.5))
            now = int(todo.sum())
            # the random pair may settle few cells (many small cells compete for one whole's room); the pushes
            # after it go on while they settle at least a twentieth of what is left each
            if now == 0 or (probe and now > 0.95 * left):
                break
            left = now
            room_up = np.minimum(self.hi, seen_hi + 1e6) - seen_hi
            objectives = [np.where(todo, np.where(room_up >= seen_lo - self.lo, -1.0, 1.0), 0.0)]
        return (seen_lo, seen_hi), solves

    def exact(
        self, targets: np.ndarray, seen_lo: np.ndarray, seen_hi: np.ndarray, budget: LPBudget | None = None
    ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """LP minimum and maximum of each target the probes left open; the LPs solved; the targets not reached
        before ``budget`` ran out."""
        lo, hi = self.lo.copy(), self.hi.copy()
        seen_lo, seen_hi = seen_lo.copy(), seen_hi.copy()
        solves = 0
        left = np.zeros(self.n, dtype=bool)
        for j in np.flatnonzero(targets & ~_settled(seen_lo, seen_hi)):
            if budget is not None and budget.exhausted():
                left[j] = not _settled(seen_lo[j : j + 1], seen_hi[j : j + 1])[0]
                continue
            for sign in (1, -1):
                if _settled(seen_lo[j : j + 1], seen_hi[j : j + 1])[0]:
                    break
                at_bound = seen_lo[j] <= self.lo[j] + LP_EPS if sign == 1 else seen_hi[j] >= self.hi[j] - LP_EPS
                if at_bound:  # a solution already reaches the cell's bound: this LP could show nothing more
                    continue
                c = np.zeros(self.n)
                c[j] = sign
                status, x = self._solve(c)
                solves += 1
                if budget is not None:
                    budget.spend(1)
                if status == 3 and sign == -1:  # unbounded above
                    seen_hi[j] = np.inf
                if x is None:
                    continue
                np.minimum(seen_lo, x, out=seen_lo)
                np.maximum(seen_hi, x, out=seen_hi)
                if sign == 1:
                    lo[j] = max(lo[j], x[j])
                else:
                    hi[j] = min(hi[j], x[j])
        return lo, hi, solves, left


class _Warm:
    """One component's LP kept in HiGHS between solves, so each new objective starts from the last basis (the
    cell-by-cell minima and maxima then take a few simplex steps each instead of a solve from scratch). HiGHS is
    the solver ``linprog(method="highs")`` runs; its object is reached through scipy's bundled ``highspy``. Where
    that is not there, ``_Component`` calls ``linprog`` instead (same answers, slower). Statuses follow
    ``linprog``: 0 optimal, 2 infeasible, 3 unbounded."""

    def __init__(self, core: object, h: object, n: int):
        self.core, self.h, self.n = core, h, n
        self.idx = np.arange(n, dtype=np.int32)
        self.bounds: np.ndarray | None = None

    @classmethod
    def of(cls, a: sparse.csr_matrix, rlo: np.ndarray, rhi: np.ndarray) -> _Warm | None:
        try:
            from scipy.optimize._highspy import _core as core
        except ImportError:  # pragma: no cover - scipy without its bundled highspy
            return None
        h = core._Highs()
        h.setOptionValue("output_flag", False)
        # primal simplex: a new objective leaves the last basis primal feasible, so the next optimum is a few
        # pivots away (HiGHS's default dual simplex starts over: about 15 times slower on a large component)
        h.setOptionValue("simplex_strategy", 4)
        inf = h.getInfinity()
        m, n = a.shape
        csc = a.tocsc()
        lp = core.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.zeros(n), np.zeros(n), np.full(n, inf)
        lp.row_lower_ = np.where(np.isfinite(rlo), rlo, -inf)
        lp.row_upper_ = np.where(np.isfinite(rhi), rhi, inf)
        mat = lp.a_matrix_
        mat.format_ = core.MatrixFormat.kColwise
        mat.start_, mat.index_, mat.value_ = csc.indptr, csc.indices, csc.data
        mat.num_col_, mat.num_row_ = n, m
        if h.passModel(lp) != core.HighsStatus.kOk:
            return None
        return cls(core, h, n)

    def solve(self, c: np.ndarray, bounds: np.ndarray, fresh: bool = False) -> tuple[int, np.ndarray | None]:
        """``fresh``: an objective unlike the last (a probe), solved by interior point and crossover (about 6
        times faster than simplex there on a component of thousands of cells); otherwise primal simplex from
        the last basis (a few pivots for the next cell's minimum or maximum)."""
        h, st = self.h, self.core.HighsModelStatus
        h.setOptionValue("solver", "ipm" if fresh else "simplex")
        if self.bounds is None or not np.array_equal(self.bounds, bounds):
            inf = h.getInfinity()
            h.changeColsBounds(self.n, self.idx, bounds[:, 0], np.where(np.isfinite(bounds[:, 1]), bounds[:, 1], inf))
            self.bounds = bounds
        h.changeColsCost(self.n, self.idx, np.asarray(c, dtype=float))
        h.run()
        status = h.getModelStatus()
        if status == st.kOptimal:
            return 0, np.asarray(h.getSolution().col_value, dtype=float)
        if status == st.kInfeasible:
            return 2, None
        if status in (st.kUnbounded, st.kUnboundedOrInfeasible):
            return 3, None
        return 4, None  # anything else (time or iteration limit): no solution, nothing claimed
