"""Ethnicity-quality and linkage defects injected into the synthetic returns, with their ground truth.

Rates are those of ``params.synth.defects`` (``DefectRates``):
- ``ethnic_blank``, ``ethnic_refused`` (REFU), ``ethnic_not_obtained`` (NOBT): a child's Header ETHNIC is
  recorded as blank / REFU / NOBT. The ``poor_recording_las`` LAs (drawn with the seed) record these
  ``poor_recording_multiplier`` times as often as the others; rates are normalised so that the national rate
  over children equals the parameter.
- ``ethnic_invalid``: a code outside the valid list (lower case, retired or made-up codes).
  These four are properties of the child (persistent across the child's returns), so they do not create
  spurious year-to-year changes.
- ``ethnic_changed``: of children in two consecutive returns whose code was known the year before, this share
  gets a different valid code from that year on (DfE rule 204).
- ``unknown_upn``: UPN recorded as UN2-UN5 (UN2 under 6, UN3 UASC, else UN4/UN5; UN1, not yet of school age,
  is not used because the UPN is kept across years and rule 209 rejects UN1 from age 4).
- ``duplicate_child``: a Header row repeated (share of Header children per year).
- ``episode_end_before_start``: DEC before DECOM (share of episodes with a DEC in the year's file; applied when
  writing Episodes).
- ``school_disagreement`` and ``school_disagreement_by_code``: the school census code differs from the child's
  true code (per child; applied in ``school.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rap.core.params import DefectRates
from rap.synth.dates import NA_DAY, age_on, birthday, year_end
from rap.synth.journeys import KNOWN, MAJOR_OF

INVALID_CODES = np.array(["WHIT", "XXXX", "BLAC", "MIXD", "ASIA", "OTH", "W BR", "9999"], dtype=object)
STATUSES = ["ok", "blank", "refused", "not_obtained", "invalid"]


def alternative_code(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """A different valid code: from the same major group 60% of the time, otherwise any group; within the pool,
    in proportion to how common each code is among children looked after (so WBRI <-> WOTH is likelier than
    WBRI -> WIRT, and recording noise does not inflate the smallest groups)."""
    from rap.synth.targets import load_targets

    stock = load_targets()["on_31_march"]["ethnicity"]["minor"]
    known = np.array(KNOWN, dtype=object)
    w_all = np.array([stock[c] for c in KNOWN], dtype=float)
    majors = np.array([MAJOR_OF[c] for c in KNOWN])
    out = np.empty(len(codes), dtype=object)
    same = rng.random(len(codes)) < 0.6
    u = rng.random(len(codes))
    for i, c in enumerate(codes):
        mask = (known != c) & ((majors == MAJOR_OF.get(c, "")) if same[i] else True)
        if not mask.any():
            mask = known != c
        w = np.cumsum(w_all * mask)
        out[i] = known[min(np.searchsorted(w, u[i] * w[-1], side="right"), len(known) - 1)]
    return out


def _header_rows(p: pd.DataFrame, y: int, sel: Any, defect: str, detail: Any) -> pd.DataFrame:
    """Ground-truth rows of one Header defect for the children ``sel`` (period ids) of year ``y``."""
    return pd.DataFrame(
        {
            "year": y,
            "la": p.loc[sel, "la_code"].to_numpy(),
            "child": p.loc[sel, "child"].to_numpy(),
            "table": "Header",
            "defect": defect,
            "detail": detail,
        }
    )


@dataclass
class ChildDefects:
    """The defects injected per child and per year, kept to write the ground truth (``truth/``) beside the data."""

    status: np.ndarray
    base_code: np.ndarray
    recorded: dict[int, pd.Series]
    upn: pd.Series
    upn_unknown: np.ndarray
    mother_day: pd.Series
    duplicate: dict[int, np.ndarray]
    changed: dict[int, pd.DataFrame]
    eligible_change: dict[int, int]
    poor_las: list[str]
    la_factor: dict[str, float]
    counts: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)
    in_year: dict[int, np.ndarray] = field(default_factory=dict)

    def defect_rows(self, p: pd.DataFrame, y: int) -> pd.DataFrame:
        """Year ``y``'s Header defects, one row per child and defect (``truth/defects.csv``)."""
        ids = self.in_year[y]
        st = self.status[ids]
        rows = []
        for s in STATUSES[1:]:
            sel = ids[st == s]
            rows.append(_header_rows(p, y, sel, f"ethnic_{s}", self.recorded[y].loc[sel].to_numpy()))
        sel = ids[self.upn_unknown[ids]]
        rows.append(_header_rows(p, y, sel, "unknown_upn", self.upn.loc[sel].to_numpy()))
        sel = self.duplicate.get(y, np.array([], dtype=np.int64))
        rows.append(_header_rows(p, y, sel, "duplicate_child", "Header row repeated"))
        c = self.changed.get(y)
        if c is not None and len(c):
            rows.append(_header_rows(p, y, c["pid"], "ethnic_changed", (c["old"] + "->" + c["new"]).to_numpy()))
        return pd.concat(rows, ignore_index=True)

    def summary(
        self, p: pd.DataFrame, years: list[int], school_truth: list[dict], rates: DefectRates
    ) -> dict[str, Any]:
        """Counts, denominators and rates of every defect by year and LA (``truth/summary.json``)."""
        out: dict[str, Any] = {
            "about": "Ground truth of injected defects. rate = count / denominator. Children are unique Header "
            "children of the year (before duplication).",
            "params": rates.model_dump(),
            "poor_recording_las": self.poor_las,
            "la_rate_factor": {k: round(v, 6) for k, v in self.la_factor.items() if v != 1.0 or k in self.poor_las},
            "years": {},
        }
        for y, s in zip(years, school_truth):
            ids = self.in_year[y]
            n = len(ids)
            st = self.status[ids]
            dd: dict[str, Any] = {}
            for name in STATUSES[1:]:
                k = int((st == name).sum())
                dd[f"ethnic_{name}"] = {"count": k, "denominator": n, "rate": k / n if n else None}
            k = int(self.upn_unknown[ids].sum())
            dd["unknown_upn"] = {"count": k, "denominator": n, "rate": k / n}
            k = len(self.duplicate.get(y, []))
            dd["duplicate_child"] = {"count": k, "denominator": n, "rate": k / n}
            if y in self.eligible_change:
                k = len(self.changed[y])
                m = self.eligible_change[y]
                dd["ethnic_changed"] = {
                    "count": k,
                    "denominator": m,
                    "rate": k / m if m else None,
                    "denominator_note": "children in this and last year's return with a known code last year",
                }
            k, m = self.counts[y]["episode_end_before_start"]
            dd["episode_end_before_start"] = {
                "count": k,
                "denominator": m,
                "rate": k / m if m else None,
                "denominator_note": "episodes with DEC filled in this year's files",
            }
            dd["school_disagreement"] = s["summary"]
            las = p.loc[ids, "la_code"].to_numpy()
            df = pd.DataFrame(
                {"la": las, "unknown": np.isin(st, ["blank", "refused", "not_obtained"]), "invalid": st == "invalid"}
            )
            g = df.groupby("la").agg(
                children=("unknown", "size"), unknown=("unknown", "sum"), invalid=("invalid", "sum")
            )
            per_la = {
                la: {
                    "children": int(r.children),
                    "unknown": int(r.unknown),
                    "invalid": int(r.invalid),
                    "unknown_rate": float(r.unknown / r.children),
                }
                for la, r in g.iterrows()
            }
            out["years"][str(y)] = {"header_children": n, "defects": dd, "per_la": per_la}
        return out


def la_factors(rng: np.random.Generator, la: np.ndarray, rates: DefectRates, n_la: int) -> tuple[list[int], np.ndarray]:
    """The poor-recording LAs (positions) and every LA's factor on the blank/REFU/NOBT rates: the poor LAs x the
    multiplier, normalised to a national mean of 1 over children (``la``: each child's LA position)."""
    poor = sorted(rng.choice(n_la, size=min(rates.poor_recording_las, n_la), replace=False).tolist())
    raw = np.ones(n_la)
    raw[poor] = rates.poor_recording_multiplier
    share = np.bincount(la, minlength=n_la) / len(la)
    return poor, raw / (share * raw).sum()


def ethnic_status(rng: np.random.Generator, f: np.ndarray, rates: DefectRates) -> np.ndarray:
    """Each child's recording status (``STATUSES``), with ``f`` the factor of the child's LA."""
    n = len(f)
    u = rng.random(n)
    cuts = np.cumsum(
        np.stack(
            [
                rates.ethnic_blank * f,
                rates.ethnic_refused * f,
                rates.ethnic_not_obtained * f,
                np.full(n, rates.ethnic_invalid),
            ]
        ),
        axis=0,
    )
    status_idx = (u[None, :] >= cuts).sum(0)  # 0 blank .. 3 invalid, 4 ok
    return np.array(["blank", "refused", "not_obtained", "invalid", "ok"], dtype=object)[status_idx]


def recorded_base_codes(rng: np.random.Generator, status: np.ndarray, true: np.ndarray) -> np.ndarray:
    """The code each child's returns record before any year-to-year change: blank, REFU, NOBT, an invalid code
    (the true code in lower case, or a made-up one) or the true code."""
    n = len(true)
    inv = np.where(
        rng.random(n) < 0.5,
        np.char.lower(true.astype(str)).astype(object),
        INVALID_CODES[rng.integers(0, len(INVALID_CODES), n)],
    )
    return np.select(
        [status == "blank", status == "refused", status == "not_obtained", status == "invalid"],
        ["", "REFU", "NOBT", inv],
        true,
    ).astype(object)


def yearly_codes(
    rng: np.random.Generator,
    p: pd.DataFrame,
    base: np.ndarray,
    status: np.ndarray,
    in_year: dict[int, np.ndarray],
    years: list[int],
    rate: float,
) -> tuple[dict[int, pd.Series], dict[int, pd.DataFrame], dict[int, int]]:
    """The code recorded each year (changed for ``rate`` of the children in two consecutive returns with a valid
    code), the changes by year (pid, old, new) and the children eligible for a change by year."""
    cur = base.copy()
    recorded: dict[int, pd.Series] = {}
    changed: dict[int, pd.DataFrame] = {}
    eligible: dict[int, int] = {}
    prev = None
    for y in years:
        ids = in_year[y]
        if prev is not None:
            both = np.intersect1d(prev, ids)
            ok = both[status[both] == "ok"]
            eligible[y] = len(ok)
            ch = ok[rng.random(len(ok)) < rate]
            new = alternative_code(rng, cur[ch])
            changed[y] = pd.DataFrame({"pid": p.index.to_numpy()[ch], "old": cur[ch], "new": new})
            cur[ch] = new
        recorded[y] = pd.Series(cur.copy(), index=p.index)
        prev = ids
    return recorded, changed, eligible


def recorded_upns(
    rng: np.random.Generator, p: pd.DataFrame, years: list[int], rate: float
) -> tuple[pd.Series, np.ndarray]:
    """The UPN each child's returns record, and which children have an unknown-UPN code instead of their UPN."""
    n = len(p)
    unk = rng.random(n) < rate
    first_year_end = np.array([year_end(y) for y in years])
    age_first = age_on(p["dob"].to_numpy(), np.clip(p["start"].to_numpy(), first_year_end[0], first_year_end[-1]))
    # UN1 is for children not yet of school age (rule 209 rejects it from 4 by 31 August): a child's UPN is kept
    # across years, so UN1 is not used; under-6s get UN2, UASC UN3, others UN4 (pending) or UN5.
    un = np.where(
        age_first < 6, "UN2", np.where(p["uasc"].to_numpy(), "UN3", np.where(rng.random(n) < 0.6, "UN4", "UN5"))
    )
    return pd.Series(np.where(unk, un, p["upn_valid"].to_numpy()), index=p.index), unk


def mother_days(rng: np.random.Generator, p: pd.DataFrame) -> pd.Series:
    """The day each girl who becomes a mother has her child (3% of girls, between 14 and 18), else ``NA_DAY``."""
    n = len(p)
    girls = ~p["male"].to_numpy() & (rng.random(n) < 0.03)
    b14 = birthday(p["dob"].to_numpy(), 14)
    return pd.Series(np.where(girls, b14 + (rng.random(n) * 4 * 365).astype(np.int64), NA_DAY), index=p.index)


def inject_child_defects(
    rng: np.random.Generator,
    p: pd.DataFrame,
    in_year: dict[int, np.ndarray],
    years: list[int],
    rates: DefectRates,
    la_codes: list[str],
) -> ChildDefects:
    """The defects that belong to children (recorded codes, UPNs, duplicated Header rows) and their truth."""
    poor, fac = la_factors(rng, p["la"].to_numpy(), rates, len(la_codes))
    status = ethnic_status(rng, fac[p["la"].to_numpy()], rates)
    base = recorded_base_codes(rng, status, p["true_code"].to_numpy())
    recorded, changed, eligible = yearly_codes(rng, p, base, status, in_year, years, rates.ethnic_changed)
    upn, unk = recorded_upns(rng, p, years, rates.unknown_upn)
    mday = mother_days(rng, p)
    # Duplicated Header rows.
    dup = {y: np.sort(in_year[y][rng.random(len(in_year[y])) < rates.duplicate_child]) for y in years}
    return ChildDefects(
        status=status,
        base_code=base,
        recorded=recorded,
        upn=upn,
        upn_unknown=unk,
        mother_day=mday,
        duplicate=dup,
        changed=changed,
        eligible_change=eligible,
        poor_las=[la_codes[i] for i in poor],
        la_factor={la_codes[i]: float(fac[i]) for i in range(len(la_codes))},
        in_year=in_year,
    )
