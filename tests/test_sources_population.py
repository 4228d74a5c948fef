"""Population readers: ONS mid-year estimates of children, Census 2021 all ages, the synthetic file."""

from __future__ import annotations

import pytest

from rap.core.errors import InputError
from rap.domain.input_files import input_file
from rap.inputs.readers.population import (
    SYNTHETIC_SOURCE,
    read_census_ethnicity,
    read_children_by_la_ethnicity,
    read_mid_year_estimates,
)


def test_mid_year_estimates(shared_dir):
    df = read_mid_year_estimates(shared_dir / "reference-data" / "population" / input_file("ons_mid_year_estimates"))
    nat = df[(df["geographic_level"] == "National") & (df["time_period"] == 2024)]
    assert nat["population"].tolist() == [12183016]
    la = df[(df["geographic_level"] == "Local authority") & (df["time_period"] == 2024)]
    assert la["population"].sum() == 12183016
    sym = df[df["symbol"].notna()]
    assert sym["population"].isna().all() and (sym["symbol"] == "x").all()


def test_census_is_flagged_all_ages(shared_dir):
    p = shared_dir / "reference-data" / "population"
    nat = read_census_ethnicity(p / "ons-ethnic-population-nat.csv")
    assert nat["all_ages"].all() and len(nat) == 19 and (nat["geography_code"] == "E92000001").all()
    assert nat["population"].sum() > 50_000_000  # all ages, not children
    reg = read_census_ethnicity(p / input_file("census_ethnicity_regions"))
    assert reg["all_ages"].all() and reg["geography_code"].nunique() == 9


HEAD = (
    "time_period,geographic_level,new_la_code,old_la_code,la_name,region_code,region_name,ons2021_code,"
    "ons2021_label,major,population,source\n"
)


def test_synthetic_children_file(tmp_path):
    p = tmp_path / "children_by_la_ethnicity.csv"
    p.write_text(
        HEAD
        + f"2024,Local authority,E06000001,805,Hartlepool,E12000001,North East,1,Bangladeshi,asian,12,{SYNTHETIC_SOURCE}\n"
    )
    df = read_children_by_la_ethnicity(p)
    assert df["population"].tolist() == [12] and not df["all_ages"].any()
    p.write_text(
        HEAD + "2024,Local authority,E06000001,805,Hartlepool,E12000001,North East,1,Bangladeshi,asian,12,ONS\n"
    )
    with pytest.raises(InputError) as exc:
        read_children_by_la_ethnicity(p)
    assert exc.value.line == 2 and exc.value.column == "source"
    p.write_text(
        HEAD
        + f"2024,Local authority,E06000001,805,Hartlepool,E12000001,North East,1,Bangladeshi,asian,1.5,{SYNTHETIC_SOURCE}\n"
    )
    with pytest.raises(InputError) as exc:
        read_children_by_la_ethnicity(p)
    assert exc.value.column == "population" and exc.value.value == "1.5"


def test_input_file_names_are_data_and_name_the_files_in_use(repo_root):
    """The population files the published route reads by name are the ones the test fixtures copy from ONS."""
    fixtures = repo_root / "tests" / "fixtures" / "population"
    for key in ("ons_mid_year_estimates", "census_ethnicity_regions"):
        assert (fixtures / input_file(key)).is_file(), key
    assert input_file("children_by_la_ethnicity") == "population/children_by_la_ethnicity.csv"
    with pytest.raises(KeyError, match="input_files.yaml"):
        input_file("no_such_input")
