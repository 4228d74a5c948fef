"""The accessible workbook of all tables (rap.build.spreadsheet): structure, labels, symbols, numbers, names."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from rap.build.spreadsheet import REPORT_LEVELS, sheet_names, write_spreadsheet
from rap.domain.disclosure import SYMBOLS
from rap.domain.ees import with_ees_columns, write_ees

TITLE = "Ethnicity of children looked after: tables"
SOURCE = "SSDA903 children looked after return"
LONG_A = "placement_moves_within_twelve_months_for_boys"
LONG_B = "placement_moves_within_twelve_months_for_girls"


def _cla(tables: Path) -> None:
    """National and regional rows (region blank on national rows) with every kind of symbol but u."""
    df = pd.DataFrame(
        {
            "year": [2023, 2023, 2024, 2024, 2024, 2024],
            "geographic_level": ["National", "National", "National", "National", "Regional", "Regional"],
            "region_code": ["", "", "", "", "E12000001", "E12000001"],
            "region_name": ["", "", "", "", "North East", "North East"],
            "ethnicity_major": ["Total", "White", "Total", "White", "Total", "White"],
            "number": ["83630", "c", "83840", "58000", "low", "4210"],
            "percentage": ["100.0", "x", "100.0", "69.2", "k", "z"],
            "average_attainment8": ["z"] * 6,  # applies to no row: left out of the sheet
        }
    )
    write_ees(
        with_ees_columns(df, year="year"),
        tables / "cla_on_31_march_by_ethnicity.csv",
        filters={"ethnicity_major": "Ethnic group (major)"},
        indicators={
            "number": ("Number", "", 0),
            "percentage": ("Percentage", "%", 1),
            "average_attainment8": ("Average Attainment 8 score", "", 1),
        },
    )


def _scorecard(tables: Path) -> None:
    """A rating (a filter: EES indicators hold numbers) beside a numeric indicator; no symbols."""
    df = pd.DataFrame(
        {
            "year": [2024, 2024],
            "quality_dimension": ["Completeness", "Validity"],
            "percentage": [98.8, 99.9],
            "rating": ["Green", "Amber"],
        }
    )
    write_ees(
        with_ees_columns(df, year="year"),
        tables / "quality_scorecard.csv",
        filters={"quality_dimension": "Quality dimension", "rating": "Rating"},
        indicators={"percentage": ("Value", "%", 1)},
    )


def _long(tables: Path, stem: str) -> None:
    df = pd.DataFrame({"year": [2024], "ethnicity_major": ["Total"], "number": [12]})
    write_ees(
        with_ees_columns(df, year="year"),
        tables / f"{stem}.csv",
        filters={"ethnicity_major": "Ethnic group (major)"},
        indicators={"number": ("Children", "", 0)},
    )


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    d = tmp_path / "tables"
    _cla(d)
    _scorecard(d)
    _long(d, LONG_A)
    _long(d, LONG_B)
    return d


def _write(tables: Path, out: Path, **kw) -> openpyxl.Workbook:
    write_spreadsheet(tables, out, title=TITLE, year=2024, source=SOURCE, **kw)
    return openpyxl.load_workbook(out)


def _table(ws) -> list[tuple]:
    """The rows of the sheet's one Excel table, header first."""
    (table,) = ws.tables.values()
    return [tuple(c.value for c in row) for row in ws[table.ref]]


def _texts(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


def _above(ws) -> list[str]:
    """The text rows above the table: title, instructions, legend, source, scope."""
    (table,) = ws.tables.values()
    first = ws[table.ref][0][0].row
    return [ws.cell(r, 1).value for r in range(1, first)]


@pytest.fixture
def book(tables: Path, tmp_path: Path) -> openpyxl.Workbook:
    return _write(tables, tmp_path / "out" / "cla-ethnicity-2024-tables.xlsx")


def test_cover_first_then_contents_and_notes_then_one_sheet_per_table(book):
    assert book.sheetnames[:3] == ["Cover", "Contents", "Notes"]
    assert len(book.sheetnames) == 3 + 4
    assert "cla_on_31_march" in book.sheetnames  # measure tables first, "_by_ethnicity" dropped
    assert book.sheetnames[3] == "cla_on_31_march"
    for ws in book.worksheets[3:]:
        assert len(ws.tables) == 1


def test_cover_says_what_where_when_and_how_symbols_are_shown(book):
    cover = _texts(book["Cover"])
    assert cover[0] == TITLE
    text = "\n".join(cover)
    assert "4 tables" in text and "2024" in text and SOURCE in text
    assert "Contact" in text and "to be added" in text
    assert "square brackets" in text
    for s in ("c", "low", "k", "x", "z"):
        assert f"[{s}] = {SYMBOLS[s]}" in cover
    assert "[u]" not in text  # only the symbols used


def test_table_sheet_title_headers_from_meta_and_units(book):
    ws = book["cla_on_31_march"]
    assert ws["A1"].value == "Children looked after on 31 March by ethnicity, England, 2023 to 2024"
    header = _table(ws)[0]
    assert header == (
        "Reporting year",
        "Geographic level",
        "Region code",
        "Region",
        "Ethnic group (major)",
        "Number",
        "Percentage\n(%)",
    )
    # constant bookkeeping columns and a column that applies to no row are left out
    text = "\n".join(_texts(ws))
    assert "Average Attainment 8" not in text and "E92000001" not in text
    assert "cla_on_31_march_by_ethnicity.csv" in text
    ws = book["quality_scorecard"]
    assert ws["A1"].value == "Quality scorecard, England, 2024"
    assert _table(ws)[0] == ("Reporting year", "Geographic level", "Quality dimension", "Rating", "Value\n(%)")


def test_symbols_in_brackets_and_explained_beside_the_table_and_in_notes(book):
    ws = book["cla_on_31_march"]
    rows = _table(ws)[1:]
    cells = {v for row in rows for v in row}
    assert {"[c]", "[low]", "[x]", "[k]", "[z]"} <= cells
    assert not cells & set(SYMBOLS)  # no bare symbol left
    assert rows[0][2:4] == ("[z]", "[z]")  # region on a national row: not applicable, not blank
    legend = [t for t in _above(ws) if t.startswith("[")]
    notes = {row[1] for row in _table(book["Notes"])[1:]}
    for s in ("c", "low", "x", "k", "z"):
        assert any(t.startswith(f"[{s}] = {SYMBOLS[s]}") and "[note " in t for t in legend)
        assert any(n.startswith(f"[{s}] means {SYMBOLS[s]}") for n in notes)
    assert not any(n.startswith("[u]") for n in notes)
    # the legend's note references point at the right notes
    numbers = {row[0]: row[1] for row in _table(book["Notes"])[1:]}
    for t in legend:
        n = int(t.rsplit("[note ", 1)[1].rstrip("]"))
        assert numbers[n].startswith(t.split(" = ")[0])
    # a table without symbols has no legend
    assert not any(t.startswith("[") for t in _above(book["quality_scorecard"]))


def test_numbers_stored_as_numbers_with_the_meta_decimal_places(book):
    ws = book["cla_on_31_march"]
    (table,) = ws.tables.values()
    body = list(ws[table.ref])[1:]
    number = [row[5] for row in body]
    pct = [row[6] for row in body]
    assert [c.value for c in number] == [83630, "[c]", 83840, 58000, "[low]", 4210]
    assert all(c.data_type == "n" for c in number if not str(c.value).startswith("["))
    assert [c.value for c in pct if c.data_type == "n"] == [100, 100, 69.2]
    assert {c.number_format for c in number if c.data_type == "n"} == {"#,##0"}
    assert {c.number_format for c in pct if c.data_type == "n"} == {"#,##0.0"}
    assert {c.data_type for c in (row[0] for row in body)} == {"s"}  # years and codes stay text
    sc = _table(book["quality_scorecard"])[1:]
    assert [r[3] for r in sc] == ["Green", "Amber"] and [r[4] for r in sc] == [98.8, 99.9]


def test_no_empty_cells_in_any_table(book):
    for ws in book.worksheets[1:]:
        for row in _table(ws):
            assert all(v is not None and str(v).strip() for v in row), (ws.title, row)


def test_sheet_names_short_unique_and_mapped_in_contents(book):
    names = book.sheetnames
    assert len({n.casefold() for n in names}) == len(names)
    assert all(len(n) <= 31 and n.replace("_", "").isalnum() for n in names)
    assert LONG_A[:31] == LONG_B[:31]
    contents = _table(book["Contents"])
    assert contents[0] == ("Sheet name", "Table title", "Open data file", "Rows")
    mapping = {row[2]: row[0] for row in contents[1:]}
    assert mapping[f"{LONG_A}.csv"] == "placement_moves_within_twelve_1"
    assert mapping[f"{LONG_B}.csv"] == "placement_moves_within_twelve_2"
    assert mapping["cla_on_31_march_by_ethnicity.csv"] == "cla_on_31_march"
    assert sorted(mapping.values()) == sorted(names[3:])
    (table,) = book["Contents"].tables.values()
    links = [row[0].hyperlink.location for row in list(book["Contents"][table.ref])[1:]]
    assert links == [f"'{row[0]}'!A1" for row in contents[1:]]


def test_sheet_names_are_deterministic_and_avoid_reserved_names():
    stems = [LONG_B, "Notes", LONG_A, "cla_on_31_march_by_ethnicity", "x" * 40, "x" * 41, "a-b c"]
    names = sheet_names(stems)
    assert names == sheet_names(list(reversed(stems)))
    assert names["Notes"] == "notes_1"
    assert names["cla_on_31_march_by_ethnicity"] == "cla_on_31_march"
    assert names["a-b c"] == "a_b_c"
    assert names["x" * 40] == "x" * 29 + "_1" and names["x" * 41] == "x" * 29 + "_2"
    assert len(set(names.values())) == len(stems) and all(len(n) <= 31 for n in names.values())


def test_table_without_meta_is_an_error_naming_it(tables: Path, tmp_path: Path):
    (tables / "la_statistical_neighbours.csv").write_text("new_la_code,rank\nE06000001,1\n")
    out = tmp_path / "book.xlsx"
    with pytest.raises(FileNotFoundError, match=r"la_statistical_neighbours\.csv"):
        write_spreadsheet(tables, out, title=TITLE, year=2024, source=SOURCE)
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_blank_indicator_is_an_error_naming_file_and_column(tables: Path, tmp_path: Path):
    path = tables / "quality_scorecard.csv"
    path.write_text(path.read_text().replace(",98.8", ","))
    with pytest.raises(ValueError, match=r"quality_scorecard\.csv.*percentage"):
        write_spreadsheet(tables, tmp_path / "book.xlsx", title=TITLE, year=2024, source=SOURCE)


def test_notes_by_table_column_and_all(tables: Path, tmp_path: Path):
    book = _write(
        tables,
        tmp_path / "book.xlsx",
        notes={
            "*": "Figures are provisional.",
            "quality_scorecard.csv": "Ratings use the project's thresholds.",
            "percentage": ["Percentages of children with a known ethnicity.", "Rounded to one decimal place."],
        },
    )
    numbers = {row[1]: row[0] for row in _table(book["Notes"])[1:]}
    every = numbers["Figures are provisional."]
    for ws in book.worksheets[3:]:
        assert ws["A1"].value.endswith(f"[note {every}]") or f"[note {every}] " in ws["A1"].value
    own = numbers["Ratings use the project's thresholds."]
    assert f"[note {own}]" in book["quality_scorecard"]["A1"].value
    header = _table(book["cla_on_31_march"])[0][6]
    a, b = (numbers[t] for t in ("Percentages of children with a known ethnicity.", "Rounded to one decimal place."))
    assert header == f"Percentage\n(%)\n[note {a}] [note {b}]"
    assert sorted(numbers.values()) == list(range(1, len(numbers) + 1))
    with pytest.raises(ValueError, match="nonexistent_column"):
        _write(tables, tmp_path / "bad.xlsx", notes={"nonexistent_column": "x"})


def test_two_builds_are_byte_identical_and_dated_from_source_date_epoch(tables: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a = write_spreadsheet(tables, tmp_path / "a.xlsx", title=TITLE, year=2024, source=SOURCE)
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        b = write_spreadsheet(tables, tmp_path / "b.xlsx", title=TITLE, year=2024, source=SOURCE)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert a.read_bytes() == b.read_bytes()
    assert openpyxl.load_workbook(a).properties.created == datetime(1980, 1, 1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    c = write_spreadsheet(tables, tmp_path / "c.xlsx", title=TITLE, year=2024, source=SOURCE)
    props = openpyxl.load_workbook(c).properties
    assert props.created == datetime(2023, 11, 14, 22, 13, 20) and props.title == TITLE


def test_garbage_collector_paused_only_while_writing(tables: Path, tmp_path: Path, monkeypatch):
    """The writer pauses the cyclic collector for speed and leaves it as it found it, also when it fails."""
    import gc

    import rap.build.spreadsheet as S

    seen = []
    write = S._write_table_sheet
    monkeypatch.setattr(S, "_write_table_sheet", lambda *a, **k: (seen.append(gc.isenabled()), write(*a, **k)))
    assert gc.isenabled()
    write_spreadsheet(tables, tmp_path / "book.xlsx", title=TITLE, year=2024, source=SOURCE)
    assert seen and not any(seen), "collector paused while the sheets are written"
    assert gc.isenabled(), "and running again afterwards"

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(S, "_write_table_sheet", boom)
    with pytest.raises(RuntimeError):
        write_spreadsheet(tables, tmp_path / "again.xlsx", title=TITLE, year=2024, source=SOURCE)
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(S, "_write_table_sheet", write)
        write_spreadsheet(tables, tmp_path / "third.xlsx", title=TITLE, year=2024, source=SOURCE)
        assert not gc.isenabled(), "a caller's disabled collector stays disabled"
    finally:
        gc.enable()


def _la(tables: Path, stem: str, levels: list[str]) -> None:
    """A table with a row for each of ``levels`` (local authorities carry their codes)."""
    la = [lvl == "Local authority" for lvl in levels]
    df = pd.DataFrame(
        {
            "year": [2024] * len(levels),
            "geographic_level": levels,
            "region_code": ["E12000001" if x else "" for x in la],
            "region_name": ["North East" if x else "" for x in la],
            "old_la_code": ["841" if x else "" for x in la],
            "new_la_code": ["E06000005" if x else "" for x in la],
            "la_name": ["Darlington" if x else "" for x in la],
            "ethnicity_major": ["Total"] * len(levels),
            "number": list(range(10, 10 * len(levels) + 1, 10)),
        }
    )
    write_ees(
        with_ees_columns(df, year="year"),
        tables / f"{stem}.csv",
        filters={"ethnicity_major": "Ethnic group (major)"},
        indicators={"number": ("Children", "", 0)},
    )


def test_local_authority_figures_are_left_to_the_csvs_and_the_cover_says_so(tmp_path: Path):
    """The workbook holds what the report shows (England): a region's or an LA's row is left out, a table of LAs
    only has no sheet, and the cover says where they are."""
    d = tmp_path / "tables"
    _la(d, "cla_on_31_march_by_ethnicity", ["National", "Regional", "Local authority"])
    _la(d, "la_statistical_neighbours", ["Local authority", "Local authority"])
    book = _write(d, tmp_path / "book.xlsx", levels=REPORT_LEVELS)
    assert book.sheetnames == ["Cover", "Contents", "Notes", "cla_on_31_march"]
    rows = _table(book["cla_on_31_march"])
    assert len(rows) == 2 and "Darlington" not in _texts(book["cla_on_31_march"])
    assert any("region and local authority" in t and "open data CSV files" in t for t in _texts(book["Cover"]))


def test_every_filter_names_its_default_item_for_ees(tmp_path: Path):
    """EES selects a filter's default first and warns (no API) where a filter has none: its Total where it has
    one, else its first item as written; indicators have none."""
    d = tmp_path / "tables"
    _cla(d)
    _scorecard(d)
    meta = pd.read_csv(d / "cla_on_31_march_by_ethnicity.meta.csv", dtype=str, keep_default_na=False)
    assert dict(zip(meta["col_name"], meta["filter_default"]))["ethnicity_major"] == "Total"
    assert set(meta.loc[meta["col_type"] == "Indicator", "filter_default"]) == {""}
    meta = pd.read_csv(d / "quality_scorecard.meta.csv", dtype=str, keep_default_na=False)
    assert dict(zip(meta["col_name"], meta["filter_default"]))["quality_dimension"] == "Completeness"
