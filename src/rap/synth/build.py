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
from rap.synth import during_care as D
from rap.synth import journeys as J
from rap.synth import postcodes as PC
from rap.synth import writers as W
from rap.synth.adoption import adoption_world
from rap.synth.dates import DateFormatter, birthday, day, year_end, year_start
from rap.synth.defects import ChildDefects, inject_child_defects
from rap.synth.episodes import build_episodes
from rap.synth.fingerprint import generator_fingerprint
from rap.synth.leavers import care_leavers
from rap.synth.population import population_table
from rap.synth.returns import write_year
from rap.synth.school import school_extract
from rap.synth.targets import load_targets
from rap.synth.upn import make_upns

SCALES = {"national": 1.0, "small": 1 / 20}

log = logging.getLogger(__name__)


def load_las() -> pd.DataFrame:
    """The project's LA list (``rap/data/local_authorities.csv``): old and new codes, names, regions."""
    with resources.files("rap.data").joinpath("local_authorities.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=4)
def _model(seed: int, year: int) -> tuple[J.Inputs, dict[str, Any]]:
    """The calibrated model (fitted once per seed and year: calibration takes seconds)."""
    inp = J.build_inputs(load_targets(), load_las(), year)
    return inp, J.calibrate(inp, seed, year)


#: One random stream per part of the world, spawned from the seed in this order: adding a stream at the end
#: leaves the others unchanged, reordering them changes every draw.
STREAMS = [
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
    "adoption",
]


def random_streams(seed: int, scale: float) -> dict[str, np.random.Generator]:
    """Independent generators by part (``STREAMS``): a change in one part's draws leaves the others alone."""
    ss = np.random.SeedSequence([seed, int(scale * 1000)])
    return {k: np.random.default_rng(s) for k, s in zip(STREAMS, ss.spawn(len(STREAMS)))}


def child_ids(rng: np.random.Generator, la: np.ndarray) -> np.ndarray:
    """CHILD: unique within the LA, stable across years (a random permutation of 6-digit numbers per LA)."""
    n = len(la)
    key = rng.random(n)
    order = np.lexsort((key, la))
    rank = np.empty(n, dtype=np.int64)
    la_sorted = la[order]
    first = np.r_[0, np.flatnonzero(la_sorted[1:] != la_sorted[:-1]) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    rank[order] = np.arange(n) - starts
    return (100000 + rank * 7 + rng.integers(0, 7, n)).astype(str)


def children(
    r: dict[str, np.random.Generator], inp: J.Inputs, model: dict[str, Any], scale: float, years: list[int]
) -> pd.DataFrame:
    """Every period of care from the burn-in on, with its CIN, ending REC, LA code, true ethnic code, CHILD
    and UPN."""
    t_lo = year_start(years[0]) - int(J.BURN_IN_YEARS * J.YEAR_DAYS)
    p = J.simulate_periods(
        r["periods"],
        inp,
        scale,
        t_lo,
        year_end(years[-1]),
        model["code_mult"],
        model["male_by_kind"],
        model["adopt_p"],
    )
    p["cin"] = J.assign_cin(p, inp)
    p["rec_end"] = J.period_rec(p, r["periods"])
    p["la_code"] = np.array(inp.la_codes, dtype=object)[p["la"].to_numpy()]
    p["true_code"] = np.array(J.KNOWN, dtype=object)[p["code"].to_numpy()]
    p["child"] = child_ids(r["ids"], p["la"].to_numpy())
    # UPN: allocated by the LA where the child is looked after, in the year the child turned 4.
    p["upn_valid"] = make_upns(
        r["ids"], p["la_code"].astype(int).to_numpy(), (birthday(p["dob"].to_numpy(), 4) // 365.25 + 1970).astype(int)
    )
    return p


def header_ids(p: pd.DataFrame, oc3: pd.DataFrame, years: list[int]) -> dict[int, np.ndarray]:
    """Who is in each year's Header: looked after at some time in the year, or an OC3 care leaver."""
    in_year: dict[int, np.ndarray] = {}
    for y in years:
        ys, ye = year_start(y), year_end(y)
        lac = p.index[(p["start"].to_numpy() <= ye) & (p["end"].to_numpy() >= ys)].to_numpy()
        in_year[y] = np.union1d(lac, oc3.loc[oc3["year"] == y, "pid"].to_numpy())
    return in_year


def social_worker_episodes(
    rng: np.random.Generator, rel: pd.DataFrame, n_la: int, years: list[int]
) -> pd.DataFrame | None:
    """Social worker episodes from the first year that has them (2023/24), or None if no year does."""
    if not any(y >= 2024 for y in years):
        return None
    return D.sw_episodes(rng, rel, n_la, year_start(min(y for y in years if y >= 2024)))


def simulate(params: Params) -> dict[str, Any]:
    """The simulated world (no files): periods, episodes, incidents, reviews, leavers, defects."""
    syn = params.synth
    years = params.series_years
    scale = SCALES[syn.scale]
    inp, model = _model(syn.seed, params.year)
    las = load_las()
    r = random_streams(syn.seed, scale)
    p = children(r, inp, model, scale, years)
    lo, hi = year_start(years[0]), year_end(years[-1])
    # Periods that touch the collection years (others only feed OC3 for care leavers).
    rel = p[(p["end"] >= lo) & (p["start"] <= hi)]
    ep = build_episodes(r["episodes"], rel, model, lo)
    new_code = dict(zip(las["old_la_code"], las["new_la_code"]))
    ep["home_post"], ep["pl_post"] = PC.assign(r["postcodes"], ep, rel, [new_code[c] for c in inp.la_codes])
    mis = D.close_missing_at_placement_change(D.missing_incidents(r["missing"], rel, years, model), ep)
    rev = D.reviews(r["reviews"], rel, lo, hi)
    sw = social_worker_episodes(r["sw"], rel, len(las), years)
    adoption = adoption_world(r["adoption"], rel, ep, inp.la_codes)
    oc3 = care_leavers(r["leavers"], p, years, load_targets())
    in_year = header_ids(p, oc3, years)
    defects = inject_child_defects(r["defects"], p, in_year, years, syn.defects, inp.la_codes)
    return {
        "p": p,
        "ep": ep,
        "mis": mis,
        "rev": rev,
        "sw": sw,
        "adoption": adoption,
        "oc3": oc3,
        "in_year": in_year,
        "defects": defects,
        "rng": r,
        "inp": inp,
        "model": model,
        "las": las,
        "seed": syn.seed,
        "scale": scale,
        "rates": syn.defects,
    }


def write_data_set(params: Params, root: Path) -> dict[str, str]:
    """Simulate and write every file of the data set under ``root``; returns each file's sha256 by path."""
    files: dict[str, str] = {}
    w = simulate(params)
    years = params.series_years
    fmt = DateFormatter(day(1960, 1, 1), day(years[-1] + 40, 12, 31))
    truth_rows: list[pd.DataFrame] = []
    for y in years:
        write_year(w, y, root, fmt, files, truth_rows)
    school_truth = []
    for y in years:
        sch, st = school_extract(w, y)
        W.write_csv(sch, root / "school" / f"{y}.csv", files)
        school_truth.append(st)
    W.write_csv(population_table(w, years), root / "population" / "children_by_la_ethnicity.csv", files)
    _write_truth(w, years, root, files, truth_rows, school_truth, params)
    return files


def manifest(params: Params, root: Path, files: dict[str, str]) -> dict[str, Any]:
    """What was generated, how (seed, scale, defect rates, generator fingerprint) and every file's sha256."""
    return {
        "generator": "rap.synth",
        "rap_version": rap.__version__,
        "seed": params.synth.seed,
        "generator_fingerprint": generator_fingerprint(),
        "scale": params.synth.scale,
        "year": params.year,
        "years": params.series_years,
        "defect_rates": params.synth.defects.model_dump(),
        "note": "SYNTHETIC: not real data. Calibrated to DfE's 2024 release (see rap/data/synth_targets.yaml).",
        "files": {str(Path(k).relative_to(root)): v for k, v in sorted(files.items())},
    }


def _replace_folder(out: Path, new: Path) -> None:
    """Rename ``new`` to ``out``, moving any previous ``out`` aside first and deleting it after."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    new.rename(out)
    if old is not None:
        shutil.rmtree(old)


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
        files = write_data_set(params, tmp)
        text = json.dumps(manifest(params, tmp, files), indent=1, sort_keys=True) + "\n"
        (tmp / "manifest.json").write_text(text, encoding="utf-8")
        _replace_folder(out, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    years = params.series_years
    log.info(
        "rap.synth: %s data for %s-%s written to %s in %.1f s",
        params.synth.scale,
        years[0],
        years[-1],
        out,
        time.perf_counter() - t0,
    )
    return out


def truth_defects(
    w: dict[str, Any], years: list[int], truth_rows: list[pd.DataFrame], school_truth: list[dict]
) -> pd.DataFrame:
    """Every injected defect, one row per child, table and defect (the ground truth the quality checks are
    tested against)."""
    d: ChildDefects = w["defects"]
    rows = [d.defect_rows(w["p"], y) for y in years] + truth_rows + [s["defects"] for s in school_truth]
    defects = pd.concat(rows, ignore_index=True)[["year", "la", "child", "table", "defect", "detail"]]
    return defects.sort_values(["year", "la", "child", "defect"], kind="stable")


def truth_children(w: dict[str, Any], years: list[int], school_truth: list[dict]) -> pd.DataFrame:
    """Each Header child's true, recorded and school-census ethnic codes and UPN, by year."""
    d: ChildDefects = w["defects"]
    p = w["p"]
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
    return pd.concat(ch, ignore_index=True).sort_values(["year", "la", "child"], kind="stable")


def _write_truth(
    w: dict[str, Any],
    years: list[int],
    root: Path,
    files: dict[str, str],
    truth_rows: list[pd.DataFrame],
    school_truth: list[dict],
    params: Params,
) -> None:
    """Write ``truth/``: the defects, the children's codes and the summary of injected rates."""
    W.write_csv(truth_defects(w, years, truth_rows, school_truth), root / "truth" / "defects.csv", files)
    W.write_csv(truth_children(w, years, school_truth), root / "truth" / "children.csv", files)
    summary = w["defects"].summary(w["p"], years, school_truth, params.synth.defects)
    W.write_bytes(
        (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode("utf-8"), root / "truth" / "summary.json", files
    )
