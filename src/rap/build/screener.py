"""DfE's EES screener (the R package ``eesyscreener``) on a build's published tables.

EES refuses a data file that fails any of its checks, and a file with warnings is not suitable for its API. The
screener needs R with eesyscreener and its DuckDB stand-in, installed by ``make screener-tools`` into
``.cache/eesyscreener`` (or wherever ``SCREENER_HOME`` points); without it the check says it did not run and
why, and the build goes on. ``screen.R`` beside this module runs it and writes one row per file and check.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

#: Seconds the screener may take on one build (about 20 s for a small build's 42 tables).
TIMEOUT = 900


@dataclass
class FileResult:
    """One table's screening: whether EES would take it, whether it suits the API, its failing and warning checks."""

    file: str
    passed: bool
    api_suitable: bool
    fails: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)


def screener_home(project_root: Path) -> Path | None:
    """Where eesyscreener is installed: ``SCREENER_HOME``, else the project's ``.cache/eesyscreener``, else that
    of the clone this package runs from (``make screener-tools`` puts it there); None when none holds it (or R
    is not on PATH)."""
    checkout = Path(__file__).resolve().parents[3]  # src/rap/build/screener.py -> the clone
    places = (
        os.environ.get("SCREENER_HOME"),
        Path(project_root) / ".cache" / "eesyscreener",
        checkout / ".cache" / "eesyscreener",
    )
    for home in places:
        if home and (Path(home) / "rlib" / "eesyscreener").is_dir() and _rscript():
            return Path(home)
    return None


def _rscript() -> str | None:
    from shutil import which

    return which("Rscript")


def screen_folder(tables: Path, home: Path) -> list[FileResult]:
    """Every data/meta pair in ``tables`` screened; raises RuntimeError (with R's last words) if R fails."""
    env = {**os.environ, "R_LIBS": str(home / "rlib"), "DUCKPLYR_SHIM_PYTHON": str(home / "pyenv" / "bin" / "python")}
    script = resources.files("rap.build").joinpath("screen.R")
    with tempfile.TemporaryDirectory() as tmp, resources.as_file(script) as r_file:
        out = Path(tmp) / "results.csv"
        proc = subprocess.run(
            [_rscript() or "Rscript", str(r_file), str(tables), str(out)],
            env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise RuntimeError("eesyscreener did not run: " + " / ".join(tail))
        with out.open(encoding="utf-8", newline="") as fh:
            return _by_file(list(csv.DictReader(fh)))


def _by_file(rows: list[dict]) -> list[FileResult]:
    out: dict[str, FileResult] = {}
    for r in rows:
        f = out.setdefault(r["file"], FileResult(r["file"], False, False))
        if r["check"] == "overall":
            f.passed = r["result"] == "PASSED"
            f.api_suitable = f.passed and r["message"] == "api_suitable=TRUE"
            if r["result"] == "ERROR":
                f.fails.append("screener error")
                f.messages["screener error"] = r["message"]
        elif r["result"] == "FAIL":
            f.fails.append(r["check"])
            f.messages[r["check"]] = r["message"]
        elif r["result"] == "WARNING":
            f.warnings.append(r["check"])
            f.messages[r["check"]] = r["message"]
    return sorted(out.values(), key=lambda f: f.file)


#: The QA file listing each screener warning: files raising it, why no file clears it, items not explained.
WARNINGS_CSV = "ees_screener_warnings.csv"
#: The quoted items of a screener message (an item may hold an apostrophe: "Child's disability").
_ITEM = re.compile(r"'(.+?)'(?=, '|\.(?:\s|$)|\s|$)")


def residuals() -> dict[str, dict]:
    """``rap/data/screener_residuals.yaml``: {check: {reason, items}} for the warnings no file can clear."""
    import yaml

    with resources.files("rap.data").joinpath("screener_residuals.yaml").open("r", encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    return {c: {"reason": str(v["reason"]), "items": [str(i) for i in v["items"]]} for c, v in doc.items()}


def message_items(message: str) -> list[str]:
    """The values a screener message names (labels, ``column / item`` pairs, column names)."""
    return _ITEM.findall(message)


def warning_rows(results: list[FileResult]) -> list[dict]:
    """One row per warning check: how many files raise it, the reason it cannot be cleared (when the check is
    in :func:`residuals`), and the items its messages name that the reason does not cover."""
    known = residuals()
    rows: dict[str, dict] = {}
    for f in results:
        for check in dict.fromkeys(f.warnings):
            row = rows.setdefault(check, {"check": check, "files": 0, "items": set()})
            row["files"] += 1
            row["items"].update(message_items(f.messages.get(check, "")) or ["(no item named)"])
    out = []
    for check, row in sorted(rows.items()):
        spec = known.get(check, {"reason": "", "items": []})
        loose = sorted(i for i in row["items"] if not any(fnmatch.fnmatchcase(i, p) for p in spec["items"]))
        out.append({"check": check, "files": row["files"], "reason": spec["reason"], "not_explained": loose})
    return out


def summary(results: list[FileResult]) -> tuple[bool, str]:
    """Whether every file passes with no warning left unexplained, and a line for the QA annex: files passing,
    API-suitable, what fails, the warnings that keep files off the API (each with how many files raise it) and
    the items no reason in ``screener_residuals.yaml`` covers (each a label, filter item or column name to
    harmonise, or to add there with its reason)."""
    fails = [f for f in results if not f.passed]
    loose = {r["check"]: r["not_explained"] for r in warning_rows(results) if r["not_explained"]}
    warned: dict[str, int] = {}
    for f in results:
        for w in dict.fromkeys(f.warnings):
            warned[w] = warned.get(w, 0) + 1
    text = (
        f"{len(results) - len(fails)} of {len(results)} files pass (no FAIL); "
        f"{sum(f.api_suitable for f in results)} suitable for the EES API"
    )
    if fails:
        text += "; failing: " + "; ".join(f"{f.file} ({', '.join(f.fails)})" for f in fails)
    if warned:
        text += "; warnings: " + ", ".join(f"{w} ({n} files)" for w, n in sorted(warned.items()))
    if loose:
        named = "; ".join(
            f"{c}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}" for c, items in loose.items()
        )
        text += f"; warning items no reason covers (rap/data/screener_residuals.yaml): {named}"
    elif warned:
        text += "; every warning has its reason in screener_residuals.yaml (Annex B lists them)"
    return not fails and not loose, text
