"""The Quarto route renders the same report as the pandoc + Typst route.

The small synthetic project that ``small_run`` built (pandoc route, conftest.py) is run again with
``--renderer quarto`` into another outputs folder (the sections come from the cache; only the report is made
again), with the real Quarto CLI: on PATH, or installed into ``.cache/quarto`` by ``make quarto-tools`` from
the offline bundle beside the clone. Without Quarto these tests skip and say why.

Checked: Quarto prints no warning (an unresolved ``@tbl-`` reference is one); both routes' HTML have the same
headings, captions (numbers included) and table cells; DOCX and PDF have as many table and figure captions
as the pandoc route's and no unresolved reference; no HTML page is over 20 MB; the annex chapters keep
their headings; each Quarto page passes the accessibility checks of tests/test_accessibility.py; the
manifest names the renderer and its version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / ".cache" / "quarto" / "bin" / "quarto"
NAME = "cla-ethnicity-2024"
CAPTION_RE = re.compile(r"\b(Table|Figure)\s(\d+\.\d+):")


def _quarto() -> str | None:
    return shutil.which("quarto") or (str(BUNDLED) if BUNDLED.is_file() else None)


class _Structure(HTMLParser):
    """Headings, captions and table cells inside ``<main>``, as text with whitespace collapsed."""

    def __init__(self, book_title: str) -> None:
        super().__init__(convert_charrefs=True)
        self.book_title = book_title
        self.heads: list[tuple[str, str]] = []
        self.caps: list[str] = []
        self.tables: list[list[str]] = []
        self._main = 0
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self._main += 1
        if not self._main:
            return
        if tag == "table":
            self.tables.append([])
        hidden = "visually-hidden" in (a.get("class") or "")
        if tag in ("h1", "h2", "h3", "caption", "figcaption", "td", "th") and not hidden:
            self._open.append((tag, []))

    def handle_endtag(self, tag):
        if tag == "main":
            self._main -= 1
        if not self._open or self._open[-1][0] != tag:
            return
        _, parts = self._open.pop()
        text = re.sub(r"\s+", " ", "".join(parts).replace("\xa0", " ")).strip()
        if tag in ("h1", "h2", "h3") and text != self.book_title:
            self.heads.append((tag, text))
        elif tag in ("caption", "figcaption"):
            self.caps.append(text)
        elif tag in ("td", "th") and self.tables:
            self.tables[-1].append(text)

    def handle_data(self, data):
        for _, parts in self._open:
            parts.append(data)


def html_structure(pages: list[Path], book_title: str) -> dict[str, list]:
    """What a reader sees of the report's structure and numbers, over its HTML pages in order."""
    heads, caps, tables = [], [], []
    for page in pages:
        parser = _Structure(book_title)
        parser.feed(page.read_text(encoding="utf-8"))
        heads += parser.heads
        caps += parser.caps
        tables += parser.tables
    return {"headings": heads, "captions": caps, "tables": tables}


def _book_pages(report: Path) -> list[Path]:
    """The book's HTML pages in chapter order (``index.qmd`` -> ``index.html``)."""
    import yaml

    chapters = yaml.safe_load((report / "_quarto.yml").read_text())["book"]["chapters"]
    return [report / "_book" / f"{Path(c).stem}.html" for c in chapters]


def _book_title(report: Path) -> str:
    import yaml

    return yaml.safe_load((report / "_quarto.yml").read_text())["book"]["title"]


@pytest.fixture(scope="module")
def quarto_run(small_project, small_run, tmp_path_factory) -> dict:
    """``rap run --renderer quarto`` on the small project; its outputs folder and the warnings it raised."""
    exe = _quarto()
    if exe is None:
        pytest.skip("Quarto not found on PATH or in .cache/quarto: run `make quarto-tools` (needs the bundle)")
    from rap.cli import main

    out = tmp_path_factory.mktemp("quarto-outputs")
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mp.setenv("PATH", f"{Path(exe).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        code = main(["run", "--params", str(small_project / "params" / "2024.yaml"), "--out", str(out)])
    assert code == 0, "rap run --renderer auto with Quarto on PATH failed"
    return {"outputs": out / "2024", "pandoc": small_run, "warnings": [str(w.message) for w in caught]}


def test_quarto_prints_no_warning(quarto_run):
    from rap.report.render import QuartoWarning  # noqa: F401  (the class the warnings come as)

    quarto = [w for w in quarto_run["warnings"] if w.startswith("quarto")]
    assert not quarto, "\n".join(quarto)


def test_manifest_names_the_renderer_and_its_version(quarto_run):
    manifest = json.loads((quarto_run["outputs"] / "manifest.json").read_text())
    assert manifest["renderer"]["name"] == "quarto"
    assert re.match(r"\d+\.\d+", manifest["renderer"]["version"]), manifest["renderer"]
    pandoc = json.loads((quarto_run["pandoc"] / "manifest.json").read_text())
    assert pandoc["renderer"]["name"] == "pandoc+typst"


def test_both_routes_have_the_same_headings_captions_and_table_cells(quarto_run):
    q_report, p_report = quarto_run["outputs"] / "report", quarto_run["pandoc"] / "report"
    title = _book_title(q_report)
    quarto = html_structure(_book_pages(q_report), title)
    pandoc = html_structure([p_report / f"{NAME}.html"], title)
    assert quarto["headings"] and quarto["captions"] and quarto["tables"]
    for key in ("headings", "captions"):
        assert quarto[key] == pandoc[key], f"{key} differ: " + str(
            next((q, p) for q, p in zip(quarto[key], pandoc[key]) if q != p) if quarto[key] != pandoc[key] else ""
        )
    assert len(quarto["tables"]) == len(pandoc["tables"])
    for i, (q, p) in enumerate(zip(quarto["tables"], pandoc["tables"]), start=1):
        assert q == p, f"table {i} ({pandoc['captions'][0] if not p else p[:2]}) differs between the routes"


def test_captions_are_numbered_by_chapter_and_every_reference_resolves(quarto_run):
    pages = _book_pages(quarto_run["outputs"] / "report")
    text = " ".join(p.read_text(encoding="utf-8") for p in pages)
    assert "?@tbl-" not in text and "?@fig-" not in text
    numbers = [m.group(2) for m in CAPTION_RE.finditer(text)]
    assert "1.1" in numbers and all(n.split(".")[0] != "0" for n in numbers)


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    return re.sub(r"<[^>]+>", "", re.sub(r"</w:p>", "\n", xml))


def _pdf_text(path: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils): PDF text not checked")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _captions(text: str) -> list[str]:
    return sorted({f"{m.group(1)} {m.group(2)}" for m in CAPTION_RE.finditer(text)})


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_docx_and_pdf_have_every_caption_and_no_broken_reference(quarto_run, fmt):
    read = _docx_text if fmt == "docx" else _pdf_text
    quarto = read(quarto_run["outputs"] / "report" / f"{NAME}.{fmt}")
    pandoc = read(quarto_run["pandoc"] / "report" / f"{NAME}.{fmt}")
    assert "?@" not in quarto and "??" not in quarto
    assert _captions(quarto) == _captions(pandoc)
    assert len(_captions(quarto)) > 20


def test_no_html_page_is_over_20_mb(quarto_run):
    book = quarto_run["outputs"] / "report" / "_book"
    sizes = {p.name: p.stat().st_size for p in book.glob("*.html")}
    assert len(sizes) >= 9
    assert max(sizes.values()) < 20 * 1024 * 1024, sizes


def test_annex_chapters_keep_their_headings(quarto_run):
    report = quarto_run["outputs"] / "report"
    title = _book_title(report)
    for stem in ("90_changes_since_last_year", "91_methods_annex", "92_qa_annex"):
        heads = html_structure([report / "_book" / f"{stem}.html"], title)["headings"]
        pandoc_nb = json.loads((quarto_run["pandoc"] / "report" / f"{stem}.ipynb").read_text())
        source = "".join("".join(c["source"]) for c in pandoc_nb["cells"] if c["cell_type"] == "markdown")
        expected = len(re.findall(r"^#{1,3} ", source, flags=re.M))
        assert len(heads) == expected, (stem, heads)
        assert all(len(text) < 200 for _, text in heads), f"{stem}: a heading ran into the text after it"


def test_every_quarto_page_passes_the_accessibility_checks(quarto_run, tmp_path):
    from test_accessibility import NODE_MODULES, SCRIPT, _tools, page_problems

    tools = _tools()
    if isinstance(tools, str):
        pytest.skip(f"accessibility check skipped: {tools}")
    chromium, node = tools
    problems = []
    for page in _book_pages(quarto_run["outputs"] / "report"):
        proc = subprocess.run(
            [node, str(SCRIPT), "--html", str(page), "--out", str(tmp_path), "--modules", str(NODE_MODULES)]
            + ["--chromium", chromium],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode == 3:
            pytest.skip(f"accessibility check skipped: {proc.stderr.strip().splitlines()[-1]}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        problems += [f"{page.name}: {p}" for p in page_problems(json.loads(proc.stdout))]
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- without Quarto


def test_sanitised_markdown_outputs_stand_apart_and_sources_keep_their_newlines():
    """Quarto joins an asis cell's outputs with one newline (a caption after a table would be lost) and drops
    the newlines of a one-string source: the sanitised chapter gives it neither chance."""
    from rap.report.project import sanitise_notebook

    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Annex\n\n## Part\n\nText."},
            {
                "cell_type": "code",
                "metadata": {},
                "source": "#| label: tbl-x\nshow()",
                "outputs": [
                    {"output_type": "display_data", "data": {"text/markdown": "| a |\n|---|\n| 1 |"}},
                    {"output_type": "display_data", "data": {"text/markdown": ": Caption {#tbl-x}"}},
                ],
            },
        ]
    }
    clean = sanitise_notebook(nb)
    md, code = clean["cells"]
    assert md["source"] == ["# Annex\n", "\n", "## Part\n", "\n", "Text."]
    outs = ["".join(o["data"]["text/markdown"]) for o in code["outputs"]]
    assert all(o.endswith("\n\n") for o in outs)
    assert "".join(code["source"]).startswith("#| output: asis")
    assert [c["id"] for c in clean["cells"]] == ["chapter-cell-1", "chapter-cell-2"]  # Quarto writes them into the HTML


def test_quarto_pages_get_the_pandoc_routes_accessibility_fixes():
    from rap.report.render import polish_quarto_page

    page = (
        '<body><nav id="TOC"><h2 id="toc-title">On this page</h2></nav><main id="quarto-document-content">'
        '<figcaption class="quarto-float-caption-top quarto-float-caption quarto-float-tbl" id="tbl-a-cap">'
        "Table&nbsp;2.1: Children &amp; carers</figcaption>\n"
        '<div aria-describedby="tbl-a-cap">\n<table class="table"><thead><tr><th>A</th></tr></thead>'
        "<tbody><tr><th>x</th></tr></tbody></table></div></main></body>"
    )
    out = polish_quarto_page(page)
    assert '<a class="skip-link" href="#quarto-document-content">' in out
    assert '<p id="toc-title">On this page</p>' in out and "<h2" not in out
    assert 'role="region" tabindex="0" aria-label="Table 2.1: Children &amp; carers"' in out
    assert '<caption class="visually-hidden">Table&nbsp;2.1: Children &amp; carers</caption>' in out
    assert '<th scope="col">A' in out and '<th scope="row">x' in out
    assert polish_quarto_page(out).count("skip-link") == out.count("skip-link")  # idempotent skip link


def test_quarto_warnings_are_kept_except_the_bundles_own():
    from rap.report.render import quarto_warnings

    stderr = (
        "\x1b[33mWARNING (refs.lua:128) Unable to resolve crossref @tbl-la-pattern\x1b[39m\n"
        "[33mWARN: typst-gather analyze failed; staging all packages as fallback\n"
        "Run ./configure.sh to build and install it.\nOutput created: _book/index.html\n"
    )
    assert quarto_warnings(stderr) == ["WARNING (refs.lua:128) Unable to resolve crossref @tbl-la-pattern"]


def test_a_quarto_failure_names_the_format_and_chapter_not_the_whole_log():
    from rap.report.render import _quarto_failure

    stderr = "\n".join(
        ["[1/9] index.qmd", "[4/9] 03_breakdowns.ipynb", *[f"noise {i}" for i in range(200)], "ERROR: bad thing"]
    )
    msg = _quarto_failure("typst", stderr)
    assert "typst" in msg and "chapter 03_breakdowns.ipynb" in msg and "ERROR: bad thing" in msg
    assert "noise 5" not in msg
    with_cell = _quarto_failure("html", stderr + '\n  <div id="03_breakdowns-cell-12"> unclosed')
    assert "chapter 03_breakdowns, cell 12" in with_cell


def test_quarto_vendored_libraries_are_searched_for_identifiers_not_dates(tmp_path):
    from rap.build.leaks.files import VENDORED, read_contents

    lib = tmp_path / "anchor.min.js"
    lib.write_text("// AnchorJS - v5.0.0 - 2023-01-18\n", encoding="utf-8")
    vendored = read_contents(lib, VENDORED + "quarto-html/anchor.min.js")
    page = read_contents(lib, "report/_book/index.js")
    assert not vendored.segments and vendored.id_only
    assert page.segments
