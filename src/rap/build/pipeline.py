"""One entry point for a whole build: inputs, sections, report, manifest; swapped in only on success.

The sections are executed by ``rap.build.runner``; this module owns where their results go. Layout of one
run (``out`` is ``outputs/<year>``)::

    outputs/.staging-<year>-<random>/     everything is written here first
        .work/<section>/out/              the section's private ``out_dir`` while it runs (the runner's)
        notebooks/<section>.ipynb         executed, normalised notebooks
        <files the sections wrote>        merged from every section's ``out_dir``
        report/, the spreadsheet, qa/     made from them (:func:`publish`)
        manifest.json                     ``rap.build.manifest``
    outputs/<year>/                       the staging folder renamed into place once *every* step passed
    outputs/<year>.failed/<section>.ipynb the executed notebook of a section that failed, redacted
    outputs/.<year>.lock                  held while a run writes ``outputs/<year>``

Nothing under ``outputs/<year>`` changes until the whole run has succeeded: a failing notebook, a leak scan
finding, Ctrl-C or a SIGKILL leaves the previous good folder as it was; the staging folder is removed when
the run fails (and the next run removes one a killed run abandoned). The leak scan (:class:`BuildScan`) reads
every file of the staging folder, with or without the report (``--no-render``); the notebook of a failed
section is kept only with every identifier the scan would report masked (``rap.build.leaks.redact``), so no
file a run leaves under ``outputs/`` holds a record-level value.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rap.build.manifest import MANIFEST_NAME, write_manifest
from rap.build.runner import (
    Executed,
    RunOptions,
    RunResult,
    SectionError,
    SectionFailed,
    SectionPlan,
    collect_outputs,
    execute_sections,
    plan_sections,
    section_failed,
)
from rap.build.screener import screener_home
from rap.core.cache import keep_newest, write_pickle
from rap.core.codehash import code_hash
from rap.core.errors import RapError
from rap.core.hashing import sha256_file, sha256_json
from rap.core.params import Params
from rap.inputs.kinds import input_kind
from rap.inputs.load import ensure_data

SUMMARY_DIR = "summary"
#: Rendered reports and annexes kept in ``.cache`` (most recently used first): a few parameter files' worth.
KEEP_BUILDS = 4
REPORT_TITLE = "Ethnicity of children looked after in England"


def renderer_info(name: str) -> dict[str, str]:
    """Name and version of the renderer a build used, for the manifest."""
    if name == "quarto":
        out = subprocess.run(["quarto", "--version"], capture_output=True, text=True, check=False)
        return {"name": "quarto", "version": out.stdout.strip() or "unknown"}
    import pypandoc

    return {"name": "pandoc+typst", "version": f"pandoc {pypandoc.get_pandoc_version()}, typst-py {version('typst')}"}


def summary_markdown(staging: Path) -> str:
    """Key findings the sections wrote (``summary/<section>.md``), in section order."""
    parts = [p.read_text(encoding="utf-8").strip() for p in sorted((staging / SUMMARY_DIR).glob("*.md"))]
    return "\n\n".join(p for p in parts if p) or "No section reported key findings."


def _report_key(notebooks: list[Path], summary: str, params: Params, used: str) -> str:
    """Everything the rendered report depends on: chapters, summary, title inputs, renderer, report code."""
    return sha256_json(
        {
            "notebooks": {p.name: sha256_file(p) for p in notebooks},
            "summary": summary,
            "year": params.year,
            "years": params.series_years,
            "kind": input_kind(params).name,
            "renderer": renderer_info(used),
            "code": code_hash("rap.report", "rap.build.pipeline"),
        }
    )


ANNEXES = ("90_changes_since_last_year.ipynb", "91_methods_annex.ipynb", "92_qa_annex.ipynb")


def _package_code() -> str:
    """sha256 of the rap package's source files (what the runner keys sections on), for a build without a
    run result."""
    from rap.core.hashing import HashIndex

    package = Path(__file__).resolve().parents[1]
    with HashIndex(None) as idx:
        return sha256_json(idx.hash_tree(package))


def _annex_key(staging: Path, params: Params, result: RunResult | None, previous: Path) -> str:
    """Everything the annexes and ``qa/checks.csv`` are made from: this year's and last year's tables, the QA
    files, the parameters, the inputs' hashes, which sections ran, and the code that writes them."""

    def tree(folder: Path) -> dict[str, str]:
        return {p.name: sha256_file(p) for p in sorted(folder.glob("*.csv"))} if folder.is_dir() else {}

    return sha256_json(
        {
            "tables": tree(staging / "tables"),
            "previous": tree(previous),
            "qa": tree(staging / "qa"),
            "params": params.model_dump(mode="json"),
            "inputs": result.inputs if result else None,
            # ran (executed or from the cache: the annexes say the same) or not
            "sections": [(s.name, s.state in {"done", "cached"}) for s in result.sections] if result else None,
            # the whole package when the runner hashed it: the annexes use the report's table writer, the
            # measure catalogue and the suppression symbols as well as their own code
            "code": result.code if result and result.code else _package_code(),
            # whether DfE's screener can run here (installing it changes the QA annex)
            "screener": str(screener_home(Path(params.project_root))),
        }
    )


def _annex_notebooks(
    staging: Path, params: Params, result: RunResult | None, folder: Path, use_cache: bool = True
) -> list[Path]:
    """The reviewer aids as one-cell notebooks: changes since last year, methods annex, QA annex. They read
    every table twice (seconds at national scale), so they are cached under ``.cache/annexes/<key>``."""
    previous = params.out_path.parent / str(params.year - 1) / "tables"
    cached = Path(params.project_root).resolve() / ".cache" / "annexes" / _annex_key(staging, params, result, previous)
    from rap.build.reproduction import REPRODUCTION_CSV
    from rap.build.screener import WARNINGS_CSV

    checks_csv = staging / "qa" / "checks.csv"
    reproduced = staging / "qa" / REPRODUCTION_CSV
    warnings_csv = staging / "qa" / WARNINGS_CSV
    extras = (reproduced, warnings_csv)  # QA files some checks write, for the annex
    if use_cache and all((cached / n).is_file() for n in (*ANNEXES, "checks.csv")):
        os.utime(cached)
        checks_csv.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached / "checks.csv", checks_csv)
        for p in extras:
            if (cached / p.name).is_file():
                shutil.copyfile(cached / p.name, p)
        return [Path(shutil.copyfile(cached / n, folder / n)) for n in ANNEXES]
    from rap.build.annexes import changes_markdown, markdown_notebook, methods_markdown, qa_markdown
    from rap.build.checks import Build, run_checks, write_csv

    checks = run_checks(Build.after_run(staging, params, result))
    write_csv(checks, checks_csv)
    out = [
        markdown_notebook(
            changes_markdown(staging / "tables", previous if previous.is_dir() else None, params.year),
            folder / ANNEXES[0],
        ),
        markdown_notebook(methods_markdown(params, result.inputs if result else {}, checks), folder / ANNEXES[1]),
        markdown_notebook(qa_markdown(checks, *(p if p.is_file() else None for p in extras)), folder / ANNEXES[2]),
    ]
    tmp = cached.with_name(cached.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in [*out, checks_csv, *(p for p in extras if p.is_file())]:
        shutil.copyfile(p, tmp / p.name)
    shutil.rmtree(cached, ignore_errors=True)
    tmp.rename(cached)
    keep_newest(cached.parent, KEEP_BUILDS)
    return out


def spreadsheet_name(year: int) -> str:
    return f"cla-ethnicity-{year}-tables.xlsx"


def build_spreadsheet(staging: Path, params: Params, use_cache: bool = True, code: str | None = None) -> Path:
    """The accessible workbook of every published table (``rap.build.spreadsheet``), beside the EES CSVs. Cached
    under ``.cache/spreadsheet/<key>`` (key: the tables, the title inputs and the package's code, ``code``
    when the runner already hashed it: the sheet titles come from the measure catalogue): writing it takes
    tens of seconds at national scale."""
    tables = staging / "tables"
    out = staging / spreadsheet_name(params.year)
    source = input_kind(params).source
    key = sha256_json(
        {
            "tables": {p.name: sha256_file(p) for p in sorted(tables.glob("*.csv"))},
            "year": params.year,
            "source": source,
            "code": code or _package_code(),
            "epoch": os.environ.get("SOURCE_DATE_EPOCH"),
        }
    )
    cached = Path(params.project_root).resolve() / ".cache" / "spreadsheet" / f"{key}.xlsx"
    if use_cache and cached.is_file():
        os.utime(cached)
        shutil.copyfile(cached, out)
        return out
    from rap.build import spreadsheet  # gptables and xlsxwriter: not imported when the cache has the workbook

    spreadsheet.write_spreadsheet(
        tables,
        out,
        title=f"{REPORT_TITLE}, {params.year}: tables",
        year=params.year,
        source=source,
        levels=spreadsheet.REPORT_LEVELS,  # England, as the report shows it; regions and LAs stay in the CSVs
    )
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    shutil.copyfile(out, tmp)
    os.replace(tmp, cached)
    keep_newest(cached.parent, KEEP_BUILDS, "*.xlsx")
    return out


def _spreadsheet_seconds(staging: Path, params: Params, use_cache: bool, code: str | None) -> float:
    """:func:`build_spreadsheet`, timed where it runs (in the second process)."""
    t0 = time.perf_counter()
    build_spreadsheet(staging, params, use_cache, code)
    return time.perf_counter() - t0


def publish(
    staging: Path,
    params: Params,
    renderer: str = "auto",
    use_cache: bool = True,
    result: RunResult | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Everything made from the finished sections: the spreadsheet, the rendered report and, last, the leak
    scan of every file (which raises ``LeakError``: nothing is swapped in).

    With more than one worker the spreadsheet (the longest of these at national scale) is written in a
    second process while this one builds and renders the report and scans every file that is already
    final; the spreadsheet is scanned when it is done. With one worker the steps run one after another, so
    ``--workers 1`` never has two processes working at once. Each step's seconds go to
    ``result.publishing`` (and the manifest) and to the console, below the sections'.
    """
    steps: dict[str, float] = result.publishing if result is not None else {}

    def done(step: str, seconds: float) -> None:
        steps[step] = steps.get(step, 0.0) + seconds
        if step != "leak scan":  # printed once, in total, at the end
            print(f"{step:<32} {'done':<9} {seconds:7.1f}s", flush=True)

    def timed(step: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args)
        done(step, time.perf_counter() - t0)
        return out

    scan = BuildScan(staging, params, use_cache, result.inputs if result else None)
    sheet = spreadsheet_name(params.year)
    code = result.code if result else None
    if workers <= 1:
        timed("spreadsheet", build_spreadsheet, staging, params, use_cache, code)
        info = timed("report", build_report, staging, params, renderer, use_cache, result, 1)
        timed("leak scan", scan.scan, scan.files())
    else:
        from concurrent.futures import ProcessPoolExecutor

        from rap.core.processes import die_with_parent, mp_context

        with ProcessPoolExecutor(1, mp_context=mp_context(), initializer=die_with_parent) as pool:
            writing = pool.submit(_spreadsheet_seconds, staging, params, use_cache, code)
            info = timed("report", build_report, staging, params, renderer, use_cache, result, workers)
            # The spreadsheet (and its temporary file) may still be being written beside the other files.
            timed("leak scan", scan.scan, [rel for rel in scan.files() if sheet not in rel])
            done("spreadsheet", writing.result())  # re-raises a failure in the spreadsheet
        timed("leak scan", scan.scan, [sheet])
    scan.finish()
    print(f"{'leak scan':<32} {'done':<9} {steps['leak scan']:7.1f}s", flush=True)
    if info:
        print(f"report rendered by {info['name']} ({info['version']}); {info.get('style', '')}", flush=True)
    return info


class BuildScan:
    """The last check before anything is published: files of the build scanned for record-level identifiers
    of the inputs and unsuppressed small counts (``rap.build.leaks``), possibly in several goes; :meth:`finish`
    raises ``LeakError`` on any finding (the run fails and the previous outputs stay) and records the
    result in ``qa/checks.csv``.

    Two caches keep re-runs fast. A file whose bytes (and, for a table, its metadata) are unchanged since a
    clean scan with the same identifiers, rules and thresholds is not read again (``.cache/scans``). The
    identifiers are read from the inputs only when some file needs scanning, and are cached by the inputs'
    key (``.cache/needles``, beside the validated inputs in ``.cache/inputs``).
    """

    KEEP = KEEP_BUILDS  # most recently used entries kept in each cache

    def __init__(
        self, staging: Path, params: Params, use_cache: bool = True, inputs: dict[str, str] | None = None
    ) -> None:
        """``inputs``: the input files' hashes as the runner found them (``RunResult.inputs``), so that they
        are not hashed again; without them the data folder is hashed."""

        self.staging, self.params, self.use_cache, self._inputs = Path(staging), params, use_cache, inputs
        self._cache = Path(params.project_root).resolve() / ".cache"
        self._inputs_key = "published" if input_kind(params).published else None
        self._needles: Any = None
        self._code = code_hash("rap.build.leaks")  # the scanning code and its rules (package data)
        self.findings: list[Any] = []
        self.scanned: list[str] = []
        self.not_scanned: list[str] = []

    def files(self) -> list[str]:
        """Every file of the build, relative to it."""
        return [p.relative_to(self.staging).as_posix() for p in sorted(self.staging.rglob("*")) if p.is_file()]

    def inputs_key(self) -> str:
        """What the identifiers are read from: the input files and the code that reads them."""
        if self._inputs_key is None:
            from rap.inputs.load import reader_code_hash, record_data_key

            self._inputs_key = (
                record_data_key(self.params)
                if self._inputs is None
                else sha256_json({"files": self._inputs, "years": self.params.series_years, "code": reader_code_hash()})
            )
        return self._inputs_key

    def needles(self) -> Any:
        """The identifiers to look for (none for a build from published tables)."""
        from rap.build import leaks

        if self._needles is not None:
            return self._needles
        if input_kind(self.params).published:
            self._needles = leaks.Needles.empty()
            return self._needles
        import pickle

        from rap.inputs.load import load_record_data

        path = self._cache / "needles" / f"{sha256_json({'inputs': self.inputs_key(), 'code': self._code})}.pkl"
        if self.use_cache and path.is_file():
            try:
                with path.open("rb") as fh:
                    self._needles = pickle.load(fh)
                os.utime(path)
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                self._needles = None
        if not isinstance(self._needles, leaks.Needles):
            self._needles = leaks.needles_from_record_data(load_record_data(self.params))
            write_pickle(path, self._needles)
            keep_newest(path.parent, self.KEEP, "*.pkl")
        self._needles = self._needles.for_years(self.params.series_years)
        return self._needles

    def _markers(self) -> Path:
        s = self.params.suppression
        context = sha256_json(
            {"inputs": self.inputs_key(), "code": self._code, "threshold": s.threshold, "base": s.rounding_base}
        )
        return self._cache / "scans" / context

    def _file_key(self, rel: str) -> str:
        """A file's bytes and, for a table, its metadata's (which says which columns count people)."""
        from rap.build.leaks import meta_for

        path = self.staging / rel
        meta = meta_for(path) if path.suffix.lower() == ".csv" else None
        return sha256_json({"file": rel, "sha": sha256_file(path), "meta": sha256_file(meta) if meta else None})

    def scan(self, rels: Iterable[str]) -> None:
        """Scan these files (relative to the build), except those the cache knows to be clean."""
        from rap.build import leaks

        markers = self._markers() if self.use_cache else None
        if markers is not None and markers.is_dir():
            os.utime(markers)
        todo: list[tuple[str, Path | None]] = []
        for rel in rels:
            marker = markers / self._file_key(rel) if markers is not None else None
            state = marker.read_text(encoding="utf-8") if marker is not None and marker.is_file() else ""
            if state in ("scanned", "not scanned"):
                (self.scanned if state == "scanned" else self.not_scanned).append(rel)
            else:
                todo.append((rel, marker))
        if not todo:
            return
        s = self.params.suppression
        report = leaks.scan_files(self.staging, [r for r, _ in todo], self.needles(), s.threshold, s.rounding_base)
        self.findings += report.findings
        self.scanned += report.scanned
        self.not_scanned += report.not_scanned
        leaky = {f.file for f in report.findings}
        for rel, marker in todo:
            if marker is not None and rel not in leaky:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text("scanned" if rel in report.scanned else "not scanned", encoding="utf-8")
        if markers is not None:
            keep_newest(markers.parent, self.KEEP)

    def finish(self) -> None:
        """Raise ``LeakError`` if any scanned file is disclosive; else add the scan to ``qa/checks.csv``."""
        from rap.build import checks, leaks

        if self.findings:
            raise leaks.LeakError(self.staging, self.findings)
        checks_csv = self.staging / "qa" / "checks.csv"
        if checks_csv.is_file():
            report = leaks.ScanReport(self.findings, self.scanned, self.not_scanned, 0.0)
            build = checks.Build(self.staging, self.params, scan=report)
            checks.append_csv(checks.run_checks(build, checks.AFTER_SCAN), checks_csv)


def scan_build(staging: Path, params: Params, result: RunResult | None = None, use_cache: bool = True) -> None:
    """Scan every file of a finished build at once (see :class:`BuildScan`); raises ``LeakError``. What a
    run without a report (``--no-render``) publishes is scanned by this alone."""
    t0 = time.perf_counter()
    scan = BuildScan(staging, params, use_cache, result.inputs if result else None)
    scan.scan(scan.files())
    scan.finish()
    if result is not None:
        result.publishing["leak scan"] = time.perf_counter() - t0
        print(f"{'leak scan':<32} {'done':<9} {result.publishing['leak scan']:7.1f}s", flush=True)


def build_report(
    staging: Path,
    params: Params,
    renderer: str = "auto",
    use_cache: bool = True,
    result: RunResult | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Build the Quarto project from the executed notebooks in ``staging`` (and the annexes made from the
    build's tables, parameters and checks) and render it there.

    The rendered project is cached under ``.cache/report/<key>``: an unchanged re-run copies it instead of
    rendering again.
    """
    from rap.report import build_project, render
    from rap.report.govuk import frontend_css

    with tempfile.TemporaryDirectory(prefix="rap-annexes-") as annex_dir:
        notebooks = sorted((staging / "notebooks").glob("*.ipynb"))
        notebooks += _annex_notebooks(staging, params, result, Path(annex_dir), use_cache)
        report_dir = staging / "report"
        used = "quarto" if renderer == "quarto" or (renderer == "auto" and shutil.which("quarto")) else "pandoc"
        summary = summary_markdown(staging)
        extra_css = frontend_css(Path(params.project_root))  # GOV.UK Frontend, when make report-tools installed it
        key = _report_key(notebooks, summary + (extra_css or ""), params, used)
        cached = Path(params.project_root).resolve() / ".cache" / "report" / key
        if use_cache and (cached / ".complete").is_file():
            os.utime(cached)  # last used now: pruning keeps the most recently used
            shutil.copytree(cached, report_dir, ignore=shutil.ignore_patterns(".complete"))
            _write_explorer(staging, params)
            return renderer_info(used) | _style(extra_css)
        build_project(
            notebooks,
            report_dir,
            title=f"{REPORT_TITLE}, {params.year}",
            subtitle=f"Evidence on ethnicity data and breakdowns, collection years {params.series_years[0]} to {params.year}"
            + (" (synthetic data)" if input_kind(params).synthetic else ""),
            summary_md=summary,
            year=params.year,
            extra_css=extra_css,
        )
    render(report_dir, renderer=used, workers=workers)
    _write_explorer(staging, params)
    tmp = cached.with_name(cached.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(report_dir, tmp)
    (tmp / ".complete").write_text("ok\n")
    shutil.rmtree(cached, ignore_errors=True)
    tmp.rename(cached)
    keep_newest(cached.parent, KEEP_BUILDS)
    return renderer_info(used) | _style(extra_css)


def _style(extra_css: str | None) -> dict[str, str]:
    """How the HTML is styled, for the build's output and manifest."""
    from rap.report.govuk import VERSION

    if extra_css:
        return {"style": f"HTML styled with GOV.UK Frontend {VERSION}"}
    return {"style": "HTML styled with report.css only (GOV.UK Frontend not installed: make report-tools)"}


def _write_explorer(staging: Path, params: Params) -> list[Path]:
    """The LA explorer beside each HTML report (the pandoc file, and Quarto's book pages), from the staged
    tables: written after rendering, from the tables as published."""
    from rap.report.explorer import write_explorer
    from rap.report.project import output_name

    report_dir = staging / "report"
    folders = [report_dir] + ([report_dir / "_book"] if (report_dir / "_book").is_dir() else [])
    title = f"Local authority explorer: children looked after by ethnic group, {params.year}"
    return write_explorer(staging / "tables", folders, output_name(REPORT_TITLE, params.year), params.year, title)


# ------------------------------------------------------------------------------------ staging and the swap


class RunLocked(RapError):
    """Another run is writing the same output folder."""


@contextlib.contextmanager
def _run_lock(out_dir: Path) -> Iterator[None]:
    """Held for a whole run: a second run on the same ``out_dir`` stops at once instead of waiting."""
    from filelock import FileLock, Timeout

    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    lock = FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunLocked(f"another run is writing {out_dir} (lock {lock_path}); wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()


def clean_leftovers(out_dir: Path) -> list[Path]:
    """Remove staging folders of killed runs; restore ``out_dir`` if a run died halfway through the swap."""
    parent = out_dir.parent
    removed: list[Path] = []
    asides = sorted(parent.glob(f".old-{out_dir.name}-*"), key=lambda p: p.stat().st_mtime)
    if asides and not out_dir.exists():
        os.replace(asides.pop(), out_dir)  # killed between "rename old aside" and "rename staging in"
    for p in [*parent.glob(f".staging-{out_dir.name}-*"), *asides]:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames; the old folder is removed afterwards."""
    aside = None
    if out_dir.exists():
        aside = out_dir.parent / f".old-{out_dir.name}-{secrets.token_hex(4)}"
        os.replace(out_dir, aside)
    os.replace(staging, out_dir)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _failed_dir(out_dir: Path) -> Path:
    return out_dir.parent / f"{out_dir.name}.failed"


def _failure_needles(options: RunOptions, plan: SectionPlan, staging: Path) -> Any:
    """The identifiers to mask in what a failed run keeps, or None if they cannot be read (the inputs
    themselves may be why the section failed; synthetic data that would have to be generated first are not:
    a failure must not write into the data folder)."""
    from rap.inputs.load import _synthetic_matches  # whether loading would regenerate the synthetic data

    params = options.params
    if input_kind(params).synthetic and not _synthetic_matches(params):
        return None
    try:
        return BuildScan(staging, params, options.use_cache, plan.inputs).needles()
    except Exception:  # whatever stops the inputs loading: everything shaped like an identifier is masked
        return None


def _kept_failure(options: RunOptions, plan: SectionPlan, executed: Executed, staging: Path) -> SectionFailed:
    """The executed notebooks of the failed sections, redacted (``rap.build.leaks.redact``: every identifier
    and date of birth the leak scan would report masked, images removed), in ``outputs/<year>.failed/``
    (replacing an earlier run's); the error to raise, naming the first, with its message masked the same way."""
    from rap.build.leaks.redact import mask_text, write_redacted

    failed_dir = _failed_dir(options.out_dir)
    shutil.rmtree(failed_dir, ignore_errors=True)
    failed_dir.mkdir(parents=True)
    needles = _failure_needles(options, plan, staging)
    failures: dict[str, dict[str, Any]] = {}
    for stem, err in executed.failures.items():
        failures[stem] = {**err, "evalue": mask_text(str(err["evalue"]), needles)}
        failures[stem]["traceback"] = mask_text(str(err["traceback"]), needles)
        if err["notebook"] is not None:
            kept = failed_dir / f"{stem}.ipynb"
            found = write_redacted(Path(err["notebook"]), kept, needles)
            if found:
                kinds = ", ".join(sorted({f.kind for f in found}))
                done = "masked in the kept notebook" if kept.exists() else "in its notebook, which is not kept"
                failures[stem]["evalue"] += f" [{len(found)} possible disclosures ({kinds}) {done}]"
    return section_failed(plan, failures, failed_dir)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _staged_result(options: RunOptions, plan: SectionPlan, staging: Path, started: str, t0: float) -> RunResult:
    """Every section's notebook and files in ``staging`` (executed now or from the cache), and what the run
    did. Raises :class:`SectionFailed` when a section failed (after the others finished)."""
    executed = execute_sections(options, plan, staging)
    if executed.failures:
        raise _kept_failure(options, plan, executed, staging)
    missing = [stem for stem in plan.stems if executed.results.get(stem) is None]
    if missing:  # every section is planned to be executed or taken from the cache: this would be a bug
        raise SectionError(f"not published: the build would lack {', '.join(missing)}; {options.out_dir} is unchanged")
    collect_outputs(options, plan, executed, staging, reserved=(MANIFEST_NAME,))
    return RunResult(
        out_dir=options.out_dir,
        params_file=options.params_file,
        sections=[executed.results[stem] for stem in plan.stems],
        inputs=plan.inputs,
        started=started,
        finished=_now(),
        seconds=time.perf_counter() - t0,
        code=plan.code,
    )


def run_sections(
    params: Params,
    params_file: str | Path,
    *,
    notebooks_dir: str | Path,
    out_dir: str | Path | None = None,
    sections: Iterable[str] | None = None,
    workers: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    execution_timeout: int | None = None,
    finalise: Callable[[Path, RunResult], dict[str, Any] | None] | None = None,
) -> RunResult:
    """Run the sections (all, or those named in ``sections`` / ``params.sections``) and swap in the result.

    ``out_dir`` defaults to ``params.out_path`` (``outputs/<year>``). Sections not selected are included from
    the cache when their key still matches, and otherwise executed too: a build is never published without
    one of its sections, so a run of a few sections cannot replace a complete build by a partial one. Raises
    :class:`SectionFailed` (after the other sections finished, so their results are cached) when a notebook
    raises; the previous ``out_dir`` is then untouched.

    ``finalise(staging_dir, result)`` runs after every section succeeded and before the swap (e.g. to
    build and render the report inside the staging folder); what it returns is recorded in the manifest
    as the renderer. If it raises, nothing is swapped in.
    """
    t0, started = time.perf_counter(), _now()
    options = RunOptions.resolve(
        params,
        params_file,
        notebooks_dir=notebooks_dir,
        out_dir=out_dir,
        workers=workers,
        use_cache=use_cache,
        progress=progress,
        cache_dir=cache_dir,
        execution_timeout=execution_timeout,
    )
    plan = plan_sections(options, sections if sections is not None else params.sections)
    if plan.added:
        print(f"not chosen but not in the cache, so executed too (a build has every section): {', '.join(plan.added)}")
    out = options.out_dir
    out.parent.mkdir(parents=True, exist_ok=True)
    with _run_lock(out):
        clean_leftovers(out)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".staging-{out.name}-"))
        try:
            result = _staged_result(options, plan, staging, started, t0)
            renderer = finalise(staging, result) if finalise is not None else None
            write_manifest(staging, params, result, renderer=renderer)
            _swap_in(staging, out)
            shutil.rmtree(_failed_dir(out), ignore_errors=True)
            result.seconds = time.perf_counter() - t0
            return result
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def run(
    params: Params,
    params_file: Path,
    *,
    notebooks_dir: Path,
    sections: Iterable[str] | None = None,
    workers: int | None = None,
    use_cache: bool = True,
    renderer: str = "auto",
    progress: bool = True,
    render_report: bool = True,
) -> RunResult:
    """Make sure the inputs exist, run the sections, build and render the report (not with
    ``render_report=False``), scan every file for leaks, swap it all in."""
    ensure_data(params)
    n = max(1, int(workers or os.cpu_count() or 1))
    if render_report:
        finalise = lambda staging, result: publish(staging, params, renderer, use_cache, result, n)  # noqa: E731
    else:  # no report, spreadsheet or annexes: what the sections wrote is scanned all the same
        finalise = lambda staging, result: scan_build(staging, params, result, use_cache)  # noqa: E731
    return run_sections(
        params,
        params_file,
        notebooks_dir=notebooks_dir,
        sections=list(sections) if sections else None,
        workers=workers,
        use_cache=use_cache,
        progress=progress,
        finalise=finalise,
    )
