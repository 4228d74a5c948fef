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
    return float(stats.norm.ppf(1 - p))


def _att8_mu(mean: float, sd: float) -> float:
    """Location whose zero-floored normal has the published mean Attainment 8."""
    f = lambda mu: mu * stats.norm.cdf(mu / sd) + sd * stats.norm.pdf(mu / sd) - mean  # noqa: E731
    return float(optimize.brentq(f, -100, 100))


def school_extract(w: dict[str, Any], y: int, _episodes: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    p, d = w["p"], w["defects"]
    codes = school_codes(w)
    ys, ye = year_start(y), year_end(y)
    ids = w["in_year"][y]
    h = p.loc[ids]
    lac = (h["start"].to_numpy() <= ye) & (h["end"].to_numpy() >= ys)
    known_upn = ~d.upn_unknown[ids]
    age = age_on(h["dob"].to_numpy(), day(y - 1, 8, 31))
    nc = age - 4
    rng = np.random.default_rng([w["seed"], int(y), 6])
    u = rng.random(len(ids))
    incl = np.where(nc <= 11, 0.97, 0.5) * np.where(h["uasc"].to_numpy() & (nc >= 10), 0.6, 1.0)
    keep = lac & known_upn & (nc >= 0) & (nc <= 13) & (u < incl)
    ids, h, nc = ids[keep], h[keep], nc[keep]
    n = len(ids)
    # Placement moves in the year -> school moves.
    ep = w["ep"]
    mv = ep[(ep["decom"] >= ys) & (ep["decom"] <= ye) & ep["rne"].isin(["P", "T"])]
    moves = mv.groupby("pid").size().reindex(ids, fill_value=0).to_numpy()
    pm = np.minimum(0.06 + 0.07 * moves, 0.7)
    any_move = rng.random(n) < pm
    count = np.where(any_move, 1 + (rng.random(n) < 0.15), 0)
    mid = rng.binomial(count, 0.72)
    z = w["ability"][ids]
    t = load_targets()["outcomes"]

    def indicator(rate: float | None, sel: np.ndarray, loading: float = 0.8) -> np.ndarray:
        out = np.full(n, "", dtype=object)
        if rate is None:
            return out
        s = loading * z + np.sqrt(1 - loading**2) * rng.standard_normal(n)
        out[sel] = np.where(s[sel] > _threshold(rate / 100), "1", "0")
        return out

    ks2 = t["ks2"]["by_year"].get(y) or {}
    ks4 = t["ks4"]["by_year"].get(y) or {}
    y2, y6, y11 = nc == 2, nc == 6, nc == 11
    ks1_rate = None
    if y <= 2023 and y not in KS_CANCELLED:
        ks1_rate = ks2.get("rwm") if ks2.get("rwm") is not None else 35.0
    att8 = np.full(n, "", dtype=object)
    em = np.full(n, "", dtype=object)
    if ks4.get("att8") is not None:
        sd = 16.0
        s = 0.8 * z + 0.6 * rng.standard_normal(n)
        val = np.clip(_att8_mu(ks4["att8"], sd) + sd * s, 0, 90)
        att8[y11] = np.char.mod("%.1f", np.round(val[y11], 1)).astype(object)
        em[y11] = np.where(s[y11] > _threshold(ks4["em94"] / 100), "1", "0")
    sch = pd.DataFrame(
        {
            "UPN": d.upn.loc[ids].to_numpy(),
            "LA": h["la_code"].to_numpy(),
            "ETHNIC": codes[ids],
            "NCYEAR": np.where(nc == 0, "R", nc.astype(str)),
            "SCHOOL_MOVES": count,
            "MIDYEAR_MOVES": mid,
            "KS1_RWM_EXP": indicator(ks1_rate, y2),
            "KS2_READ_EXP": indicator(ks2.get("read"), y6),
            "KS2_WRIT_EXP": indicator(ks2.get("writ"), y6),
            "KS2_MAT_EXP": indicator(ks2.get("mat"), y6),
            "KS4_ATT8": att8,
            "KS4_EM_94": em,
        }
    ).sort_values(["LA", "UPN"], kind="stable")
    # Ground truth.
    dis = w["school_dis"][ids]
    true = p.loc[ids, "true_code"].to_numpy()
    by_code_rates = w["rates"].school_disagreement_by_code
    in_by = np.isin(true, list(by_code_rates))
    summ: dict[str, Any] = {
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
    return sch, {"school_code": pd.Series(codes[ids], index=ids), "defects": defects, "summary": summ}
