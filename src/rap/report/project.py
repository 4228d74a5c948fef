"""Build the Quarto book project for one year's report from executed notebooks.

``build_project`` writes, into ``report_dir``:

* ``_quarto.yml``: a book project (checked against Quarto's schema before it is
  written: a config Quarto would reject raises ``ValueError``);
* ``index.qmd``: title page with the summary of main findings and the contents;
* one sanitised copy of each executed notebook (the chapters): cells tagged
  ``parameters`` / ``injected-parameters`` removed, papermill's metadata (which
  holds parameter values and absolute paths) removed, and cell options
  ``label`` / ``tbl-cap`` / ``fig-cap`` / ``fig-alt`` removed from cells whose
  output already declares the same label (see :mod:`rap.present.display`), so that
  Quarto does not see a float twice;
* ``report.css``: the accessible stylesheet used by both renderers.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import yaml

from rap.report.explorer import explorer_name
from rap.report.schema import validate_front_matter, validate_quarto_yaml

__all__ = ["build_project", "sanitise_notebook", "quarto_config", "DROP_TAGS", "CSS_NAME"]

DROP_TAGS = frozenset({"parameters", "injected-parameters", "remove-cell"})
CSS_NAME = "report.css"
#: Who the report is by, on its title page (Quarto's book templates need one).
AUTHOR = "Ethnicity of looked-after children: reproducible analytical pipeline"
#: Typst settings (fonts, table rules, no justified text), copied into the project beside the CSS.
TYPST_HEADER, TYPST_BODY = "typst-header.typ", "typst-body.typ"
_FORMAT_KEYS = {"html": "html", "docx": "docx", "pdf": "typst", "typst": "typst"}
_OPTION_RE = re.compile(r"^\s*#\|\s*([A-Za-z0-9_-]+)\s*:(.*)$")
_FLOAT_OPTIONS = {"label", "tbl-cap", "fig-cap", "fig-alt", "tbl-alt"}


def output_name(title: str, year: int) -> str:
    """File stem of the rendered report, e.g. ``cla-ethnicity-2024``."""
    return f"cla-ethnicity-{year}"


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _declared_ids(cell: dict) -> set[str]:
    ids: set[str] = set()
    for out in cell.get("outputs", []):
        md = out.get("data", {}).get("text/markdown")
        if md is None:
            continue
        md = "".join(md) if isinstance(md, list) else md
        ids.update(re.findall(r"\{#((?:tbl|fig)-[A-Za-z0-9_-]+)", md))
    return ids


def _cell_label(src: str) -> str | None:
    for line in src.splitlines():
        m = _OPTION_RE.match(line)
        if not m:
            break
        if m.group(1) == "label":
            return m.group(2).strip().strip("'\"")
    return None


def _lines(text: str) -> list[str]:
    """nbformat's list form of a source or output text. Quarto 1.11 drops the newlines of a markdown cell
    whose ``source`` is one string (valid nbformat), which runs headings and paragraphs together."""
    return text.splitlines(keepends=True)


def _asis_source(src: str) -> str:
    """A code cell's source with its float options removed and ``output: asis`` set: its outputs already
    declare the table or figure, and Quarto must not see the float twice."""
    lines = src.splitlines()
    head, rest = [], []
    for i, line in enumerate(lines):
        m = _OPTION_RE.match(line)
        if not m:
            rest = lines[i:]
            break
        if m.group(1) not in _FLOAT_OPTIONS and m.group(1) != "output":
            head.append(line)
    head.append("#| output: asis")
    return "\n".join(head + rest)


def _separate_markdown_outputs(cell: dict) -> None:
    """End every Markdown output with a blank line. Quarto joins the outputs of an ``output: asis`` cell
    with a single newline, so a table caption ``: ... {#tbl-x}`` after another output would be read as
    text of the paragraph before it and ``@tbl-x`` would not resolve; pandoc is unaffected."""
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        md = data.get("text/markdown")
        if md is None:
            continue
        text = "".join(md) if isinstance(md, list) else md
        data["text/markdown"] = _lines(text.rstrip("\n") + "\n\n")


def sanitise_notebook(nb: dict, name: str = "chapter") -> dict:
    """Return a copy of an executed notebook fit to be a report chapter (for either renderer); ``name``
    (the chapter's file stem) makes its cell ids unique in the book."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        if set(meta.get("tags", [])) & DROP_TAGS:
            continue
        meta.pop("papermill", None)
        meta.pop("execution", None)
        src = _cell_source(cell)
        if cell.get("cell_type") == "code":
            label = _cell_label(src)
            if label and label in _declared_ids(cell):
                src = _asis_source(src)
            _separate_markdown_outputs(cell)
        cell["source"] = _lines(src)
        # Quarto writes cell ids into the HTML (<div id=...>): random ids can hold digits that are a child's
        # id (the leak scan stops the build), so each chapter's cells are numbered instead
        cell["id"] = f"{name}-cell-{len(cells) + 1}"
        cells.append(cell)
    nb["cells"] = cells
    nb.setdefault("metadata", {}).pop("papermill", None)
    return nb


def _chapter_title(nb: dict, fallback: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _cell_source(cell).splitlines():
                m = re.match(r"^#\s+(.+?)\s*(\{.*\})?\s*$", line)
                if m:
                    return m.group(1)
    return fallback


def quarto_config(
    *,
    title: str,
    subtitle: str,
    year: int,
    chapters: Sequence[str],
    formats: Iterable[str],
    name: str,
    author: str = AUTHOR,
) -> dict:
    """The ``_quarto.yml`` mapping for the report book."""
    fmt: dict[str, dict] = {}
    for f in formats:
        key = _FORMAT_KEYS.get(f)
        if key is None:
            raise ValueError(f"unsupported format {f!r}; use html, docx, pdf or typst")
        if key == "html":
            # A book's HTML is a site, one page per chapter, with its libraries in _book/site_libs. Not
            # embed-resources: on a book each page would embed its neighbours through <link rel="prev">
            # (about 150 MB for nine pages). Figures are data URIs in the outputs, so pages stand alone.
            fmt["html"] = {
                "toc": True,
                "css": [CSS_NAME],
                "lang": "en-GB",
                "code-tools": False,
                "fig-responsive": True,
            }
        elif key == "docx":
            fmt["docx"] = {"toc": True, "lang": "en-GB"}
        else:
            fmt["typst"] = {
                "toc": True,
                "lang": "en-GB",
                "papersize": "a4",
                "include-in-header": [TYPST_HEADER],
                "include-before-body": [TYPST_BODY],
            }
    return {
        "project": {"type": "book", "output-dir": "_book"},
        "book": {
            "title": title,
            # the reporting year goes in the subtitle, not in `date`: Quarto reads any `date` as a date
            # ("Reporting year 2024 ..." became 1 January 2024) and the leak scan rightly refuses it
            "subtitle": f"{subtitle}. Reporting year {year} (collection year {year - 1} to {str(year)[2:]})",
            # Quarto's Typst book template (orange-book) fails with "expected content, found array" without one
            "author": author,
            "output-file": name,
            "chapters": ["index.qmd", *chapters],
        },
        "lang": "en-GB",
        "toc": True,
        # Headings unnumbered; tables and figures numbered within their chapter ("Table 2.3"), as both routes
        # do: a Quarto book restarts its counters at every chapter, so it cannot number through the report.
        "number-sections": False,
        "crossref": {"chapters": True},
        "execute": {"enabled": False, "echo": False, "warning": False, "error": False},
        "format": fmt,
    }


def _index_qmd(
    title: str, summary_md: str, chapter_titles: Sequence[str], explorer: str | None = None
) -> tuple[dict, str]:
    # a heading, not a front-matter title, so it can be unnumbered: Quarto then numbers the chapters from 1
    front: dict = {}
    body = [
        "# Summary of main findings {.unnumbered}",
        "",
        summary_md.strip(),
        "",
        "## About this report",
        "",
        "The report has these chapters:",
        "",
    ]
    body += [f"{i}. {t}" for i, t in enumerate(chapter_titles, start=1)]
    if explorer:
        body += [
            "",
            f"The [local authority explorer]({explorer}) (`{explorer}`, beside this report) shows each local "
            "authority's dashboard indicators by ethnic group beside its region, its statistical neighbours and "
            "England, over the years available, with a table and a CSV file for each chart.",
        ]
    return front, "\n".join(body) + "\n"


def _css_text() -> str:
    return resources.files("rap.report").joinpath("templates", CSS_NAME).read_text(encoding="utf-8")


def build_project(
    executed_notebooks: list[Path],
    report_dir: Path,
    *,
    title: str,
    subtitle: str,
    summary_md: str,
    year: int,
    formats: Sequence[str] = ("html", "docx", "pdf"),
    extra_css: str | None = None,
) -> Path:
    """Write the Quarto book project into ``report_dir``; returns the ``_quarto.yml`` path. ``extra_css``
    (GOV.UK Frontend's, :mod:`rap.report.govuk`) comes first in the stylesheet, the package's after it."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    if not executed_notebooks:
        raise ValueError("no executed notebooks to build the report from")

    chapters: list[str] = []
    titles: list[str] = []
    for src in executed_notebooks:
        src = Path(src)
        nb = json.loads(src.read_text(encoding="utf-8"))
        clean = sanitise_notebook(nb, src.stem)
        dest = report_dir / src.name
        if dest.resolve() == src.resolve():
            raise ValueError(f"{src} is already inside the report folder; pass the staging copy")
        dest.write_text(json.dumps(clean, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        chapters.append(src.name)
        titles.append(_chapter_title(clean, src.stem))
    if "index.qmd" in chapters:
        raise ValueError("a chapter may not be called index.qmd")

    name = output_name(title, year)
    config = quarto_config(title=title, subtitle=subtitle, year=year, chapters=chapters, formats=formats, name=name)
    errors = validate_quarto_yaml(config)
    if errors:
        raise ValueError("generated _quarto.yml does not match Quarto's schema:\n" + "\n".join(errors))

    front, body = _index_qmd(title, summary_md, titles, explorer_name(output_name(title, year)))
    ferrors = validate_front_matter(front)
    if ferrors:
        raise ValueError("index.qmd front matter does not match Quarto's schema:\n" + "\n".join(ferrors))

    header = "# Generated by rap.report.project.build_project: do not edit by hand.\n"
    cfg_path = report_dir / "_quarto.yml"
    cfg_path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    matter = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" if front else ""
    (report_dir / "index.qmd").write_text(matter + body, encoding="utf-8")
    (report_dir / CSS_NAME).write_text((extra_css or "") + _css_text(), encoding="utf-8")
    if "typst" in config["format"]:
        for name in (TYPST_HEADER, TYPST_BODY):
            text = resources.files("rap.report").joinpath("templates", name).read_text(encoding="utf-8")
            (report_dir / name).write_text(text, encoding="utf-8")
    return cfg_path
