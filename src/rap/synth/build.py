"""Build the whole synthetic data set (see docs/data-contract.md) and write it atomically."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import rap
from rap.core.params import Params
from rap.synth import journeys as J
from rap.synth import postcodes as PC
from rap.synth import writers as W
from rap.synth.dates import NA_DAY, DateFormatter, age_on, birthday, day, year_end, year_start, ymd
from rap.synth.defects import ChildDefects, inject_child_defects
from rap.synth.fingerprint import generator_fingerprint
from rap.synth.population import population_table
from rap.synth.school import school_extract
from rap.synth.targets import load_targets
from rap.synth.upn import make_upns

SCALES = {"national": 1.0, "small": 1 / 20}

log = logging.getLogger(__name__)


def load_las() -> pd.DataFrame:
    with resources.files("rap.data").joinpath("local_authorities.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=4)
def _model(seed: int, year: int) -> tuple[J.Inputs, dict[str, Any]]:
    inp = J.build_inputs(load_targets(), load_las(), year)
    return inp, J.calibrate(inp, seed, year)


def simulate(params: Params) -> dict[str, Any]:
    """The simulated world (no files): periods, episodes, incidents, reviews, leavers, defects."""
    syn = params.synth
    years = params.series_years
    scale = SCALES[syn.scale]
    inp, model = _model(syn.seed, params.year)
    las = load_las()
    ss = np.random.SeedSequence([syn.seed, int(scale * 1000)])
    r = {
        k: np.random.default_rng(s)
        for k, s in zip(
            [
                "periods",
                "episodes",
                "missing",
                "reviews",
                "sw",
                "leavers",
                "ids",
                "defects",
                "school",
                "pop",
                "oc2",
                "header",
                "postcodes",
            ],
            ss.spawn(13),
        )
    }
    t_lo = year_start(years[0]) - int(J.BURN_IN_YEARS * J.YEAR_DAYS)
    t_hi = year_end(years[-1])
    p = J.simulate_periods(r["periods"], inp, scale, t_lo, t_hi, model["code_mult"], model["male_by_kind"])
    p["cin"] = J.assign_cin(p, inp)
    p["rec_end"] = J.period_rec(p, r["periods"])
    p["la_code"] = np.array(inp.la_codes, dtype=object)[p["la"].to_numpy()]
    p["true_code"] = np.array(J.KNOWN, dtype=object)[p["code"].to_numpy()]
    # CHILD: unique within the LA, stable across years (a random permutation of 6-digit numbers per LA).
    key = r["ids"].random(len(p))
    order = np.lexsort((key, p["la"].to_numpy()))
    rank = np.empty(len(p), dtype=np.int64)
    la_sorted = p["la"].to_numpy()[order]
    first = np.r_[0, np.flatnonzero(la_sorted[1:] != la_sorted[:-1]) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, len(p)]))
    rank[order] = np.arange(len(p)) - starts
    p["child"] = (100000 + rank * 7 + r["ids"].integers(0, 7, len(p))).astype(str)
    # UPN: allocated by the LA where the child is looked after, in the year the child turned 4.
    p["upn_valid"] = make_upns(
        r["ids"], p["la_code"].astype(int).to_numpy(), (birthday(p["dob"].to_numpy(), 4) // 365.25 + 1970).astype(int)
    )
    # Periods that touch the collection years (others only feed OC3 for care leavers).
    rel = p[(p["end"] >= year_start(years[0])) & (p["start"] <= t_hi)]
    ep = J.build_episodes(r["episodes"], rel, model, year_start(years[0]))
    new_code = dict(zip(las["old_la_code"], las["new_la_code"]))
    ep["home_post"], ep["pl_post"] = PC.assign(r["postcodes"], ep, rel, [new_code[c] for c in inp.la_codes])
    mis = J.close_missing_at_placement_change(J.missing_incidents(r["missing"], rel, years, model), ep)
    rev = J.reviews(r["reviews"], rel, year_start(years[0]), t_hi)
    sw = (
        J.sw_episodes(r["sw"], rel, len(las), year_start(min(y for y in years if y >= 2024)))
        if any(y >= 2024 for y in years)
        else None
    )
    oc3 = J.care_leavers(r["leavers"], p, years, load_targets())
    # Who is in each year's Header: looked after at some time in the year, or an OC3 care leaver.
    in_year: dict[int, np.ndarray] = {}
    for y in years:
        ys, ye = year_start(y), year_end(y)
        lac = p.index[(p["start"].to_numpy() <= ye) & (p["end"].to_numpy() >= ys)].to_numpy()
        in_year[y] = np.union1d(lac, oc3.loc[oc3["year"] == y, "pid"].to_numpy())
    defects = inject_child_defects(r["defects"], p, in_year, years, syn.defects, inp.la_codes)
    return {
        "p": p,
        "ep": ep,
        "mis": mis,
        "rev": rev,
        "sw": sw,
        "oc3": oc3,
        "in_year": in_year,
        "defects": defects,
        "rng": r,
        "inp": inp,
        "model": model,
        "las": las,
        "seed": syn.seed,
        "rates": syn.defects,
    }


def _sex(male: np.ndarray, year: int) -> np.ndarray:
    codes = W.codelist("SEX", year)
    return np.where(male, codes[0], codes[1]).astype(object)


def _place_for_year(place: np.ndarray, year: int) -> np.ndarray:
    """Map placement codes to the year's code list (2026: H5 and P2 -> K3, Z1 -> Z14)."""
    valid = set(W.codelist("PLACE", year))
    out = place.copy()
    for old, new in (("H5", "K3"), ("P2", "K3"), ("Z1", "Z14")):
        if old not in valid and new in valid:
            out[out == old] = new
    return out


def write_year(
    w: dict[str, Any], y: int, root: Path, fmt: DateFormatter, files: dict[str, str], truth_rows: list[pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    p, d = w["p"], w["defects"]
    ys, ye = year_start(y), year_end(y)
    las = list(w["las"]["old_la_code"])
    for code in las:
        (root / "ssda903" / str(y) / code).mkdir(parents=True, exist_ok=True)

    def folder(code: str) -> Path:
        return root / "ssda903" / str(y) / code

    ids = w["in_year"][y]
    h = p.loc[ids]
    eth = d.recorded[y].loc[ids].to_numpy()
    upn = d.upn.loc[ids].to_numpy()
    # MOTHER (0/1) for every girl looked after during the year (rules 165, 393, 607), blank for boys and for
    # care leavers who were not looked after in the year (rule 165).
    lac_y = (h["start"].to_numpy() <= ye) & (h["end"].to_numpy() >= ys)
    girl12 = lac_y & ~h["male"].to_numpy()
    mday = d.mother_day.loc[ids].to_numpy()
    is_mother = girl12 & (mday != NA_DAY) & (mday <= ye)
    header = pd.DataFrame(
        {
            "_la": h["la_code"].to_numpy(),
            "CHILD": h["child"].to_numpy(),
            "SEX": _sex(h["male"].to_numpy(), y),
            "DOB": fmt(h["dob"].to_numpy()),
            "ETHNIC": eth,
            "UPN": upn,
            "MOTHER": np.where(girl12, np.where(is_mother, "1", "0"), ""),
            "MC_DOB": fmt(np.where(is_mother, mday, NA_DAY)),
            "_pid": ids,
        }
    )
    dup = d.duplicate.get(y, np.array([], dtype=np.int64))
    header = pd.concat([header, header[header["_pid"].isin(dup)]], ignore_index=True)
    header = header.sort_values(["_la", "CHILD"], kind="stable")
    W.write_split(header, "Header", las, folder, files)
    # Episodes overlapping the year; DEC, REC and reason blank while the episode goes on after 31 March.
    ep = w["ep"]
    e = ep[(ep["decom"].to_numpy() <= ye) & (ep["dec"].to_numpy() >= ys)].copy()
    open_ = e["dec"].to_numpy() > ye
    dec = np.where(open_, NA_DAY, e["dec"].to_numpy())
    re_ = np.random.default_rng([w["seed"], int(y), 11])
    flip = ~open_ & (re_.random(len(e)) < w["rates"].episode_end_before_start)
    dec = np.where(flip, e["decom"].to_numpy() - re_.integers(1, 31, len(e)), dec)
    pe = p.loc[e["pid"].to_numpy()]
    episodes = pd.DataFrame(
        {
            "_la": pe["la_code"].to_numpy(),
            "CHILD": pe["child"].to_numpy(),
            "DECOM": fmt(e["decom"].to_numpy()),
            "RNE": e["rne"].to_numpy(),
            "LS": e["ls"].to_numpy(),
            "CIN": e["cin"].to_numpy(),
            "PLACE": _place_for_year(e["place"].to_numpy(), y),
            "PLACE_PROVIDER": e["provider"].to_numpy(),
            "DEC": fmt(dec),
            "REC": np.where(open_, "", e["rec"].to_numpy()),
            "REASON_PLACE_CHANGE": np.where(open_, "", e["rpc"].to_numpy()),
            "HOME_POST": e["home_post"].to_numpy(),
            "PL_POST": e["pl_post"].to_numpy(),
            "URN": np.where((e["place"].to_numpy() == "H5") & (y < 2024), "", e["urn"].to_numpy()),
        }
    )
    W.write_split(episodes, "Episodes", las, folder, files)
    ebs = pd.DataFrame(
        {
            "year": y,
            "la": pe["la_code"].to_numpy()[flip],
            "child": pe["child"].to_numpy()[flip],
            "table": "Episodes",
            "defect": "episode_end_before_start",
            "detail": "DECOM " + episodes["DECOM"].to_numpy()[flip] + " DEC " + episodes["DEC"].to_numpy()[flip],
        }
    )
    d.counts.setdefault(y, {})["episode_end_before_start"] = (int(flip.sum()), int((~open_).sum()))
    truth_rows.append(ebs)
    # Reviews in the year.
    rv = w["rev"]
    rv = rv[(rv["review"] >= ys) & (rv["review"] <= ye)]
    pr = p.loc[rv["pid"].to_numpy()]
    W.write_split(
        pd.DataFrame(
            {
                "_la": pr["la_code"].to_numpy(),
                "CHILD": pr["child"].to_numpy(),
                "DOB": fmt(pr["dob"].to_numpy()),
                "REVIEW": fmt(rv["review"].to_numpy()),
                "REVIEW_CODE": rv["review_code"].to_numpy(),
            }
        ),
        "Reviews",
        las,
        folder,
        files,
    )
    # UASC: children in the year's episodes who were UASC; DUC = date UASC status ceased (18th birthday).
    lac = h[(h["start"].to_numpy() <= ye) & (h["end"].to_numpy() >= ys) & h["uasc"].to_numpy()]
    b18 = birthday(lac["dob"].to_numpy(), 18)
    _, mm, dd = ymd(lac["dob"].to_numpy())
    leap = ((mm == 2) & (dd == 29)).astype(np.int64)  # born 29 February: DUC 28 February, as DOB + 18 years in the rule
    # DUC is the 18th birthday in every year's return (rules 205A-D compare it between years; 304: not after it).
    W.write_split(
        pd.DataFrame(
            {
                "_la": lac["la_code"].to_numpy(),
                "CHILD": lac["child"].to_numpy(),
                "SEX": _sex(lac["male"].to_numpy(), y),
                "DOB": fmt(lac["dob"].to_numpy()),
                "DUC": fmt(b18 - leap),
            }
        ),
        "UASC",
        las,
        folder,
        files,
    )
    # OC2: looked after continuously for 12 months at 31 March.
    c12 = h[(h["start"].to_numpy() <= year_end(y - 1)) & (h["end"].to_numpy() > ye)]
    ro = np.random.default_rng([w["seed"], int(y), 2])
    n = len(c12)
    age = age_on(c12["dob"].to_numpy(), ye)
    dob12 = c12["dob"].to_numpy()
    # SDQ for children aged 4 to 17 at some time in the year (rule 197B: those turning 4 or 17 need a score or
    # a reason); SDQ1 (under 4 / over 16) only for children not aged 4-16 all year (rule 157).
    sdq_age = (birthday(dob12, 4) <= ye) & (birthday(dob12, 17) >= ys)
    all_year = (birthday(dob12, 4) <= ys) & (birthday(dob12, 16) >= ye)
    has_sdq = sdq_age & (ro.random(n) < 0.8)
    sdq = np.clip(np.round(ro.normal(14, 7, n)), 0, 40).astype(int).astype(str)
    sub = ro.random(n) < 0.03
    received = np.where(sub, np.where(ro.random(n) < 0.6, "1", "0"), "")
    ri = ro.integers(0, 5, n)
    W.write_split(
        pd.DataFrame(
            {
                "_la": c12["la_code"].to_numpy(),
                "CHILD": c12["child"].to_numpy(),
                "DOB": fmt(c12["dob"].to_numpy()),
                "SDQ_SCORE": np.where(has_sdq, sdq, ""),
                "SDQ_REASON": np.where(
                    sdq_age & ~has_sdq,
                    np.array(["SDQ1", "SDQ2", "SDQ3", "SDQ4", "SDQ5"])[np.where(all_year, 1 + ri % 4, ri)],
                    "",
                ),
                "CONVICTED": np.where(age >= 10, np.where(ro.random(n) < 0.02, "1", "0"), ""),
                # Health promotion (HEALTH_CHECK) only for children under 5 at 31 March (rule 546).
                "HEALTH_CHECK": np.where(age < 5, np.where(ro.random(n) < 0.9, "1", "0"), ""),
                "IMMUNISATIONS": np.where(ro.random(n) < 0.86, "1", "0"),
                "TEETH_CHECK": np.where(ro.random(n) < 0.75, "1", "0"),
                "HEALTH_ASSESSMENT": np.where(ro.random(n) < 0.9, "1", "0"),
                "SUBSTANCE_MISUSE": np.where(sub, "1", "0"),
                "INTERVENTION_RECEIVED": received,
                # Asked only when no intervention was received (rule 158).
                "INTERVENTION_OFFERED": np.where(sub & (received == "0"), np.where(ro.random(n) < 0.4, "1", "0"), ""),
            }
        ),
        "OC2",
        las,
        folder,
        files,
    )
    # OC3.
    o = w["oc3"][w["oc3"]["year"] == y]
    po = p.loc[o["pid"].to_numpy()]
    W.write_split(
        pd.DataFrame(
            {
                "_la": po["la_code"].to_numpy(),
                "CHILD": po["child"].to_numpy(),
                "DOB": fmt(po["dob"].to_numpy()),
                "IN_TOUCH": o["in_touch"].to_numpy(),
                "ACTIV": o["activ"].to_numpy(),
                "ACCOM": o["accom"].to_numpy(),
            }
        ),
        "OC3",
        las,
        folder,
        files,
    )
    # Missing and away.
    m = w["mis"][w["mis"]["year"] == y]
    pm = p.loc[m["pid"].to_numpy()]
    me = m["mis_end"].to_numpy()
    W.write_split(
        pd.DataFrame(
            {
                "_la": pm["la_code"].to_numpy(),
                "CHILD": pm["child"].to_numpy(),
                "DOB": fmt(pm["dob"].to_numpy()),
                "MISSING": m["missing"].to_numpy(),
                "MIS_START": fmt(m["mis_start"].to_numpy()),
                "MIS_END": fmt(np.where(me < 0, NA_DAY, me)),
            }
        ),
        "Missing",
        las,
        folder,
        files,
    )
    if "SWEpisodes" in W.tables_for(y):
        s = w["sw"]
        s = s[(s["sw_decom"].to_numpy() <= ye) & (s["sw_dec"].to_numpy() >= ys)]
        ps = p.loc[s["pid"].to_numpy()]
        sopen = s["sw_dec"].to_numpy() > ye
        W.write_split(
            pd.DataFrame(
                {
                    "_la": ps["la_code"].to_numpy(),
                    "CHILD": ps["child"].to_numpy(),
                    "DOB": fmt(ps["dob"].to_numpy()),
                    "SW_ID": s["sw_id"].to_numpy(),
                    "SW_DECOM": fmt(s["sw_decom"].to_numpy()),
                    "SW_DEC": fmt(np.where(sopen, NA_DAY, s["sw_dec"].to_numpy())),
                    "SW_REASON": s["sw_reason"].to_numpy(),
                }
            ),
            "SWEpisodes",
            las,
            folder,
            files,
        )
    return {"header": header, "episodes": episodes}


def generate(params: Params, out_dir: Path | None = None) -> Path:
    """Generate the synthetic data set for ``params`` into ``out_dir`` (default ``params.data_path``).

    Deterministic: the same params give byte-identical files. Written into a temporary sibling folder and
    renamed into place, so an interrupted run never leaves a half-written data set under the final name.
    Returns the output folder.
    """
    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else params.data_path
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        files: dict[str, str] = {}
        w = simulate(params)
        years = params.series_years
        fmt = DateFormatter(day(1960, 1, 1), day(years[-1] + 40, 12, 31))
        truth_rows: list[pd.DataFrame] = []
        per_year = {}
        for y in years:
            per_year[y] = write_year(w, y, tmp, fmt, files, truth_rows)
        school_truth = []
        for y in years:
            sch, st = school_extract(w, y, per_year[y]["episodes"])
            W.write_csv(sch, tmp / "school" / f"{y}.csv", files)
            school_truth.append(st)
        W.write_csv(population_table(w, years), tmp / "population" / "children_by_la_ethnicity.csv", files)
        _write_truth(w, years, tmp, files, truth_rows, school_truth, params)
        rel = {str(Path(k).relative_to(tmp)): v for k, v in sorted(files.items())}
        manifest = {
            "generator": "rap.synth",
            "rap_version": rap.__version__,
            "seed": params.synth.seed,
            "generator_fingerprint": generator_fingerprint(),
            "scale": params.synth.scale,
            "year": params.year,
            "years": years,
            "defect_rates": params.synth.defects.model_dump(),
            "note": "SYNTHETIC: not real data. Calibrated to DfE's 2024 release (see rap/data/synth_targets.yaml).",
            "files": rel,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "rap.synth: %s data for %s-%s written to %s in %.1f s",
        params.synth.scale,
        years[0],
        years[-1],
        out,
        time.perf_counter() - t0,
    )
    return out


def _write_truth(w, years, root: Path, files, truth_rows, school_truth, params: Params) -> None:
    d: ChildDefects = w["defects"]
    p = w["p"]
    rows = [d.defect_rows(p, y) for y in years] + truth_rows + [s["defects"] for s in school_truth]
    defects = pd.concat(rows, ignore_index=True)[["year", "la", "child", "table", "defect", "detail"]]
    defects = defects.sort_values(["year", "la", "child", "defect"], kind="stable")
    W.write_csv(defects, root / "truth" / "defects.csv", files)
    ch = []
    for y, s in zip(years, school_truth):
        ids = w["in_year"][y]
        ch.append(
            pd.DataFrame(
                {
                    "la": p.loc[ids, "la_code"].to_numpy(),
                    "child": p.loc[ids, "child"].to_numpy(),
                    "year": y,
                    "true_ethnic": p.loc[ids, "true_code"].to_numpy(),
                    "ssda903_ethnic": d.recorded[y].loc[ids].to_numpy(),
                    "school_ethnic": s["school_code"].reindex(ids).fillna("").to_numpy(),
                    "upn": d.upn.loc[ids].to_numpy(),
                }
            )
        )
    W.write_csv(
        pd.concat(ch, ignore_index=True).sort_values(["year", "la", "child"], kind="stable"),
        root / "truth" / "children.csv",
        files,
    )
    summary = d.summary(p, years, school_truth, params.synth.defects)
    W.write_bytes(
        (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode("utf-8"), root / "truth" / "summary.json", files
    )
