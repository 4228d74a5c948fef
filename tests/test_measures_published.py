"""Published mode: the national tables by ethnicity of DfE's 2024 release come out of
``rap.measures.from_published`` with DfE's numbers and percentages exactly as published.

Fixtures: tests/fixtures/published_2024/ (copies of files of DfE's 2024 release; SOURCE.md).
The expected values below are typed in from the published CSVs, so a change in reading, label mapping or
matrix completion that moves any of them fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rap.inputs.readers.ees import ees_files, read_ees_table
from rap.measures import from_published
from rap.measures.common import group_order

FIX = Path(__file__).parent / "fixtures" / "published_2024"
WB = ("White", "White British")
TOT = ("Total", "Total")


@pytest.fixture(scope="module")
def pub() -> pd.DataFrame:
    tables = {}
    for name, table in ees_files()["releases"][2024].items():
        if (FIX / name).is_file():
            df = read_ees_table(FIX / name, table, 2024)
            tables[table] = pd.concat([tables[table], df]) if table in tables else df
    return from_published(tables, 2024)


def row(df, measure, group, breakdown="Total"):
    sel = (
        (df["measure"] == measure)
        & (df["ethnicity_major"] == group[0])
        & (df["ethnicity_minor"] == group[1])
        & (df["breakdown"] == breakdown)
    )
    got = df[sel]
    assert len(got) == 1
    return got.iloc[0]


def num(df, measure, group, breakdown="Total"):
    v = row(df, measure, group, breakdown)["number"]
    return None if pd.isna(v) else int(v)


def test_cla_on_31_march_as_published(pub):
    expected = {
        TOT: (83630, 100),
        ("White", "Total"): (59340, 71),
        WB: (55140, 66),
        ("Mixed or Multiple ethnic groups", "Total"): (8920, 11),
        ("Asian or Asian British", "Total"): (4420, 5),
        ("Black, African, Caribbean or Black British", "Total"): (6230, 7),
        ("Other ethnic group", "Total"): (3910, 5),
        ("Refused or information not yet available", "Total"): (800, 1),
        ("Refused or information not yet available", "Information not yet obtained"): (680, 1),
        ("Black, African, Caribbean or Black British", "African"): (3670, 4),
    }
    for g, (n, p) in expected.items():
        r = row(pub, "cla_on_31_march", g)
        assert (int(r["number"]), float(r["percentage_published"])) == (n, p), g
        assert int(r["denominator"]) == 83630
    # a percentage published as k (under 0.5%) keeps its symbol, is never 0
    irish = row(pub, "cla_on_31_march", ("White", "White Irish"))
    assert int(irish["number"]) == 180 and irish["percentage_symbol"] == "k" and pd.isna(irish["percentage_published"])


def test_missing_and_away_as_published(pub):
    assert num(pub, "missing", TOT, "Children who went missing") == 13010
    assert num(pub, "missing", WB, "Children who went missing") == 7790
    assert (
        num(
            pub,
            "missing",
            ("Mixed or Multiple ethnic groups", "White and Black Caribbean"),
            "Children who went missing",
        )
        == 520
    )
    # denominator: looked after during the year, from the same release
    assert int(row(pub, "missing", TOT, "Children who went missing")["denominator"]) == 116420
    away = pub[(pub["measure"] == "missing") & (pub["breakdown"] == "Away without authorisation")]
    raw = pd.read_csv(FIX / "official_statistics_cla_who_were_away_without_authorisation.csv", dtype=str)
    raw = raw[(raw["time_period"] == "2024") & raw["missing_status"].str.contains("by ethnic origin")]
    total = raw.loc[raw["characteristic"].str.startswith("Total children"), "number"].iloc[0]
    wb = raw.loc[raw["characteristic"] == "1a. White British", "number"].iloc[0]
    assert num(away, "missing", TOT, "Away without authorisation") == int(total)
    assert num(away, "missing", WB, "Away without authorisation") == int(wb)


def test_placement_stability_as_published(pub):
    r = row(pub, "placement_stability", TOT, "3 or more placements")
    assert (int(r["number"]), int(r["denominator"]), float(r["percentage_published"])) == (8690, 83630, 10)
    r = row(pub, "placement_stability", WB, "3 or more placements")
    assert (int(r["number"]), int(r["denominator"]), float(r["percentage_published"])) == (5860, 55140, 11)
    r = row(pub, "placement_stability", ("Asian or Asian British", "Chinese"), "3 or more placements")
    assert r["symbol"] == "c" and pd.isna(r["number"])  # suppressed: symbol kept, never 0


def test_care_leavers_as_published(pub):
    raw = pd.read_csv(
        FIX / "national_activity_of_care_leaver_by_placement_ethnicity.csv", dtype=str, encoding="utf-8-sig"
    )
    raw = raw[(raw["time_period"] == "2024") & (raw["cla_group"] == "Ethnicity")]
    ages = {"17 years": "17 years", "18 years": "18 years", "19to21 years": "19 to 21 years"}
    raw = raw[raw["care_leaver_age"].isin(ages)]
    cl = pub[pub["measure"] == "care_leavers_activity"]
    checked = 0
    labels = {
        "Total ethnicity": TOT,
        "Total White": ("White", "Total"),
        "Total Black, African, Caribbean or Black British": ("Black, African, Caribbean or Black British", "Total"),
    }
    for _, x in raw[raw["characteristic"].isin(labels)].iterrows():
        r = row(
            cl,
            "care_leavers_activity",
            labels[x["characteristic"]],
            f"{ages[x['care_leaver_age']]}: {x['activity_type']}",
        )
        for col, pcol, sym in (
            ("number", "number", "symbol"),
            ("percentage", "percentage_published", "percentage_symbol"),
        ):
            if x[col] in ("c", "k", "x", "z", "low", "u"):
                assert r[sym] == x[col] and pd.isna(r[pcol])
            else:
                assert float(r[pcol]) == float(x[col])
        checked += 1
    assert checked >= 60
    # a spot value typed in: all care leavers aged 19 to 21 who were NEET
    r = row(cl, "care_leavers_activity", TOT, "19 to 21 years: Not in education, employment or training")
    assert int(r["number"]) == int(
        raw[
            (raw["characteristic"] == "Total ethnicity")
            & (raw["care_leaver_age"] == "19to21 years")
            & (raw["activity_type"] == "Not in education, employment or training")
        ]["number"].iloc[0]
    )


def test_published_matrix_complete(pub):
    for (m, b), g in pub.groupby(["measure", "breakdown"]):
        assert list(zip(g["ethnicity_major"], g["ethnicity_minor"])) == group_order(), (m, b)
    # cells DfE does not publish are 'x', not 0 and not blank
    nr = pub[pub["ethnicity_minor"] == "Not recorded"]
    assert (nr["symbol"] == "x").all() and nr["number"].isna().all()
    assert not ((pub["number"] == 0) & pub["symbol"].notna()).any()


def _dfe_by_ethnicity(name: str, group: str) -> dict[str, int]:
    """DfE's national 2024 numbers by major group (and Total) of one of its one-way tables, read from the file."""
    df = pd.read_csv(FIX / name, dtype=str)
    df = df[(df["time_period"] == "2024") & (df["geographic_level"] == "National") & (df["cla_group"] == group)]
    return dict(zip(df["characteristic"], df["number"]))


@pytest.mark.parametrize(
    ("measure", "name", "group"),
    [
        ("adopted", "national_cla_who_were_adopted_during_the_year.csv", "Ethnic origin"),
        ("started", "national_cla_started_to_be_looked_after.csv", "Ethnicity"),
        ("ceased", "national_children_who_ceased_to_be_looked_after_during_the_year.csv", "Ethnicity"),
    ],
)
def test_one_way_counts_of_children_as_published(pub, measure, name, group):
    """Children adopted, who started and who ceased by ethnic group: DfE's numbers exactly, every major group and
    the total (issue 16: adopted_by_ethnicity equals DfE's adopted-by-ethnic-origin numbers)."""
    dfe = _dfe_by_ethnicity(name, group)
    majors = [g for g in group_order() if g[1] == "Total" and g[0] not in ("Not recorded", "Invalid code")]
    seen = 0
    for major, _ in majors:
        label = next((k for k in dfe if k.lstrip("0123456789. ").removeprefix("Total ").lower().startswith(
            major.lower()[:12])), None)  # fmt: skip
        if label is None or not dfe[label].isdigit():
            continue
        r = row(pub, measure, (major, "Total"))
        assert int(r["number"]) == int(dfe[label]), (measure, major)
        seen += 1
    assert seen >= 6, (measure, sorted(dfe))
    if measure == "adopted":
        assert num(pub, "adopted", ("White", "Total")) == 2490 and num(pub, "adopted", TOT) == 2980
