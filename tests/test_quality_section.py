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
    unknown = la["ethnicity_unknown"]
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
