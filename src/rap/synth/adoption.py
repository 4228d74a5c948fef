"""Adoption and permanence: the adoption stages of each child, adopters, reversed decisions, previous
permanence at entry, and the AD1, PlacedAdoption and PrevPerm tables of each year's return.

Who is adopted is decided with the period of care (``rap.synth.journeys``: ethnicity-dependent, calibrated to
DfE's adoptions by major group). This module adds what the return records about it, once per child, so every
year's return tells the same story:

- the stages in date order: entry <= decision that the child should be placed for adoption (PlacedAdoption
  DATE_PLACED = AD1 DATE_INT) <= placement order (LS E1) <= match (DATE_MATCH) <= placement for adoption (an
  A3-A6 episode) < adoption (the last episode ends with E11/E12). Each stage sits at DfE's average fraction of
  the period of care (2025 release, adopted in 2023/24), scaled per child by one random factor;
- adopters (NB_ADOPTR, SEX_ADOPTR, LS_ADOPTR in consistent combinations) and FOSTER_CARE (1 when placed with
  the current foster carer), all assumed (``rap/data/synth_adoption.yaml``);
- reversed decisions: some eligible children who are not adopted get a decision and, later in care, a
  DATE_PLACED_CEASED with a reason; they are never placed for adoption. Reversals do not depend on ethnicity
  beyond the pool they are drawn from (not published by ethnicity);
- previous permanence at entry (PrevPerm) from DfE's published mix of starters, for every child starting in a
  year; children starting before their first birthday have none (Z1). Not by ethnicity (not published). An
  order's date falls between birth and entry; P4 (not known) has its date and LA written as not known.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from rap.synth.dates import NA_DAY, DateFormatter, year_end, year_start
from rap.synth.sampling import norm
from rap.synth.targets import load_targets

CONFIG_FILE = "synth_adoption.yaml"


@cache
def adoption_config() -> dict[str, Any]:
    """The model's assumptions that DfE does not publish (``rap/data/synth_adoption.yaml``)."""
    with resources.files("rap.data").joinpath(CONFIG_FILE).open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def stage_fractions() -> dict[str, float]:
    """Average fraction of the period of care at which each stage happens, from DfE's average times (stage 1
    entry to decision, 4 entry to placement, 3 match to placement, 6 entry to adoption); the placement order
    (E1) halfway between decision and match, as DfE publishes no time for it."""
    m = load_targets()["adoption_stages"]["months"]
    total = m["6"]
    decision = m["1"] / total
    placed = m["4"] / total
    match = max(placed - m["3"] / total, decision)
    return {"decision": decision, "order": (decision + match) / 2, "match": match, "placed": placed}


def timeline(start: np.ndarray, end: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    """Day of each stage (decision, order, match, placed) for periods ``start``-``end``, with ``u`` a uniform
    draw per child that scales all its fractions alike (so the stages stay in order, and placement before the
    adoption day)."""
    spread = adoption_config()["stage_spread"]
    k = 1 - spread + 2 * spread * np.asarray(u)
    dur = np.asarray(end) - np.asarray(start)
    out = {}
    for stage, f in stage_fractions().items():
        out[stage] = start + np.floor(np.minimum(f * k, 0.95) * dur).astype(np.int64)
    return out


def _adopters(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NB_ADOPTR, SEX_ADOPTR and LS_ADOPTR, drawn as one combination each."""
    combos = adoption_config()["adopters"]
    k = rng.choice(len(combos), size=n, p=norm([c["weight"] for c in combos]))
    return tuple(np.array([c[f] for c in combos], dtype=object)[k] for f in ("nb", "sex", "ls"))


def _reversals(
    rng: np.random.Generator, p: pd.DataFrame, decision: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which eligible, not adopted children have a decision that is reversed, the day and the reason."""
    cfg = adoption_config()
    adopt = p["adopt"].to_numpy()
    pool = p["can_adopt"].to_numpy() & ~adopt
    share = min(1.0, cfg["reversals_per_adoption"] * adopt.sum() / max(pool.sum(), 1))
    rev = pool & (rng.random(len(p)) < share)
    end = p["end"].to_numpy()
    ceased = decision + 1 + np.floor(rng.random(len(p)) * np.maximum(end - decision - 1, 0)).astype(np.int64)
    reasons = cfg["reversal_reasons"]
    reason = rng.choice(list(reasons), size=len(p), p=norm(list(reasons.values())))
    return rev, np.minimum(ceased, end), reason


def _previous_permanence(
    rng: np.random.Generator, p: pd.DataFrame, la_codes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PREV_PERM, DATE_PERM (day; ``NA_DAY`` when there is none or it is not known) and LA_PERM of each period,
    from the starters' published mix."""
    cfg = adoption_config()
    published = load_targets()["started"]["previous_permanence"]["by_label"]
    codes = list(cfg["prev_perm_rows"])
    n = len(p)
    perm = np.array(codes, dtype=object)[
        rng.choice(len(codes), size=n, p=norm([published[cfg["prev_perm_rows"][c]] for c in codes]))
    ]
    start, dob = p["start"].to_numpy(), p["dob"].to_numpy()
    none, unknown = cfg["prev_perm_undated"], cfg["prev_perm_unknown"]
    dated = ~np.isin(perm, none + unknown["codes"])
    perm = np.where(dated & (start - dob < 365), none[0], perm)  # nothing to have been permanent before
    dated &= ~np.isin(perm, none)
    day = dob + 1 + np.floor(rng.random(n) * np.maximum(start - dob - 2, 0)).astype(np.int64)
    own = rng.random(n) < cfg["prev_perm_own_la"]
    other = np.array(la_codes, dtype=object)[rng.integers(0, len(la_codes), n)]
    la = np.where(own, p["la_code"].to_numpy(), other)
    la = np.where(dated, la, np.where(np.isin(perm, unknown["codes"]), unknown["la"], ""))
    return perm, np.where(dated, day, NA_DAY), la


def adoption_world(rng: np.random.Generator, p: pd.DataFrame, ep: pd.DataFrame, la_codes: list[str]) -> pd.DataFrame:
    """Per period of ``p`` (same index): decision, match, reversal, adopters and previous permanence; days are
    ``NA_DAY`` where a stage does not apply. ``ep`` (the episodes) gives the adoption placement."""
    adopt = p["adopt"].to_numpy()
    tl = timeline(p["start"].to_numpy(), p["end"].to_numpy(), p["u_stage"].to_numpy())
    nb, sex, ls = _adopters(rng, len(p))
    rev, ceased, reason = _reversals(rng, p, tl["decision"])
    perm, perm_day, perm_la = _previous_permanence(rng, p, la_codes)
    last_place = ep.drop_duplicates("pid", keep="last").set_index("pid")["place"].astype(str)
    # The match is never before the placement order (made on the placement day for foster carers who adopt).
    order = ep[ep["ls"] == "E1"].groupby("pid")["decom"].min().reindex(p.index).fillna(NA_DAY).to_numpy()
    final = last_place.reindex(p.index).fillna("").to_numpy()
    foster = np.isin(final, adoption_config()["foster_carer_placements"])
    return pd.DataFrame(
        {
            "decision": np.where(adopt | rev, tl["decision"], NA_DAY),
            "match": np.where(adopt, np.maximum(tl["match"], order), NA_DAY),
            "ceased": np.where(rev, ceased, NA_DAY),
            "reason": np.where(rev, reason, ""),
            "nb": nb,
            "sex": sex,
            "ls": ls,
            "foster": np.where(foster, "1", "0"),
            "perm": perm,
            "perm_day": perm_day,
            "perm_la": perm_la,
        },
        index=p.index,
    )


def _rows(w: dict[str, Any], mask: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The periods and adoption rows of the periods of ``w["adoption"]`` selected by ``mask``."""
    a = w["adoption"][mask]
    return w["p"].loc[a.index], a


def _child_columns(pp: pd.DataFrame, fmt: DateFormatter) -> dict[str, Any]:
    """The LA, CHILD and DOB columns every one of these tables starts with."""
    return {"_la": pp["la_code"].to_numpy(), "CHILD": pp["child"].to_numpy(), "DOB": fmt(pp["dob"].to_numpy())}


def ad1_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """AD1: children adopted in the year (their period of care ended with E11/E12 in it)."""
    p = w["p"].loc[w["adoption"].index]
    end = p["end"].to_numpy()
    pp, a = _rows(w, p["adopt"].to_numpy() & (end >= year_start(y)) & (end <= year_end(y)))
    return pd.DataFrame(
        {
            **_child_columns(pp, fmt),
            "DATE_INT": fmt(a["decision"].to_numpy()),
            "DATE_MATCH": fmt(a["match"].to_numpy()),
            "FOSTER_CARE": a["foster"].to_numpy(),
            "NB_ADOPTR": a["nb"].to_numpy(),
            "SEX_ADOPTR": a["sex"].to_numpy(),
            "LS_ADOPTR": a["ls"].to_numpy(),
        }
    )


def placed_adoption_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """PlacedAdoption: children looked after in the year with a decision that they should be placed for
    adoption by 31 March, unless it was reversed before the year (a reversal in the year is shown with its day
    and reason; one not yet made is blank)."""
    a = w["adoption"]
    p = w["p"].loc[a.index]
    ys, ye = year_start(y), year_end(y)
    dec, ceased = a["decision"].to_numpy(), a["ceased"].to_numpy()
    looked_after = (p["start"].to_numpy() <= ye) & (p["end"].to_numpy() >= ys)
    ceased_in_year = (ceased != NA_DAY) & (ceased >= ys) & (ceased <= ye)
    keep = looked_after & (dec != NA_DAY) & (dec <= ye) & ((ceased == NA_DAY) | (ceased >= ys))
    pp, r = _rows(w, keep)
    shown = ceased_in_year[keep]
    return pd.DataFrame(
        {
            **_child_columns(pp, fmt),
            "DATE_PLACED": fmt(r["decision"].to_numpy()),
            "DATE_PLACED_CEASED": fmt(np.where(shown, r["ceased"].to_numpy(), NA_DAY)),
            "REASON_PLACED_CEASED": np.where(shown, r["reason"].to_numpy(), ""),
        }
    )


def prev_perm_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """PrevPerm: children who started to be looked after in the year."""
    p = w["p"].loc[w["adoption"].index]
    start = p["start"].to_numpy()
    pp, a = _rows(w, (start >= year_start(y)) & (start <= year_end(y)))
    unknown = adoption_config()["prev_perm_unknown"]
    perm_date = np.where(np.isin(a["perm"], unknown["codes"]), unknown["date"], fmt(a["perm_day"].to_numpy()))
    return pd.DataFrame(
        {
            **_child_columns(pp, fmt),
            "PREV_PERM": a["perm"].to_numpy(),
            "LA_PERM": a["perm_la"].to_numpy(),
            "DATE_PERM": perm_date,
        }
    )
