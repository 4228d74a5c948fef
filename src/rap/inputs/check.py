"""``rap check``: parameters and inputs only, before anything runs.

Reads every input a run reads through ``rap.inputs.readers`` (record-level: the SSDA903 returns, the school
extracts and the child population; published: the release, the previous release beside it, DfE's LA file and
the ONS population files), writes quarantined rows to ``outputs/<year>.check/qa/`` and says, in a few lines,
what was read and what was wrong, naming the file, line, column and value of the first problems.
The check is strict: any rejected row fails it (exit 2). ``rap run`` is more lenient: it stops only when a
table loses more than ``qa.max_rejected_share`` of its rows, and otherwise reports the quarantined rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rap.core.errors import InputError
from rap.core.params import Params
from rap.domain.input_files import input_file
from rap.inputs.kinds import input_kind
from rap.inputs.load import ensure_data, read_school_years, refuse_writing_into_inputs
from rap.inputs.readers import write_rejected
from rap.inputs.readers.quarantine import ReadResult, redact_problems


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        out = list(self.lines)
        out += [f"FAIL: {f}" for f in self.failures]
        out.append("inputs OK" if self.ok else f"{len(self.failures)} problem(s): see above")
        return "\n".join(out)


def _first_problems(problems: pd.DataFrame, n: int = 3) -> list[str]:
    return [
        f"  {r.file}, line {r.line}, column {r.column}, value {r.value!r}: {r.reason}"
        for r in problems.head(n).itertuples()
    ]


def check_inputs(params: Params, qa_dir: Path | None = None) -> CheckReport:
    """Read and validate every input a run of ``params`` reads; quarantine bad rows; judge the rejected shares.
    A structural problem (a missing or unreadable file, a bad header, a bad published cell) raises InputError."""
    report = CheckReport()
    # Not outputs/<year>/ itself: that folder only ever changes by a whole run being swapped in.
    qa_dir = qa_folder(params, qa_dir)
    refuse_writing_into_inputs(params, {"--qa-dir": qa_dir}, qa_dir)
    if input_kind(params).published:
        _check_published(params, report)
    else:
        _check_record(params, qa_dir, report)
    return report


def qa_folder(params: Params, qa_dir: Path | None) -> Path:
    """Where ``rap check`` writes rejected rows: ``--qa-dir`` or ``outputs/<year>.check/qa``. An InputError
    when that is a file (or under one); one inside an input is refused by ``refuse_writing_into_inputs``."""
    qa = Path(qa_dir) if qa_dir else params.out_path.with_name(f"{params.year}.check") / "qa"
    existing = next((p for p in (qa, *qa.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise InputError(qa, f"{existing} is a file, not a folder: give --qa-dir a folder for the rejected rows")
    return qa


def _check_published(params: Params, report: CheckReport) -> None:
    """DfE's release (and the previous one beside it), the LA file and the ONS population files."""
    from rap.inputs.published import previous_release_folder, read_la_inputs, read_release, read_releases

    tables = read_release(params)
    report.lines.append(f"published EES release at {params.data_path}: {len(tables)} tables read")
    releases = read_releases(params, tables)
    if params.year - 1 in releases:
        report.lines.append(
            f"previous release at {previous_release_folder(params)}: {len(releases[params.year - 1])} tables read"
        )
    if params.input_path("la_ethnicity_file") is None:
        report.lines.append("note: data.la_ethnicity_file is not set: the LA chapter cannot be made")
        return
    la = read_la_inputs(params)
    report.lines.append(
        f"LA file {params.input_path('la_ethnicity_file')}: {len(la.counts):,} LA counts for {la.years}; "
        f"ONS population files in {params.input_path('population_path')}: {len(la.population):,} rows"
    )
    report.lines += [f"note: {n}" for n in la.notes]


def _check_record(params: Params, qa_dir: Path, report: CheckReport) -> None:
    """SSDA903 returns, school extracts and the child population file."""
    from rap.inputs.load import read_population
    from rap.inputs.readers.ssda903 import read_ssda903_years

    root = ensure_data(params)
    inputs = (
        ("SSDA903", read_ssda903_years(root / "ssda903", params.series_years)),
        ("school", read_school_years(root / "school", params.series_years)),
    )
    for name, res in inputs:
        _judge(name, res, params, qa_dir, report)
    population, notes = read_population(root)
    if population is not None:
        years = sorted(int(y) for y in population["time_period"].unique())
        report.lines.append(
            f"population {input_file('children_by_la_ethnicity')}: {len(population):,} rows for {years}"
        )
    report.lines += [f"note: {n}" for n in notes]
    if input_kind(params).synthetic and report.failures:
        report.lines.append(
            "note: synthetic data carry injected defects by design (rates under synth.defects; "
            "ground truth in data/synthetic/truth/)"
        )


def _judge(name: str, res: ReadResult, params: Params, qa_dir: Path, report: CheckReport) -> None:
    """One reader's result: rows read and rejected per table, the quarantine files, a failure per table with
    rejected rows (naming the first, redacted as in the files but for dates)."""
    written = write_rejected(res, qa_dir)
    for table, read in sorted(res.rows_read.items()):
        rejected = res.rejected_rows().get(table, 0)
        share = rejected / read if read else 0.0
        report.lines.append(f"{name} {table}: {read:,} rows read, {rejected:,} rejected ({share:.2%})")
        if rejected:
            bad = redact_problems(res.rejected[res.rejected["table"] == table].assign(action="rejected"), dates=False)
            limit = params.qa.max_rejected_share
            verdict = "rap run would stop" if share > limit else "rap run would go on"
            report.failures.append(
                f"{name} {table}: {rejected:,} rows rejected ({share:.2%}; {verdict} at "
                f"qa.max_rejected_share {limit:.2%}); first problems:\n" + "\n".join(_first_problems(bad))
            )
    if written:
        report.lines.append(f"rejected rows written to {qa_dir}")
    report.lines += [f"note: {n}" for n in res.notes]
