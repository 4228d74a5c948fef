"""National Pupil Database style extract: one row per looked-after pupil of school age, linked by UPN.

- Pupils: children looked after at some time in the collection year, with a known UPN, aged 4-17 on the
  31 August that starts the academic year (NCYEAR = that age - 4, ``R`` for reception). Nearly all of Y1-Y11,
  half of Y12-13, fewer older UASC (not yet on a school roll) are included.
- ETHNIC: the school census code, a property of the child. It differs from the child's true code at the
  ``school_disagreement`` rate, or the per-code rate in ``school_disagreement_by_code``.
- Key stages: a latent attainment per child drives correlated results. KS2 (Y6) and KS4 (Y11) match the
  published national figures for children looked after 12 months at 31 March in that academic year
  (ees-outcomes-cin-cla); blank where DfE published none (KS2 2019/20 and 2020/21 were cancelled). KS1 (Y2) up
  to 2022/23 only, same cancelled years; no KS1 file is stored, so KS2 RWM of the year stands in for its rate.
- Moves: school moves rise with placement moves in the year (about 11% with a move, 8% mid-year, as DfE's
  2022 school-stability figures for children looked after on 31 March).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from rap.synth.dates import age_on, day, year_end, year_start
from rap.synth.defects import alternative_code
from rap.synth.targets import load_targets

KS_CANCELLED = {2020, 2021}


def school_codes(w: dict[str, Any]) -> np.ndarray:
    """Each child's school census code (drawn once, kept in ``w`` with who disagrees and a latent attainment)."""
    if "school_code" not in w:
        p = w["p"]
        rates = w["rates"]
        rng = np.random.default_rng([w["seed"], 5])
        true = p["true_code"].to_numpy()
        r = np.array([rates.school_disagreement_by_code.get(c, rates.school_disagreement) for c in true])
        dis = rng.random(len(p)) < r
        out = true.copy()
        out[dis] = alternative_code(rng, true[dis])
        w["school_code"] = out
        w["school_dis"] = dis
        w["ability"] = rng.standard_normal(len(p))
    return w["school_code"]


def _threshold(p: float) -> float:
    """The standard normal value exceeded with probability ``p``."""
    return float(stats.norm.ppf(1 - p))


def _att8_mu(mean: float, sd: float) -> float:
    """Location whose zero-floored normal has the published mean Attainment 8."""
    f = lambda mu: mu * stats.norm.cdf(mu / sd) + sd * stats.norm.pdf(mu / sd) - mean  # noqa: E731
    return float(optimize.brentq(f, -100, 100))


def _pupils(w: dict[str, Any], y: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The Header children of year ``y`` on a school roll (ids) and their national curriculum year (0 =
    reception): looked after in the year, with a known UPN, aged 4-17 on 31 August; nearly all of Y1-Y11, half of
    Y12-13, fewer older UASC."""
    p, d = w["p"], w["defects"]
    ys, ye = year_start(y), year_end(y)
    ids = w["in_year"][y]
    h = p.loc[ids]
    lac = (h["start"].to_numpy() <= ye) & (h["end"].to_numpy() >= ys)
    known_upn = ~d.upn_unknown[ids]
    nc = age_on(h["dob"].to_numpy(), day(y - 1, 8, 31)) - 4
    u = rng.random(len(ids))
    incl = np.where(nc <= 11, 0.97, 0.5) * np.where(h["uasc"].to_numpy() & (nc >= 10), 0.6, 1.0)
    keep = lac & known_upn & (nc >= 0) & (nc <= 13) & (u < incl)
    return ids[keep], nc[keep]


def _school_moves(rng: np.random.Generator, ep: pd.DataFrame, ids: np.ndarray, y: int) -> tuple[np.ndarray, np.ndarray]:
    """SCHOOL_MOVES and MIDYEAR_MOVES: the chance of a move rises with the placement moves in the year."""
    n = len(ids)
    mv = ep[(ep["decom"] >= year_start(y)) & (ep["decom"] <= year_end(y)) & ep["rne"].isin(["P", "T"])]
    moves = mv.groupby("pid").size().reindex(ids, fill_value=0).to_numpy()
    pm = np.minimum(0.06 + 0.07 * moves, 0.7)
    any_move = rng.random(n) < pm
    count = np.where(any_move, 1 + (rng.random(n) < 0.15), 0)
    return count, rng.binomial(count, 0.72)


def _indicator(
    rng: np.random.Generator, z: np.ndarray, rate: float | None, sel: np.ndarray, loading: float = 0.8
) -> np.ndarray:
    """A 1/0 result for the pupils ``sel`` (blank for others, or for all when no rate was published): 1 for the
    published ``rate`` % of pupils, correlated with the latent attainment ``z``."""
    n = len(z)
    out = np.full(n, "", dtype=object)
    if rate is None:
        return out
    s = loading * z + np.sqrt(1 - loading**2) * rng.standard_normal(n)
    out[sel] = np.where(s[sel] > _threshold(rate / 100), "1", "0")
    return out


def _ks4(
    rng: np.random.Generator, z: np.ndarray, y11: np.ndarray, ks4: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """KS4_ATT8 and KS4_EM_94 for Year 11 pupils, blank when DfE published no Attainment 8 for the year."""
    n = len(z)
    att8 = np.full(n, "", dtype=object)
    em = np.full(n, "", dtype=object)
    if ks4.get("att8") is not None:
        sd = 16.0
        s = 0.8 * z + 0.6 * rng.standard_normal(n)
        val = np.clip(_att8_mu(ks4["att8"], sd) + sd * s, 0, 90)
        att8[y11] = np.char.mod("%.1f", np.round(val[y11], 1)).astype(object)
        em[y11] = np.where(s[y11] > _threshold(ks4["em94"] / 100), "1", "0")
    return att8, em


def _ks1_rate(ks2: dict[str, Any], y: int) -> float | None:
    """The KS1 rate stood in by the year's KS2 RWM (35% if none), up to 2022/23 and not in cancelled years."""
    if y <= 2023 and y not in KS_CANCELLED:
        return ks2.get("rwm") if ks2.get("rwm") is not None else 35.0
    return None


def _disagreement_summary(dis: np.ndarray, true: np.ndarray, by_code_rates: dict[str, float]) -> dict[str, Any]:
    """Counts and rates of school codes that differ from the true code, baseline and for each code with its own
    rate."""
    in_by = np.isin(true, list(by_code_rates))
    return {
        "baseline": {
            "count": int(dis[~in_by].sum()),
            "denominator": int((~in_by).sum()),
            "rate": float(dis[~in_by].mean()) if (~in_by).any() else None,
        },
        "by_code": {
            c: {
                "count": int(dis[true == c].sum()),
                "denominator": int((true == c).sum()),
                "rate": float(dis[true == c].mean()) if (true == c).any() else None,
            }
            for c in by_code_rates
        },
        "denominator_note": "pupils in school/<year>.csv, by their true code; disagreement = school code != true code",
    }


def _school_truth(w: dict[str, Any], y: int, ids: np.ndarray, codes: np.ndarray) -> dict[str, Any]:
    """Ground truth of the year's extract: each pupil's school code, the disagreement defects and summary."""
    p = w["p"]
    dis = w["school_dis"][ids]
    summ = _disagreement_summary(dis, p.loc[ids, "true_code"].to_numpy(), w["rates"].school_disagreement_by_code)
    sel = ids[dis]
    defects = pd.DataFrame(
        {
            "year": y,
            "la": p.loc[sel, "la_code"].to_numpy(),
            "child": p.loc[sel, "child"].to_numpy(),
            "table": "school",
            "defect": "school_disagreement",
            "detail": "true " + p.loc[sel, "true_code"].astype(str).to_numpy() + ", school " + codes[sel].astype(str),
        }
    )
    return {"school_code": pd.Series(codes[ids], index=ids), "defects": defects, "summary": summ}


def school_extract(w: dict[str, Any], y: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Year ``y``'s school extract (one row per pupil) and its ground truth."""
    codes = school_codes(w)
    rng = np.random.default_rng([w["seed"], int(y), 6])
    ids, nc = _pupils(w, y, rng)
    count, mid = _school_moves(rng, w["ep"], ids, y)
    z = w["ability"][ids]
    t = load_targets()["outcomes"]
    ks2 = t["ks2"]["by_year"].get(y) or {}
    att8, em = _ks4(rng, z, nc == 11, t["ks4"]["by_year"].get(y) or {})
    y2, y6 = nc == 2, nc == 6
    sch = pd.DataFrame(
        {
            "UPN": w["defects"].upn.loc[ids].to_numpy(),
            "LA": w["p"].loc[ids, "la_code"].to_numpy(),
            "ETHNIC": codes[ids],
            "NCYEAR": np.where(nc == 0, "R", nc.astype(str)),
            "SCHOOL_MOVES": count,
            "MIDYEAR_MOVES": mid,
            "KS1_RWM_EXP": _indicator(rng, z, _ks1_rate(ks2, y), y2),
            "KS2_READ_EXP": _indicator(rng, z, ks2.get("read"), y6),
            "KS2_WRIT_EXP": _indicator(rng, z, ks2.get("writ"), y6),
            "KS2_MAT_EXP": _indicator(rng, z, ks2.get("mat"), y6),
            "KS4_ATT8": att8,
            "KS4_EM_94": em,
        }
    ).sort_values(["LA", "UPN"], kind="stable")
    return sch, _school_truth(w, y, ids, codes)
