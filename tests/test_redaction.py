"""Quarantine files leave the pipeline, so they must not carry values that identify a child."""

import pandas as pd

from rap.inputs.readers.quarantine import REDACTED, ReadResult, write_rejected


def test_rejected_files_redact_identifying_values_and_child_ids(tmp_path):
    problems = pd.DataFrame(
        {
            "table": ["Header", "Episodes", "Header"],
            "file": ["h.csv", "e.csv", "h.csv"],
            "line": [2, 3, 9],
            "column": ["DOB", "PLACE", "SEX"],
            "value": ["31/02/2011", "Q9", "7"],
            "reason": [
                "DOB '31/02/2011' is not a dd/mm/YYYY date",
                "PLACE 'Q9' is not a code (CHILD 265171)",
                "SEX '7' is not a code for CHILD 'A99'",
            ],
            "action": ["rejected"] * 3,
        }
    )
    res = ReadResult(tables={}, problems=problems, rows_read={"Header": 10, "Episodes": 10})
    write_rejected(res, tmp_path)
    text = (tmp_path / "rejected_header.csv").read_text() + (tmp_path / "rejected_episodes.csv").read_text()
    for secret in ("31/02/2011", "265171", "A99"):
        assert secret not in text
    assert REDACTED in text
    # what is not identifying stays, so the analyst can see what was wrong
    assert "Q9" in text and ",9," in text.replace("\r", "")


def test_rejected_files_name_source_files_relative_to_the_project(tmp_path):
    src = tmp_path / "data" / "ssda903" / "2024" / "805" / "episodes.csv"
    problems = pd.DataFrame(
        {
            "table": ["Episodes"],
            "file": [str(src)],
            "line": [7],
            "column": ["PLACE"],
            "value": ["Q9"],
            "reason": ["PLACE 'Q9' is not a code"],
            "action": ["rejected"],
        }
    )
    res = ReadResult(tables={}, problems=problems, rows_read={"Episodes": 10})
    write_rejected(res, tmp_path / "qa", base=tmp_path)
    text = (tmp_path / "qa" / "rejected_episodes.csv").read_text()
    assert "data/ssda903/2024/805/episodes.csv" in text and str(tmp_path) not in text


def test_rejected_files_redact_every_date(tmp_path):
    """An episode's dates beside its LA and line could single a child out: dates go, the code problem stays."""
    problems = pd.DataFrame(
        {
            "table": ["Episodes", "Missing"],
            "file": ["e.csv", "m.csv"],
            "line": [5, 7],
            "column": ["DEC", "MIS_START"],
            "value": ["25/10/2018", "2019-03-02"],
            "reason": [
                "DEC '25/10/2018' is before DECOM '15/11/2018' (episode ends before it starts)",
                "MIS_START '2019-03-02' is after MIS_END 2019-02-01",
            ],
            "action": ["rejected"] * 2,
        }
    )
    write_rejected(ReadResult(tables={}, problems=problems, rows_read={"Episodes": 9, "Missing": 9}), tmp_path)
    text = (tmp_path / "rejected_episodes.csv").read_text() + (tmp_path / "rejected_missing.csv").read_text()
    for secret in ("25/10/2018", "15/11/2018", "2019-03-02", "2019-02-01"):
        assert secret not in text
    assert "[date]" in text and "episode ends before it starts" in text


def test_whatever_a_quarantine_file_keeps_of_a_shifted_row_the_leak_scan_finds_by_value(tmp_path):
    """A shifted Header row (CHILD and SEX swapped, a UPN under MOTHER) is rejected: the quarantine file may
    redact by column, so the leak scan reads it by value, with the rejected row's values among what it looks
    for (``rap.build.leaks.needles``): every line still holding the id or the UPN is reported."""
    from rap.build.leaks import needles_from_record_data, scan_outputs
    from rap.inputs.load import RecordData

    source = tmp_path / "data" / "header.csv"
    source.parent.mkdir()
    source.write_text("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n1,265171,02/09/2004,WBRI,,A201652608605,\n")
    problems = pd.DataFrame(
        {
            "table": ["Header", "Header"],
            "file": [str(source)] * 2,
            "line": [2, 2],
            "column": ["SEX", "MOTHER"],
            "value": ["265171", "A201652608605"],
            "reason": ["SEX '265171' is not a code for CHILD '1'", "MOTHER 'A201652608605' is not 0 or 1"],
            "action": ["rejected"] * 2,
        }
    )
    res = ReadResult(tables={}, problems=problems, rows_read={"Header": 1})
    qa = tmp_path / "qa"
    write_rejected(res, qa)
    needles = needles_from_record_data(RecordData(ssda903=res, school=ReadResult(tables={}), population=None))
    found = {(f.location.split(",")[0], f.kind) for f in scan_outputs(qa, needles, 5, 10)}
    lines = (qa / "rejected_header.csv").read_text().splitlines()
    for secret, kind in (("265171", "child id"), ("A201652608605", "UPN")):
        holding = {f"line {n}" for n, line in enumerate(lines, start=1) if secret in line}
        assert holding == {where for where, k in found if k == kind}
