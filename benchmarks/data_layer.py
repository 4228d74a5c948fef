"""Data-layer timings at national scale: generate 5 years, then read and validate them.

Prints figures; asserts nothing (targets from the data-layer issue: generate under 60 s, read and validate
under 15 s, peak memory under 2 GB, on a 2-core machine). Each stage runs in its own process so its peak
memory (max RSS) is its own.

    .venv/bin/python benchmarks/data_layer.py [--params params/2024.yaml] [--scale national] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

GENERATE = """
import sys
from pathlib import Path
from rap.core.params import load_params
from rap.synth import generate
p = load_params(sys.argv[1], synth={"scale": sys.argv[2]})
generate(p, out_dir=Path(sys.argv[3]))
"""

READ = """
import sys
from pathlib import Path
from rap.core.params import load_params
from rap.inputs.readers.ssda903 import read_ssda903_years
p = load_params(sys.argv[1])
res = read_ssda903_years(Path(sys.argv[3]) / "ssda903", p.series_years)
rows = sum(len(df) for df in res.tables.values())
print(f"rows={rows} rejected={len(res.rejected)}", file=sys.stderr)
"""


def timed(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter; return (seconds, peak MiB, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"stage failed:\n{err}")
    return seconds, usage.ru_maxrss / 1024, err.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=str(REPO / "params" / "2024.yaml"))
    ap.add_argument("--scale", default="national", choices=["national", "small"])
    ap.add_argument("--out", help="where to write the data (default: a temporary folder)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rap-bench-") as tmp:
        out = a.out or str(Path(tmp) / "synthetic")
        print(f"data layer benchmark: {a.scale} scale, {os.cpu_count()} cores")
        s, mib, _ = timed(GENERATE, a.params, a.scale, out)
        print(f"  generate 5 years        {s:6.1f} s   peak {mib:7.0f} MiB   (target < 60 s, < 2048 MiB)")
        s, mib, info = timed(READ, a.params, a.scale, out)
        print(f"  read + validate 5 years {s:6.1f} s   peak {mib:7.0f} MiB   (target < 15 s, < 2048 MiB)  {info}")


if __name__ == "__main__":
    main()
