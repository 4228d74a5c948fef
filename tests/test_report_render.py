"""End to end: tiny executed notebook -> Quarto book project -> pandoc + Typst outputs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "report"))
from make_notebooks import (  # noqa: E402
    FIGURE_ALT,
    FIGURE_CAPTION,
    PARAM_NAMES,
    SECRET,
    TABLE_CAPTION,
    make_executed_notebook,
)

from rap.report import build_project, render, validate_quarto_yaml  # noqa: E402
from rap.report.render import ReportRenderError  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    nb = make_executed_notebook(root / "staging" / "01_demo.ipynb")
    report_dir = root / "outputs" / "2024" / "report"
    cfg = build_project(
        [nb],
        report_dir,
        title="Children looked after in England: ethnicity",
        subtitle="Reporting year 2024",
        summary_md="- Most children looked after were White, as @tbl-demo shows.",
        year=2024,
    )
    outputs = render(report_dir, renderer="pandoc")
    return report_dir, cfg, outputs


def _html(outputs) -> str:
    return outputs["html"].read_text(encoding="utf-8")


def test_project_files(built):
    report_dir, cfg, _ = built
    config = yaml.safe_load(cfg.read_text())
    assert validate_quarto_yaml(config) == []
    assert config["book"]["chapters"] == ["index.qmd", "01_demo.ipynb"]
    index = (report_dir / "index.qmd").read_text()
    assert "Most children looked after were White" in index and "## About this report" in index
    chapter = json.loads((report_dir / "01_demo.ipynb").read_text())
    tags = [t for c in chapter["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "parameters" not in tags and "injected-parameters" not in tags
    assert "papermill" not in chapter["metadata"]
    # the table cell's label moved into its output only (Quarto must not see it twice)
    sources = ["".join(c["source"]) for c in chapter["cells"] if c["cell_type"] == "code"]
    assert not any("#| label: tbl-demo" in s for s in sources)
    assert any("#| output: asis" in s for s in sources)
    # Quarto's Typst output gets the same settings as the pandoc route: files beside _quarto.yml
    typst = config["format"]["typst"]
    for name in (*typst["include-in-header"], *typst["include-before-body"]):
        assert (report_dir / name).is_file()
    assert "#set par(justify: false)" in (report_dir / typst["include-before-body"][0]).read_text()


def test_outputs_exist(built):
    report_dir, _, outputs = built
    assert set(outputs) == {"html", "docx", "pdf"}
    for fmt, path in outputs.items():
        assert path == report_dir / f"cla-ethnicity-2024.{fmt}" and path.stat().st_size > 0


def test_html_table_and_figure(built):
    html = _html(built[2])
    table = re.search(r'<table id="tbl-demo">.*?</table>', html, re.S)
    assert table, "no real table with the tbl-demo id"
    assert re.search(r"<caption>Table 1\.1: Children looked after by ethnic group", table.group(0))
    assert '<th scope="col"' in table.group(0) and '<th scope="row"' in table.group(0)
    assert "59,340" in table.group(0) and "[c]" in table.group(0)
    assert "row_id_should_not_show" not in html
    fig = re.search(r'<figure id="fig-demo">.*?</figure>', html, re.S)
    assert fig and f'alt="{FIGURE_ALT}"' in fig.group(0)
    assert re.search(r"Figure 1\.1:\s+" + r"\s+".join(map(re.escape, FIGURE_CAPTION.split())), fig.group(0))


def test_html_cross_references_resolved(built):
    html = _html(built[2])
    assert "@tbl-demo" not in html and "@fig-demo" not in html
    assert re.search(r'White \(<a href="#tbl-demo">Table\s+1\.1</a>\)', html)
    assert re.search(r'<a href="#fig-demo">Figure\s+1\.1</a>', html)


def test_no_code_no_parameters_no_paths(built):
    html = _html(built[2])
    assert SECRET not in html
    assert "display.table" not in html and "#|" not in html
    for name in PARAM_NAMES:
        assert name not in html
    assert "/abs/path" not in html and "UserWarning" not in html
    assert "All checks passed" in html  # printed output is kept


def test_html_self_contained_and_accessible(built):
    html = _html(built[2])
    assert '<html xmlns="http://www.w3.org/1999/xhtml" lang="en-GB"' in html or 'lang="en-GB"' in html
    assert not re.search(r'(src|href)="https?://', html)
    assert '<link rel="stylesheet"' not in html  # CSS embedded
    assert "<title>Children looked after in England: ethnicity" in html
    assert "@media (max-width: 40em)" in html  # reflow rules made it in


def test_docx_contains_caption(built):
    with zipfile.ZipFile(built[2]["docx"]) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    text = re.sub(r"<[^>]+>", "", xml)
    assert TABLE_CAPTION in text and "59,340" in text and "Table 1.1" in text
    assert SECRET not in xml and PARAM_NAMES[0] not in xml


def test_pdf(built):
    pdf = built[2]["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (apt-get install poppler-utils): text not checked")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert TABLE_CAPTION in flat and "Table 1.1" in flat and "Figure 1.1" in flat
    assert SECRET not in flat and PARAM_NAMES[0] not in flat


def test_unresolved_reference_is_visible(tmp_path):
    nb = make_executed_notebook(tmp_path / "stage" / "01_demo.ipynb")
    build_project(
        [nb], tmp_path / "r", title="T", subtitle="S", summary_md="See @tbl-missing.", year=2024, formats=("html",)
    )
    with pytest.warns(UserWarning, match="tbl-missing"):
        out = render(tmp_path / "r", renderer="pandoc")
    assert "?@tbl-missing" in out["html"].read_text()


def test_quarto_renderer_failure_raises_with_stderr(tmp_path, monkeypatch):
    nb = make_executed_notebook(tmp_path / "stage" / "01_demo.ipynb")
    build_project([nb], tmp_path / "r", title="T", subtitle="S", summary_md="x", year=2024)
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ERROR: something broke' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    with pytest.raises(ReportRenderError, match="something broke"):
        render(tmp_path / "r")  # auto picks quarto when it is on PATH


def test_build_rejects_bad_format(tmp_path):
    nb = make_executed_notebook(tmp_path / "stage" / "01_demo.ipynb")
    with pytest.raises(ValueError):
        build_project(
            [nb], tmp_path / "r", title="T", subtitle="S", summary_md="x", year=2024, formats=("html", "epubb")
        )


def test_pdf_table_caption_is_never_left_alone_at_a_page_foot(tmp_path):
    """With the report's Typst header, a table caption (above the table) moves to the page where its table
    starts. Found by placing a table at every height on the page: without the header's rule some positions
    leave the caption alone at the foot of a page."""
    import typst
    from pypdf import PdfReader

    from rap.report.render import _pkg_file

    rule = "#show figure.caption.where(kind: table)"
    header = _pkg_file("templates", "typst-header.typ").read_text(encoding="utf-8")
    assert rule in header
    without = "\n".join(line for line in header.splitlines() if not line.startswith(rule))

    def pages_of(head: str, words: int) -> tuple[int, int]:
        src = tmp_path / "t.typ"
        src.write_text(
            head + '\n#set page(paper: "a5")\n#show figure: set block(breakable: true)\n'
            f"#lorem({words})\n\n#figure(table(columns: 2, table.header[Head][Head], "
            "..range(40).map(i => [cell#i])), kind: table, caption: [Caption here])\n"
        )
        typst.compile(str(src), output=str(tmp_path / "t.pdf"))
        texts = [p.extract_text() for p in PdfReader(tmp_path / "t.pdf").pages]
        return (
            next(i for i, t in enumerate(texts) if "Caption here" in t),
            next(i for i, t in enumerate(texts) if "cell0" in t),
        )

    orphaned = [n for n in range(200, 420, 6) if len(set(pages_of(without, n))) > 1]
    assert orphaned, "no position orphaned the caption: the test no longer tests anything"
    for n in orphaned:
        caption, first_row = pages_of(header, n)
        assert caption == first_row, n
