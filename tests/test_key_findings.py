"""The summary of main findings (issue 18): a few plain sentences built from the estimates and their
significance, each pointing to its table or chart, and the same sentences in the HTML, Word and PDF reports.

The hand-made tables below give the answer by construction: which groups' intervals exclude 1 (the hidden
direction column, judged on unrounded limits), their published numbers and the population behind the rates.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from rap.sections import breakdowns as B

WHITE, MIXED, ASIAN, BLACK = (
    "White",
    "Mixed or Multiple ethnic groups",
    "Asian or Asian British",
    ("Black, African, Caribbean or Black British"),
)


def _ratio(name: str, lo: float, hi: float, side: int) -> dict:
    return {name: (lo + hi) / 2, f"{name}_lower_95": lo, f"{name}_upper_95": hi, name + B.DIRECTION: float(side)}


def _cla(sides: dict[str, int]) -> pd.DataFrame:
    """Children looked after on 31 March: number and population by group; ``sides`` gives each group's ratio
    to all children (1 above, -1 below, 0 spanning 1)."""
    cells = {"Total": (8000, 100000), WHITE: (5700, 72000), MIXED: (880, 7000), ASIAN: (400, 13000), BLACK: (560, 6000)}
    rows = []
    for g, (n, pop) in cells.items():
        side = sides.get(g, 0)
        lo, hi = {1: (1.2, 1.8), -1: (0.3, 0.6), 0: (0.9, 1.1)}[side]
        rows.append(
            {
                "measure": "cla_on_31_march",
                "breakdown": "Total",
                "time_period": 2024,
                "geographic_level": "National",
                "ethnicity_major": g,
                "ethnicity_minor": "Total",
                "number": n,
                "percentage": round(100 * n / 8000),
                B.POPULATION: float(pop),
                **_ratio("ratio_to_all_children", lo, hi, side),
                **_ratio("ratio_to_reference", lo, hi, side),
            }
        )
    return pd.DataFrame(rows)


def test_over_and_under_representation_name_only_significant_groups_with_both_shares():
    line = B.representation_sentence(_cla({MIXED: 1, ASIAN: -1}), 2024, "The child population is synthetic.")
    assert line == (
        "Children from the Mixed ethnic group were over-represented among children looked after on 31 March 2024, "
        "and children from the Asian ethnic group under-represented: Mixed 11% of children looked after against "
        "7% of all children; Asian 5% against 13% (@tbl-cla). The child population is synthetic."
    )
    assert "Black" not in line and "White" not in line  # their intervals span 1


def test_shares_that_round_alike_get_a_decimal_place():
    t = _cla({BLACK: 1})
    t.loc[t["ethnicity_major"] == BLACK, "number"] = 490  # 6.1% of children looked after, 6.0% of all children
    assert "Black 6.1% of children looked after against 6.0% of all children" in B.representation_sentence(t, 2024)


def test_no_difference_and_no_intervals_say_so():
    assert B.representation_sentence(_cla({}), 2024).startswith("No ethnic group was significantly over- or under")
    t = _cla({MIXED: 1}).astype({"ratio_to_all_children_lower_95": object})
    t["ratio_to_all_children_lower_95"] = "x"
    assert "carry no confidence intervals, so over- and under-representation are not tested" in (
        B.representation_sentence(t, 2024)
    )


def _experience(measure: str, breakdown: str, sides: dict[str, int], pct: dict[str, int]) -> pd.DataFrame:
    rows = []
    for g in ("Total", WHITE, MIXED, ASIAN):
        lo, hi = {1: (1.1, 1.5), -1: (0.4, 0.8), 0: (0.9, 1.1)}[sides.get(g, 0)]
        rows.append(
            {
                "measure": measure,
                "breakdown": breakdown,
                "time_period": 2024,
                "geographic_level": "National",
                "ethnicity_major": g,
                "ethnicity_minor": "Total",
                "percentage": pct.get(g, 10),
                **_ratio("ratio_to_reference", lo, hi, sides.get(g, 0)),
            }
        )
    wb = dict(rows[1], ethnicity_minor="White British", percentage=9)
    return pd.DataFrame([*rows, wb])


def test_experiences_name_groups_against_white_british_with_their_percentages():
    t = pd.concat(
        [
            _experience("missing", "Children who went missing", {MIXED: 1}, {MIXED: 13}),
            _experience("placement_stability", "3 or more placements", {ASIAN: -1}, {ASIAN: 5}),
        ]
    )
    assert B.experience_sentence(t, 2024) == (
        "Compared with White British children, children from the Mixed ethnic group went missing more often (13% "
        "against 9%; @tbl-missing); children from the Asian ethnic group had 3 or more placements in the year less "
        "often (5% against 9%; @tbl-placements)."
    )


def test_experiences_without_intervals_are_not_tested():
    t = _experience("missing", "Children who went missing", {MIXED: 1}, {}).astype(
        {"ratio_to_reference_lower_95": object}
    )
    t["ratio_to_reference_lower_95"] = "x"
    line = B.experience_sentence(t, 2024)
    assert line.startswith("The figures on who went missing carry no confidence intervals") and "Mixed" not in line


# ------------------------------------------------------------------------------ the built report


def _bullets(out: Path) -> list[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((out / "summary").glob("*.md")))
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def _words(text: str) -> str:
    """Text compared across formats: letters and digits only (line breaks, hyphenation, quotes differ)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _without_references(bullet: str) -> list[str]:
    """The parts of a bullet between its cross-references (each format numbers them itself)."""
    return [p for p in re.split(r"@(?:tbl|fig)-[a-z0-9-]+", bullet) if len(_words(p)) > 20]


def test_at_most_eight_findings_each_pointing_to_a_table_or_chart(small_run):
    bullets = _bullets(small_run)
    assert 4 <= len(bullets) <= 8, bullets
    assert all(re.search(r"@(tbl|fig)-[a-z0-9-]+", b) for b in bullets), bullets
    html = (small_run / "report" / "cla-ethnicity-2024.html").read_text(encoding="utf-8")
    summary = html[html.index('id="summary-of-main-findings"') : html.index('id="about-this-report"')]
    links = re.findall(r'<a href="#((?:tbl|fig)-[a-z0-9-]+)"', summary)
    assert len(links) >= len(bullets) and all(f'id="{i}"' in html for i in links)


def test_the_same_findings_in_html_word_and_pdf(small_run):
    report = small_run / "report"
    html = re.sub(r"<[^>]+>", "", (report / "cla-ethnicity-2024.html").read_text(encoding="utf-8"))
    with zipfile.ZipFile(report / "cla-ethnicity-2024.docx") as z:
        docx = re.sub(r"<[^>]+>", "", z.read("word/document.xml").decode("utf-8"))
    try:
        pdf = subprocess.run(["pdftotext", str(report / "cla-ethnicity-2024.pdf"), "-"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        pdf = "\n".join(line for line in pdf.splitlines() if not line.strip().isdigit())  # page numbers
    except FileNotFoundError:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    import html as h

    for name, text in (("HTML", h.unescape(html)), ("Word", h.unescape(docx)), ("PDF", pdf)):
        flat = _words(text)
        for bullet in _bullets(small_run):
            for part in _without_references(bullet):
                assert _words(part) in flat, (name, part)
