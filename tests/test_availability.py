import pandas as pd

from rap.inputs.coverage import scan_published, scan_record
from rap.inputs.load import RecordData
from rap.inputs.readers.quarantine import ReadResult
from rap.sections import data_availability as availability


def _record(years):
    header = pd.DataFrame({"YEAR": [years[0]] * 3 + [years[1]] * 2, "LA": ["805", "806", "807", "805", "806"]})
    school = pd.DataFrame(
        {
            "YEAR": [years[1]] * 2,
            "LA": ["805", "806"],
            "KS1_RWM_EXP": [pd.NA, pd.NA],
            "KS2_READ_EXP": [1, pd.NA],
            "KS2_WRIT_EXP": [0, pd.NA],
            "KS2_MAT_EXP": [1, pd.NA],
            "SCHOOL_MOVES": [0, 1],
            "MIDYEAR_MOVES": [0, 0],
        }
    )
    return RecordData(
        ssda903=ReadResult(tables={"Header": header}),
        school=ReadResult(tables={"School": school}),
        population=None,
    )


def test_scan_counts_rows_and_las_per_year_and_marks_absent_collections():
    years = [2023, 2024]
    scan = scan_record(_record(years), years).set_index(["collection", "year"])
    assert scan.loc[("ssda903_header", 2023), ["rows", "las"]].tolist() == [3, 3]
    assert scan.loc[("ssda903_header", 2024), ["rows", "las"]].tolist() == [2, 2]
    assert scan.loc[("ssda903_episodes", 2024), "rows"] == 0
    # KS2 counts only pupils with a result; KS1 (all blank) counts none
    assert scan.loc[("ks2", 2024), "rows"] == 1
    assert scan.loc[("ks1", 2024), "rows"] == 0
    assert scan.loc[("ssda903_header", 2023), "share_las"] == 3 / 153


def test_gaps_are_drawn_from_the_scan():
    years = [2023, 2024]
    scan = scan_record(_record(years), years)
    text = " ".join(availability.gaps(scan, years, synthetic_population=True))
    assert "Children in need census is not among this pipeline's inputs" in text
    assert "SSDA903: Episodes" in text and "no data in any year from 2023 to 2024" in text
    assert "between 2 and 3 of 153 local authorities" in text
    assert "synthetic" in text


def test_availability_tables_cover_every_catalogue_entry():
    years = [2023, 2024]
    scan = scan_record(_record(years), years)
    table = availability.availability_table(scan)
    assert len(table) == len(availability.catalogue()) == len(availability.catalogue_table())
    row = table.set_index("Collection").loc["SSDA903: Header (child characteristics)"]
    assert row["Years in inputs"] == "2023 to 2024" and row["Rows (latest year)"] == 2
    tidy = availability.availability_ees(scan)
    assert set(tidy["time_period"]) == set(years) and tidy["number_of_rows"].sum() == scan["rows"].sum()


def test_published_scan_finds_the_tables_of_a_release(repo_root):
    from rap.inputs.readers.ees import read_ees_table

    f = repo_root / "tests" / "fixtures" / "ees" / "2024" / "national_cla_on_31_march_by_characteristics.csv"
    tables = {"cla_on_31_march": read_ees_table(f, "cla_on_31_march", release=2024)}
    scan = scan_published(tables, [2023, 2024]).set_index(["collection", "year"])
    assert scan.loc[("ssda903_header", 2024), "rows"] > 0
    assert scan.loc[("ssda903_missing", 2024), "rows"] == 0


def test_gaps_by_design_are_explained_not_reported_as_missing():
    years = [2022, 2023, 2024]
    scan = scan_record(_record([2023, 2024]), years)
    text = availability.gaps(scan, years, synthetic_population=False)
    sw = [g for g in text if g.startswith("SSDA903: Social worker episodes")]
    assert sw == [
        "SSDA903: Social worker episodes: no data for 2022, 2023, as expected: collected from 2023/24.",
        "SSDA903: Social worker episodes: no data for 2024.",
    ]
    ks1 = [g for g in text if g.startswith("Key Stage 1")]
    assert any("2024, as expected" in g and "non-statutory" in g for g in ks1)
