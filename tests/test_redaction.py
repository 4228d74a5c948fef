"""Quarantine files leave the pipeline, so they must not carry values that identify a child."""

import pandas as pd

from rap.sources.quarantine import REDACTED, ReadResult, write_rejected


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
    problems = pd.DataFrame({"table": ["Episodes"], "file": [str(src)], "line": [7], "column": ["PLACE"],
                             "value": ["Q9"], "reason": ["PLACE 'Q9' is not a code"], "action": ["rejected"]})
    res = ReadResult(tables={}, problems=problems, rows_read={"Episodes": 10})
    write_rejected(res, tmp_path / "qa", base=tmp_path)
    text = (tmp_path / "qa" / "rejected_episodes.csv").read_text()
    assert "data/ssda903/2024/805/episodes.csv" in text and str(tmp_path) not in text
