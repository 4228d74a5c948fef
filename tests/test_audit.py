"""The disclosure attacker (rap.audit): each attack recovers a value hidden in hand-made tables, and claims
nothing where nothing can be recovered; then one run on the small synthetic build's published tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.audit import ATTACKS, audit_folder
from rap.audit.__main__ import main as audit_main
from rap.cli import main as rap_main
from rap.domain import stats
from rap.domain.disclosure import round_places

GEO = {
    "National": {"country_code": "E92000001", "country_name": "England", "region_code": "", "region_name": ""},
    "Regional": {
        "country_code": "E92000001",
        "country_name": "England",
        "region_code": "E12000001",
        "region_name": "North East",
    },
}
LA_GEO = {
    "country_code": "E92000001",
    "country_name": "England",
    "region_code": "E12000001",
    "region_name": "North East",
}


def write_table(folder: Path, name: str, rows: list[dict], filters: list[str], indicators: dict[str, int]) -> None:
    """An EES table and its .meta.csv: ``indicators`` maps column -> decimal places."""
    head = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name"]
    df = pd.DataFrame(rows)
    for c in ("region_code", "region_name", "old_la_code", "new_la_code", "la_name"):
        if c in df.columns:
            head.append(c)
    df.assign(time_identifier="Reporting year")[head + filters + list(indicators)].to_csv(
        folder / f"{name}.csv", index=False
    )
    meta = [{"col_name": f, "col_type": "Filter", "indicator_dp": ""} for f in filters]
    meta += [{"col_name": c, "col_type": "Indicator", "indicator_dp": dp} for c, dp in indicators.items()]
    pd.DataFrame(meta).to_csv(folder / f"{name}.meta.csv", index=False)


def national(level: str = "National", **cells) -> dict:
    return {"time_period": 2024, "geographic_level": level, **GEO[level], **cells}


def la(code: str, **cells) -> dict:
    return {"time_period": 2024, "geographic_level": "Local authority", **LA_GEO, "new_la_code": code, **cells}


def rnd(x: object, dp: int) -> float:
    """The pipeline's half-up rounding of one number."""
    return float(np.ravel(round_places(np.ravel(np.asarray(x, dtype=float)), dp))[0])


def pct_row(n: int, d: int, *, minor: str = "Total", shown_n: str | None = None, shown_d: str | None = None) -> dict:
    """A breakdown-table row as the pipeline publishes it: counts rounded to 10, percentage and Wilson limits
    from the unrounded counts."""
    ci = stats.wilson_ci(np.array([n]), np.array([d]))
    return national(
        breakdown="Total",
        ethnicity_major="White",
        ethnicity_minor=minor,
        number=shown_n or str(int(rnd(n / 10, 0) * 10)),
        denominator=shown_d or str(int(rnd(d / 10, 0) * 10)),
        percentage=str(int(rnd(100 * n / d, 0))),
        percentage_lower_95=str(rnd(100 * np.asarray(ci.lower), 1)),
        percentage_upper_95=str(rnd(100 * np.asarray(ci.upper), 1)),
    )


PCT = {"number": 0, "denominator": 0, "percentage": 0, "percentage_lower_95": 1, "percentage_upper_95": 1}
FILTERS = ["breakdown", "ethnicity_major", "ethnicity_minor"]


def findings(report, attack: str, status: str | None = None) -> list:
    res = report.combined if attack == "combined" else next(a for a in report.attacks if a.id == attack)
    return [f for f in res.findings if status is None or f.status == status]


def only(report, attack: str, status: str, table: str, column: str) -> list:
    return [f for f in findings(report, attack, status) if f.table == table and f.column == column]


# ---------------------------------------------------------------------------------------------------------
# attack 1: interval inversion


def test_intervals_pin_a_rounded_count_from_its_wilson_limits(tmp_path: Path) -> None:
    write_table(tmp_path, "t_by_ethnicity", [pct_row(37, 98)], FILTERS, PCT)
    report = audit_folder(tmp_path)
    pinned = only(report, "intervals", "pinned", "t_by_ethnicity", "number")
    assert len(pinned) == 1 and pinned[0].value == 37
    assert pinned[0].line == 2
    assert not report.passed


def test_intervals_claim_nothing_when_the_figures_cannot_tell_counts_apart(tmp_path: Path) -> None:
    row = pct_row(3701, 9804)
    row["percentage_lower_95"] = row["percentage_upper_95"] = "x"  # only a whole-number percentage left
    write_table(tmp_path, "t_by_ethnicity", [row], FILTERS, PCT)
    report = audit_folder(tmp_path)
    assert findings(report, "intervals") == []
    assert report.passed


def test_intervals_use_an_unpublished_population_behind_a_rate(tmp_path: Path) -> None:
    n, pop = 23, 14_321.0  # rate limits at 1 d.p. of a small count: the ratio of the limits gives the count
    est, lo_, hi_ = stats.rate_ci(np.array([n]), np.array([pop]))
    row = national(
        breakdown="Total", ethnicity_major="White", ethnicity_minor="Total", number="20",
        rate_per_10000=str(int(rnd(est, 0))), rate_lower_95=str(rnd(lo_, 1)), rate_upper_95=str(rnd(hi_, 1)),
    )  # fmt: skip
    write_table(
        tmp_path,
        "t_by_ethnicity",
        [row],
        FILTERS,
        {"number": 0, "rate_per_10000": 0, "rate_lower_95": 1, "rate_upper_95": 1},
    )
    report = audit_folder(tmp_path)
    got = only(report, "intervals", None, "t_by_ethnicity", "number")
    assert got, "the rate's interval narrows the count"
    assert all(f.status in ("pinned", "narrowed") for f in got)
    lo, hi = next(a for a in report.attacks if a.id == "intervals").bounds
    assert lo[0] <= n <= hi[0] and hi[0] - lo[0] < 9  # sound and narrower than the rounding interval


# ---------------------------------------------------------------------------------------------------------
# attack 2: rounding and suppression patterns


def test_pattern_ten_with_a_suppressed_percentage_means_five(tmp_path: Path) -> None:
    row = national(breakdown="Total", ethnicity_major="White", ethnicity_minor="Total", number="10", denominator="200",
                   percentage="c", percentage_lower_95="c", percentage_upper_95="c")  # fmt: skip
    write_table(tmp_path, "t_by_ethnicity", [row], FILTERS, PCT)
    report = audit_folder(tmp_path)
    pinned = only(report, "patterns", "pinned", "t_by_ethnicity", "number")
    assert [f.value for f in pinned] == [5]


def test_pattern_ten_with_a_shown_percentage_is_not_pinned(tmp_path: Path) -> None:
    row = national(breakdown="Total", ethnicity_major="White", ethnicity_minor="Total", number="10", denominator="200",
                   percentage="5", percentage_lower_95="x", percentage_upper_95="x")  # fmt: skip
    write_table(tmp_path, "t_by_ethnicity", [row], FILTERS, PCT)
    report = audit_folder(tmp_path)
    assert only(report, "patterns", "pinned", "t_by_ethnicity", "number") == []
    lo, hi = next(a for a in report.attacks if a.id == "patterns").bounds
    assert (lo[0], hi[0]) == (6, 14)  # 5 is ruled out (its percentage would be c), nothing more


# ---------------------------------------------------------------------------------------------------------
# attack 3: totals and parts, hierarchy


def la_rates(rows: list[tuple[str, str, str]]) -> list[dict]:
    return [la(code, ethnicity_major=g, number=n, population="1000") for code, g, n in rows]


def test_totals_recover_a_single_suppressed_part(tmp_path: Path) -> None:
    rows = la_rates([("E06000001", "Total", "7"), ("E06000001", "White", "6"), ("E06000001", "Other", "c")])
    write_table(tmp_path, "la_rates", rows, ["ethnicity_major"], {"number": 0, "population": 0})
    report = audit_folder(tmp_path)
    rec = only(report, "totals", "recovered", "la_rates", "number")
    assert [(f.line, f.value) for f in rec] == [(4, 1)]


def test_totals_do_not_recover_two_suppressed_parts(tmp_path: Path) -> None:
    rows = la_rates([("E06000001", "Total", "20"), ("E06000001", "White", "13"), ("E06000001", "Other", "c"),
                     ("E06000001", "Mixed", "c")])  # fmt: skip
    write_table(tmp_path, "la_rates", rows, ["ethnicity_major"], {"number": 0, "population": 0})
    report = audit_folder(tmp_path)
    assert findings(report, "combined", "recovered") == []
    assert report.passed


def test_hierarchy_pins_a_rounded_region_from_its_las_and_recovers_by_combining_equations(tmp_path: Path) -> None:
    # region 32 published as 30; its two LAs shown exactly: the region's true count follows
    rows = [
        {**national("Regional"), "ethnicity_major": "Total", "number": "30", "population": "2000"},
        la("E06000001", ethnicity_major="Total", number="12", population="1000"),
        la("E06000002", ethnicity_major="Total", number="20", population="1000"),
    ]
    write_table(tmp_path, "areas", rows, ["ethnicity_major"], {"number": 0, "population": 0})
    report = audit_folder(tmp_path)
    pinned = only(report, "totals", "pinned", "areas", "number")
    assert [f.value for f in pinned] == [32]
    assert report.passed  # reported, not a leak: the region is the sum of figures published exactly


@pytest.mark.parametrize("second_la, status, value", [("0", "zero", 0), ("3", "recovered", 3)])
def test_a_regional_c_from_its_las_is_recovered_and_a_zero_is_counted_apart(
    tmp_path: Path, second_la: str, status: str, value: int
) -> None:
    """A regional `c` whose LAs are all shown is their sum: 3 is a leak, 0 is counted apart (a zero says
    nothing about a child) and the release still passes."""
    rows = [
        {**national("Regional"), "ethnicity_major": "Total", "number": "c", "population": "2000"},
        la("E06000001", ethnicity_major="Total", number="0", population="1000"),
        la("E06000002", ethnicity_major="Total", number=second_la, population="1000"),
    ]
    write_table(tmp_path, "areas", rows, ["ethnicity_major"], {"number": 0, "population": 0})
    report = audit_folder(tmp_path)
    assert [(f.line, f.value) for f in only(report, "combined", status, "areas", "number")] == [(2, value)]
    assert report.passed == (status == "zero")


def test_two_pinned_counts_whose_difference_is_small_disclose_it(tmp_path: Path) -> None:
    """A region's number and denominator, both rounded to 30, are pinned at 27 and 29 by their LAs' exact
    counts: the 2 children counted in one but not the other follow, though no table shows them."""
    rows = [
        national("Regional", breakdown="Total", ethnicity_major="Total", ethnicity_minor="Total", number="30",
                 denominator="30"),
        la("E06000001", breakdown="Total", ethnicity_major="Total", ethnicity_minor="Total", number="10",
           denominator="12"),
        la("E06000002", breakdown="Total", ethnicity_major="Total", ethnicity_minor="Total", number="17",
           denominator="17"),
    ]  # fmt: skip
    write_table(tmp_path, "t_by_ethnicity", rows, FILTERS, {"number": 0, "denominator": 0})
    report = audit_folder(tmp_path)
    alone = {f.line for f in findings(report, "complements", "disclosed")}
    assert 2 not in alone  # nothing is published exactly at the region (the LAs' own 2 is found alone)
    got = findings(report, "combined", "disclosed")
    assert (2, 2) in [(f.line, f.value) for f in got]
    assert not report.passed


# ---------------------------------------------------------------------------------------------------------
# attack 4: the same quantity in two tables


def dashboard(code: str, numerator: str, denominator: str, value: str, indicator: str = "cla_rate") -> dict:
    return la(
        code, indicator=indicator, ethnicity_major="White", numerator=numerator, denominator=denominator, value=value
    )


def rates_and_dashboard(folder: Path, rates: list[dict], filters: list[str], shown: str) -> list[int]:
    """The LA rates table (``rates``) beside the dashboard showing ``shown`` for E06000001: the rates cells the
    cross-table attack recovers."""
    write_table(folder, "la_cla_rates_by_ethnicity", rates, filters, {"number": 0, "population": 0})
    write_table(
        folder, "dashboard_indicators", [dashboard("E06000001", shown, "1000", "c" if shown == "c" else "40.0")],
        ["indicator", "ethnicity_major"], {"numerator": 0, "denominator": 0, "value": 1},
    )  # fmt: skip
    report = audit_folder(folder)
    return [f.value for f in only(report, "cross_table", "recovered", "la_cla_rates_by_ethnicity", "number")]


def test_cross_table_a_cell_hidden_in_one_table_is_shown_in_another(tmp_path: Path) -> None:
    rates = [la("E06000001", ethnicity_major="White", number="c", population="1000")]
    assert rates_and_dashboard(tmp_path, rates, ["ethnicity_major"], "4") == [4]


def test_cross_table_matches_past_a_filter_that_only_describes_each_row(tmp_path: Path) -> None:
    """A verdict written as a filter (one item per row, EES indicators holding numbers only) is not a key: the
    rates table is still matched with the dashboard, so the hidden count is still found."""
    verdict = "compared_with_england"
    rates = [la("E06000001", ethnicity_major="White", number="c", population="1000", **{verdict: "Not shown"}),
             la("E06000002", ethnicity_major="White", number="30", population="1000", **{verdict: "Higher"})]  # fmt: skip
    assert rates_and_dashboard(tmp_path, rates, ["ethnicity_major", verdict], "4") == [4]


def test_a_filter_that_splits_a_count_stays_a_key(tmp_path: Path) -> None:
    from rap.audit.relations import load_relations
    from rap.audit.tables import read_folder

    rows = [la("E06000001", sex=s, verdict=v, number=n) for s, v, n in (("Total", "a", "9"), ("Girls", "b", "4"))]
    rows += [la("E06000002", sex="Girls", verdict="a", number="5")]
    write_table(tmp_path, "t", rows, ["sex", "verdict"], {"number": 0})
    tables, _ = read_folder(tmp_path, load_relations())
    assert tables["t"].filters == ("sex",)  # the verdict only describes; sex has a Total and splits


def test_cross_table_claims_nothing_when_both_are_hidden(tmp_path: Path) -> None:
    rates = [la("E06000001", ethnicity_major="White", number="c", population="1000")]
    assert rates_and_dashboard(tmp_path, rates, ["ethnicity_major"], "c") == []
    assert audit_folder(tmp_path).passed


# ---------------------------------------------------------------------------------------------------------
# attack 5: pooled comparators and values over published populations


def neighbours_case(tmp_path: Path, hidden: list[str]) -> None:
    counts = {"E06000002": 3, "E06000003": 40, "E06000004": 17}
    pops = {"E06000002": 2000, "E06000003": 5000, "E06000004": 3000}
    rate = sum(counts.values()) / sum(pops.values()) * 10_000
    rows = [la("E06000001", ethnicity_major="White", number="50", population="9000", neighbours_rate=f"{rate:.1f}")]
    rows += [
        la(
            c,
            ethnicity_major="White",
            number="c" if c in hidden else str(n),
            population=str(pops[c]),
            neighbours_rate="x",
        )
        for c, n in counts.items()
    ]
    write_table(tmp_path, "la_cla_rates_by_ethnicity", rows, ["ethnicity_major"],
                {"number": 0, "population": 0, "neighbours_rate": 1})  # fmt: skip
    nb = [{"time_period": 2024, "geographic_level": "Local authority", **LA_GEO, "new_la_code": "E06000001",
           "rank": str(i + 1), "neighbour_code": c} for i, c in enumerate(counts)]  # fmt: skip
    write_table(tmp_path, "neighbours", nb, ["rank"], {"neighbour_code": 0})


def test_pooled_neighbours_rate_gives_back_the_hidden_neighbour(tmp_path: Path) -> None:
    neighbours_case(tmp_path, hidden=["E06000002"])
    report = audit_folder(tmp_path)
    rec = only(report, "pooled", "recovered", "la_cla_rates_by_ethnicity", "number")
    assert [f.value for f in rec] == [3]


def test_pooled_rate_with_two_hidden_neighbours_recovers_neither(tmp_path: Path) -> None:
    neighbours_case(tmp_path, hidden=["E06000002", "E06000004"])
    report = audit_folder(tmp_path)
    assert only(report, "combined", "recovered", "la_cla_rates_by_ethnicity", "number") == []


def test_lp_recovers_cells_no_single_relation_gives(tmp_path: Path) -> None:
    """Three LAs whose neighbour pools are {X, Y}, {X, Z}, {Y, Z}, all three hidden: each pooled rate gives a sum
    of two; propagation stops at ranges, linear programming solves the triangle."""
    hidden = {"E06000011": 2, "E06000012": 3, "E06000013": 1}
    pools = {"E06000001": ("E06000011", "E06000012"), "E06000002": ("E06000011", "E06000013"),
             "E06000003": ("E06000012", "E06000013")}  # fmt: skip
    rows = [la(a, ethnicity_major="White", number="30", population="1000",
               neighbours_rate=f"{sum(hidden[c] for c in p) / 2000 * 10_000:.1f}") for a, p in pools.items()]  # fmt: skip
    rows += [la(c, ethnicity_major="White", number="c", population="1000", neighbours_rate="x") for c in hidden]
    write_table(tmp_path, "la_cla_rates_by_ethnicity", rows, ["ethnicity_major"],
                {"number": 0, "population": 0, "neighbours_rate": 1})  # fmt: skip
    nb = [{"time_period": 2024, "geographic_level": "Local authority", **LA_GEO, "new_la_code": a, "rank": str(i + 1),
           "neighbour_code": c} for a, p in pools.items() for i, c in enumerate(p)]  # fmt: skip
    write_table(tmp_path, "neighbours", nb, ["rank"], {"neighbour_code": 0})
    report = audit_folder(tmp_path)
    assert only(report, "pooled", "recovered", "la_cla_rates_by_ethnicity", "number") == []  # alone: propagation
    rec = only(report, "combined", "recovered", "la_cla_rates_by_ethnicity", "number")
    assert sorted((f.line, f.value) for f in rec) == [(5, 2), (6, 3), (7, 1)]


def test_pooled_regional_count_from_its_value_and_published_population(tmp_path: Path) -> None:
    n, pop = 347, 991_013  # rate 3.5 per 10,000 at 1 d.p. pins nothing alone; 35 per 100,000 children does
    rows = [{**national("Regional"), "indicator": "cla_rate", "ethnicity_major": "White", "numerator": "350",
             "denominator": "991010", "value": f"{n / pop * 10_000:.1f}"}]  # fmt: skip
    write_table(
        tmp_path, "dash", rows, ["indicator", "ethnicity_major"], {"numerator": 0, "denominator": 0, "value": 1}
    )
    report = audit_folder(tmp_path)
    lo, hi = report.combined.bounds
    assert lo[0] <= n <= hi[0]  # sound
    n2, pop2 = 12, 20_004  # a small group: 6.0 per 10,000 to 1 d.p. leaves one count
    rows = [{**national("Regional"), "indicator": "cla_rate", "ethnicity_major": "White", "numerator": "10",
             "denominator": "20000", "value": f"{n2 / pop2 * 10_000:.1f}"}]  # fmt: skip
    write_table(
        tmp_path, "dash", rows, ["indicator", "ethnicity_major"], {"numerator": 0, "denominator": 0, "value": 1}
    )
    report = audit_folder(tmp_path)
    assert [f.value for f in only(report, "pooled", "pinned", "dash", "numerator")] == [12]


def test_intervals_claim_nothing_when_the_figures_come_from_the_published_counts(tmp_path: Path) -> None:
    """The scheme of docs/disclosure.md: figures from the rounded counts. 37 of 98 published as 40 of 100 with
    the percentage and limits of 40 / 100: the published counts reproduce them, so they pin nothing."""
    ci = stats.wilson_ci(np.array([40]), np.array([100]))
    row = national(breakdown="Total", ethnicity_major="White", ethnicity_minor="Total", number="40", denominator="100",
                   percentage="40", percentage_lower_95=str(rnd(100 * np.asarray(ci.lower), 1)),
                   percentage_upper_95=str(rnd(100 * np.asarray(ci.upper), 1)))  # fmt: skip
    write_table(tmp_path, "t_by_ethnicity", [row], FILTERS, PCT)
    report = audit_folder(tmp_path)
    assert findings(report, "intervals") == [] and findings(report, "combined", "pinned") == []
    lo, hi = report.combined.bounds
    assert (lo[0], hi[0]) == (35, 44)  # the rounding interval, nothing narrower


def test_values_from_published_counts_give_no_linear_rows(tmp_path: Path) -> None:
    """A regional rate made from the rounded numerator and the published population pins nothing (the same row
    made from the true count 12 does: test_pooled_regional_count_from_its_value_and_published_population)."""
    rows = [{**national("Regional"), "indicator": "cla_rate", "ethnicity_major": "White", "numerator": "10",
             "denominator": "20000", "value": f"{10 / 20000 * 10_000:.1f}"}]  # fmt: skip
    write_table(
        tmp_path, "dash", rows, ["indicator", "ethnicity_major"], {"numerator": 0, "denominator": 0, "value": 1}
    )
    report = audit_folder(tmp_path)
    assert findings(report, "pooled") == [] and report.passed


def regions_case(tmp_path: Path, regional: list[str], national_number: str = "c") -> None:
    codes = [f"E120000{i:02d}" for i in range(1, len(regional) + 1)]
    rows = [
        national(breakdown="Total", ethnicity_major="White", ethnicity_minor="Gypsy / Roma", number=national_number)
    ]
    rows += [
        {**national("Regional"), "region_code": code, "breakdown": "Total", "ethnicity_major": "White",
         "ethnicity_minor": "Gypsy / Roma", "number": n}
        for code, n in zip(codes, regional)
    ]  # fmt: skip
    write_table(tmp_path, "t_by_ethnicity", rows, FILTERS, {"number": 0})


def test_hierarchy_regional_c_that_may_be_zero_do_not_pin_each_other(tmp_path: Path) -> None:
    """Nationally and regionally `c` is 0 to 5. Were it 1 to 5, five regions at `c` would add up to at least 5,
    making England's `c` 5 and each region's 1; and nine regional `c` under an England 10 (at most 14) beside a
    regional 10 (at least 5) would all be 1. With 0 possible, neither closes."""
    regions_case(tmp_path, ["c", "c", "c", "c", "c", "c", "c", "c", "c"])
    report = audit_folder(tmp_path)
    assert findings(report, "combined", "recovered") == [] and report.passed
    regions_case(tmp_path, ["10", "c", "c", "c", "c", "c", "c", "c", "c", "c"], national_number="10")
    report = audit_folder(tmp_path)
    assert [f for f in findings(report, "combined") if f.status in ("recovered", "pinned")] == []
    assert report.passed


def test_hierarchy_four_regional_c_under_a_national_c_give_nothing(tmp_path: Path) -> None:
    regions_case(tmp_path, ["c", "c", "0", "c", "c", "0", "0", "0", "0"])
    report = audit_folder(tmp_path)
    assert findings(report, "combined", "recovered") == [] and report.passed


def test_a_c_beside_a_c_percentage_is_not_taken_for_a_small_count(tmp_path: Path) -> None:
    """Local `c` may be secondary suppression (any count): a suppressed percentage beside it says nothing. Were
    both `c` read as 1 to 5, 20 - 10 = 10 would make each exactly 5 (the true counts are 8 and 2)."""
    rows = [la("E06000001", breakdown="Total", ethnicity_major=g, ethnicity_minor="Total", number=n, denominator="100",
               percentage=p, percentage_lower_95="x", percentage_upper_95="x")
            for g, n, p in [("Total", "20", "20"), ("White", "10", "10"), ("Other", "c", "c"), ("Mixed", "c", "c")]]  # fmt: skip
    write_table(tmp_path, "t_by_ethnicity", rows, FILTERS, PCT)
    report = audit_folder(tmp_path)
    assert findings(report, "combined", "recovered") == [] and report.passed


def test_the_solver_out_of_time_decides_nothing_and_does_not_pass(tmp_path: Path) -> None:
    test_lp_recovers_cells_no_single_relation_gives(tmp_path)  # the triangle: the LP stage recovers 3 cells
    report = audit_folder(tmp_path, lp_solves=0)
    assert findings(report, "combined", "recovered") == []
    assert report.combined.total.undecided == 3 and not report.passed
    assert {f.status for f in findings(report, "combined")} == {"undecided"}


# ---------------------------------------------------------------------------------------------------------
# attack 6: small complements


def test_complement_six_of_seven(tmp_path: Path) -> None:
    rows = [
        dashboard("E06000001", "6", "7", "86", "foster_care"),
        dashboard("E06000002", "6", "20", "30", "foster_care"),
    ]
    write_table(
        tmp_path, "dash", rows, ["indicator", "ethnicity_major"], {"numerator": 0, "denominator": 0, "value": 0}
    )
    report = audit_folder(tmp_path)
    got = findings(report, "complements", "disclosed")
    assert [(f.line, f.value) for f in got] == [(2, 1)]
    assert not report.passed


def test_complement_of_a_rate_is_not_a_count(tmp_path: Path) -> None:
    rows = [dashboard("E06000001", "6", "10", "6000.0", "cla_rate")]  # a population, not a whole of children
    write_table(
        tmp_path, "dash", rows, ["indicator", "ethnicity_major"], {"numerator": 0, "denominator": 0, "value": 1}
    )
    assert findings(audit_folder(tmp_path), "complements") == []


# ---------------------------------------------------------------------------------------------------------
# the report, the command line


def test_messages_name_cells_never_values(tmp_path: Path) -> None:
    rows = la_rates([("E06000001", "Total", "8"), ("E06000001", "White", "5"), ("E06000001", "Other", "c")])
    write_table(tmp_path, "la_rates", rows, ["ethnicity_major"], {"number": 0, "population": 0})
    report = audit_folder(tmp_path)
    (f,) = only(report, "combined", "recovered", "la_rates", "number")
    assert f.value == 3
    text = "\n".join(report.lines()) + json.dumps(report.to_dict()) + repr(f)
    assert "la_rates.csv line 4, number (published 'c'): recovered exactly" in text
    assert "3" not in f.message() and "value" not in repr(f)
    checks = report.checks()
    assert len(checks) == len(ATTACKS) + 1
    assert checks[-1]["result"] == "failed" and "recovered" in checks[-1]["detail"]


def test_command_line_exit_codes_and_json(tmp_path: Path, capsys) -> None:
    rows = la_rates([("E06000001", "Total", "20"), ("E06000001", "White", "20")])
    write_table(tmp_path, "la_rates", rows, ["ethnicity_major"], {"number": 0, "population": 0})
    out = tmp_path / "audit.json"
    assert audit_main([str(tmp_path), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["passed"] is True
    assert audit_main([str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_a_table_without_metadata_is_reported_and_bad_input_for_the_command(tmp_path: Path, capsys) -> None:
    (tmp_path / "orphan.csv").write_text("time_period,geographic_level,number\n2024,National,10\n")
    report = audit_folder(tmp_path)
    assert any("orphan.csv" in s and ".meta.csv" in s for s in report.skipped)
    assert rap_main(["audit-disclosure", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "orphan.csv" in err and "orphan.meta.csv" in err and "Traceback" not in err and err.count("\n") == 1


def test_rap_audit_disclosure_exit_codes(tmp_path: Path, capsys) -> None:
    safe, leaky = tmp_path / "safe", tmp_path / "leaky"
    safe.mkdir(), leaky.mkdir()
    write_table(safe, "la_rates", la_rates([("E06000001", "Total", "20"), ("E06000001", "White", "20")]),
                ["ethnicity_major"], {"number": 0, "population": 0})  # fmt: skip
    write_table(leaky, "la_rates", la_rates([("E06000001", "Total", "7"), ("E06000001", "White", "6"),
                                             ("E06000001", "Other", "c")]), ["ethnicity_major"],
                {"number": 0, "population": 0})  # fmt: skip
    assert rap_main(["audit-disclosure", str(safe), "--threshold", "5", "--rounding-base", "10"]) == 0
    out = tmp_path / "a.json"
    assert rap_main(["audit-disclosure", str(leaky), "--json", str(out)]) == 1
    assert json.loads(out.read_text())["combined"]["total"]["recovered"] == 1
    assert "la_rates.csv line 4, number (published 'c'): recovered exactly" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    for argv in ([str(tmp_path / "missing")], [str(tmp_path / "empty")], [str(safe), "--threshold", "0"]):
        assert rap_main(["audit-disclosure", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("rap audit-disclosure: ") and err.count("\n") == 1 and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------------
# the small synthetic build


def _small_build_attacks(small_run, capsys) -> list[dict]:
    import csv

    with (small_run / "qa" / "checks.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["name"].startswith("Disclosure attack: ")]
    with capsys.disabled():
        print("\n" + "\n".join(f"{r['name']}: {r['result']}: {r['detail']}" for r in rows))
    assert len(rows) == len(ATTACKS) + 1
    return rows


@pytest.mark.slow
def test_small_build(small_run, capsys) -> None:
    """The attacker on the small synthetic build's published tables, as the build's own QA check ran it
    (``rap run`` once per session; ``qa/checks.csv``): nothing hidden comes back from any attack alone or from
    all of them together, and the linear programmes decide every cell within their budget."""
    rows = _small_build_attacks(small_run, capsys)
    assert [r["name"] for r in rows if r["result"] != "passed"] == []
    combined = next(r for r in rows if r["name"].endswith("all attacks together"))
    assert combined["detail"].startswith("0 suppressed cells recovered") and "undecided" not in combined["detail"]


# ---------------------------------------------------------------------------------------------------------
# the build's QA check and the annexes


def test_the_qa_check_and_the_annexes_report_the_attack(tmp_path: Path, repo_root: Path) -> None:
    from rap.build import annexes
    from rap.build import checks as C
    from rap.core.params import load_params

    params = load_params(repo_root / "params" / "2024.yaml")
    tables = tmp_path / "tables"
    tables.mkdir()
    write_table(tables, "la_rates", la_rates([("E06000001", "Total", "20"), ("E06000001", "White", "20")]),
                ["ethnicity_major"], {"number": 0, "population": 0})  # fmt: skip
    passed = C.disclosure_attack(C.Build(tmp_path, params))
    assert len(passed) == len(ATTACKS) + 1 and {c.result for c in passed} == {"passed"}
    assert all(C.registered(c.name).check is C.disclosure_attack for c in passed)
    write_table(tables, "la_rates", la_rates([("E06000001", "Total", "9"), ("E06000001", "White", "6"),
                                              ("E06000001", "Other", "c")]), ["ethnicity_major"],
                {"number": 0, "population": 0})  # fmt: skip
    failed = C.disclosure_attack(C.Build(tmp_path, params))
    combined = failed[-1]
    assert combined.result == "failed" and combined.name == "Disclosure attack: all attacks together"
    assert "1 suppressed cells recovered" in combined.detail and "la_rates.csv line 4, number" in combined.detail
    assert "3" not in combined.detail.split("e.g.")[1]  # the cell is named, its value (3) is not
    methods = annexes.methods_markdown(params, {}, failed)
    assert "it got hidden counts back: 1 suppressed cells recovered" in methods
    assert "cannot be recovered" not in methods and "tells no more" not in methods
    qa = annexes.qa_markdown(failed)
    assert "{#tbl-annex-attack}" in qa and "| All attacks together | Failed |" in qa
    assert C.disclosure_attack(C.Build(tmp_path / "nothing", params)) == []
