"""Tests of rap.sections.data_quality.dimensions: recovery of the generator's injected defects, and unit tests on hand-made frames.

Tolerances. A recovered share is compared with the injected *parameter* rate r within 4 binomial standard
errors, 4 sqrt(r (1 - r) / n), n the recovered denominator: for one comparison the chance of a false failure
is about 6e-5, so the ~30 comparisons below fail by chance less than once in 500 runs, while a rate off by a
factor of 2 at n = 8,000 (small scale) still fails. Where the measure cannot equal the injected quantity by
construction, the known gap is added and said: school disagreement is injected against the child's *true*
code, but we can only compare the SSDA903 code, which drifts from the true code at the ``ethnic_changed`` rate
per year after the first, so (year - first year) x ethnic_changed is added. Against the *realised* ground
truth (truth/summary.json, the counts actually injected) the counts must match exactly.
"""

from __future__ import annotations

import csv
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.core.params import RagThreshold, load_params
from rap.inputs.load import read_school_years
from rap.inputs.readers.ees import read_ees_table
from rap.inputs.readers.ssda903 import read_ssda903_years
from rap.sections.data_quality import dimensions as Q
from rap.synth import generate

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "ees"
Z = 4.0


def _params(**kw):
    synth = {"scale": "small", **kw.pop("synth", {})}
    return load_params(ROOT / "params" / "2024.yaml", synth=synth, **kw)


def _tol(rate: float, n: int) -> float:
    return Z * np.sqrt(rate * (1 - rate) / n)


def _read(root: Path, years: list[int]) -> dict:
    r = read_ssda903_years(root / "ssda903", years)
    return {
        "header": r.tables["Header"],
        "uasc": r.tables["UASC"],
        "school": read_school_years(root / "school", years).tables["School"],
        "truth": json.loads((root / "truth" / "summary.json").read_text()),
        "years": years,
    }


@pytest.fixture(scope="module")
def params():
    return _params()


@pytest.fixture(scope="module")
def synth(tmp_path_factory, params):
    root = generate(params, out_dir=tmp_path_factory.mktemp("quality") / "synthetic")
    return _read(root, params.series_years)


# ---------------------------------------------------------------------------------------------------------------
# recovery of injected defects


CATS = {
    "blank": "ethnic_blank",
    "refused": "ethnic_refused",
    "not_obtained": "ethnic_not_obtained",
    "invalid": "ethnic_invalid",
}


def test_completeness_recovers_injected_rates(synth, params):
    c = Q.completeness(synth["header"], ["YEAR"]).set_index(["YEAR", "category"])
    rates = params.synth.defects
    for y in synth["years"]:
        t = synth["truth"]["years"][str(y)]
        for cat, name in CATS.items():
            row = c.loc[(y, cat)]
            assert row["denominator"] == t["header_children"], "duplicates must be counted once"
            assert row["count"] == t["defects"][name]["count"], (y, cat)
            r = getattr(rates, name)
            assert abs(row["share"] - r) <= _tol(r, row["denominator"]), (y, cat, row["share"], r)


def test_validity_matches_invalid_truth(synth):
    v = Q.validity(synth["header"], ["YEAR"]).set_index("YEAR")
    for y in synth["years"]:
        assert v.at[y, "invalid"] == synth["truth"]["years"][str(y)]["defects"]["ethnic_invalid"]["count"]
    assert (v["lower_case"] <= v["invalid"]).all()


def test_changed_codes_recover_injected_rate(synth, params):
    ch = Q.consistency_over_time(synth["header"]).set_index("YEAR")
    r = params.synth.defects.ethnic_changed
    for y in synth["years"][1:]:
        t = synth["truth"]["years"][str(y)]["defects"]["ethnic_changed"]
        assert ch.at[y, "changed"] == t["count"] and ch.at[y, "denominator"] == t["denominator"]
        assert abs(ch.at[y, "share"] - r) <= _tol(r, t["denominator"])
    changes = Q.code_changes(synth["header"], top=None)
    assert changes["count"].sum() == ch["changed"].sum()
    assert (changes["from_code"] != changes["to_code"]).all()


def test_unknown_upn_is_the_linkage_failure(synth, params):
    across = Q.consistency_across_collections(synth["header"], synth["school"])
    lk = across.linkage.set_index("YEAR")
    r = params.synth.defects.unknown_upn
    for y in synth["years"]:
        t = synth["truth"]["years"][str(y)]["defects"]["unknown_upn"]
        assert lk.at[y, "upn_unknown"] + lk.at[y, "upn_blank"] == t["count"]
        assert lk.at[y, "share_unlinkable"] == pytest.approx(t["rate"])
        assert abs(lk.at[y, "share_unlinkable"] - r) <= _tol(r, lk.at[y, "children"])
    # nobody with an unknown UPN is linked
    assert not across.linked.loc[across.linked["upn_status"] != "given", "linked"].any()


def test_school_disagreement_overall_follows_injected_rates(synth, params):
    d = params.synth.defects
    lk = Q.link_school(synth["header"], synth["school"])
    ag = Q.agreement(lk).set_index("YEAR")
    both = lk[lk["linked"] & lk["quality"].eq("known") & lk["school_quality"].eq("known")]
    y0 = synth["years"][0]
    for y, g in both.groupby("YEAR"):
        # expected disagreement for this year's mix of groups, from the injected per-code rates
        e = g["ethnic_code"].map(lambda c: d.school_disagreement_by_code.get(c, d.school_disagreement)).mean()
        drift = (y - y0) * d.ethnic_changed
        assert ag.at[y, "both_known"] == len(g)
        assert abs(ag.at[y, "share_disagree"] - e) <= _tol(e, len(g)) + drift, (y, ag.at[y, "share_disagree"], e)


@pytest.mark.parametrize("code", ["WROM", "WIRT", "OOTH", "MOTH", "BOTH"])
def test_school_disagreement_by_group(synth, params, code):
    """First year of the series: no code has changed yet, so the SSDA903 code is the true code."""
    y = synth["years"][0]
    lk = Q.link_school(synth["header"], synth["school"])
    bm = Q.agreement_by_minor(lk[lk["YEAR"] == y]).set_index("ethnic_code")
    truth = synth["truth"]["years"][str(y)]["defects"]["school_disagreement"]["by_code"][code]
    n_t = truth["denominator"]
    if code not in bm.index:
        assert n_t == 0
        return
    n = int(bm.at[code, "both_known"])
    got = bm.at[code, "share_disagree"]
    # realised truth counts pupils by true code, including those whose SSDA903 code is unknown (excluded here):
    # dropping m of n_t pupils moves a share by at most m / (n_t - m)
    m = n_t - n
    assert 0 <= m and abs(got - truth["rate"]) <= m / max(n_t - m, 1) + 1e-12
    r = params.synth.defects.school_disagreement_by_code[code]
    assert abs(got - r) <= _tol(r, n), (code, got, r, n)


def test_poor_recording_las_lead_the_funnel(synth, params):
    poor = set(synth["truth"]["poor_recording_las"])
    f = Q.la_completeness_funnel(synth["header"], level=params.quality_rag.funnel_level)
    top = Q.weakest_las(f, 10)
    assert len(set(top["LA"]) & poor) >= 3, top
    flagged = set(f.loc[f["flagged"], "LA"])
    assert flagged and len(flagged & poor) >= len(flagged) / 2
    assert f["target"].iloc[0] == pytest.approx(
        1 - Q.completeness(synth["header"], ["YEAR"]).query("YEAR == 2024 and category == 'unknown'")["share"].iloc[0]
    )


def test_changed_defect_rate_is_followed(tmp_path_factory, synth, params):
    """Raising ethnic_not_obtained to 0.05 moves the recovered rate there: the recovery tests can fail."""
    p = _params(years=2, synth={"defects": {"ethnic_not_obtained": 0.05}})
    data = _read(generate(p, out_dir=tmp_path_factory.mktemp("quality_nobt") / "synthetic"), p.series_years)
    hi = Q.completeness(data["header"], ["YEAR"]).query("category == 'not_obtained'")
    base = Q.completeness(synth["header"], ["YEAR"]).query("category == 'not_obtained'")
    for row in hi.itertuples():
        assert abs(row.share - 0.05) <= _tol(0.05, row.denominator)
        # the default rate (0.008) is far outside that tolerance: the same check on these data would fail
        assert abs(row.share - params.synth.defects.ethnic_not_obtained) > _tol(0.008, row.denominator)
    assert hi["share"].min() > 3 * base["share"].max()
    sc = Q.scorecard(p.quality_rag, data["header"])
    assert sc.set_index("dimension").at["completeness", "rag"] != "green"


def test_scorecard_and_recommendations_on_synthetic(synth, params):
    across = Q.consistency_across_collections(synth["header"], synth["school"])
    sc = Q.scorecard(params.quality_rag, synth["header"], synth["school"], across=across)
    assert set(sc["dimension"]) == {
        "completeness",
        "validity",
        "consistency_over_time",
        "consistency_across_collections",
        "linkage",
    }
    assert set(sc["collection"]) >= {"SSDA903 Header", "School census"}
    assert sc["rag"].isin(["green", "amber", "red"]).all() and (sc["year"] == 2024).all()
    f = Q.la_completeness_funnel(synth["header"])
    gr = Q.granularity(synth["header"], params.suppression.threshold)
    recs = Q.recommendations(
        {"scorecard": sc, "funnel": f, "across": across, "granularity": gr, "changes": Q.code_changes(synth["header"])}
    )
    assert len(recs) >= 5 and all(any(ch.isdigit() for ch in s) for s in recs)
    low = across.by_minor[across.by_minor["both_known"] >= 20].sort_values("share")["label"].iloc[0]
    assert any(low in s for s in recs)


# ---------------------------------------------------------------------------------------------------------------
# unit tests on hand-made frames


def _h(rows: list[tuple]) -> pd.DataFrame:
    """rows: (YEAR, LA, CHILD, ETHNIC, UPN, DOB)."""
    df = pd.DataFrame(rows, columns=["YEAR", "LA", "CHILD", "ETHNIC", "UPN", "DOB"])
    df["DOB"] = pd.to_datetime(df["DOB"])
    return df


def test_duplicate_child_counted_once_and_categories():
    h = _h(
        [
            (2024, "201", "1", "WBRI", "UN4", "2010-01-01"),
            (2024, "201", "1", "WBRI", "UN4", "2010-01-01"),
            (2024, "201", "2", "REFU", "UN4", "2010-01-01"),
            (2024, "201", "3", "", "UN4", "2010-01-01"),
            (2024, "201", "4", "NOBT", "UN4", "2010-01-01"),
            (2024, "201", "5", "wbri", "UN4", "2010-01-01"),
        ]
    )
    c = Q.completeness(h, ["YEAR"]).set_index("category")
    assert (c["denominator"] == 5).all()
    assert c.loc[["known", "refused", "blank", "not_obtained", "invalid", "unknown", "complete"], "count"].tolist() == [
        1,
        1,
        1,
        1,
        1,
        3,
        2,
    ]
    v = Q.validity(h, []).iloc[0]
    assert (v["invalid"], v["lower_case"], v["denominator"]) == (1, 1, 5)


def test_age_band_at_31_march():
    dob = pd.Series(pd.to_datetime(["2023-03-31", "2023-04-01", "2019-03-31", "2008-03-31", "2008-04-01"]))
    got = Q.age_band(dob, 2024).astype(str).tolist()
    assert got == ["1 to 4 years", "Under 1 year", "5 to 9 years", "16 years and over", "10 to 15 years"]


def test_uasc_grouping():
    h = _h([(2024, "201", "1", "WBRI", "", "2010-01-01"), (2024, "201", "2", "NOBT", "", "2010-01-01")])
    u = pd.DataFrame({"YEAR": [2024], "LA": ["201"], "CHILD": ["2"]})
    c = Q.completeness(h, ["uasc"], uasc=u).query("category == 'unknown'").set_index("uasc")
    assert c.at["UASC", "share"] == 1 and c.at["Not UASC", "share"] == 0


def test_code_change_between_returns():
    h = _h(
        [
            (2023, "201", "1", "WBRI", "", "2010-01-01"),
            (2024, "201", "1", "WOTH", "", "2010-01-01"),
            (2023, "201", "2", "BAFR", "", "2010-01-01"),
            (2024, "201", "2", "BAFR", "", "2010-01-01"),
            (2023, "201", "3", "NOBT", "", "2010-01-01"),
            (2024, "201", "3", "BAFR", "", "2010-01-01"),
            (2023, "202", "1", "APKN", "", "2010-01-01"),  # same CHILD id in another LA: not a pair
            (2024, "201", "9", "WBRI", "", "2010-01-01"),
        ]
    )
    c = Q.consistency_over_time(h).iloc[0]
    assert (c["YEAR"], c["pairs"], c["denominator"], c["changed"], c["became_known"]) == (2024, 3, 2, 1, 1)
    assert c["share"] == 0.5
    t = Q.code_changes(h)
    assert t[["from_code", "to_code", "count"]].values.tolist() == [["WBRI", "WOTH", 1]]
    assert bool(t["same_major"].iloc[0])


def test_linkage_and_agreement_small():
    h = _h(
        [
            (2024, "201", "1", "WBRI", "A201000000001", "2012-01-01"),
            (2024, "201", "2", "WROM", "A201000000002", "2012-01-01"),
            (2024, "201", "3", "OOTH", "UN3", "2012-01-01"),
            (2024, "201", "4", "", "A201000000004", "2012-01-01"),
            (2024, "201", "5", "AIND", "A201000000005", "2012-01-01"),
        ]
    )
    s = pd.DataFrame(
        {
            "YEAR": 2024,
            "UPN": ["A201000000001", "A201000000002", "A201000000004", "UN3"],
            "LA": "201",
            "ETHNIC": ["WBRI", "WBRI", "MWBC", "OOTH"],
        }
    )
    a = Q.consistency_across_collections(h, s)
    lk = a.linkage.iloc[0]
    assert (lk["children"], lk["upn_unknown"], lk["linked"], lk["school_age_linked"]) == (5, 1, 3, 3)
    ag = a.agreement.iloc[0]
    assert (ag["linked"], ag["both_known"], ag["agree"], ag["major_agree"], ag["ssda903_unknown_school_known"]) == (
        3,
        2,
        1,
        2,
        1,
    )
    bm = a.by_minor.set_index("ethnic_code")
    assert bm.at["WROM", "share_disagree"] == 1 and bm.at["WBRI", "share"] == 1
    cm = a.confusion.set_index("SSDA903 group")
    assert cm.at["White", "White"] == 2 and cm.to_numpy().sum() == 2


def test_granularity_threshold_rule():
    counts = pd.DataFrame(
        {"LA": ["a", "b", "c", "a"], "ethnic_code": ["WBRI", "WBRI", "WBRI", "CHNE"], "count": [6, 5, 1, 0]}
    )
    g = Q.granularity(counts, threshold=5).set_index("ethnic_code")
    assert g.loc["WBRI", ["national_count", "las_publishable", "las_suppressed", "las_zero"]].tolist() == [12, 1, 2, 0]
    assert g.at["CHNE", "las_zero"] == 3 and g.at["CHNE", "national_publishable"]
    assert len(g) == 18


def test_denominator_comparability():
    pop = pd.DataFrame(
        {
            "time_period": [2024, 2024],
            "ons2021_code": [13, 15],
            "population": [100, 5],
            "source": "SYNTHETIC: not real data",
        }
    )
    d = Q.denominator_comparability(pop).set_index("ethnic_code")
    assert d.at["WBRI", "match"] == "one-to-one" and d.at["WBRI", "population"] == 100
    assert d.at["WROM", "match"] == "none" and d.at["REFU", "match"] == "none" and d.at["NOBT", "match"] == "none"
    assert d.at["WIRT", "match"] == "approximate" and (d["source"] == "synthetic").all()
    assert Q.denominator_comparability(None)["population"].isna().all()


def test_rag_rules():
    t = RagThreshold(green=0.98, amber=0.95, higher_is_better=True)
    assert [Q.rag(v, t) for v in (0.98, 0.97, 0.95, 0.9, float("nan"))] == [
        "green",
        "amber",
        "amber",
        "red",
        "not assessed",
    ]
    low = RagThreshold(green=0.01, amber=0.05, higher_is_better=False)
    assert Q.rag(pd.Series([0.01, 0.02, 0.2]), low).tolist() == ["green", "amber", "red"]
    assert "at least 98.0%" in Q.rag_rule(t)


def test_funnel_flags_only_low_outliers():
    rows = []
    for i in range(30):
        la = f"{800 + i}"
        unknown = 40 if i == 0 else (0 if i == 1 else 2)
        rows += [(2024, la, str(k), "NOBT" if k < unknown else "WBRI", "", "2010-01-01") for k in range(200)]
    f = Q.la_completeness_funnel(_h(rows))
    assert f.loc[f["flagged"], "LA"].tolist() == ["800"]
    assert {"lower_95", "upper_99_8", "adj_lower_99_8", "z", "z_adjusted", "tau2"} <= set(f.columns)
    w = Q.weakest_las(f, 3)
    assert w["LA"].iloc[0] == "800" and w["rank"].tolist() == [1, 2, 3]


def test_user_needs_statuses():
    years = [2023, 2024]
    cols = [
        "ssda903_header",
        "ssda903_episodes",
        "ssda903_missing",
        "ssda903_oc3",
        "ssda903_uasc",
        "school_census",
        "ks2",
        "ks4",
    ]
    scan = pd.DataFrame(
        [{"collection": c, "year": y, "rows": 10, "las": 153, "share_las": 1.0} for c in cols for y in years]
    )
    scan.loc[(scan["collection"] == "ks2") & (scan["year"] == 2024), ["rows", "las", "share_las"]] = 0
    rp = _params().quality_rag
    sc = pd.DataFrame(
        {
            "dimension": [
                "completeness",
                "validity",
                "consistency_over_time",
                "linkage",
                "consistency_across_collections",
            ],
            "collection": "x",
            "value": [0.99, 0.9995, 0.99, 0.97, 0.92],
            "rag": ["green", "green", "green", "green", "amber"],
        }
    )
    f = pd.DataFrame({"flagged": [True, False]})
    gr = pd.DataFrame({"share_las_publishable": [0.9, 0.1]})
    u = Q.user_needs(scan, sc, funnel=f, granularity=gr).set_index("need_id")
    assert u.at["breakdowns_characteristics", "status"] == "met"
    assert u.at["breakdowns_outcomes", "status"] == "not met" and "ks2" in u.at["breakdowns_outcomes", "reason"]
    assert u.at["exploratory_analysis", "status"] == "met"
    assert u.at["la_level", "status"] == "partially met" and "1 of 2 LAs" in u.at["la_level", "reason"]
    assert u.at["more_timely_data", "status"] == "partially met"
    assert rp.completeness.green == 0.98
    pub = Q.user_needs(scan, sc, record_level=False).set_index("need_id")
    assert pub.at["exploratory_analysis", "status"] == "not met"
    assert set(u.columns) == {"need", "status", "reason", "evidence"}


# ---------------------------------------------------------------------------------------------------------------
# published mode


def _ees(release: int) -> dict:
    path = FIX / str(release) / "national_cla_on_31_march_by_characteristics.csv"
    return {"cla_on_31_march": read_ees_table(path, "cla_on_31_march", release)}


def _raw_numbers(release: int) -> dict[int, tuple[int, int, str]]:
    """Straight from the CSV with the csv module: year -> (unknown number, total, published percentage)."""
    path = FIX / str(release) / "national_cla_on_31_march_by_characteristics.csv"
    out: dict[int, list] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["cla_group"] != "Ethnicity":
                continue
            y = int(r["time_period"])
            rec = out.setdefault(y, [None, None, None])
            if r["characteristic"].startswith("6. Total refused"):
                rec[0], rec[2] = int(r["number"]), r["percentage"]
            elif r["characteristic"] == "Total children":
                rec[1] = int(r["number"])
    return {y: tuple(v) for y, v in out.items()}


def test_published_unknown_share_matches_2024_release():
    sh = Q.published_unknown_share(_ees(2024)).set_index("year")
    raw = _raw_numbers(2024)
    assert sorted(sh.index) == [2020, 2021, 2022, 2023, 2024]
    for y, (unknown, total, pct) in raw.items():
        assert sh.at[y, "unknown"] == unknown and sh.at[y, "total"] == total
        assert sh.at[y, "unknown_share"] == unknown / total
        assert sh.at[y, "percentage_published"] == pct and sh.at[y, "percentage_computed"] == pct
    assert (sh.at[2024, "unknown"], sh.at[2024, "total"]) == (800, 83630)
    # national counts are rounded to the nearest 10 separately, so the parts may miss the total by up to 10
    assert abs(sh.at[2024, "refused"] + sh.at[2024, "not_obtained"] - sh.at[2024, "unknown"]) <= 10
    assert sh["percentage_agrees"].all()


def test_release_revisions_2023_vs_2024():
    sh = Q.published_unknown_share({2023: _ees(2023), 2024: _ees(2024)})
    rev = Q.release_revisions(sh).set_index("year")
    r23, r24 = _raw_numbers(2023), _raw_numbers(2024)
    assert sorted(rev.index) == [2020, 2021, 2022, 2023]
    assert (rev.at[2023, "value_from"], rev.at[2023, "value_to"]) == (r23[2023][0], r24[2023][0])
    assert rev.at[2023, "revision"] == r24[2023][0] - r23[2023][0]
    g = Q.release_revisions(
        Q.published_group_shares({2023: _ees(2023), 2024: _ees(2024)}), keys=["major"], value="number", share="share"
    )
    assert set(g["major"]) == {"white", "mixed", "asian", "black", "other", "unknown"}
    gaps = Q.published_record_level_gaps(sh)
    assert any("record-level" in s for s in gaps) and "2019 to 2024" in gaps[0]
    ps = Q.published_scorecard(_params().quality_rag, sh).set_index("dimension")
    assert ps.at["completeness", "value"] == pytest.approx(1 - 800 / 83630)
    assert ps.at["validity", "rag"] == "not assessed"


def test_linking_a_header_prepared_with_school_gives_the_same_result():
    """prepare_header(school=...) adds school_major_label; linking must not trip over it."""
    header = pd.DataFrame(
        {
            "CHILD": ["1", "2"],
            "LA": ["805", "805"],
            "YEAR": [2024, 2024],
            "ETHNIC": ["WBRI", "BAFR"],
            "UPN": ["A123456789012", "UN2"],
            "DOB": ["01/01/2012"] * 2,
        }
    )
    school = pd.DataFrame({"UPN": ["A123456789012"], "LA": ["805"], "YEAR": [2024], "ETHNIC": ["WIRI"]})
    plain = Q.link_school(header, school)
    prepared = Q.link_school(Q.prepare_header(header, school=school), school)
    cols = ["CHILD", "linked", "school_major_label", "school_code"]
    pd.testing.assert_frame_equal(plain[cols], prepared[cols])
    assert plain["linked"].tolist() == [True, False]


def test_recommendations_never_quote_a_small_count():
    """An LA percentage with its denominator gives away a count: 87.5% of 40 is 5 children of unknown
    ethnicity. Such LAs are described by band; other counts of 1 to the threshold are not quoted."""
    funnel = pd.DataFrame(
        {
            "LA": ["801", "802", "803"],
            "la_name": ["Small LA", "Big LA", "Mid LA"],
            "children": [40, 2000, 300],
            "known_share": [0.875, 0.90, 0.99],
            "flagged": [True, True, False],
            "z_adjusted": [-4.0, -5.0, 0.1],
            "target": 0.99,
            "year": 2024,
        }
    )
    changes = pd.DataFrame(
        {
            "from_label": ["White British"],
            "to_label": ["Any other White background"],
            "count": [3],
            "share_of_changes": [0.4],
            "same_major": [True],
        }
    )
    text = " ".join(Q.recommendations({"funnel": funnel, "changes": changes}, threshold=5))
    assert "87.5% of 40" not in text and "Small LA (ethnicity not known for 5 or fewer of its 40 children)" in text
    assert "Big LA (90.0% of 2,000)" in text or "Big LA (90% of 2,000)" in text
    assert "(3 children" not in text and "5 or fewer children" in text


@pytest.mark.parametrize(
    ("numerator", "denominator", "dp"),
    [(1, 80, 1), (3, 80, 1), (11, 400, 1), (220, 80000, 2), (1, 8, 0), (1, 3, 1)],
)
def test_sentences_quote_percentages_as_the_tables_print_them(numerator, denominator, dp):
    """A share exactly half-way (1/80 = 1.25%) is 1.3% in the tables (half up, DfE practice); the text must say
    1.3% too, not the 1.2% that Python's float formatting gives. One formatter serves both."""
    from rap.domain.disclosure import percent
    from rap.sections.data_quality.chapter import _pct

    share = numerator / denominator
    table = _pct(pd.Series([share]), dp).iloc[0]
    exact = (Decimal(100 * numerator) / Decimal(denominator)).quantize(Decimal(1).scaleb(-dp), ROUND_HALF_UP)
    assert table == float(exact)
    assert percent(share, dp) == f"{exact}%"
    changes = pd.DataFrame(
        {"from_label": ["A"], "to_label": ["B"], "count": [50], "share_of_changes": [share], "same_major": [False]}
    )
    if dp == 1:
        assert f"50 children, {exact}% of changes" in " ".join(Q.recommendations({"changes": changes}))


def test_rag_rule_rounds_half_up():
    low = RagThreshold(green=0.0125, amber=0.0375, higher_is_better=False)
    assert Q.rag_rule(low) == "green if at most 1.3%, amber if at most 3.8%, otherwise red"


def test_unlinkable_upns_are_the_spec_code_group(monkeypatch):
    """The UPN codes that cannot link are data (the SSDA903 spec's ``upn_unknown`` group), not a list in code."""
    h = _h(
        [
            (2024, "201", "1", "WBRI", "UN1", "2010-01-01"),
            (2024, "201", "2", "WBRI", "XX9", "2010-01-01"),
            (2024, "201", "3", "WBRI", "", "2010-01-01"),
        ]
    )
    school = pd.DataFrame({"UPN": ["XX9"], "LA": ["201"], "YEAR": [2024], "ETHNIC": ["WBRI"]})
    assert Q.link_school(h, school)["upn_status"].tolist() == ["unknown", "given", "blank"]
    monkeypatch.setattr(Q, "code_group", lambda name: ("XX9",) if name == "upn_unknown" else ())
    linked = Q.link_school(h, school)
    assert linked["upn_status"].tolist() == ["given", "unknown", "blank"] and not linked["linked"].any()
    assert Q.prepare_header(h, school=school)["school_major_label"].tolist() == ["Not linked"] * 3
