"""One entry point for a whole build: inputs, sections, report, manifest; swapped in only on success."""

from __future__ import annotations

import shutil
import subprocess
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


def build_report(staging: Path, params: Params, renderer: str = "auto", use_cache: bool = True) -> dict[str, Any]:
    """Build the Quarto project from the executed notebooks in ``staging`` and render it there.

    The rendered project is cached under ``.cache/report/<key>``: an unchanged re-run copies it instead of
    rendering again.
    """
    from .report import build_project, render

    notebooks = sorted((staging / "notebooks").glob("*.ipynb"))
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
    finalise = (lambda staging, _result: build_report(staging, params, renderer, use_cache)) if render_report else None
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
