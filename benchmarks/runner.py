"""Whole-report timings at national scale, beside the floor that the data set: reading every input once.

Prints figures; asserts nothing. Printed side by side: the floor (plain pandas reading every input CSV once,
one process), the cold parallel build, an unchanged re-run, a re-run after editing one notebook, the
sequential no-cache build, each run's peak memory, and whether the cold and sequential builds wrote the same
bytes. Targets (issue "Speed to the floor"): cold build within 4x the floor; unchanged re-run within 1/5 of
it; cold parallel at least 1.5x the sequential no-cache build; peak memory of any process at most 1.5 GB;
``--years 10`` at most 2.2x the cost of 5. Each run is a separate ``rap run`` process so its peak memory
(max RSS of the process and its children) is its own.

    .venv/bin/python benchmarks/runner.py [--scale national|small] [--years 5] [--keep DIR]

The synthetic data are generated once (not timed here: see benchmarks/data_layer.py) into a scratch
project that copies ``params/`` and ``notebooks/``, so the repository's own outputs and cache are untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
RAP = [sys.executable, "-m", "rap.cli"]


def run(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak MiB of its largest process, last stdout line).

    Peak is the max RSS that ``wait4`` reports for the command (Linux: the largest of it and the
    descendants it waited for, e.g. section kernels).
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{stderr}")
    peak = usage.ru_maxrss / 1024
    lines = stdout.strip().splitlines()
    return seconds, peak, lines[-1] if lines else ""


FLOOR = """
import sys, time
from pathlib import Path
import pandas as pd
start = time.perf_counter()
files = sorted(Path(sys.argv[1]).rglob("*.csv"))
rows = sum(len(pd.read_csv(f, low_memory=False)) for f in files)
print(f"{time.perf_counter() - start:.3f} {len(files)} {rows}")
"""


def floor(data: Path) -> tuple[float, int, int]:
    """(seconds, files, rows): plain pandas reading every input CSV under ``data`` once, in one process."""
    out = subprocess.run([sys.executable, "-c", FLOOR, str(data)], capture_output=True, text=True, check=True)
    s, files, rows = out.stdout.split()
    return float(s), int(files), int(rows)


def outputs_digest(out: Path) -> dict[str, str]:
    """{file: hash} of every file a build wrote except the manifest (it records timings and the run's options)."""
    files = sorted(q for q in out.rglob("*") if q.is_file() and q.name != "manifest.json")
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="national", choices=["national", "small"])
    ap.add_argument("--years", type=int, default=5, help="length of the series (params `years`, up to 10)")
    ap.add_argument("--keep", type=Path, help="use (and keep) this scratch project folder")
    a = ap.parse_args()
    root = a.keep or Path(tempfile.mkdtemp(prefix="rap-bench-runner-"))
    try:
        (root / "params").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "params" / "defaults.yaml", root / "params" / "defaults.yaml")
        (root / "params" / "2024.yaml").write_text(f"year: 2024\nyears: {a.years}\nsynth:\n  scale: {a.scale}\n")
        shutil.rmtree(root / "notebooks", ignore_errors=True)
        shutil.copytree(REPO / "notebooks", root / "notebooks")
        params = str(root / "params" / "2024.yaml")
        run([*RAP, "synth", "--params", params], root)
        n_sections = len(list((root / "notebooks").glob("[0-9][0-9]_*.ipynb")))
        print(f"runner benchmark: {a.scale} scale, {a.years} years, {n_sections} sections, {os.cpu_count()} cores")
        fl, files, rows = floor(root / "data")
        print(f"  {'floor: pandas reads every input once':38s} {fl:6.1f} s   ({files} CSV files, {rows:,} rows)")

        def timed(label: str, *extra: str) -> float:
            s, mib, last = run([*RAP, "run", "--params", params, *extra], root)
            print(f"  {label:38s} {s:6.1f} s   peak {mib:7.0f} MiB   {last.split(';')[0]}")
            return s

        def clear_cache() -> None:
            """No cached sections, inputs or report; the runner's record of section timings (a scheduling
            hint, not a result) is kept, as it would be on an analyst's machine after any earlier run."""
            timings = root / ".cache" / "section-timings.json"
            keep = timings.read_bytes() if timings.exists() else None
            shutil.rmtree(root / ".cache", ignore_errors=True)
            if keep is not None:
                timings.parent.mkdir(parents=True, exist_ok=True)
                timings.write_bytes(keep)

        run([*RAP, "run", "--params", params, "--no-render"], root)  # records section timings
        clear_cache()
        cold = timed("cold run (parallel, empty cache)")
        cold_digest = outputs_digest(root / "outputs" / "2024")
        rerun = timed("unchanged re-run")
        first = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))[0]
        original = first.read_bytes()
        nb = nbformat.read(first, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("An edit for the benchmark."))
        nbformat.write(nb, first)
        timed(f"re-run after editing {first.stem}")
        first.write_bytes(original)  # the sequential build runs the notebooks the cold one ran
        clear_cache()
        seq = timed("sequential baseline (--workers 1 --no-cache)", "--workers", "1", "--no-cache")
        manifest = json.loads((root / "outputs" / "2024" / "manifest.json").read_text())
        seq_digest = outputs_digest(root / "outputs" / "2024")
        differ = sorted(f for f in set(seq_digest) | set(cold_digest) if seq_digest.get(f) != cold_digest.get(f))
        print(f"  parallel speed-up over sequential: {seq / cold:.2f}x  (renderer: {manifest.get('renderer')})")
        print(f"  cold / floor: {cold / fl:.1f}x (target <= 4);  unchanged re-run / floor: {rerun / fl:.2f} (<= 0.2)")
        print(f"  outputs of the cold parallel and sequential no-cache builds byte-identical: {not differ}")
        for f in differ[:10]:
            print(f"    differs: {f}")
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
