"""rap.build.annexes: changes since last year, methods annex, QA annex (from published tables only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rap.build import annexes as A
from rap.domain.ees import write_ees


def _table(folder: Path, name: str, rows: list[tuple]) -> None:
    df = pd.DataFrame(
        rows, columns=["time_period", "geographic_level", "ethnicity_major", "ethnicity_minor", "number", "percentage"]
    )
    df.insert(1, "time_identifier", "Reporting year")
    df.insert(3, "country_code", "E92000001")
    df.insert(4, "country_name", "England")
    write_ees(
        df,
        folder / f"{name}.csv",
        filters={"ethnicity_major": "Major", "ethnicity_minor": "Minor"},
        indicators={"number": ("Number", "", 0), "percentage": ("Percentage", "%", 0)},
    )


def test_compare_years_finds_revised_suppressed_new_and_discontinued(tmp_path):
    prev, cur = tmp_path / "2023", tmp_path / "2024"
    _table(
        prev,
        "cla",
        [
            (2022, "National", "White", "Total", "100", "50"),
            (2023, "National", "White", "Total", "110", "52"),
            (2023, "National", "Mixed", "Total", "20", "10"),
            (2021, "National", "White", "Total", "90", "49"),
        ],
    )
    _table(
        cur,
        "cla",
        [
            (2022, "National", "White", "Total", "100", "50"),
            (2023, "National", "White", "Total", "120", "53"),
            (2023, "National", "Mixed", "Total", "c", "c"),
            (2024, "National", "White", "Total", "130", "60"),
        ],
    )
    _table(prev, "gone", [(2023, "National", "White", "Total", "1", "1")])
    _table(cur, "fresh", [(2024, "National", "White", "Total", "1", "1")])
    ch = A.compare_years(cur, prev, 2024)
    assert ch.new_tables == ["fresh"] and ch.discontinued_tables == ["gone"]
    row = ch.per_table.set_index("Table").loc["cla"]
    assert row["Years compared"] == "2022 to 2023"
    assert row["Revised"] == 2  # 2023 White number and percentage
    assert row["Newly suppressed"] == 2  # 2023 Mixed number and percentage
    assert ch.revisions.iloc[0]["Last year's"] == "110" and ch.revisions.iloc[0]["This year's"] == "120"
    mv = ch.movements
    assert mv.iloc[0]["Indicator"] == "percentage" and mv.iloc[0]["Change"] == "+7.0"  # 53 -> 60
    md = A.changes_markdown(cur, prev, 2024)
    assert "{#tbl-changes-summary}" in md and "`fresh`" in md and "`gone`" in md


def test_changes_without_previous_year_says_so(tmp_path):
    _table(tmp_path / "2024", "cla", [(2024, "National", "White", "Total", "130", "60")])
    md = A.changes_markdown(tmp_path / "2024", None, 2024)
    assert "No published tables from 2023" in md


def test_qa_annex_counts_the_failed_checks(tmp_path):
    from rap.build.checks import Check

    checks = [
        Check("Table cla: EES format and symbols", "failed", "1 rows; 1 cells suppressed (c); 1 blank indicator cells"),
        Check("Reader schema checks", "passed", "no input row rejected"),
    ]
    md = A.qa_markdown(checks)
    assert "2 checks, 1 failed" in md and "{#tbl-annex-qa}" in md
    assert "| Table cla: EES format and symbols | Failed |" in md


def test_qa_annex_gives_each_screener_warning_its_reason(tmp_path):
    from rap.build import screener
    from rap.build.checks import Check

    rows = [
        {
            "file": f,
            "check": "harmonised_eth_vals",
            "result": "WARNING",
            "stage": "",
            "message": "combination 'White, Gypsy / Roma', 'Pink, Total' does not conform.",
        }
        for f in ("a.csv", "b.csv")
    ]
    rows += [{"file": f, "check": "overall", "result": "PASSED", "stage": "", "message": "api_suitable=FALSE"}
             for f in ("a.csv", "b.csv")]  # fmt: skip
    [row] = screener.warning_rows(screener._by_file(rows))
    assert row["files"] == 2 and row["not_explained"] == ["Pink, Total"] and "Gypsy or Irish Traveller" in row["reason"]
    csv = tmp_path / "w.csv"
    pd.DataFrame([{**row, "not_explained": "; ".join(row["not_explained"])}]).to_csv(csv, index=False)
    md = A.qa_markdown([Check("x", "passed", "")], screener=csv)
    assert "{#tbl-annex-screener}" in md and "| harmonised\\_eth\\_vals | 2 |" in md and "| Pink, Total |" in md


def test_methods_annex(repo_root):
    from rap.core.params import load_params

    params = load_params(repo_root / "params" / "2024.yaml")
    m = A.methods_markdown(
        params,
        {
            "data/synthetic/ssda903/2024/801/header.csv": "a" * 64,
            "data/synthetic/ssda903/2024/802/header.csv": "b" * 64,
        },
    )
    assert "nearest 10" in m and "from 1 to 5" in m
    assert "| data/synthetic/ssda903/2024 | 2 |" in m
    assert "Data kind: `synthetic`" in m
    assert "No input files were recorded" in A.methods_markdown(params, {})


def test_cached_annexes_and_spreadsheet_follow_the_whole_package(tmp_path, repo_root, monkeypatch):
    """The annexes use the report's table writer, the measure catalogue and the suppression symbols, so their
    cache key is the package's code (as the runner hashed it), not annexes.py alone: a change anywhere in
    rap makes new annexes. Without a run result the package is hashed here, to the same value."""
    import dataclasses

    from rap.build import pipeline
    from rap.build.runner import RunResult
    from rap.core.params import load_params

    params = load_params(repo_root / "params" / "2024.yaml")
    result = RunResult(
        out_dir=tmp_path,
        params_file=tmp_path / "p.yaml",
        sections=[],
        inputs={},
        started="",
        finished="",
        seconds=0.0,
        code="a" * 64,
    )
    key = pipeline._annex_key(tmp_path, params, result, tmp_path / "none")
    assert key != pipeline._annex_key(tmp_path, params, dataclasses.replace(result, code="b" * 64), tmp_path / "none")
    assert pipeline._annex_key(
        tmp_path, params, dataclasses.replace(result, code=pipeline._package_code()), tmp_path / "none"
    ) == pipeline._annex_key(tmp_path, params, dataclasses.replace(result, code=""), tmp_path / "none")
