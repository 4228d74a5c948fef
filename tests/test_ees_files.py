"""The EES open-data writer (``rap.domain.ees.write_ees``): what EES's API needs of every file it writes.

Numbers and EES symbols only in an indicator (a verdict or rating is a filter, or is left to the report), and
ethnicity under the harmonised labels of DfE's data dictionary and the GSS standard.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rap.domain.ees import with_ees_columns, write_ees
from rap.domain.ethnicity import codes, ees_harmonised, major_groups

FILTERS = {"ethnicity_major": "Ethnic group (major)", "ethnicity_minor": "Ethnic group (minor)"}


def _frame(**cols) -> pd.DataFrame:
    base = {"year": [2024, 2024], "ethnicity_major": ["Total", "White"], "ethnicity_minor": ["Total", "White British"]}
    return with_ees_columns(pd.DataFrame({**base, **cols}), year="year")


def test_text_in_an_indicator_is_refused_naming_file_column_row_and_value(tmp_path: Path) -> None:
    df = _frame(number=["12", "c"], verdict=["Higher", "Lower"])
    with pytest.raises(ValueError) as err:
        write_ees(df, tmp_path / "t.csv", filters=FILTERS, indicators={"number": ("N", "", 0), "verdict": ("V", "", 0)})
    msg = str(err.value)
    assert "t.csv" in msg and "verdict" in msg and "'Higher'" in msg and "data row 1" in msg
    assert not (tmp_path / "t.csv").exists()


def test_numbers_and_symbols_are_indicators_and_a_verdict_is_a_filter(tmp_path: Path) -> None:
    df = _frame(number=["12", "c"], rate=[1.5, 2.25], verdict=["Higher", "Not shown (count suppressed)"])
    data, meta = write_ees(
        df, tmp_path / "t.csv", filters={**FILTERS, "verdict": "Verdict"},
        indicators={"number": ("N", "", 0), "rate": ("Rate", "", 2)},
    )  # fmt: skip
    m = pd.read_csv(meta, dtype=str, keep_default_na=False).set_index("col_name")
    assert m.at["verdict", "col_type"] == "Filter" and m.at["rate", "col_type"] == "Indicator"
    assert pd.read_csv(data, dtype=str)["verdict"].tolist() == ["Higher", "Not shown (count suppressed)"]


def test_ethnicity_is_written_under_the_harmonised_labels(tmp_path: Path) -> None:
    majors = major_groups().set_index("label_cla")["label_ees"]
    df = with_ees_columns(
        pd.DataFrame(
            {
                "year": 2024,
                "ethnicity_major": ["Mixed or Multiple ethnic groups", "White", "White", "Refused or information not yet available"],
                "ethnicity_minor": ["Any other Mixed background", "White British", "Traveller of Irish heritage", "Refused"],
                "number": ["5", "7", "c", "9"],
            }
        ),
        year="year",
    )  # fmt: skip
    data, _ = write_ees(df, tmp_path / "t.csv", filters=FILTERS, indicators={"number": ("N", "", 0)})
    got = pd.read_csv(data, dtype=str)[["ethnicity_major", "ethnicity_minor"]].values.tolist()
    assert got == [
        ["Mixed / Multiple ethnic groups", "Any other Mixed / Multiple ethnic background"],
        ["White", "English / Welsh / Scottish / Northern Irish / British"],
        ["White", "Irish Traveller"],  # DfE's data dictionary name (the GSS list has none for it)
        [majors["Refused or information not yet available"], "Refused"],  # no harmonised item: kept
    ]
    assert df["ethnicity_major"].iloc[0] == "Mixed or Multiple ethnic groups"  # the caller's frame is untouched


def test_every_label_has_one_harmonised_form_and_they_stay_distinct() -> None:
    """Two groups under one harmonised label would merge rows in the EES file."""
    for table, col in ((major_groups(), "label_cla"), (codes(), "label")):
        assert table["label_ees"].ne("").all()
        assert table["label_ees"].is_unique and table[col].is_unique
    frame = pd.DataFrame({"ethnicity_major": ["Total", "Something new"], "other": ["White British", "x"]})
    out = ees_harmonised(frame)
    assert out["ethnicity_major"].tolist() == ["Total", "Something new"]  # unknown labels kept
    assert out["other"].tolist() == ["White British", "x"]  # only the ethnicity columns are relabelled
