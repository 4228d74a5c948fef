"""Bad input, second look (issue 14): every case gets a one-paragraph error naming file, line, column and value
(exit 2, never a traceback) or a quarantined row with its reason; nothing identifying reaches a QA file.

The command-line cases run the real ``rap`` command in a subprocess; the quarantine rules are checked on the
readers directly. Each case failed (traceback, vague error or silent pass) before these rules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rap.core.errors import InputError
from rap.inputs.readers.ees import read_ees_table
from rap.inputs.readers.population import read_children_by_la_ethnicity, read_mid_year_estimates
from rap.inputs.readers.school import read_school
from rap.inputs.readers.ssda903 import read_ssda903_xml, read_ssda903_years

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "reference-data"
_SCRIPT = Path(sys.executable).with_name("rap")
RAP = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "rap.cli"]

HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
UASC = "CHILD,SEX,DOB,DUC\n"
CHILDREN = ["1001,1,01/01/2010,WBRI,UN1,,", "1002,2,02/02/2012,BAFR,UN1,,"]
EPISODE_ROWS = ["1001,01/05/2023,S,C2,N1,U1,PR1,,,,,,", "1002,01/06/2023,S,C2,N2,K2,PR2,01/09/2023,E11,,,,"]
SCHOOL = "UPN,LA,ETHNIC,NCYEAR,SCHOOL_MOVES,MIDYEAR_MOVES,KS2_READ_EXP,KS2_WRIT_EXP,KS2_MAT_EXP,KS4_ATT8,KS4_EM_94\n"


def rap(*args: str | Path, patch: str | None = None) -> subprocess.CompletedProcess:
    """The ``rap`` command; with ``patch``, the same ``main`` in a fresh interpreter after running ``patch`` (to
    make the machine misbehave: an unreadable file, a full disk)."""
    argv = [str(a) for a in args]
    if patch is None:
        return subprocess.run(RAP + argv, capture_output=True, text=True)
    code = f"import errno, pathlib, sys\n{patch}\nfrom rap.cli import main\nsys.exit(main({argv!r}))\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def assert_clean_error(proc: subprocess.CompletedProcess, *parts: str) -> str:
    """Exit 2, no traceback, one line on stderr holding every one of ``parts``."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def rows(head: str, body: list[str]) -> str:
    return head + "".join(r + "\n" for r in body)


def record_project(tmp_path: Path, header: list[str] = CHILDREN, episodes: list[str] = EPISODE_ROWS) -> Path:
    """A one-year, one-LA record-level project; returns its params file."""
    (tmp_path / "params").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "params" / "defaults.yaml", tmp_path / "params")
    la = tmp_path / "data" / "ssda903" / "2024" / "805"
    write(la / "header.csv", rows(HEADER, header))
    write(la / "episodes.csv", rows(EPISODES, episodes))
    return write(tmp_path / "params" / "2024.yaml", "year: 2024\nyears: 1\ndata:\n  kind: record\n  path: data\n")


def la_folder(params: Path) -> Path:
    return params.parent.parent / "data" / "ssda903" / "2024" / "805"


# ------------------------------------------------------------------------------ tracebacks become errors


def test_cr_only_line_endings_are_named(tmp_path):
    params = record_project(tmp_path)
    f = la_folder(params) / "header.csv"
    f.write_bytes(f.read_bytes().replace(b"\n", b"\r"))
    assert_clean_error(rap("check", "--params", params), str(f), "line 1", "carriage return")


def test_a_stray_carriage_return_names_its_line(tmp_path):
    params = record_project(tmp_path, header=[CHILDREN[0], "1002,2,02/02/2012,BA\rFR,UN1,,"])
    f = la_folder(params) / "header.csv"
    assert_clean_error(rap("check", "--params", params), str(f), "line 3", "column ETHNIC")


@pytest.mark.parametrize("byte", [b"\x00", b"\x1a"])
def test_a_control_character_in_a_code_names_file_line_column_value(tmp_path, byte):
    params = record_project(tmp_path)
    f = la_folder(params) / "header.csv"
    f.write_bytes(f.read_bytes().replace(b"BAFR", b"BAFR" + byte))
    assert_clean_error(rap("check", "--params", params), str(f), "line 3", "column ETHNIC", "value 'BAFR\\x")


def test_an_unreadable_file_is_named(tmp_path):
    params = record_project(tmp_path)
    patch = (
        "_read = pathlib.Path.read_bytes\n"
        "def read_bytes(self):\n"
        "    if self.name == 'episodes.csv':\n"
        "        raise PermissionError(errno.EACCES, 'Permission denied', str(self))\n"
        "    return _read(self)\n"
        "pathlib.Path.read_bytes = read_bytes\n"
    )
    proc = rap("check", "--params", params, patch=patch)
    assert_clean_error(proc, str(la_folder(params) / "episodes.csv"), "cannot be read", "Permission denied")


def test_an_unreadable_input_stops_rap_run_with_one_message(tmp_path):
    params = record_project(tmp_path)
    patch = (
        "import builtins, rap.core.hashing\n"
        "def guarded(f, *a, **k):\n"
        "    if str(f).endswith('episodes.csv'):\n"
        "        raise PermissionError(errno.EACCES, 'Permission denied', str(f))\n"
        "    return builtins.open(f, *a, **k)\n"
        "rap.core.hashing.open = guarded\n"
    )
    proc = rap("run", "--params", params, "--no-render", "--notebooks", REPO / "notebooks", patch=patch)
    assert_clean_error(proc, str(la_folder(params) / "episodes.csv"), "cannot be read (Permission denied)")


def test_a_full_disk_is_one_message(tmp_path):
    params = record_project(tmp_path)
    patch = (
        "import pandas\n"
        "def to_csv(self, path=None, *a, **k):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device', str(path))\n"
        "pandas.DataFrame.to_csv = to_csv\n"
    )
    line = assert_clean_error(rap("check", "--params", params, patch=patch), "no space left on the device")
    assert "rejected_" in line  # names the file it could not write


def test_an_os_error_with_a_message_of_its_own_is_printed_as_it_is(tmp_path):
    """A published table without its .meta.csv: the spreadsheet raises FileNotFoundError with a message."""
    tables = tmp_path / "tables"
    write(tables / "t.csv", "time_period,geographic_level,number\n2024,National,10\n")
    patch = (
        "import rap.cli\n"
        "from rap.build.spreadsheet import write_spreadsheet\n"
        f"rap.cli._cmd_check = lambda args: write_spreadsheet(pathlib.Path({str(tables)!r}), "
        f"pathlib.Path({str(tmp_path / 'x.xlsx')!r}), title='t', year=2024, source='s')\n"
    )
    assert_clean_error(rap("check", "--params", "p.yaml", patch=patch), "t.csv has no metadata file t.meta.csv")


def test_params_that_are_a_folder_or_not_utf8_are_named(tmp_path):
    params = record_project(tmp_path)
    assert_clean_error(rap("check", "--params", params.parent), str(params.parent), "is a folder")
    latin = write(params.parent / "latin.yaml", "year: 2024\n# caf\xe9\n".encode("latin-1"))
    assert_clean_error(rap("check", "--params", latin), str(latin), "not UTF-8", "line 2")


def test_a_key_given_twice_in_params_is_an_error_not_the_last_one_winning(tmp_path):
    params = record_project(tmp_path)
    twice = write(params.parent / "twice.yaml", "year: 2024\nyears: 1\nyear: 2023\n")
    assert_clean_error(rap("check", "--params", twice), str(twice), "line 3", "'year' is given twice")


@pytest.mark.parametrize(
    ("key", "yaml_text"),
    [
        ("qa.max_rejected_share", "qa:\n  max_rejected_share: 1\n"),
        ("suppression.rounding_base", "suppression:\n  rounding_base: 1\n"),
    ],
)
def test_parameters_that_disable_a_safeguard_are_errors_naming_the_key(tmp_path, key, yaml_text):
    params = record_project(tmp_path)
    bad = write(params.parent / "bad.yaml", params.read_text() + yaml_text)
    line = assert_clean_error(rap("check", "--params", bad), str(bad), key)
    assert "got 1" in line and "Value error" not in line


def test_qa_dir_that_is_a_file_or_inside_the_inputs_is_refused(tmp_path):
    params = record_project(tmp_path)
    afile = write(tmp_path / "afile", "x")
    assert_clean_error(rap("check", "--params", params, "--qa-dir", afile), str(afile), "is a file")
    assert_clean_error(rap("check", "--params", params, "--qa-dir", afile / "qa"), "is a file")
    inside = tmp_path / "data" / "qa"
    assert_clean_error(rap("check", "--params", params, "--qa-dir", inside), "--qa-dir", "is inside data.path")
    assert not inside.exists()


def test_render_on_a_missing_folder_is_one_message(tmp_path):
    assert_clean_error(rap("render", tmp_path / "nowhere"), str(tmp_path / "nowhere"), "not found")


def test_a_bad_population_year_names_file_line_column_value(tmp_path):
    params = record_project(tmp_path)
    pop = tmp_path / "data" / "population" / "children_by_la_ethnicity.csv"
    head = (
        "time_period,geographic_level,new_la_code,old_la_code,la_name,region_code,region_name,ons2021_code,"
        "ons2021_label,major,population,source\n"
    )
    row = "{},Local authority,E06000001,805,Hartlepool,E12000001,North East,1,Bangladeshi,asian,51,SYNTHETIC: not real data"
    write(pop, rows(head, [row.format(2024), row.format("20x4")]))
    proc = rap("check", "--params", params)
    assert_clean_error(proc, str(pop), "line 3", "column time_period", "value '20x4'")


def test_check_names_a_missing_child_population(tmp_path):
    proc = rap("check", "--params", record_project(tmp_path))
    assert "children_by_la_ethnicity.csv: no child population" in proc.stdout


# ------------------------------------------------------------------------------ published inputs


def published_project(tmp_path: Path, release: int = 2024) -> Path:
    """The 2024 published route on copies of DfE's and ONS's files; returns the params file."""
    if not (SHARED / "ees-cla-2024-release").is_dir():
        pytest.skip("the shared reference data are not beside the repository")
    data = tmp_path / "data"
    shutil.copytree(SHARED / "ees-cla-2024-release", data / f"ees-cla-{release}-release")
    la = shutil.copy(SHARED / "ees-cla-2025-release" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv", data)
    (data / "population").mkdir()
    for name in ("ons_mid-year_population_estimates_2012_to_2024.csv", "ons-ethnic-population-reg.csv"):
        shutil.copy(SHARED / "population" / name, data / "population")
    (tmp_path / "params").mkdir()
    shutil.copy(REPO / "params" / "defaults.yaml", tmp_path / "params")
    text = (
        f"year: 2024\ndata:\n  kind: published\n  path: data/ees-cla-{release}-release\n"
        f"  la_ethnicity_file: data/{Path(la).name}\n  population_path: data/population\n"
    )
    return write(tmp_path / "params" / "2024.yaml", text)


def test_check_reads_the_la_file_and_the_population_files(tmp_path):
    params = published_project(tmp_path)
    mid_year = tmp_path / "data" / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv"
    ok = rap("check", "--params", params)
    assert ok.returncode == 0 and "LA file" in ok.stdout and "ONS population files" in ok.stdout, ok.stderr
    mid_year.unlink()
    assert_clean_error(rap("check", "--params", params), str(mid_year), "population file not found")


def test_published_rows_of_a_later_year_are_named(tmp_path):
    params = published_project(tmp_path)
    f = tmp_path / "data" / "ees-cla-2024-release" / "national_cla_on_31_march_by_characteristics.csv"
    lines = f.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines[1] = lines[1].replace("2024", "2025", 1) if lines[1].startswith("2024") else "2025" + lines[1][4:]
    f.write_text("".join(lines), encoding="utf-8")
    assert_clean_error(rap("check", "--params", params), str(f), "line 2", "column time_period", "value '2025'")


def test_a_release_of_another_year_or_an_la_file_without_the_year_is_named(tmp_path):
    params = published_project(tmp_path, release=2023)
    assert_clean_error(rap("check", "--params", params), "ees-cla-2023-release", "year is 2024")
    params = published_project(tmp_path / "b")
    la = next((tmp_path / "b" / "data").glob("DERIVED_*.csv"))
    text = la.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    la.write_text("".join([text[0], *(t for t in text[1:] if not t.startswith(("2024", "2025")))]), encoding="utf-8")
    assert_clean_error(rap("check", "--params", params), str(la), "column time_period", "no row of 2024")


EES_HEAD = "time_period,time_identifier,geographic_level,country_code,country_name,cla_group,characteristic,number,percentage\n"
EES_ROW = "2024,Reporting year,National,E92000001,England,Ethnicity,1. Total White,{},50"


def test_a_published_cell_given_twice_names_both_lines(tmp_path):
    f = write(tmp_path / "f.csv", rows(EES_HEAD, [EES_ROW.format(10), EES_ROW.format(20)]))
    with pytest.raises(InputError) as exc:
        read_ees_table(f, "cla_on_31_march", release=2024)
    assert exc.value.file == str(f) and exc.value.line == 3 and "repeats line 2" in exc.value.reason


def test_a_negative_published_figure_names_file_line_column_value(tmp_path):
    f = write(tmp_path / "f.csv", rows(EES_HEAD, [EES_ROW.format(-10)]))
    with pytest.raises(InputError) as exc:
        read_ees_table(f, "cla_on_31_march", release=2024)
    assert (exc.value.line, exc.value.column, exc.value.value) == (2, "number", "-10")


POP_HEAD = (
    "time_period,geographic_level,new_la_code,old_la_code,la_name,region_code,region_name,ons2021_code,"
    "ons2021_label,major,population,source\n"
)
POP_ROW = (
    "2024,Local authority,E06000001,805,Hartlepool,E12000001,North East,1,Bangladeshi,asian,{},SYNTHETIC: not real data"
)


def test_a_population_row_given_twice_is_an_error_not_counted_twice(tmp_path):
    f = write(tmp_path / "p.csv", rows(POP_HEAD, [POP_ROW.format(51), POP_ROW.format(60)]))
    with pytest.raises(InputError) as exc:
        read_children_by_la_ethnicity(f)
    assert exc.value.line == 3 and "as line 2" in exc.value.reason and exc.value.column == "ons2021_code"
    mid = SHARED / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv"
    if mid.is_file():
        text = mid.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        la_row = next(t for t in text if ",Local authority," in t)
        f = write(tmp_path / "m.csv", "".join([text[0], la_row, la_row]))
        with pytest.raises(InputError) as exc:
            read_mid_year_estimates(f)
        assert exc.value.line == 3 and "counted twice" in exc.value.reason


# ------------------------------------------------------------------------------ silent passes become quarantine


def years_root(
    tmp_path: Path, las: dict[str, tuple[list[str], list[str]]], extra: dict[str, str] | None = None
) -> Path:
    """``ssda903/2024/<la>/`` with a Header and an Episodes file per LA (and ``extra`` files by path)."""
    root = tmp_path / "ssda903"
    for la, (header, episodes) in las.items():
        write(root / "2024" / la / "header.csv", rows(HEADER, header))
        write(root / "2024" / la / "episodes.csv", rows(EPISODES, episodes))
    for rel, text in (extra or {}).items():
        write(root / rel, text)
    return root


def reasons(result, table: str) -> list[str]:
    rej = result.rejected
    return rej.loc[rej["table"] == table, "reason"].tolist()


def test_xml_beside_the_csv_files_is_an_error(tmp_path):
    root = years_root(tmp_path, {"805": (CHILDREN, EPISODE_ROWS)}, {"2024/805/return.xml": "<EXPSSDA903/>"})
    with pytest.raises(InputError) as exc:
        read_ssda903_years(root, [2024])
    assert exc.value.file.endswith("return.xml") and "would not be read" in exc.value.reason


def test_other_unread_files_are_named_in_notes(tmp_path):
    root = years_root(
        tmp_path, {"805": (CHILDREN, EPISODE_ROWS)}, {"2024/805/notes.txt": "x", "2024/header.csv": HEADER}
    )
    notes = read_ssda903_years(root, [2024]).notes
    assert any("notes.txt: not a CSV file" in n for n in notes)
    assert any("2024/header.csv: not in an LA folder" in n for n in notes)


def test_xml_with_another_root_is_an_error_naming_it(tmp_path):
    f = write(
        tmp_path / "r.xml",
        '<?xml version="1.0"?>\n<Message><CHILD><HEADER><CHILDID>1</CHILDID></HEADER></CHILD></Message>',
    )
    with pytest.raises(InputError) as exc:
        read_ssda903_xml(f, 2024)
    assert (exc.value.line, exc.value.value) == (2, "Message") and "EXPSSDA903" in exc.value.reason


def test_the_same_child_looked_after_by_two_las_on_31_march_is_counted_once(tmp_path):
    upn = "V805123456789"
    child = f"1001,1,01/01/2010,WBRI,{upn},,"
    root = years_root(
        tmp_path,
        {
            "805": ([child], ["1001,01/05/2023,S,C2,N1,U1,PR1,,,,,,"]),
            "806": ([child], ["1001,01/06/2023,S,C2,N1,U1,PR1,,,,,,"]),
        },
    )
    r = read_ssda903_years(root, [2024])
    assert r["Header"]["LA"].tolist() == ["805"] and r["Episodes"]["LA"].tolist() == ["805"]
    assert "looked after on 31 March by another LA too (805/header.csv line 2)" in reasons(r, "Header")[0]
    assert "Header row of the child (806/header.csv line 2) was rejected" in reasons(r, "Episodes")[0]


def test_the_same_child_in_two_las_who_moved_during_the_year_is_kept_and_reported(tmp_path):
    child = "1001,1,01/01/2010,WBRI,V805123456789,,"
    root = years_root(
        tmp_path,
        {
            "805": ([child], ["1001,01/05/2023,S,C2,N1,U1,PR1,01/08/2023,E11,,,,"]),
            "806": ([child], ["1001,02/08/2023,S,C2,N1,U1,PR1,,,,,,"]),
        },
    )
    r = read_ssda903_years(root, [2024])
    assert len(r["Header"]) == 2 and r.rejected.empty
    assert "in the return of another LA this year too" in r.reported["reason"].iloc[0]


def test_overlapping_episodes_are_rejected(tmp_path):
    episodes = ["1001,01/05/2023,S,C2,N1,U1,PR1,01/09/2023,E11,,,,", "1001,01/08/2023,S,C2,N1,U1,PR1,,,,,,"]
    still_open = ["1002,01/05/2023,S,C2,N1,U1,PR1,,,,,,", "1002,01/07/2023,S,C2,N1,U1,PR1,,,,,,"]
    back_to_back = ["1003,01/05/2023,S,C2,N1,U1,PR1,01/09/2023,E11,,,,", "1003,01/09/2023,S,C2,N1,U1,PR1,,,,,,"]
    header = [*CHILDREN, "1003,1,03/03/2013,WBRI,UN1,,"]
    r = read_ssda903_years(years_root(tmp_path, {"805": (header, episodes + still_open + back_to_back)}), [2024])
    rej = r.rejected
    assert rej[["line", "column"]].values.tolist() == [[3, "DECOM"], [5, "DECOM"]]
    assert "overlap" in rej["reason"].iloc[0] and "still open" in rej["reason"].iloc[1]
    assert len(r["Episodes"]) == 4


def test_rows_of_a_child_not_in_header_are_rejected(tmp_path):
    root = years_root(
        tmp_path,
        {"805": (CHILDREN, [*EPISODE_ROWS, "9999,01/05/2023,S,C2,N1,U1,PR1,,,,,,"])},
        {"2024/805/uasc.csv": rows(UASC, ["1001,1,01/01/2010,01/01/2028", "8888,1,01/01/2010,01/01/2028"])},
    )
    r = read_ssda903_years(root, [2024])
    assert reasons(r, "Episodes") == ["the child has no row in the Header of this return"]
    assert reasons(r, "UASC") == ["the child has no row in the Header of this return"]
    assert set(r["Episodes"]["CHILD"]) == {"1001", "1002"} and r["UASC"]["CHILD"].tolist() == ["1001"]


def test_spaces_around_an_id_do_not_move_a_child_to_unknown_ethnicity(tmp_path):
    episodes = ["1001 ,01/05/2023,S,C2,N1,U1,PR1,,,,,,", " 1002,01/06/2023,S,C2,N2,K2,PR2,01/09/2023,E11,,,,"]
    r = read_ssda903_years(years_root(tmp_path, {"805": (CHILDREN, episodes)}), [2024])
    assert r.rejected.empty and r["Episodes"]["CHILD"].tolist() == ["1001", "1002"]
    assert any("2 CHILD values had spaces around them" in n for n in r.notes)


def test_a_blank_id_made_of_spaces_is_blank(tmp_path):
    r = read_ssda903_years(
        years_root(tmp_path, {"805": ([*CHILDREN, "  ,1,01/01/2010,WBRI,UN1,,"], EPISODE_ROWS)}), [2024]
    )
    assert reasons(r, "Header") == ["CHILD is blank but required"]


def test_dates_before_birth_are_rejected(tmp_path):
    header = ["1001,1,01/01/2015,WBRI,UN1,,", "1002,2,02/02/2012,BAFR,UN1,1,01/01/2011"]
    episodes = ["1001,01/05/2013,S,C2,N1,U1,PR1,,,,,,", EPISODE_ROWS[1]]
    r = read_ssda903_years(years_root(tmp_path, {"805": (header, episodes)}), [2024])
    assert reasons(r, "Header") == ["MC_DOB '01/01/2011' is before the DOB of the child, '02/02/2012'"]
    assert reasons(r, "Episodes")[0] == "DECOM '01/05/2013' is before the DOB of the child, '01/01/2015'"


@pytest.mark.parametrize(
    ("row", "column", "why"),
    [
        ("1001,01/05/2030,S,C2,N1,U1,PR1,,,,,,", "DECOM", "after 31 March 2024"),
        ("1001,01/05/2023,S,C2,N1,U1,PR1,01/01/2030,E11,,,,", "DEC", "after 31 March 2024"),
        ("1001,01/05/1990,S,C2,N1,U1,PR1,,,,,,", "DECOM", "25 years or more before 31 March 2024"),
    ],
)
def test_dates_outside_the_collection_year_are_rejected(tmp_path, row, column, why):
    r = read_ssda903_years(years_root(tmp_path, {"805": (CHILDREN, [row, EPISODE_ROWS[1]])}), [2024])
    rej = r.rejected
    assert rej["column"].iloc[0] == column and why in rej["reason"].iloc[0] and len(r["Episodes"]) == 1


def test_a_uasc_end_date_may_lie_ahead(tmp_path):
    root = years_root(
        tmp_path, {"805": (CHILDREN, EPISODE_ROWS)}, {"2024/805/uasc.csv": rows(UASC, ["1001,1,01/01/2010,01/01/2028"])}
    )
    r = read_ssda903_years(root, [2024])
    assert r.rejected.empty and len(r["UASC"]) == 1


def test_a_period_that_ends_before_it_starts_is_rejected_in_every_table(tmp_path):
    missing = "CHILD,DOB,MISSING,MIS_START,MIS_END\n1001,01/01/2010,M,05/06/2023,01/06/2023\n"
    root = years_root(tmp_path, {"805": (CHILDREN, EPISODE_ROWS)}, {"2024/805/missing.csv": missing})
    r = read_ssda903_years(root, [2024])
    assert reasons(r, "Missing") == [
        "MIS_END '01/06/2023' is before MIS_START '05/06/2023' (the period ends before it starts)"
    ]


def test_a_pupil_on_two_rows_of_the_school_extract_is_not_linked_by_chance(tmp_path):
    a = "V805123456789,805,WBRI,6,1,0,1,1,1,,"
    b = "V805123456789,805,BAFR,6,1,0,1,1,1,,"
    c = "M201000000002,805,WBRI,6,1,0,1,1,1,,"
    r = read_school(
        write(
            tmp_path / "2024.csv",
            rows(SCHOOL, [a, b, c, c, "UN1,805,WBRI,6,1,0,1,1,1,,", "UN1,805,WBRI,6,1,0,1,1,1,,"]),
        ),
        2024,
    )
    rej = r.rejected.sort_values("line")
    assert rej["line"].tolist() == [2, 3, 5]
    assert "different values" in rej["reason"].iloc[0] and "repeated row, counted once" in rej["reason"].iloc[2]
    assert r["School"]["UPN"].tolist() == ["M201000000002", "UN1", "UN1"]


# ------------------------------------------------------------------------------ QA files redact by value


DOB = "06/09/2010"
UPN = "L202288114812"
CHILD_ID = "100011"
POSTCODE = "AB1 2CD"
SW_ID = "SW7734129"


def test_shifted_rows_leave_nothing_identifying_in_qa_files(tmp_path):
    header = [
        f"{CHILD_ID},1,{DOB},WBRI,UN1,,",
        f"1,{CHILD_ID},{DOB},WBRI,UN1,,",  # CHILD and SEX swapped
        f"100022,2,{DOB},WBRI,UN2,{UPN},",  # UPN in MOTHER
    ]
    episodes = [
        f"{CHILD_ID},01/05/2023,{DOB},C2,N1,U1,PR1,,,,,,",  # DOB in RNE
        f"{CHILD_ID},01/05/2023,S,{POSTCODE},N1,U1,PR1,,,,,,",  # postcode in LS
        f"{CHILD_ID},01/05/2023,S,C2,{SW_ID},U1,PR1,,,,,,",  # social worker id in CIN
        f"{CHILD_ID},01/05/2023,S,C2,N1,20100906,PR1,,,,,,",  # DOB as digits in PLACE
    ]
    params = record_project(tmp_path, header, episodes)
    qa = tmp_path / "qa"
    proc = rap("check", "--params", params, "--qa-dir", qa)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    text = "".join(p.read_text() for p in qa.glob("*.csv"))
    assert len(pd.read_csv(qa / "rejected_header.csv")) == 2 and len(pd.read_csv(qa / "rejected_episodes.csv")) >= 4
    for secret in (DOB, "2010-09-06", "20100906", UPN, CHILD_ID, POSTCODE, POSTCODE.replace(" ", ""), SW_ID):
        assert secret not in text, secret
    # what the analyst needs stays: file, line, column, the reason, and the value's shape
    assert "data/ssda903/2024/805/header.csv" in text.replace(str(tmp_path) + os.sep, "")
    assert "SEX '[redacted: ######]' is not a valid SEX code" in text
    assert "MOTHER '[redacted: x############]'" in text


def test_reasons_of_checks_across_rows_survive_redaction_whole(tmp_path):
    """A reason names the other row it is about by LA, file and line; only its dates go."""
    from rap.inputs.readers.quarantine import write_rejected

    header = [CHILDREN[0], "1002,2,02/02/2012,BAFR,UN1,1,01/01/2011"]  # MC_DOB before DOB: the row goes
    episodes = [
        "1001,01/05/2023,S,C2,N1,U1,PR1,01/09/2023,E11,,,,",
        "1001,01/08/2023,S,C2,N1,U1,PR1,,,,,,",
        EPISODE_ROWS[1],
    ]
    result = read_ssda903_years(years_root(tmp_path, {"805": (header, episodes)}), [2024])
    write_rejected(result, tmp_path / "qa")
    text = (tmp_path / "qa" / "rejected_episodes.csv").read_text()
    assert (
        "is before the end of the previous episode of the child (805/episodes.csv line 2, DEC '[date]'): episodes overlap"
        in text
    )
    assert (
        "the Header row of the child (805/header.csv line 3) was rejected: the other rows of the child go with it"
        in text
    )
    assert "[redacted:" not in text and "01/08/2023" not in text
