"""rap.sections.local_authorities (and the LA inputs it shares with the dashboard): LA rates, indirect
standardisation, consistency with England, disclosure control.

Worked examples are small enough to check by hand; the real DfE LA file (fixture copy) is recomputed
independently of the module with plain pandas arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from rap.domain.geography import local_authorities
from rap.inputs.la_inputs import la_inputs_from_published
from rap.inputs.neighbours import statistical_neighbours
from rap.inputs.readers.ees import read_ees_la_ethnicity
from rap.inputs.readers.population import read_mid_year_estimates
from rap.sections import local_authorities as L

FIX = Path(__file__).parent / "fixtures"
LA1, LA2, LA3 = "E06000001", "E06000002", "E06000003"  # Hartlepool, Middlesbrough, Redcar (North East)


def _inputs(counts: dict, pops: dict, year: int = 2024, symbols: dict | None = None) -> L.LaInputs:
    """counts: {la: {major: n or None}}; pops: {la: {major: population}}."""
    c = [
        (year, la, m, np.nan if v is None else float(v), (symbols or {}).get((la, m)))
        for la, d in counts.items()
        for m, v in d.items()
    ]
    p = [(year, la, m, float(v)) for la, d in pops.items() for m, v in d.items()]
    return L.LaInputs(
        counts=pd.DataFrame(c, columns=["time_period", "new_la_code", "major", "number", "symbol"]),
        population=pd.DataFrame(p, columns=["time_period", "new_la_code", "major", "population"]),
        population_note="test",
        source="test",
    )


def _full(la_counts: dict) -> dict:
    """Fill every known group, unknown and total (total = sum) for each LA."""
    out = {}
    for la, d in la_counts.items():
        row = {m: d.get(m, 0) for m in L.KNOWN}
        row["unknown"] = d.get("unknown", 0)
        row["total"] = sum(row.values())
        out[la] = row
    return out


POP = {
    LA1: {"white": 10_000, "mixed": 1_000, "asian": 1_000, "black": 1_000, "other": 1_000},
    LA2: {"white": 5_000, "mixed": 2_000, "asian": 2_000, "black": 2_000, "other": 1_000},
}


def test_england_and_region_rates_use_the_sources_own_counts_where_it_publishes_them():
    """DfE's national and regional rows hold every child, the LA cells it suppresses included: England's and the
    region's rates are those counts over every LA's children, not sums of the LA cells shown (which would leave
    out LA2's suppressed Asian children)."""
    counts = _full({LA1: {"white": 60, "mixed": 20, "asian": 4, "black": 10, "other": 6},
                    LA2: {"white": 30, "mixed": 40, "asian": 8, "black": 20, "other": 6}})  # fmt: skip
    counts[LA2]["asian"] = None  # suppressed at source
    inp = _inputs(counts, POP)
    shown = L.national_rates(inp, 2024)
    assert shown["asian"] == pytest.approx(4 / 1000)  # LA1 alone: the cells known in both
    own = [("National", "E92000001", m, n) for m, n in [("white", 90), ("mixed", 60), ("asian", 10), ("black", 30),
                                                         ("other", 10), ("total", 200)]]  # fmt: skip
    own += [("Regional", "E12000001", "asian", 10), ("Regional", "E12000001", "total", 200)]
    inp.areas = pd.DataFrame([(2024, *r) for r in own],
                             columns=["time_period", "geographic_level", "area_code", "major", "number"])  # fmt: skip
    r = L.national_rates(inp, 2024)
    assert r["asian"] == pytest.approx(10 / 3000) and r["white"] == pytest.approx(90 / 15000)
    assert L._england_total_rate(inp, 2024) == pytest.approx(200 / 26000)
    g = L.la_group_rates(inp, 2024).set_index(["new_la_code", "major"])
    assert g.loc[(LA1, "asian"), "england_rate"] == pytest.approx(10 / 3000 * 10_000)
    assert g.loc[(LA1, "asian"), "region_rate"] == pytest.approx(10 / 3000 * 10_000)
    assert g.loc[(LA2, "total"), "region_rate"] == pytest.approx(200 / 26000 * 10_000)


def test_an_la_with_none_looked_after_and_no_group_rows_is_kept_and_placed_by_its_expected_count():
    """The Isles of Scilly: DfE's file has only its all-children row (0). It is standardised on its children
    like any LA (not dropped for want of group rows), and 0 observed against about 2.5 expected is within the
    funnel, as its z-score says, not below every limit because ln(0) is minus infinity."""
    counts = _full({LA1: {"white": 60, "mixed": 20, "asian": 4, "black": 10, "other": 6},
                    LA2: {"white": 30, "mixed": 40, "asian": 8, "black": 20, "other": 6}})  # fmt: skip
    counts[LA3] = {"total": 0}
    pops = {**POP, LA3: {"white": 300, "mixed": 20, "asian": 0, "black": 0, "other": 0}}
    sr = L.standardised_ratios(_inputs(counts, pops), 2024).set_index("new_la_code")
    assert LA3 in sr.index and sr.loc[LA3, "observed"] == 0 and sr.loc[LA3, "expected"] > 1
    assert sr.loc[LA3, "flag"] == "Within the limits"


def test_national_rates_and_standardised_ratio_by_hand():
    counts = _full(
        {
            LA1: {"white": 60, "mixed": 20, "asian": 4, "black": 10, "other": 6},
            LA2: {"white": 30, "mixed": 40, "asian": 8, "black": 20, "other": 6, "unknown": 12},
        }
    )
    inp = _inputs(counts, POP)
    r = L.national_rates(inp, 2024)
    # England = LA1 + LA2: white 90/15000, mixed 60/3000, asian 12/3000, black 30/3000, other 12/2000
    assert r["white"] == pytest.approx(90 / 15000)
    assert r["mixed"] == pytest.approx(60 / 3000)
    assert r["other"] == pytest.approx(12 / 2000)
    sr = L.standardised_ratios(inp, 2024).set_index("new_la_code")
    f = (100 + 116) / (100 + 104)  # all children / children of known ethnicity, England
    e1 = f * (10000 * 90 / 15000 + 1000 * 60 / 3000 + 1000 * 12 / 3000 + 1000 * 30 / 3000 + 1000 * 12 / 2000)
    e2 = f * (5000 * 90 / 15000 + 2000 * 60 / 3000 + 2000 * 12 / 3000 + 2000 * 30 / 3000 + 1000 * 12 / 2000)
    assert sr.loc[LA1, "expected"] == pytest.approx(e1)
    assert sr.loc[LA2, "expected"] == pytest.approx(e2)
    assert sr["expected"].sum() == pytest.approx(216)  # E adds up to England's total
    assert sr.loc[LA1, "observed"] == 100 and sr.loc[LA1, "ratio"] == pytest.approx(100 / e1)
    # Byar limits for O = 100 divided by E
    o, z = 100, 1.959963984540054
    lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    assert sr.loc[LA1, "lower"] == pytest.approx(lo / e1, rel=1e-9)
    assert sr.loc[LA1, "la_name"] == "Hartlepool"


def test_group_verdicts_against_exact_poisson_interval():
    # LA1 white: 60 children where England's rate gives 10000 * 90/15000 = 60: consistent;
    # LA1 asian: 4 (suppressed in publication but assessed here) vs 1000*12/3000 = 4: consistent;
    # LA2 mixed: 40 vs 2000*60/3000 = 40 ... make LA2 black clearly high: 60 vs 2000*70/3000 = 46.7
    counts = _full(
        {
            LA1: {"white": 60, "mixed": 20, "asian": 4, "black": 10, "other": 6},
            LA2: {"white": 30, "mixed": 40, "asian": 8, "black": 60, "other": 6},
        }
    )
    inp = _inputs(counts, POP)
    rates = L.la_group_rates(inp, 2024)
    row = rates.set_index(["new_la_code", "major"])
    eng_black = 70 / 3000
    exp = 2000 * eng_black
    lo, hi = chi2.ppf(0.025, 2 * 60) / 2, chi2.ppf(0.975, 2 * 61) / 2
    verdict = L.HIGHER if lo > exp else (L.LOWER if hi < exp else L.CONSISTENT)
    assert row.loc[(LA2, "black"), "verdict"] == verdict
    assert row.loc[(LA1, "white"), "verdict"] == L.CONSISTENT
    assert row.loc[(LA2, "black"), "rate"] == pytest.approx(60 / 2000 * 10_000)
    assert row.loc[(LA2, "black"), "england_rate"] == pytest.approx(eng_black * 10_000)
    # the region (both LAs are North East) pools counts and populations
    assert row.loc[(LA1, "black"), "region_rate"] == pytest.approx(70 / 3000 * 10_000)
    summary = L.pattern_summary(rates).set_index("major")
    assert summary.loc["white", "las_assessed"] == 2
    assert summary.loc["white", ["higher", "consistent", "lower"]].sum() == 2


def _spread_inputs(factors: list[float], hidden_factor: float | None = None) -> tuple[L.LaInputs, list[str]]:
    """LAs of 10,000 White children each, whose White counts are 100 x ``factors`` (LAs varying widely, as
    they do), plus, with ``hidden_factor``, one more LA that would be hidden in publication."""
    las = local_authorities()["new_la_code"].tolist()[: len(factors) + 1]
    fs = factors + ([hidden_factor] if hidden_factor is not None else [])
    counts = _full({la: {"white": round(100 * f), "mixed": 10} for la, f in zip(las, fs)})
    pops = {la: {"white": 10_000, "mixed": 1_000, "asian": 1_000, "black": 1_000, "other": 1_000} for la in las}
    return _inputs(counts, pops), las


def test_group_verdicts_allow_for_how_much_las_usually_vary():
    """20 LAs whose rates spread by about +/-35% around England's (far more than chance in counts of about 100):
    most are consistent with England once that spread is allowed for, though a Poisson interval alone calls
    most of them higher or lower; an LA at 4 times England's rate is still higher."""
    factors = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.6, 4.0]
    inp, las = _spread_inputs(factors)
    r = L.la_group_rates(inp, 2024)
    white = r[r["major"] == "white"].set_index("new_la_code")
    assert white["tau2"].iloc[0] > 0.01
    assert (white["verdict"] == L.CONSISTENT).sum() >= 17
    assert white.loc[las[19], "verdict"] == L.HIGHER
    exp = white["expected_at_england_rate"].to_numpy()
    lo, hi = L.stats.poisson_count_ci(white["number"].to_numpy(float), 0.95)
    assert ((lo > exp) | (hi < exp)).sum() >= 10  # what chance alone would call different


def test_between_la_variation_rests_on_published_counts_only():
    """A cell hidden in publication takes no part in the estimate of how much LAs vary, so changing its count
    changes no other LA's verdict (nor its tau^2)."""
    factors = [0.8, 0.9, 0.95, 1.0, 1.0, 1.05, 1.1, 1.2]
    out = []
    for f in (1.0, 30.0):
        inp, las = _spread_inputs(factors, hidden_factor=f)
        # England's own counts, as published (fixed), so England's rates do not move with the hidden cell
        inp.areas = pd.DataFrame(
            {"time_period": 2024, "geographic_level": "National", "area_code": "E92000001",
             "major": ["white", "mixed", "asian", "black", "other", "total"], "number": [900.0, 90, 0, 0, 0, 990]}
        )  # fmt: skip
        hidden = pd.DataFrame({"new_la_code": [las[-1]], "major": ["white"]})
        r = L.la_group_rates(inp, 2024, hidden=hidden)
        out.append(r[(r["major"] == "white") & (r["new_la_code"] != las[-1])][["verdict", "tau2"]])
    pd.testing.assert_frame_equal(out[0], out[1])


def test_hidden_cells_from_the_pattern():
    pattern = pd.DataFrame(
        {
            "quantity": [L.CLA] * 3 + ["other"],
            "new_la_code": [LA1, LA1, LA2, LA2],
            "group": ["Asian or Asian British", "Total", "White", "White"],
            "suppression": ["primary", "secondary", "none", "primary"],
        }
    )
    got = L.hidden_cells(pattern)
    assert got.values.tolist() == [[LA1, "asian"], [LA1, "total"]]


def test_suppressed_source_cell_is_missing_never_zero():
    counts = _full(
        {
            LA1: {"white": 60, "mixed": 20, "asian": 4, "black": 10, "other": 6},
            LA2: {"white": 30, "mixed": 40, "asian": 8, "black": 20, "other": 6},
        }
    )
    counts[LA1]["asian"] = None  # published as c
    inp = _inputs(counts, POP, symbols={(LA1, "asian"): "c"})
    rates = L.la_group_rates(inp, 2024).set_index(["new_la_code", "major"])
    assert np.isnan(rates.loc[(LA1, "asian"), "rate"])
    assert rates.loc[(LA1, "asian"), "verdict"] == L.NOT_ASSESSED
    # England's Asian rate uses only LAs where the Asian count is known (LA2): 8 / 2000
    assert L.national_rates(inp, 2024)["asian"] == pytest.approx(8 / 2000)
    pub = L.publishable_rates(L.la_group_rates(inp, 2024), 5, published_input=True).set_index(
        ["new_la_code", "ethnicity_major"]
    )
    assert pub.loc[(LA1, "Asian or Asian British"), "number"] == "c"
    assert pub.loc[(LA1, "Asian or Asian British"), "rate_per_10000"] == "c"


def test_publishable_rates_suppress_small_counts_with_secondary():
    counts = _full(
        {
            LA1: {"white": 60, "mixed": 20, "asian": 3, "black": 10, "other": 6},
            LA2: {"white": 30, "mixed": 40, "asian": 8, "black": 20, "other": 6},
        }
    )
    inp = _inputs(counts, POP)
    pub = L.publishable_rates(L.la_group_rates(inp, 2024), 5, published_input=False, rounding_base=10)
    la1 = pub[pub["new_la_code"] == LA1].set_index("ethnicity_major")
    assert la1.loc["Asian or Asian British", "number"] == "c"
    assert la1.loc["Asian or Asian British", "rate_per_10000"] == "c"
    assert la1.loc["Asian or Asian British", "compared_with_england"] == "c"
    # a second cell of LA1 is hidden, so the Asian count cannot be recovered from the total
    assert (la1["number"] == "c").sum() >= 2
    shown = [int(v) for v in la1["number"] if v != "c"]
    assert all(v == 0 or v > 5 for v in shown)


def test_completeness_bounds_and_rag():
    # LA2: 396 White, and 4 children hidden in two c cells (other and unknown): 0 to 4 unknown
    counts = _full({LA1: {"white": 90, "unknown": 10}, LA2: {"white": 396, "other": 2, "unknown": 2}})
    counts[LA2]["unknown"] = counts[LA2]["other"] = None
    inp = _inputs(counts, POP, symbols={(LA2, "unknown"): "c", (LA2, "other"): "c"})
    comp = L.completeness(inp, 2024).set_index("new_la_code")
    assert comp.loc[LA1, "known_share_low"] == pytest.approx(0.9) == comp.loc[LA1, "known_share_high"]
    assert comp.loc[LA2, "known_share_low"] == pytest.approx(1 - 4 / 400)
    assert comp.loc[LA2, "known_share_high"] == 1
    rag = L.completeness_rag(comp.reset_index(), 0.98, 0.95)
    assert rag.tolist() == ["Red", "Green"]
    # 1-5 unknown of 100 spans green (>= 98%) and amber: unclear, never guessed
    comp2 = pd.DataFrame({"known_share_low": [0.95], "known_share_high": [0.99]})
    assert L.completeness_rag(comp2, 0.98, 0.95).tolist() == ["Unclear"]


def test_completeness_allows_a_secondary_suppression_above_5():
    """DfE hides larger counts too: 20 children hidden in two c cells of 400 may all be of unknown ethnicity,
    so the rating is Unclear, not the Green that reading every c as 1 to 5 gives (97.5% or more known)."""
    counts = _full({LA1: {"white": 380, "black": 15, "unknown": 5}})
    counts[LA1]["unknown"] = counts[LA1]["black"] = None
    inp = _inputs(counts, POP, symbols={(LA1, "unknown"): "c", (LA1, "black"): "c"})
    comp = L.completeness(inp, 2024)
    assert comp["unknown_high"].tolist() == [20] and comp["unknown_low"].tolist() == [0]
    assert comp["known_share_low"].iloc[0] == pytest.approx(1 - 20 / 400)
    assert L.completeness_rag(comp, 0.98, 0.95).tolist() == ["Unclear"]


def test_completeness_of_dfes_2024_file_is_unclear_where_hidden_cells_may_exceed_5(real):
    """In DfE's 2024 LA file 54 LAs hide more than 5 children between their c cells (secondary suppression);
    read as 1 to 5 each, 39 of them would be rated Green."""
    comp = L.completeness(real, 2024)
    hidden = comp["unknown"].isna() & comp["children"].gt(0)
    assert int((hidden & comp["unknown_high"].gt(5)).sum()) == 54
    rag = L.completeness_rag(comp, 0.98, 0.95)
    as_1_to_5 = comp.assign(
        known_share_low=np.where(hidden, 1 - 5 / comp["children"], comp["known_share_low"]),
        known_share_high=np.where(hidden, 1 - 1 / comp["children"], comp["known_share_high"]),
    )
    was_green = L.completeness_rag(as_1_to_5, 0.98, 0.95).eq("Green")
    assert int((was_green & rag.eq("Unclear")).sum()) == 39
    assert not (rag.eq("Green") & hidden & comp["unknown_high"].div(comp["children"]).gt(0.02)).any()


def test_statistical_neighbours_are_dfes_2025_model():
    """DfE's 2025 model as published (Barnet's row of DfE's file: 320, 870, 310, ... closest first), 10 distinct
    neighbours for each of the 153 LAs, never the LA itself, on new LA codes."""
    nb = statistical_neighbours()
    las = local_authorities()
    assert nb["new_la_code"].nunique() == 153 and (nb.groupby("new_la_code").size() == 10).all()
    assert not (nb["new_la_code"] == nb["neighbour_code"]).any()
    assert (nb.groupby("new_la_code")["neighbour_code"].nunique() == 10).all()
    new = las["new_la_code"]
    barnet = nb[nb["new_la_code"] == new["302"]].sort_values("rank")
    assert barnet["neighbour_code"].tolist()[:3] == [new["320"], new["870"], new["310"]]
    assert set(nb["closeness"]) <= {"Extremely close", "Very close", "Close", "Somewhat close", "Not close"}
    assert statistical_neighbours([new["302"]])["new_la_code"].unique().tolist() == [new["302"]]


def test_minor_publishability():
    inp = _inputs(_full({LA1: {"white": 10}}), POP)
    inp.minor = pd.DataFrame(
        {
            "time_period": 2024,
            "new_la_code": [LA1, LA2, LA3, LA1, LA2, LA3],
            "major": ["white"] * 3 + ["asian"] * 3,
            "minor": ["White Irish"] * 3 + ["Chinese"] * 3,
            "number": [6.0, 5, 0, 0, 0, 1],
        }
    )
    m = L.minor_publishability(inp, 2024, 5).set_index("ethnicity_minor")
    assert m.loc["White Irish", "publishable"] == 1 and m.loc["White Irish", "none"] == 1
    assert m.loc["Chinese", "publishable"] == 0 and m.loc["Chinese", "publishable_share"] == 0


@pytest.fixture(scope="module")
def real() -> L.LaInputs:
    la = read_ees_la_ethnicity(FIX / "ees" / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv")
    return la_inputs_from_published(
        la,
        read_mid_year_estimates(FIX / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv"),
    )


def test_real_la_file_keeps_905_suppressed_cells_missing(real):
    raw = pd.read_csv(FIX / "ees" / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv", dtype=str)
    n_c = int(((raw["geographic_level"] == "Local authority") & (raw["number"] == "c")).sum())
    assert n_c == 905
    assert int((real.counts["symbol"] == "c").sum()) == n_c
    assert real.counts.loc[real.counts["symbol"] == "c", "number"].isna().all()
    assert not (real.counts.loc[real.counts["symbol"] == "c", "number"] == 0).any()


DATA = Path(__file__).parents[1] / "src" / "rap" / "data" / "population"


def _children_by_group_2024(groups: dict) -> pd.DataFrame:
    """Children 0-17 by LA (new code) and major group for 2024, by plain pandas from the package's copies:
    mid-2023 ONS totals times the LA's 2021/22 school census shares (Unclassified left out), each major
    group's share scaled by its Census 2021 under-18 / school-age share ratio and normalised again."""
    my = pd.read_csv(FIX / "population" / "ons_mid-year_population_estimates_2012_to_2024.csv", dtype=str)
    my = my[(my["geographic_level"] == "Local authority") & (my["time_period"] == "2023")]
    kids = pd.to_numeric(my.set_index("old_la_code")["population_estimate"], errors="coerce")
    sc = pd.read_csv(DATA / "school_census_pupils_by_ethnicity_la.csv", dtype={"old_la_code": str})
    sc = sc[sc["time_period"] == 202122].set_index("old_la_code")
    ages = pd.read_csv(DATA / "census2021_age_by_ethnicity_ew.csv")
    first = {"Asian": "Asian", "Black": "Black", "Mixed": "Mixed", "White": "White", "Other": "Other"}
    ages["g"] = ages["ethnic_group"].str.extract(r"^(\w+)")[0].map(first)
    u18 = ages["population"] * ages["age_code"].map({1: 1, 2: 1, 3: 1, 4: 0.6})
    school = ages["population"] * ages["age_code"].map({1: 0.2, 2: 1, 3: 1, 4: 0.2})
    f = (u18.groupby(ages["g"]).sum() / u18.sum()) / (school.groupby(ages["g"]).sum() / school.sum())
    prefix = {"White": "White - ", "Mixed": "Mixed - ", "Asian": "Asian - ", "Black": "Black - "}
    raw = pd.DataFrame(
        {g: sc[[c for c in sc.columns if c.startswith(prefix[g])]].sum(axis=1) for g in prefix}
        | {"Other": sc["Any other ethnic group"]}
    )
    adj = raw * f[raw.columns]
    share = adj.div(adj.sum(axis=1), axis=0)
    share.loc["942"] = share.loc["943"] = share.loc["909"]  # Cumberland, Westmorland and Furness: Cumbria's
    code = my.set_index("old_la_code")["new_la_code"]
    pop = share.reindex(kids.index).mul(kids, axis=0).dropna()
    return pop.set_axis(code[pop.index].to_numpy()).rename_axis("new_la_code")[list(groups)]


def test_real_la_file_ratios_recomputed_independently(real):
    """Observed/expected for 2024 from the raw CSVs with plain pandas, against the module."""
    y = 2024
    raw = pd.read_csv(FIX / "ees" / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv", dtype=str)
    raw = raw[raw["time_period"] == str(y)]
    england = raw[raw["geographic_level"] == "National"].set_index("characteristic")["number"].astype(float)
    raw = raw[raw["geographic_level"] == "Local authority"]
    raw["n"] = pd.to_numeric(raw["number"], errors="coerce")
    wide = raw.pivot_table(index="new_la_code", columns="characteristic", values="n", aggfunc="first")
    groups = {
        "White": "White",
        "Mixed": "Mixed or Multiple ethnic groups",
        "Asian": "Asian or Asian British",
        "Black": "Black, African, Caribbean or Black British",
        "Other": "Other ethnic group",
    }
    pop = _children_by_group_2024(groups)
    known_cols = list(groups.values())
    # England's group rates: DfE's national counts (every child, suppressed LA cells included) over every LA's
    # children
    exist = pop.index.intersection(raw.loc[raw["number"] != "z", "new_la_code"].unique())  # LAs of the year
    rate = {g: england[c] / pop.loc[exist, g].sum() for g, c in groups.items()}
    complete = wide[known_cols + ["Total"]].dropna()
    f = complete["Total"].sum() / complete[known_cols].sum(axis=1).sum()
    have = wide.index[wide["Total"].notna() & wide.index.isin(pop.index)]
    expected = sum(pop.loc[have, g] * rate[g] for g in groups) * f
    ratio = wide.loc[have, "Total"] / expected
    sr = L.standardised_ratios(real, y).set_index("new_la_code")
    common = ratio.index.intersection(sr.index)
    assert len(common) >= 150
    np.testing.assert_allclose(sr.loc[common, "ratio"].to_numpy(), ratio[common].to_numpy(), rtol=1e-9)
    assert set(sr["flag"]) <= {"Within the limits", "Above the 99.8% limit", "Below the 99.8% limit"}


def test_real_file_publishable_outputs_leak_no_small_counts(real):
    rates = L.la_group_rates(real, 2024)
    pub = L.publishable_rates(rates, 5, published_input=True, neighbours=statistical_neighbours())
    nums = pd.to_numeric(pub["number"], errors="coerce")
    assert not nums.between(1, 5).any()
    assert (pub.loc[pub["number"] == "c", "rate_per_10000"] == "c").all()


def test_la_group_rates_use_the_ratios_they_are_given(real):
    """Passing the standardised ratios (as notebook 04 does) gives the same verdicts as computing them again,
    and they are what the pattern verdict allows for."""
    sr = L.standardised_ratios(real, 2024)
    pd.testing.assert_frame_equal(L.la_group_rates(real, 2024, ratios=sr), L.la_group_rates(real, 2024))
    flat = sr.assign(ratio=1.0)  # every LA at England's level: the pattern verdict is the plain verdict
    rates = L.la_group_rates(real, 2024, ratios=flat)
    known = (rates["verdict_own_level"] != L.NOT_ASSESSED).to_numpy()
    assert known.any()
    assert (rates.loc[known, "verdict_own_level"] == rates.loc[known, "verdict"]).all()


def test_comparators_rest_on_published_figures_only():
    """England's and the region's rates from their rounded counts and populations to the nearest 10; the
    neighbours' rate the mean of the neighbours' published rates (a hidden one left out); the verdict allowing for
    the LA's level hidden where the LA's all-children count is."""
    counts = _full(
        {
            LA1: {"white": 61, "mixed": 22, "asian": 3, "black": 14, "other": 7},
            LA2: {"white": 33, "mixed": 44, "asian": 8, "black": 27, "other": 9},
            LA3: {"white": 2, "mixed": 1},
        }
    )
    pop = POP | {LA3: {"white": 900, "mixed": 100, "asian": 10, "black": 10, "other": 10}}
    inp = _inputs(counts, pop)
    rounding = L.Rounding(10, 5)
    rates = L.la_group_rates(inp, 2024, rounding=rounding).set_index(["new_la_code", "major"])
    # England's White rate: 96 children rounds to 100, population 15,900
    assert rates.loc[(LA1, "white"), "england_rate"] == pytest.approx(100 / 15_900 * 10_000)
    assert L.national_rates(inp, 2024)["white"] == pytest.approx(96 / 15_900)  # unrounded without ``rounding``
    nb = pd.DataFrame({"new_la_code": [LA3, LA3], "rank": [1, 2], "neighbour_code": [LA1, LA2]})
    pub = L.publishable_rates(
        L.la_group_rates(inp, 2024, rounding=rounding), 5, published_input=False, neighbours=nb, rounding_base=10
    )
    p = pub.set_index(["new_la_code", "ethnicity_major"])
    black = L.major_label("black")
    shown = [p.loc[(la, black), "rate_per_10000"] for la in (LA1, LA2)]
    nums = [float(s) for s in shown if s != "c"]
    assert nums, "at least one neighbour's Black rate is shown"
    assert float(p.loc[(LA3, black), "neighbours_rate"]) == pytest.approx(sum(nums) / len(nums), abs=0.05)
    assert p.loc[(LA3, black), "neighbours_used"] == str(len(nums))
    # LA3's 3 children: its all-children count is hidden, so are its verdicts allowing for its level
    assert p.loc[(LA3, "Total"), "number"] == "c"
    assert (pub.loc[pub["new_la_code"].eq(LA3), "compared_allowing_la_level"] == "c").all()


def _summary(consistent: list[float], own: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ethnicity_major": ["White", "Black"],
            "las_assessed": [100, 100],
            "consistent_share": consistent,
            "consistent_own_level_share": own,
        }
    )


def test_pattern_sentences_follow_the_shares():
    """The words on how good a guide England's rates are come from the shares, not a fixed verdict."""
    good = " ".join(L.pattern_sentences(_summary([0.9, 0.85], [0.9, 0.86])))
    assert "fair first guide" in good and "poor guide" not in good and "changes these shares little" in good
    assert "90% of LAs (White) down to 85% (Black)" in good
    poor = " ".join(L.pattern_sentences(_summary([0.3, 0.2], [0.6, 0.5])))
    assert "poor guide" in poor and "overall level" in poor and "for Black in 50%" in poor


def _funnel(ratios: list[float], flags: list[str]) -> pd.DataFrame:
    lab = L._label(0.998)
    return pd.DataFrame(
        {
            "ratio": ratios,
            f"exact_lower_{lab}": [0.9] * len(ratios),
            f"exact_upper_{lab}": [1.1] * len(ratios),
            "flag": flags,
        }
    )


def test_the_funnel_chart_title_follows_its_data():
    """The title states what the points show (Analysis Function: a title must be true of its chart)."""
    inside = "Within the limits"
    calm = L.funnel_title(_funnel([1.0, 1.05, 0.95], [inside] * 3), 0.998, 2024)
    assert "no LA differs from what its ethnic mix predicts by more than chance" in calm
    assert "all within the range LAs usually vary" in calm and calm.startswith("Children looked after on 31 March 2024")
    wild = L.funnel_title(_funnel([2.0, 0.5, 1.3], ["Above the 99.8% limit", inside, inside]), 0.998, 2024)
    assert "most LAs differ" in wild and "1 LA outside the 99.8% limits" in wild
    assert "some LAs" in L.funnel_title(_funnel([2.0, 1.0, 1.0], [inside] * 3), 0.998, 2024)
