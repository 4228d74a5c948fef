"""Render the report project built by :func:`rap.report.project.build_project`.

Two backends:

``quarto``
    ``quarto render <copy> --no-execute --to F`` for each format at once, each in its own copy of the
    project (a failure raises :class:`ReportRenderError` naming the format, the chapter Quarto was on and
    its error lines; its warnings come back as :class:`QuartoWarning`). Used by ``renderer="auto"``
    whenever ``quarto`` is on PATH. The HTML is Quarto's book site, one page per chapter, in
    ``<dir>/_book`` (entry page ``index.html``), with the pandoc route's accessibility fixes added to each
    page (scoped header cells, labelled scroll regions with a caption for every table, a skip link);
    DOCX and PDF are moved up to ``<dir>/<name>.docx|.pdf``.

``pandoc``
    pandoc (from ``pypandoc-binary``) reads the notebooks with ``-f ipynb
    --ipynb-output=all --file-scope`` (``index.qmd`` is turned into a one-cell
    notebook first, since one pandoc run reads one input format), the package's
    Lua filter ``filters/rap-ipynb.lua`` hides code and parameters and makes real,
    numbered, cross-referenced tables and figures, then pandoc writes:

    * ``<name>.html``: ``--standalone --embed-resources``, ``lang="en-GB"``, the
      accessible ``report.css``; header cells then get ``scope="col"``/``"row"``, the
      chapters go into a ``<main>`` landmark after the title block and contents, and a
      "Skip to main content" link comes first (WCAG 2.2 AA: checked with axe-core in
      Chromium by ``tests/test_accessibility.py``);
    * ``<name>.docx``;
    * ``<name>.pdf``: pandoc writes Typst source, ``typst.compile`` makes the PDF
      (tagged PDF, no LaTeX).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import yaml

from rap.core.errors import InputError, RapError
from rap.report import govuk

__all__ = ["render", "render_quarto", "render_pandoc", "ReportRenderError", "pandoc_path", "filter_path"]


class ReportRenderError(RapError):
    """A renderer failed; the message says where and carries the renderer's error lines (the CLI prints it
    as one message, never a traceback)."""


_EXT = {"html": "html", "docx": "docx", "typst": "pdf", "pdf": "pdf"}


def _pkg_file(*parts: str) -> Path:
    ref = resources.files("rap.report").joinpath(*parts)
    return Path(str(ref))


def filter_path() -> Path:
    return _pkg_file("filters", "rap-ipynb.lua")


def pandoc_path() -> str:
    exe = shutil.which("pandoc")
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except Exception:  # pragma: no cover - fall back to a system pandoc
        if exe:
            return exe
        raise ReportRenderError("pandoc not found: install pypandoc-binary") from None


def _load_config(report_dir: Path) -> dict:
    if not report_dir.is_dir():
        what = "is a file" if report_dir.exists() else "not found"
        raise InputError(report_dir, f"report folder {what}: give a build's report folder, e.g. outputs/2024/report")
    cfg = report_dir / "_quarto.yml"
    if not cfg.is_file():
        raise InputError(cfg, "not found: not a report folder made by `rap run` (build_project writes it)")
    return yaml.safe_load(cfg.read_text(encoding="utf-8"))


def render(report_dir: Path, renderer: str = "auto", workers: int | None = None) -> dict[str, Path]:
    """Render every format in ``_quarto.yml``; returns ``{"html"|"docx"|"pdf": path}``. ``workers`` caps
    the formats Quarto renders at once (default: the cores)."""
    report_dir = Path(report_dir)
    _load_config(report_dir)  # a missing folder is an InputError before any renderer starts
    if renderer not in ("auto", "quarto", "pandoc"):
        raise ValueError(f"renderer must be auto, quarto or pandoc, not {renderer!r}")
    if renderer == "quarto" or (renderer == "auto" and shutil.which("quarto")):
        return render_quarto(report_dir, workers)
    return render_pandoc(report_dir)


# --------------------------------------------------------------------------- quarto
#: Quarto warnings that say nothing about the report: the shared offline bundle has no typst-gather, so Quarto
#: stages every Typst package it has (the PDF is unaffected).
TOLERATED_QUARTO_WARNINGS = ("typst-gather analyze failed", "Run ./configure.sh to build and install it")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_CELL_ID_RE = re.compile(r"\b(\d\d_[A-Za-z0-9_]+)-cell-(\d+)\b")
_QUARTO_FILE_RE = re.compile(r"\[\s*\d+/\d+\]\s+(\S+)")


class QuartoWarning(UserWarning):
    """A warning Quarto printed while rendering the report (an unresolved cross-reference, say)."""


def quarto_warnings(stderr: str) -> list[str]:
    """Quarto's WARN/WARNING lines, without colour codes and the tolerated ones."""
    lines = [_ANSI_RE.sub("", line).strip() for line in stderr.splitlines()]
    found = [line for line in lines if line.startswith(("WARN", "WARNING"))]
    return [line for line in found if not any(t in line for t in TOLERATED_QUARTO_WARNINGS)]


def _quarto_failure(fmt: str, stderr: str) -> str:
    """Where Quarto stopped (the last chapter it named) and its error lines, not its whole log."""
    lines = [_ANSI_RE.sub("", line).rstrip() for line in stderr.splitlines()]
    chapters = [m.group(1) for line in lines if (m := _QUARTO_FILE_RE.search(line))]
    errors = [line for line in lines if line.lstrip().startswith(("ERROR", "error"))] or lines[-8:]
    where = f" in chapter {chapters[-1]}" if chapters else ""
    # the sanitised chapters' cell ids ("03_breakdowns-cell-12") show where Quarto quotes the failing source
    cells = [m for line in lines if (m := _CELL_ID_RE.search(line))]
    if cells:
        where = f" in chapter {cells[-1].group(1)}, cell {cells[-1].group(2)}"
    elif chapters:
        where += " (Quarto's message does not say which cell)"
    return f"quarto could not render the {fmt} report{where}:\n" + "\n".join(errors[:20])


def _quarto_one(exe: str, project: Path, fmt: str) -> tuple[str, Path, str]:
    """Render one format in its own copy of the project (Quarto cannot render one project twice at once)."""
    proc = subprocess.run(
        [exe, "render", str(project), "--no-execute", "--to", fmt], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ReportRenderError(_quarto_failure(fmt, proc.stderr))
    return fmt, project, proc.stderr


def render_quarto(report_dir: Path, workers: int | None = None) -> dict[str, Path]:
    """``quarto render --to F`` for each format at once (each in a copy of the project), then the HTML book's
    pages are given the pandoc route's accessibility fixes. Quarto's warnings are re-issued as
    :class:`QuartoWarning`."""
    report_dir = Path(report_dir)
    config = _load_config(report_dir)
    exe = shutil.which("quarto")
    if exe is None:
        raise ReportRenderError("quarto is not on PATH; use renderer='pandoc'")
    formats = list(config.get("format", {}))
    out_name = config.get("project", {}).get("output-dir", "_book")
    workers = max(1, min(len(formats), workers or os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="rap-quarto-") as tmp_s:
        copies = {f: Path(tmp_s) / f for f in formats}
        for copy in copies.values():
            shutil.copytree(report_dir, copy, ignore=shutil.ignore_patterns(out_name, ".quarto"))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(lambda f: _quarto_one(exe, copies[f], f), formats))
        for fmt, copy, stderr in done:
            for line in quarto_warnings(stderr):
                warnings.warn(QuartoWarning(f"quarto ({fmt}): {line}"), stacklevel=2)
            shutil.copytree(copy / out_name, report_dir / out_name, dirs_exist_ok=True)
    return _quarto_results(report_dir, config, formats)


def _quarto_results(report_dir: Path, config: dict, formats: list[str]) -> dict[str, Path]:
    """The rendered files: the HTML book's entry page (its pages polished), DOCX and PDF copied up."""
    name = config["book"].get("output-file", "report")
    out_dir = report_dir / config.get("project", {}).get("output-dir", "_book")
    css = report_dir / "report.css"
    gov = css.is_file() and govuk.styled(css.read_text(encoding="utf-8"))
    for page in sorted(out_dir.glob("*.html")):
        html = polish_quarto_page(page.read_text(encoding="utf-8"))
        page.write_text(govuk.with_govuk_classes(html) if gov else html, encoding="utf-8")
    results: dict[str, Path] = {}
    for fmt in formats:
        ext = _EXT[fmt]
        path = out_dir / ("index.html" if ext == "html" else f"{name}.{ext}")
        if not path.exists():
            raise ReportRenderError(f"quarto finished but {path} is missing")
        if ext != "html":
            path = Path(shutil.move(path, report_dir / path.name))
        results[ext] = path
    return results


_QUARTO_TABLE_RE = re.compile(
    r'<figcaption class="quarto-float-caption-top[^"]*quarto-float-tbl"[^>]*>(?P<cap>.*?)</figcaption>\s*'
    r'<div aria-describedby="(?P<id>[^"]+)">\s*<table(?P<attrs>[^>]*)>',
    re.S,
)


def _wrap_quarto_tables(html: str) -> str:
    """Give each of Quarto's captioned tables what the pandoc route gives it: a focusable, labelled scroll
    region (WCAG 1.4.10 reflow, 2.1.1 keyboard) and a ``<caption>`` (visually hidden: Quarto shows the
    caption as the float's figcaption above it) so the table itself is named."""

    def repl(m: re.Match) -> str:
        cap_html = m.group("cap").strip()
        label = html_lib.escape(html_lib.unescape(re.sub(r"<[^>]+>", "", cap_html)).replace("\xa0", " "), quote=True)
        return (
            m.group(0).split("<div aria-describedby", 1)[0]
            + f'<div class="table-wrap" role="region" tabindex="0" aria-label="{label}"'
            + f' aria-describedby="{m.group("id")}">\n<table{m.group("attrs")}>'
            + f'<caption class="visually-hidden">{cap_html}</caption>'
        )

    return _QUARTO_TABLE_RE.sub(repl, html)


def _add_quarto_skip_link(html: str) -> str:
    """A "Skip to main content" link first in the body (WCAG 2.4.1), to Quarto's ``<main>``."""
    body = re.search(r"<body[^>]*>", html)
    if body is None or 'class="skip-link"' in html or 'id="quarto-document-content"' not in html:
        return html
    link = '<a class="skip-link" href="#quarto-document-content">Skip to main content</a>'
    return html[: body.end()] + "\n" + link + html[body.end() :]


_TOC_TITLE_RE = re.compile(r'<h2 id="toc-title">(.*?)</h2>', re.S)


def polish_quarto_page(html: str) -> str:
    """The pandoc route's accessibility fixes, applied to one page of Quarto's HTML book. The margin
    contents' title stops being a heading: it comes before the page's ``<h1>`` in the document, so the
    headings would start at level 2 (the ``<nav>`` landmark still names it)."""
    html = _TOC_TITLE_RE.sub(r'<p id="toc-title">\1</p>', html)
    return _add_quarto_skip_link(_wrap_quarto_tables(_add_th_scope(html)))


# --------------------------------------------------------------------------- pandoc
def _index_notebook(report_dir: Path, dest: Path) -> None:
    """index.qmd -> one-markdown-cell notebook, so pandoc can read it with the chapters."""
    text = (report_dir / "index.qmd").read_text(encoding="utf-8")
    front: dict = {}
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if m:
        front = yaml.safe_load(m.group(1)) or {}
        text = text[m.end() :]
    # unnumbered, as a Quarto book's index page: the chapters after it are numbered from 1
    heading = f"# {front['title']} {{.unnumbered}}\n\n" if front.get("title") else ""
    nb = {
        "cells": [{"cell_type": "markdown", "id": "index", "metadata": {}, "source": heading + text}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    dest.write_text(json.dumps(nb), encoding="utf-8")


def _source_date_epoch() -> str:
    """The time written into DOCX and PDF metadata: SOURCE_DATE_EPOCH if set, else 0 (1 January 1970), so
    that the same inputs render byte-identical files (the build time is in the manifest)."""
    return os.environ.get("SOURCE_DATE_EPOCH", "0")


def _run_pandoc(args: list[str], cwd: Path) -> None:
    cmd = [pandoc_path(), *args]
    env = {**os.environ, "SOURCE_DATE_EPOCH": _source_date_epoch()}  # pandoc stamps DOCX with it
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise ReportRenderError(f"pandoc failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    # the filter reports unresolved references and missing outputs on stderr
    for line in proc.stderr.splitlines():
        if line.startswith("[rap-ipynb]"):
            warnings.warn(line, stacklevel=3)


# Markdown cells (e.g. the annex chapters) read as the pandoc Markdown that Quarto reads them as, the same
# Markdown the filter parses display outputs with: ": caption {#tbl-x}" under a table, "{#id}" on headings,
# "![cap](src){#fig-x fig-alt=...}" figures. pandoc's ipynb reader enables none of these by default.
IPYNB_READER = "ipynb" + "".join(
    f"+{ext}"
    for ext in (
        "table_captions",
        "table_attributes",
        "header_attributes",
        "link_attributes",
        "implicit_figures",
        "fenced_divs",
        "bracketed_spans",
        "smart",
    )
)

_TH_RE = re.compile(r"<th(?=[\s>])(?![^>]*\bscope=)")


def _add_th_scope(html: str) -> str:
    """pandoc writes <th> without scope: add scope=col in <thead>, scope=row in <tbody>."""

    def fix(section: str, scope: str):
        def repl(m: re.Match) -> str:
            return _TH_RE.sub(f'<th scope="{scope}"', m.group(0))

        return repl

    html = re.sub(r"<thead>.*?</thead>", fix("thead", "col"), html, flags=re.S)
    html = re.sub(r"<tbody>.*?</tbody>", fix("tbody", "row"), html, flags=re.S)
    return html


MAIN_ID = "main-content"
_SKIP_LINK = f'<a class="skip-link" href="#{MAIN_ID}">Skip to main content</a>'


def _add_landmarks(html: str) -> str:
    """pandoc's HTML template has a ``<header>`` (title block) and a ``<nav>`` (contents) but leaves the
    chapters outside any landmark: put them in ``<main>``, and put a skip link first so keyboard users can
    pass the contents (WCAG 2.4.1)."""
    body = re.search(r"<body[^>]*>", html)
    end = html.rfind("</body>")
    if body is None or end < 0 or "<main" in html:
        return html
    start = body.end()
    for pattern in (r'<nav id="TOC"[^>]*>.*?</nav>', r'<header id="title-block-header"[^>]*>.*?</header>'):
        m = re.compile(pattern, re.S).search(html, start, end)
        if m:
            start = m.end()
            break
    return (
        html[: body.end()]
        + "\n"
        + _SKIP_LINK
        + html[body.end() : start]
        + f'\n<main id="{MAIN_ID}">'
        + html[start:end]
        + "</main>\n"
        + html[end:]
    )


def render_pandoc(report_dir: Path) -> dict[str, Path]:
    """Render every format of ``_quarto.yml`` with pandoc (and Typst for the PDF); see the module docstring."""
    report_dir = Path(report_dir).resolve()
    config = _load_config(report_dir)
    book = config["book"]
    name = book.get("output-file", "report")
    writers = {"html": _write_html, "docx": _write_docx, "typst": _write_pdf, "pdf": _write_pdf}
    results: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="rap-render-") as tmp_s:
        tmp = Path(tmp_s)
        common = _common_args(report_dir, tmp, config)
        for fmt in config.get("format", {}):
            if fmt not in writers:
                raise ReportRenderError(f"the pandoc backend cannot write format {fmt!r}")
            path = writers[fmt](report_dir, tmp, name, common)
            results[_EXT[fmt]] = path
    return results


def _common_args(report_dir: Path, tmp: Path, config: dict) -> list[str]:
    """The pandoc arguments every format shares: the reader, the filter, the metadata and the inputs (the
    index as a notebook in ``tmp``, then the chapters)."""
    book = config["book"]
    chapters = [c for c in book["chapters"] if isinstance(c, str) and c != "index.qmd"]
    _index_notebook(report_dir, tmp / "index.ipynb")
    meta = {
        "title": book.get("title", "Report"),
        "subtitle": book.get("subtitle"),
        "date": str(book.get("date", "")),
        "lang": config.get("lang", "en-GB"),
        "toc-title": "Contents",
        "pagetitle": book.get("title", "Report"),
    }
    (tmp / "meta.yaml").write_text(
        yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True), encoding="utf-8"
    )
    inputs = [str(tmp / "index.ipynb"), *[str(report_dir / c) for c in chapters]]
    return [
        "-f",
        IPYNB_READER,
        "--ipynb-output=all",
        "--file-scope",
        "--lua-filter",
        str(filter_path()),
        "--metadata-file",
        str(tmp / "meta.yaml"),
        "--resource-path",
        f"{report_dir}{os.pathsep}{tmp}",
        "--toc",
        "--toc-depth=2",
        *inputs,
    ]


def _write_html(report_dir: Path, tmp: Path, name: str, common: list[str]) -> Path:
    """``<name>.html``: standalone, the accessible stylesheet, header scopes and landmarks added."""
    out = report_dir / f"{name}.html"
    css = report_dir / "report.css"
    if not css.exists():
        css = _pkg_file("templates", "report.css")
    _run_pandoc(
        ["-t", "html5", "--standalone", "--embed-resources", "--css", str(css), "-o", str(out), *common], cwd=tmp
    )
    html = _add_landmarks(_add_th_scope(out.read_text(encoding="utf-8")))
    if govuk.styled(css.read_text(encoding="utf-8")):
        html = govuk.with_govuk_classes(html)
    out.write_text(html, encoding="utf-8")
    return out


def _write_docx(report_dir: Path, tmp: Path, name: str, common: list[str]) -> Path:
    """``<name>.docx``, with the package's reference document when there is one."""
    out = report_dir / f"{name}.docx"
    args = ["-t", "docx", "-o", str(out)]
    ref = _pkg_file("templates", "reference.docx")
    if ref.exists():
        args += ["--reference-doc", str(ref)]
    _run_pandoc([*args, *common], cwd=tmp)
    return out


def _write_pdf(report_dir: Path, tmp: Path, name: str, common: list[str]) -> Path:
    """``<name>.pdf``: pandoc writes Typst source with the package's templates, Typst compiles it."""
    out = report_dir / f"{name}.pdf"
    typ = tmp / f"{name}.typ"
    _run_pandoc(
        [
            "-t",
            "typst",
            "--standalone",
            "--extract-media=media",
            "-H",
            str(_pkg_file("templates", "typst-header.typ")),
            "-B",
            str(_pkg_file("templates", "typst-body.typ")),
            "-V",
            "papersize=a4",
            "-V",
            "mainfont=DejaVu Sans",
            "-o",
            str(typ),
            *common,
        ],
        cwd=tmp,
    )
    _compile_typst(typ, out)
    return out


def _compile_typst(typ: Path, out: Path) -> None:
    import typst

    try:
        typst.compile(str(typ), output=str(out), root=str(typ.parent), timestamp=int(_source_date_epoch()))
    except Exception as err:  # typst raises its own error type with the diagnostics
        shutil.copy2(typ, out.with_suffix(".typ"))
        raise ReportRenderError(
            f"typst failed on {typ.name} (source kept at {out.with_suffix('.typ')}):\n{err}"
        ) from err
