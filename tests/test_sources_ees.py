"""Published EES files: both release layouts, headline figures, symbols never 0, the derived LA file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.core.errors import InputError
from rap.inputs.readers.ees import parse_indicator, read_ees_la_ethnicity, read_ees_release, read_ees_table

FIX = Path(__file__).parent / "fixtures" / "ees"


def _eth_2024(df: pd.DataFrame, indicator: str = "number") -> pd.DataFrame:
    d = df[(df["time_period"] == 2024) & df["ethnicity_level"].notna() & (df["indicator"] == indicator)]
    return d.set_index(d["ethnicity"].fillna("total"))


def test_2024_headline_figures_exactly():
    df = read_ees_table(FIX / "2024" / "national_cla_on_31_march_by_characteristics.csv", "cla_on_31_march", 2024)
    n = _eth_2024(df)["value"]
    assert n["total"] == 83630
    assert (n["white"], n["WBRI"], n["mixed"], n["black"], n["asian"], n["other"], n["unknown"]) == (
        59340,
        55140,
        8920,
        6230,
        4420,
        3910,
        800,
    )
    pct = _eth_2024(df, "percentage")
    assert pct.loc["WIRI", "symbol"] == "k" and np.isnan(pct.loc["WIRI", "value"])
    assert pct.loc["WIRI", "raw"] == "k"
    assert pct.loc["white", "value"] == 71 and pd.isna(pct.loc["white", "symbol"])


def test_2023_file_reads_with_same_labels():
    df = read_ees_table(FIX / "2023" / "national_cla_on_31_march_by_characteristics.csv", "cla_on_31_march", 2023)
    d = df[(df["time_period"] == 2023) & (df["indicator"] == "number") & df["ethnicity_level"].notna()]
    d = d.set_index(d["ethnicity"].fillna("total"))["value"]
    assert d["total"] == 83840 and d["white"] == 59780
    assert set(df.loc[df["ethnicity_level"] == "minor", "ethnicity"]) >= {"WBRI", "REFU", "NOBT", "CHNE"}


def test_missing_files_differ_in_name_between_releases_but_map_to_one_table():
    a = read_ees_table(FIX / "2023" / "national_statistics_official_statistics_cla_who_were_missing.csv", "missing")
    b = read_ees_table(FIX / "2024" / "official_statistics_cla_who_were_missing.csv", "missing")
    assert list(a.columns) == list(b.columns)
    for df in (a, b):
        eth = df[df["ethnicity_level"].notna()]
        assert set(eth["ethnicity_level"]) == {"major", "minor", "total"}


def test_mixed_case_headers_are_normalised():
    p = FIX / "2024" / "national_cla_during_the_year_and_on_31_march_for_at_least_12_mths_by_characteristics.csv"
    assert "CLA_group" in p.read_text(encoding="utf-8-sig").splitlines()[0]
    df = read_ees_table(p, "cla_during_year_and_12_months", 2024)
    assert "cla_group" in df.columns and set(df["indicator"]) == {"number"}
    assert df["ethnicity_level"].notna().any()


def test_symbols_are_never_zero():
    value, symbol, ok = parse_indicator(pd.Series(["c", "k", "low", "x", "z", "u", "0", "1,234", "12.5", "3:6"]))
    assert ok.all()
    assert np.isnan(value[:6]).all() and list(symbol[:6]) == ["c", "k", "low", "x", "z", "u"]
    assert list(value[6:]) == [0.0, 1234.0, 12.5, 3.5] and all(s is None for s in symbol[6:])


def test_derived_la_file_has_905_suppressed_la_cells_kept_as_c():
    df = read_ees_la_ethnicity(FIX / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv")
    la_num = df[(df["geographic_level"] == "Local authority") & (df["indicator"] == "number")]
    supp = la_num[la_num["symbol"] == "c"]
    assert len(supp) == 905
    assert supp["value"].isna().all() and not (la_num["value"] == 0).loc[supp.index].any()
    assert (supp["raw"] == "c").all()
    assert set(df["ethnicity_level"]) == {"major", "total"}


def _tmp_ees(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "f.csv"
    head = "time_period,time_identifier,geographic_level,country_code,country_name,cla_group,characteristic,number,percentage\n"
    p.write_text("\ufeff" + head + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def test_unknown_ethnicity_label_names_file_line_column_value(tmp_path):
    p = _tmp_ees(
        tmp_path,
        [
            "2024,Reporting year,National,E92000001,England,Ethnicity,1. Total White,10,50",
            "2024,Reporting year,National,E92000001,England,Age group,Martian,10,50",  # not ethnicity: ignored
            "2024,Reporting year,National,E92000001,England,Ethnicity,7. Total Martian,10,50",
        ],
    )
    with pytest.raises(InputError) as exc:
        read_ees_table(p, "cla_on_31_march")
    e = exc.value
    assert (e.file, e.line, e.column, e.value) == (str(p), 4, "characteristic", "7. Total Martian")


def test_bad_indicator_cell_is_an_error(tmp_path):
    p = _tmp_ees(tmp_path, ["2024,Reporting year,National,E92000001,England,Age group,1 to 4 years,,50"])
    with pytest.raises(InputError) as exc:
        read_ees_table(p, "cla_on_31_march")
    assert exc.value.line == 2 and exc.value.column == "number" and exc.value.value == ""


def test_missing_column_is_an_error(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("time_period,geographic_level,cla_group,number\n2024,National,Ethnicity,1\n")
    with pytest.raises(InputError) as exc:
        read_ees_table(p, "cla_on_31_march")
    assert exc.value.column == "characteristic"


# ------------------------------------------------------------------- whole releases (shared reference data)


@pytest.mark.parametrize("release", [2023, 2024, 2025])
def test_whole_releases_read(shared_dir, release):
    out = read_ees_release(shared_dir / "reference-data" / f"ees-cla-{release}-release")
    assert out, release
    for name, df in out.items():
        assert (df["release"] == release).all()
        num = df["symbol"].isna()
        assert df.loc[num, "value"].notna().all(), name
        assert df.loc[~num, "value"].isna().all(), name
    if release in (2023, 2024):
        assert {"cla_on_31_march", "missing", "away_without_authorisation", "cla_started"} <= set(out)
        m = out["missing"]
        assert m["ethnicity_level"].notna().sum() > 0


def test_2024_release_headline_via_release_reader(shared_dir):
    out = read_ees_release(shared_dir / "reference-data" / "ees-cla-2024-release")
    n = _eth_2024(out["cla_on_31_march"])["value"]
    assert n["total"] == 83630 and n["unknown"] == 800


def test_release_with_a_listed_file_missing_names_it(tmp_path):
    folder = tmp_path / "ees-cla-2024-release"
    folder.mkdir()
    with pytest.raises(InputError) as exc:
        read_ees_release(folder)
    assert "not found" in str(exc.value) and str(folder) in exc.value.file
