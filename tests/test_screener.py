"""DfE's EES screener: every table a build publishes passes it (no FAIL), and the QA annex says so.

The screener is R (``make screener-tools`` installs it from the bundle beside the clone); without it these tests
skip and say why, and the build's check says it did not run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rap.build import checks, screener

REPO = Path(__file__).resolve().parents[1]


def _rows(file: str, overall: str, api: bool, extra: list[tuple[str, str]]) -> list[dict]:
    rows = [{"file": file, "check": c, "result": r, "stage": "", "message": f"{c} says so"} for c, r in extra]
    return rows + [{"file": file, "check": "overall", "result": overall, "stage": "", "message": f"api_suitable={api}"
                    .replace("True", "TRUE").replace("False", "FALSE")}]  # fmt: skip


def test_results_by_file_and_the_annex_line():
    rows = _rows("a.csv", "PASSED", True, [("col_names", "PASS")])
    rows += _rows("b.csv", "PASSED", False, [("filter_defaults", "WARNING"), ("harmonised_eth_vals", "WARNING")])
    rows += _rows("c.csv", "FAILED", False, [("col_ind_smushed", "FAIL"), ("filter_defaults", "WARNING")])
    got = screener._by_file(rows)
    assert [(f.file, f.passed, f.api_suitable) for f in got] == [
        ("a.csv", True, True),
        ("b.csv", True, False),
        ("c.csv", False, False),
    ]
    ok, text = screener.summary(got)
    assert not ok and text.startswith("2 of 3 files pass (no FAIL); 1 suitable for the EES API")
    assert "failing: c.csv (col_ind_smushed)" in text and "filter_defaults (2 files)" in text
    assert screener.summary(got[:1])[0]
    ok, text = screener.summary(got[:2])  # passing, but warned for reasons screener_residuals.yaml does not give
    assert not ok and "filter_defaults: (no item named)" in text


def test_without_the_screener_the_check_says_it_did_not_run(tmp_path, monkeypatch):
    from rap.core.params import load_params

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "t.meta.csv").write_text("col_name,col_type\n")
    monkeypatch.setattr(screener, "screener_home", lambda root: None)
    build = checks.Build(tmp_path, load_params(REPO / "params" / "2024.yaml"))
    [c] = checks.ees_screener(build)
    assert c.result == checks.NOT_RUN and "make screener-tools" in c.detail


def _home() -> Path:
    home = screener.screener_home(REPO)
    if home is None:
        pytest.skip("eesyscreener not installed (make screener-tools installs R and it, as root, from the bundle)")
    return home


@pytest.mark.slow
def test_every_table_of_the_small_build_passes_the_screener(small_run):
    _home()
    with (small_run / "qa" / "checks.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and r[0] == checks.EES_SCREENER]
    assert len(rows) == 1 and rows[0][1] == checks.PASSED, rows
    tables = len(list((small_run / "tables").glob("*.meta.csv")))
    assert rows[0][2].startswith(f"{tables} of {tables} files pass")


@pytest.mark.slow
def test_every_table_of_the_published_route_passes_the_screener(published_build):
    """DfE's 2024 release through the published route: the tables it publishes pass too."""
    home = _home()
    results = screener.screen_folder(published_build(2024), home)
    failing = {f.file: f.messages for f in results if not f.passed}
    assert len(results) >= 10 and not failing, failing
    loose = {r["check"]: r["not_explained"] for r in screener.warning_rows(results) if r["not_explained"]}
    assert not loose, loose  # every warning left is one screener_residuals.yaml explains


def test_a_warning_item_no_reason_covers_fails_the_check():
    """A label that could have been harmonised (here the CLA label of the Mixed group) is not a residual."""
    eth = "The following ethnicity filter combination 'White, Irish Traveller', 'Unknown, Total' does not conform."
    rows = _rows("a.csv", "PASSED", False, [("harmonised_eth_vals", "WARNING")])
    rows[0]["message"] = eth
    ok, text = screener.summary(screener._by_file(rows))
    assert ok and "every warning has its reason" in text
    rows[0]["message"] = eth.replace("'Unknown, Total'", "'Mixed or Multiple ethnic groups, Total'")
    ok, text = screener.summary(screener._by_file(rows))
    assert not ok and "harmonised_eth_vals: Mixed or Multiple ethnic groups, Total" in text


def test_message_items_keep_apostrophes_inside_an_item():
    msg = "combinations are not present ...: 'breakdown / N2. Child's disability', 'ethnicity_minor / Refused'."
    assert screener.message_items(msg) == ["breakdown / N2. Child's disability", "ethnicity_minor / Refused"]
    cols = "The following columns are not present ... Indicators: 'rate_per_10000', 'ratio'. Filters: 'stage'."
    assert screener.message_items(cols) == ["rate_per_10000", "ratio", "stage"]
