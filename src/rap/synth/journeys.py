"""Children's journeys through care: the model's inputs, its calibration and the periods of care.

What happens within a period is in ``rap.synth.episodes`` (legal status and placements),
``rap.synth.during_care`` (missing incidents, reviews, social workers) and ``rap.synth.leavers`` (OC3).

Model (one period of care per child; documented simplification: no re-entries):
- Starts arrive uniformly over time at the published national rate (2024 release: 33,050 a year), scaled.
  The simulation begins 23 years before the first collection year so that the 31 March population and the
  care leavers aged 17-21 of every collection year are in steady state.
- Each start gets an LA (weights: LA counts on 31 March from DfE's dashboard data), UASC status (22% of
  starts), age on starting (published age-on-starting bands; UASC mostly 16-17, 96% male), sex, and a true
  ethnic code: UASC from the published UASC-on-31-March ethnic mix, others from the starters' mix net of UASC,
  tilted by the LA's published major-group mix.
- Duration: short, medium (incl. adoption for under-5s) or until the 18th birthday, by age; the short and
  medium durations carry a per-code multiplier fitted (on a fixed national-size calibration sample) so that the
  31 March population matches the published minor-group shares. That is how starters and the 31 March
  population can both match: groups differ in how long they stay (UASC leave at 18).
- Adoption: among the children who can be adopted (starting under 5 on a medium stay, not UASC, with a period
  long enough for the adoption stages), the probability of adoption depends on the major ethnic group, fitted
  on the calibration sample so that adoptions ending in the year match DfE's published number by major group
  (``fit_adoption``). DfE publishes adoptions by ethnicity only as a one-way table, so the model assumes
  ethnicity acts on adoption alone: within a group, adoption does not depend on age, sex or LA beyond what the
  pool of eligible children already carries.
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
from rap.synth.adoption import adoption_config
from rap.synth.dates import age_on, birthday, year_end, year_start
from rap.synth.sampling import norm, sample_rows

KNOWN = [c for c in eth_codes().sort_values("order").index if eth_codes().at[c, "known"]]
MAJOR_OF = eth_codes()["major"].to_dict()
MAJORS = ["white", "mixed", "asian", "black", "other"]
#: Index into MAJORS of each code of KNOWN.
MAJOR_IDX = np.array([MAJORS.index(MAJOR_OF[c]) for c in KNOWN])
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
    adopted_target: dict[str, float]  # major -> adoptions in the year (scale 1; DfE's unknown spread over groups)
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
    uasc_p = norm(u)
    s = np.array([st["ethnicity"]["minor"][c] for c in KNOWN])
    return uasc_p, norm(np.maximum(s - st["uasc"]["value"] * uasc_p, 0.05 * s))


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
    ad = t["adopted"]
    ad_known = sum(ad["ethnicity"]["major"][m] for m in MAJORS)
    return Inputs(
        la_codes=list(la["old_la_code"].astype(str)),
        la_weight=la_weight,
        la_code_p=la_code_probabilities(t, non, mixes),
        uasc_p=uasc_p,
        p_uasc=n_uasc / st["total"]["value"],
        age_p=norm(non_uasc_ages(st, ua)),
        uasc_16plus=ua["age_16_plus"]["value"] / ua["total"]["value"],
        male_uasc=male_uasc,
        male_other=(st["male"]["value"] - n_uasc * male_uasc) / (st["total"]["value"] - n_uasc),
        starts_per_year=st["total"]["value"],
        stock_target={c: stock[c] for c in KNOWN},
        stock_total=t["on_31_march"]["total"]["value"],
        p3_target={m: pl["with_3plus"]["major"][m] / pl["denominator"]["major"][m] for m in MAJORS},
        missing_target={m: mi[m] / dy[m] for m in MAJORS},
        adopted_target={m: ad["total"]["value"] * ad["ethnicity"]["major"][m] / ad_known for m in MAJORS},
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
    code_non = sample_rows(np.cumsum(inp.la_code_p, axis=1), la, uc)
    code_ua = np.minimum(np.searchsorted(np.cumsum(inp.uasc_p), rng.random(n)), len(KNOWN) - 1)
    return np.where(uasc, code_ua, code_non)


def _stays(
    rng: np.random.Generator,
    band: np.ndarray,
    uasc: np.ndarray,
    m: np.ndarray,
    start: np.ndarray,
    dob: np.ndarray,
    p_adopt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kind of stay (0 short, 1 medium, 2 until 18), end day, adoption and who could be adopted, with ``m`` the
    duration multiplier and ``p_adopt`` the probability of adoption (if eligible) of each child."""
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
    u_adopt = rng.random(n)
    b18 = birthday(dob, 18)
    base = np.where(kind == 0, e_short, e_med)
    dur = np.maximum(np.round(base * m), 1).astype(np.int64)
    end = np.where(kind == 2, b18, np.minimum(start + dur, b18))
    can_adopt = (kind == 1) & (band <= 1) & ~uasc & (end < b18) & (end - start >= adoption_config()["min_period_days"])
    return kind, end, can_adopt & (u_adopt < p_adopt), can_adopt


def simulate_periods(
    rng: np.random.Generator,
    inp: Inputs,
    scale: float,
    t0: int,
    t1: int,
    code_mult: np.ndarray,
    male_by_kind: tuple[float, float] | None = None,
    adopt_p: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per child (= period of care) starting between days ``t0`` and ``t1``; ``adopt_p`` is the
    probability of adoption of an eligible child by major group (``fit_adoption``; one figure for all groups
    when None)."""
    span = (t1 - t0 + 1) / YEAR_DAYS
    n = int(round(inp.starts_per_year * scale * span))
    start = np.sort(rng.integers(t0, t1 + 1, n))
    la = rng.choice(len(inp.la_codes), size=n, p=inp.la_weight)
    uasc = rng.random(n) < inp.p_uasc
    age_days, band = _age_on_starting(rng, inp, uasc)
    dob = start - np.floor(age_days).astype(np.int64)
    u_sex = rng.random(n)
    code = _true_codes(rng, inp, la, uasc)
    p_adopt = np.full(n, ADOPT_SHARE_MEDIUM_UNDER5) if adopt_p is None else adopt_p[MAJOR_IDX[code]]
    kind, end, adopt, can_adopt = _stays(rng, band, uasc, code_mult[code], start, dob, p_adopt)
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
            "can_adopt": can_adopt,
            "band": band,
            "frailty": rng.gamma(0.6, 1 / 0.6, n),
            "u_rec": rng.random(n),
            "u_cin": rng.random(n),
            "u_stage": rng.random(n),
        }
    )


def stock_mask(p: pd.DataFrame, year: int) -> np.ndarray:
    """Which periods are looked after on 31 March of ``year``."""
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
    male_by_kind = _male_by_kind(p, s, inp, ys)
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
    return {
        "code_mult": mult,
        "place_mult": place_mult,
        "missing_mult": missing_mult,
        "male_by_kind": male_by_kind,
        "adopt_p": fit_adoption(p, inp, year),
    }


def _male_by_kind(p: pd.DataFrame, s: np.ndarray, inp: Inputs, ys: int) -> tuple[float, float]:
    """Boys among non-UASC: solve a (short/medium stays) and c (until 18) for starters' and 31 March shares
    (``s``: the 31 March population of the calibration sample ``p``; ``ys``: the first day of the year)."""
    non = ~p["uasc"].to_numpy()
    st_in = non & (p["start"].to_numpy() >= ys)
    long_ = p["kind"].to_numpy() == 2
    ls_, lk_ = long_[st_in].mean(), long_[s & non].mean()
    t_ = inp.targets
    n_ua_stock = t_["uasc_on_31_march"]["total"]["value"]
    male_stock_non = (t_["on_31_march"]["male"]["value"] - n_ua_stock * inp.male_uasc) / (inp.stock_total - n_ua_stock)
    a_, c_ = np.linalg.solve(np.array([[1 - ls_, ls_], [1 - lk_, lk_]]), np.array([inp.male_other, male_stock_non]))
    return float(np.clip(a_, 0.3, 0.7)), float(np.clip(c_, 0.3, 0.8))


def fit_adoption(p: pd.DataFrame, inp: Inputs, year: int) -> np.ndarray:
    """P(adopted | eligible) by major group (MAJORS order): DfE's adoptions of the group in ``year`` over the
    eligible children of the group whose period ends in the year (on the calibration sample ``p``).

    The ratio of these probabilities between groups is the ethnicity multiplier of adoption; it is fitted, not
    written down, because the eligible pool's ethnic mix (young non-UASC children) is not published."""
    end = p["end"].to_numpy()
    ends = p["can_adopt"].to_numpy() & (end >= year_start(year)) & (end <= year_end(year))
    eligible = np.bincount(MAJOR_IDX[p["code"].to_numpy()[ends]], minlength=len(MAJORS)) / CALIBRATION_SCALE
    target = np.array([inp.adopted_target[m] for m in MAJORS])
    return np.clip(target / np.maximum(eligible, 1.0), 0.0, 1.0)


def place_rate_age(p: pd.DataFrame) -> np.ndarray:
    """Relative placement-move rate by age band on starting (teenagers move more)."""
    return np.array([0.5, 0.6, 0.9, 1.3, 1.0])[p["band"].to_numpy()]


def missing_base(age: np.ndarray) -> np.ndarray:
    """Relative chance of going missing in a year by age (published incidents are almost all aged 10+)."""
    return np.select([age < 10, age < 13, age < 16], [0.002, 0.35, 1.0], 1.25)


def assign_cin(p: pd.DataFrame, inp: Inputs) -> np.ndarray:
    """Category of need of each period: N8 for UASC, others from the starters' mix net of UASC."""
    codes = sorted(inp.cin_p)
    w = np.array([inp.cin_p[c] for c in codes], dtype=float)
    # UASC are N8 (absent parenting): take them out of the published N8 count.
    w_non = w.copy()
    w_non[codes.index("N8")] = max(w[codes.index("N8")] - inp.targets["started"]["uasc"]["value"] * 0.9, 1)
    out = np.array(codes)[np.searchsorted(np.cumsum(norm(w_non)), p["u_cin"].to_numpy() * 0.99999)]
    return np.where(p["uasc"].to_numpy(), "N8", out)


def period_rec(p: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The E-code that ends each period of care.

    Adoption (E11/E12) follows the ethnicity-dependent ``adopt`` flag. Special guardianship orders (E45-E48) do
    not depend on ethnicity: DfE publishes reasons for ceasing and ethnicity of children ceasing only as
    separate one-way tables, so any difference by group would be invented. They differ by group only through
    who is left once adoption and stays until 18 are taken out."""
    u = p["u_rec"].to_numpy()
    b18 = birthday(p["dob"].to_numpy(), 18)
    at18 = p["end"].to_numpy() >= b18

    def pick(codes: list[str], w: list[float]) -> np.ndarray:
        return np.array(codes)[np.searchsorted(np.cumsum(norm(w)), u * 0.99999)]

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
