"""``rap check``: parameters and inputs only, before anything runs.

Reads every input through ``rap.sources``, writes quarantined rows to ``outputs/<year>/qa/`` and says, in a
few lines, what was read and what was wrong. Too many rejected rows (more than ``qa.max_rejected_share`` of a
table) fails the check: the measures would no longer describe the children in the return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .config import Params
from .inputs import ensure_data, load_record_data
from .sources import write_rejected


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
    qa_dir = Path(qa_dir) if qa_dir else params.out_path / "qa"
    if params.data.kind == "published":
        from .sources.ees import read_ees_release

        tables = read_ees_release(ensure_data(params))
        report.lines.append(f"published EES release at {params.data_path}: {len(tables)} tables read")
        return report
    data = load_record_data(params)
    for name, res in (("SSDA903", data.ssda903), ("school", data.school)):
        written = write_rejected(res, qa_dir)
        for table, read in sorted(res.rows_read.items()):
            rejected = res.rejected_rows().get(table, 0)
            share = rejected / read if read else 0.0
            report.lines.append(f"{name} {table}: {read:,} rows read, {rejected:,} rejected ({share:.2%})")
            if share > params.qa.max_rejected_share:
                bad = res.rejected[res.rejected["table"] == table]
                report.failures.append(
                    f"{name} {table}: {share:.2%} of rows rejected, more than qa.max_rejected_share "
                    f"({params.qa.max_rejected_share:.2%}); first problems:\n" + "\n".join(_first_problems(bad))
                )
        if written:
            report.lines.append(f"rejected rows written to {qa_dir}")
        report.lines += [f"note: {n}" for n in res.notes]
    report.lines += [f"note: {n}" for n in data.notes]
    return report
