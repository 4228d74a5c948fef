"""One entry point for a whole build: inputs, sections, report, manifest; swapped in only on success."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterable

from .config import Params
from .hashing import sha256_file, sha256_json
from .inputs import ensure_data
from .runner import RunResult, run_sections

SUMMARY_DIR = "summary"
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
    report_src = Path(__file__).parent / "report"
    return sha256_json(
        {
            "notebooks": {p.name: sha256_file(p) for p in notebooks},
            "summary": summary,
            "year": params.year,
            "years": params.series_years,
            "kind": params.data.kind,
            "renderer": renderer_info(used),
            "code": {str(p.relative_to(report_src)): sha256_file(p) for p in sorted(report_src.rglob("*")) if p.is_file() and "__pycache__" not in p.parts},
            "pipeline": sha256_file(Path(__file__)),
        }
    )


def build_checks(staging: Path, params: Params, result: RunResult | None) -> list:
    """Every automated check this build ran, for the QA annex and ``qa/checks.csv``."""
    from .annexes import Check, suppression_checks

    checks = [Check("Parameters validated (types, ranges, files present)", "passed",
                    f"{Path(result.params_file).name if result else 'parameters'} with defaults.yaml")]
    if result is not None:
        checks.append(Check("Input files hashed for the cache key and the manifest", "passed",
                            f"{len(result.inputs):,} files"))
        for s in result.sections:
            if s.state in {"done", "cached"}:  # no timings or cache use here: the report must not depend on them
                checks.append(Check(f"Section {s.name} ran without error", "passed",
                                    "every cell executed (timings and cache use are in manifest.json)"))
    rejected = sorted((staging / "qa").glob("rejected_*.csv"))
    if params.data.kind != "published":
        limit = params.qa.max_rejected_share
        if rejected:
            for f in rejected:
                n = sum(1 for _ in f.open(encoding="utf-8")) - 1
                checks.append(Check(f"Reader schema checks: {f.stem.removeprefix('rejected_')}", "passed",
                                    f"{n:,} rows quarantined with reasons (qa/{f.name}); each table under the "
                                    f"{limit:.1%} limit"))
        else:
            checks.append(Check("Reader schema checks", "passed", "no input row rejected"))
    checks += suppression_checks(staging / "tables")
    return checks


ANNEXES = ("90_changes_since_last_year.ipynb", "91_methods_annex.ipynb", "92_qa_annex.ipynb")


def _annex_key(staging: Path, params: Params, result: RunResult | None, previous: Path) -> str:
    """Everything the annexes and ``qa/checks.csv`` are made from: this year's and last year's tables, the QA
    files, the parameters, the inputs' hashes, which sections ran, and the code that writes them."""
    from . import annexes

    def tree(folder: Path) -> dict[str, str]:
        return {p.name: sha256_file(p) for p in sorted(folder.glob("*.csv"))} if folder.is_dir() else {}

    return sha256_json({
        "tables": tree(staging / "tables"), "previous": tree(previous), "qa": tree(staging / "qa"),
        "params": params.model_dump(mode="json"), "inputs": result.inputs if result else None,
        # ran (executed or from the cache: the annexes say the same) or not
        "sections": [(s.name, s.state in {"done", "cached"}) for s in result.sections] if result else None,
        "code": [sha256_file(Path(annexes.__file__)), sha256_file(Path(__file__))],
    })


def _annex_notebooks(staging: Path, params: Params, result: RunResult | None, folder: Path,
                     use_cache: bool = True) -> list[Path]:
    """The reviewer aids as one-cell notebooks: changes since last year, methods annex, QA annex. They read
    every table twice (seconds at national scale), so they are cached under ``.cache/annexes/<key>``."""
    from .annexes import changes_markdown, markdown_notebook, methods_markdown, qa_markdown, write_checks_csv

    previous = params.out_path.parent / str(params.year - 1) / "tables"
    cached = Path(params.project_root).resolve() / ".cache" / "annexes" / _annex_key(staging, params, result, previous)
    checks_csv = staging / "qa" / "checks.csv"
    if use_cache and all((cached / n).is_file() for n in (*ANNEXES, "checks.csv")):
        checks_csv.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached / "checks.csv", checks_csv)
        return [Path(shutil.copyfile(cached / n, folder / n)) for n in ANNEXES]
    checks = build_checks(staging, params, result)
    write_checks_csv(checks, checks_csv)
    out = [
        markdown_notebook(changes_markdown(staging / "tables", previous if previous.is_dir() else None, params.year),
                          folder / ANNEXES[0]),
        markdown_notebook(methods_markdown(params, result.inputs if result else {}), folder / ANNEXES[1]),
        markdown_notebook(qa_markdown(checks), folder / ANNEXES[2]),
    ]
    tmp = cached.with_name(cached.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in [*out, checks_csv]:
        shutil.copyfile(p, tmp / p.name)
    shutil.rmtree(cached, ignore_errors=True)
    tmp.rename(cached)
    return out


def spreadsheet_name(year: int) -> str:
    return f"cla-ethnicity-{year}-tables.xlsx"


def build_spreadsheet(staging: Path, params: Params, use_cache: bool = True) -> Path:
    """The accessible workbook of every published table (``rap.spreadsheet``), beside the EES CSVs. Cached
    under ``.cache/spreadsheet/<key>`` (key: the tables, the title inputs and the writer's code): writing it
    takes tens of seconds at national scale."""
    from . import spreadsheet

    tables = staging / "tables"
    out = staging / spreadsheet_name(params.year)
    source = {"synthetic": "synthetic SSDA903 returns and school census extracts (not real data)",
              "record": "SSDA903 returns and school census extracts",
              "published": "DfE, Children looked after in England including adoptions (published tables)"}[params.data.kind]
    key = sha256_json({"tables": {p.name: sha256_file(p) for p in sorted(tables.glob("*.csv"))},
                       "year": params.year, "source": source, "code": sha256_file(Path(spreadsheet.__file__)),
                       "epoch": os.environ.get("SOURCE_DATE_EPOCH")})
    cached = Path(params.project_root).resolve() / ".cache" / "spreadsheet" / f"{key}.xlsx"
    if use_cache and cached.is_file():
        shutil.copyfile(cached, out)
        return out
    spreadsheet.write_spreadsheet(tables, out, title=f"{REPORT_TITLE}, {params.year}: tables", year=params.year,
                                  source=source)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    shutil.copyfile(out, tmp)
    os.replace(tmp, cached)
    for old in sorted(cached.parent.glob("*.xlsx"), key=lambda q: q.stat().st_mtime_ns, reverse=True)[2:]:
        old.unlink(missing_ok=True)
    return out


def publish(staging: Path, params: Params, renderer: str = "auto", use_cache: bool = True,
            result: RunResult | None = None) -> dict[str, Any]:
    """Everything made from the finished sections: the spreadsheet (in a second process, while) the report
    is built and rendered."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        sheet = pool.submit(build_spreadsheet, staging, params, use_cache)
        info = build_report(staging, params, renderer, use_cache, result)
        sheet.result()  # re-raises a failure in the spreadsheet
    scan_build(staging, params, result, use_cache)
    return info


def scan_build(staging: Path, params: Params, result: RunResult | None, use_cache: bool = True) -> None:
    """The last check before anything is published: every file of the build scanned for record-level
    identifiers of the inputs and unsuppressed small counts (``rap.leaks``); raises ``LeakError`` (the run
    fails and the previous outputs stay). A build whose every file, inputs and scanning code are unchanged
    since a clean scan is not scanned again (``.cache/scans``). Appends the result to ``qa/checks.csv``."""
    import csv
    import json

    from . import leaks

    files = {p.relative_to(staging).as_posix(): sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    key = sha256_json({"files": files, "inputs": result.inputs if result else None, "kind": params.data.kind,
                       "code": sha256_file(Path(leaks.__file__)),
                       "rules": sha256_file(Path(leaks.__file__).parent / "data" / "disclosure_counts.yaml"),
                       "threshold": params.suppression.threshold, "base": params.suppression.rounding_base})
    marker = Path(params.project_root).resolve() / ".cache" / "scans" / f"{key}.json"
    if use_cache and marker.is_file():
        summary = json.loads(marker.read_text(encoding="utf-8"))
    else:
        if params.data.kind == "published":
            needles = leaks.Needles.empty()
        else:
            from .inputs import load_record_data

            needles = leaks.needles_from_record_data(load_record_data(params))
        report = leaks.check_no_leaks(staging, needles, params.suppression.threshold, params.suppression.rounding_base)
        summary = {"scanned": len(report.scanned), "not_scanned": report.not_scanned, "needles": needles.describe()}
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    checks = staging / "qa" / "checks.csv"
    if checks.is_file():
        with checks.open("a", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerow([
                "Leak scan of every output file (identifiers of the inputs, small counts)", "passed",
                f"{summary['scanned']} files scanned, nothing found; not readable as text: "
                f"{len(summary['not_scanned'])} (images)"])


def build_report(staging: Path, params: Params, renderer: str = "auto", use_cache: bool = True,
                 result: RunResult | None = None) -> dict[str, Any]:
    """Build the Quarto project from the executed notebooks in ``staging`` (and the annexes made from the
    build's tables, parameters and checks) and render it there.

    The rendered project is cached under ``.cache/report/<key>``: an unchanged re-run copies it instead of
    rendering again.
    """
    from .report import build_project, render

    with tempfile.TemporaryDirectory(prefix="rap-annexes-") as annex_dir:
        notebooks = sorted((staging / "notebooks").glob("*.ipynb"))
        notebooks += _annex_notebooks(staging, params, result, Path(annex_dir), use_cache)
        report_dir = staging / "report"
        used = "quarto" if renderer == "quarto" or (renderer == "auto" and shutil.which("quarto")) else "pandoc"
        summary = summary_markdown(staging)
        cached = Path(params.project_root).resolve() / ".cache" / "report" / _report_key(notebooks, summary, params, used)
        if use_cache and (cached / ".complete").is_file():
            shutil.copytree(cached, report_dir, ignore=shutil.ignore_patterns(".complete"))
            return renderer_info(used)
        build_project(
            notebooks,
            report_dir,
            title=f"{REPORT_TITLE}, {params.year}",
            subtitle=f"Evidence on ethnicity data and breakdowns, collection years {params.series_years[0]} to {params.year}"
            + (" (synthetic data)" if params.data.kind == "synthetic" else ""),
            summary_md=summary,
            year=params.year,
        )
    render(report_dir, renderer=used)
    tmp = cached.with_name(cached.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(report_dir, tmp)
    (tmp / ".complete").write_text("ok\n")
    shutil.rmtree(cached, ignore_errors=True)
    tmp.rename(cached)
    return renderer_info(used)


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
    """Make sure the inputs exist, run the sections, build and render the report, swap it all in."""
    ensure_data(params)
    finalise = (lambda staging, result: publish(staging, params, renderer, use_cache, result)) if render_report else None
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
