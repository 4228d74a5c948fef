"""Every automated check of a build, in one registry (:data:`REGISTRY`), in the manner of DfE's eesyscreener:
each check is a function that looks at the build and returns its results, each passed or failed with a message
saying what was found.

The registry is what ``qa/checks.csv`` and the report's QA annex list, in its order. Most checks run before the
report (:data:`BEFORE_REPORT`: the annex and the file list them); the leak scan runs last, after the report is
rendered (:data:`AFTER_SCAN`), so it is appended to ``qa/checks.csv`` only, and only when it found nothing (a
finding stops the build: ``rap.build.leaks.LeakError``).

A check runs once per subject where a build has several (each section, each quarantine file, each table):
its name then carries the subject, as in "Section 01_data_availability ran without error". A check that does
not apply to a build (no run result, published tables without record-level inputs) returns no result.

Nothing here imports pandas at module level: an unchanged re-run appends the leak scan's line without it.
"""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rap.core.params import Params
from rap.inputs.kinds import input_kind

if TYPE_CHECKING:
    from rap.build.leaks import ScanReport

PASSED, FAILED = "passed", "failed"
#: A check that applies but could not run here (a tool not installed): it says why, and never passes.
NOT_RUN = "not run"

#: The stage a check runs at: before the report (in the QA annex and ``qa/checks.csv``), or after the leak
#: scan (appended to ``qa/checks.csv``).
BEFORE_REPORT, AFTER_SCAN = "before the report", "after the leak scan"

#: Section states that mean the section's outputs are in the build (executed now or taken from the cache).
RAN = frozenset({"done", "cached"})
#: Section states of a section that was due to run and did not finish.
DID_NOT_FINISH = frozenset({"failed", "cancelled"})


@dataclass(frozen=True)
class Check:
    """One result of an automated check of the build: what was checked, its result and what it found."""

    name: str
    result: str  # passed | failed | not run
    detail: str


@dataclass(frozen=True)
class Build:
    """What the checks look at: the staging folder, the parameters, what the runner reported (when the build
    was made by ``rap run``) and, after it, the leak scan's report."""

    staging: Path
    params: Params
    #: the parameters file ``rap run`` read; None for a build without a run result
    params_file: Path | None = None
    #: every input file and its sha256 as the runner hashed them; None for a build without a run result
    inputs: Mapping[str, str] | None = None
    #: (section, state) of every section the runner planned, in order
    sections: Sequence[tuple[str, str]] = ()
    #: the leak scan's findings and the files it read, once it has run
    scan: ScanReport | None = None

    @classmethod
    def after_run(cls, staging: Path, params: Params, result: Any = None) -> Build:
        """The build as the runner left it: ``result`` is its ``RunResult`` (None when there is none)."""
        if result is None:
            return cls(Path(staging), params)
        return cls(
            Path(staging),
            params,
            Path(result.params_file),
            dict(result.inputs),
            tuple((s.name, s.state) for s in result.sections),
        )


# --------------------------------------------------------------------------------------------------
# the checks (names as written; {placeholders} name the subject of a check run once per subject)

PARAMETERS = "Parameters validated (types, ranges, files present)"
INPUTS_HASHED = "Input files hashed for the cache key and the manifest"
SECTION_RAN = "Section {section} ran without error"
READER_SCHEMA = "Reader schema checks"
READER_SCHEMA_TABLE = "Reader schema checks: {table}"
TABLE_FORMAT = "Table {table}: EES format and symbols"
LEAK_SCAN = "Leak scan of every output file (identifiers of the inputs, small counts)"
DISCLOSURE_ATTACK = "Disclosure attack: {attack}"
EES_SCREENER = "DfE's EES screener (eesyscreener) on every published table"
DFE_FIGURES = "DfE's national figures by ethnic group reproduced in the tables (published route)"


def _params_problem(params: Params) -> str | None:
    """What is wrong with ``params`` when validated again (types, ranges, optional input files present)."""
    from pydantic import ValidationError

    try:
        Params.model_validate(params.model_dump())
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{key}: {msg}" if key else msg
    return None


def parameters_validated(build: Build) -> list[Check]:
    """The parameters, validated again at the end of the build: an input file removed since they were read
    (or parameters made without validation) fails."""
    source = build.params_file.name if build.params_file is not None else "parameters"
    problem = _params_problem(build.params)
    if problem is not None:
        return [Check(PARAMETERS, FAILED, f"{source}: {problem}")]
    return [Check(PARAMETERS, PASSED, f"{source} with defaults.yaml")]


def inputs_hashed(build: Build) -> list[Check]:
    """The runner hashed the input files (the manifest lists them): fails when it hashed none."""
    if build.inputs is None:
        return []
    n = len(build.inputs)
    if not n:
        return [Check(INPUTS_HASHED, FAILED, "no input file was hashed: the manifest cannot say what the build read")]
    return [Check(INPUTS_HASHED, PASSED, f"{n:,} files")]


def sections_ran(build: Build) -> list[Check]:
    """One result per section that ran (fails for one that did not finish); a section neither selected nor in
    the cache is not part of the build and not listed."""
    out = []
    for section, state in build.sections:
        name = SECTION_RAN.format(section=section)
        if state in RAN:  # no timings or cache use here: the report must not depend on them
            out.append(Check(name, PASSED, "every cell executed (timings and cache use are in manifest.json)"))
        elif state in DID_NOT_FINISH:
            out.append(Check(name, FAILED, f"{state}: its executed notebook shows where it stopped"))
    return out


def _rows_without_reason(path: Path) -> int | None:
    """Quarantined rows of ``path`` with a blank reason, or None when the file has no ``reason`` column."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if "reason" not in (reader.fieldnames or []):
            return None
        return sum(not (row.get("reason") or "").strip() for row in reader)


def quarantine_file(path: Path, limit: float) -> Check:
    """One reader's quarantine file (``qa/rejected_<table>.csv``): every rejected row must say why. The share
    rejected is enforced by the readers (``qa.max_rejected_share``), which stop the build above it."""
    name = READER_SCHEMA_TABLE.format(table=path.stem.removeprefix("rejected_"))
    with path.open(encoding="utf-8") as fh:
        n = sum(1 for _ in fh) - 1
    missing = _rows_without_reason(path)
    if missing is None:
        return Check(name, FAILED, f"qa/{path.name} has no reason column: quarantined rows must say why")
    if missing:
        return Check(name, FAILED, f"{missing:,} of {n:,} rows quarantined without a reason (qa/{path.name})")
    return Check(
        name, PASSED, f"{n:,} rows quarantined with reasons (qa/{path.name}); each table under the {limit:.1%} limit"
    )


def reader_schema(build: Build) -> list[Check]:
    """The record-level readers' schema checks, one result per quarantine file (none for published tables)."""
    if not input_kind(build.params).record_level:
        return []
    rejected = sorted((build.staging / "qa").glob("rejected_*.csv"))
    if not rejected:
        return [Check(READER_SCHEMA, PASSED, "no input row rejected")]
    return [quarantine_file(f, build.params.qa.max_rejected_share) for f in rejected]


def table_format(path: Path) -> Check | None:
    """One published table: no blank indicator cell (EES rejects blanks), and how many cells are suppressed
    (evidence that disclosure control ran). None for a CSV without indicators (no metadata)."""
    from rap.build.tables import keys_and_indicators, read_table

    df = read_table(path)
    _, inds = keys_and_indicators(path, df)
    if not inds:
        return None
    cells = df[inds]
    blank = int((cells == "").sum().sum())
    sup = int(cells.isin(["c"]).sum().sum())
    return Check(
        TABLE_FORMAT.format(table=path.stem.replace("_", " ")),  # spaces let a PDF cell wrap
        PASSED if blank == 0 else FAILED,
        f"{len(df):,} rows; {sup:,} cells suppressed (c); {blank} blank indicator cells",
    )


def tables_format(build: Build) -> list[Check]:
    """Every published table of the build (``tables/*.csv``), one result each."""
    from rap.build.tables import published_tables

    results = (table_format(path) for path in published_tables(build.staging / "tables").values())
    return [c for c in results if c is not None]


def disclosure_attack(build: Build) -> list[Check]:
    """The disclosure attacker (``rap.audit``) on the build's published tables, reading nothing else: one result
    per attack and one for all of them together, each failing when it recovers, pins or discloses any hidden
    count (or leaves cells undecided). The detail gives the attack's own figures and names cells, never values."""
    from rap.audit import audit_folder

    tables = build.staging / "tables"
    if not tables.is_dir():
        return []
    s = build.params.suppression
    report = audit_folder(tables, s.threshold, s.rounding_base)  # its budget of LPs: a count, the same everywhere
    return [Check(row["name"], row["result"], row["detail"]) for row in report.checks()]


def ees_screener(build: Build) -> list[Check]:
    """DfE's own pre-upload checks (``rap.build.screener``) on every published table: fails when EES would
    refuse a file, or a warning names an item no reason in ``screener_residuals.yaml`` covers (the reasons go to
    ``qa/ees_screener_warnings.csv`` for Annex B); says it did not run, and why, where R or eesyscreener is not
    installed."""
    from rap.build import screener

    tables = build.staging / "tables"
    if not tables.is_dir() or not any(tables.glob("*.meta.csv")):
        return []
    home = screener.screener_home(Path(build.params.project_root))
    if home is None:
        why = "R or eesyscreener is not installed here (`make screener-tools` installs them, as root)"
        return [Check(EES_SCREENER, NOT_RUN, why)]
    try:
        results = screener.screen_folder(tables, home)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        return [Check(EES_SCREENER, NOT_RUN, str(err))]
    qa = build.staging / "qa"
    qa.mkdir(parents=True, exist_ok=True)
    with (qa / screener.WARNINGS_CSV).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["check", "files", "reason", "not_explained"], lineterminator="\n")
        w.writeheader()
        w.writerows({**r, "not_explained": "; ".join(r["not_explained"])} for r in screener.warning_rows(results))
    ok, text = screener.summary(results)
    return [Check(EES_SCREENER, PASSED if ok else FAILED, text)]


def dfe_figures_reproduced(build: Build) -> list[Check]:
    """On the published route, every national figure by ethnic group of DfE's release looked up in the tables
    written (``rap.build.reproduction``); the coverage table goes to ``qa/`` for the QA annex."""
    from rap.build import reproduction
    from rap.inputs.kinds import input_kind
    from rap.inputs.published import read_release

    tables = build.staging / "tables"
    if not input_kind(build.params).published or not tables.is_dir():
        return []
    table = reproduction.reproduction(read_release(build.params), tables)
    qa = build.staging / "qa"
    qa.mkdir(parents=True, exist_ok=True)
    table.to_csv(qa / reproduction.REPRODUCTION_CSV, index=False, lineterminator="\n")
    ok, text = reproduction.summary(table)
    return [Check(DFE_FIGURES, PASSED if ok else FAILED, text)]


def leak_scan(build: Build) -> list[Check]:
    """The leak scan of every output file (``rap.build.leaks``): fails on any finding (the build stops)."""
    scan = build.scan
    if scan is None:
        return []
    if scan.findings:
        files = len({f.file for f in scan.findings})
        return [
            Check(
                LEAK_SCAN, FAILED, f"{len(scan.findings)} possible disclosures in {files} files; nothing is published"
            )
        ]
    return [
        Check(
            LEAK_SCAN,
            PASSED,
            f"{len(scan.scanned)} files scanned, nothing found; not readable as text: {len(scan.not_scanned)} (images)",
        )
    ]


# --------------------------------------------------------------------------------------------------
# the registry


@dataclass(frozen=True)
class Registered:
    """One check of the registry: the names its results carry, when it runs, and the function."""

    names: tuple[str, ...]
    stage: str
    check: Callable[[Build], list[Check]]

    def writes(self, name: str) -> bool:
        """Whether a result called ``name`` is one of this check's."""
        return any(_pattern(n).fullmatch(name) for n in self.names)


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile(".+".join(re.escape(p) for p in parts))


#: Every check of a build, in the order ``qa/checks.csv`` and the QA annex list them.
REGISTRY: tuple[Registered, ...] = (
    Registered((PARAMETERS,), BEFORE_REPORT, parameters_validated),
    Registered((INPUTS_HASHED,), BEFORE_REPORT, inputs_hashed),
    Registered((SECTION_RAN,), BEFORE_REPORT, sections_ran),
    Registered((READER_SCHEMA_TABLE, READER_SCHEMA), BEFORE_REPORT, reader_schema),
    Registered((TABLE_FORMAT,), BEFORE_REPORT, tables_format),
    Registered((DISCLOSURE_ATTACK,), BEFORE_REPORT, disclosure_attack),
    Registered((EES_SCREENER,), BEFORE_REPORT, ees_screener),
    Registered((DFE_FIGURES,), BEFORE_REPORT, dfe_figures_reproduced),
    Registered((LEAK_SCAN,), AFTER_SCAN, leak_scan),
)


def run_checks(build: Build, stage: str = BEFORE_REPORT) -> list[Check]:
    """The results of every registered check of ``stage``, in registry order."""
    return [result for entry in REGISTRY if entry.stage == stage for result in entry.check(build)]


def registered(name: str) -> Registered | None:
    """The registry entry whose results are called ``name``, or None."""
    return next((entry for entry in REGISTRY if entry.writes(name)), None)


# --------------------------------------------------------------------------------------------------
# qa/checks.csv

FIELDS = ("name", "result", "detail")


def _rows(checks: Iterable[Check]) -> list[list[str]]:
    return [[c.name, c.result, c.detail] for c in checks]


def write_csv(checks: Iterable[Check], path: Path) -> Path:
    """``qa/checks.csv``: a header, then one row per result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([list(FIELDS), *_rows(checks)])
    return path


def append_csv(checks: Iterable[Check], path: Path) -> Path:
    """Add results to an existing ``qa/checks.csv`` (the leak scan's, after the report)."""
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(_rows(checks))
    return path
