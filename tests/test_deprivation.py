"""Deprivation (issue 15 item 3): the IDACI 2019 map to current LAs, the imputation of hidden cells from published
figures only, the quasi-Poisson rate ratios (unadjusted and adjusted for IDACI) and their published tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.domain.deprivation import la_idaci
from rap.domain.ethnicity import major_label
from rap.domain.geography import local_authorities
from rap.inputs.la_inputs import KNOWN, TOTAL, UNKNOWN, la_inputs_from_published
from rap.inputs.readers.ees import read_ees_la_ethnicity
from rap.inputs.readers.population import read_mid_year_estimates
from rap.sections import deprivation as D
from rap.sections import local_authorities as L

FIX = Path(__file__).parent / "fixtures"
YEAR = 2024
COUNT_WORDS = {"number", "numerator", "denominator", "observed", "children"}


# --------------------------------------------------------------------------------------------------
# IDACI


def test_every_current_la_has_an_idaci_score_and_middlesbrough_is_highest():
    d = la_idaci()
    assert set(d["new_la_code"]) == set(local_authorities()["new_la_code"])
    assert not d["idaci_score"].isna().any(), d.loc[d["idaci_score"].isna(), "la_name"].tolist()
    assert d.loc[d["idaci_score"].idxmax(), "la_name"] == "Middlesbrough"
    assert d.set_index("la_name").loc["Middlesbrough", "idaci_score"] == pytest.approx(0.327)
    s = d.set_index("new_la_code")["idaci_score"]
    assert s["E06000061"] == s["E06000062"] == pytest.approx(0.142)  # North and West Northamptonshire
    assert s["E06000063"] == s["E06000064"] == pytest.approx(0.138)  # Cumberland, Westmorland and Furness
    # City of London and the Isles of Scilly have their own rows, not Hackney's or Cornwall's
    assert s["E09000001"] != s["E09000012"] and s["E06000053"] != s["E06000052"]


def test_quintiles_are_equal_fifths_of_las_most_deprived_first():
    q = D.idaci_quintiles()
    sizes = q["idaci_quintile"].value_counts().sort_index()
    assert list(sizes.index) == [1, 2, 3, 4, 5] and sizes.max() - sizes.min() <= 1
    assert q.groupby("idaci_quintile")["idaci_score"].min().is_monotonic_decreasing
    assert q.set_index("la_name").loc["Middlesbrough", "idaci_quintile"] == 1


# --------------------------------------------------------------------------------------------------
# constructed published tables


def _pub(cells: dict, england: dict, year: int = YEAR) -> pd.DataFrame:
    """A published LA rates table: cells {la: {major: (number text, population)}}; england {major: rate/10,000}."""
    names = local_authorities().set_index("new_la_code")["la_name"]
    rows = [
        {
            "time_period": year,
            "new_la_code": la,
            "la_name": names[la],
            "ethnicity_major": D.major_label(m),
            "number": n,
            "population": "x" if p is None else str(int(p)),
            "england_rate": str(england.get(m, "x")),
        }
        for la, d in cells.items()
        for m, (n, p) in d.items()
    ]
    return pd.DataFrame(rows)


def _la(groups: dict[str, tuple[str, float]], unknown: str, total: str) -> dict:
    return {**groups, UNKNOWN: (unknown, None), TOTAL: (total, sum(p for _, p in groups.values()))}


ENG = {"white": 50.0, "mixed": 100.0, "asian": 20.0, "black": 80.0, "other": 120.0, TOTAL: 60.0}


def test_hidden_cells_share_what_the_la_total_leaves_in_proportion_to_expected_counts():
    la = "E06000001"
    pops = {"white": 10_000.0, "mixed": 1_000.0, "asian": 1_500.0, "black": 500.0, "other": 500.0}
    shown = {"white": "50", "mixed": "12", "asian": "c", "black": "c", "other": "9"}
    cells = {la: _la({g: (shown[g], pops[g]) for g in KNOWN}, "0", "80")}
    out, dropped = D.impute_hidden(_pub(cells, ENG), YEAR)
    c = out.set_index("major")["count"]
    # H = 80 - 50 - 12 - 9 - 0 = 9, shared 1,500 x 20 : 500 x 80 = 3 : 4
    assert c["asian"] == pytest.approx(9 * 3 / 7) and c["black"] == pytest.approx(9 * 4 / 7)
    assert c.sum() == pytest.approx(80)
    assert out.set_index("major")["imputed"].sum() == 2 and dropped == []


def test_a_hidden_unknown_cell_takes_englands_share_of_unknown_and_totals_are_kept():
    a, b = "E06000001", "E06000002"
    pops = {g: 1_000.0 for g in KNOWN}
    cells = {
        a: _la({g: ("20", pops[g]) for g in KNOWN}, "4", "104"),  # 4 / 104 unknown where shown
        b: _la({**{g: ("20", pops[g]) for g in KNOWN}, "asian": ("c", 1_000.0)}, "c", "110"),
    }
    out, _ = D.impute_hidden(_pub(cells, ENG), YEAR)
    tot = out.groupby("new_la_code")["count"].sum()
    assert tot[a] == pytest.approx(104) and tot[b] == pytest.approx(110)
    cb = out[out["new_la_code"] == b].set_index("major")["count"]
    e_asian, e_unknown = 20 / 10_000 * 1_000, 4 / 104 * 110
    assert cb["asian"] / cb[UNKNOWN] == pytest.approx(e_asian / e_unknown)


def test_an_la_whose_total_is_hidden_is_left_out_and_named():
    a, b = "E06000001", "E06000002"
    pops = {g: 1_000.0 for g in KNOWN}
    cells = {
        a: _la({g: ("20", pops[g]) for g in KNOWN}, "0", "100"),
        b: _la({**{g: ("20", pops[g]) for g in KNOWN}, "other": ("c", 1_000.0)}, "c", "c"),
    }
    out, dropped = D.model_cells(_pub(cells, ENG), YEAR)
    assert dropped == ["Middlesbrough"]
    assert set(out["new_la_code"]) == {a}


SLOPE = 10  #: ln(rate) per unit of IDACI score in the constructed data


def _deprivation_only(share_black) -> pd.DataFrame:
    """Every LA with a rate that depends only on its IDACI score (the same in every group), and Black children
    concentrated by ``share_black(score)``: a published table with no hidden cells."""
    d = la_idaci()
    cells = {}
    for la, s in zip(d["new_la_code"], d["idaci_score"]):
        rate = 20 * np.exp(SLOPE * s) / 10_000
        black = 20_000 * share_black(s)
        pops = {"white": 20_000 - black, "mixed": 1_500.0, "asian": 2_000.0, "black": black, "other": 800.0}
        counts = {g: int(round(rate * p)) for g, p in pops.items()}
        cells[la] = _la({g: (str(counts[g]), pops[g]) for g in KNOWN}, "0", str(sum(counts.values())))
    return _pub(cells, ENG)


def test_adjusted_ratios_are_one_where_rates_depend_only_on_deprivation():
    pub = _deprivation_only(lambda s: 0.01 + 0.8 * s)
    cells, _ = D.model_cells(pub, YEAR)
    r = D.rate_ratios(cells).query("method == @D.IMPUTED").set_index("term")
    assert r.loc["black", "unadjusted_ratio"] > 1.2  # Black children live in more deprived LAs
    for g in KNOWN:
        assert r.loc[g, "adjusted_ratio"] == pytest.approx(1, abs=0.02)
    assert r.loc["idaci", "adjusted_ratio"] == pytest.approx(np.exp(SLOPE * D.IDACI_STEP), rel=0.02)
    words = " ".join(D.adjustment_sentences(D.rate_ratios(cells)))
    assert "significantly above 1 before" in words  # Black: from the estimates, not written in


# --------------------------------------------------------------------------------------------------
# record-level chain: outputs rest on published figures only


def _record_inputs(asian: int, other: int) -> L.LaInputs:
    """Twelve LAs of known IDACI with every group shown except, in the first, Asian and Other (small): their true
    values are ``asian`` and ``other``, the total the same either way."""
    las = la_idaci()["new_la_code"].iloc[:12].tolist()
    c, p = [], []
    for i, la in enumerate(las):
        n = {"white": 60 + 5 * i, "mixed": 12 + i, "asian": 9 + i, "black": 10 + i, "other": 8 + i, "unknown": 0}
        if i == 0:
            n["asian"], n["other"] = asian, other
        n["total"] = sum(n.values())
        c += [(YEAR, la, m, float(v), None) for m, v in n.items()]
        pops = {"white": 8_000 + 100 * i, "mixed": 900.0, "asian": 1_200.0, "black": 700.0, "other": 500.0}
        p += [(YEAR, la, m, float(v)) for m, v in pops.items()]
    return L.LaInputs(
        counts=pd.DataFrame(c, columns=["time_period", "new_la_code", "major", "number", "symbol"]),
        population=pd.DataFrame(p, columns=["time_period", "new_la_code", "major", "population"]),
        population_note="test",
        source="test",
    )


def _outputs(inp: L.LaInputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    rounding = L.Rounding(10, 5)
    rates = L.la_group_rates(inp, YEAR, rounding=rounding)
    pub = L.publishable_rates(rates, 5, published_input=False, rounding_base=10)
    cells, _ = D.model_cells(pub, YEAR)
    return D.rate_ratios(cells), D.quintile_rates(cells)


def test_changing_a_hidden_cells_true_value_changes_no_output():
    a, b = _outputs(_record_inputs(asian=2, other=3)), _outputs(_record_inputs(asian=3, other=2))
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert int(a[0]["imputed_cells"].iloc[0]) >= 2  # the two small cells were hidden and imputed


# --------------------------------------------------------------------------------------------------
# the published tables


def test_reference_is_z_and_verdicts_come_from_unrounded_limits():
    ratios = pd.DataFrame(
        {
            "method": D.IMPUTED,
            "term": ["white", "black", "idaci"],
            "unadjusted_ratio": [1.0, 1.2, np.nan],
            "unadjusted_lower": [np.nan, 1.004, np.nan],
            "unadjusted_upper": [np.nan, 1.4, np.nan],
            "unadjusted_phi": 3.0,
            "adjusted_ratio": [1.0, 1.1, 1.5],
            "adjusted_lower": [np.nan, 0.996, 1.3],
            "adjusted_upper": [np.nan, 1.3, 1.7],
            "adjusted_phi": 2.0,
            "cells": 10,
            "las": 2,
            "imputed_cells": 1,
        }
    )
    t = D.disparities_table(ratios, YEAR).set_index("ethnicity_major")
    black = t.loc[D.major_label("black")]
    assert black["rate_ratio_unadjusted_lower_95"] == 1.0 and black["compared_unadjusted"] == "Above 1"
    assert black["rate_ratio_adjusted_lower_95"] == 1.0 and black["compared_adjusted"] == "Not different from 1"
    white = t.loc["White"]
    assert white["rate_ratio_adjusted_lower_95"] == "z" and white["compared_adjusted"] == "Reference group"
    assert t.loc[D.ALL_KNOWN, "rate_ratio_unadjusted"] == "z"  # IDACI has no unadjusted ratio


@pytest.fixture(scope="module")
def real_pub() -> pd.DataFrame:
    la = read_ees_la_ethnicity(FIX / "ees" / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv")
    inp = la_inputs_from_published(
        la, read_mid_year_estimates(FIX / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv")
    )
    return L.publishable_rates(L.la_group_rates(inp, YEAR), 5, published_input=True)


def test_dfe_2024_file_gives_both_ratios_with_finite_intervals(real_pub, tmp_path):
    cells, dropped = D.model_cells(real_pub, YEAR)
    assert cells["new_la_code"].nunique() >= 150 and cells["imputed"].any()
    ratios = D.rate_ratios(cells)
    D.write_tables(tmp_path, ratios, D.quintile_rates(cells), YEAR)
    t = pd.read_csv(tmp_path / "tables" / "disparities_adjusted_for_deprivation.csv", dtype=str)
    assert {"rate_ratio_unadjusted", "rate_ratio_adjusted"} <= set(t.columns)
    assert set(t["method"]) == {D.IMPUTED, D.SHOWN_ONLY}
    groups = t[t["ethnicity_major"].isin([major_label(g, "ees") for g in KNOWN if g != "white"])]
    assert len(groups) == 8
    for col in [c for c in t.columns if c.startswith("rate_ratio_")]:
        assert np.isfinite(groups[col].astype(float)).all(), col
    q = pd.read_csv(tmp_path / "tables" / "rates_by_deprivation_quintile.csv", dtype=str)
    assert len(q) == 5 * (len(KNOWN) + 1)
    for path in (tmp_path / "tables").glob("*.csv"):
        assert not COUNT_WORDS & set(pd.read_csv(path, nrows=0).columns), path.name
    # the imputed counts add up to each LA's published total
    imp, _ = D.impute_hidden(real_pub, YEAR)
    tot = real_pub[real_pub["ethnicity_major"] == "Total"].set_index("new_la_code")["number"]
    got = imp.groupby("new_la_code")["count"].sum()
    np.testing.assert_allclose(got, pd.to_numeric(tot[got.index]), rtol=1e-9)
