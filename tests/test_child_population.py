"""rap.domain.child_population: children 0-17 by ethnic group (ONS mid-(Y-1) totals x school census shares),
and the published route's rates that rest on it, checked against DfE's published figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.domain import child_population as cp
from rap.inputs.la_inputs import la_inputs_from_published
from rap.inputs.readers.ees import ees_files, read_ees_la_ethnicity, read_ees_table
from rap.inputs.readers.population import read_mid_year_estimates

FIX = Path(__file__).parent / "fixtures"
MYE = FIX / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv"
YEARS = [2020, 2021, 2022, 2023, 2024]


def _mid_year(level: str) -> pd.DataFrame:
    m = pd.read_csv(MYE, dtype=str)
    m = m[m["geographic_level"] == level]
    m = m.assign(
        time_period=m["time_period"].astype(int), population=pd.to_numeric(m["population_estimate"], errors="coerce")
    )
    return m.dropna(subset=["population"])


@pytest.fixture(scope="module")
def est() -> pd.DataFrame:
    return cp.child_population(YEARS)


def test_every_la_sums_to_the_ons_estimate_for_mid_year_before(est):
    """Year Y's children in each LA add up to ONS's 0-17 estimate for mid-(Y-1), as DfE's rates use."""
    tot = est.groupby(["time_period", "old_la_code"])["population"].sum()
    ons = _mid_year("Local authority").set_index(["time_period", "old_la_code"])["population"]
    for y in YEARS:
        mine = tot.loc[y]
        theirs = ons.loc[y - 1]
        assert set(mine.index) == set(theirs.index), y
        np.testing.assert_allclose(mine.to_numpy(), theirs[mine.index].to_numpy(), rtol=1e-12)
    assert (est["population"] >= 0).all()


def test_england_is_the_sum_of_its_las_and_equals_dfes_2024_denominator(est):
    areas = cp.with_areas(est)
    nat = areas[areas["geographic_level"] == "National"].groupby("time_period")["population"].sum()
    reg = areas[areas["geographic_level"] == "Regional"].groupby("time_period")["population"].sum()
    la = areas[areas["geographic_level"] == "Local authority"].groupby("time_period")["population"].sum()
    np.testing.assert_allclose(nat.to_numpy(), la.to_numpy())
    np.testing.assert_allclose(reg.to_numpy(), la.to_numpy())
    assert round(nat[2024]) == 12_059_476  # DfE's 2024 England denominator (mid-2023)


def test_mixed_children_well_above_all_age_share(est):
    """Children are more often Mixed than adults: England's Mixed share of children is well above the
    all-ages Census 2021 share (2.9-3.0%) that the old method used."""
    cen = pd.read_csv(FIX / "population" / "ons-ethnic-population-reg.csv")
    cen = cen[cen.iloc[:, 2] > 0]
    mixed_all_ages = cen.loc[cen.iloc[:, 3].str.startswith("Mixed"), "Observation"].sum() / cen["Observation"].sum()
    share = cp.major_shares(est[est["time_period"] == 2024])
    assert share["mixed"] > 1.8 * mixed_all_ages
    assert 0.06 < share["mixed"] < 0.08  # Census 2021, England and Wales: 6.9% of 0-14s are Mixed


def test_groups_kept_apart_and_years_flagged(est):
    y24 = est[est["time_period"] == 2024]
    assert {"WIRT", "WROM", "OOTH"} <= set(y24["code"])  # Gypsy / Roma apart from Irish Travellers
    assert set(y24["code"]) == set(cp.codes().index[cp.codes()["known"]])
    assert y24["carried_forward"].all() and (y24["school_census_year"] == 202122).all()
    assert not est.loc[est["time_period"] == 2023, "carried_forward"].any()
    assert cp.years_carried_forward(YEARS) == [2024]


def test_age_adjustment_moves_shares_towards_under_18s():
    f = cp.age_factors()
    assert f["mixed"] > 1 > f["black"]  # younger children are more often Mixed than pupils are
    assert (abs(f - 1) < 0.05).all()


def test_published_table_rounds_to_ten_and_covers_every_area():
    t = cp.publication_frame([2024])
    assert (t["population"] % 10 == 0).all()
    assert set(t["geographic_level"]) == {"National", "Regional", "Local authority"}
    tot = t[(t["ethnicity_major"] == "Total") & (t["geographic_level"] == "National")]
    assert int(tot["population"].iloc[0]) == 12_059_480
    assert (t["carried_forward"] == cp.CARRIED[True]).all()


@pytest.fixture(scope="module")
def published_la():
    la = read_ees_la_ethnicity(FIX / "ees" / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv")
    return la_inputs_from_published(la, read_mid_year_estimates(MYE))


def test_published_route_la_total_rates_equal_dfes(published_la):
    """Every LA's rate per 10,000 on the published 2024 route equals DfE's published rate (2025 release,
    whose 2024 rates use mid-2023), where DfE publishes one."""
    c = published_la.counts
    c = c[(c["time_period"] == 2024) & (c["major"] == "total")].set_index("new_la_code")["number"]
    p = published_la.population
    p = p[p["time_period"] == 2024].groupby("new_la_code")["population"].sum()
    ours = np.floor(c / p * 10_000 + 0.5).dropna()
    dfe = pd.read_csv(FIX / "ees" / "2025" / "cla_number_and_rate_per_10k_children_2024_31_march.csv", dtype=str)
    dfe = dfe[dfe["geographic_level"] == "Local authority"].set_index("new_la_code")["rate_per_10000"]
    dfe = pd.to_numeric(dfe, errors="coerce").dropna()
    assert len(dfe) >= 150
    assert set(dfe.index) <= set(ours.index)
    assert (ours[dfe.index] == dfe).all(), ours[dfe.index][ours[dfe.index] != dfe]


def test_published_route_mixed_rate_between_1_2_and_2_4_times_white_british():
    from rap.sections.breakdowns import published_table

    tables = {}
    for name, table in ees_files()["releases"][2024].items():
        if (FIX / "published_2024" / name).is_file():
            tables[table] = read_ees_table(FIX / "published_2024" / name, table, 2024)
    t = published_table(tables, [2024])
    t = t[(t["measure"] == "cla_on_31_march") & (t["geographic_level"] == "National") & (t["breakdown"] == "Total")]
    rate = t.set_index("ethnicity_minor")["rate_per_10000"]
    mixed = t[(t["ethnicity_major"].str.startswith("Mixed")) & (t["ethnicity_minor"] == "Total")]
    ratio = float(mixed["rate_per_10000"].iloc[0]) / float(rate["White British"])
    assert 1.2 < ratio < 2.4
    assert float(mixed["ratio_to_reference"].iloc[0]) == pytest.approx(ratio, abs=0.02)
