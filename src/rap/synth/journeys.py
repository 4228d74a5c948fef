"""Children's journeys through care: periods of care, episodes, missing incidents, reviews, care leavers.

Model (one period of care per child; documented simplification: no re-entries):
- Starts arrive uniformly over time at the published national rate (2024 release: 33,050 a year), scaled.
  The simulation begins 23 years before the first collection year so that the 31 March population and the
  care leavers aged 17-21 of every collection year are in steady state.
- Each start gets an LA (weights: LA counts on 31 March, DERIVED 2025-release file), UASC status (22% of
  starts), age on starting (published age-on-starting bands; UASC mostly 16-17, 96% male), sex, and a true
  ethnic code: UASC from the published UASC-on-31-March ethnic mix, others from the starters' mix net of UASC,
  tilted by the LA's published major-group mix.
- Duration: short, medium (incl. adoption for under-5s) or until the 18th birthday, by age; the short and
  medium durations carry a per-code multiplier fitted (on a fixed national-size calibration sample) so that the
  31 March population matches the published minor-group shares. That is how starters and the 31 March
  population can both match: groups differ in how long they stay (UASC leave at 18).
- Placement moves: Poisson process with a gamma frailty per child and a per-major multiplier fitted so that
  the share of children looked after on 31 March with 3+ placements in the year matches the published figure.
- Legal status changes (L1/L2 -> C2/V2, V2 -> C2, C2 -> C1, C1 -> E1 before adoption) are separate events;
  a placement and legal change on the same day is one episode with RNE=T.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from rap.domain.ethnicity import codes as eth_codes
from rap.domain.ssda903 import code_group
from rap.synth.dates import age_on, birthday, day, year_end, year_start

KNOWN = [c for c in eth_codes().sort_values("order").index if eth_codes().at[c, "known"]]
MAJOR_OF = eth_codes()["major"].to_dict()
MAJORS = ["white", "mixed", "asian", "black", "other"]
YEAR_DAYS = 365.25
BURN_IN_YEARS = 23
CALIBRATION_SCALE = 0.5  # calibration sample: half the national size (about 42,000 on 31 March)
AGE_BANDS = ["Under 1 year", "1 to 4 years", "5 to 9 years", "10 to 15 years", "16 years and over"]
# Probability of (short, medium, until 18) by age band on starting, non-UASC.
DURATION_MIX = np.array(
    [[0.22, 0.60, 0.18], [0.38, 0.44, 0.18], [0.42, 0.30, 0.28], [0.45, 0.22, 0.33], [0.38, 0.10, 0.52]]
)
SHORT_MEAN_DAYS = 110.0
MEDIUM_MEAN_DAYS = 720.0
ADOPT_SHARE_MEDIUM_UNDER5 = 0.45
UASC_LEAVE_EARLY = 0.08
# Share of UASC starting at 16 or 17: the published 11% under 16 on 31 March is a stock share; younger UASC
# stay until 18, so far fewer of them start (about 830 on 31 March / ~3 years' stay / 7,270 UASC starts).
UASC_START_16PLUS = 0.96


def _norm(a: np.ndarray) -> np.ndarray:
    a = np.clip(np.asarray(a, dtype=float), 0, None)
    return a / a.sum()


@dataclass
class Inputs:
    """Everything the simulation needs from the committed targets, as arrays."""

    la_codes: list[str]
    la_weight: np.ndarray
    la_code_p: np.ndarray  # LA x known code, non-UASC start probabilities
    uasc_p: np.ndarray  # known code, UASC
    p_uasc: float
    age_p: np.ndarray  # non-UASC age-on-starting band probabilities
    uasc_16plus: float
    male_uasc: float
    male_other: float
    starts_per_year: float
    stock_target: dict[str, float]  # known code -> number on 31 March (params.year scale 1)
    stock_total: float
    p3_target: dict[str, float]  # major -> share with 3+ placements
    missing_target: dict[str, float]  # major -> share missing
    cin_p: dict[str, float]
    targets: dict[str, Any] = field(repr=False, default_factory=dict)


def _la_size_and_mix(row: dict[str, Any]) -> tuple[float, np.ndarray]:
    """An LA's number on 31 March and its major-group mix (suppressed cells share what the known ones leave, at
    most 5 each; every group kept possible)."""
    vals = {m: row.get(m) for m in MAJORS + ["unknown"]}
    known = sum(v for v in vals.values() if v is not None)
    total = row.get("total") or known
    missing = [m for m, v in vals.items() if v is None]
    rest = max(total - known, 0.0)
    for m in missing:
        vals[m] = min(rest / len(missing), 5.0) if missing else 0.0
    mix = np.array([vals[m] for m in MAJORS]) + 0.25  # keep every group possible
    return max(total, 1.0), mix / mix.sum()


def la_weights_and_mixes(by_la: dict[str, Any], la_codes: pd.Series, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Each LA's share of children on 31 March and its major-group mix (LA x major), from the year of the run or
    the nearest year published."""
    weights, mixes = [], []
    for code in la_codes:
        years = by_la[str(code)]
        y = year if year in years else min(years, key=lambda k: abs(int(k) - year))
        weight, mix = _la_size_and_mix(years[y])
        weights.append(weight)
        mixes.append(mix)
    weights = np.array(weights)
    return weights / weights.sum(), np.array(mixes)


def start_mixes(st: dict[str, Any], ua: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Ethnic mixes of UASC and of other starters (known codes): UASC from the UASC-on-31-March mix
    (suppressed cells, 1-5 nationally, count as 3), others the starters' mix net of UASC."""
    u = np.array(
        [ua["ethnicity"]["minor"].get(c) if ua["ethnicity"]["minor"].get(c) is not None else 3.0 for c in KNOWN]
    )
    uasc_p = _norm(u)
    s = np.array([st["ethnicity"]["minor"][c] for c in KNOWN])
    return uasc_p, _norm(np.maximum(s - st["uasc"]["value"] * uasc_p, 0.05 * s))


def la_code_probabilities(t: dict[str, Any], non: np.ndarray, mixes: np.ndarray) -> np.ndarray:
    """P(code | LA) for non-UASC starters ~ national share of the code x (LA major share / national major
    share)."""
    stock_major = np.array([t["on_31_march"]["ethnicity"]["major"][m] for m in MAJORS])
    stock_major = stock_major / stock_major.sum()
    major_idx = np.array([MAJORS.index(MAJOR_OF[c]) for c in KNOWN])
    tilt = mixes / stock_major
    la_code_p = non[None, :] * tilt[:, major_idx]
    la_code_p /= la_code_p.sum(1, keepdims=True)
    return la_code_p


def non_uasc_ages(st: dict[str, Any], ua: dict[str, Any]) -> np.ndarray:
    """Starters by age band less the UASC starters (16 and over, or 10 to 15)."""
    ages = np.array([st["age"][b] for b in AGE_BANDS])
    n_uasc = st["uasc"]["value"]
    u16 = ua["age_16_plus"]["value"] / ua["total"]["value"]
    ages[4] -= n_uasc * u16
    ages[3] -= n_uasc * (1 - u16)
    return ages


def build_inputs(t: dict[str, Any], la: pd.DataFrame, year: int) -> Inputs:
    """The simulation's inputs from the calibration targets ``t`` and the LA list."""
    st = t["started"]
    ua = t["uasc_on_31_march"]
    n_uasc = st["uasc"]["value"]
    uasc_p, non = start_mixes(st, ua)
    la_weight, mixes = la_weights_and_mixes(t["la_on_31_march_by_major"]["by_la"], la["old_la_code"], year)
    male_uasc = ua["male"]["value"] / ua["total"]["value"]
    stock = t["on_31_march"]["ethnicity"]["minor"]
    pl = t["placements_3plus"]
    mi = t["missing"]["ethnicity"]["major"]
    dy = t["during_year"]["ethnicity"]["major"]
    return Inputs(
        la_codes=list(la["old_la_code"].astype(str)),
        la_weight=la_weight,
        la_code_p=la_code_probabilities(t, non, mixes),
        uasc_p=uasc_p,
        p_uasc=n_uasc / st["total"]["value"],
        age_p=_norm(non_uasc_ages(st, ua)),
        uasc_16plus=ua["age_16_plus"]["value"] / ua["total"]["value"],
        male_uasc=male_uasc,
        male_other=(st["male"]["value"] - n_uasc * male_uasc) / (st["total"]["value"] - n_uasc),
        starts_per_year=st["total"]["value"],
        stock_target={c: stock[c] for c in KNOWN},
        stock_total=t["on_31_march"]["total"]["value"],
        p3_target={m: pl["with_3plus"]["major"][m] / pl["denominator"]["major"][m] for m in MAJORS},
        missing_target={m: mi[m] / dy[m] for m in MAJORS},
        cin_p={k: v for k, v in st["category_of_need"].items()},
        targets=t,
    )


# --------------------------------------------------------------------------------------------------------------
# Periods of care


def _age_on_starting(rng: np.random.Generator, inp: Inputs, uasc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Age on starting (days) and age band: published bands for others, UASC mostly 16-17 (band 4, else 3)."""
    n = len(uasc)
    band = rng.choice(5, size=n, p=inp.age_p)
    u = rng.random(n)
    lo = np.array([0.0, 1, 5, 10, 16]) * YEAR_DAYS
    width = np.array([1.0, 4, 5, 6, 1.92]) * YEAR_DAYS
    age_days = lo[band] + width[band] * np.where(band == 0, u**2, u)
    u16 = rng.random(n) < UASC_START_16PLUS
    ua_age = np.where(u16, 16 * YEAR_DAYS + 1.9 * YEAR_DAYS * u, 14 * YEAR_DAYS + 2 * YEAR_DAYS * u)
    age_days = np.where(uasc, ua_age, age_days)
    band = np.where(uasc, np.where(u16, 4, 3), band)
    return age_days, band


def _true_codes(rng: np.random.Generator, inp: Inputs, la: np.ndarray, uasc: np.ndarray) -> np.ndarray:
    """True ethnic code (index into ``KNOWN``): UASC from the UASC mix, others from their LA's mix."""
    n = len(la)
    uc = rng.random(n)
    code_non = _sample_rows(np.cumsum(inp.la_code_p, axis=1), la, uc)
    code_ua = np.minimum(np.searchsorted(np.cumsum(inp.uasc_p), rng.random(n)), len(KNOWN) - 1)
    return np.where(uasc, code_ua, code_non)


def _stays(
    rng: np.random.Generator, band: np.ndarray, uasc: np.ndarray, m: np.ndarray, start: np.ndarray, dob: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind of stay (0 short, 1 medium, 2 until 18), end day and adoption, with ``m`` the duration multiplier of
    each child's code."""
    n = len(band)
    ur = rng.random(n)
    cmix = np.cumsum(DURATION_MIX, axis=1)[band]
    kind = (cmix < ur[:, None]).sum(1)  # 0 short, 1 medium, 2 until 18
    kind = np.where(uasc, np.where(rng.random(n) < UASC_LEAVE_EARLY, 0, 2), kind)
    # A multiplier below 1 also thins the until-18 stays (they become medium stays).
    kind = np.where((kind == 2) & ~uasc & (rng.random(n) >= np.minimum(m, 1.0)), 1, kind)
    e_short = rng.exponential(SHORT_MEAN_DAYS, n) + 1
    sig = 0.6
    e_med = np.exp(np.log(MEDIUM_MEAN_DAYS) - sig**2 / 2 + sig * rng.standard_normal(n))
    adopt = (kind == 1) & (band <= 1) & (rng.random(n) < ADOPT_SHARE_MEDIUM_UNDER5) & ~uasc
    b18 = birthday(dob, 18)
    base = np.where(kind == 0, e_short, e_med)
    dur = np.maximum(np.round(base * m), 1).astype(np.int64)
    end = np.where(kind == 2, b18, np.minimum(start + dur, b18))
    adopt &= end < b18
    return kind, end, adopt


def simulate_periods(
    rng: np.random.Generator,
    inp: Inputs,
    scale: float,
    t0: int,
    t1: int,
    code_mult: np.ndarray,
    male_by_kind: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """One row per child (= period of care) starting between days ``t0`` and ``t1``."""
    span = (t1 - t0 + 1) / YEAR_DAYS
    n = int(round(inp.starts_per_year * scale * span))
    start = np.sort(rng.integers(t0, t1 + 1, n))
    la = rng.choice(len(inp.la_codes), size=n, p=inp.la_weight)
    uasc = rng.random(n) < inp.p_uasc
    age_days, band = _age_on_starting(rng, inp, uasc)
    dob = start - np.floor(age_days).astype(np.int64)
    u_sex = rng.random(n)
    code = _true_codes(rng, inp, la, uasc)
    kind, end, adopt = _stays(rng, band, uasc, code_mult[code], start, dob)
    # Sex: boys stay a little longer (published: 51% of non-UASC starters, 53% of non-UASC on 31 March are boys),
    # so the until-18 stays get their own share of boys (fitted in ``calibrate``).
    m_short, m_long = male_by_kind if male_by_kind is not None else (inp.male_other, inp.male_other)
    male = u_sex < np.where(uasc, inp.male_uasc, np.where(kind == 2, m_long, m_short))
    return pd.DataFrame(
        {
            "start": start,
            "end": end,
            "dob": dob,
            "la": la,
            "uasc": uasc,
            "male": male,
            "code": code,
            "kind": kind,
            "adopt": adopt,
            "band": band,
            "frailty": rng.gamma(0.6, 1 / 0.6, n),
            "u_rec": rng.random(n),
            "u_cin": rng.random(n),
        }
    )


def stock_mask(p: pd.DataFrame, year: int) -> np.ndarray:
    d = year_end(year)
    return (p["start"].to_numpy() <= d) & (p["end"].to_numpy() > d)


def calibrate(inp: Inputs, seed: int, year: int) -> dict[str, Any]:
    """Fit duration multipliers per code, placement-move and missing multipliers per major group.

    Uses its own national-size sample (fixed seed derived from ``seed``), so the fitted model does not depend
    on the scale of the run and small runs keep genuine sampling error.
    """
    t1 = year_end(year)
    t0 = year_start(year) - int(19 * YEAR_DAYS)  # the 31 March population only needs 18 years of starts
    mult = np.ones(len(KNOWN))
    target = np.array([inp.stock_target[c] for c in KNOWN])
    target = target / target.sum() * inp.stock_total * CALIBRATION_SCALE
    for _ in range(12):
        p = simulate_periods(np.random.default_rng([seed, 1]), inp, CALIBRATION_SCALE, t0, t1, mult)
        s = stock_mask(p, year)
        got = np.bincount(p["code"].to_numpy()[s], minlength=len(KNOWN)).astype(float)
        ratio = np.clip(target / np.maximum(got, 1), 0.5, 2.0)
        mult = np.clip(mult * ratio**1.3, 0.05, 20)
        if np.abs(ratio - 1).max() < 0.02:
            break
    p = simulate_periods(np.random.default_rng([seed, 1]), inp, CALIBRATION_SCALE, t0, t1, mult)
    s = stock_mask(p, year)
    ys = year_start(year)
    # Boys among non-UASC: solve a (short/medium stays) and c (until 18) for starters' and 31 March shares.
    non = ~p["uasc"].to_numpy()
    st_in = non & (p["start"].to_numpy() >= ys)
    long_ = p["kind"].to_numpy() == 2
    ls_, lk_ = long_[st_in].mean(), long_[s & non].mean()
    t_ = inp.targets
    n_ua_stock = t_["uasc_on_31_march"]["total"]["value"]
    male_stock_non = (t_["on_31_march"]["male"]["value"] - n_ua_stock * inp.male_uasc) / (inp.stock_total - n_ua_stock)
    a_, c_ = np.linalg.solve(np.array([[1 - ls_, ls_], [1 - lk_, lk_]]), np.array([inp.male_other, male_stock_non]))
    male_by_kind = (float(np.clip(a_, 0.3, 0.7)), float(np.clip(c_, 0.3, 0.8)))
    major = np.array([MAJORS.index(MAJOR_OF[KNOWN[c]]) for c in p["code"].to_numpy()])
    # Placement moves: P(2+ moves in the year) for the 31 March population; moves ~ Poisson(rate x exposure).
    expo = (t1 - np.maximum(p["start"].to_numpy(), ys)) / YEAR_DAYS
    fr = p["frailty"].to_numpy()
    place_mult = {}
    for k, m in enumerate(MAJORS):
        sel = s & (major == k)
        mu0 = (fr * expo * place_rate_age(p))[sel]

        def f(x: float) -> float:
            mu = x * mu0
            return float(np.mean(1 - np.exp(-mu) * (1 + mu))) - inp.p3_target[m]

        place_mult[m] = float(optimize.brentq(f, 1e-4, 50))
    # Missing: P(missing in year) = base(age) x multiplier, over children looked after during the year.
    during = (p["start"].to_numpy() <= t1) & (p["end"].to_numpy() >= ys)
    base = missing_base(age_on(p["dob"].to_numpy(), t1))
    missing_mult = {}
    for k, m in enumerate(MAJORS):
        sel = during & (major == k)

        def g(x: float) -> float:
            return float(np.mean(np.minimum(base[sel] * x, 0.9))) - inp.missing_target[m]

        missing_mult[m] = float(optimize.brentq(g, 1e-4, 50))
    return {"code_mult": mult, "place_mult": place_mult, "missing_mult": missing_mult, "male_by_kind": male_by_kind}


def place_rate_age(p: pd.DataFrame) -> np.ndarray:
    """Relative placement-move rate by age band on starting (teenagers move more)."""
    return np.array([0.5, 0.6, 0.9, 1.3, 1.0])[p["band"].to_numpy()]


def missing_base(age: np.ndarray) -> np.ndarray:
    """Relative chance of going missing in a year by age (published incidents are almost all aged 10+)."""
    return np.select([age < 10, age < 13, age < 16], [0.002, 0.35, 1.0], 1.25)


# --------------------------------------------------------------------------------------------------------------
# Episodes

FOSTER = np.array(code_group("foster_placements"))
FOSTER_P = _norm([0.10, 0.10, 0.005, 0.33, 0.46, 0.005])  # U1 to U6
FOSTER_OR_ADOPTION = [*FOSTER, *code_group("adoption_placements")]
CARE_ORDERS = list(code_group("care_orders"))
# Placement families by age band at the placement: foster, K2, P1, H5, P2, K1, R1, R2, R5, S1, Z1
PLACE_FAM = np.array(["F", "K2", "P1", "H5", "P2", "K1", "R1", "R2", "R5", "S1", "Z1"])
PLACE_P = np.array(
    [
        [0.84, 0.00, 0.09, 0.00, 0.00, 0.000, 0.03, 0.005, 0.00, 0.00, 0.035],  # under 5
        [0.80, 0.08, 0.07, 0.00, 0.00, 0.000, 0.00, 0.005, 0.01, 0.005, 0.03],  # 5-12
        [0.63, 0.23, 0.05, 0.00, 0.00, 0.010, 0.00, 0.01, 0.01, 0.01, 0.05],  # 13-15
        [0.40, 0.18, 0.03, 0.26, 0.02, 0.010, 0.02, 0.01, 0.00, 0.02, 0.03],  # 16-17
        [0.45, 0.05, 0.00, 0.45, 0.02, 0.000, 0.00, 0.00, 0.00, 0.00, 0.03],  # UASC 16-17
    ]
)
RPC = ["CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ", "PLACE", "CUSTOD", "OTHER"]
RPC_P = _norm([0.25, 0.05, 0.03, 0.05, 0.05, 0.08, 0.04, 0.12, 0.15, 0.05, 0.01, 0.12])


def _sample_rows(cum: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category index for each item: inverse CDF of row ``row[k]`` of ``cum`` at ``u[k]`` (no N x K matrix)."""
    out = np.empty(len(row), dtype=np.int64)
    order = np.argsort(row, kind="stable")
    rs = row[order]
    bounds = np.flatnonzero(np.r_[True, rs[1:] != rs[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = order[a:b]
        out[idx] = np.searchsorted(cum[rs[a]], u[idx], side="right")
    return np.minimum(out, cum.shape[1] - 1)


def _repeat_offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts [2, 0, 3] return owners [0, 0, 2, 2, 2] and positions [0, 1, 0, 1, 2]."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    pos = np.arange(len(owner)) - first[owner]
    return owner, pos


def initial_legal_status(
    rng: np.random.Generator, uasc: np.ndarray, adopt: np.ndarray, start: np.ndarray, dob: np.ndarray
) -> np.ndarray:
    """LS of each child's first episode: V2 for UASC; a care order for children who will be adopted."""
    ls0 = np.where(
        uasc,
        "V2",
        rng.choice(["V2", "C2", "L1", "L2", "J2"], size=len(uasc), p=_norm([0.45, 0.40, 0.05, 0.08, 0.02])),
    )
    ls0 = np.where(adopt & np.isin(ls0, ["V2", "J2"]), "C2", ls0)
    # J1-J3 (remand, youth justice) only from the 10th birthday (rule 358).
    return np.where((ls0 == "J2") & (start < birthday(dob, 10)), "V2", ls0)


def _events(i: np.ndarray, days: np.ndarray, kind: int, ls: Any = "", force: Any = "") -> pd.DataFrame:
    """Events of children ``i`` (positions in the periods): kind 1 placement, 2 legal status change."""
    return pd.DataFrame({"i": i, "day": days, "kind": kind, "ls": ls, "force": force})


def _move_events(
    rng: np.random.Generator, p: pd.DataFrame, pm: np.ndarray, start: np.ndarray, dur: np.ndarray
) -> pd.DataFrame:
    """Placement moves: a Poisson number per child (frailty x age rate x the major group's multiplier)."""
    lam = p["frailty"].to_numpy() * place_rate_age(p) * pm
    k = np.minimum(rng.poisson(lam * np.maximum(dur - 1, 0) / YEAR_DAYS), 60)
    own, _ = _repeat_offsets(k)
    mday = start[own] + 1 + np.floor(rng.random(len(own)) * np.maximum(dur[own] - 1, 1)).astype(np.int64)
    return _events(own, mday, 1)


def _legal_events(
    rng: np.random.Generator, ls0: np.ndarray, uasc: np.ndarray, adopt: np.ndarray, start: np.ndarray, dur: np.ndarray
) -> list[pd.DataFrame]:
    """Legal status changes: out of L1/L2/J2, V2 -> C2, C2 -> C1."""
    n = len(ls0)
    # Short legal statuses end in time: police protection (L1) within 72 hours (rule 361), an emergency
    # protection order (L2) within 8 days, remand (J2) within 21 days (rule 364), unless care ends first.
    d_l = rng.integers(2, 21, n)
    t_l = start + np.select([ls0 == "L1", ls0 == "L2"], [1 + d_l % 3, 1 + d_l % 8], d_l)
    to_l = np.where(rng.random(n) < 0.65, "C2", "V2")
    sel = np.isin(ls0, ["L1", "L2", "J2"])
    ev = [_events(np.flatnonzero(sel), t_l[sel], 2, to_l[sel])]
    is_c2 = (ls0 == "C2") | (sel & (to_l == "C2"))
    t_c2 = np.where(ls0 == "C2", start, t_l)
    v2c2 = (ls0 == "V2") & ~uasc & (rng.random(n) < 0.3)
    t_v2c2 = start + 7 + rng.exponential(150, n).astype(np.int64)
    ev.append(_events(np.flatnonzero(v2c2), t_v2c2[v2c2], 2, "C2"))
    is_c2 |= v2c2
    t_c2 = np.where(v2c2, t_v2c2, t_c2)
    t_c1 = t_c2 + rng.integers(120, 450, n)
    t_c1 = np.where(adopt, np.minimum(t_c1, start + (0.35 * dur).astype(np.int64)), t_c1)
    c1 = is_c2 & ((rng.random(n) < 0.85) | adopt)
    ev.append(_events(np.flatnonzero(c1), t_c1[c1], 2, "C1"))
    return ev


def _adoption_events(
    rng: np.random.Generator, adopt: np.ndarray, start: np.ndarray, dur: np.ndarray
) -> tuple[list[pd.DataFrame], np.ndarray]:
    """For children to be adopted: E1 (placement order) then a placement for adoption (A4 or A6); also the day
    of that placement."""
    t_e1 = start + (0.55 * dur).astype(np.int64)
    t_a = start + (0.75 * dur).astype(np.int64)
    a_code = np.where(rng.random(len(adopt)) < 0.2, "A4", "A6")
    at = np.flatnonzero(adopt)
    return [_events(at, t_e1[adopt], 2, "E1"), _events(at, t_a[adopt], 1, force=a_code[adopt])], t_a


def _same_day_merged(e: pd.DataFrame) -> pd.DataFrame:
    """Events of one child on the same day become one episode (placement + legal change: kind 3 = RNE T)."""
    ei, ed = e["i"].to_numpy(), e["day"].to_numpy()
    grp = np.r_[True, (ei[1:] != ei[:-1]) | (ed[1:] != ed[:-1])] if len(e) else np.array([], bool)
    at = np.flatnonzero(grp)
    ls_codes = np.array(["", "C1", "C2", "E1", "J2", "L1", "L2", "V2"], dtype=object)
    ls_i = np.searchsorted(ls_codes[1:], e["ls"].to_numpy().astype(str)) + 1
    ls_i = np.where(e["ls"].to_numpy() == "", 0, ls_i)
    f_codes = np.array(["", "A4", "A6"], dtype=object)
    f_i = np.select([e["force"].to_numpy() == "A4", e["force"].to_numpy() == "A6"], [1, 2], 0)
    return pd.DataFrame(
        {
            "i": ei[at],
            "day": ed[at],
            "kind": np.add.reduceat(e["kind"].to_numpy(), at) if len(at) else [],
            "ls": ls_codes[np.maximum.reduceat(ls_i, at)] if len(at) else [],
            "force": f_codes[np.maximum.reduceat(f_i, at)] if len(at) else [],
        }
    )


def _without_non_changes(e: pd.DataFrame) -> pd.DataFrame:
    """A legal status "change" to the status the child already has is no change (rule 434: RNE L needs a new LS):
    drop it, or make it a placement change only when the placement changes too."""
    ls_ff = e["ls"].replace("", np.nan).ffill().to_numpy()
    ei = e["i"].to_numpy()
    same_child = np.r_[False, ei[1:] == ei[:-1]]
    no_change = same_child & (e["ls"].to_numpy() != "") & (ls_ff == np.r_[None, ls_ff[:-1]])
    kd = e["kind"].to_numpy()
    return e.assign(kind=np.where(no_change & (kd == 3), 1, kd))[~(no_change & (kd == 2))].reset_index(drop=True)


def episode_events(rng: np.random.Generator, p: pd.DataFrame, model: dict[str, Any]) -> pd.DataFrame:
    """The day each episode starts, one row per episode in child and date order: ``i`` (position of the period),
    ``kind`` (4 first episode, 1 placement change, 2 legal change, 3 both), ``ls`` (the new LS, or blank) and
    ``force`` (a placement the event imposes: A4/A6)."""
    n = len(p)
    start, end = p["start"].to_numpy(), p["end"].to_numpy()
    dur = end - start
    uasc, adopt = p["uasc"].to_numpy(), p["adopt"].to_numpy()
    major = np.array([MAJORS.index(MAJOR_OF[c]) for c in KNOWN])[p["code"].to_numpy()]
    pm = np.array([model["place_mult"][m] for m in MAJORS])[major]
    ls0 = initial_legal_status(rng, uasc, adopt, start, p["dob"].to_numpy())
    ev = [_move_events(rng, p, pm, start, dur), *_legal_events(rng, ls0, uasc, adopt, start, dur)]
    adoption, t_a = _adoption_events(rng, adopt, start, dur)
    e = pd.concat(ev + adoption, ignore_index=True)
    e = e[(e["day"] > start[e["i"]]) & (e["day"] < end[e["i"]])]
    # No placement moves after an adoption placement.
    adopt_day = np.where(adopt, t_a, np.iinfo(np.int64).max)
    e = e[~((e["kind"] == 1) & (e["force"] == "") & (e["day"] >= adopt_day[e["i"]]))]
    # No legal status events before the legal status they replace (C1 after C2).
    e = e.drop_duplicates(["i", "day", "kind"]).sort_values(["i", "day", "kind"], kind="stable")
    first = _events(np.arange(n), start, 4, ls0)
    e = pd.concat([first, _same_day_merged(e)], ignore_index=True)
    return _without_non_changes(e.sort_values(["i", "day"], kind="stable").reset_index(drop=True))


def _ffill(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values`` where ``at``, else the last value where ``at`` before it."""
    return pd.Series(np.where(at, values, None)).ffill().to_numpy()


def _placements(
    rng: np.random.Generator,
    e: pd.DataFrame,
    dob: np.ndarray,
    uasc: np.ndarray,
    ls: np.ndarray,
    kind: np.ndarray,
    newpl: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PLACE of each episode (by family and age at the event), with ``kind`` and ``newpl`` (a new placement
    starts) updated where a placement with parents must end; ``dob`` and ``uasc`` are per episode."""
    ev_day = e["day"].to_numpy()
    age = age_on(dob, ev_day)
    b = np.select([age < 5, age < 13, age < 16], [0, 1, 2], 3)
    b = np.where(uasc & (age >= 16), 4, b)
    fam = PLACE_FAM[_sample_rows(np.cumsum(PLACE_P / PLACE_P.sum(1, keepdims=True), axis=1), b, rng.random(len(e)))]
    fam = np.where((fam == "P1") & ~np.isin(ls, CARE_ORDERS), "F", fam)
    fam = np.where(np.isin(ls, ["J2"]) & (fam == "P1"), "F", fam)
    fam = np.where((fam == "R5") & (age < 10), "F", fam)  # youth custody only from age 10 (rule 372)
    fost = FOSTER[np.searchsorted(np.cumsum(FOSTER_P), rng.random(len(e)) * 0.99999)]
    place = np.where(fam == "F", fost, fam)
    force = e["force"].to_numpy()
    place_new = np.where(force != "", force, place)
    place = _ffill(place_new, newpl)
    # A legal status change that ends a care order while placed with parents (P1) also moves the child
    # (rule: P1 needs C1/C2), so that episode becomes a placement and legal change (RNE T) to foster care.
    for _ in range(3):
        bad = (place == "P1") & ~np.isin(ls, CARE_ORDERS)
        if not bad.any():
            break
        kind = np.where(bad & (kind == 2), 3, kind)
        newpl = newpl | bad
        place_new = np.where(bad, fost, place_new)
        place = _ffill(place_new, newpl)
    return place, kind, newpl


def _placement_rules(place: np.ndarray, newpl: np.ndarray, pl_end: np.ndarray) -> np.ndarray:
    """PLACE after the rules on dates and previous placements, each placement's code carried over its
    episodes."""
    # Independent living (P2) ends on 28/10/2023 (rule 217t): placements going on after it are supported
    # accommodation (H5) instead.
    place = np.where((place == "P2") & (pl_end > day(2023, 10, 27)), "H5", place)
    # Placed for adoption with current foster carers (A4) only from a foster placement (rule 336).
    prev_place = np.r_[None, place[:-1]]
    place = np.where((place == "A4") & newpl & ~np.isin(prev_place, FOSTER_OR_ADOPTION), "A6", place)
    return _ffill(place, newpl)


def _reasons_for_change(rng: np.random.Generator, rne: np.ndarray, force: np.ndarray, last: np.ndarray) -> np.ndarray:
    """REASON_PLACE_CHANGE, given on an episode the next placement change ends (APPRR before an adoption)."""
    next_rne = np.append(rne[1:], "S")
    rpc = np.where(
        ~last & np.isin(next_rne, ["P", "T"]),
        np.array(RPC)[np.searchsorted(np.cumsum(RPC_P), rng.random(len(rne)) * 0.99999)],
        "",
    )
    next_force = np.append(force[1:], "")
    return np.where(next_force != "", "APPRR", rpc)


def _providers(rng: np.random.Generator, place: np.ndarray, newpl: np.ndarray) -> np.ndarray:
    """PLACE_PROVIDER: one per placement (rule 434: an RNE L episode keeps it); none for Z1 (rule 178); never
    own provision (PR1) for P1, R2 or R5 (rule 527): health (R2) and custody (R5) are other public bodies (PR3)."""
    n = len(place)
    prov = np.select(
        [
            place == "P1",
            np.isin(place, ["U1", "U2", "U3"]),
            np.isin(place, ["U4", "U5", "U6"]),
            place == "K2",
            np.isin(place, ["A4", "A6"]),
            place == "Z1",
            np.isin(place, ["R2", "R5"]),
        ],
        [
            "PR0",
            "PR1",
            np.where(rng.random(n) < 0.6, "PR1", "PR4"),
            np.where(rng.random(n) < 0.25, "PR1", "PR4"),
            "PR1",
            "",
            "PR3",
        ],
        np.where(rng.random(n) < 0.5, "PR4", "PR1"),
    )
    return _ffill(prov, newpl)


def _urns(place: np.ndarray, pid: np.ndarray, pl_grp: np.ndarray, pl_end: np.ndarray) -> np.ndarray:
    """URN of each episode's placement.

    Supported accommodation (H5) registered with Ofsted from 28/10/2023 needs its own URN (rule 230): a 7-digit
    number per placement, written from the 2023/24 return on (rule 222 of earlier packs forbids it). Every
    placement type that takes a URN has one (rule 218), XXXXXXX when not known; none for P1, P2, Z1.
    """
    urn = np.where(np.isin(place, ["P1", "P2", "Z1", "H5"]), "", "XXXXXXX")
    h5_urn = (2_000_000 + (pid * 7919 + pl_grp * 104729) % 1_000_000).astype(str)
    return np.where((place == "H5") & (pl_end > day(2023, 10, 27)), h5_urn, urn)


def build_episodes(
    rng: np.random.Generator, p: pd.DataFrame, model: dict[str, Any], lo: int = -(10**9)
) -> pd.DataFrame:
    """Episodes for the periods in ``p`` (index = period id). Columns: pid, decom, dec, rne, ls, place, ..."""
    pid = p.index.to_numpy()
    e = episode_events(rng, p, model)
    i = e["i"].to_numpy()
    ls = e["ls"].replace("", np.nan).ffill().to_numpy()
    kind = e["kind"].to_numpy()
    newpl = (kind & 1).astype(bool) | (kind == 4)
    place, kind, newpl = _placements(rng, e, p["dob"].to_numpy()[i], p["uasc"].to_numpy()[i], ls, kind, newpl)
    ev_day = e["day"].to_numpy()
    last = np.r_[i[1:] != i[:-1], True]
    dec = np.where(last, p["end"].to_numpy()[i], np.r_[ev_day[1:], 0])
    pl_grp = np.cumsum(newpl)
    pl_end = np.maximum.reduceat(dec, np.flatnonzero(newpl))[pl_grp - 1] if len(e) else dec
    place = _placement_rules(place, newpl, pl_end)
    rne = np.select([kind == 4, kind == 1, kind == 2, kind == 3], ["S", "P", "L", "T"], "P")
    rec = np.where(last, p["rec_end"].to_numpy()[i], "X1")
    # Special guardianship to former foster carers (E45/E46) only from a foster placement (rule 516).
    rec = np.where(np.isin(rec, ["E45", "E46"]) & ~np.isin(place, FOSTER), "E41", rec)
    rpc = _reasons_for_change(rng, rne, e["force"].to_numpy(), last)
    prov = _providers(rng, place, newpl)
    urn = _urns(place, pid[i], pl_grp, pl_end)
    keep = dec >= lo  # only episodes that reach the first collection year are written
    cat = pd.Categorical
    return pd.DataFrame(
        {
            "pid": pid[i][keep],
            "decom": ev_day[keep],
            "dec": dec[keep],
            "rne": cat(rne[keep]),
            "ls": cat(ls[keep]),
            "cin": cat(p["cin"].to_numpy()[i][keep]),
            "place": cat(place[keep].astype(str)),
            "provider": cat(prov[keep]),
            "rec": cat(rec[keep]),
            "rpc": cat(rpc[keep]),
            "urn": urn[keep].astype(object),
        }
    )


def assign_cin(p: pd.DataFrame, inp: Inputs) -> np.ndarray:
    codes = sorted(inp.cin_p)
    w = np.array([inp.cin_p[c] for c in codes], dtype=float)
    # UASC are N8 (absent parenting): take them out of the published N8 count.
    w_non = w.copy()
    w_non[codes.index("N8")] = max(w[codes.index("N8")] - inp.targets["started"]["uasc"]["value"] * 0.9, 1)
    out = np.array(codes)[np.searchsorted(np.cumsum(_norm(w_non)), p["u_cin"].to_numpy() * 0.99999)]
    return np.where(p["uasc"].to_numpy(), "N8", out)


def period_rec(p: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The E-code that ends each period of care."""
    u = p["u_rec"].to_numpy()
    b18 = birthday(p["dob"].to_numpy(), 18)
    at18 = p["end"].to_numpy() >= b18

    def pick(codes: list[str], w: list[float]) -> np.ndarray:
        return np.array(codes)[np.searchsorted(np.cumsum(_norm(w)), u * 0.99999)]

    r18 = pick(["E17", "E5", "E6", "E8", "E7"], [0.28, 0.40, 0.07, 0.23, 0.02])
    radopt = pick(["E11", "E12"], [0.85, 0.15])
    ruasc = pick(["E15", "E8", "E16"], [0.45, 0.45, 0.10])
    rother = pick(
        ["E4A", "E4B", "E13", "E41", "E45", "E46", "E48", "E8", "E3", "E9"],
        [0.45, 0.04, 0.10, 0.05, 0.08, 0.08, 0.02, 0.12, 0.04, 0.02],
    )
    age_end = age_on(p["dob"].to_numpy(), p["end"].to_numpy())
    rother = np.where((rother == "E9") & (age_end < 10), "E8", rother)
    out = np.where(at18, r18, np.where(p["adopt"].to_numpy(), radopt, np.where(p["uasc"].to_numpy(), ruasc, rother)))
    return out


# --------------------------------------------------------------------------------------------------------------
# Missing incidents, reviews, social worker episodes, care leavers


def missing_incidents(
    rng: np.random.Generator, p: pd.DataFrame, years: list[int], model: dict[str, Any]
) -> pd.DataFrame:
    """MISSING (M) and away (A) incidents per child and collection year."""
    major = np.array([MAJORS.index(MAJOR_OF[c]) for c in KNOWN])[p["code"].to_numpy()]
    mm = np.array([model["missing_mult"][m] for m in MAJORS])[major]
    out = []
    start, end, dob = p["start"].to_numpy(), p["end"].to_numpy(), p["dob"].to_numpy()
    for y in years:
        ys, ye = year_start(y), year_end(y)
        a = np.maximum(start, ys)
        b = np.minimum(end - 1, ye)
        ok = b >= a
        prob = np.minimum(missing_base(age_on(dob, ye)) * mm, 0.9)
        # Mean extra incidents per missing child: published 6.5 incidents per missing child, some overlaps dropped.
        for kind, rate, mean in (("M", 1.0, 6.5), ("A", 0.45, 2.0)):
            has = ok & (rng.random(len(p)) < prob * rate)
            idx = np.flatnonzero(has)
            k = 1 + np.minimum(rng.negative_binomial(0.8, 0.8 / (0.8 + mean), len(idx)), 80)
            own, _ = _repeat_offsets(k)
            j = idx[own]
            ms = a[j] + np.floor(rng.random(len(j)) * (b[j] - a[j] + 1)).astype(np.int64)
            r = rng.random(len(j))
            d = np.select(
                [r < 0.34, r < 0.64, r < 0.91, r < 0.99],
                [0, 1, 2, rng.integers(3, 8, len(j))],
                rng.integers(8, 45, len(j)),
            )
            me = ms + d
            open_at_end = end[j] > ye
            # Back the day before care ends at the latest: a child missing when care ends needs REC E8 (rule 580).
            me = np.where(me >= end[j], end[j] - 1, me)
            me = np.where(open_at_end & (me > ye), -1, me)  # still missing on 31 March: MIS_END blank
            f = pd.DataFrame({"pid": p.index.to_numpy()[j], "year": y, "missing": kind, "mis_start": ms, "mis_end": me})
            out.append(f)
    m = pd.concat(out, ignore_index=True)
    # One incident per child and start day (M and A can not start the same day either).
    m = m.sort_values(["pid", "mis_start", "missing"], kind="stable").drop_duplicates(["pid", "mis_start"])
    # Incidents of one child must not overlap: drop any that starts before the previous one has ended.
    while True:
        pid_, s_, e_ = m["pid"].to_numpy(), m["mis_start"].to_numpy(), m["mis_end"].to_numpy()
        prev_end = np.r_[np.iinfo(np.int64).min, np.where(e_ < 0, np.iinfo(np.int64).max, e_)[:-1]]
        same = np.r_[False, pid_[1:] == pid_[:-1]]
        bad = same & (s_ <= prev_end)
        if not bad.any():
            break
        m = m[~bad]
    return m.reset_index(drop=True)


def close_missing_at_placement_change(m: pd.DataFrame, ep: pd.DataFrame) -> pd.DataFrame:
    """An incident still open on 31 March must have started in the placement open on 31 March: if that
    placement began later, the incident ends the day it began (rule 575: a missing period whose placement ends
    needs MIS_END)."""
    m = m.copy()
    decom, dec, epid = ep["decom"].to_numpy(), ep["dec"].to_numpy(), ep["pid"].to_numpy()
    me = m["mis_end"].to_numpy().copy()
    for y in np.unique(m["year"].to_numpy()):
        ye = year_end(int(y))
        openm = (m["year"].to_numpy() == y) & (me < 0)
        if not openm.any():
            continue
        sel = (decom <= ye) & (dec > ye)
        start_open = pd.Series(decom[sel], index=epid[sel])
        start_open = start_open[~start_open.index.duplicated()]
        st = start_open.reindex(m["pid"].to_numpy()[openm]).to_numpy()
        ms = m["mis_start"].to_numpy()[openm]
        fix = ~np.isnan(st) & (ms < st)
        idx = np.flatnonzero(openm)[fix]
        me[idx] = st[fix].astype(np.int64)
    m["mis_end"] = me
    return m


REVIEW_OFFSETS = np.r_[20, 20 + 91, 20 + 91 + np.arange(1, 40) * 182]


def reviews(rng: np.random.Generator, p: pd.DataFrame, lo: int, hi: int) -> pd.DataFrame:
    """Reviews 20 days after starting, 3 months later, then every 6 months, while looked after."""
    start, end = p["start"].to_numpy(), p["end"].to_numpy()
    k = np.searchsorted(REVIEW_OFFSETS, end - start - 5)  # offsets strictly before the end (with jitter room)
    own, pos = _repeat_offsets(k)
    d = start[own] + REVIEW_OFFSETS[pos] + rng.integers(-4, 5, len(own))
    keep = (d >= lo) & (d <= hi) & (d < end[own]) & (d > start[own])
    own, d = own[keep], d[keep]
    age = age_on(p["dob"].to_numpy()[own], d)
    code = np.array(["PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"])[
        np.searchsorted(np.cumsum(_norm([0.45, 0.15, 0.15, 0.1, 0.07, 0.05, 0.03])), rng.random(len(own)) * 0.99999)
    ]
    code = np.where(age < 4, "PN0", code)
    return pd.DataFrame({"pid": p.index.to_numpy()[own], "review": d, "review_code": code})


SW_REASONS = ["MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN", "PCCHAN", "OTHERS"]


def sw_episodes(rng: np.random.Generator, p: pd.DataFrame, n_la: int, lo: int = -(10**9)) -> pd.DataFrame:
    """Social worker episodes covering each period of care (changes at about 0.8 a year)."""
    start, end = p["start"].to_numpy(), p["end"].to_numpy()
    dur = end - start
    k = np.minimum(rng.poisson(0.8 * np.maximum(dur - 2, 0) / YEAR_DAYS), 40)
    own, _ = _repeat_offsets(k)
    ch = start[own] + 1 + np.floor(rng.random(len(own)) * np.maximum(dur[own] - 2, 1)).astype(np.int64)
    f = pd.DataFrame({"i": np.r_[np.arange(len(p)), own], "sw_decom": np.r_[start, ch]})
    f = f.drop_duplicates(["i", "sw_decom"]).sort_values(["i", "sw_decom"]).reset_index(drop=True)
    i = f["i"].to_numpy()
    last = np.r_[i[1:] != i[:-1], True]
    f["sw_dec"] = np.where(last, end[i], np.r_[f["sw_decom"].to_numpy()[1:], 0])
    # Every episode from 01/04/2023 needs a reason (rules SW03STG1, SW13STG1), the first and open ones too.
    f["sw_reason"] = np.array(SW_REASONS)[rng.integers(0, len(SW_REASONS), len(f))]
    f = f[f["sw_dec"].to_numpy() >= lo].reset_index(drop=True)
    i = f["i"].to_numpy()
    f["sw_reason"] = pd.Categorical(f["sw_reason"])
    la = p["la"].to_numpy()[i]
    f["sw_id"] = np.char.add("SW", (10_000_000 + la * 10_000 + rng.integers(1, 400, len(f))).astype(str)).astype(object)
    f["pid"] = p.index.to_numpy()[i]
    return f.drop(columns="i")


ACTIV_GROUPS = ["higher_education", "other_education", "apprenticeship", "training_employment", "neet", "not_known"]


def _leaver_rows(p: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """(pid, year, age) of every former relevant child whose 17th-21st birthday falls in a collection year.

    Eligible: looked after for at least 13 weeks after the 14th birthday and ceased at 16 or over, not by
    adoption nor by a transfer of care to another LA (E3, rule 1011).
    """
    dob, start, end = p["dob"].to_numpy(), p["start"].to_numpy(), p["end"].to_numpy()
    elig = (
        (end >= birthday(dob, 16))
        & ((end - np.maximum(start, birthday(dob, 14))) >= 91)
        & ~np.isin(p["rec_end"].to_numpy(), ["E11", "E12", "E3"])
    )
    rows = []
    for y in years:
        ys, ye = year_start(y), year_end(y)
        for n in range(17, 22):
            bd = birthday(dob, n)
            # From 2023/24, no OC3 at 17 or 18 for young people who ceased on or after that birthday (rule 1016).
            left = (end < bd) if (y >= 2024 and n <= 18) else (end <= bd)
            idx = np.flatnonzero(elig & (bd >= ys) & (bd <= ye) & left)
            rows.append(pd.DataFrame({"pid": p.index.to_numpy()[idx], "year": y, "age": n}))
    return pd.concat(rows, ignore_index=True)


def _activity_groups(rng: np.random.Generator, age: np.ndarray, major: np.ndarray, act: dict[str, Any]) -> np.ndarray:
    """Activity group of each leaver, from the published distribution by age band (and major group at 19-21)."""
    band = np.where(age == 17, "17 years", np.where(age == 18, "18 years", "19to21 years"))
    grp = np.empty(len(age), dtype=object)
    u = rng.random(len(age))
    for bname in ["17 years", "18 years", "19to21 years"]:
        for m in MAJORS:
            src = act[bname][m] if bname == "19to21 years" else act[bname]["total"]
            w = np.array([src[g] or 0.0 for g in ACTIV_GROUPS])
            sel = (band == bname) & (major == m)
            grp[sel] = np.array(ACTIV_GROUPS)[np.searchsorted(np.cumsum(_norm(w)), u[sel] * 0.99999)]
    return grp


def _activity_codes(rng: np.random.Generator, grp: np.ndarray) -> np.ndarray:
    """ACTIV: full- or part-time within the group (F/P), G4-G6 for NEET, 0 when not known."""
    r = rng.random(len(grp))
    return np.select(
        [
            grp == "higher_education",
            grp == "other_education",
            grp == "apprenticeship",
            grp == "training_employment",
            grp == "neet",
        ],
        [
            np.where(r < 0.8, "F1", "P1"),
            np.where(r < 0.75, "F2", "P2"),
            np.where(r < 0.9, "F4", "P4"),
            np.where(r < 0.6, "F5", "P5"),
            np.where(r < 0.4, "G4", np.where(r < 0.7, "G5", "G6")),
        ],
        "0",
    )


def _accommodation(rng: np.random.Generator, grp: np.ndarray) -> np.ndarray:
    """ACCOM: a type letter and suitability (1 suitable, 2 not), 0 when the activity is not known."""
    n = len(grp)
    letters = np.array(["B", "C", "D", "E", "G", "H", "K", "R", "S", "T", "U", "V", "W", "X", "Y", "Z"])
    lw = _norm([4, 2, 6, 3, 2, 1, 1, 3, 8, 3, 5, 2, 2, 1, 2, 1])
    let = letters[np.searchsorted(np.cumsum(lw), rng.random(n) * 0.99999)]
    # No fixed abode (S) and in custody (X) are always unsuitable: S1 and X1 do not exist (rule 133).
    suit = np.where(np.isin(let, ["S", "X"]) | (rng.random(n) >= 0.88), "2", "1")
    return np.where(grp == "not_known", "0", np.char.add(let.astype(str), suit))


def care_leavers(rng: np.random.Generator, p: pd.DataFrame, years: list[int], t: dict[str, Any]) -> pd.DataFrame:
    """OC3 rows: former relevant children whose 17th-21st birthday falls in the collection year (see
    ``_leaver_rows``). Activity is drawn from the published 2024 distribution by age band and major group."""
    o = _leaver_rows(p, years)
    major = np.array([MAJOR_OF[KNOWN[c]] for c in p.loc[o["pid"], "code"].to_numpy()])
    grp = _activity_groups(rng, o["age"].to_numpy(), major, t["care_leavers_activity"])
    activ = _activity_codes(rng, grp)
    r2 = rng.random(len(o))
    in_touch = np.where(grp == "not_known", np.where(r2 < 0.6, "NO", np.where(r2 < 0.9, "REFU", "NREQ")), "YES")
    accom = _accommodation(rng, grp)
    o["in_touch"], o["activ"], o["accom"], o["activity_group"] = in_touch, activ, accom, grp
    return o


__all__ = ["Inputs", "build_inputs", "simulate_periods", "calibrate", "build_episodes", "day"]
