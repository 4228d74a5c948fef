"""rap.sections.dashboard: indicator values from the tidy measures, disclosure control, LA comparators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rap.measures import catalogue as measure_catalogue
from rap.sections import dashboard as D

WHITE, BLACK, UNK = "White", "Black, African, Caribbean or Black British", "Refused or information not yet available"
LA1, LA2 = ("E06000001", "805", "Hartlepool"), ("E06000002", "806", "Middlesbrough")
REG = ("E12000001", "North East")


def _rows(measure: str, breakdown: str, cells: dict, year: int = 2024) -> list[dict]:
    """cells: {(level, la or None, group): (number, denominator)}."""
    out = []
    for (level, la, group), (num, den) in cells.items():
        out.append(
            {
                "measure": measure,
                "time_period": year,
                "geographic_level": level,
                "region_code": REG[0] if level != "National" else None,
                "region_name": REG[1] if level != "National" else None,
                "old_la_code": la[1] if la else None,
                "new_la_code": la[0] if la else None,
                "la_name": la[2] if la else None,
                "ethnicity_major": group,
                "ethnicity_minor": "Total",
                "breakdown": breakdown,
                "number": num,
                "denominator": den,
                "points_total": np.nan,
                "pupils": np.nan,
            }
        )
    return out


def _measures() -> pd.DataFrame:
    cells = {}
    for level, la in (("Local authority", LA1), ("Local authority", LA2)):
        cells[(level, la, WHITE)] = (40, 400) if la == LA1 else (30, 200)
        cells[(level, la, BLACK)] = (3, 20) if la == LA1 else (12, 60)
        cells[(level, la, UNK)] = (0, 2) if la == LA1 else (1, 5)
        tot = [cells[(level, la, g)] for g in (WHITE, BLACK, UNK)]
        cells[(level, la, "Total")] = (sum(t[0] for t in tot), sum(t[1] for t in tot))
    for level, la in (("Regional", None), ("National", None)):
        for g in (WHITE, BLACK, UNK, "Total"):
            a, b = cells[("Local authority", LA1, g)], cells[("Local authority", LA2, g)]
            cells[(level, la, g)] = (a[0] + b[0], a[1] + b[1])
    return pd.DataFrame(_rows("placement_stability", "3 or more placements", cells))


def test_catalogue_measures_exist_and_unavailable_say_why():
    cat = D.catalogue()
    measures = measure_catalogue()
    for ind, spec in cat.items():
        if spec.get("available", True):
            assert spec["measure"] in measures, ind
            assert spec["kind"] in D.DP
        else:
            assert spec["reason"].strip(), ind


def test_percentage_values_and_la_suppression():
    vals = D.indicator_values(_measures(), None)
    v = vals[vals["indicator"] == "placements_3plus"]
    nat = v[(v["geographic_level"] == "National")].set_index("ethnicity_major")
    assert nat.loc[WHITE, "value"] == pytest.approx(70 / 600 * 100)
    assert nat.loc["Total", "value"] == pytest.approx(86 / 687 * 100)
    pub = D.publishable(v, 5, 10)
    la1 = pub[(pub["new_la_code"] == LA1[0])].set_index("ethnicity_major")
    # Black numerator 3: suppressed, so is its value; the unknown group (0 of 2) hides a small denominator
    assert la1.loc[BLACK, "numerator"] == "c" and la1.loc[BLACK, "value"] == "c"
    # secondary: LA1 cannot have exactly one suppressed numerator (Total = sum of groups)
    assert (la1["numerator"] == "c").sum() >= 2
    # national counts are rounded to 10, values from unrounded counts
    n = pub[pub["geographic_level"] == "National"].set_index("ethnicity_major")
    assert n.loc[WHITE, "numerator"] == "70" and n.loc[BLACK, "numerator"] == "20"
    assert n.loc[WHITE, "value"] == "12"  # 11.67% to 0 dp
    shown = pd.to_numeric(pub.loc[pub["geographic_level"] == "Local authority", "numerator"], errors="coerce")
    assert not shown.between(1, 5).any()


def test_rates_use_population_and_la_comparators():
    m = _measures().assign(measure="cla_on_31_march", breakdown="Total")
    pop = pd.DataFrame(
        {
            "time_period": 2024,
            "new_la_code": [LA1[0], LA1[0], LA2[0], LA2[0]],
            "region_code": REG[0],
            "major": ["white", "black", "white", "black"],
            "population": [20_000, 1_000, 10_000, 2_000],
        }
    )
    vals = D.indicator_values(m, pop)
    v = vals[vals["indicator"] == "cla_rate"].set_index(["geographic_level", "new_la_code", "ethnicity_major"])
    assert v.loc[("Local authority", LA2[0], BLACK), "value"] == pytest.approx(12 / 2000 * 10_000)
    nat = vals[(vals["indicator"] == "cla_rate") & (vals["geographic_level"] == "National")].set_index(
        "ethnicity_major"
    )
    assert nat.loc[BLACK, "value"] == pytest.approx(15 / 3000 * 10_000)
    assert np.isnan(nat.loc[UNK, "value"])  # no population for unknown ethnicity
    nb = pd.DataFrame({"new_la_code": [LA1[0], LA2[0]], "rank": 1, "neighbour_code": [LA2[0], LA1[0]]})
    comp = D.la_comparators(vals, nb, 2024, 5)
    pub = D.publishable(vals, 5, 10)
    pc = D.publishable_comparators(comp, pub, 5, nb)
    rate = pc[pc["indicator"] == "cla_rate"].set_index(["new_la_code", "ethnicity_major"])
    assert rate.loc[(LA1[0], BLACK), "la_value"] == "c"  # 3 children in LA1
    # England's value is its published one, made from rounded counts and the population to the nearest 10
    nat_pub = pub[(pub["indicator"] == "cla_rate") & (pub["geographic_level"] == "National")]
    assert rate.loc[(LA1[0], BLACK), "england_value"] == nat_pub.set_index("ethnicity_major").loc[BLACK, "value"]
    assert nat_pub.set_index("ethnicity_major").loc[BLACK, "value"] == "66.7"  # 20 / 3,000, not 15 / 3,000
    # neighbours: the mean of the neighbours' published values, those hidden left out
    la2 = rate.loc[(LA2[0], BLACK), "la_value"]
    if la2 == "c":
        assert rate.loc[(LA1[0], BLACK), "neighbours_value"] == "x"
        assert rate.loc[(LA1[0], BLACK), "neighbours_used"] == "0"
    else:
        assert rate.loc[(LA1[0], BLACK), "neighbours_value"] == la2
        assert rate.loc[(LA1[0], BLACK), "neighbours_used"] == "1"
    assert rate.loc[(LA2[0], BLACK), "neighbours_value"] == "x"  # LA1's only value is hidden


def test_tables_written_as_ees(tmp_path):
    vals = D.indicator_values(_measures(), None)
    pub = D.publishable(vals, 5, 10)
    paths = D.write_tables(tmp_path, pub, pd.DataFrame())
    df = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert {"time_period", "time_identifier", "geographic_level", "country_code", "indicator", "value"} <= set(
        df.columns
    )
    assert not (df[["numerator", "denominator", "value"]] == "").any().any()


def test_published_percentages_are_the_value_when_the_measures_carry_them():
    """Measures read from DfE's tables carry DfE's percentage (made before rounding): it is the value, not
    a percentage of the rounded counts; a suppressed one stays missing."""
    m = _measures()
    m = m[m["geographic_level"] == "National"].copy()
    m["percentage_published"] = m["ethnicity_major"].map({WHITE: "11.8", BLACK: "c", UNK: "0", "Total": "13"})
    nat = D.indicator_values(m, None)
    nat = nat[nat["indicator"] == "placements_3plus"].set_index("ethnicity_major")["value"]
    assert nat[WHITE] == 11.8 and nat["Total"] == 13.0 and nat[UNK] == 0.0
    assert np.isnan(nat[BLACK])
    own = D.indicator_values(m.drop(columns="percentage_published"), None)
    assert own.set_index(["indicator", "ethnicity_major"]).loc[("placements_3plus", WHITE), "value"] == pytest.approx(
        70 / 600 * 100
    )


def test_the_builds_one_la_pattern_decides_what_the_dashboard_hides():
    """A count hidden in the build's LA pattern (e.g. because another table needs it hidden) is hidden here too, and
    a pattern that holds a count with another value is refused (it would publish one count two ways)."""
    from rap.domain.la_disclosure import la_quantities, protect_la_counts

    vals = D.indicator_values(_measures(), None)
    v = vals[vals["indicator"] == "placements_3plus"]
    pattern = protect_la_counts(D.la_cells_from_values(v), la_quantities()[1], 5, 10)
    # hide one more count, LA2's White children in the denominator, as another table might need
    extra = (pattern["new_la_code"] == LA2[0]) & (pattern["group"] == WHITE)
    extra &= pattern["quantity"] == "children_looked_after"
    assert extra.sum() == 1 and (pattern.loc[extra, "suppression"] == "none").all()
    pattern.loc[extra, "suppression"] = "secondary"
    pub = D.publishable(v, 5, 10, pattern)
    la2 = pub[pub["new_la_code"] == LA2[0]].set_index("ethnicity_major")
    assert la2.loc[WHITE, "denominator"] == "c" and la2.loc[WHITE, "value"] == "c"
    hidden = pattern[pattern["suppression"] != "none"]
    la = pub[pub["geographic_level"] == "Local authority"]
    for r in hidden.itertuples():
        row = la[(la["new_la_code"] == r.new_la_code) & (la["ethnicity_major"] == r.group)].iloc[0]
        col = "numerator" if r.quantity == "three_or_more_placements" else "denominator"
        assert row[col] == "c", (r.quantity, r.new_la_code, r.group)
    wrong = pattern.copy()
    wrong.loc[extra, "value"] += 1
    with pytest.raises(ValueError, match="not in the LA suppression pattern"):
        D.publishable(v, 5, 10, wrong)
