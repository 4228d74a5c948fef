"""Routes out of care: the chapter's words and tables follow the published figures and their intervals."""

from __future__ import annotations

import pandas as pd
import pytest

from rap import measures as M
from rap.measures.leaving_care import reason_groups
from rap.sections import breakdowns as B
from rap.sections import routes_out_of_care as R

WHITE, MIXED, BLACK = "White", "Mixed or Multiple ethnic groups", "Black, African, Caribbean or Black British"


def _rows(measure: str, breakdown: str, cells: dict[str, dict]) -> list[dict]:
    base = {
        "measure": measure,
        "breakdown": breakdown,
        "time_period": 2024,
        "geographic_level": "National",
        "ethnicity_minor": "Total",
    }
    return [{**base, "ethnicity_major": g, **v} for g, v in cells.items()]


def _ratio(est: float, lo: float, hi: float, side: int) -> dict:
    return {
        "ratio_to_reference": est,
        "ratio_to_reference_lower_95": lo,
        "ratio_to_reference_upper_95": hi,
        "ratio_to_reference" + B.DIRECTION: float(side),
    }


def _table() -> pd.DataFrame:
    rows = []
    for reason in reason_groups():
        cells = {g: {"percentage": 10, "number": 100, **_ratio(1.0, 0.9, 1.1, 0)} for g in ("Total", WHITE, MIXED)}
        cells[BLACK] = {"percentage": 10, "number": 50, **_ratio(1.0, 0.8, 1.2, 0)}
        if reason == "Adopted":
            cells[BLACK] = {"percentage": 2, "number": 10, **_ratio(0.2, 0.1, 0.4, -1)}
            cells[MIXED] = {"percentage": 20, "number": 200, **_ratio(1.5, 1.0, 2.0, 1)}  # 1.004 shown as 1.00
        rows += _rows("ceased_by_reason", reason, cells)
    rows += _rows("adopted", "Total", {"Total": {"number": 1000}, WHITE: {"number": 840}, MIXED: {"number": 110},
                                       BLACK: {"number": "c"}})  # fmt: skip
    rows += _rows("cla_on_31_march", "Total", {"Total": {"number": 8000}, WHITE: {"number": 5680},
                                               MIXED: {"number": 880}, BLACK: {"number": 560}})  # fmt: skip
    return pd.DataFrame(rows)


def test_only_significant_routes_are_named_and_from_their_direction():
    s = R.difference_sentences(_table(), 2024)
    assert len(s) == 2 and s[1].startswith("Adopted: more often for Mixed")
    assert "less often for Black, African, Caribbean or Black British" in s[1]
    assert not any(r in " ".join(s) for r in reason_groups() if r != "Adopted")


def test_no_intervals_no_claim_and_no_reasons_no_claim():
    t = _table().astype({"ratio_to_reference_lower_95": object, "ratio_to_reference" + B.DIRECTION: object})
    published = t["measure"] == "ceased_by_reason"
    t.loc[published, "ratio_to_reference_lower_95"] = "x"  # DfE's published figures: no intervals
    t.loc[published, "ratio_to_reference" + B.DIRECTION] = None
    assert "not tested" in " ".join(R.difference_sentences(t, 2024))
    t = t[t["measure"] != "ceased_by_reason"]
    assert "do not give how children left care" in R.difference_sentences(t, 2024)[0] and R.mix_table(t, 2024).empty


def test_the_reasons_table_holds_every_reason_and_the_published_percentages():
    t = R.mix_table(_table(), 2024)
    assert list(t["Reason care ended"]) == list(reason_groups())
    assert list(t.columns[1:4]) == [R.ALL, WHITE, MIXED]
    assert t.loc[t["Reason care ended"] == "Adopted", BLACK].iloc[0] == 2


def test_adoption_shares_beside_shares_looked_after_leave_out_a_suppressed_group():
    s = R.adoption_sentence(_table(), 2024)
    assert s.startswith("Of children adopted in the year to 31 March 2024, 84% were White, 11% were Mixed")
    assert "71%, 11% respectively" in s and "Black" not in s


def test_every_mix_the_chapter_shows_lists_its_breakdowns_in_catalogue_order(built_table):
    for measure, first in (("started_by_age", "Age"), ("started_by_need", "Need"), ("legal_status", "Status")):
        t = R.mix_table(built_table, 2024, measure, first)
        assert list(t[first]) == M.catalogue()[measure]["breakdowns"]
        assert R.difference_sentences(built_table, 2024, measure)


@pytest.fixture(scope="module")
def built_table(tmp_path_factory, repo_root):
    """The publication table of a small synthetic build."""
    from rap.core.params import load_params
    from rap.inputs.load import load_record_data
    from rap.synth import generate

    root = tmp_path_factory.mktemp("routes")
    params = load_params(
        repo_root / "params" / "2024.yaml", synth={"scale": "small"}, data={"path": str(root / "syn")}, years=1
    )
    generate(params)
    data = load_record_data(params)
    return B.publication_table(M.compute_all(data, params.series_years), params, data.population)


def test_key_findings_lead_with_adoption_shares_and_name_only_significant_routes():
    """Plain English (issue 18): shares of adoptions beside shares looked after (a suppressed group left out),
    then only the routes whose ratio to White British excludes 1, judged on the unrounded limits."""
    lines = R.summary_lines(_table(), 2024)
    assert lines == [
        "Children from the White ethnic group made up 84% of children adopted in the year to 31 March 2024, against "
        "71% of children looked after on 31 March; Mixed 11% against 11% (@tbl-routes).",
        "Of children who left care in the year to 31 March 2024, compared with White British children, children "
        "from the Mixed ethnic group were adopted more often; children from the Black ethnic group were adopted "
        "less often (@tbl-routes).",
    ]


def test_a_group_that_differs_in_two_routes_is_named_once():
    t = _table()
    home = (t["breakdown"] == "Returned home to parents or others with parental responsibility") & (
        t["ethnicity_major"] == BLACK
    )
    t.loc[home, ["ratio_to_reference_lower_95", "ratio_to_reference_upper_95"]] = [0.5, 0.8]
    t.loc[home, "ratio_to_reference" + B.DIRECTION] = -1.0
    line = R.routes_finding(t, 2024)
    assert "children from the Black ethnic group were adopted less often and returned home less often" in line
    assert line.count("Black") == 1


def test_no_routes_finding_without_intervals_or_reasons():
    t = _table().astype({"ratio_to_reference_lower_95": object})
    t["ratio_to_reference_lower_95"] = "x"
    assert R.routes_finding(t, 2024) == ""
    no_reasons = _table()[lambda d: d["measure"] != "ceased_by_reason"]
    assert R.routes_finding(no_reasons, 2024) == ""
    assert R.adoption_finding(no_reasons, 2024).endswith("against 11%.")  # no table to point to


def test_the_mix_table_shows_white_british_beside_the_groups_compared_with_it():
    t = _table()
    wb = t[(t["measure"] == "ceased_by_reason") & (t["ethnicity_major"] == WHITE)].assign(
        ethnicity_minor="White British", percentage=7
    )
    mix = R.mix_table(pd.concat([t, wb]), 2024)
    assert list(mix.columns[1:5]) == [R.ALL, "White British", WHITE, MIXED]
    assert (mix["White British"] == 7).all()


def test_how_long_adoption_takes_joins_the_adoption_finding():
    """The front page keeps to about eight findings: the adoption averages join the adoption shares' bullet."""
    timing = "Children adopted were on average 3 years 3 months old (@tbl-adoption-stages)."
    lines = R.summary_lines(_table(), 2024, timing)
    assert len(lines) == 2 and lines[0].endswith("(@tbl-routes). " + timing)
