"""The last check of every build: nothing disclosive leaves (issue 7, part 4; issue 14, part 3).

Suppression and redaction are applied where each output is made; this scan checks the result, every file of
a built output folder, so that a new table, a quoted figure, a chart, a notebook's stray output, a file of any
type a section writes or a QA file cannot publish what the rest of the pipeline protects. It looks for

(a) record-level values of the inputs (:class:`Needles`, built once by :func:`needles_from_record_data`):
child ids, social worker ids, UPNs, postcodes and dates of birth, and every value of a rejected input row by
its shape (:mod:`rap.build.leaks.needles`), in every form they are written in (:mod:`rap.build.leaks.match`:
ids inside longer tokens, postcodes with any spacing; :mod:`rap.build.leaks.dates`: dates in any common
written or numeric form, spreadsheet date cells). Every date in the range of the inputs' dates of birth is
reported, saying whether it is one of them, but for the collection years' first and last days. The manifest
(whose run timestamp and git information are run metadata) and Office and PDF document properties are
searched for identifiers only, never for dates; a notebook's and its cells' metadata (papermill's
timestamps) are not read at all: only cells' sources, outputs and outputs' metadata.

(b) unsuppressed small counts in the EES tables (:mod:`rap.build.leaks.tables`).

(c) unchecked images: a picture whose text the scan cannot read (a figure not emitted by
:func:`rap.present.display.figure`, which records the chart's text beside it; an image file a section
wrote). What every file type is read as: :mod:`rap.build.leaks.files`. Nothing is skipped because of its
type: a file no reader knows is read as bytes.

Runs from published tables have no record-level inputs: :meth:`Needles.empty` leaves only (b).

Messages never show an identifier: excerpts replace each one (and every date) with ``[child id]``,
``[UPN]``, ``[postcode]``, ``[social worker id]``, ``[date]``; a small count is shown as ``[1 to 5]``.
:func:`rap.build.leaks.redact.redact_notebook` masks the same way in the kept notebook of a failed section.

Speed: each text is tokenised with one regular expression and the tokens looked up in a set (no loop over
needles); EES tables are read once and only their distinct values searched; PDF text operators are read
directly (pypdf's ``extract_text`` takes 0.1 s a page). A national build (about 45 MB: 35 MB of CSV, ten
executed notebooks, an 84-page PDF; 87,000 child ids and 285,000 UPNs) scans in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rap.build.leaks.files import TEXT_SUFFIXES, read_contents
from rap.build.leaks.match import Finding, scan_segment
from rap.build.leaks.needles import KINDS, MIN_ID_LENGTH, Needles, needles_from_record_data
from rap.build.leaks.tables import count_columns, meta_for, scan_ees, unclassified_indicators
from rap.core.errors import RapError

__all__ = [
    "KINDS",
    "MIN_ID_LENGTH",
    "TEXT_SUFFIXES",
    "Finding",
    "LeakError",
    "Needles",
    "ScanReport",
    "check_no_leaks",
    "count_columns",
    "file_findings",
    "meta_for",
    "needles_from_record_data",
    "scan",
    "scan_files",
    "scan_outputs",
    "unclassified_indicators",
]

#: How many findings a LeakError message lists (the total is always given).
MESSAGE_FINDINGS = 10
UNCHECKED_IMAGE = "the scan cannot read the text of this image (a chart's title, labels, legend)"


@dataclass
class ScanReport:
    """The findings plus which files were read and which could not be fully (images in the report)."""

    findings: list[Finding]
    scanned: list[str]
    not_scanned: list[str]
    seconds: float


class LeakError(RapError):
    """A built output holds something disclosive: names the file and place of each finding, never the value."""

    def __init__(self, folder: str | Path, findings: list[Finding]) -> None:
        self.folder = str(folder)
        self.findings = findings
        files = len({f.file for f in findings})
        lines = [f"  {f}" for f in findings[:MESSAGE_FINDINGS]]
        more = len(findings) - MESSAGE_FINDINGS
        if more > 0:
            lines.append(f"  ... and {more} more")
        kinds = ", ".join(
            f"{sum(f.kind == k for f in findings)} {k}" for k in KINDS if any(f.kind == k for f in findings)
        )
        super().__init__(
            f"{self.folder}: {len(findings)} possible disclosures in {files} files ({kinds}); nothing is published "
            f"and identifiers are masked below (the rules are in rap/build/leaks/):\n" + "\n".join(lines)
        )


def file_findings(
    path: Path, rel: str, needles: Needles, threshold: int, rounding_base: int, root_manifest: bool = False
) -> tuple[list[Finding], bool]:
    """Findings in one file, and whether all of it could be read (False for an image in the report)."""
    import pandas as pd

    if path.suffix.lower() == ".csv" and (meta := meta_for(path)) is not None:
        try:
            return scan_ees(path, meta, rel, needles, threshold, rounding_base), True
        except (ValueError, KeyError, UnicodeDecodeError, pd.errors.ParserError):
            pass  # not a table EES could load either: read it as text below
    if not needles:
        return [], True
    contents = read_contents(path, rel, root_manifest)
    out: list[Finding] = []
    for seg in contents.segments:
        out += scan_segment(seg, needles, rel)
    for seg in contents.id_only:
        out += scan_segment(seg, needles, rel, dates=False)
    out += [Finding(rel, "unchecked image", where, UNCHECKED_IMAGE) for where in contents.images]
    return out, contents.readable


def scan(folder: Path, needles: Needles, threshold: int, rounding_base: int) -> ScanReport:
    """Scan every file under ``folder``; see the module docstring for what is looked for."""
    folder = Path(folder)
    rels = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]
    return scan_files(folder, rels, needles, threshold, rounding_base)


def scan_files(folder: Path, rels: Iterable[str], needles: Needles, threshold: int, rounding_base: int) -> ScanReport:
    """Scan the files ``rels`` (paths relative to ``folder``, the build's root: a table's ``.meta.csv`` is
    looked for beside it, and ``manifest.json`` at the root is read for identifiers only). Lets a build scan
    what is final while its last files are still being written."""
    t0 = time.perf_counter()
    folder = Path(folder)
    findings: list[Finding] = []
    scanned: list[str] = []
    not_scanned: list[str] = []
    for rel in rels:
        found, readable = file_findings(
            folder / rel, rel, needles, threshold, rounding_base, root_manifest=rel == "manifest.json"
        )
        (scanned if readable else not_scanned).append(rel)
        findings += found
    return ScanReport(findings, scanned, not_scanned, time.perf_counter() - t0)


def scan_outputs(folder: Path, needles: Needles, threshold: int, rounding_base: int) -> list[Finding]:
    """Every possible disclosure in the built output ``folder`` (file paths relative to it)."""
    return scan(folder, needles, threshold, rounding_base).findings


def check_no_leaks(folder: Path, needles: Needles, threshold: int, rounding_base: int) -> ScanReport:
    """Raise :class:`LeakError` if ``folder`` holds anything disclosive; else return what was scanned
    (the caller may log ``not_scanned``: images in the report, whose pixels the scan cannot read)."""
    report = scan(folder, needles, threshold, rounding_base)
    if report.findings:
        raise LeakError(folder, report.findings)
    return report
