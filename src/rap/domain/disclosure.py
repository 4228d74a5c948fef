"""Statistical disclosure control for tidy count tables, applied once, just before publication.

What it does (how DfE's children-looked-after statistics control disclosure):

* primary suppression: counts from 1 to ``threshold`` are replaced by ``c``. Zeros on local rows are shown as
  0, as DfE does (a zero reveals nothing about an individual); ``suppress_zero=True`` suppresses them too (on
  rounded rows they are always ``c``: see rounding below);
* secondary suppression: every published total or subtotal defines an equation "these cells sum to that
  cell". If exactly one cell of an equation is suppressed it could be recovered by subtraction, so one more
  cell is suppressed; repeated over every equation in every dimension until nothing changes;
* an audit (on by default) then checks the whole system of equations at once (linear algebra): cells that
  are single-suppressed in no equation can still be pinned down by combining equations (e.g. a suppressed
  cell that bridges two otherwise separate groups of suppressed cells). Any primary cell so determined gets
  one more suppression and the loop runs again;
* rounding: rows flagged for rounding (national and regional rows) are published rounded half up to
  ``rounding_base``, never with Python's ``round()``; their counts of 0 to ``threshold`` are ``c`` (so 1 to
  ``threshold`` look alike everywhere, and a rounded row's ``c`` may be 0: the project's disclosure notes).

The table is described by its dimension columns, the label of each dimension's total, and which
dimensions are nested in which (``parents``). Example for an LA table by ethnicity::

    suppress(df, dims=["region", "la", "ethnicity_major", "ethnicity_minor"],
             totals={"region": "Total", "la": "Total", "ethnicity_major": "Total",
                     "ethnicity_minor": "Total"},
             parents={"la": "region", "ethnicity_minor": "ethnicity_major"},
             round_rows="is_rounded")

where national rows have region = la = "Total", regional rows have la = "Total", and the subtotal of a
major group has ethnicity_minor = "Total". Dimensions listed in ``dims`` but absent from ``totals`` (e.g.
``time_period``) are independent slices: no equations run along them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "C",
    "K",
    "LOW",
    "SYMBOLS",
    "SYMBOL_NOTES",
    "U",
    "X",
    "Z",
    "Equation",
    "build_equations",
    "hidden_small",
    "largest_hidden",
    "national_counts",
    "percentages",
    "published_numbers",
    "published_strings",
    "round_half_up",
    "round_places",
    "rounded_counts",
    "suppress",
    "suppress_counts",
    "suppress_slices",
]


def _symbols() -> dict[str, dict[str, str]]:
    with resources.files("rap.data").joinpath("ees_symbols.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# EES symbols (``rap/data/ees_symbols.yaml``): an indicator cell is never blank.
#: Symbol -> its meaning in a legend (spreadsheet, annexes), in the data file's order.
SYMBOLS: dict[str, str] = {s: v["legend"] for s, v in _symbols().items()}
#: Symbol -> its meaning in the note under a report table (``rap.present.display``).
SYMBOL_NOTES: dict[str, str] = {s: v["note"] for s, v in _symbols().items()}
C = "c"  # confidential: suppressed
LOW = "low"  # rounds to zero, but is not zero (in DfE files; this pipeline shows such counts as c)
K = "k"  # CLA files: a percentage under 0.5 (rounds to zero but is not zero)
X = "x"  # not available
Z = "z"  # not applicable
U = "u"  # low reliability
if not {C, LOW, K, X, Z, U} <= set(SYMBOLS):  # the names code uses must be in the data
    raise ValueError("rap/data/ees_symbols.yaml lacks a symbol the disclosure code writes")

Equation = tuple[int, np.ndarray]
"""(position of the total row, positions of the rows that sum to it)."""


# --------------------------------------------------------------------------------------------------
# rounding and percentages


def _round_one(x: object, base: Decimal) -> Decimal | None:
    if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
        return None
    # A float is first taken to 9 decimal places, as round_places absorbs binary error: 29 / 200 * 100 is
    # stored as 14.499999999999998 and must round to 15, the half-up rounding of the true 14.5.
    d = Decimal(str(round(x, 9))) if isinstance(x, float | np.floating) else Decimal(str(x))
    return (d / base).quantize(Decimal(1), rounding=ROUND_HALF_UP) * base


def round_half_up(x: object, base: int | float | str = 1) -> object:
    """Round to the nearest multiple of ``base`` with halves going up: 2.5 -> 3; 25 -> 30, 15 -> 20,
    14 -> 10 for base 10.

    Python's ``round()`` rounds halves to even (2.5 -> 2, 25 -> 20 at base 10), which is not what DfE
    publishes. Decimal arithmetic on ``str(x)`` avoids binary artefacts (2.675 stays 2.675). Negative
    halves go away from zero (-2.5 -> -3), as decimal.ROUND_HALF_UP does.

    Scalars give a scalar (int when base is an int); arrays and Series give the same shape (NaN kept).
    """
    b = Decimal(str(base))
    as_int = isinstance(base, int | np.integer)
    if np.ndim(x) == 0:
        r = _round_one(x, b)
        if r is None:
            return np.nan
        return int(r) if as_int else float(r)
    vals = [_round_one(v, b) for v in np.asarray(x, dtype=object).ravel()]
    out = np.array([np.nan if v is None else float(v) for v in vals]).reshape(np.shape(x))
    if as_int and not np.isnan(out).any():
        out = out.astype(np.int64)
    if isinstance(x, pd.Series):
        return pd.Series(out, index=x.index, name=x.name)
    return out


def round_places(values: object, dp: int | np.ndarray) -> np.ndarray:
    """Numbers rounded half up (away from zero) to ``dp`` decimal places: one ``dp`` for all, or one per
    value. Vectorised in floats for tables of hundreds of thousands of rates (:func:`round_half_up` works in
    Decimal, one value at a time); the 1e-9 absorbs binary representation error (2.675 is stored as
    2.67499999...). NaN and infinities stay as they are."""
    v = np.asarray(values, dtype=float)
    f = 10.0 ** np.asarray(dp, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.sign(v) * np.floor(np.abs(v) * f + 0.5 + 1e-9) / f


def published_numbers(values: object, dp: int, missing: str = X) -> list[object]:
    """Numbers for a published table: rounded half up to ``dp`` places (ints when ``dp`` is 0), ``missing``
    (``x``, not available, unless told) where a value is not a finite number."""
    r = round_places(values, dp)
    fin = np.isfinite(r)
    if dp == 0:
        return [int(x) if ok else missing for x, ok in zip(r, fin)]
    return [float(x) if ok else missing for x, ok in zip(r, fin)]


def published_strings(values: object, dp: int | np.ndarray, missing: str = X) -> list[str]:
    """As :func:`published_numbers`, as text with exactly ``dp`` places (one ``dp`` for all, or one per
    value): ``12.0``, not ``12``."""
    r = round_places(values, dp)
    places = np.broadcast_to(np.asarray(dp, dtype=int), r.shape)
    return [f"{x:.{d}f}" if np.isfinite(x) else missing for x, d in zip(r.tolist(), places.tolist())]


def percentages(
    numerators: Iterable[object],
    denominators: Iterable[object],
    suppressed: Iterable[bool] | None = None,
    dp: int = 0,
) -> list[str]:
    """Percentages as publishable strings, rounded half up to ``dp`` places.

    * ``c`` where ``suppressed`` is True (pass "numerator suppressed OR denominator suppressed": a
      percentage computed from a suppressed part would undo the suppression);
    * ``z`` where the denominator is 0 or missing (not applicable);
    * ``x`` where the numerator is missing;
    * ``k`` where the percentage is above 0 but rounds to 0 (under 0.5 at dp=0), as in CLA files.

    Computed in Decimal from the counts, so 1/8 = 12.5% -> "13", not 12 as float rounding might give.
    """
    nums = list(numerators)
    dens = list(denominators)
    sup = [False] * len(nums) if suppressed is None else [bool(s) for s in suppressed]
    if not (len(nums) == len(dens) == len(sup)):
        raise ValueError("numerators, denominators and suppressed must have the same length")
    q = Decimal(1).scaleb(-dp)
    out: list[str] = []
    for n, d, s in zip(nums, dens, sup, strict=True):
        if s:
            out.append(C)
            continue
        if d is None or pd.isna(d) or Decimal(str(d)) == 0:
            out.append(Z)
            continue
        if n is None or pd.isna(n):
            out.append(X)
            continue
        pct = Decimal(str(n)) * 100 / Decimal(str(d))
        r = pct.quantize(q, rounding=ROUND_HALF_UP)
        out.append(K if pct > 0 and r == 0 else f"{r:.{dp}f}")
    return out


# --------------------------------------------------------------------------------------------------
# equations


def _descendants(dim: str, parents: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    frontier = [dim]
    while frontier:
        d = frontier.pop()
        kids = [c for c, p in parents.items() if p == d]
        out.extend(kids)
        frontier.extend(kids)
    return out


def build_equations(
    table: pd.DataFrame,
    dims: Sequence[str],
    totals: Mapping[str, str],
    parents: Mapping[str, str] | None = None,
) -> list[Equation]:
    """Every "cells sum to a published total" relationship in the table, as row positions.

    For each dimension d with a total label: hold every other dimension fixed, keep only rows where d's
    nested children are at their total, and the rows with d != total sum to the row with d == total.
    If d is nested in a parent, the group key includes the parent, so minor groups sum to their own major
    group's subtotal. Groups without a total row are skipped (nothing published to subtract from).
    """
    parents = dict(parents or {})
    for child, parent in parents.items():
        if child not in totals or parent not in totals:
            raise ValueError(f"nested dims need totals: {child!r} in {parent!r}")
    df = table.reset_index(drop=True)
    equations: list[Equation] = []
    for d, tot in totals.items():
        kids = _descendants(d, parents)
        mask = np.ones(len(df), dtype=bool)
        for k in kids:
            mask &= (df[k] == totals[k]).to_numpy()
        if d in parents:
            p = parents[d]
            bad = mask & (df[p] == totals[p]).to_numpy() & (df[d] != tot).to_numpy()
            if bad.any():
                raise ValueError(
                    f"rows with {p!r} at its total but {d!r} not at its total are not supported "
                    f"(first at row {int(np.flatnonzero(bad)[0])})"
                )
        sub = df.loc[mask]
        keys = [c for c in dims if c != d and c not in kids]
        groups = sub.groupby(keys, sort=False, dropna=False).indices if keys else {(): np.arange(len(sub))}
        pos = sub.index.to_numpy()
        is_tot = (sub[d] == tot).to_numpy()
        for idx in groups.values():
            idx = np.asarray(idx)
            t = idx[is_tot[idx]]
            parts = idx[~is_tot[idx]]
            if len(t) == 1 and len(parts) > 0:
                equations.append((int(pos[t[0]]), pos[parts]))
    return equations


# --------------------------------------------------------------------------------------------------
# suppression


def _round_mask(table: pd.DataFrame, round_rows: str | Sequence[bool] | np.ndarray | None) -> np.ndarray:
    if round_rows is None:
        return np.zeros(len(table), dtype=bool)
    if isinstance(round_rows, str):
        return table[round_rows].fillna(False).to_numpy(dtype=bool)
    m = np.asarray(round_rows, dtype=bool)
    if m.shape != (len(table),):
        raise ValueError("round_rows must have one flag per row")
    return m


def _secondary_pass(
    values: np.ndarray,
    suppressed: np.ndarray,
    equations: Sequence[Equation],
    is_total: np.ndarray,
) -> int:
    """Give every equation 0 or >= 2 suppressed cells; returns how many cells were added."""
    added = 0
    changed = True
    while changed:
        changed = False
        for tot, parts in equations:
            cells = np.append(parts, tot)
            if int(suppressed[cells].sum()) != 1:
                continue
            pick = _choose_complement(values, suppressed, parts, tot, is_total)
            if pick is not None:
                suppressed[pick] = True
                added += 1
                changed = True
    return added


def _choose_complement(
    values: np.ndarray,
    suppressed: np.ndarray,
    parts: np.ndarray,
    tot: int,
    is_total: np.ndarray,
) -> int | None:
    """Next cell to suppress in an equation: the smallest non-zero component that is not itself a total
    elsewhere; failing that a component subtotal; then the equation's own total; then a zero component
    (only if nothing else is left, since publishing zeros is the norm)."""
    cand = [int(i) for i in parts if not suppressed[i]]
    nonzero_leaf = [i for i in cand if values[i] > 0 and not is_total[i]]
    nonzero_sub = [i for i in cand if values[i] > 0 and is_total[i]]
    for pool in (nonzero_leaf, nonzero_sub):
        if pool:
            return min(pool, key=lambda i: (values[i], i))
    if not suppressed[tot]:
        return int(tot)
    return min(cand, key=lambda i: (is_total[i], i)) if cand else None


def _determined(
    values: np.ndarray, suppressed: np.ndarray, equations: Sequence[Equation], tol: float = 1e-9
) -> np.ndarray:
    """Suppressed cells whose value follows from the published equations (rank test via null space).

    A suppressed cell j is determined iff every solution of A_u x = b (A_u: the equations restricted to
    suppressed cells) has the same x_j, i.e. the null space of A_u has a zero j-th row. With every
    suppressed value > 0 the non-negativity bounds cannot pin a cell further, so this matches what an
    attacker with a linear-programming solver can recover.
    """
    unk = np.flatnonzero(suppressed)
    out = np.zeros(len(values), dtype=bool)
    if unk.size == 0:
        return out
    col = {int(c): k for k, c in enumerate(unk)}
    rows = []
    for tot, parts in equations:
        cells = [int(tot)] + [int(p) for p in parts]
        if not any(c in col for c in cells):
            continue
        r = np.zeros(unk.size)
        if tot in col:
            r[col[tot]] -= 1.0
        for p in parts:
            if int(p) in col:
                r[col[int(p)]] += 1.0
        rows.append(r)
    if not rows:
        return out  # suppressed cells in no equation cannot be derived from anything published
    a = np.vstack(rows)
    from scipy.linalg import null_space  # imported here: every run imports this module, few audit a table

    ns = null_space(a)
    if ns.size == 0:
        out[unk] = True
        return out
    out[unk] = np.abs(ns).max(axis=1) < tol
    return out


def suppress(
    table: pd.DataFrame,
    dims: Sequence[str],
    totals: Mapping[str, str],
    threshold: int = 5,
    *,
    parents: Mapping[str, str] | None = None,
    value: str = "number",
    round_rows: str | Sequence[bool] | np.ndarray | None = None,
    rounding_base: int = 10,
    suppress_zero: bool = False,
    secondary: bool = True,
    audit: bool = True,
    max_rounds: int = 1000,
) -> pd.DataFrame:
    """Apply primary and secondary suppression and rounding; return the table with two new columns.

    ``number_published`` (str): the count, its rounded value, or a symbol (``c`` suppressed, ``x`` missing).
    ``suppression``: "primary", "secondary" or "none".

    Parameters (threshold and rounding_base come from :class:`rap.core.params.SuppressionParams`):

    * ``dims``: the dimension columns; each combination must appear once.
    * ``totals``: dim -> label of its total row (e.g. ``{"ethnicity_minor": "Total"}``).
    * ``parents``: nested dims, child -> parent (e.g. ``{"ethnicity_minor": "ethnicity_major"}``).
    * ``round_rows``: boolean column name (or mask) of rows published rounded (national and regional).
      Their counts of 1 to ``threshold`` (or rounding to 0) are primary-suppressed like any other; their
      equations are still treated as exact when choosing secondary suppressions (conservative).
    * ``suppress_zero``: DfE shows zeros (a zero discloses nothing about a child), so False by default.
    * ``secondary`` / ``audit``: switch off only to demonstrate what goes wrong without them.
    """
    dims = list(dims)
    df, vals = _counts(table, dims, value)
    rounded = _round_mask(df, round_rows)
    v0 = np.nan_to_num(vals, nan=0.0)

    small = np.where(rounded, hidden_small(v0, threshold, rounding_base), hidden_small(v0, threshold))
    if suppress_zero:
        small |= (v0 == 0) & ~np.isnan(vals)
    primary = small
    suppressed = primary.copy()
    if secondary:
        _protect(v0, suppressed, primary, build_equations(df, dims, totals, parents), audit, max_rounds)

    df["number_published"] = _published(vals, rounded, suppressed, rounding_base)
    status: list[Literal["primary", "secondary", "none"]] = [
        "primary" if p else "secondary" if s else "none" for p, s in zip(primary, suppressed, strict=True)
    ]
    df["suppression"] = status
    df.index = table.index
    return df


def _counts(table: pd.DataFrame, dims: list[str], value: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``table`` on a fresh index and its counts as floats (NaN where missing), once checked: the
    columns exist, each combination of ``dims`` appears once, no count is negative."""
    missing = [c for c in [*dims, value] if c not in table.columns]
    if missing:
        raise ValueError(f"columns not in table: {missing}")
    if table.duplicated(dims).any():
        raise ValueError("each combination of dims must appear once")
    df = table.reset_index(drop=True).copy()
    vals = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=float)
    if (vals[~np.isnan(vals)] < 0).any():
        raise ValueError("counts must be >= 0")
    return df, vals


def _protect(
    values: np.ndarray,
    suppressed: np.ndarray,
    primary: np.ndarray,
    equations: Sequence[Equation],
    audit: bool,
    max_rounds: int,
) -> None:
    """Secondary suppression in place: every equation gets 0 or >= 2 suppressed cells; with ``audit``, then
    until no primary cell follows from the whole system of equations, one more cell for each that does."""
    is_total = np.zeros(len(values), dtype=bool)
    for tot, _ in equations:
        is_total[tot] = True
    _secondary_pass(values, suppressed, equations, is_total)
    if not audit:
        return
    for _ in range(max_rounds):
        det = _determined(values, suppressed, equations) & primary
        if not det.any():
            return
        for j in np.flatnonzero(det):
            _widen(j, values, suppressed, equations, is_total)
        _secondary_pass(values, suppressed, equations, is_total)
    raise RuntimeError("disclosure audit did not converge")


def _widen(
    j: int, values: np.ndarray, suppressed: np.ndarray, equations: Sequence[Equation], is_total: np.ndarray
) -> None:
    """Suppress one more cell in the first equation holding cell ``j`` that has a cell left to suppress."""
    for tot, parts in equations:
        if j == tot or j in parts:
            free = [int(i) for i in np.append(parts, tot) if not suppressed[i]]
            if free:
                pick = _choose_complement(values, suppressed, parts, tot, is_total)
                suppressed[free[0] if pick is None else pick] = True
                return


def _published(vals: np.ndarray, rounded: np.ndarray, suppressed: np.ndarray, rounding_base: int) -> list[str]:
    """Each cell as published: ``x`` missing, ``c`` suppressed, rounded on rounded rows (a non-zero count that
    rounds to 0 is suppressed before this), else the count."""
    published = []
    for v, r, s in zip(vals, rounded, suppressed, strict=True):
        if np.isnan(v):
            published.append(X)
        elif s:
            published.append(C)
        elif r:
            published.append(str(round_half_up(int(v), rounding_base)))
        else:
            published.append(str(int(v)))
    return published


# --------------------------------------------------------------------------------------------------
# simple cases: tables whose cells are not summed to any published total


def hidden_small(values: object, threshold: int, base: int | None = None) -> np.ndarray:
    """Which counts are published as ``c`` for being small: 1 to ``threshold``, and on rows published rounded to
    ``base`` (national and regional) also 0 and any other count that would round to 0. So 1 to ``threshold`` are
    indistinguishable wherever they appear (a 5 rounded to 10 beside a suppressed percentage would give itself
    away), and a national or regional ``c`` may be 0: a sum of such ``c`` cells has no lower bound above 0, so
    nine regional ``c`` cells under an England 10 cannot pin each other at 1 (the project's disclosure notes)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        small = (v >= 1) & (v <= threshold)
        if base is not None:
            small |= (v >= 0) & (v < base / 2)
    return small


def largest_hidden(threshold: int, base: int) -> int:
    """The largest count a rounded row shows as ``c``: ``threshold``, or one less than half the base when that is
    more (a count that would round to 0). 5 with the defaults: what the notes under tables say ``c`` means."""
    return max(threshold, -(-base // 2) - 1)


def rounded_counts(values: object, base: int, threshold: int) -> np.ndarray:
    """Counts as a rounded row publishes them, as numbers for the figures derived from them: rounded half up to
    ``base``, NaN where the count is ``c`` (:func:`hidden_small`) or missing. A percentage, interval, rate or
    ratio computed from these tells an outsider nothing the published counts do not."""
    v = np.asarray(values, dtype=float)
    out = np.asarray(round_half_up(v, base), dtype=float)
    out[hidden_small(v, threshold, base)] = np.nan
    return out


def national_counts(values: pd.Series, base: int = 10, *, threshold: int) -> pd.Series:
    """National (or regional) counts as published: rounded half up to ``base``; ``c`` for 0 to ``threshold``
    (and any other count that rounds to 0): :func:`hidden_small`."""
    v = values.fillna(0).astype("int64")
    rounded = round_half_up(v, base)
    out = pd.Series(rounded, index=values.index).astype(object)
    out[hidden_small(v.to_numpy(), threshold, base)] = C
    return out


def suppress_counts(values: pd.Series, threshold: int) -> pd.Series:
    """Local counts with primary suppression only: 1 to ``threshold`` become ``c``.

    Only for tables that publish no total or subtotal of these cells (e.g. a league table of LAs): where
    totals are published, use :func:`suppress`, which also protects against recovery by subtraction.
    """
    out = values.astype(object).copy()
    out[values.between(1, threshold).to_numpy()] = C
    return out


def suppress_slices(
    table: pd.DataFrame, by: Sequence[str], is_total: str | np.ndarray, threshold: int = 5, *, value: str = "number"
) -> pd.DataFrame:
    """Primary and secondary suppression, vectorised, for tables made of many independent slices that are each
    ONE equation: the total row of the slice (``is_total``) = the sum of its other rows (e.g. one LA's ethnic
    groups and its all-children row, for every LA, year and indicator).

    Counts 1 to ``threshold`` are suppressed; in a slice with exactly one suppressed cell the smallest other
    non-zero part (else the smallest part, else the total) is suppressed too. Each cell belongs to one
    equation only, so no combination of equations can recover a cell and no audit is needed: this is what
    :func:`suppress` does for such tables, in linear time instead of a null-space computation over every
    suppressed cell (which does not scale to the tens of thousands of cells of an LA dashboard).
    Returns ``number_published`` and ``suppression`` like :func:`suppress`.
    """
    df = table.reset_index(drop=True).copy()
    vals = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=float)
    if (vals[~np.isnan(vals)] < 0).any():
        raise ValueError("counts must be >= 0")
    total = df[is_total].to_numpy(dtype=bool) if isinstance(is_total, str) else np.asarray(is_total, dtype=bool)
    v0 = np.nan_to_num(vals, nan=0.0)
    primary = (v0 >= 1) & (v0 <= threshold)
    sup = primary.copy()
    gid = df.groupby(list(by), sort=False, dropna=False).ngroup().to_numpy()
    n_sup = np.bincount(gid, weights=sup.astype(float), minlength=gid.max() + 1 if len(gid) else 0)
    lone = n_sup[gid] == 1
    # candidates: unsuppressed cells of slices with one suppressed cell; prefer non-zero parts, then parts, then total
    cand = np.flatnonzero(lone & ~sup)
    if cand.size:
        rank = np.where(total[cand], 2, np.where(v0[cand] > 0, 0, 1))
        order = np.lexsort((v0[cand], rank, gid[cand]))
        ordered = cand[order]
        first = np.unique(gid[ordered], return_index=True)[1]
        sup[ordered[first]] = True
    published = np.where(np.isnan(vals), X, np.where(sup, C, [str(int(x)) for x in v0]))
    df["number_published"] = published
    df["suppression"] = np.where(primary, "primary", np.where(sup, "secondary", "none"))
    df.index = table.index
    return df


def percent(share: object, dp: int = 1, missing: str = "n/a") -> str:
    """A share (0.123) as a percentage for text and display tables (``12.3%``), rounded half up to ``dp``
    places exactly as the published tables round it (:func:`published_strings` of share x 100), so a sentence
    never says 1.2% beside a table that says 1.3. ``missing`` where the share is missing or not finite."""
    if share is None or pd.isna(share):
        return missing
    [text] = published_strings([float(share) * 100], dp, missing)
    return text if text == missing else f"{text}%"
