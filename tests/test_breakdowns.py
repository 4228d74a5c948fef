"""Breakdown tables: what leaves the pipeline is rounded, suppressed where small, and statistically sound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rap.core.params import load_params
from rap.inputs.load import load_record_data
from rap.measures import compute_all
from rap.sections import breakdowns as B
from rap.synth import generate


@pytest.fixture(scope="module")
def built(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("b")
    params = load_params(
        repo_root / "params" / "2024.yaml", synth={"scale": "small"}, data={"path": str(root / "syn")}, years=2
    )
    generate(params)
    data = load_record_data(params)
    measures = compute_all(data, params.series_years)
    return params, measures, B.publication_table(measures, params, data.population)


def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(
        s.where(s.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)))), errors="coerce"
    )


def test_counts_rounded_and_small_percentages_suppressed(built):
    params, measures, table = built
    n = _numeric(table["number"])
    assert (n.dropna() % params.suppression.rounding_base == 0).all()
    # the raw counts behind every published percentage: none of 1..threshold may show a percentage
    raw = measures[measures["geographic_level"].isin(["National", "Regional"])].reset_index(drop=True)
    small = raw["number"].between(1, params.suppression.threshold) | raw["denominator"].between(
        1, params.suppression.threshold
    )
    shown = table["percentage"].map(lambda v: v not in ("c", "z", "x"))
    assert not (small.fillna(False).to_numpy() & shown.to_numpy()).any()
    assert (
        table.loc[small.fillna(False).to_numpy() & raw["denominator"].notna().to_numpy(), "percentage"] == "c"
    ).all()


def test_percentages_and_intervals_match_the_counts(built):
    _, measures, table = built
    raw = measures[measures["geographic_level"].isin(["National", "Regional"])].reset_index(drop=True)
    row = raw.index[
        (raw["measure"] == "missing")
        & (raw["breakdown"] == "Children who went missing")
        & (raw["geographic_level"] == "National")
        & (raw["ethnicity_major"] == "Total")
        & (raw["time_period"] == raw["time_period"].max())
    ][0]
    num, den = int(raw.at[row, "number"]), int(raw.at[row, "denominator"])
    from decimal import ROUND_HALF_UP, Decimal

    expected = int((Decimal(num) * 100 / Decimal(den)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert int(table.at[row, "percentage"]) == expected
    assert table.at[row, "percentage_lower_95"] < num / den * 100 < table.at[row, "percentage_upper_95"]
    assert table.at[row, "ratio_to_all_children"] == pytest.approx(1.0)


def test_every_indicator_cell_is_filled_and_written_as_ees(built, tmp_path):
    _, _, table = built
    paths = B.write_tables(table, tmp_path)
    names = {p.name for p in paths}
    assert "cla_on_31_march_by_ethnicity.csv" in names
    df = pd.read_csv(tmp_path / "tables" / "cla_on_31_march_by_ethnicity.csv", dtype=str, keep_default_na=False)
    assert not (df == "").loc[:, "number":].any().any()
    meta = pd.read_csv(tmp_path / "tables" / "cla_on_31_march_by_ethnicity.meta.csv")
    assert set(meta.loc[meta["col_type"] == "Filter", "col_name"]) == {
        "breakdown",
        "ethnicity_major",
        "ethnicity_minor",
    }


def test_significance_is_only_claimed_when_the_interval_excludes_one():
    t = pd.DataFrame(
        {
            "measure": ["m"] * 3,
            "breakdown": ["Total"] * 3,
            "time_period": [2024] * 3,
            "geographic_level": ["National"] * 3,
            "ethnicity_minor": ["Total"] * 3,
            "ethnicity_major": ["White", "Mixed or Multiple ethnic groups", "Asian or Asian British"],
            "ratio_to_white_british": [1.0, 1.5, 1.2],
            "ratio_to_white_british_lower_95": [0.9, 1.1, 0.95],
            "ratio_to_white_british_upper_95": [1.1, 2.0, 1.4],
        }
    )
    got = B.significant_differences(t, "m", "Total", 2024)
    assert len(got) == 1 and got[0].startswith("Mixed or Multiple ethnic groups (1.50")


def test_published_mode_keeps_dfe_figures_and_symbols(repo_root):
    from rap.inputs.readers.ees import read_ees_table

    f = repo_root / "tests" / "fixtures" / "published_2024" / "national_cla_on_31_march_by_characteristics.csv"
    tables = {"cla_on_31_march": read_ees_table(f, "cla_on_31_march", release=2024)}
    t = B.published_table(tables, [2024])
    t = t[t["measure"] == "cla_on_31_march"].set_index("ethnicity_minor")
    assert t.at["White British", "number"] == 55140
    assert t.at["White Irish", "percentage"] == "k"
    assert t.loc["Total"].query("ethnicity_major == 'Total'")["number"].iloc[0] == 83630
    assert t.at["White British", "percentage_lower_95"] == "x"


def test_rates_missing_for_a_reason_say_which_groups_and_why(built):
    _, _, table = built
    year = int(table["time_period"].max())
    note = B.rate_note(table, "cla_on_31_march", year, "synthetic")
    assert "Gypsy / Roma" in note and "synthetic" in note
    assert B.rate_note(table, "missing", year, "synthetic") == ""


def test_chart_title_claims_a_highest_group_only_when_differences_are_significant():
    rows = []
    for major, pct, lo, hi in (
        ("Total", 10, 9.0, 11.0),
        ("White", 10, 9.0, 11.0),
        ("Mixed or Multiple ethnic groups", 12, 9.0, 15.0),
    ):
        rows.append(
            {
                "measure": "missing",
                "breakdown": "Children who went missing",
                "time_period": 2024,
                "geographic_level": "National",
                "ethnicity_major": major,
                "ethnicity_minor": "Total",
                "percentage": pct,
                "percentage_lower_95": lo,
                "percentage_upper_95": hi,
                "ratio_to_white_british": 1.2 if major.startswith("Mixed") else 1.0,
                "ratio_to_white_british_lower_95": 0.9,
                "ratio_to_white_british_upper_95": 1.5,
            }
        )
    t = pd.DataFrame(rows)
    assert (
        "no major ethnic group differs significantly"
        in B.chart_data(t, "missing", "Children who went missing", 2024)["title"]
    )
    t.loc[t["ethnicity_major"].str.startswith("Mixed"), "ratio_to_white_british_lower_95"] = 1.1
    assert "highest for Mixed" in B.chart_data(t, "missing", "Children who went missing", 2024)["title"]


def test_uasc_rates_have_no_ratios_to_white_british(built):
    table = built[2]
    uasc = table[table["measure"].isin(["uasc_on_31_march", "uasc_started"])]
    assert len(uasc) and (uasc["ratio_to_white_british"] == "z").all() and (uasc["ratio_to_all_children"] == "z").all()
    assert uasc["rate_per_10000"].ne("z").any()  # the rates themselves are published
    cla = table[table["measure"] == "cla_on_31_march"]
    assert cla["ratio_to_white_british"].ne("z").any()
