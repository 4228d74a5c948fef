"""Copy the extracts the child population estimate needs into src/rap/data/population/ (run once per new
release of the sources; the package reads only the copies, so a fresh clone stands alone).

    python tools/extract_population_data.py /path/to/reference-data

Sources (each named in src/rap/data/population/SOURCE.md): DfE "Schools, pupils and their characteristics"
(pupils by ethnicity and LA), ONS mid-year estimates of children aged 0-17 by LA, and Census 2021 age by
ethnic group (England and Wales).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "src" / "rap" / "data" / "population"


def school_census(ref: Path) -> pd.DataFrame:
    """LA pupils (all state-funded phases, every language) by the 18 groups and Unclassified, one row per LA-year."""
    s = pd.read_csv(ref / "school-census" / "spc_pupils_ethnicity_and_language.csv.gz", dtype=str)
    s = s[(s["geographic_level"] == "Local authority") & (s["phase_type_grouping"] == "Total")]
    s = s[(s["language"] == "Total") & (s["ethnicity"] != "Total")]
    s = s.assign(headcount=s["headcount"].astype(int))
    wide = s.pivot_table(
        index=["time_period", "old_la_code", "new_la_code"], columns="ethnicity", values="headcount", aggfunc="sum"
    )
    return wide.reset_index().rename_axis(columns=None)


def mid_year(ref: Path) -> pd.DataFrame:
    """ONS mid-year estimates of children aged 0-17, LA rows (the boundaries of each year)."""
    m = pd.read_csv(ref / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv", dtype=str)
    m = m[m["geographic_level"] == "Local authority"]
    m = m[["time_period", "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "population_estimate"]]
    m = m[m["population_estimate"].str.fullmatch(r"\d+")]  # "x": an LA that did not exist that year
    return m.rename(columns={"population_estimate": "population"})


def census_age(ref: Path) -> pd.DataFrame:
    """Census 2021 usual residents aged 0-19 (four five-year bands) by the 5 ethnic categories, England and Wales."""
    a = pd.read_csv(ref / "population" / "census2021-age-by-ethnicity-ew" / "age_by_ethnic_group_6.csv")
    a.columns = ["area_code", "area", "age_code", "age", "ethnic_code", "ethnic_group", "population"]
    a = a[(a["age_code"] <= 4) & (a["ethnic_code"] > 0)]
    return a[["age_code", "age", "ethnic_code", "ethnic_group", "population"]]


def main(ref: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    school_census(ref).to_csv(OUT / "school_census_pupils_by_ethnicity_la.csv", index=False)
    mid_year(ref).to_csv(OUT / "ons_mid_year_0_17_la.csv", index=False)
    census_age(ref).to_csv(OUT / "census2021_age_by_ethnicity_ew.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
