"""The quality chapter's tables: what leaves the pipeline is rounded or suppressed, and matches the measures."""

from __future__ import annotations

import pandas as pd
import pytest

from rap.core.params import load_params
from rap.inputs.front import load_inputs
from rap.sections.data_quality import chapter as S
from rap.synth import generate


@pytest.fixture(scope="module")
def result(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("q")
    params = load_params(repo_root / "params" / "2024.yaml", synth={"scale": "small"}, data={"path": str(root / "syn")})
    generate(params)
    data = load_inputs(params)
    return S.assess_record(params, data.record, data.coverage())


def test_national_counts_are_rounded_to_the_base(result):
    base = result.params.suppression.rounding_base
    t = S.completeness_table(result)
    assert all(isinstance(v, str) or v % base == 0 for v in t["Children"])
    raw = result.completeness_year.groupby("YEAR")["denominator"].first()
    assert abs(int(t["Children"].iloc[-1]) - int(raw.iloc[-1])) <= base // 2


def test_la_counts_of_one_to_threshold_are_suppressed_with_their_percentages(result, tmp_path):
    S.write_record_outputs(result, tmp_path)
    la = pd.read_csv(tmp_path / "tables" / "quality_la_completeness.csv", dtype=str)
    unknown = la["children_unknown"]
    numeric = pd.to_numeric(unknown, errors="coerce")
    thr = result.params.suppression.threshold
    assert not numeric.between(1, thr).any(), "an unknown count of 1 to the threshold was published"
    assert (la.loc[unknown == "c", "known_percentage"] == "c").all()
    assert (unknown == "c").any(), "small-scale data should have some suppressed LAs (else the test proves nothing)"
    # every indicator cell filled (EES rejects blanks)
    assert not la.isna().any().any()


def test_scorecard_table_matches_the_measures(result):
    t = S.scorecard_table(result.scorecard)
    comp = t[(t["Dimension"] == "Completeness") & (t["Collection"] == "SSDA903 Header")].iloc[0]
    c = result.completeness_year
    complete = c[(c["YEAR"] == result.year) & (c["category"] == "complete")]["share"].iloc[0]
    assert comp["Value (%)"] == pytest.approx(round(complete * 100, 1))
    assert set(t["Rating"]) <= {"Green", "Amber", "Red", "Not assessed"}


def test_sentences_quote_the_results(result):
    text = S.completeness_sentence(result)
    c = result.completeness_year
    complete = c[(c["YEAR"] == result.year) & (c["category"] == "complete")]["share"].iloc[0]
    assert f"{complete:.1%}" in text
    flagged = result.funnel.loc[result.funnel["flagged"], "la_name"].tolist()
    assert all(name in S.funnel_sentence(result) for name in flagged)
    assert str(len(flagged)) in S.funnel_title(result)


def test_national_percentages_are_shares_of_the_published_counts(result, tmp_path):
    """quality_completeness: each percentage is the rounded count over the rounded number of children, and a
    count of 1 to the threshold is c with its percentage (never "low", never a 5 rounded to 10)."""
    from rap.domain.disclosure import round_half_up

    S.write_record_outputs(result, tmp_path)
    t = pd.read_csv(tmp_path / "tables" / "quality_completeness.csv", dtype=str)
    assert "low" not in set(t["number"]) and not (t["number"] == "c").ne(t["percentage"] == "c").any()
    c = result.completeness_year
    for r in t[t["number"] != "c"].itertuples():
        n = c[(c["YEAR"] == int(r.time_period)) & (c["category"] == "known")]["denominator"].iloc[0]
        expected = round(int(r.number) / int(round_half_up(int(n), 10)) * 100 + 1e-9, 1)
        assert float(r.percentage) == pytest.approx(expected)
    raw = c[c["category"].isin(["known", "blank", "refused", "not_obtained", "invalid"])]
    small = raw["count"].between(1, result.params.suppression.threshold).to_numpy()
    assert (t["number"].to_numpy()[small] == "c").all()


def test_scorecard_rates_the_published_value(repo_root):
    """A rating must rest on the value shown beside it: 9,796 of 10,004 is 97.9% exactly but 98.0% of the
    published (rounded) 9,800 of 10,000, so green against a 98% rule."""
    params = load_params(repo_root / "params" / "2024.yaml")
    sc = pd.DataFrame(
        {"dimension": ["completeness"], "collection": ["SSDA903 Header"], "numerator": [9796], "denominator": [10004]}
    )
    out = S._published_scorecard(sc, params)
    assert out["value"].iloc[0] == pytest.approx(0.98) and out["rag"].iloc[0] == "green"
    small = S._published_scorecard(sc.assign(numerator=[3]), params)
    assert S.scorecard_table(small.assign(year=2024))["Value (%)"].iloc[0] == "c"


def test_sentences_hide_what_the_tables_hide(result):
    """A share resting on a c count is not quoted in words (an exact 2-decimal share of a few children would
    give their number back)."""
    res = result
    c = res.completeness_year
    row = (c["YEAR"] == res.year) & (c["category"] == "invalid")
    saved = c.loc[row, "share"].copy()
    c.loc[row, "share"] = float("nan")  # as published_shares leaves it when the invalid count is c
    try:
        text = S.validity_sentence(res)
        assert "a share not shown (0 to 5 children)" in text and "%" not in text
    finally:
        c.loc[row, "share"] = saved
