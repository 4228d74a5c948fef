"""DfE's national figures by ethnic group: republished exactly (``rap.measures.dfe_figures``, written by the
breakdowns chapter on the published route) and counted in the QA annex's coverage table
(``rap.build.reproduction``), which must notice a figure that differs, is missing or was never written.

Fixtures: tests/fixtures/published_2024/ (copies of DfE's 2024 release; SOURCE.md). The expected cells are typed
in from the published CSVs. The whole-release tests read the stored releases from the shared folder.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from rap.build import reproduction as R
from rap.build.checks import PASSED, Build, dfe_figures_reproduced
from rap.core.params import load_params
from rap.domain.ethnicity import codes, major_groups
from rap.inputs.readers.ees import ees_files, read_ees_release, read_ees_table
from rap.measures.dfe_figures import figure_map, republished
from rap.sections.breakdowns import write_dfe_tables

#: EES files name groups by the harmonised labels (rap.domain.ethnicity.ees_harmonised)
WHITE_BRITISH = codes().at["WBRI", "label_ees"]
MAJOR = major_groups()["label_ees"]

FIX = Path(__file__).parent / "fixtures" / "published_2024"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def release() -> dict[str, pd.DataFrame]:
    """The fixture copies of the release with tables to republish (placements, care leavers' activity)."""
    wanted = {"placement_count", "care_leavers_activity_by_placement_ethnicity"}
    return {
        table: read_ees_table(FIX / name, table, 2024)
        for name, table in ees_files()["releases"][2024].items()
        if table in wanted and (FIX / name).is_file()
    }


@pytest.fixture
def written(release, tmp_path) -> Path:
    paths = write_dfe_tables(SimpleNamespace(published=True, release=release), tmp_path)
    assert {p.name for p in paths} == {"dfe_placements_by_ethnicity.csv", "dfe_care_leavers_activity_by_ethnicity.csv"}
    return tmp_path / "tables"


def _cell(csv: Path, column: str, **where: str) -> str:
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for k, v in where.items():
        df = df[df[k] == v]
    assert len(df) == 1, where
    return df[column].iloc[0]


def test_republished_cells_are_dfes(written):
    pl = written / "dfe_placements_by_ethnicity.csv"
    wb = {"time_period": "2024", "cohort": "CLA on 31 March", "ethnicity_minor": WHITE_BRITISH}
    assert _cell(pl, "number", placements="Total", **wb) == "55140"  # DfE "Total children", line 670
    assert _cell(pl, "number", placements="With 1 placement during the year", **wb) == "37940"
    assert _cell(pl, "percentage", placements="With 2 placements during the year", **wb) == "21"
    # DfE's symbol kept, never a number: 3d. Chinese, CLA 12 months on 31 March, line 89
    chinese = {"time_period": "2024", "cohort": "CLA 12 months on 31 March", "ethnicity_minor": "Chinese"}
    assert _cell(pl, "number", placements="With 3 or more placements during the year", **chinese) == "c"
    cl = written / "dfe_care_leavers_activity_by_ethnicity.csv"
    mixed = {
        "time_period": "2024",
        "care_leaver_age": "19 to 21 years",
        "ethnicity_major": MAJOR["mixed"],
    }
    assert _cell(cl, "number", activity="Not in education, employment or training", **mixed) == "1210"
    assert _cell(cl, "percentage", activity="Not in education, employment or training", **mixed) == "44"
    asian = {"time_period": "2024", "care_leaver_age": "17 years", "ethnicity_major": MAJOR["asian"]}
    assert _cell(cl, "number", activity="In training or employment", **asian) == "z"


def test_a_filter_with_one_level_is_not_written(written):
    """DfE's care leavers are by major group only: a minor-group column of one item would be refused by EES."""
    meta = pd.read_csv(written / "dfe_care_leavers_activity_by_ethnicity.meta.csv", dtype=str)
    assert "ethnicity_minor" not in set(meta["col_name"])
    assert "ethnicity_minor" not in pd.read_csv(written / "dfe_care_leavers_activity_by_ethnicity.csv", nrows=1)


def test_nothing_is_republished_from_record_level_inputs(release, tmp_path):
    assert write_dfe_tables(SimpleNamespace(published=False, release=release), tmp_path) == []
    assert not (tmp_path / "tables").exists()


def test_coverage_counts_every_figure(release, written):
    table = R.reproduction(release, written)
    figures = {
        t: int(((df["geographic_level"] == "National") & df["ethnicity_level"].notna()).sum())
        for t, df in release.items()
    }
    assert dict(zip(table["release_table"], table["figures"])) == figures
    assert (table["reproduced"] == table["figures"]).all() and table["differing"].sum() == 0
    assert R.summary(table)[0]


def test_coverage_sees_a_changed_cell(release, written):
    csv = written / "dfe_placements_by_ethnicity.csv"
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    i = df.index[(df["time_period"] == "2024") & (df["ethnicity_minor"] == WHITE_BRITISH)][0]
    df.loc[i, "number"] = str(int(df.loc[i, "number"]) + 10)
    df.to_csv(csv, index=False)
    row = R.reproduction(release, written).set_index("release_table").loc["placement_count"]
    assert row["differing"] == 1 and row["reproduced"] == row["figures"] - 1
    assert "national_cla_pl_count_by_characteristics.csv line " in row["reason"]
    assert "1 differ" in row["reason"]
    assert not R.summary(R.reproduction(release, written))[0]  # no figure may differ


def test_coverage_sees_a_missing_row_and_a_missing_table(release, written):
    csv = written / "dfe_placements_by_ethnicity.csv"
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    df.iloc[1:].to_csv(csv, index=False)
    (written / "dfe_care_leavers_activity_by_ethnicity.csv").unlink()
    table = R.reproduction(release, written).set_index("release_table")
    pl, cl = table.loc["placement_count"], table.loc["care_leavers_activity_by_placement_ethnicity"]
    assert pl["not_produced"] == 2 and "2 not in the table" in pl["reason"]  # number and percentage of the row
    assert cl["reproduced"] == 0 and cl["not_produced"] == cl["figures"]
    assert "was not written" in cl["reason"]


def test_a_release_table_with_no_output_is_named(release, written, monkeypatch):
    fmap = {"tables": {k: v for k, v in figure_map()["tables"].items() if k != "placement_count"}}
    monkeypatch.setattr(R, "figure_map", lambda: fmap)
    row = R.reproduction(release, written).set_index("release_table").loc["placement_count"]
    assert row["not_produced"] == row["figures"] and "no output table is mapped" in row["reason"]


@pytest.mark.slow
@pytest.mark.parametrize("year", [2023, 2024])
def test_the_published_route_reproduces_dfes_national_ethnicity_figures(published_build, shared_dir, year):
    """Issue 16: at least 98% of the release's national figures by ethnic group come out exactly, none differs,
    and the same machinery serves each stored release."""
    release = read_ees_release(shared_dir / "reference-data" / f"ees-cla-{year}-release")
    table = R.reproduction(release, published_build(year))
    ok, text = R.summary(table)
    assert ok, (text, table.loc[table["reason"] != "", ["release_table", "reason"]].to_dict("records"))
    assert table["figures"].sum() > 9000 and table["differing"].sum() == 0


@pytest.mark.slow
def test_the_qa_check_writes_the_coverage_table(published_build, shared_dir, tmp_path):
    tables = published_build(2024)
    params = load_params(tables.parents[3] / "params" / "2024-published.yaml")
    [check] = dfe_figures_reproduced(Build(tables.parent, params))
    assert check.result == PASSED and "9,940 of 9,940" in check.detail
    written = pd.read_csv(tables.parent / "qa" / R.REPRODUCTION_CSV)
    assert written["figures"].sum() == 9940 and (written["reproduced"] == written["figures"]).all()


def test_the_2025_national_file_is_republished_exactly(shared_dir, tmp_path):
    release = read_ees_release(shared_dir / "reference-data" / "ees-cla-2025-release")
    out = republished(release)
    assert list(out) == ["dfe_cla_on_31_march_major_by_ethnicity"]
    write_dfe_tables(SimpleNamespace(published=True, release=release), tmp_path)
    table = R.reproduction(release, tmp_path / "tables")
    assert table["figures"].sum() == 70 and (table["reproduced"] == table["figures"]).all()
