"""Adoption timeliness, children waiting with a placement order and re-entry to care, on a hand-built pair of
returns whose every figure is worked out below, plus disclosure control of the averages and a synthetic run.

Collection years 2023 and 2024 (2024 = 1 April 2023 to 31 March 2024). LAs 201 and 202 are in Inner London, 805
in the North East.

Adopted in 2024 (stage days by hand):
  P  WBRI 201  born 1/1/2020; care from 1/1/2022 (2023 return) -> E1 1/7/2023 -> A3 1/9/2023 -> E11 1/3/2024;
               AD1 decision 1/1/2023, match 15/8/2023. Age 1521 days; entry-decision 365; decision-order 181;
               order-match 45; match-placed 17; placed-adopted 182; entry-adopted 790.
  Q  WBRI 202  born 1/1/2021; care from 1/4/2023; E1 and A4 from 1/6/2023 -> E12 1/2/2024; AD1 decision 1/5/2023,
               match 20/5/2023 (before the order: order-match is left out for Q). Age 1126; entry-adopted 306.
Placement order on 31 March 2024 (LA 805):
  R  MWBC  E1 from 1/10/2023, foster placement, decision 1/9/2023 not ceased -> waiting 182 days
  S  WBRI  E1, placed for adoption (A5)                                       -> not waiting
  T  WBRI  E1, foster placement, decision reversed 1/2/2024                   -> not waiting
Starters in 2024: Q (never looked after before), U (ceased 1/12/2022, back 1/11/2023: 11 months -> counted),
  V (ceased 1/10/2022, back 1/11/2023: 13 months -> not), W (ceased 1/5/2023 and back 1/8/2023 in the same
  return -> counted); a start before the year (S, T) is not a start.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rap.core.params import load_params
from rap.domain.disclosure import C
from rap.inputs.load import RecordData
from rap.inputs.readers.quarantine import ReadResult
from rap.inputs.readers.ssda903 import table_columns
from rap.measures import adoption as A
from rap.sections import adoption_timeliness as T

REPO = Path(__file__).resolve().parents[1]
DATES = ("DOB", "DECOM", "DEC", "DATE_INT", "DATE_MATCH", "DATE_PLACED", "DATE_PLACED_CEASED")
AGE, ENTRY_ADOPTED, ORDER_MATCH = (
    "Age at adoption",
    "Entry into care to adoption",
    "Placement order to matching with adopters",
)
WB = "White British"


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    cols = table_columns()[table]
    df = pd.DataFrame([{c: r.get(c, "") for c in [*cols, "LA", "YEAR"]} for r in rows], columns=[*cols, "LA", "YEAR"])
    for c in DATES:
        if c in df.columns:
            df[c] = pd.to_datetime(df[c].replace("", None), format="%d/%m/%Y")
    df["YEAR"] = df["YEAR"].astype("int64")
    df["_file"], df["_line"] = 0, np.arange(2, len(df) + 2)
    return df


def _ep(year, la, child, decom, rne, dec="", rec="", place="U1", ls="C2"):
    return dict(YEAR=year, LA=la, CHILD=child, DECOM=decom, RNE=rne, DEC=dec, REC=rec, PLACE=place, LS=ls, CIN="N1")


CHILDREN = {  # child: (LA, ETHNIC, DOB)
    "P": ("201", "WBRI", "01/01/2020"),
    "Q": ("202", "WBRI", "01/01/2021"),
    "R": ("805", "MWBC", "01/01/2019"),
    "S": ("805", "WBRI", "01/01/2019"),
    "T": ("805", "WBRI", "01/01/2019"),
    "U": ("201", "WBRI", "01/01/2015"),
    "V": ("201", "WBRI", "01/01/2015"),
    "W": ("201", "WBRI", "01/01/2015"),
}
EPISODES = [
    _ep(2023, "201", "P", "01/01/2022", "S"),
    _ep(2024, "201", "P", "01/01/2022", "S", "01/07/2023", "X1"),
    _ep(2024, "201", "P", "01/07/2023", "L", "01/09/2023", "X1", ls="E1"),
    _ep(2024, "201", "P", "01/09/2023", "P", "01/03/2024", "E11", place="A3", ls="E1"),
    _ep(2024, "202", "Q", "01/04/2023", "S", "01/06/2023", "X1"),
    _ep(2024, "202", "Q", "01/06/2023", "L", "01/02/2024", "E12", place="A4", ls="E1"),
    _ep(2023, "805", "R", "01/01/2023", "S"),
    _ep(2024, "805", "R", "01/01/2023", "S", "01/10/2023", "X1"),
    _ep(2024, "805", "R", "01/10/2023", "L", ls="E1"),
    _ep(2024, "805", "S", "01/06/2022", "S", place="A5", ls="E1"),
    _ep(2024, "805", "T", "01/06/2022", "S", ls="E1"),
    _ep(2023, "201", "U", "01/05/2022", "S", "01/12/2022", "E4A"),
    _ep(2024, "201", "U", "01/11/2023", "S"),
    _ep(2023, "201", "V", "01/01/2022", "S", "01/10/2022", "E4A"),
    _ep(2024, "201", "V", "01/11/2023", "S"),
    _ep(2024, "201", "W", "01/01/2023", "S", "01/05/2023", "E4B"),
    _ep(2024, "201", "W", "01/08/2023", "S"),
]
AD1 = [
    dict(YEAR=2024, LA="201", CHILD="P", DOB="01/01/2020", DATE_INT="01/01/2023", DATE_MATCH="15/08/2023"),
    dict(YEAR=2024, LA="202", CHILD="Q", DOB="01/01/2021", DATE_INT="01/05/2023", DATE_MATCH="20/05/2023"),
]
PLACED = [
    dict(YEAR=2024, LA="805", CHILD="R", DOB="01/01/2019", DATE_PLACED="01/09/2023"),
    dict(YEAR=2024, LA="805", CHILD="S", DOB="01/01/2019", DATE_PLACED="01/09/2023"),
    dict(YEAR=2024, LA="805", CHILD="T", DOB="01/01/2019", DATE_PLACED="01/11/2023", DATE_PLACED_CEASED="01/02/2024"),
]


def _header() -> list[dict]:
    in_return = {(e["YEAR"], e["CHILD"]) for e in EPISODES}
    return [
        dict(YEAR=y, LA=la, CHILD=c, SEX="1", DOB=dob, ETHNIC=eth, UPN="")
        for (y, c) in sorted(in_return)
        for la, eth, dob in [CHILDREN[c]]
    ]


@pytest.fixture(scope="module")
def data() -> RecordData:
    tables = {t: _frame(t, []) for t in table_columns()}
    tables.update(
        Header=_frame("Header", _header()),
        Episodes=_frame("Episodes", EPISODES),
        AD1=_frame("AD1", AD1),
        PlacedAdoption=_frame("PlacedAdoption", PLACED),
    )
    return RecordData(ssda903=ReadResult(tables=tables), school=ReadResult(tables={}), population=None)


def _at(df, stage=None, level="National", major="Total", minor="Total", col="children", year=2024, region=""):
    sel = (df["time_period"] == year) & (df["geographic_level"] == level) & (df["region_name"] == region)
    sel &= (df["ethnicity_major"] == major) & (df["ethnicity_minor"] == minor)
    if stage is not None:
        sel &= df["breakdown"] == stage
    got = df.loc[sel, col]
    assert len(got) == 1
    return got.iloc[0]


def test_stage_days_by_hand(data):
    days = A.stage_days(A.adoption_events(data, [2024])).set_index(["CHILD", "breakdown"])["days"]
    expected_p = [1521, 365, 181, 45, 226, 17, 608, 182, 790]
    assert [days[("P", s)] for s in A.stage_labels()] == expected_p
    assert days[("Q", AGE)] == 1126 and days[("Q", ENTRY_ADOPTED)] == 306
    assert ("Q", ORDER_MATCH) not in days.index  # match before the order: a date is wrong, the stage is left out


def test_averages_spread_and_interval_by_hand(data):
    r = A.adoption_timeliness(data, [2024])
    assert list(r.columns) == A.AVERAGE_COLUMNS
    age = np.array([1521.0, 1126.0])
    half = stats.t.ppf(0.975, 1) * age.std(ddof=1) / np.sqrt(2)
    assert _at(r, AGE) == 2 and _at(r, AGE, col="mean") == pytest.approx(1323.5)
    assert _at(r, AGE, col="sd") == pytest.approx(age.std(ddof=1))
    assert _at(r, AGE, col="lower_95") == pytest.approx(1323.5 - half)
    assert _at(r, AGE, col="upper_95") == pytest.approx(1323.5 + half)
    assert _at(r, ENTRY_ADOPTED, col="mean") == pytest.approx(548.0)
    assert _at(r, ORDER_MATCH) == 1 and np.isnan(_at(r, ORDER_MATCH, col="sd"))  # one child: no spread
    assert _at(r, AGE, level="Regional", region="Inner London", col="mean") == pytest.approx(1323.5)  # both there
    assert _at(r, AGE, level="Regional", region="North East") == 0
    assert _at(r, AGE, major="White", minor=WB) == 2


def test_placement_order_not_yet_placed_and_wait_by_hand(data):
    r = A.placement_order_not_placed(data, [2024])
    assert (_at(r, col="number"), _at(r, col="denominator")) == (1, 3)  # R of R, S (placed), T (reversed)
    assert _at(r, major="Mixed or Multiple ethnic groups", col="number") == 1
    w = A.placement_order_waiting(data, [2024])
    assert _at(w) == 1 and _at(w, col="mean") == pytest.approx(182.0)


def test_reentry_within_12_months_counts_11_months_not_13(data):
    r = A.reentered_within_12_months(data, [2023, 2024])
    assert set(r["time_period"]) == {2024}  # no 2022 return: 2023 cannot be judged
    assert (_at(r, col="number"), _at(r, col="denominator")) == (2, 4)  # U and W of Q, U, V, W
    la = r[(r["geographic_level"] == "Local authority") & (r["ethnicity_major"] == "Total")].set_index("old_la_code")
    assert (la.at["201", "number"], la.at["201", "denominator"], la.at["202", "number"]) == (2, 3, 0)


# ------------------------------------------------------------------------------- disclosure control


@pytest.fixture(scope="module")
def params():
    return load_params(REPO / "params" / "2024.yaml")


def _averages(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = []
    for (major, minor), n in counts.items():
        rows.append(
            dict(measure="adoption_timeliness", time_period=2024, geographic_level="National", region_code="",
                 region_name="", old_la_code="", new_la_code="", la_name="", ethnicity_major=major,
                 ethnicity_minor=minor, breakdown=AGE, children=n, mean=1000.0 + n, sd=100.0 if n > 1 else np.nan,
                 lower_95=900.0, upper_95=1100.0)
        )  # fmt: skip
    return pd.DataFrame(rows)[A.AVERAGE_COLUMNS]


def test_an_average_of_threshold_children_or_fewer_is_c(params):
    thr = params.suppression.threshold
    t = T.average_table(
        _averages({("Total", "Total"): 300, ("White", "Total"): 300, ("White", WB): 300 - thr - 20,
                   ("White", "White Irish"): thr, ("White", "Any other White background"): 20,
                   ("Mixed or Multiple ethnic groups", "Total"): 0}),
        params,
    ).set_index("ethnicity_minor")  # fmt: skip
    cols = ["average_days", "average_years_months", "sd_days", "average_lower_95", "average_upper_95"]
    assert (t.loc["White Irish", cols] == C).all() and t.at["White Irish", "number"] == C
    # the lone c beside its major's average: the smallest other group is c too (its count stays published)
    assert (t.loc["Any other White background", cols] == C).all()
    assert t.at["Any other White background", "number"] == 20
    assert t.at[WB, "average_days"] == 1000 + 300 - thr - 20 and t.iloc[0]["average_years_months"] != C
    assert t.iloc[-1]["average_days"] == C  # no children: c like the count, never 0 or blank
    one = T.average_table(_averages({("Total", "Total"): thr + 1}), params).iloc[0]
    assert one["average_days"] == 1000 + thr + 1  # above the threshold: published
    assert T.years_months(3 * 365.25 + 3 * 365.25 / 12) == "03:03"


def test_written_tables_hold_no_child_level_value(data, params, tmp_path):
    table = T.average_table(A.average_measures(data, [2023, 2024]), params)
    paths = T.write_tables(table, tmp_path)
    assert sorted(p.name for p in paths) == [
        "adoption_timeliness_by_ethnicity.csv",
        "placement_order_waiting_by_ethnicity.csv",
    ]
    for p in paths:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        assert not {"CHILD", "DOB", "UPN", "HOME_POST", "PL_POST"} & {c.upper() for c in df.columns}
        values = set(df.to_numpy().ravel())
        assert not values & set(CHILDREN), p.name
        assert not any(d in v for v in values for d in ("2020-01-01", "01/01/2020", "2021-01-01", "01/01/2021"))
        # two children, one child or none in every group: every average is c
        assert set(df["average_days"]) == {C}
        assert p.with_name(p.stem + ".meta.csv").is_file()


# ---------------------------------------------------------------------------------- synthetic run


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from rap.inputs.load import ensure_data, read_school_years
    from rap.inputs.readers.ssda903 import read_ssda903_years

    root = tmp_path_factory.mktemp("adoptsyn")
    p = load_params(REPO / "params" / "2024.yaml", synth={"scale": "small"}, data={"path": str(root / "syn")})
    path = ensure_data(p)
    years = p.series_years
    data = RecordData(
        ssda903=read_ssda903_years(path / "ssda903", years),
        school=read_school_years(path / "school", years),
        population=None,
    )
    return data, p


def test_synthetic_averages_are_plausible_and_written_safely(synthetic, tmp_path):
    data, p = synthetic
    av = A.average_measures(data, p.series_years)
    age = _at(av, AGE, col="mean") / 365.25
    assert 2 <= age <= 5  # DfE 2024: 3 years 3 months
    assert 1 <= _at(av, ENTRY_ADOPTED, col="mean") / 365.25 <= 4  # DfE 2025: 2 years 5 months
    assert _at(av, AGE) > p.suppression.threshold
    assert _at(av, AGE, col="lower_95") < _at(av, AGE, col="mean") < _at(av, AGE, col="upper_95")
    w = av[av["measure"] == "placement_order_waiting"]
    assert _at(w) > 0 and _at(w, col="mean") > 0
    counts = A.placement_order_not_placed(data, p.series_years)
    assert _at(counts, col="number") == _at(w)  # every waiting child has a placement order date
    published = T.average_table(av, p)
    ids = set(data.ssda903["Header"]["CHILD"].astype(str))
    for path in T.write_tables(published, tmp_path):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert not set(df.to_numpy().ravel()) & ids
        n = pd.to_numeric(df["number"], errors="coerce")
        assert (df.loc[n.isna(), "average_days"] == C).all()  # no average where the count is c
        assert (n.dropna() % p.suppression.rounding_base == 0).all()


def test_synthetic_reentry_denominator_is_the_starters(synthetic):
    from rap.measures import started

    data, p = synthetic
    r = A.reentered_within_12_months(data, p.series_years)
    s = started(data, p.series_years)
    assert set(r["time_period"]) == set(p.series_years[1:])
    for y in p.series_years[1:]:
        assert _at(r, col="denominator", year=y) == _at(s, col="number", year=y)


def _published(cells: dict[str, tuple]) -> pd.DataFrame:
    """England rows of a published averages table: group -> (number, days, lower, upper)."""
    rows = []
    for g, (n, d, lo, hi) in cells.items():
        major, minor = ("White", WB) if g == WB else (g, "Total")
        rows.append(dict(measure="adoption_timeliness", time_period=2024, geographic_level="National",
                         region_name="", ethnicity_major=major, ethnicity_minor=minor, stage=ENTRY_ADOPTED,
                         number=n, average_days=d, average_years_months=T.years_months(d) if d != C else C,
                         average_lower_95=lo, average_upper_95=hi))  # fmt: skip
    return pd.DataFrame(rows)


def test_sentences_name_only_groups_whose_intervals_do_not_overlap_white_british():
    black, asian = "Black, African, Caribbean or Black British", "Asian or Asian British"
    t = _published({"Total": (500, 700, 680, 720), WB: (300, 650, 630, 670), black: (40, 800, 700, 900),
                    asian: (30, 690, 640, 740), "Mixed or Multiple ethnic groups": ("c", C, C, C)})  # fmt: skip
    s = T.difference_sentences(t, 2024)
    assert s[1] == f"{ENTRY_ADOPTED}: longer for {black} children than for White British children."
    assert len(s) == 2 and asian not in s[1] and "Mixed" not in s[1]
    t.loc[t["ethnicity_major"] == black, "average_lower_95"] = 660  # overlaps 630 to 670: no claim
    assert T.difference_sentences(t, 2024)[0].startswith("No major group")
