"""The LA explorer (issue 18): one self-contained page beside the report, written by every build, that shows an
LA's dashboard indicators by ethnic group beside its region, statistical neighbours and England.

The page is opened offline in headless Chromium (tests/a11y/check_explorer.js, the accessibility test's tools):
no remote request, no script error, 0 axe-core WCAG 2.2 A/AA violations at 1280 and 320 px, LAs picked with the
keyboard and by value. Without Chromium, Node or the npm tools the browser tests skip and say why.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rap.report.explorer import ALL_CHILDREN, explorer_data, explorer_html, explorer_name
from test_accessibility import NODE_MODULES, _tools  # the same browser tools

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "a11y" / "check_explorer.js"
GEO = ["time_period", "geographic_level", "region_code", "region_name", "new_la_code", "la_name"]


def _dashboard(tmp_path: Path) -> Path:
    rows = []
    for year in (2023, 2024):
        for geo in (
            (year, "National", "", "", "", ""),
            (year, "Regional", "E12000001", "North East", "", ""),
            (year, "Local authority", "E12000001", "North East", "E06000001", "Hartlepool"),
            (year, "Local authority", "E12000001", "North East", "E06000002", "Middlesbrough"),
        ):
            for group, value in (("Total", "70.5"), ("White", "c"), ("Mixed or Multiple ethnic groups", "x")):
                rows.append(dict(zip(GEO, geo)) | {"indicator": "cla_rate", "ethnicity_major": group, "value": value})
    t = tmp_path / "tables"
    t.mkdir()
    pd.DataFrame(rows).to_csv(t / "dashboard_indicators.csv", index=False)
    nb = {"new_la_code": ["E06000001"], "rank": ["1"], "neighbour_code": ["E06000002"]}
    pd.DataFrame(nb).to_csv(t / "la_statistical_neighbours.csv", index=False)
    return t


def test_the_data_are_the_published_values_only(tmp_path):
    tables = _dashboard(tmp_path)
    data = explorer_data(tables, 2024)
    assert data["groups"][0] == ALL_CHILDREN and data["years"] == [2023, 2024]
    assert [la["name"] for la in data["las"]] == ["Hartlepool", "Middlesbrough"]
    assert data["las"][0]["neighbours"] == ["E06000002"] and data["las"][0]["region"] == "R:E12000001"
    v = data["v"]["cla_rate"]
    assert set(v) == {"E", "R:E12000001", "E06000001", "E06000002"}
    assert v["E06000001"][1] == ["70.5", "c", "x"]  # symbols as published, never a number
    published = set(pd.read_csv(tables / "dashboard_indicators.csv", dtype=str)["value"])
    assert {x for rows in v.values() for row in rows for x in row} <= published


def test_the_page_inlines_everything_and_no_string_ends_its_script(tmp_path):
    data = explorer_data(_dashboard(tmp_path), 2024)
    data["las"][0]["name"] = "Hartlepool</script><script>alert(1)"
    page = explorer_html(data, "Explorer & <test>")
    assert page.count("</script>") == 1 and "<title>Explorer &amp; &lt;test&gt;</title>" in page
    assert "http://" not in page and "https://" not in page  # no remote asset, script or font


# ------------------------------------------------------------------------------ in the browser, on a real build


@pytest.fixture(scope="module")
def browsed(small_run, tmp_path_factory) -> tuple[dict, dict, Path]:
    tools = _tools()
    if isinstance(tools, str):
        pytest.skip(f"explorer browser test skipped: {tools}")
    chromium, node = tools
    page = small_run / "report" / explorer_name("cla-ethnicity-2024")
    data = explorer_data(small_run / "tables", 2024)
    picks = [data["las"][-1]["code"], data["las"][len(data["las"]) // 2]["code"]]
    proc = subprocess.run(
        [node, str(SCRIPT), "--html", str(page), "--out", str(tmp_path_factory.mktemp("explorer")),
         "--modules", str(NODE_MODULES), "--chromium", chromium, "--pick", ",".join(picks)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if proc.returncode == 3:
        pytest.skip(f"Chromium could not be started: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout), data, small_run


def test_every_build_writes_the_explorer_and_the_report_links_to_it(small_run):
    name = explorer_name("cla-ethnicity-2024")
    assert (small_run / "report" / name).is_file()
    assert f'href="{name}"' in (small_run / "report" / "cla-ethnicity-2024.html").read_text(encoding="utf-8")


def test_offline_accessible_at_both_widths(browsed):
    report, _, _ = browsed
    assert [v["width"] for v in report["viewports"]] == [1280, 320]
    for vp in report["viewports"]:
        assert vp["remote"] == [] and vp["errors"] == [], vp["name"]
        assert vp["violations"] == [], (vp["name"], vp["violations"])
        assert vp["initial"]["scrollWidth"] <= vp["width"] and not vp["initial"]["overflowing"], vp["name"]


def test_every_la_of_the_year_can_be_picked_with_the_keyboard(browsed):
    report, data, _ = browsed
    for vp in report["viewports"]:
        first, keyed = vp["initial"], vp["byKeyboard"]
        assert first["options"] == len(data["las"])
        assert keyed["focused"] == "la" and keyed["selected"] != first["selected"]
        assert keyed["selectedName"] in keyed["status"]


def test_a_picked_la_shows_its_published_figures_charts_tables_and_csvs(browsed):
    report, data, outputs = browsed
    dash = pd.read_csv(outputs / "tables" / "dashboard_indicators.csv", dtype=str, keep_default_na=False)
    first = data["indicators"][0]["id"]
    for shown in report["viewports"][0]["picked"]:
        la = next(x for x in data["las"] if x["code"] == shown["selected"])
        assert shown["status"].startswith(f"Showing {la['name']} ({la['region_name']})")
        n = len(data["indicators"])
        assert shown["sections"] == n and shown["charts"] == 2 * n and shown["tables"] == n
        assert len(shown["downloads"]) == n and all(d["href"] == "blob:" for d in shown["downloads"])
        # the first row of the first table: the LA in the first year, each group as published
        year = str(data["years"][0])
        rows = dash[(dash["indicator"] == first) & (dash["new_la_code"] == la["code"]) & (dash["time_period"] == year)]
        want = rows.set_index("ethnicity_major")["value"].reindex(["Total", *data["groups"][1:]])
        words = {"c": "[c] suppressed", "x": "[x] not available", "z": "[z] not applicable"}
        assert shown["firstRow"][:2] == [year, la["name"]]
        assert shown["firstRow"][2:] == [words.get(v, v) if isinstance(v, str) else "no figure" for v in want]


def test_without_la_rows_the_la_chapters_rates_stand_in(tmp_path):
    """DfE's published tables give LAs only children looked after by major group: the explorer then shows that
    rate from the LA chapter's table, with its region's and England's from the same table."""
    t = tmp_path / "tables"
    t.mkdir()
    nat = {"time_period": "2024", "geographic_level": "National", "region_code": "", "region_name": "",
           "new_la_code": "", "la_name": "", "indicator": "cla_rate", "ethnicity_major": "White", "value": "x"}  # fmt: skip
    pd.DataFrame([nat]).to_csv(t / "dashboard_indicators.csv", index=False)
    la = {"time_period": "2024", "geographic_level": "Local authority", "region_code": "E12000001",
          "region_name": "North East", "new_la_code": "E06000001", "la_name": "Hartlepool",
          "ethnicity_major": "White", "rate_per_10000": "66.7", "region_rate": "110.0", "england_rate": "68.0"}  # fmt: skip
    pd.DataFrame([la]).to_csv(t / "la_cla_rates_by_ethnicity.csv", index=False)
    data = explorer_data(t, 2024)
    v = data["v"]["cla_rate"]
    white = data["groups"].index("White")
    assert [data["las"][0]["name"], v["E06000001"][0][white], v["R:E12000001"][0][white], v["E"][0][white]] == [
        "Hartlepool",
        "66.7",
        "110.0",
        "68.0",
    ]
