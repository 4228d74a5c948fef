"""SSDA903 readers: the shared fake sample (CSV and XML), malformed inputs, many LAs and years."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from rap.core.errors import InputError
from rap.inputs.readers import rejected_share, write_rejected
from rap.inputs.readers.ssda903 import read_ssda903_folder, read_ssda903_xml, read_ssda903_years, table_columns

SAMPLE = Path(__file__).parent / "fixtures" / "ssda903_sample"
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(text.encode(encoding))
    return p


def minimal_return(folder: Path, header_rows: list[str] | None = None, episode_rows: list[str] | None = None):
    header_rows = header_rows if header_rows is not None else ["1,1,01/01/2010,WBRI,UN1,,", "2,2,02/02/2012,BAFR,UN1,,"]
    episode_rows = (
        episode_rows
        if episode_rows is not None
        else [
            "1,01/05/2023,S,C2,N1,U1,PR1,,,,,,",
            "2,01/06/2023,S,C2,N2,K2,PR2,01/09/2023,E11,,,,",
        ]
    )
    write(folder, "a.csv", HEADER + "".join(r + "\n" for r in header_rows))
    write(folder, "b.csv", EPISODES + "".join(r + "\n" for r in episode_rows))
    return folder


# ---------------------------------------------------------------------------------------------- sample


@pytest.fixture(scope="module")
def sample():
    return read_ssda903_folder(SAMPLE, 2024)


def test_sample_reads_every_table_with_its_row_counts(sample):
    assert sample.rows_read["Header"] == 2675
    assert sample.rows_read["Episodes"] == 5050
    assert sample.rows_read["Reviews"] == 12582
    assert sample.rows_read["SWEpisodes"] == 1  # the file with the BOM is recognised
    assert len(sample["Header"]) == 2674
    assert pd.api.types.is_datetime64_any_dtype(sample["Episodes"]["DECOM"])
    assert sample["Header"]["YEAR"].eq(2024).all()
    assert any("DoLo" in n for n in sample.notes)


def test_sample_problems_are_reported_with_file_line_column_value(sample):
    rej = sample.rejected
    mother = rej[rej["column"] == "MOTHER"]
    assert len(mother) == 1
    row = mother.iloc[0]
    assert Path(row["file"]).name == "header.csv" and row["line"] == 1273 and row["value"] == "1.0"
    # the reported line really holds that value
    line = (SAMPLE / "header.csv").read_text().splitlines()[row["line"] - 1]
    assert line.split(",")[5] == "1.0"
    assert sample.rejected_rows()["PlacedAdoption"] == 29
    assert set(rej.loc[rej["table"] == "OC3", "value"]) == {"P3", "F3", "01", "02"}
    assert rej.loc[rej["table"] == "SWEpisodes", "value"].tolist() == ["SWLAZY"]
    assert len(sample["PlacedAdoption"]) == 0


def test_sample_ethnicity_is_kept_with_quality_category(sample):
    h = sample["Header"]
    # uniform over 20 codes: about 1 in 20 refused and 1 in 20 not obtained, none rejected for ETHNIC
    assert "ETHNIC" not in set(sample.rejected["column"])
    counts = h["ethnic_quality"].value_counts()
    assert set(counts.index) == {"known", "refused", "not_obtained"}
    assert counts["refused"] == (h["ETHNIC"] == "REFU").sum() > 50
    assert counts["not_obtained"] == (h["ETHNIC"] == "NOBT").sum() > 50


def test_sample_sex_coding_fits_2024_not_2025():
    r2025 = read_ssda903_folder(SAMPLE, 2025)
    assert r2025.rejected_rows()["Header"] == 2675  # SEX 1/2 is not valid from 2025
    assert "is not a valid SEX code for 2025" in r2025.rejected["reason"].iloc[0]


def test_sample_xml_reads_to_the_same_tables(sample):
    x = read_ssda903_xml(SAMPLE / "fake_903.xml", 2024)
    assert x.rows_read["Header"] == 253
    assert x.rows_read["Episodes"] == 459 and x.rows_read["Reviews"] == 1206
    for t in table_columns():
        assert list(x[t].columns) == list(sample[t].columns), t
        assert (x[t].dtypes == sample[t].dtypes).all(), t
    assert set(x["Episodes"]["CHILD"]) <= set(x["Header"]["CHILD"])
    # PL became PLACE, CHILDID became CHILD
    assert x["Episodes"]["PLACE"].iloc[0] == "R5" and x["Header"]["CHILD"].iloc[0] == "907440"
    reasons = x.rejected["reason"]
    assert reasons.str.contains(r"\(CHILD \d+\)").all()


def _to_xml(header: pd.DataFrame, episodes: pd.DataFrame, path: Path) -> None:
    root = ET.Element("EXPSSDA903")
    for _, h in header.iterrows():
        child = ET.SubElement(root, "CHILD")
        head = ET.SubElement(child, "HEADER")
        for col in ["CHILD", "UPN", "SEX", "DOB", "ETHNIC", "MOTHER", "MC_DOB"]:
            ET.SubElement(head, "CHILDID" if col == "CHILD" else col).text = h[col] or None
        for _, e in episodes[episodes["CHILD"] == h["CHILD"]].iterrows():
            ep = ET.SubElement(child, "EPISODE")
            for col in table_columns()["Episodes"][1:]:
                ET.SubElement(ep, "PL" if col == "PLACE" else col).text = e[col] or None
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def test_csv_and_xml_of_the_same_return_give_the_same_children(tmp_path):
    # The sample's XML and CSVs hold different fake children, so write 40 CSV children as XML ourselves.
    h = pd.read_csv(SAMPLE / "header.csv", dtype=str, keep_default_na=False).head(40)
    e = pd.read_csv(SAMPLE / "episodes.csv", dtype=str, keep_default_na=False)
    e = e[e["CHILD"].isin(h["CHILD"])]
    folder = tmp_path / "csv"
    folder.mkdir()
    h.to_csv(folder / "h.csv", index=False)
    e.to_csv(folder / "e.csv", index=False)
    _to_xml(h, e, tmp_path / "r.xml")
    c = read_ssda903_folder(folder, 2024)
    x = read_ssda903_xml(tmp_path / "r.xml", 2024)
    for t in ["Header", "Episodes"]:
        a = c[t].drop(columns=["_file", "_line"]).reset_index(drop=True)
        b = x[t].drop(columns=["_file", "_line"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    assert len(c["Header"]) == 40


# ---------------------------------------------------------------------------------------- malformed


def test_file_with_unknown_columns_names_file_and_nearest_table(tmp_path):
    minimal_return(tmp_path)
    write(
        tmp_path,
        "odd.csv",
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,"
        "PL_POST,URN,FAVOURITE_COLOUR\n1,01/05/2023,S,C2,N1,U1,PR1,,,,,,,blue\n",
    )
    with pytest.raises(InputError) as exc:
        read_ssda903_folder(tmp_path, 2024)
    e = exc.value
    assert e.file.endswith("odd.csv") and e.line == 1 and e.column == "FAVOURITE_COLOUR"
    assert "nearest is Episodes" in str(e) and "unexpected ['FAVOURITE_COLOUR']" in str(e)


def test_file_with_a_missing_column_names_it(tmp_path):
    write(tmp_path, "a.csv", "CHILD,SEX,DOB,UPN,MOTHER,MC_DOB\n1,1,01/01/2010,UN1,,\n")
    with pytest.raises(InputError) as exc:
        read_ssda903_folder(tmp_path, 2024)
    assert exc.value.column == "ETHNIC" and "nearest is Header" in str(exc.value)
    assert exc.value.file.endswith("a.csv")


def test_latin1_file_names_file_line_and_byte_offset(tmp_path):
    minimal_return(tmp_path)
    text = HEADER + "1,1,01/01/2010,WBRI,UN1,,\n2,2,02/02/2012,Café,UN1,,\n"
    p = write(tmp_path, "a.csv", text, encoding="latin-1")
    with pytest.raises(InputError) as exc:
        read_ssda903_folder(tmp_path, 2024)
    e = exc.value
    offset = p.read_bytes().index(b"\xe9")
    assert e.file == str(p) and e.line == 3 and e.column == "ETHNIC"
    assert f"byte 0xe9 at byte offset {offset}" in str(e)


def test_bad_date_rejects_the_row_naming_file_line_column_value(tmp_path):
    minimal_return(tmp_path, episode_rows=["1,01/05/2023,S,C2,N1,U1,PR1,,,,,,", "2,31/02/2023,S,C2,N2,K2,PR2,,,,,,"])
    r = read_ssda903_folder(tmp_path, 2024)
    rej = r.rejected
    assert len(rej) == 1
    row = rej.iloc[0]
    assert row["file"].endswith("b.csv") and row["line"] == 3 and row["column"] == "DECOM"
    assert row["value"] == "31/02/2023" and row["table"] == "Episodes"
    assert row["reason"] == "DECOM '31/02/2023' is not a dd/mm/YYYY date"
    assert r["Episodes"]["CHILD"].tolist() == ["1"]
    assert r.rejected_rows()["Episodes"] == 1
    assert rejected_share(r, "Episodes") == 0.5


@pytest.mark.parametrize("bad", ["1/5/2023", "2023-05-01", "01/05/23", "01/05/20231"])
def test_dates_must_be_exactly_dd_mm_yyyy(tmp_path, bad):
    minimal_return(tmp_path, episode_rows=[f"1,{bad},S,C2,N1,U1,PR1,,,,,,"])
    r = read_ssda903_folder(tmp_path, 2024)
    assert r.rejected["value"].tolist() == [bad]


def test_bad_place_code_is_rejected_for_the_year(tmp_path):
    minimal_return(tmp_path, episode_rows=["1,01/05/2023,S,C2,N1,Q9,PR1,,,,,,", "2,01/05/2023,S,C2,N1,K3,PR1,,,,,,"])
    r = read_ssda903_folder(tmp_path, 2024)
    rej = r.rejected
    assert rej[["column", "value", "line"]].values.tolist() == [["PLACE", "Q9", 2], ["PLACE", "K3", 3]]
    assert rej["reason"].iloc[0] == "PLACE 'Q9' is not a valid PLACE code for 2024"
    # K3 is valid from 2025
    r25 = read_ssda903_folder(tmp_path, 2025)
    rej25 = r25.rejected
    assert sorted(rej25.loc[rej25["column"] != "CHILD", "value"]) == ["1", "2", "Q9"]  # and SEX 1/2 no longer valid
    # the child whose Header row was rejected loses its other episode too (not counted half-known)
    assert rej25.loc[rej25["column"] == "CHILD", "reason"].str.contains("Header row of the child .* was rejected").all()


def test_blank_required_field_is_rejected_but_blank_optional_is_not(tmp_path):
    minimal_return(tmp_path, episode_rows=["1,01/05/2023,S,,N1,U1,,,,,,,", "2,01/05/2023,S,C2,N1,U1,,,,,,,"])
    r = read_ssda903_folder(tmp_path, 2024)
    assert r.rejected[["line", "column", "value", "reason"]].values.tolist() == [
        [2, "LS", "", "LS is blank but required"]
    ]
    assert r["Episodes"]["CHILD"].tolist() == ["2"]


def test_ethnic_defects_are_kept_and_categorised(tmp_path):
    rows = [
        "1,1,01/01/2010,WBRI,UN1,,",
        "2,1,01/01/2010,,UN1,,",
        "3,1,01/01/2010,REFU,UN1,,",
        "4,1,01/01/2010,NOBT,UN1,,",
        "5,1,01/01/2010,wbri,UN1,,",
        "6,1,01/01/2010,XXXX,UN1,,",
    ]
    r = read_ssda903_folder(minimal_return(tmp_path, header_rows=rows), 2024)
    assert r.rejected.empty
    assert r["Header"]["ethnic_quality"].tolist() == ["known", "blank", "refused", "not_obtained", "invalid", "invalid"]


def test_duplicate_child_is_reported_and_kept(tmp_path):
    rows = ["1,1,01/01/2010,WBRI,UN1,,", "1,1,01/01/2010,WBRI,UN1,,", "2,2,01/01/2011,BAFR,UN1,,"]
    r = read_ssda903_folder(minimal_return(tmp_path, header_rows=rows), 2024)
    assert len(r["Header"]) == 3
    rep = r.reported
    assert rep["line"].tolist() == [2, 3] and (rep["column"] == "CHILD").all()
    assert "appears 2 times" in rep["reason"].iloc[0]
    assert r.rejected.empty


def test_episode_ending_before_it_starts_is_rejected_and_counted(tmp_path):
    eps = ["1,01/05/2023,S,C2,N1,U1,PR1,01/04/2023,E11,,,,", "2,01/05/2023,S,C2,N1,U1,PR1,,,,,,"]
    r = read_ssda903_folder(minimal_return(tmp_path, episode_rows=eps), 2024)
    rej = r.rejected
    assert rej[["line", "column", "value"]].values.tolist() == [[2, "DEC", "01/04/2023"]]
    assert "before DECOM '01/05/2023'" in rej["reason"].iloc[0]
    assert r["Episodes"]["CHILD"].tolist() == ["2"] and r.rejected_rows()["Episodes"] == 1


def test_header_with_bom_whitespace_and_other_order_is_recognised(tmp_path):
    write(tmp_path, "x.csv", "\ufeff SEX , CHILD,DOB,ETHNIC,UPN,MOTHER,MC_DOB\r\n1,7,01/01/2010,WBRI,UN1,,\r\n")
    write(tmp_path, "y.csv", EPISODES + "7,01/05/2023,S,C2,N1,U1,PR1,,,,,,\n")
    r = read_ssda903_folder(tmp_path, 2024)
    assert r["Header"][["CHILD", "SEX"]].values.tolist() == [["7", "1"]]


def test_missing_required_table_is_an_input_error(tmp_path):
    write(tmp_path, "a.csv", HEADER + "1,1,01/01/2010,WBRI,UN1,,\n")
    with pytest.raises(InputError, match="no Episodes table"):
        read_ssda903_folder(tmp_path, 2024)


def test_row_with_too_many_fields_names_its_line(tmp_path):
    minimal_return(tmp_path)
    write(tmp_path, "a.csv", HEADER + "1,1,01/01/2010,WBRI,UN1,,\n2,2,01/01/2010,WBRI,UN1,,,extra\n")
    with pytest.raises(InputError) as exc:
        read_ssda903_folder(tmp_path, 2024)
    assert exc.value.line == 3 and exc.value.file.endswith("a.csv")


# -------------------------------------------------------------------------------------- years layout


def test_years_layout_adds_la_and_year_and_keeps_lines_per_file(tmp_path):
    root = tmp_path / "ssda903"
    # episodes of the 2023 returns start in 2022: a date after the collection year (31 March 2023) is rejected
    minimal_return(root / "2023" / "805", episode_rows=["1,01/05/2022,S,C2,N1,U1,PR1,,,,,,"])
    minimal_return(
        root / "2023" / "806", episode_rows=["1,01/05/2022,S,C2,N1,U1,PR1,,,,,,", "2,01/05/2022,S,C2,N1,ZZ,PR1,,,,,,"]
    )
    minimal_return(root / "2024" / "805")
    # a file whose quoted field holds a line break: later line numbers must still be right
    write(root / "2024" / "806", "h.csv", HEADER + '1,1,01/01/2010,WBRI,"UN1",,\n2,2,02/02/2012,BAFR,UN1,,\n')
    write(
        root / "2024" / "806",
        "e.csv",
        EPISODES + '1,01/05/2023,S,C2,N1,U1,PR1,,,,"AB1\n2CD",,\n2,31/02/2023,S,C2,N1,U1,PR1,,,,,,\n',
    )
    r = read_ssda903_years(root, [2023, 2024])
    h = r["Header"]
    assert sorted(h.groupby(["YEAR", "LA"]).size().to_dict().items()) == [
        ((2023, "805"), 2),
        ((2023, "806"), 2),
        ((2024, "805"), 2),
        ((2024, "806"), 2),
    ]
    rej = r.rejected.sort_values("line")
    assert rej[["column", "value", "line"]].values.tolist() == [["PLACE", "ZZ", 3], ["DECOM", "31/02/2023", 4]]
    assert rej["file"].iloc[0].endswith("2023/806/b.csv") and rej["file"].iloc[1].endswith("2024/806/e.csv")
    assert r["Episodes"].loc[r["Episodes"]["HOME_POST"] != "", "HOME_POST"].tolist() == ["AB1\n2CD"]


def test_years_layout_rejects_unknown_la_folder_and_missing_year(tmp_path):
    root = tmp_path / "s"
    minimal_return(root / "2024" / "999")
    with pytest.raises(InputError, match="not an old_la_code"):
        read_ssda903_years(root, [2024])
    with pytest.raises(InputError, match="no folder for collection year 2023"):
        read_ssda903_years(root, [2023])


def test_write_rejected_writes_one_file_per_table(tmp_path):
    minimal_return(tmp_path / "in", episode_rows=["1,31/02/2023,S,C2,N1,U1,PR1,,,,,,"])
    r = read_ssda903_folder(tmp_path / "in", 2024)
    written = write_rejected(r, tmp_path / "qa")
    assert tmp_path / "qa" / "rejected_episodes.csv" in written
    out = pd.read_csv(tmp_path / "qa" / "rejected_episodes.csv", dtype=str)
    assert list(out.columns) == ["file", "line", "column", "value", "reason", "table"]
    # the date itself is redacted (record-level detail); file and line lead back to it
    assert out[["line", "column", "value"]].values.tolist() == [["2", "DECOM", "[date]"]]
    assert pd.read_csv(tmp_path / "qa" / "rejected_header.csv").empty
    counts = r.counts().set_index("table")
    assert counts.loc["Episodes", "rows_read"] == 1 and counts.loc["Episodes", "rows_rejected"] == 1


def test_sample_copy_in_a_years_layout(tmp_path):
    la = tmp_path / "root" / "2024" / "805"
    la.mkdir(parents=True)
    for f in SAMPLE.glob("*.csv"):
        shutil.copy(f, la / f.name)
    r = read_ssda903_years(tmp_path / "root", [2024])
    assert r.rows_read["Header"] == 2675 and (r["Header"]["LA"] == "805").all()
