"""One entry point for a whole build: inputs, sections, report, manifest; swapped in only on success."""

from __future__ import annotations

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
            if s.state in {"done", "cached"}:
                how = "re-used from the cache (same notebook, parameters, inputs and code)" if s.cache_hit else f"executed in {s.seconds:.0f} s"
                checks.append(Check(f"Section {s.name} ran without error", "passed", how))
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


def _annex_notebooks(staging: Path, params: Params, result: RunResult | None, folder: Path) -> list[Path]:
    """The reviewer aids as one-cell notebooks: changes since last year, methods annex, QA annex."""
    from .annexes import changes_markdown, markdown_notebook, methods_markdown, qa_markdown, write_checks_csv

    previous = params.out_path.parent / str(params.year - 1) / "tables"
    checks = build_checks(staging, params, result)
    write_checks_csv(checks, staging / "qa" / "checks.csv")
    return [
        markdown_notebook(changes_markdown(staging / "tables", previous if previous.is_dir() else None, params.year),
                          folder / "90_changes_since_last_year.ipynb"),
        markdown_notebook(methods_markdown(params, result.inputs if result else {}), folder / "91_methods_annex.ipynb"),
        markdown_notebook(qa_markdown(checks), folder / "92_qa_annex.ipynb"),
    ]


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
        notebooks += _annex_notebooks(staging, params, result, Path(annex_dir))
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
    finalise = (lambda staging, result: build_report(staging, params, renderer, use_cache, result)) if render_report else None
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
