"""The leak scan at the end of a build: planted identifiers and small counts are found in every format, named by
file and place and never printed; clean outputs pass; and what the real pipeline's outputs hold today."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from rap.build import leaks
from rap.build.leaks import (
    KINDS,
    MIN_ID_LENGTH,
    LeakError,
    Needles,
    check_no_leaks,
    count_columns,
    scan,
    scan_outputs,
    unclassified_indicators,
)

REPO = Path(__file__).resolve().parents[1]

CHILD = "C2004123"  # a child id with letters
NUMERIC_CHILD = "100355"  # six digits: the shortest id looked for
SHORT_CHILD = "123"  # too short to look for: collides with ordinary figures
UPN = "A201652608605"
POSTCODE = "EC3M 8UD"
DOB = dt.date(2010, 9, 6)
THRESHOLD, BASE = 5, 10

IDENTIFIERS = [CHILD, NUMERIC_CHILD, UPN, POSTCODE, POSTCODE.replace(" ", ""), "06/09/2010", "2010-09-06"]


@pytest.fixture()
def needles() -> Needles:
    return Needles.build(
        child_ids=[CHILD, NUMERIC_CHILD, SHORT_CHILD, None, float("nan")],
        upns=[UPN, "UN1"],
        postcodes=[POSTCODE, "W1T 4BY", "EC3M"],
        dobs=[DOB, pd.Timestamp("2004-09-02"), "21/08/2023"],
    )


# --------------------------------------------------------------------------------------------------------
# fake outputs, one file per format


def _ees(folder: Path, name: str, rows: list[dict], indicators: list[str], filters: list[str]) -> Path:
    path = folder / "tables" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    meta = [{"col_name": c, "col_type": "Filter", "label": c} for c in filters]
    meta += [{"col_name": c, "col_type": "Indicator", "label": c} for c in indicators]
    pd.DataFrame(meta).to_csv(path.with_name(f"{name}.meta.csv"), index=False)
    return path


def _geo(level: str, la: str = "", region: str = "") -> dict:
    return {
        "time_period": 2024,
        "time_identifier": "Reporting year",
        "geographic_level": level,
        "country_code": "E92000001",
        "country_name": "England",
        "region_name": region,
        "la_name": la,
    }


def _table_rows(la_number: object = 12) -> list[dict]:
    return [
        {**_geo("National"), "ethnicity_major": "White", "number": 1230, "las": 3, "rate_per_10000": 3.0},
        {**_geo("National"), "ethnicity_major": "Other", "number": "low", "las": 2, "rate_per_10000": 4.0},
        {
            **_geo("Regional", region="North East"),
            "ethnicity_major": "White",
            "number": 0,
            "las": 1,
            "rate_per_10000": 2.0,
        },
        {
            **_geo("Local authority", "Hartlepool", "North East"),
            "ethnicity_major": "White",
            "number": la_number,
            "las": 1,
            "rate_per_10000": 5.0,
        },
        {
            **_geo("Local authority", "Darlington", "North East"),
            "ethnicity_major": "White",
            "number": "c",
            "las": 1,
            "rate_per_10000": "c",
        },
    ]


def _notebook(path: Path, output_text: str = "12 children", figure_text: list[str] | None = None) -> None:
    figure_text = ["Children by ethnic group", "0", "1,000", "White"] if figure_text is None else figure_text
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Section\n", "Narrative."]},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "display(x)",
                "outputs": [
                    {"output_type": "stream", "name": "stderr", "text": ["a warning\n"]},
                    {
                        "output_type": "display_data",
                        # what rap.present.display.figure records of a chart: every text it shows
                        "metadata": {"rap": {"figure_text": figure_text}},
                        "data": {
                            "text/markdown": [f"| LA | n |\n|---|---|\n| x | {output_text} |\n"],
                            "text/plain": ["<Markdown>"],
                            "image/png": "iVBORw0KGgo" + "A" * 200,
                        },
                    },
                ],
            },
        ],
        # papermill's run timestamps: metadata, never scanned
        "metadata": {"papermill": {"start_time": "2010-09-06T10:00:00", "end_time": "2010-09-06T10:01:00"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


def _docx(path: Path, runs: list[str]) -> None:
    """A minimal DOCX: one paragraph per item, each item's words in separate runs (as Word splits them)."""
    paras = "".join(
        "<w:p>" + "".join(f'<w:r><w:t xml:space="preserve">{w}</w:t></w:r>' for w in text.split("|")) + "</w:p>"
        for text in runs
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{paras}</w:body></w:document>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", doc)
        z.writestr(
            "docProps/core.xml",
            "<cp:coreProperties><dcterms:created>2010-09-06T00:00:00Z</dcterms:created></cp:coreProperties>",
        )


def _pdf(path: Path, text: str) -> None:
    import typst

    src = f"#set page(width: 12cm, height: auto)\n= Report\n{text}\n\n#table(columns: 2, [LA], [Count], [Hartlepool], [12])"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(typst.compile(src.encode(), format="pdf"))


def _xlsx(path: Path, shared: list[str]) -> None:
    sst = "".join(f"<si><t>{s}</t></si>" for s in shared)
    cells = "".join(f'<c r="A{i}" t="s"><v>{i - 1}</v></c>' for i in range(1, len(shared) + 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/sharedStrings.xml", f"<sst>{sst}</sst>")
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f"<worksheet><sheetData><row r='1'>{cells}"
            # a numeric cell is a statistic, even when it equals an id
            f'<c r="B1"><v>{NUMERIC_CHILD}</v></c></row></sheetData></worksheet>',
        )
        z.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="Table 1"/></sheets></workbook>')
        z.writestr(
            "docProps/core.xml",
            "<cp:coreProperties><dcterms:created>2010-09-06T00:00:00Z</dcterms:created></cp:coreProperties>",
        )


def clean_outputs(root: Path) -> Path:
    """A built output folder with nothing disclosive in it (every format the build writes)."""
    _ees(root, "cla", _table_rows(), ["number", "las", "rate_per_10000"], ["ethnicity_major"])
    (root / "summary").mkdir(parents=True)
    (root / "summary" / "01_cla.md").write_text(
        "- 1,230 children on 31 March 2024; the rate was 0.100355 per child; colour #100355; 2123456 rows.\n",
        encoding="utf-8",
    )
    _notebook(root / "notebooks" / "01_cla.ipynb")
    (root / "report").mkdir()
    (root / "report" / "index.qmd").write_text("---\ntitle: Report\n---\n\nSummary.\n", encoding="utf-8")
    (root / "report" / "report.html").write_text(
        '<html><body><p>1,230 children</p><img src="data:image/png;base64,MTAwMzU1IEVDM00gOFVE"/></body></html>',
        encoding="utf-8",
    )
    _docx(root / "report" / "report.docx", ["Children looked after|: 1,230", "Postcode district EC3M only"])
    _pdf(root / "report" / "report.pdf", "Children looked after: 1,230.")
    (root / "report" / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    _xlsx(root / "tables" / "cla.xlsx", ["Ethnic group", "White"])
    (root / "qa").mkdir()
    (root / "qa" / "rejected_header.csv").write_text(
        "file,line,column,value,reason,table\nh.csv,3,DOB,[redacted],DOB '[redacted]' is not a dd/mm/YYYY date,Header\n",
        encoding="utf-8",
    )
    (root / "manifest.json").write_text(
        json.dumps({"created": "2010-09-06T12:00:00", "git": {"commit": "ab" * 20}}), encoding="utf-8"
    )
    return root


@pytest.fixture()
def outputs(tmp_path) -> Path:
    return clean_outputs(tmp_path / "2024")


def _only(findings, kind):
    return [f for f in findings if f.kind == kind]


# --------------------------------------------------------------------------------------------------------
# clean outputs


def test_clean_outputs_pass_and_unreadable_files_are_listed(outputs, needles):
    report = check_no_leaks(outputs, needles, THRESHOLD, BASE)
    assert report.findings == []
    assert report.not_scanned == ["report/chart.png"]
    for f in (
        "notebooks/01_cla.ipynb",
        "report/report.docx",
        "report/report.pdf",
        "tables/cla.xlsx",
        "tables/cla.csv",
        "tables/cla.meta.csv",
        "manifest.json",
        "summary/01_cla.md",
    ):
        assert f in report.scanned


def test_needles_never_show_identifiers(needles):
    text = repr(needles) + str(needles) + needles.describe()
    assert not any(i in text for i in IDENTIFIERS)
    assert "2 child ids, 1 UPNs, 0 social worker ids, 2 postcodes, 3 dates of birth" in needles.describe()


def test_short_ids_unknown_upns_and_postcode_districts_are_not_looked_for(needles):
    assert SHORT_CHILD not in needles.tokens and "UN1" not in needles.tokens
    assert len(min(needles.tokens, key=len)) == MIN_ID_LENGTH
    assert needles.postcodes == {"EC3M8UD", "W1T4BY"}


# --------------------------------------------------------------------------------------------------------
# planted identifiers, one per format


def test_child_id_in_an_executed_notebook_output(outputs, needles):
    _notebook(outputs / "notebooks" / "01_cla.ipynb", output_text=f"child {CHILD.lower()} has 3 placements")
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind) == ("notebooks/01_cla.ipynb", "child id")
    assert f.location == "cell 2 output 2, line 3"
    assert "[child id]" in f.excerpt and CHILD.lower() not in f.excerpt


def test_dob_in_a_markdown_summary_both_formats(outputs, needles):
    md = outputs / "summary" / "01_cla.md"
    md.write_text(md.read_text() + "- born 06/09/2010\n- and 2004-09-02 and 2015-01-01, not 1990-01-01 or 31/02/2010\n")
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.file, f.kind, f.location) for f in found] == [
        ("summary/01_cla.md", "date of birth", "line 2"),
        ("summary/01_cla.md", "date of birth", "line 3"),
        ("summary/01_cla.md", "date of birth", "line 3"),  # in the DOB range, though no child's DOB
    ]
    assert [f.detail.startswith("a child's") for f in found] == [True, True, False]
    assert all("[date]" in f.excerpt and "2010" not in f.excerpt for f in found)


def test_postcode_in_a_docx_split_across_runs_and_without_space(outputs, needles):
    _docx(outputs / "report" / "report.docx", ["Intro", "Placed at |ec3m| 8ud| today", "also W1T4BY"])
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.file, f.kind, f.location) for f in found] == [
        ("report/report.docx", "postcode", "word/document.xml, paragraph 2"),
        ("report/report.docx", "postcode", "word/document.xml, paragraph 3"),
    ]
    assert all("[postcode]" in f.excerpt and "8ud" not in f.excerpt.lower() for f in found)


def test_alt_text_in_docx_and_entities_in_html_are_read(outputs, needles):
    doc = outputs / "report" / "report.docx"
    with zipfile.ZipFile(doc, "w") as z:
        z.writestr(
            "word/document.xml",
            f'<w:document><w:body><w:p><w:r><w:drawing><wp:docPr id="1" '
            f'descr="Funnel plot: {CHILD} is lowest"/></w:drawing></w:r></w:p></w:body></w:document>',
        )
    (outputs / "report" / "report.html").write_text("<p>\n</p><p>born 06&#47;09&#x2F;2010</p>", encoding="utf-8")
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.file, f.kind, f.location) for f in found] == [
        ("report/report.docx", "child id", "word/document.xml, paragraph 1"),
        ("report/report.html", "date of birth", "line 2"),
    ]


def test_upn_in_a_pdf(outputs, needles):
    _pdf(outputs / "report" / "report.pdf", f"A pupil, UPN {UPN}, moved school.")
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind, f.location) == ("report/report.pdf", "UPN", "page 1, line 2")
    assert "[UPN]" in f.excerpt and UPN not in f.excerpt


def test_alt_text_of_a_pdf_figure(outputs, needles):
    import typst

    svg = "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><rect width='10' height='10'/></svg>"
    src = f'#image(bytes("{svg}"), format: "svg", alt: "Funnel plot: {CHILD} is lowest")\nText.'
    (outputs / "report" / "report.pdf").write_bytes(typst.compile(src.encode(), format="pdf"))
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind, f.location) == ("report/report.pdf", "child id", "alt text, item 1")


def test_fast_pdf_text_holds_every_word_pypdf_finds(outputs):
    """The scan reads PDF text operators itself (10x faster than pypdf's extract_text): no word may be lost."""
    import re

    from pypdf import PdfReader

    from rap.build.leaks.pdf import pdf_segments as _pdf_segments

    pdf = outputs / "report" / "report.pdf"
    _pdf(pdf, f"Lists: {UPN}, 06/09/2010 and *bold {CHILD}* _emph_ $x^2$ " + "long text " * 80)
    ours = "\n".join(s.text for s in _pdf_segments(pdf)[0])
    theirs = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    words = set(re.findall(r"[A-Za-z0-9/]+", theirs))
    assert words <= set(re.findall(r"[A-Za-z0-9/]+", ours))
    assert UPN in ours and CHILD in ours and "06/09/2010" in ours


def test_pdf_with_a_simple_font_and_hex_strings(tmp_path, needles):
    content = b"BT /F1 12 Tf 72 700 Td (Child C2004123) Tj 0 -14 Td <4543334D2038554420> Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    (tmp_path / "r.pdf").write_bytes(out)
    found = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert [(f.kind, f.location) for f in found] == [("child id", "page 1, line 1"), ("postcode", "page 1, line 2")]


def test_identifiers_in_xlsx_cells(outputs, needles):
    _xlsx(outputs / "tables" / "cla.xlsx", ["Ethnic group", f"UPN {UPN}"])
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind) == ("tables/cla.xlsx", "UPN") and f.location.startswith("shared string 2")


def test_qa_csv_names_line_and_column(outputs, needles):
    qa = outputs / "qa" / "rejected_episodes.csv"
    qa.write_text(
        "file,line,column,value,reason,table\ne.csv,7,DEC,01/01/2009,\"DEC '01/01/2009' is before "
        f'DECOM, CHILD {NUMERIC_CHILD}",Episodes\n',
        encoding="utf-8",
    )
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.kind, f.location) for f in found] == [
        ("date of birth", "line 2, column value"),
        ("date of birth", "line 2, column reason"),
        ("child id", "line 2, column reason"),
    ]


def test_ids_in_ees_filter_columns_but_not_numeric_indicator_cells(outputs, needles):
    rows = _table_rows()
    rows[0]["number"] = int(NUMERIC_CHILD)  # a national count that happens to equal a numeric id: a statistic
    rows[3]["la_name"] = f"Hartlepool {CHILD}"
    rows[4]["rate_per_10000"] = UPN  # a text indicator cell is read
    _ees(outputs, "cla", rows, ["number", "las", "rate_per_10000"], ["ethnicity_major"])
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.file, f.kind, f.location) for f in found] == [
        ("tables/cla.csv", "child id", "line 5, column la_name"),
        ("tables/cla.csv", "UPN", "line 6, column rate_per_10000"),
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"id {NUMERIC_CHILD}.", True),
        (f"({NUMERIC_CHILD})", True),
        (f"id={NUMERIC_CHILD}.0", True),  # an id written as a float is still the id
        (f"child_{NUMERIC_CHILD}", True),
        (f"2{NUMERIC_CHILD}", False),  # part of another number
        (f"{NUMERIC_CHILD}7", False),
        (f"E{NUMERIC_CHILD}", True),  # inside a longer token: letters around an id do not hide it
        (f"ID{NUMERIC_CHILD}X", True),
        (f"ID-{NUMERIC_CHILD}", True),
        (f"E0{NUMERIC_CHILD}7", False),  # digits touching its digits: another number
        ("E06100355", False),  # an ONS code is not searched inside
        (f"ab12cd34ef{NUMERIC_CHILD}ab", False),  # nor is a hash
        (f"0x{NUMERIC_CHILD}", False),  # nor an address
        (f"0.{NUMERIC_CHILD}", False),  # decimals
        (f"#{NUMERIC_CHILD}", False),  # a CSS colour
        ("100,355", False),  # a formatted count is not the id
        (f"{SHORT_CHILD} children", False),  # too short to look for
        (CHILD.lower(), True),
        (f"X{CHILD}", True),
        (f"ID_{CHILD}_2", True),
        (f"{CHILD}7", False),  # another id
    ],
)
def test_ids_match_whole_tokens_only(tmp_path, needles, text, found):
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    assert bool(scan_outputs(tmp_path, needles, THRESHOLD, BASE)) is found


def test_ids_with_punctuation(tmp_path):
    needles = Needles.build(child_ids=["AB-123456"])
    (tmp_path / "a.md").write_text("ab-123456 and XAB-123456 and AB-1234567\n", encoding="utf-8")
    [f] = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert f.kind == "child id" and f.excerpt.startswith("[child id] and")


def test_manifest_is_searched_for_identifiers_but_not_dates(outputs, needles):
    (outputs / "manifest.json").write_text(json.dumps({"created": "2010-09-06", "params": {"note": CHILD}}))
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind) == ("manifest.json", "child id")


def test_excerpt_never_ends_inside_an_identifier(tmp_path, needles):
    # each finding's 40-character margin ends inside the identifier before it
    (tmp_path / "a.md").write_text(f"{'x' * 39} 2004-09-02 {'y' * 33} {UPN} {'z' * 31} {CHILD}")
    found = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert [f.kind for f in found] == ["date of birth", "UPN", "child id"]
    for f in found:
        assert not any(i in f.excerpt for i in [*IDENTIFIERS, "2004", "09-02", "2608605"])


# --------------------------------------------------------------------------------------------------------
# every form a value is written in


DOB_FORMS = [
    "06 September 2010",
    "6 Sept 2010",
    "6th of September, 2010",
    "September 6, 2010",
    "06-Sep-2010",
    "06SEP2010",
    "06-Sep-10",
    "06-09-2010",
    "06.09.2010",
    "6/9/2010",
    "20100906",
    "06092010",
    "2010/09/06",
    "2010.09.06",
    "06/09/10",
    "6-9-10",
    "06.09.10",
    "2010-09-06T00:00:00",
]


@pytest.mark.parametrize("written", DOB_FORMS)
def test_a_date_of_birth_in_any_written_form(tmp_path, needles, written):
    (tmp_path / "a.md").write_text(f"born {written}, placed", encoding="utf-8")
    [f] = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert (f.kind, f.detail) == ("date of birth", "a child's date of birth in the inputs")
    assert f.excerpt.startswith("born [date]") and f.excerpt.endswith(", placed") and "10" not in f.excerpt


@pytest.mark.parametrize(
    "text",
    [
        "pandas 3.11.10 and certifi 2024.1.2",  # versions
        "a rate of 0.20100906",  # decimals
        "120100906 rows and 201009061",  # longer numbers
        "code E20100906",
        "the years 2019-20 and 2010-11",
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',  # in every SVG matplotlib writes
        "children looked after on 31 March 2024, from 1 April 2023; 31/03/2024",  # the collection year
        "1,230 children, 12.5%, 6 September",  # a day without a year
    ],
)
def test_numbers_versions_and_collection_year_days_are_not_dates_of_birth(tmp_path, text):
    needles = Needles.build(dobs=[DOB, dt.date(2024, 3, 31), dt.date(1998, 1, 1)]).for_years([2023, 2024])
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    assert scan_outputs(tmp_path, needles, THRESHOLD, BASE) == []


def test_collection_year_days_are_dates_of_birth_when_the_years_are_not_given(tmp_path):
    needles = Needles.build(dobs=[dt.date(2004, 1, 1), dt.date(2024, 3, 31)])
    (tmp_path / "a.md").write_text("on 31 March 2024", encoding="utf-8")
    assert [f.kind for f in scan_outputs(tmp_path, needles, THRESHOLD, BASE)] == ["date of birth"]


@pytest.mark.parametrize(
    "written", ["EC3M 8UD", "EC3M  8UD", "EC3M-8UD", "ec3m8ud", "Ec3m\u00a08ud", "EC3M_8UD", "EC3M\t8UD", "EC3M / 8UD"]
)
def test_a_postcode_written_any_way(tmp_path, needles, written):
    (tmp_path / "a.md").write_text(f"placed at {written} today", encoding="utf-8")
    [f] = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert (f.kind, f.excerpt) == ("postcode", "placed at [postcode] today")


def test_social_worker_ids_are_looked_for(tmp_path):
    needles = Needles.build(sw_ids=["SW10060209"], child_ids=[CHILD])
    (tmp_path / "a.md").write_text("worker sw10060209, also IDSW10060209X; not SW100602091\n", encoding="utf-8")
    found = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert [f.kind for f in found] == ["social worker id"] * 2
    assert found[0].excerpt == "worker [social worker id], also ID[social worker id]X; not SW100602091"
    assert "1 child ids, 0 UPNs, 1 social worker ids" in needles.describe()


def test_values_of_rejected_rows_are_looked_for_by_their_shape(tmp_path):
    """A shifted Header row (the child id under SEX, a UPN under MOTHER) is rejected: neither value is in the
    validated tables, so the rows are read again and each value is taken for what it looks like."""
    from rap.build.leaks.needles import problem_rows
    from rap.inputs.load import RecordData
    from rap.inputs.readers.quarantine import ReadResult

    source = tmp_path / "header.csv"
    source.write_text(
        "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n7,100068,02/09/2004,WBRI,,B201652608605,\n"
        "C2004123,1,02/09/2004,WBRI,,0,\n"
    )
    problems = pd.DataFrame(
        {
            "table": ["Header", "Header"],
            "file": [str(source), str(tmp_path / "gone.csv")],  # a file that cannot be read again adds nothing
            "line": [2, 5],
            "column": ["SEX", "SEX"],
            "value": ["100068", "9"],
            "reason": ["SEX '100068' is not a code", "SEX '9' is not a code"],
            "action": ["rejected", "rejected"],
        }
    )
    assert problem_rows(problems) == {"7", "100068", "02/09/2004", "WBRI", "B201652608605"}
    data = RecordData(ssda903=ReadResult(tables={}, problems=problems), school=ReadResult(tables={}), population=None)
    needles = leaks.needles_from_record_data(data)
    assert needles.tokens == {"100068": "child id", "B201652608605": "UPN"}
    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "rejected_header.csv").write_text(
        "file,line,column,value\nh.csv,2,SEX,100068\nh.csv,2,MOTHER,B201652608605\n"
    )
    found = scan_outputs(qa, needles, THRESHOLD, BASE)
    assert [(f.kind, f.location) for f in found] == [
        ("child id", "line 2, column value"),
        ("UPN", "line 3, column value"),
    ]


def test_a_date_of_birth_in_a_spreadsheet_date_cell(tmp_path, needles):
    """``DataFrame.to_excel`` writes a date as a number formatted as a date: the number is read as that date.
    Numeric cells otherwise are statistics (here one equal to a numeric child id)."""
    df = pd.DataFrame({"group": ["White"], "born": [pd.Timestamp(DOB)], "children": [int(NUMERIC_CHILD)]})
    df.to_excel(tmp_path / "dates.xlsx", index=False, engine="xlsxwriter")
    [f] = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert (f.kind, f.location) == ("date of birth", "sheet1 cell B2 (a date cell)")
    assert f.excerpt == "[date]"


def test_excel_serials_and_date_styles():
    from rap.build.leaks.dates import excel_serial_date
    from rap.build.leaks.office import date_styles

    assert excel_serial_date(40427) == DOB and excel_serial_date(40427.75) == DOB
    assert excel_serial_date(38965, date1904=True) == DOB
    styles = (
        '<numFmts><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="165" formatCode="#,##0"/>'
        '<numFmt numFmtId="166" formatCode="&quot;day&quot; 0"/></numFmts><cellXfs count="5"><xf numFmtId="0"/>'
        '<xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="166"/></cellXfs>'
    )
    assert date_styles(styles) == {1, 2}


def test_a_date_of_birth_as_eight_digits_in_a_numeric_indicator(outputs, needles):
    rows = _table_rows()
    rows[0]["las"] = 20100906  # yyyymmdd: no count these tables publish
    rows[1]["las"] = 6092010  # ddmmyyyy would be an ordinary national count: not looked for in numbers
    _ees(outputs, "cla", rows, ["number", "las", "rate_per_10000"], ["ethnicity_major"])
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind, f.location) == ("tables/cla.csv", "date of birth", "line 2, column las")


def test_every_file_type_is_read(tmp_path, needles):
    """Unknown types as bytes (UTF-16 too), containers unpacked, Parquet's compressed pages read with pyarrow,
    a chart saved as SVG or PDF read as its text."""
    import gzip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (tmp_path / "extract.dat").write_bytes(f"x {UPN}\n".encode())
    (tmp_path / "wide.bin").write_bytes(f"child {CHILD}".encode("utf-16-le"))
    (tmp_path / "rows.csv.gz").write_bytes(gzip.compress(b"born 06/09/2010\n"))
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as z:
        z.writestr("inner/places.csv", f"place\n{POSTCODE}\n")
    pd.DataFrame({"CHILD": [f"{i:06d}" for i in range(200000, 201000)] + [NUMERIC_CHILD]}).to_parquet(
        tmp_path / "children.parquet"
    )
    fig, ax = plt.subplots()
    ax.set_title(f"Placements of {CHILD}")
    fig.savefig(tmp_path / "chart.svg")
    fig.savefig(tmp_path / "chart.pdf")
    plt.close(fig)
    found = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert sorted((f.file, f.kind) for f in found) == [
        ("bundle.zip", "postcode"),
        ("chart.pdf", "child id"),
        ("chart.svg", "child id"),
        ("children.parquet", "child id"),
        ("extract.dat", "UPN"),
        ("rows.csv.gz", "date of birth"),
        ("wide.bin", "child id"),
    ]
    assert next(f for f in found if f.file == "bundle.zip").location == "inner/places.csv, line 2"


def test_images_whose_text_cannot_be_read(tmp_path, needles):
    """An image file is an unchecked image, unless it is the report's (made from the notebooks' figures,
    whose text is checked there); a PNG's text chunks are read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(f"Placements of {CHILD}")  # in the pixels only
    for rel in ("charts/chart.png", "report/media/chart.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp_path / rel)
    fig.savefig(tmp_path / "charts" / "titled.png", metadata={"Title": f"Placements of {CHILD}"})
    plt.close(fig)
    report = scan(tmp_path, needles, THRESHOLD, BASE)
    assert sorted((f.file, f.kind) for f in report.findings) == [
        ("charts/chart.png", "unchecked image"),
        ("charts/titled.png", "child id"),
        ("charts/titled.png", "unchecked image"),
    ]
    assert report.not_scanned == ["charts/chart.png", "charts/titled.png", "report/media/chart.png"]


def test_chart_text_recorded_by_display_figure_is_scanned(outputs, needles):
    nb = outputs / "notebooks" / "01_cla.ipynb"
    # one text a label: "Year ending 31 March" above the tick "2010" is no date
    _notebook(nb, figure_text=["Year ending 6 September", f"{CHILD}, born 06/09/2010, at {POSTCODE}", "2010"])
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.kind, f.location) for f in found] == [
        (kind, "cell 2 output 2, figure text 2") for kind in ("child id", "date of birth", "postcode")
    ]
    assert found[0].excerpt == "[child id], born [date], at [postcode]"


def test_a_notebook_image_without_its_text_is_an_unchecked_image(outputs, needles):
    nb = outputs / "notebooks" / "01_cla.ipynb"
    _notebook(nb)
    content = json.loads(nb.read_text())
    del content["cells"][1]["outputs"][1]["metadata"]["rap"]  # an image/png output nobody recorded the text of
    content["cells"][0]["source"] = "![chart](data:image/png;base64,iVBORw0KGgo)"
    nb.write_text(json.dumps(content))
    found = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert [(f.kind, f.location.split(" (")[0]) for f in found] == [
        ("unchecked image", "cell 1 source"),
        ("unchecked image", "cell 2 output 2"),
    ]


def test_display_figure_records_every_text_of_the_chart(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rap.build.leaks.files import FIGURE_TEXT
    from rap.present import display

    fig, ax = plt.subplots()
    ax.bar(["White", "Black"], [1200, 300], label="2024")
    ax.set_title("Children by group")
    ax.set_xlabel("Ethnic group")
    ax.legend()
    ax.annotate("England", (0, 1000))
    fig.suptitle("Headline")
    shown = {}
    monkeypatch.setattr(display, "_display_markdown", lambda md, plain, metadata=None: shown.update(metadata=metadata))
    display.figure(fig, "fig-x", "Caption", alt="Alt text")
    texts = shown["metadata"]["rap"]["figure_text"]
    assert {"Children by group", "Ethnic group", "White", "Black", "2024", "England", "Headline", "1000"} <= set(texts)
    assert display.FIGURE_TEXT_KEY == FIGURE_TEXT  # the scan reads it where display.figure puts it


def test_a_failed_notebook_is_kept_redacted(tmp_path, needles):
    from rap.build.leaks.redact import redact_notebook

    _notebook(tmp_path / "nb.ipynb", output_text=f"child {CHILD}", figure_text=[f"at {POSTCODE}"])
    nb = json.loads((tmp_path / "nb.ipynb").read_text())
    nb["cells"][1]["source"] = f'print("{UPN}")'
    nb["cells"][1]["outputs"].append(
        {"output_type": "error", "ename": "ValueError", "evalue": "born 06/09/2010", "traceback": [f"x {CHILD}"]}
    )
    clean, found = redact_notebook(nb, needles)
    assert sorted(f.kind for f in found) == ["UPN", "child id", "child id", "date of birth", "postcode"]
    text = json.dumps(clean)
    assert [i for i in IDENTIFIERS if i in text] == [] and "image/png" not in text
    assert "[child id]" in text and "[UPN]" in text and "[date]" in text
    assert clean["cells"][0]["source"].startswith("**Redacted before it was kept.**")
    (tmp_path / "kept.ipynb").write_text(text)
    assert leaks.file_findings(tmp_path / "kept.ipynb", "kept.ipynb", needles, THRESHOLD, BASE)[0] == []


def test_a_failed_notebook_is_masked_by_shape_when_the_inputs_cannot_be_read(tmp_path):
    """No needles (the inputs may be why the section failed): every date and everything shaped like an id,
    UPN or postcode is masked; words and short numbers stay, so the error can still be read."""
    from rap.build.leaks.redact import mask_text, redact_notebook

    text = f"KeyError: child {NUMERIC_CHILD} (UPN {UPN}) born 6 September 2010 at {POSTCODE}: 12 rows, year 2024"
    assert mask_text(text, None) == (
        "KeyError: child [identifier] (UPN [identifier]) born [date] at [postcode]: 12 rows, year 2024"
    )
    _notebook(tmp_path / "nb.ipynb", output_text=f"child {CHILD}")
    clean, found = redact_notebook(json.loads((tmp_path / "nb.ipynb").read_text()), None)
    assert found == [] and CHILD not in json.dumps(clean) and "image/png" not in json.dumps(clean)
    assert "could not be read" in clean["cells"][0]["source"]


def test_an_excerpt_never_cuts_a_date_it_would_show_part_of(tmp_path, needles):
    # the 40-character margin before the second date ends inside the first, after its day
    (tmp_path / "a.md").write_text(f"{'x' * 30} 06 September 2010 {'y' * 24} 2010-09-06", encoding="utf-8")
    found = scan_outputs(tmp_path, needles, THRESHOLD, BASE)
    assert [f.kind for f in found] == ["date of birth"] * 2
    assert all("September" not in f.excerpt and "2010" not in f.excerpt for f in found)


# --------------------------------------------------------------------------------------------------------
# small counts


def test_small_local_count_in_an_ees_table(outputs, needles):
    _ees(outputs, "cla", _table_rows(la_number=3), ["number", "las", "rate_per_10000"], ["ethnicity_major"])
    [f] = scan_outputs(outputs, needles, THRESHOLD, BASE)
    assert (f.file, f.kind, f.location) == ("tables/cla.csv", "small count", "line 5, column number")
    assert f.excerpt == "Local authority Hartlepool (time_period 2024, ethnicity_major White): number = [1 to 5]"


@pytest.mark.parametrize(
    ("level", "value", "flagged"),
    [
        ("Local authority", 5, True),
        ("Local authority", "5.0", True),
        ("Local authority", 6, False),
        ("Local authority", 0, False),
        ("Local authority", "c", False),
        ("Local authority", 2.5, False),  # not a whole number: not a count
        ("Local authority district", 1, True),  # anything not National/Regional is local
        ("National", 3, True),  # rounded levels must be multiples of the base
        ("Regional", 4, True),
        ("National", 10, False),
        ("National", 7, False),  # above the threshold: rounding is checked elsewhere
        ("Regional", "low", False),
    ],
)
def test_small_count_rules(tmp_path, level, value, flagged):
    rows = [{**_geo(level, "Hartlepool"), "number": value, "las": 2, "percentage": 3.0}]
    _ees(tmp_path, "t", rows, ["number", "las", "percentage"], [])
    found = scan_outputs(tmp_path, Needles.empty(), THRESHOLD, BASE)
    assert [(f.kind, f.location) for f in found] == ([("small count", "line 2, column number")] if flagged else [])


def test_count_columns_come_from_the_data_file():
    assert count_columns(
        [
            "number",
            "numerator",
            "denominator",
            "observed",
            "children",
            "las",
            "rate_per_10000",
            "percentage",
            "expected",
            "ratio",
        ]
    ) == ["number", "numerator", "denominator", "observed", "children"]
    assert unclassified_indicators(["las", "percentage_upper_95", "england_rate", "brand_new"]) == ["brand_new"]


def test_published_runs_check_counts_only(outputs):
    (outputs / "summary" / "01_cla.md").write_text(f"child {CHILD} born 06/09/2010")
    _ees(outputs, "cla", _table_rows(la_number=2), ["number", "las", "rate_per_10000"], ["ethnicity_major"])
    found = scan_outputs(outputs, Needles.empty(), THRESHOLD, BASE)
    assert [f.kind for f in found] == ["small count"]


# --------------------------------------------------------------------------------------------------------
# the error


def test_leak_error_names_file_and_place_masks_values_and_counts_all(outputs, needles):
    lines = "".join(f"- child {CHILD} and UPN {UPN} at {POSTCODE}, born 06/09/2010\n" for _ in range(4))
    (outputs / "summary" / "01_cla.md").write_text(lines)
    _ees(outputs, "cla", _table_rows(la_number=4), ["number", "las", "rate_per_10000"], ["ethnicity_major"])
    with pytest.raises(LeakError) as e:
        check_no_leaks(outputs, needles, THRESHOLD, BASE)
    msg = str(e.value)
    assert len(e.value.findings) == 17
    assert "17 possible disclosures in 2 files" in msg and "... and 7 more" in msg
    assert "summary/01_cla.md, line 1: child id" in msg
    assert not any(i in msg for i in IDENTIFIERS)
    assert all(k in KINDS for k in {f.kind for f in e.value.findings})


def test_scan_speed_on_many_mb_of_text(tmp_path, needles):
    """Token sets, not a loop over needles: 200,000 ids and 10 MB of text in a few seconds."""
    many = Needles.build(
        child_ids=[f"{i:07d}" for i in range(1_000_000, 1_200_000)],
        upns=[UPN],
        postcodes=[POSTCODE],
        dobs=[DOB, dt.date(2024, 3, 31)],
    )
    line = "Hartlepool, 1,230 children, rate 0.1234567, 12.5%, White British, 2024, E06000001\n"
    (tmp_path / "big.md").write_text(line * 120_000)
    t0 = time.perf_counter()
    assert scan_outputs(tmp_path, many, THRESHOLD, BASE) == []
    assert time.perf_counter() - t0 < 20  # about 2 s; generous for a shared machine


# --------------------------------------------------------------------------------------------------------
# the real pipeline at small scale


@pytest.fixture(scope="module")
def built(small_project, small_run):
    """The shared small synthetic build (tests/conftest.py), scanned with needles from its validated inputs."""
    from rap.build.leaks import needles_from_record_data
    from rap.core.params import load_params
    from rap.inputs.load import load_record_data

    params = load_params(small_project / "params" / "2024.yaml")
    t0 = time.perf_counter()
    needles = needles_from_record_data(load_record_data(params)).for_years(params.series_years)  # as the build
    t_needles = time.perf_counter() - t0
    report = scan(small_run, needles, params.suppression.threshold, params.suppression.rounding_base)
    print(
        f"\nneedles: {needles.describe()} in {t_needles:.1f} s; scan of {len(report.scanned)} files "
        f"in {report.seconds:.1f} s; not scanned: {report.not_scanned}"
    )
    for f in report.findings:
        print(f"  {f}")
    return small_run, report


@pytest.mark.slow
def test_real_outputs_hold_no_child_ids_upns_or_postcodes(built):
    folder, report = built
    assert report.not_scanned == []
    assert not [f for f in report.findings if f.kind in ("child id", "UPN", "postcode")]


@pytest.mark.slow
def test_every_indicator_the_pipeline_writes_is_classified(built):
    folder, _ = built
    metas = [pd.read_csv(m, dtype=str) for m in sorted((folder / "tables").glob("*.meta.csv"))]
    names = sorted({n for m in metas for n in m.loc[m["col_type"] == "Indicator", "col_name"]})
    assert unclassified_indicators(names) == []


@pytest.mark.slow
def test_real_outputs_hold_nothing_disclosive(built):
    folder, report = built
    if report.findings:
        raise LeakError(folder, report.findings)


@pytest.mark.slow
def test_a_build_with_a_planted_leak_fails(small_project, small_run, tmp_path):
    """The build's last step (rap.build.pipeline.scan_build) raises on a child id planted in a copy of a real
    build's outputs, and passes the same outputs unplanted."""
    from rap.build.pipeline import scan_build
    from rap.core.params import load_params
    from rap.inputs.load import load_record_data

    params = load_params(small_project / "params" / "2024.yaml")
    header = load_record_data(params).ssda903.tables["Header"]
    child = next(c for c in header["CHILD"].astype(str) if len(c) >= 6)
    clean, leaky = tmp_path / "clean", tmp_path / "leaky"
    shutil.copytree(small_run, clean)
    shutil.copytree(small_run, leaky)
    scan_build(clean, params, None, use_cache=False)
    summary = leaky / "summary" / "05_local_authorities.md"
    summary.write_text(summary.read_text() + f"- The child {child} was looked after longest.\n")
    with pytest.raises(LeakError) as err:
        scan_build(leaky, params, None, use_cache=False)
    assert "summary/05_local_authorities.md" in str(err.value) and child not in str(err.value)


@pytest.mark.slow
def test_a_re_scan_reads_only_what_changed_and_never_trusts_a_leaky_file(
    small_project, small_run, tmp_path, monkeypatch
):
    """The scan cache (rap.build.pipeline.BuildScan) skips a file only if its bytes were scanned clean before: an
    unchanged build reads nothing and needs no identifiers; a planted leak is read and caught, and caught
    again on the next scan; a table whose metadata changed is read again."""
    from rap.build import leaks, pipeline
    from rap.core.params import load_params
    from rap.inputs import load as inputs

    params = load_params(small_project / "params" / "2024.yaml")
    header = inputs.load_record_data(params).ssda903.tables["Header"]
    child = next(c for c in header["CHILD"].astype(str) if len(c) >= 6)
    build = tmp_path / "build"
    shutil.copytree(small_run, build)
    pipeline.scan_build(build, params)  # fills .cache/scans and .cache/needles

    read: list[str] = []
    real_scan = leaks.scan_files

    def counting(folder, rels, *args):
        rels = list(rels)
        read.extend(rels)
        return real_scan(folder, rels, *args)

    monkeypatch.setattr(leaks, "scan_files", counting)
    monkeypatch.setattr(inputs, "load_record_data", lambda *a, **k: pytest.fail("identifiers read again"))
    read_again = lambda: sorted(r for r in read if r != "qa/checks.csv")  # noqa: E731 - each scan appends its line to it
    pipeline.scan_build(build, params)
    assert read_again() == []

    summary = build / "summary" / "05_local_authorities.md"
    clean_text = summary.read_text()
    summary.write_text(clean_text + f"- The child {child} was looked after longest.\n")
    for _ in range(2):
        with pytest.raises(LeakError):
            pipeline.scan_build(build, params)
    assert read_again() == ["summary/05_local_authorities.md"] * 2

    read.clear()
    summary.write_text(clean_text)
    meta = build / "tables" / "started_by_ethnicity.meta.csv"
    meta.write_text(meta.read_text().replace("Number", "How many", 1))
    pipeline.scan_build(build, params)
    assert read_again() == ["tables/started_by_ethnicity.csv", "tables/started_by_ethnicity.meta.csv"]


@pytest.mark.slow
def test_publishing_with_one_worker_starts_no_second_process(small_project, small_run, tmp_path, monkeypatch):
    """``--workers 1`` means one process at a time, publishing included; the scan is recorded once."""
    import concurrent.futures

    from rap.build import pipeline
    from rap.core.params import load_params

    params = load_params(small_project / "params" / "2024.yaml")
    build = tmp_path / "build"
    shutil.copytree(small_run, build)
    for generated in ("report", pipeline.spreadsheet_name(2024)):
        target = build / generated
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("second process"))
    pipeline.publish(build, params, renderer="pandoc", result=None, workers=1)
    assert (build / pipeline.spreadsheet_name(2024)).is_file()
    assert (build / "report" / "index.html").is_file() or any((build / "report").glob("*.html"))
    lines = (build / "qa" / "checks.csv").read_text().splitlines()
    assert sum("Leak scan of every output file" in line for line in lines) == 1


# --------------------------------------------------------------------------------------------------------
# every form, planted by a section notebook of a small project: the build stops, nothing under outputs/ keeps it

PICK = '''
def pick(data_path, year):
    """What the planted notebook leaks: the first child, in the first LA that has one, with a UPN and a date of
    birth that is no collection year's first or last day; that LA's first home postcode and busiest social
    worker."""
    import collections
    import csv
    import datetime as dt
    from pathlib import Path

    def rows(la, name):
        with open(la / name, encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))

    def born(row):
        try:
            day = dt.datetime.strptime(row["DOB"], "%d/%m/%Y").date()
        except ValueError:
            return None
        return None if day.strftime("%d/%m") in ("31/03", "01/04") else day

    for la in sorted(p for p in (Path(data_path) / "ssda903" / str(year)).iterdir() if p.is_dir()):
        try:
            child = next(r for r in rows(la, "header.csv") if len(r["CHILD"]) >= 6 and len(r["UPN"]) == 13 and born(r))
            postcode = next(r["HOME_POST"] for r in rows(la, "episodes.csv") if " " in r["HOME_POST"])
            workers = collections.Counter(r["SW_ID"] for r in rows(la, "sw_episodes.csv") if r["SW_ID"])
            sw_id = workers.most_common(1)[0][0]
        except (StopIteration, IndexError):
            continue
        return {"child": child["CHILD"], "upn": child["UPN"], "dob": born(child), "postcode": postcode, "sw_id": sw_id}
'''

#: printed by the planted notebook, one cell each: marker -> (kind, Python expression of the value written)
PRINTED = {
    "dob in words": ("date of birth", 'dob.strftime("%d %B %Y")'),
    "dob with hyphens": ("date of birth", 'dob.strftime("%d-%m-%Y")'),
    "dob with dots": ("date of birth", 'dob.strftime("%d.%m.%Y")'),
    "dob as digits": ("date of birth", 'dob.strftime("%Y%m%d")'),
    "dob year first": ("date of birth", 'dob.strftime("%Y/%m/%d")'),
    "dob short year": ("date of birth", 'dob.strftime("%d/%m/%y")'),
    "social worker": ("social worker id", 'f"worker {sw_id}"'),
    "postcode two spaces": ("postcode", 'postcode.replace(" ", "  ")'),
    "postcode hyphen": ("postcode", 'postcode.replace(" ", "-")'),
    "postcode lower no space": ("postcode", 'postcode.replace(" ", "").lower()'),
    "id prefixed": ("child id", '"ID-" + child'),
    "id inside a token": ("child id", '"ID" + child + "X"'),
}
#: files the planted notebook writes into its out_dir -> the kind the scan must find in each
WRITTEN = {
    "dates.xlsx": "date of birth",  # an Excel date cell
    "chart.svg": "UPN",
    "extract.dat": "UPN",
    "rows.csv.gz": "child id",
    "qa/planted_rows.csv": "UPN",  # a QA file, read by value
    "chart.png": "unchecked image",
}
PLANTED_FILES = """
fig, ax = plt.subplots()
ax.bar(["White", "Black"], [30, 40])
ax.set_title(f"Child {child}, born {dob:%d/%m/%Y}, of {postcode}")
display.figure(fig, "fig-planted", "Planted chart", alt="A bar chart.", close=False)
fig.savefig(out / "chart.png")
ax.set_title(f"Pupil {upn}")
fig.savefig(out / "chart.svg")
plt.close(fig)
pd.DataFrame({"born": [pd.Timestamp(dob)]}).to_excel(out / "dates.xlsx", index=False, engine="xlsxwriter")
(out / "extract.dat").write_text(f"{upn}\\n")
(out / "rows.csv.gz").write_bytes(gzip.compress(f"id\\nID-{child}\\n".encode()))
(out / "qa" / "planted_rows.csv").write_text(f"file,line,column,value\\nh.csv,2,MOTHER,{upn}\\n")
"""
PLANTED_SETUP = f"""
import gzip
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from rap.core.params import load_params
from rap.present import display
{PICK}
params = load_params(params_file)
v = pick(params.data_path, params.year)
child, upn, dob, postcode, sw_id = v["child"], v["upn"], v["dob"], v["postcode"], v["sw_id"]
out = Path(out_dir)
(out / "qa").mkdir(parents=True, exist_ok=True)
"""
FAILING = 'raise ValueError(f"child {child}, born {dob:%d/%m/%Y}, at {postcode}")'


def _plant(project: Path, folder: str, failing: bool = False) -> Path:
    """The project's section notebooks plus ``07_planted.ipynb``, which leaks every form (and raises at the
    end, if ``failing``), in ``project/folder``."""
    import nbformat

    target = project / folder
    shutil.copytree(project / "notebooks", target, dirs_exist_ok=True)
    nb = nbformat.v4.new_notebook(
        metadata=nbformat.read(project / "notebooks" / "01_data_availability.ipynb", 4).metadata
    )
    params = nbformat.v4.new_code_cell('params_file = "../params/2024.yaml"\nout_dir = "out"\nyear = 2024')
    params.metadata["tags"] = ["parameters"]
    code = [PLANTED_SETUP, *(f'print("<<{m}>> " + {expr})' for m, (_, expr) in PRINTED.items()), PLANTED_FILES]
    nb.cells = [nbformat.v4.new_markdown_cell("# Planted leaks"), params, *map(nbformat.v4.new_code_cell, code)]
    if failing:
        nb.cells.append(nbformat.v4.new_code_cell(FAILING))
    nbformat.write(nb, target / "07_planted.ipynb")
    return target


def _snapshot(outputs: Path) -> dict[str, str]:
    """Every file under ``outputs`` (locks aside) and its sha256."""
    import hashlib

    return {
        p.relative_to(outputs).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outputs.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def _contents(data: bytes) -> list[bytes]:
    """The bytes of a file and of everything packed inside it (zip members, gzip streams)."""
    import gzip
    import io
    import re

    out = [data]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                member = z.read(name)
                if name.startswith("xl/worksheets/"):  # a sheet's row numbers are markup, not content: row
                    member = re.sub(rb'<row r="[0-9]+"', b"<row", member)  # 100,011 is no child id
                out += _contents(member)
    elif data[:2] == b"\x1f\x8b":
        out += _contents(gzip.decompress(data))
    return out


def _forms(values: dict) -> list[str]:
    """Every written form of the planted values."""
    dob, postcode = values["dob"], values["postcode"]
    formats = ("%d/%m/%Y", "%Y-%m-%d", "%d %B %Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d", "%d/%m/%y")
    compact = postcode.replace(" ", "")
    postcodes = [postcode, compact, postcode.replace(" ", "  "), postcode.replace(" ", "-")]
    return [values["child"], values["upn"], values["sw_id"], *{dob.strftime(f) for f in formats}, *postcodes]


def _assert_nowhere_under(outputs: Path, values: dict, new: Iterable[str] = ()) -> None:
    """No file under ``outputs`` holds a planted value in any form as a whole token (as bytes, inside every
    zip member and gzip stream too); files ``new`` in this run hold none even inside a longer token."""
    import re

    forms = [f.encode() for f in _forms(values)] + [f.lower().encode() for f in _forms(values)]
    token = re.compile(rb"(?<![0-9A-Za-z])(?:" + b"|".join(map(re.escape, forms)) + rb")(?![0-9A-Za-z])")
    for p in sorted(q for q in outputs.rglob("*") if q.is_file()):
        for data in _contents(p.read_bytes()):
            assert not token.search(data), f"{p} holds a planted value"
            if p.relative_to(outputs).as_posix() in new:
                assert not any(f in data for f in forms), f"{p} holds a planted value"


def _assert_masked(message: str, values: dict) -> None:
    assert [f for f in _forms(values) if f.lower() in message.lower()] == []


def _assert_every_form_found(findings: list, values: dict) -> None:
    """Each printed form, the chart's text and each file the planted notebook wrote is a finding."""
    planted = [f for f in findings if f.file == "notebooks/07_planted.ipynb"]
    for marker, (kind, _) in PRINTED.items():
        assert any(f"<<{marker}>>" in f.excerpt and f.kind == kind for f in planted), marker
    chart = {f.kind for f in planted if "figure text" in f.location}
    assert chart == {"child id", "date of birth", "postcode"}
    for rel, kind in WRITTEN.items():
        assert kind in {f.kind for f in findings if f.file == rel}, rel
    assert all(f.detail != "a date in the range of the children's dates of birth" for f in planted)


@pytest.fixture(scope="module")
def planted(small_project, small_run, tmp_path_factory):
    """A copy of the small project after its build (its outputs/2024 and caches: the real sections come from
    the cache), and the values the planted notebook leaks."""
    from rap.core.params import load_params

    root = tmp_path_factory.mktemp("planted")
    for name in ("params", "notebooks", "data", "outputs"):
        shutil.copytree(small_project / name, root / name)
    shutil.copytree(small_project / ".cache", root / ".cache", ignore=shutil.ignore_patterns("measures"))
    params_file = root / "params" / "2024.yaml"
    params = load_params(params_file)
    ns: dict = {}
    exec(PICK, ns)
    return root, params_file, ns["pick"](params.data_path, params.year)


@pytest.mark.slow
@pytest.mark.parametrize("render", [True, False], ids=["report", "no-render"])
def test_each_planted_form_stops_the_build_and_nothing_under_outputs_keeps_it(planted, render):
    """A section notebook leaks every form at once (one run shows each: the scan reports every finding before
    it stops); with and without the report (``--no-render``)."""
    from rap.build import pipeline
    from rap.core.params import load_params

    project, params_file, values = planted
    notebooks = _plant(project, "notebooks-leaky")
    before = _snapshot(project / "outputs")
    with pytest.raises(LeakError) as err:
        pipeline.run(
            load_params(params_file),
            params_file,
            notebooks_dir=notebooks,
            workers=2,
            renderer="pandoc",
            progress=False,
            render_report=render,
        )
    _assert_every_form_found(err.value.findings, values)
    assert any(f.file.startswith("report/") for f in err.value.findings) is render
    _assert_masked(str(err.value), values)
    assert _snapshot(project / "outputs") == before  # outputs/2024 as it was; no staging folder left
    _assert_nowhere_under(project / "outputs", values)


@pytest.mark.slow
def test_a_failed_section_keeps_its_notebook_redacted_and_says_so_masked(planted, capsys):
    from rap.build.pipeline import BuildScan
    from rap.cli import main
    from rap.core.params import load_params

    project, params_file, values = planted
    notebooks = _plant(project, "notebooks-failing", failing=True)
    outputs = project / "outputs"
    before = _snapshot(outputs)
    code = main(["run", "--params", str(params_file), "--notebooks", str(notebooks), "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "section 07_planted failed" in err and "possible disclosures" in err
    _assert_masked(err, values)
    kept = outputs / "2024.failed" / "07_planted.ipynb"
    after = _snapshot(outputs)
    assert {k: v for k, v in after.items() if not k.startswith("2024.failed/")} == before
    assert [k for k in after if k.startswith("2024.failed/")] == ["2024.failed/07_planted.ipynb"]
    nb = json.loads(kept.read_text(encoding="utf-8"))
    assert nb["cells"][0]["source"].startswith("**Redacted before it was kept.**")
    assert "[child id]" in kept.read_text(encoding="utf-8")
    _assert_nowhere_under(outputs, values, new=["2024.failed/07_planted.ipynb"])
    params = load_params(params_file)
    needles = BuildScan(outputs, params).needles()
    assert leaks.file_findings(kept, "07_planted.ipynb", needles, 5, 10)[0] == []
