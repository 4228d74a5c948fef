"""The rap command as a user meets it: end to end on small synthetic data, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rap.cli import main

REPO = Path(__file__).resolve().parents[1]


# small_project and small_run (the first `rap run`, shared with tests/test_accessibility.py) are in conftest.py.
@pytest.mark.slow
def test_run_end_to_end_then_unchanged_rerun_is_cached(small_project, small_run, capsys):
    params = small_project / "params" / "2024.yaml"
    out = small_run
    for name in ("cla-ethnicity-2024.html", "cla-ethnicity-2024.docx", "cla-ethnicity-2024.pdf", "_quarto.yml"):
        assert (out / "report" / name).is_file(), name
    assert (out / "tables" / "data_availability.csv").is_file()
    assert (out / "tables" / "data_availability.meta.csv").is_file()
    assert (out / "cla-ethnicity-2024-tables.xlsx").is_file()  # the accessible spreadsheet beside the CSVs
    checks = (out / "qa" / "checks.csv").read_text()
    failed = [line for line in checks.splitlines() if ",failed," in line]
    assert "Leak scan of every output file" in checks and failed == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["renderer"]["name"] in {"pandoc+typst", "quarto"}
    publishing = manifest["run"]["publishing"]  # where the time after the sections went
    assert set(publishing) == {"spreadsheet", "report", "leak scan"} and min(publishing.values()) >= 0
    html = (out / "report" / "cla-ethnicity-2024.html").read_text()
    assert "Data availability" in html and "<caption" in html and "params_file" not in html
    capsys.readouterr()
    assert main(["run", "--params", str(params)]) == 0
    printed = capsys.readouterr().out
    assert "0 executed" in printed and all(step in printed for step in ("spreadsheet", "report", "leak scan"))

    # Same inputs, everything executed and rendered again elsewhere, one process at a time (the first run
    # wrote the spreadsheet in a second process): byte-identical but for the manifest.
    again = small_project / "again"
    assert main(["run", "--params", str(params), "--no-cache", "--workers", "1", "--out", str(again)]) == 0
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again / "2024") for p in (again / "2024").rglob("*") if p.is_file())
    differ = [str(f) for f in files if (out / f).read_bytes() != (again / "2024" / f).read_bytes()]
    assert differ == ["manifest.json"]


def test_no_section_shows_a_bare_python_value(small_run):
    """A notebook cell whose last line returns a value (a list of paths written) prints its repr into the
    report as code, which no reader should see (and Quarto renders as an unlabelled scroll region)."""
    shown = []
    for nb in sorted((small_run / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if out["output_type"] == "stream" or (data and not {"text/markdown", "image/png"} & set(data)):
                    shown.append(f"{nb.name} cell {i}: {str(out.get('text') or data)[:80]}")
    assert shown == []


def test_bad_params_exit_non_zero_naming_file_and_key(tmp_path):
    (tmp_path / "params").mkdir()
    shutil.copy(REPO / "params" / "defaults.yaml", tmp_path / "params")
    bad = tmp_path / "params" / "2024.yaml"
    bad.write_text("year: 2024\nsuppression:\n  threshold: -1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "rap.cli", "check", "--params", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and "suppression.threshold" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_on_a_record_folder_with_a_bad_header_names_the_file(tmp_path):
    (tmp_path / "params").mkdir()
    shutil.copy(REPO / "params" / "defaults.yaml", tmp_path / "params")
    data = tmp_path / "data" / "ssda903" / "2024" / "805"
    data.mkdir(parents=True)
    (data / "whatever.csv").write_text("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER\n1,1,01/01/2010,WBRI,UN1,\n")
    params = tmp_path / "params" / "2024.yaml"
    params.write_text("year: 2024\nyears: 1\ndata:\n  kind: record\n  path: data\n")
    proc = subprocess.run(
        [sys.executable, "-m", "rap.cli", "check", "--params", str(params)], capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    assert "whatever.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_source_notebooks_are_committed_without_outputs():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one cell tagged parameters"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"


def _record_project(tmp_path: Path, episodes_rows: list[str]) -> Path:
    """A one-LA, one-year record-level project built from the shared sample's layout."""
    (tmp_path / "params").mkdir()
    shutil.copy(REPO / "params" / "defaults.yaml", tmp_path / "params")
    la = tmp_path / "data" / "ssda903" / "2024" / "805"
    la.mkdir(parents=True)
    (la / "h.csv").write_text(
        "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n" + "".join(f"{i},1,01/01/2010,WBRI,UN1,,\n" for i in range(1, 11))
    )
    (la / "e.csv").write_text(
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
        + "".join(episodes_rows)
    )
    params = tmp_path / "params" / "2024.yaml"
    params.write_text("year: 2024\nyears: 1\ndata:\n  kind: record\n  path: data\n")
    return params


def test_check_names_file_line_column_and_value_of_a_bad_date(tmp_path):
    good = [f"{i},01/05/2023,S,C2,N1,U1,PR1,,,,,,\n" for i in range(1, 10)]
    params = _record_project(tmp_path, good + ["10,31/02/2023,S,C2,N1,U1,PR1,,,,,,\n"])
    proc = subprocess.run(
        [sys.executable, "-m", "rap.cli", "check", "--params", str(params)], capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "e.csv, line 11, column DECOM, value '31/02/2023'" in proc.stdout
    rejected = (tmp_path / "outputs" / "2024.check" / "qa" / "rejected_episodes.csv").read_text()
    # the console names the value for the analyst; the file under outputs/ redacts the date
    assert "31/02/2023" not in rejected and "[date]" in rejected and not (tmp_path / "outputs" / "2024").exists()


def test_run_stops_when_a_table_loses_more_than_the_allowed_share(tmp_path):
    from rap.core.errors import InputError
    from rap.core.params import load_params
    from rap.inputs.load import load_record_data

    bad = [f"{i},31/02/2023,S,C2,N1,U1,PR1,,,,,,\n" for i in range(1, 11)]
    params = load_params(_record_project(tmp_path, bad))
    with pytest.raises(InputError) as exc:
        load_record_data(params)
    msg = str(exc.value)
    assert "e.csv" in msg and "line 2" in msg and "100.00% of Episodes rows were rejected" in msg
