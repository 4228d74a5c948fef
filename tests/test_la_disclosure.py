"""The local-authority side of disclosure control (rap.domain.la_disclosure), on hand-made frames.

Each hidden cell is checked by an attacker written here, independently of the module: a linear programme over
every hidden cell of the frame, with every equation an outsider can form from what is published (each LA's groups
add up to its all-groups count; each region's and England's counts known to within their rounding, England's
all-groups count exactly; a part within its whole; nothing below 0). A hidden cell is safe when that programme
allows it at least one other whole value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from rap.core.errors import RapError
from rap.domain.la_disclosure import Relation, protect_la_counts, region_slack

T, BASE = 5, 10
GROUPS = ["White", "Mixed", "Asian", "Black", "Other"]


def _frame(values: dict[tuple[str, str, str, str], float]) -> pd.DataFrame:
    """{(quantity, LA, region, group): value} as LA cells of one year."""
    rows = [
        {"quantity": q, "time_period": 2024, "new_la_code": la, "region_code": reg, "group": g, "value": v}
        for (q, la, reg, g), v in values.items()
    ]
    return pd.DataFrame(rows)


def _random_cells(seed: int, n_regions: int = 2, n_las: int = 4, with_part: bool = True) -> pd.DataFrame:
    """Counts with many small ones, each LA's all-groups count their sum; a part (foster care) within its whole."""
    rng = np.random.default_rng(seed)
    vals = {}
    for r in range(n_regions):
        for a in range(n_las):
            la = f"E0{r}{a:04d}"
            counts = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 40], size=len(GROUPS))
            for g, v in zip(GROUPS, counts):
                vals[("cla", la, f"R{r}", g)] = float(v)
                if with_part:
                    vals[("foster", la, f"R{r}", g)] = float(rng.integers(0, v + 1))
            vals[("cla", la, f"R{r}", "Total")] = float(counts.sum())
            if with_part:
                vals[("foster", la, f"R{r}", "Total")] = sum(vals[("foster", la, f"R{r}", g)] for g in GROUPS)
    return _frame(vals)


def _attack(out: pd.DataFrame, relations: list[Relation]) -> list[int]:
    """Rows of ``out`` (hidden) that an outsider pins to their value from what is published (module docstring)."""
    hid = out.index[out["suppression"] != "none"].to_list()
    if not hid:
        return []
    col = {i: j for j, i in enumerate(hid)}
    val = out["value"].to_numpy(float)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []

    def row(cells: pd.Index, coefs: np.ndarray) -> tuple[np.ndarray, float]:
        r = np.zeros(len(hid))
        known = 0.0
        for i, c in zip(cells, coefs):
            if i in col:
                r[col[i]] += c
            else:
                known += c * val[out.index.get_loc(i)]
        return r, known

    for _, g in out.groupby(["quantity", "new_la_code"]):  # groups add up to the all-groups count
        if not g["group"].eq("Total").any() or g["group"].eq("Total").all():
            continue
        coefs = np.where(g["group"].eq("Total"), -1.0, 1.0)
        r, k = row(g.index, coefs)
        if r.any():
            a_eq.append(r)
            b_eq.append(-k)
    for keys in (["quantity", "region_code", "group"], ["quantity", "group"]):  # regions and England, rounded
        for key, g in out.groupby(keys):
            r, k = row(g.index, np.ones(len(g)))
            if not r.any():
                continue
            total = float(g["value"].sum())
            up, down = region_slack(np.array([total]), T, BASE)
            if len(keys) == 2 and key[1] == "Total":
                up, down = np.zeros(1), np.zeros(1)  # England's all-groups count: taken as known exactly
            a_ub += [r, -r]
            b_ub += [total + up[0] - k, -(total - down[0] - k)]
    for rel in relations:  # the parts together within their whole
        for _, g in out[out["quantity"].isin([rel.whole, *rel.parts])].groupby(["new_la_code", "group"]):
            r, k = row(g.index, np.where(g["quantity"].eq(rel.whole), -1.0, 1.0))
            if r.any():
                a_ub.append(r)
                b_ub.append(-k)
    pinned = []
    for i in hid:
        c = np.zeros(len(hid))
        ends = []
        for sign in (1.0, -1.0):
            c[col[i]] = sign
            res = linprog(
                c,
                A_ub=np.array(a_ub) if a_ub else None,
                b_ub=np.array(b_ub) if b_ub else None,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=np.array(b_eq) if b_eq else None,
                bounds=(0, None),
                method="highs",
            )
            assert res.status == 0, "the published figures must be consistent with the true counts"
            ends.append(sign * res.fun)
        lo, hi = np.ceil(ends[0] - 1e-6), np.floor(ends[1] + 1e-6)
        if lo >= val[out.index.get_loc(i)] and hi <= val[out.index.get_loc(i)]:
            pinned.append(i)
    return pinned


def test_primary_hides_one_to_threshold_and_shows_zero():
    cells = _random_cells(0, with_part=False)
    out = protect_la_counts(cells, [], T, BASE)
    v = out["value"]
    assert (out.loc[v.between(1, T), "suppression"] == "primary").all()
    assert (out.loc[v.eq(0), "suppression"] != "primary").all()
    assert (out.loc[out["suppression"] == "primary", "value"].between(1, T)).all()


@pytest.mark.parametrize("seed", range(12))
def test_no_hidden_cell_can_be_worked_out(seed):
    rel = [Relation("cla", ("foster",))]
    cells = _random_cells(seed, n_regions=2 + seed % 2, n_las=3 + seed % 3)
    out = protect_la_counts(cells, rel, T, BASE)
    assert _attack(out, rel) == []


def test_the_attacker_here_finds_what_primary_suppression_alone_leaves():
    """The check above can fail: without the secondary suppression, hidden cells come back."""
    rel = [Relation("cla", ("foster",))]
    out = protect_la_counts(_random_cells(0), rel, T, BASE)
    assert (out["suppression"] == "secondary").any()
    primary_only = out.assign(suppression=np.where(out["value"].between(1, T), "primary", "none"))
    assert _attack(primary_only, rel)


def test_one_hidden_cell_in_an_la_row_gets_a_partner():
    # LA A: 3 Black among 53 children; everything else large: the 3 alone would follow from the all-groups count
    vals = {}
    for la, reg in (("A", "R"), ("B", "R"), ("C", "R")):
        for g, v in zip(GROUPS, [20, 10, 10, 3 if la == "A" else 12, 10]):
            vals[("cla", la, reg, g)] = float(v)
        vals[("cla", la, reg, "Total")] = sum(vals[("cla", la, reg, g)] for g in GROUPS)
    out = protect_la_counts(_frame(vals), [], T, BASE)
    a = out[out["new_la_code"] == "A"].set_index("group")["suppression"]
    assert a["Black"] == "primary"
    assert (a.drop("Black") != "none").sum() >= 1
    assert _attack(out, []) == []


def test_a_part_is_hidden_with_its_whole():
    vals = {}
    for la in ("A", "B", "C"):
        for g, v in zip(GROUPS, [20, 4 if la == "A" else 10, 10, 10, 10]):
            vals[("cla", la, "R", g)] = float(v)
            vals[("foster", la, "R", g)] = float(v // 2) if v > 4 else 2.0
        vals[("cla", la, "R", "Total")] = sum(vals[("cla", la, "R", g)] for g in GROUPS)
        vals[("foster", la, "R", "Total")] = sum(vals[("foster", la, "R", g)] for g in GROUPS)
    rel = [Relation("cla", ("foster",))]
    out = protect_la_counts(_frame(vals), rel, T, BASE).set_index(["quantity", "new_la_code", "group"])
    hidden = out["suppression"] != "none"
    # wherever children looked after are hidden, so are those in foster care (unless 0)
    for (q, la, g), h in hidden.items():
        if q == "cla" and h and out.loc[("foster", la, g), "value"] > 0:
            assert hidden[("foster", la, g)], (la, g)


def test_a_small_complement_is_not_published():
    # 7 children, 6 in foster care: "6 of 7" would say 1 child is not
    vals = {}
    for la in ("A", "B", "C"):
        for g, v, f in zip(GROUPS, [7, 30, 30, 30, 30], [6, 10, 10, 10, 10]):
            vals[("cla", la, "R", g)] = float(v)
            vals[("foster", la, "R", g)] = float(f)
        vals[("cla", la, "R", "Total")] = sum(vals[("cla", la, "R", g)] for g in GROUPS)
        vals[("foster", la, "R", "Total")] = sum(vals[("foster", la, "R", g)] for g in GROUPS)
    rel = [Relation("cla", ("foster",))]
    out = protect_la_counts(_frame(vals), rel, T, BASE).set_index(["quantity", "new_la_code", "group"])
    for la in ("A", "B", "C"):
        shown = out.loc[("cla", la, "White"), "suppression"] == "none"
        shown &= out.loc[("foster", la, "White"), "suppression"] == "none"
        assert not shown, la


def test_a_lone_small_count_that_cannot_be_protected_stops_the_build():
    # one LA, one group: England's all-groups count is its count, so no suppression can hide the 3
    cells = _frame({("cla", "A", "R", "Total"): 3.0})
    with pytest.raises(RapError, match="could be worked out"):
        protect_la_counts(cells, [], T, BASE)


def test_the_pattern_does_not_depend_on_row_order():
    rel = [Relation("cla", ("foster",))]
    cells = _random_cells(3)
    a = protect_la_counts(cells, rel, T, BASE)
    b = protect_la_counts(cells.sample(frac=1, random_state=1), rel, T, BASE).loc[a.index]
    assert (a["suppression"] != "none").equals(b["suppression"] != "none")


def test_bad_cells_are_refused():
    cells = _random_cells(1, with_part=False)
    with pytest.raises(ValueError, match="once"):
        protect_la_counts(pd.concat([cells, cells.head(1)]), [], T, BASE)
    with pytest.raises(ValueError, match="lack columns"):
        protect_la_counts(cells.drop(columns="region_code"), [], T, BASE)


def _chain_cells(seed: int) -> pd.DataFrame:
    """Children looked after, those whose distance is known (a part) and those placed over 20 miles (a part of
    that), with many small counts."""
    rng = np.random.default_rng(seed)
    vals = {}
    for r in range(2):
        for a in range(4):
            la, reg = f"E1{r}{a:04d}", f"R{r}"
            for q in ("cla", "known", "far"):
                vals[(q, la, reg, "Total")] = 0.0
            for g in GROUPS:
                n = float(rng.choice([0, 1, 2, 4, 6, 9, 15, 30]))
                k = float(rng.integers(0, n + 1))
                f = float(rng.integers(0, k + 1))
                for q, v in (("cla", n), ("known", k), ("far", f)):
                    vals[(q, la, reg, g)] = v
                    vals[(q, la, reg, "Total")] += v
    return _frame(vals)


@pytest.mark.parametrize("seed", range(6))
def test_no_hidden_cell_of_a_chain_of_parts_can_be_worked_out(seed):
    rel = [Relation("cla", ("known",), remainder_split=True), Relation("known", ("far",))]
    out = protect_la_counts(_chain_cells(seed), rel, T, BASE)
    assert _attack(out, rel) == []
    o = out.set_index(["quantity", "new_la_code", "group"])
    for (q, la, g), s in o["suppression"].items():  # a part is hidden wherever its whole is (unless 0)
        if s != "none" and q in ("cla", "known"):
            part = "known" if q == "cla" else "far"
            assert o.loc[(part, la, g), "value"] == 0 or o.loc[(part, la, g), "suppression"] != "none"


@pytest.mark.parametrize("seed", range(4))
def test_counts_published_for_all_children_only_are_protected_too(seed):
    """The data quality chapter's shape: each LA's children in the return and those of unknown ethnicity, no
    groups (England's count of children exact, regions' rounded)."""
    rng = np.random.default_rng(seed)
    vals = {}
    for r in range(3):
        for a in range(5):
            la = f"E2{r}{a:04d}"
            n = float(rng.choice([3, 8, 20, 60, 200]))
            vals[("children", la, f"R{r}", "Total")] = n
            vals[("unknown", la, f"R{r}", "Total")] = float(rng.choice([0, 1, 3, 6, 12]) if n > 12 else 0)
    rel = [Relation("children", ("unknown",))]
    out = protect_la_counts(_frame(vals), rel, T, BASE)
    assert (out.loc[out["value"].between(1, T), "suppression"] != "none").all()
    assert _attack(out, rel) == []
