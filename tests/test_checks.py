"""rap.build.checks: every check can fail, with a message saying what it found, and the registry lists every
check a build writes to ``qa/checks.csv`` and the QA annex."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from rap.build import checks as C
from rap.build.leaks import Finding, ScanReport
from rap.core.params import Params, load_params
from rap.domain.ees import write_ees

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def params(repo_root) -> Params:
    return load_params(repo_root / "params" / "2024.yaml")


def _run(params_file: str = "2024.yaml", inputs: dict | None = None, sections=()) -> SimpleNamespace:
    """What the checks read of the runner's RunResult."""
    return SimpleNamespace(
        params_file=Path("/somewhere/params") / params_file,
        inputs={"data/a.csv": "a" * 64} if inputs is None else inputs,
        sections=[SimpleNamespace(name=n, state=s) for n, s in sections],
    )


def _table(folder: Path, name: str, numbers: list[str]) -> Path:
    df = pd.DataFrame(
        {"time_period": "2024", "geographic_level": "National", "ethnicity_major": "White", "number": numbers}
    )
    df.insert(1, "time_identifier", "Reporting year")
    df.insert(3, "country_code", "E92000001")
    df.insert(4, "country_name", "England")
    write_ees(
        df, folder / f"{name}.csv", filters={"ethnicity_major": "Major"}, indicators={"number": ("Number", "", 0)}
    )
    return folder / f"{name}.csv"


def _rejected(qa: Path, table: str, reasons: list[str], header: str = "file,line,column,value,reason,table") -> Path:
    qa.mkdir(parents=True, exist_ok=True)
    path = qa / f"rejected_{table}.csv"
    rows = [f"data/x/{table}.csv,{i + 2},DEC,[date],{r},{table.capitalize()}" for i, r in enumerate(reasons)]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# each check, passing and failing


def test_parameters_pass_when_they_validate_again(tmp_path, params):
    [check] = C.parameters_validated(C.Build.after_run(tmp_path, params, _run("small.yaml")))
    assert (check.name, check.result, check.detail) == (C.PARAMETERS, "passed", "small.yaml with defaults.yaml")
    [check] = C.parameters_validated(C.Build(tmp_path, params))
    assert check.detail == "parameters with defaults.yaml"


def test_parameters_fail_when_an_input_file_went_missing(tmp_path):
    (tmp_path / "params").mkdir()
    shutil.copy(ROOT / "params" / "defaults.yaml", tmp_path / "params" / "defaults.yaml")
    la_file = tmp_path / "la.csv"
    la_file.write_text("x\n")
    (tmp_path / "params" / "p.yaml").write_text("year: 2024\ndata:\n  la_ethnicity_file: la.csv\n")
    params = load_params(tmp_path / "params" / "p.yaml")
    la_file.unlink()
    [check] = C.parameters_validated(C.Build.after_run(tmp_path, params, _run("p.yaml")))
    assert check.result == "failed"
    assert check.detail == "p.yaml: data.la_ethnicity_file: la.csv does not exist"


def test_parameters_fail_out_of_range(tmp_path):
    [check] = C.parameters_validated(C.Build(tmp_path, Params.model_construct(year=1900)))
    assert check.result == "failed" and check.detail.startswith("parameters: year: Input should be greater than")


def test_inputs_hashed(tmp_path, params):
    assert C.inputs_hashed(C.Build(tmp_path, params)) == []  # no run result: not listed
    [check] = C.inputs_hashed(C.Build.after_run(tmp_path, params, _run(inputs={f"{i}.csv": "a" for i in range(1200)})))
    assert (check.result, check.detail) == ("passed", "1,200 files")
    [check] = C.inputs_hashed(C.Build.after_run(tmp_path, params, _run(inputs={})))
    assert check.result == "failed" and "no input file was hashed" in check.detail


def test_sections_ran_fails_for_a_section_that_did_not_finish(tmp_path, params):
    states = [("01_a", "done"), ("02_b", "cached"), ("03_c", "failed"), ("04_d", "skipped"), ("05_e", "cancelled")]
    results = C.sections_ran(C.Build.after_run(tmp_path, params, _run(sections=states)))
    assert [(c.name, c.result) for c in results] == [
        ("Section 01_a ran without error", "passed"),
        ("Section 02_b ran without error", "passed"),
        ("Section 03_c ran without error", "failed"),
        ("Section 05_e ran without error", "failed"),
    ]  # a section neither selected nor cached is not part of the build
    assert results[2].detail == "failed: its executed notebook shows where it stopped"


def test_reader_schema_passes_with_reasons(tmp_path, params):
    assert C.reader_schema(C.Build(tmp_path, params)) == [C.Check(C.READER_SCHEMA, "passed", "no input row rejected")]
    _rejected(tmp_path / "qa", "episodes", ["DEC before DECOM", "bad code"])
    _rejected(tmp_path / "qa", "header", [])
    results = C.reader_schema(C.Build(tmp_path, params))
    assert [(c.name, c.result) for c in results] == [
        ("Reader schema checks: episodes", "passed"),
        ("Reader schema checks: header", "passed"),
    ]
    assert results[0].detail == (
        "2 rows quarantined with reasons (qa/rejected_episodes.csv); each table under the 1.0% limit"
    )


def test_reader_schema_fails_for_a_row_without_a_reason(tmp_path, params):
    _rejected(tmp_path / "qa", "episodes", ["DEC before DECOM", " ", "bad code"])
    [check] = C.reader_schema(C.Build(tmp_path, params))
    assert check.result == "failed"
    assert check.detail == "1 of 3 rows quarantined without a reason (qa/rejected_episodes.csv)"


def test_reader_schema_fails_without_a_reason_column(tmp_path, params):
    _rejected(tmp_path / "qa", "uasc", ["x"], header="file,line,column,value,why,table")
    [check] = C.reader_schema(C.Build(tmp_path, params))
    assert check.result == "failed" and "has no reason column" in check.detail


def test_reader_schema_does_not_apply_to_published_tables(tmp_path, repo_root):
    params = load_params(repo_root / "params" / "2024.yaml", data={"kind": "published"})
    _rejected(tmp_path / "qa", "episodes", [" "])
    assert C.reader_schema(C.Build(tmp_path, params)) == []


def test_table_format_counts_suppressed_cells_and_fails_on_a_blank(tmp_path, params):
    tables = tmp_path / "tables"
    _table(tables, "cla_on_31_march", ["c", "40", "c"])
    blank = _table(tables, "started", ["c", "12"])
    blank.write_text(blank.read_text().replace(",12", ","))  # a blank cell write_ees itself would refuse
    (tables / "notes.csv").write_text("a,b\n1,2\n")  # no metadata: not a published table, not checked
    results = C.tables_format(C.Build(tmp_path, params))
    assert [(c.name, c.result, c.detail) for c in results] == [
        (
            "Table cla on 31 march: EES format and symbols",
            "passed",
            "3 rows; 2 cells suppressed (c); 0 blank indicator cells",
        ),
        ("Table started: EES format and symbols", "failed", "2 rows; 1 cells suppressed (c); 1 blank indicator cells"),
    ]


def test_leak_scan_fails_on_a_finding(tmp_path, params):
    assert C.leak_scan(C.Build(tmp_path, params)) == []  # not run yet
    clean = ScanReport([], ["a.csv", "b.md"], ["fig.png"], 0.0)
    [check] = C.leak_scan(C.Build(tmp_path, params, scan=clean))
    assert (check.result, check.detail) == (
        "passed",
        "2 files scanned, nothing found; not readable as text: 1 (images)",
    )
    finding = Finding("summary/04.md", "child id", "line 3", "the child [child id]")
    [check] = C.leak_scan(C.Build(tmp_path, params, scan=ScanReport([finding, finding], ["summary/04.md"], [], 0.0)))
    assert check.result == "failed" and check.detail.startswith("2 possible disclosures in 1 files")


# --------------------------------------------------------------------------------------------------
# the registry and qa/checks.csv


def _full_build(tmp_path: Path, params: Params) -> C.Build:
    _rejected(tmp_path / "qa", "episodes", ["bad"])
    _table(tmp_path / "tables", "cla", ["c", "40"])
    run = _run(sections=[("01_a", "done"), ("02_b", "cached")])
    return C.Build.after_run(tmp_path, params, run)


def test_every_registered_check_runs_and_writes_only_registered_names(tmp_path, params):
    import dataclasses

    build = _full_build(tmp_path, params)
    before = C.run_checks(build)
    after = C.run_checks(dataclasses.replace(build, scan=ScanReport([], ["x"], [], 0.0)), C.AFTER_SCAN)
    entries = [C.registered(c.name) for c in before + after]
    assert None not in entries
    # every registered check gave a result, but the published route's own (tests/test_dfe_figures.py)
    assert set(entries) == {e for e in C.REGISTRY if C.DFE_FIGURES not in e.names}
    positions = [C.REGISTRY.index(e) for e in entries]
    assert positions == sorted(positions)  # in registry order
    assert {e.stage for e in entries[: len(before)]} == {C.BEFORE_REPORT} and after[0].name == C.LEAK_SCAN
    assert C.registered("Something nobody checks") is None


def test_checks_csv_is_written_as_before_and_appended_to(tmp_path, params):
    """The same bytes as the earlier writer (pandas' ``to_csv``): commas in names are quoted."""
    results = C.run_checks(_full_build(tmp_path, params))
    path = C.write_csv(results, tmp_path / "qa" / "checks.csv")
    expected = pd.DataFrame([c.__dict__ for c in results]).to_csv(index=False, lineterminator="\n")
    assert path.read_text(encoding="utf-8") == expected
    assert f'"{C.PARAMETERS}",passed,' in expected  # the name holds commas
    C.append_csv(C.leak_scan(C.Build(tmp_path, params, scan=ScanReport([], ["x"], [], 0.0))), path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(results) + 1 and rows[-1]["name"] == C.LEAK_SCAN


def test_a_clean_scan_appends_its_check(tmp_path, params):
    """rap.build.pipeline.BuildScan records the scan through the registry, once it found nothing."""
    from rap.build.pipeline import BuildScan

    path = C.write_csv([C.Check("x", "passed", "y")], tmp_path / "qa" / "checks.csv")
    scan = BuildScan(tmp_path, params, use_cache=False, inputs={})
    scan.scanned, scan.not_scanned = ["a.csv", "b.csv"], []
    scan.finish()
    last = path.read_text(encoding="utf-8").splitlines()[-1]
    assert last == f'"{C.LEAK_SCAN}",passed,"2 files scanned, nothing found; not readable as text: 0 (images)"'


@pytest.mark.slow
def test_the_registry_lists_every_check_a_build_writes(small_run):
    """Every row of a real build's ``qa/checks.csv`` comes from a registered check, in registry order, the
    leak scan last; every check of the registry that applies to a synthetic build wrote a row."""
    with (small_run / "qa" / "checks.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    entries = [C.registered(r["name"]) for r in rows]
    assert None not in entries, [r["name"] for r, e in zip(rows, entries) if e is None]
    positions = [C.REGISTRY.index(e) for e in entries]
    assert positions == sorted(positions)
    assert set(entries) == {e for e in C.REGISTRY if C.DFE_FIGURES not in e.names}  # that one: published route
    assert rows[-1]["name"] == C.LEAK_SCAN
    assert {r["result"] for r in rows} == {"passed"}
