"""``rap check``: parameters and inputs only, before anything runs.

Reads every input through ``rap.inputs.readers``, writes quarantined rows to ``outputs/<year>/qa/`` and says, in a
few lines, what was read and what was wrong, naming the file, line, column and value of the first problems.
The check is strict: any rejected row fails it (exit 2). ``rap run`` is more lenient: it stops only when a
table loses more than ``qa.max_rejected_share`` of its rows, and otherwise reports the quarantined rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rap.core.params import Params
from rap.inputs.kinds import input_kind
from rap.inputs.load import ensure_data, read_school_years, refuse_writing_into_inputs
from rap.inputs.readers import write_rejected
from rap.inputs.readers.quarantine import redact_problems


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
    """Read and validate the inputs of ``params``; quarantine bad rows; judge the rejected shares."""
    report = CheckReport()
    # Not outputs/<year>/ itself: that folder only ever changes by a whole run being swapped in.
    qa_dir = Path(qa_dir) if qa_dir else params.out_path.with_name(f"{params.year}.check") / "qa"
    refuse_writing_into_inputs(params, {"--qa-dir": qa_dir}, qa_dir)
    kind = input_kind(params)
    if kind.published:
        from rap.inputs.published import read_release

        tables = read_release(params)
        report.lines.append(f"published EES release at {params.data_path}: {len(tables)} tables read")
        return report
    from rap.inputs.readers.ssda903 import read_ssda903_years

    root = ensure_data(params)
    inputs = (
        ("SSDA903", read_ssda903_years(root / "ssda903", params.series_years)),
        ("school", read_school_years(root / "school", params.series_years)),
    )
    for name, res in inputs:
        written = write_rejected(res, qa_dir)
        for table, read in sorted(res.rows_read.items()):
            rejected = res.rejected_rows().get(table, 0)
            share = rejected / read if read else 0.0
            report.lines.append(f"{name} {table}: {read:,} rows read, {rejected:,} rejected ({share:.2%})")
            if rejected:
                bad = redact_problems(
                    res.rejected[res.rejected["table"] == table].assign(action="rejected"), dates=False
                )
                limit = params.qa.max_rejected_share
                verdict = "rap run would stop" if share > limit else "rap run would go on"
                report.failures.append(
                    f"{name} {table}: {rejected:,} rows rejected ({share:.2%}; {verdict} at "
                    f"qa.max_rejected_share {limit:.2%}); first problems:\n" + "\n".join(_first_problems(bad))
                )
        if written:
            report.lines.append(f"rejected rows written to {qa_dir}")
        report.lines += [f"note: {n}" for n in res.notes]
    if kind.synthetic and report.failures:
        report.lines.append(
            "note: synthetic data carry injected defects by design (rates under synth.defects; "
            "ground truth in data/synthetic/truth/)"
        )
    return report
