"""What is recorded while a child is looked after, besides episodes: missing and away incidents, reviews and
social worker episodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rap.synth.dates import age_on, year_end, year_start
from rap.synth.journeys import KNOWN, MAJOR_OF, MAJORS, YEAR_DAYS, missing_base
from rap.synth.sampling import norm, repeat_offsets


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
            own, _ = repeat_offsets(k)
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
    own, pos = repeat_offsets(k)
    d = start[own] + REVIEW_OFFSETS[pos] + rng.integers(-4, 5, len(own))
    keep = (d >= lo) & (d <= hi) & (d < end[own]) & (d > start[own])
    own, d = own[keep], d[keep]
    age = age_on(p["dob"].to_numpy()[own], d)
    code = np.array(["PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"])[
        np.searchsorted(np.cumsum(norm([0.45, 0.15, 0.15, 0.1, 0.07, 0.05, 0.03])), rng.random(len(own)) * 0.99999)
    ]
    code = np.where(age < 4, "PN0", code)
    return pd.DataFrame({"pid": p.index.to_numpy()[own], "review": d, "review_code": code})


SW_REASONS = ["MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN", "PCCHAN", "OTHERS"]


def sw_episodes(rng: np.random.Generator, p: pd.DataFrame, n_la: int, lo: int = -(10**9)) -> pd.DataFrame:
    """Social worker episodes covering each period of care (changes at about 0.8 a year)."""
    start, end = p["start"].to_numpy(), p["end"].to_numpy()
    dur = end - start
    k = np.minimum(rng.poisson(0.8 * np.maximum(dur - 2, 0) / YEAR_DAYS), 40)
    own, _ = repeat_offsets(k)
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
