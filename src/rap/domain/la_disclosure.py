"""One suppression pattern for every local-authority (LA) count a build publishes, whatever table it is in.

Why one pattern: an LA count is often published in several tables (children looked after by ethnic group are
the LA chapter's numbers, the dashboard's rate numerators and its placement percentages' denominators); LA
counts add up to their LA's all-groups count and to regional and national counts; and a part published
beside its whole gives their difference. A cell hidden in one table must be hidden in all of them, and the
hiding must survive every one of those equations at once, not one equation at a time.

The scheme (the project's disclosure notes give it in words):

* primary: counts of 1 to ``threshold`` are hidden;
* parts and wholes (:class:`Relation`: children in foster care within children looked after): a part is hidden
  wherever its whole is; where a whole and some of its parts are all shown, their difference (a count that is
  never published itself: "6 of 7" says 1 child is not) must not be 1 to ``threshold``, else the smallest of
  those parts is hidden too;
* secondary, by certificates: every hidden cell must lie on a *move*, a change of +1 and -1 to hidden cells that
  keeps every published figure as it is: each LA's all-groups count, England's counts (taken as known exactly,
  whatever their rounding), regional counts within their rounding (taken as known exactly for moves inside one
  region), every part within its whole and no count below 0. A hidden cell on such a move has at least two
  values that fit everything published, so no combination of equations recovers it. Moves are added where a
  hidden cell has none, cheapest first (the hypercube method of Statistics Netherlands' tau-ARGUS, for the
  equations of LA tables).

Cells are given as a long frame: ``quantity``, ``time_period``, ``new_la_code``, ``region_code``, ``group``
(an ethnic group; ``total`` labels the LA's all-groups cell) and ``value`` (NaN where not published). Years
are independent: no equation runs across them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import combinations

import numpy as np
import pandas as pd
import yaml

from rap.core.errors import RapError

__all__ = [
    "QUANTITY_COLUMNS",
    "Relation",
    "la_cells",
    "la_pattern",
    "la_quantities",
    "protect_la_counts",
    "quantity_of",
    "region_slack",
]

#: The columns of a frame of LA cells (:func:`la_cells`, :func:`protect_la_counts`).
QUANTITY_COLUMNS = ["quantity", "time_period", "new_la_code", "region_code", "group", "value"]

TOTAL_PENALTY = 20.0  # hiding an LA's all-groups count loses more than hiding one group's
UP, DOWN = 0, 1


@dataclass(frozen=True)
class Relation:
    """``whole`` = the sum of ``parts`` plus a remainder that is not published for LAs (never below 0).

    ``remainder_split``: the remainder's pieces are published for regions (placement types other than the
    three the dashboard shows), so a move may not change a region's remainder."""

    whole: str
    parts: tuple[str, ...]
    remainder_split: bool = False


@dataclass
class _Year:
    """One year's cells as dense arrays [quantity, LA, group]."""

    names: list[str]
    groups: list[str]
    total: int | None
    value: np.ndarray  # float, NaN where not published
    hidden: np.ndarray  # bool
    primary: np.ndarray
    covered: np.ndarray  # hidden cells known to lie on a move
    region: np.ndarray  # region index of each LA
    slack: np.ndarray  # [quantity, region, group, UP/DOWN]: how far the region's count may move within its rounding
    national_slack: np.ndarray  # [quantity, group, UP/DOWN]: England's (0 for the all-groups count: exact)
    part_of: dict[int, int] = field(default_factory=dict)  # quantity -> relation it is a part of
    whole_of: dict[int, list[int]] = field(default_factory=dict)  # quantity -> relations it is the whole of
    relations: list[tuple[int, list[int], bool]] = field(default_factory=list)  # (whole, parts, remainder_split)
    remainder: dict[int, np.ndarray] = field(default_factory=dict)  # relation -> [LA, group] remainder
    cost: np.ndarray | None = None
    unprotected: list[tuple[int, int, int]] = field(default_factory=list)


def region_slack(totals: np.ndarray, threshold: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """How far each regional count may rise and fall and still be published as it is: rounded half up to
    ``base`` (a rounded count R stands for R - base/2 to R + base/2 - 1), ``c`` for 0 to the largest hidden
    count (a regional 0 is ``c`` too). Counts above the hidden range never move into it (it would show as ``c``)."""
    t = np.asarray(totals, dtype=float)
    hmax = max(threshold, -(-base // 2) - 1)
    r = np.floor(t / base + 0.5) * base
    lo = np.maximum(r - base // 2, hmax + 1)
    hi = r + (base - base // 2) - 1
    small = (t >= 0) & (t <= hmax)
    lo, hi = np.where(small, 0, lo), np.where(small, hmax, hi)
    return np.where(np.isfinite(t), hi - t, 0), np.where(np.isfinite(t), t - lo, 0)


# --------------------------------------------------------------------------------------------------
# the year's arrays


def _year(cells: pd.DataFrame, relations: Sequence[Relation], threshold: int, base: int, total: str) -> _Year:
    """Dense arrays of one year's cells, their regions' rounding slack and the relations between quantities."""
    names = _topological(sorted(cells["quantity"].unique()), relations)
    las = np.sort(cells["new_la_code"].unique())
    groups = sorted(cells["group"].astype(str).unique())  # the pattern must not depend on the rows' order
    f = pd.Index(names).get_indexer(cells["quantity"])
    a = pd.Index(las).get_indexer(cells["new_la_code"])
    g = pd.Index(groups).get_indexer(cells["group"])
    value = np.full((len(names), len(las), len(groups)), np.nan)
    value[f, a, g] = cells["value"].to_numpy(float)
    region_of = cells.drop_duplicates("new_la_code").set_index("new_la_code")["region_code"].reindex(las)
    regions, region = np.unique(region_of.fillna("").to_numpy(str), return_inverse=True)
    sums = np.zeros((len(names), len(regions), len(groups)))
    np.add.at(sums, (slice(None), region, slice(None)), np.nan_to_num(value))
    up, down = region_slack(sums, threshold, base)
    n_up, n_down = region_slack(sums.sum(axis=1), threshold, base)
    if total in groups:  # England's all-groups counts may be published exactly (data availability's row counts)
        n_up[:, groups.index(total)] = n_down[:, groups.index(total)] = 0
    y = _Year(
        names=names,
        groups=groups,
        total=groups.index(total) if total in groups else None,
        value=value,
        hidden=np.zeros(value.shape, dtype=bool),
        primary=np.zeros(value.shape, dtype=bool),
        covered=np.zeros(value.shape, dtype=bool),
        region=region,
        slack=np.stack([up, down], axis=-1),
        national_slack=np.stack([n_up, n_down], axis=-1),
    )
    _link(y, relations)
    return y


def _topological(names: list[str], relations: Sequence[Relation]) -> list[str]:
    """Quantities with every whole before its parts (so a part hidden because its whole is comes later)."""
    parents = {p: r.whole for r in relations for p in r.parts}
    depth = {}
    for n in names:
        d, m = 0, n
        while m in parents:
            d, m = d + 1, parents[m]
            if d > len(names):
                raise ValueError(f"relations between LA quantities form a cycle through {n!r}")
        depth[n] = d
    return sorted(names, key=lambda n: (depth[n], names.index(n)))


def _link(y: _Year, relations: Sequence[Relation]) -> None:
    """The relations among the year's quantities, with each cell's remainder (+inf where the whole is not
    published: nothing bounds a part there)."""
    idx = {n: i for i, n in enumerate(y.names)}
    for rel in relations:
        if rel.whole not in idx:
            continue
        parts = [idx[p] for p in rel.parts if p in idx]
        if not parts:
            continue
        r = len(y.relations)
        w = idx[rel.whole]
        y.relations.append((w, parts, rel.remainder_split))
        y.whole_of.setdefault(w, []).append(r)
        for p in parts:
            if p in y.part_of:
                raise ValueError(f"LA quantity {y.names[p]!r} is a part of two wholes")
            y.part_of[p] = r
        rem = y.value[w] - np.nansum(y.value[parts], axis=0)
        y.remainder[r] = np.where(np.isnan(y.value[w]), np.inf, rem)


# --------------------------------------------------------------------------------------------------
# primary suppression and the rules of parts and wholes


def _hide_parts(y: _Year, where: np.ndarray, f: int) -> None:
    """Hide, at the cells ``where`` (a mask [LA, group]) of quantity ``f``, every part of it (and theirs) that is
    not 0: a part shown beside its hidden whole must not bound it (7 in foster care says the hidden whole is at
    least 7); a 0 bounds nothing and stays shown, as DfE shows zeros."""
    for r in y.whole_of.get(f, []):
        for p in y.relations[r][1]:
            y.hidden[p] |= where & (y.value[p] > 0)
            _hide_parts(y, where, p)


def _primary(y: _Year, threshold: int) -> None:
    """Counts of 1 to ``threshold``, and every part of a hidden whole."""
    with np.errstate(invalid="ignore"):
        y.primary = (y.value >= 1) & (y.value <= threshold)
    y.hidden = y.primary.copy()
    for f in range(len(y.names)):
        _hide_parts(y, y.hidden[f], f)


def _complements(y: _Year, threshold: int) -> int:
    """Hide a part wherever a shown whole less some shown parts is 1 to ``threshold`` (a small count published
    by subtraction); the smallest non-zero part of those goes. Returns how many cells were hidden."""
    added = 0
    changed = True
    while changed:
        changed = False
        for w, parts, _ in y.relations:
            shown = lambda q: ~y.hidden[q] & ~np.isnan(y.value[q])  # noqa: E731
            for k in range(1, len(parts) + 1):
                for subset in combinations(parts, k):
                    ok = shown(w)
                    for p in subset:
                        ok &= shown(p)
                    rem = y.value[w] - sum(y.value[p] for p in subset)
                    bad = ok & (rem >= 1) & (rem <= threshold)
                    if not bad.any():
                        continue
                    vals = np.stack([np.where(y.value[p] > 0, y.value[p], np.inf) for p in subset])
                    pick = np.argmin(vals, axis=0)
                    for i, p in enumerate(subset):
                        cells = bad & (pick == i)
                        y.hidden[p] |= cells
                        _hide_parts(y, cells, p)
                    added += int(bad.sum())
                    changed = True
    return added


# --------------------------------------------------------------------------------------------------
# moves: changes to hidden cells that keep every published figure


@dataclass
class _Moves:
    """Candidate moves, one per row: the corners' LAs, groups and signs (+1 the cell rises, -1 it falls).
    ``local``: every corner in one region, so the move keeps every regional and national sum (a rectangle of two
    LAs and two groups, or a pair of LAs); otherwise ``national`` holds each corner's change to England's count of
    its group."""

    la: np.ndarray
    gr: np.ndarray
    sg: np.ndarray
    local: bool
    national: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.local and self.national is None:
            self.national = ((self.gr[:, :, None] == self.gr[:, None, :]) * self.sg[:, None, :]).sum(axis=2)

    def rows(self, idx: np.ndarray) -> _Moves:
        nat = None if self.national is None else self.national[idx]
        return _Moves(self.la[idx], self.gr[idx], self.sg[idx], self.local, nat)


def _region_change(y: _Year, m: _Moves) -> np.ndarray:
    """Per corner: the change the move makes to the corner's region's count of the corner's group."""
    reg = y.region[m.la]
    same = (m.gr[:, :, None] == m.gr[:, None, :]) & (reg[:, :, None] == reg[:, None, :])
    return (same * m.sg[:, None, :]).sum(axis=2)


def _within_rounding(y: _Year, f: int, m: _Moves) -> np.ndarray:
    """Moves that keep quantity ``f``'s regional and national counts within their rounding (England's
    all-groups count exactly)."""
    if m.local:
        return np.ones(len(m.la), dtype=bool)
    ok = np.ones(len(m.la), dtype=bool)
    for change, room in (
        (_region_change(y, m), y.slack[f][y.region[m.la], m.gr]),
        (m.national, y.national_slack[f][m.gr]),
    ):
        ok &= ((change <= 0) | (room[..., UP] >= change)).all(axis=1)
        ok &= ((change >= 0) | (room[..., DOWN] >= -change)).all(axis=1)
    return ok


def _regions_unchanged(y: _Year, m: _Moves) -> np.ndarray:
    if m.local:
        return np.ones(len(m.la), dtype=bool)
    return (_region_change(y, m) == 0).all(axis=1)


def _fits(y: _Year, f: int, m: _Moves, depth: int = 0, via: tuple[int, int] | None = None) -> np.ndarray:
    """Which moves of quantity ``f`` keep every published figure: cells published, none below 0, England and the
    regions as published, a part within its whole (the whole does not move: at ``depth`` 0 only) and, where
    ``f`` is a whole, each of its relations followed by a part or by the remainder (``via``: relation r must be
    followed by part p). Each test runs on the moves that passed the ones before."""
    v = y.value[f][m.la, m.gr]
    ok = ~np.isnan(v).any(axis=1) & ((m.sg > 0) | (v >= 1)).all(axis=1)
    ok &= _within_rounding(y, f, m)
    if f in y.part_of and depth == 0:
        r = y.part_of[f]
        ok &= ((m.sg < 0) | (y.remainder[r][m.la, m.gr] >= 1)).all(axis=1)
        if y.relations[r][2]:
            ok &= _regions_unchanged(y, m)
    for r in y.whole_of.get(f, []):
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            break
        sub = m.rows(idx)
        ok[idx] = _follows(y, via[1], sub, depth) if via is not None and via[0] == r else _absorbed(y, r, sub, depth)
    return ok


def _follows(y: _Year, p: int, m: _Moves, depth: int) -> np.ndarray:
    """Moves part ``p`` can make with its whole, by the same move (it is hidden at their corners when applied)."""
    return _fits(y, p, m, depth + 1)


def _remainder_follows(y: _Year, r: int, m: _Moves) -> np.ndarray:
    """Moves of relation ``r``'s whole its remainder can take alone: it stays at or above 0, and a remainder
    published in pieces for regions keeps its regions' counts."""
    ok = ((m.sg > 0) | (y.remainder[r][m.la, m.gr] >= 1)).all(axis=1)
    return ok & _regions_unchanged(y, m) if y.relations[r][2] else ok


def _absorbed(y: _Year, r: int, m: _Moves, depth: int) -> np.ndarray:
    """Moves of relation ``r``'s whole that its remainder or one of its parts (by the same move) can follow."""
    ok = _remainder_follows(y, r, m)
    if depth < 4:
        for p in y.relations[r][1]:
            idx = np.flatnonzero(~ok)
            if len(idx) == 0:
                break
            ok[idx] = _follows(y, p, m.rows(idx), depth)
    return ok


def _followers(y: _Year, f: int, m: _Moves, depth: int = 0) -> list[int]:
    """For one move of ``f`` that fits (``m`` of one row): the parts that move with it, one per relation whose
    remainder cannot take the move alone (and theirs, in turn); they must be hidden at every corner."""
    out = []
    for r in y.whole_of.get(f, []):
        if _remainder_follows(y, r, m)[0]:
            continue
        for p in y.relations[r][1]:
            if _follows(y, p, m, depth)[0]:
                out += [p, *_followers(y, p, m, depth + 1)]
                break
    return out


def _candidates(y: _Year, a: int, g: int, others: np.ndarray, local: bool) -> _Moves:
    """Every move through cell (LA ``a``, group ``g``) with one of ``others`` (LAs): the rectangle of two LAs
    and two groups (the all-groups count as one of them moves with the group), both ways round; for a quantity
    published for one group only, the pair of LAs."""
    t = y.total
    if t is None or len(y.groups) == 1:
        la = np.stack([np.full(len(others), a), others], axis=1)
        gr = np.full(la.shape, g)
        sg = np.tile([1, -1], (len(others), 1))
    else:
        hs = np.array([h for h in range(len(y.groups)) if h != g])
        b, h = (m.ravel() for m in np.meshgrid(others, hs, indexing="ij"))
        la = np.stack([np.full(len(b), a), np.full(len(b), a), b, b], axis=1)
        gr = np.stack([np.full(len(b), g), h, np.full(len(b), g), h], axis=1)
        with_total = (h == t) | (g == t)
        sg = np.where(with_total[:, None], [1, 1, -1, -1], [1, -1, -1, 1])
    return _Moves(np.concatenate([la, la]), np.concatenate([gr, gr]), np.concatenate([sg, -sg]), local)


def _swaps(y: _Year, a: int, g: int) -> _Moves | None:
    """Moves inside LA ``a``: a child of group ``g`` counted in another group instead (the LA's all-groups count
    stays; the groups' regional and national counts change by one, within their rounding)."""
    hs = np.array([h for h in range(len(y.groups)) if h not in (g, y.total)])
    if y.total is None or g == y.total or len(hs) == 0:
        return None
    la = np.full((len(hs), 2), a)
    gr = np.stack([np.full(len(hs), g), hs], axis=1)
    sg = np.tile([1, -1], (len(hs), 1))
    return _Moves(np.concatenate([la, la]), np.concatenate([gr, gr]), np.concatenate([sg, -sg]), False)


# --------------------------------------------------------------------------------------------------
# secondary suppression: a move through every hidden cell


def _costs(y: _Year) -> np.ndarray:
    """What hiding each cell loses: its count (plus one, so hiding a 0 is not free), more for an all-groups
    count, plus what its parts lose, since they are hidden with it."""
    cost = 1 + np.nan_to_num(y.value)
    if y.total is not None:
        cost[:, :, y.total] += TOTAL_PENALTY
    for f in reversed(range(len(y.names))):  # parts come after wholes: add parts' costs bottom up
        for r in y.whole_of.get(f, []):
            for p in y.relations[r][1]:
                cost[f] += np.where(np.isnan(y.value[p]), 0, cost[p])
    return cost


def _best_move(y: _Year, f: int, a: int, g: int) -> tuple[_Moves, int, int | None] | None:
    """The cheapest move through (``a``, ``g``): its own, or, for a part, its whole's that it follows. Moves
    with LAs of the same region and swaps inside the LA are tried first, moves with LAs of other regions only
    when those fail. Returns (moves, the chosen row, the whole that moves with it or None); None if none fits."""
    same = np.flatnonzero((y.region == y.region[a]) & (np.arange(len(y.region)) != a))
    rest = np.flatnonzero(y.region != y.region[a])
    first = [lambda: _candidates(y, a, g, same, True)] if len(same) else []
    first.append(lambda: _swaps(y, a, g))
    for sets in (first, [lambda: _candidates(y, a, g, rest, False)] if len(rest) else []):
        best = None
        for make in sets:
            m = make()
            if m is None:
                continue
            for whole, ok, cost in _options(y, f, m):
                if ok.any():
                    i = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
                    if best is None or cost[i] < best[0]:
                        best = (cost[i], m, i, whole)
        if best is not None:
            return best[1], best[2], best[3]
    return None


def _options(y: _Year, f: int, m: _Moves) -> list[tuple[int | None, np.ndarray, np.ndarray]]:
    """(the whole that moves too or None, which moves fit, their cost): ``f`` alone, and a part with its whole."""
    out = [(None, _fits(y, f, m), _move_cost(y, f, m))]
    r = y.part_of.get(f)
    if r is not None:
        w = y.relations[r][0]
        out.append((w, _fits(y, w, m, via=(r, f)), _move_cost(y, w, m) + _move_cost(y, f, m)))
    return out


def _move_cost(y: _Year, f: int, m: _Moves) -> np.ndarray:
    return np.where(y.hidden[f][m.la, m.gr], 0.0, y.cost[f][m.la, m.gr]).sum(axis=1)


def _apply(y: _Year, f: int, la: np.ndarray, gr: np.ndarray) -> None:
    """Hide the corners of a move of quantity ``f`` (and its parts there that are not 0); they lie on the move."""
    cells = np.zeros(y.hidden[f].shape, dtype=bool)
    cells[la, gr] = True
    y.hidden[f] |= cells
    y.covered[f] |= cells
    _hide_parts(y, cells, f)


def _cover(y: _Year) -> int:
    """Give every hidden cell a move, quantity by quantity (wholes first: hiding a whole hides its parts, which
    are covered in their turn). Returns how many cells were hidden for it."""
    y.cost = _costs(y)
    before = int(y.hidden.sum())
    for f in range(len(y.names)):
        for a, g in zip(*np.nonzero(y.hidden[f] & ~y.covered[f])):
            if y.covered[f, a, g]:
                continue
            found = _best_move(y, f, int(a), int(g))
            if found is None:
                y.unprotected.append((f, int(a), int(g)))
                continue
            m, i, whole = found
            one = _Moves(m.la[i : i + 1], m.gr[i : i + 1], m.sg[i : i + 1], m.local)
            movers = [f] if whole is None else [whole, f]
            movers += _followers(y, movers[0], one, 0) if whole is None else []
            if whole is not None:  # the whole's other relations, and the part's own
                movers += [q for q in _followers(y, whole, one, 0) if q != f] + _followers(y, f, one, 1)
            for q in movers:
                _apply(y, q, one.la[0], one.gr[0])
    return int(y.hidden.sum()) - before


def protect_la_counts(
    cells: pd.DataFrame,
    relations: Sequence[Relation],
    threshold: int,
    rounding_base: int,
    *,
    total: str = "Total",
) -> pd.DataFrame:
    """The suppression of every LA cell (see the module's docstring): ``cells`` with ``suppression`` added
    ("primary", "secondary" or "none"). A hidden cell with no move is checked by a linear programme over its
    region; one that programme pins is an error (:class:`rap.core.errors.RapError`), never published."""
    need = ["quantity", "time_period", "new_la_code", "region_code", "group", "value"]
    missing = [c for c in need if c not in cells.columns]
    if missing:
        raise ValueError(f"LA cells lack columns {missing}")
    if cells.duplicated(["quantity", "time_period", "new_la_code", "group"]).any():
        raise ValueError("each LA quantity, year and group must appear once")
    out = cells.reset_index(drop=True)
    status = np.full(len(out), "none", dtype=object)
    unprotected = []
    for year, part in out.groupby("time_period", sort=True):
        y = _year(part, relations, threshold, rounding_base, total)
        _primary(y, threshold)
        _complements(y, threshold)
        _cover(y)
        y.unprotected = _pinned_by_lp(y, y.unprotected)
        f = pd.Index(y.names).get_indexer(part["quantity"])
        a = pd.Index(np.sort(part["new_la_code"].unique())).get_indexer(part["new_la_code"])
        g = pd.Index(y.groups).get_indexer(part["group"])
        pos = out.index.get_indexer(part.index)
        status[pos] = np.where(y.primary[f, a, g], "primary", np.where(y.hidden[f, a, g], "secondary", "none"))
        las = np.sort(part["new_la_code"].unique())
        unprotected += [(y.names[q], year, las[i], y.groups[j]) for q, i, j in y.unprotected]
    out["suppression"] = status
    out.index = cells.index
    out.attrs["unprotected"] = unprotected
    if unprotected:
        raise RapError(
            f"disclosure control: {len(unprotected)} hidden LA count(s) could be worked out from the published "
            f"tables and no further suppression protects them (first: {unprotected[0][0]}, {unprotected[0][1]}, "
            f"{unprotected[0][2]}, {unprotected[0][3]}); nothing was published"
        )
    return out


# --------------------------------------------------------------------------------------------------
# the build's LA quantities (rap/data/la_disclosure.yaml) from the measures


@cache
def la_quantities() -> tuple[dict[str, list[dict[str, str]]], tuple[Relation, ...]]:
    """``rap/data/la_disclosure.yaml``: {quantity: the measures' cells that are it} and the relations."""
    with resources.files("rap.data").joinpath("la_disclosure.yaml").open("r", encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    rels = tuple(
        Relation(r["whole"], tuple(r["parts"]), bool(r.get("remainder_split", False))) for r in spec["relations"]
    )
    return spec["quantities"], rels


def quantity_of(measure: str, breakdown: str, column: str) -> str | None:
    """The LA quantity a measure's cell is (None when no LA table publishes it)."""
    for name, cells in la_quantities()[0].items():
        for c in cells:
            if c["measure"] == measure and c.get("breakdown", breakdown) == breakdown and c["column"] == column:
                return name
    return None


def la_cells(measures: pd.DataFrame) -> pd.DataFrame:
    """Every LA quantity of ``measures`` (the measures layer's tidy frame) by year, LA and major ethnic group
    (``group``; "Total" the LA's all children), in :data:`QUANTITY_COLUMNS`. Cells that are one quantity must be
    equal: a difference means the quantities file is wrong, and is an error (it would publish one count two ways)."""
    m = measures[(measures["geographic_level"] == "Local authority") & (measures["ethnicity_minor"] == "Total")]
    key = ["time_period", "new_la_code", "region_code", "ethnicity_major"]
    frames = []
    for name, members in la_quantities()[0].items():
        first = None
        for c in members:
            sel = m[(m["measure"] == c["measure"]) & (m["breakdown"] == c.get("breakdown", m["breakdown"]))]
            if sel.empty:
                continue
            vals = sel.groupby(key, sort=False, dropna=False)[c["column"]].first().astype(float)
            if first is None:
                first = vals
                continue
            both = vals.index.intersection(first.index)
            differ = both[(vals[both] != first[both]) & vals[both].notna()]
            if len(differ):
                raise ValueError(f"LA quantity {name!r}: {c} differs from {members[0]} at {differ[0]}")
        if first is not None:
            frames.append(first.rename("value").reset_index().assign(quantity=name))
    if not frames:
        return pd.DataFrame(columns=QUANTITY_COLUMNS)
    out = pd.concat(frames, ignore_index=True).rename(columns={"ethnicity_major": "group"})
    return out[QUANTITY_COLUMNS]


def la_pattern(measures: pd.DataFrame, threshold: int, rounding_base: int) -> pd.DataFrame:
    """The suppression of every LA count the build publishes, from the measures: :func:`la_cells` through
    :func:`protect_la_counts`. The same measures give the same pattern in every section that calls it."""
    return protect_la_counts(la_cells(measures), la_quantities()[1], threshold, rounding_base)


# --------------------------------------------------------------------------------------------------
# the last check: a linear programme over the region, for cells no single move was found for


def _region_lp(y: _Year, region: int) -> tuple[dict, object, np.ndarray, np.ndarray, np.ndarray] | None:
    """The region's hidden cells (of every quantity) as unknowns, with every equation and relation an outsider
    has among them: each LA's all-groups counts, the region's counts (taken as exact), each part within its
    whole, nothing below 0. Returns (cell -> column, A_eq, b_eq, A_ub, b_ub) or None if nothing is hidden."""
    from scipy import sparse

    las = np.flatnonzero(y.region == region)
    hidden = y.hidden[:, las, :]
    cells = np.argwhere(hidden)
    if len(cells) == 0:
        return None
    col = np.full(hidden.shape, -1)
    col[tuple(cells.T)] = np.arange(len(cells))
    v = np.nan_to_num(y.value[:, las, :])
    known = np.where(hidden, 0.0, v)
    eq_rows, eq_cols, eq_vals, b_eq = [], [], [], []

    def add(row_cells: list[tuple[tuple[int, int, int], float]], rhs: float, rows, cols, vals, b) -> None:
        r = len(b)
        for idx, coef in row_cells:
            rows.append(r)
            cols.append(col[idx])
            vals.append(coef)
        b.append(rhs)

    F, L, G = hidden.shape
    t = y.total
    for f in range(F):
        for g in range(G):  # region's count of each group
            idx = [((f, a, g), 1.0) for a in range(L) if hidden[f, a, g]]
            if idx:
                add(idx, float(v[f, :, g].sum() - known[f, :, g].sum()), eq_rows, eq_cols, eq_vals, b_eq)
        if t is None or G == 1:
            continue
        for a in range(L):  # each LA's groups add up to its all-groups count
            idx = [((f, a, g), 1.0 if g != t else -1.0) for g in range(G) if hidden[f, a, g]]
            if idx:
                rhs = -(known[f, a, :].sum() - known[f, a, t]) + known[f, a, t]
                add(idx, float(rhs), eq_rows, eq_cols, eq_vals, b_eq)
    ub_rows, ub_cols, ub_vals, b_ub = [], [], [], []
    for w, parts, _ in y.relations:  # parts - whole <= 0
        for a in range(L):
            for g in range(G):
                idx = [((w, a, g), -1.0)] if hidden[w, a, g] else []
                idx += [((p, a, g), 1.0) for p in parts if hidden[p, a, g]]
                if idx:
                    rhs = known[w, a, g] - sum(known[p, a, g] for p in parts)
                    add(idx, float(rhs), ub_rows, ub_cols, ub_vals, b_ub)
    n = len(cells)
    a_eq = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(len(b_eq), n))
    a_ub = sparse.csr_matrix((ub_vals, (ub_rows, ub_cols)), shape=(len(b_ub), n))
    return {tuple(c): i for i, c in enumerate(cells)}, las, a_eq, np.array(b_eq), a_ub, np.array(b_ub)


def _pinned_by_lp(y: _Year, cells: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Of ``cells`` (hidden), those a linear programme over their region pins to their value (its smallest and
    largest values, rounded inwards to whole numbers, meet)."""
    from scipy.optimize import linprog

    out = []
    by_region: dict[int, list] = {}
    for c in cells:
        by_region.setdefault(int(y.region[c[1]]), []).append(c)
    for region, group in by_region.items():
        lp = _region_lp(y, region)
        if lp is None:
            continue
        index, las, a_eq, b_eq, a_ub, b_ub = lp
        local = {int(la): i for i, la in enumerate(las)}
        for f, a, g in group:
            j = index[(f, local[a], g)]
            obj = np.zeros(a_eq.shape[1])
            ends = []
            for sign in (1.0, -1.0):
                obj[j] = sign
                res = linprog(obj, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
                ends.append(sign * res.fun if res.status == 0 else np.nan)
            lo, hi = np.ceil(ends[0] - 1e-6), np.floor(ends[1] + 1e-6)
            if not (lo < y.value[f, a, g] or hi > y.value[f, a, g]):
                out.append((f, a, g))
    return out
