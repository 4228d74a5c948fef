"""rap.measures on a tiny hand-built return whose every number is worked out by hand below, plus structural
properties (complete matrix, national = sum of LAs, regions) and one independent check on synthetic data.

The hand-built data (collection year 2024 = 1 April 2023 to 31 March 2024; LAs 201 and 202 are in Inner London,
805 in the North East):

LA 201  A  WBRI   3 episodes in the year (S before the year, P, P), open on 31 March  -> CLA, 3 placements
        B  REFU   2 open episodes (S 2020, L 2021), aged 12                           -> CLA once; long-term stable
        C  blank  started 1/5/2023 (S), ceased 1/12/2023 (E4A); 2 M incidents + 1 A in the year, 1 M before it
        D  XXXX   (invalid) started 31/3/2024 (S), open                                -> CLA, started
        E  BAFR   ceased on 31/3/2024 (E11)                                            -> not CLA on 31 March, ceased
        F  WBRI   short breaks only (LS V3)                                            -> excluded everywhere
LA 202  G  WBRI   OC3, aged 19, F5 / C1                                               -> EET, suitable
        H  AIND   OC3, aged 17 (birthday in December), G4 / C2                        -> NEET, unsuitable
        I  AIND   OC3, aged 18, not in touch, 0 / 0                                   -> information not known
        J  MWBC   open since 2021 (S), aged 11, OC2, school: NCYEAR 6, 1 move, KS2 R1 W1 M0
        K  MWBC   open since 2023, UPN UN1 (does not link), OC2
LA 805  L  WBRI   started 1/10/2023, school NCYEAR 11, 2 moves (1 mid-year), KS4 40.5 / EM 1, *not* in OC2
        M  OOTH   open since 2020, aged 16, OC2, school NCYEAR 11, 0 moves, KS4 30.0 / EM 0
        N  WBRI   aged 9, S 2020 then new placement (P) 1/1/2023, open                -> long-term, not stable
        O  WBRI   aged 6, S 2021 then placed for adoption (A3) 1/6/2023               -> long-term, stable (adoption)

SWEpisodes: LA 201 only (A: 3 social workers in the year, B: 1), so social_workers_3plus has rows; its figures
are checked in test_measures_dashboard.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap import measures as M
from rap.inputs.load import RecordData, read_school_years
from rap.inputs.readers.quarantine import ReadResult
from rap.inputs.readers.ssda903 import read_ssda903_years, table_columns
from rap.measures.common import TIDY_COLUMNS, group_order

Y = 2024
WB, WHITE = "White British", "White"
UNKNOWN = "Refused or information not yet available"


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    cols = table_columns()[table]
    df = pd.DataFrame([{c: r.get(c, "") for c in cols + ["LA"]} for r in rows], columns=cols + ["LA"])
    for c in ("DOB", "DECOM", "DEC", "MIS_START", "MIS_END", "DUC", "SW_DECOM", "SW_DEC"):
        if c in df.columns:
            df[c] = pd.to_datetime(df[c].replace("", None), format="%d/%m/%Y")
    df["YEAR"] = Y
    df["_file"] = 0
    df["_line"] = np.arange(2, len(df) + 2)
    return df


def _header(la, child, ethnic, dob="01/01/2010", upn=""):
    return {"LA": la, "CHILD": child, "SEX": "1", "DOB": dob, "ETHNIC": ethnic, "UPN": upn}


def _ep(la, child, decom, rne, dec="", rec="", place="U1", ls="C2"):
    return {
        "LA": la,
        "CHILD": child,
        "DECOM": decom,
        "RNE": rne,
        "DEC": dec,
        "REC": rec,
        "PLACE": place,
        "LS": ls,
        "CIN": "N1",
    }


UPN_J, UPN_L, UPN_M, UPN_A = "A123456789012", "B123456789012", "C123456789012", "D123456789012"


HEADER = [
    _header("201", "A", "WBRI", upn=UPN_A),
    _header("201", "B", "REFU", dob="01/01/2012"),
    _header("201", "C", ""),
    _header("201", "D", "XXXX"),
    _header("201", "E", "BAFR"),
    _header("201", "F", "WBRI"),
    _header("202", "G", "WBRI", dob="01/06/2004"),
    _header("202", "H", "AIND", dob="01/12/2006"),
    _header("202", "I", "AIND", dob="01/02/2006"),
    _header("202", "J", "MWBC", dob="01/09/2012", upn=UPN_J),
    _header("202", "K", "MWBC", upn="UN1"),
    _header("805", "L", "WBRI", upn=UPN_L),
    _header("805", "M", "OOTH", dob="01/01/2008", upn=UPN_M),
    _header("805", "N", "WBRI", dob="01/01/2015"),
    _header("805", "O", "WBRI", dob="01/01/2018"),
]
EPISODES = [
    _ep("201", "A", "10/01/2023", "S", "01/06/2023", "X1"),
    _ep("201", "A", "01/06/2023", "P", "01/09/2023", "X1"),
    _ep("201", "A", "01/09/2023", "P", place="U3"),
    _ep("201", "B", "01/01/2020", "S"),
    _ep("201", "B", "01/06/2021", "L"),
    _ep("201", "C", "01/05/2023", "S", "01/12/2023", "E4A"),
    _ep("201", "D", "31/03/2024", "S"),
    _ep("201", "E", "01/01/2022", "S", "31/03/2024", "E11"),
    _ep("201", "F", "01/02/2024", "S", ls="V3"),
    _ep("202", "J", "01/01/2021", "S"),
    _ep("202", "K", "01/02/2023", "S"),
    _ep("805", "L", "01/10/2023", "S"),
    _ep("805", "M", "01/01/2020", "S"),
    _ep("805", "N", "01/06/2020", "S", "01/01/2023", "X1"),
    _ep("805", "N", "01/01/2023", "P", place="U2"),
    _ep("805", "O", "01/01/2021", "S", "01/06/2023", "X1"),
    _ep("805", "O", "01/06/2023", "P", place="A3"),
]
MISSING = [
    {"LA": "201", "CHILD": "C", "MISSING": "M", "MIS_START": "01/06/2023"},
    {"LA": "201", "CHILD": "C", "MISSING": "M", "MIS_START": "01/07/2023"},
    {"LA": "201", "CHILD": "C", "MISSING": "A", "MIS_START": "01/08/2023"},
    {"LA": "201", "CHILD": "C", "MISSING": "M", "MIS_START": "01/03/2023"},  # before the year
]
OC3 = [
    {"LA": "202", "CHILD": "G", "DOB": "01/06/2004", "IN_TOUCH": "YES", "ACTIV": "F5", "ACCOM": "C1"},
    {"LA": "202", "CHILD": "H", "DOB": "01/12/2006", "IN_TOUCH": "YES", "ACTIV": "G4", "ACCOM": "C2"},
    {"LA": "202", "CHILD": "I", "DOB": "01/02/2006", "IN_TOUCH": "NO", "ACTIV": "0", "ACCOM": "0"},
]
OC2 = [{"LA": "202", "CHILD": "J"}, {"LA": "202", "CHILD": "K"}, {"LA": "805", "CHILD": "M"}]
SW_EPISODES = [  # LA 201 only: A had 3 social workers in the year, B 1; LAs 202 and 805 sent no SWEpisodes
    {"LA": "201", "CHILD": "A", "SW_ID": "SW1", "SW_DECOM": "01/01/2023", "SW_DEC": "01/06/2023"},
    {"LA": "201", "CHILD": "A", "SW_ID": "SW2", "SW_DECOM": "01/06/2023", "SW_DEC": "01/09/2023"},
    {"LA": "201", "CHILD": "A", "SW_ID": "SW3", "SW_DECOM": "01/09/2023"},
    {"LA": "201", "CHILD": "B", "SW_ID": "SW1", "SW_DECOM": "01/01/2020"},
]


def _school() -> pd.DataFrame:
    """The school extract of the tiny return: J, L and M (K's UPN is UN1 and does not link)."""
    return pd.DataFrame(
        {
            "UPN": [UPN_J, UPN_L, UPN_M],
            "LA": ["202", "805", "805"],
            "ETHNIC": ["MWBC", "WBRI", "OOTH"],
            "NCYEAR": ["6", "11", "11"],
            "SCHOOL_MOVES": pd.array([1, 2, 0], dtype="Int64"),
            "MIDYEAR_MOVES": pd.array([0, 1, 0], dtype="Int64"),
            "KS1_RWM_EXP": pd.array([None] * 3, dtype="Int8"),
            "KS2_READ_EXP": pd.array([1, None, None], dtype="Int8"),
            "KS2_WRIT_EXP": pd.array([1, None, None], dtype="Int8"),
            "KS2_MAT_EXP": pd.array([0, None, None], dtype="Int8"),
            "KS4_ATT8": [np.nan, 40.5, 30.0],
            "KS4_EM_94": pd.array([None, 1, 0], dtype="Int8"),
            "YEAR": Y,
        }
    )


def tiny() -> RecordData:
    """The hand-built return of the module docstring, as the readers would give it."""
    tables = {t: _frame(t, []) for t in table_columns()}
    tables.update(
        Header=_frame("Header", HEADER),
        Episodes=_frame("Episodes", EPISODES),
        Missing=_frame("Missing", MISSING),
        OC3=_frame("OC3", OC3),
        OC2=_frame("OC2", OC2),
        SWEpisodes=_frame("SWEpisodes", SW_EPISODES),
    )
    school = ReadResult(tables={"School": _school()})
    return RecordData(ssda903=ReadResult(tables=tables), school=school, population=None)


@pytest.fixture(scope="module")
def data():
    return tiny()


def cell(df, level="National", major="Total", minor="Total", breakdown=None, la="", region="", col="number"):
    sel = (df["geographic_level"] == level) & (df["ethnicity_major"] == major) & (df["ethnicity_minor"] == minor)
    if breakdown is not None:
        sel &= df["breakdown"] == breakdown
    if la:
        sel &= df["old_la_code"] == la
    if region:
        sel &= df["region_name"] == region
    got = df.loc[sel, col]
    assert len(got) == 1, f"expected one row, got {len(got)}"
    v = got.iloc[0]
    return None if pd.isna(v) else v


def test_cla_on_31_march_by_hand(data):
    r = M.cla_on_31_march(data, [Y])
    assert list(r.columns) == TIDY_COLUMNS
    assert (
        cell(r) == 9
    )  # A B D J K L M N O; B has two open episodes and counts once; E ended on 31 March; F short breaks
    assert cell(r, major=WHITE, minor=WB) == 4  # A L N O
    assert cell(r, major=UNKNOWN) == 2  # B (Refused) and D (invalid)
    assert cell(r, major=UNKNOWN, minor="Refused") == 1
    assert cell(r, major=UNKNOWN, minor="Invalid code") == 1
    assert cell(r, "Local authority", la="201") == 3
    assert cell(r, "Local authority", la="201", major=UNKNOWN, minor="Refused") == 1  # B once despite 2 open episodes
    assert cell(r, "Regional", region="Inner London") == 5
    assert cell(r, "Regional", region="North East") == 4
    assert cell(r, major="Other ethnic group", minor="Any other ethnic group") == 1
    assert r["denominator"].isna().all()


def test_cla_during_started_ceased_by_hand(data):
    assert cell(M.cla_during_year(data, [Y])) == 11  # the 9 + C + E
    s = M.started(data, [Y])
    assert cell(s) == 3  # C, D (on 31 March), L; A started before 1 April 2023
    assert cell(s, major=UNKNOWN, minor="Not recorded") == 1  # C, blank ETHNIC
    c = M.ceased(data, [Y])
    assert cell(c) == 2  # C (E4A) and E (E11 on 31 March); A's X1 episode ends do not count
    assert cell(c, major="Black, African, Caribbean or Black British", minor="African") == 1


def test_routes_out_of_care_by_hand(data):
    """C returned home (E4A), E was adopted (E11 on 31 March): each ceased child has one reason, the group's
    ceased children as denominator; A's X1 episode ends are no reason."""
    r = M.ceased_by_reason(data, [Y])
    assert cell(r, breakdown="Returned home to parents or others with parental responsibility") == 1
    assert cell(r, breakdown="Adopted") == 1 and cell(r, breakdown="Special guardianship order") == 0
    assert cell(r, breakdown="Adopted", col="denominator") == 2
    black = "Black, African, Caribbean or Black British"
    assert cell(r, major=black, minor="African", breakdown="Adopted") == 1
    assert cell(r, major=black, minor="African", breakdown="Adopted", col="denominator") == 1
    assert set(r["breakdown"]) == set(M.catalogue()["ceased_by_reason"]["breakdowns"])
    a = M.adopted(data, [Y])
    assert cell(a) == 1 and cell(a, major=black, minor="African") == 1 and cell(a, major="White") == 0


def test_a_reason_code_in_no_group_is_an_error_naming_it():
    from rap.measures.leaving_care import _group_of

    with pytest.raises(ValueError, match="E99"):
        _group_of(pd.Series(["E11", "E99"]))
    from rap.domain.ssda903 import spec

    every = {c for v in spec()["codelists"]["REC"] for c in v["codes"]} - {"X1"}  # what the readers let through
    assert len(_group_of(pd.Series(sorted(every)))) == len(every)


def test_missing_by_hand(data):
    r = M.missing(data, [Y])
    assert cell(r, breakdown="Children who went missing") == 1
    assert cell(r, breakdown="Children who went missing", col="denominator") == 11
    assert cell(r, breakdown="Incidents") == 2  # the incident of March 2023 is in the previous year
    assert cell(r, breakdown="Incidents", col="denominator") is None
    assert cell(r, breakdown="Away without authorisation") == 1
    assert cell(r, major=UNKNOWN, minor="Not recorded", breakdown="Incidents") == 2


def test_placement_stability_by_hand(data):
    r = M.placement_stability(data, [Y])
    assert cell(r) == 1  # A: 3 placements
    assert cell(r, col="denominator") == 9
    lt = M.long_term_stability(data, [Y])
    assert cell(lt, col="denominator") == 4  # B J N O (M is 16; others in care under 2.5 years)
    assert cell(lt) == 3  # B (L episode keeps the placement), J, O (adoption + previous placement); not N


def test_school_stability_by_hand(data):
    r = M.school_stability(data, [Y])
    assert cell(r, breakdown="At least one school move", col="denominator") == 3  # J L M; K (UN1) and A do not link
    assert cell(r, breakdown="At least one school move") == 2
    assert cell(r, breakdown="Mid-year school move") == 1


def test_care_leavers_by_hand(data):
    r = M.care_leavers(data, [Y])
    eet = r[r["measure"] == "care_leavers_eet"]
    acc = r[r["measure"] == "care_leavers_accommodation"]
    assert (cell(eet, breakdown="19 to 21"), cell(eet, breakdown="19 to 21", col="denominator")) == (1, 1)
    assert (cell(eet, breakdown="17 to 18"), cell(eet, breakdown="17 to 18", col="denominator")) == (0, 2)
    assert (cell(acc, breakdown="19 to 21"), cell(acc, breakdown="17 to 18")) == (1, 0)
    act = r[r["measure"] == "care_leavers_activity"]
    assert cell(act, breakdown="17 years: Not in education, employment or training") == 1
    assert cell(act, breakdown="18 years: Information not known") == 1
    assert cell(act, breakdown="19 to 21 years: In training or employment (excl. apprenticeship)") == 1
    assert cell(act, major="Asian or Asian British", minor="Indian", breakdown="17 years: Total care leavers") == 1


def test_outcomes_by_hand(data):
    r = M.outcomes(data, [Y])
    get = lambda m, col="number": cell(r[r["measure"] == m], col=col)  # noqa: E731
    assert (get("ks2_reading_expected"), get("ks2_reading_expected", "denominator")) == (1, 1)
    assert (get("ks2_maths_expected"), get("ks2_rwm_expected"), get("ks2_rwm_expected", "denominator")) == (0, 0, 1)
    assert (get("ks4_em_94"), get("ks4_em_94", "denominator")) == (0, 1)  # L is not in OC2
    assert (get("ks4_attainment8", "points_total"), get("ks4_attainment8", "pupils")) == (30.0, 1)
    assert "ks1_rwm_expected" not in set(r["measure"])  # KS1 ends in 2023


def _all(data):
    return pd.concat([f(data, [Y]) for f in M.FUNCTIONS.values()], ignore_index=True)


def test_matrix_complete_and_sums(data):
    r = _all(data)
    groups = group_order()
    las = {"201", "202", "805"}
    for (m, b), g in r.groupby(["measure", "breakdown"]):
        la = g[g["geographic_level"] == "Local authority"]
        assert set(la["old_la_code"]) == las
        for code, x in la.groupby("old_la_code"):
            assert list(zip(x["ethnicity_major"], x["ethnicity_minor"])) == groups, (m, b, code)
        assert len(g[g["geographic_level"] == "National"]) == len(groups)
        assert set(g.loc[g["geographic_level"] == "Regional", "region_name"]) == {"Inner London", "North East"}
    for col in ("number", "denominator", "pupils", "points_total"):
        keys = ["measure", "breakdown", "ethnicity_major", "ethnicity_minor"]
        la = r[r["geographic_level"] == "Local authority"].groupby(keys)[col].sum(min_count=1)
        nat = r[r["geographic_level"] == "National"].set_index(keys)[col]
        pd.testing.assert_series_equal(la.sort_index(), nat.sort_index(), check_names=False, check_dtype=False)
        reg = r[r["geographic_level"] == "Regional"].groupby(keys + ["region_name"])[col].sum(min_count=1)
        la_reg = r[r["geographic_level"] == "Local authority"].groupby(keys + ["region_name"])[col].sum(min_count=1)
        pd.testing.assert_series_equal(reg.sort_index(), la_reg.sort_index(), check_names=False, check_dtype=False)
    # subtotals: minors add to their major, majors add to the total
    nat = r[r["geographic_level"] == "National"]
    minors = nat[nat["ethnicity_minor"] != "Total"].groupby(["measure", "breakdown", "ethnicity_major"])["number"].sum()
    majors = (
        nat[(nat["ethnicity_minor"] == "Total") & (nat["ethnicity_major"] != "Total")]
        .set_index(["measure", "breakdown", "ethnicity_major"])["number"]
        .fillna(0)
    )
    pd.testing.assert_series_equal(minors.sort_index(), majors.sort_index(), check_names=False, check_dtype=False)


def test_years_filter(data):
    assert M.cla_on_31_march(data, [2023]).empty  # no 2023 return
    assert set(M.cla_on_31_march(data, [2023, Y])["time_period"]) == {Y}


def test_catalogue_covers_every_measure(data):
    # KS1 ends in 2023; re-entry needs the previous year's return, which the hand-built data lack
    ids = set(_all(data)["measure"]) | {"ks1_rwm_expected", "reentered_within_12_months"}
    assert ids == set(M.catalogue())
    assert all(M.catalogue()[m]["function"] in M.FUNCTIONS for m in ids)


# ------------------------------------------------------------------------------------------------
# Synthetic data: an independent count with plain pandas


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from rap.core.params import load_params
    from rap.inputs.load import ensure_data

    repo = Path(__file__).resolve().parents[1]
    root = tmp_path_factory.mktemp("msyn")
    params = load_params(repo / "params" / "2024.yaml", synth={"scale": "small"}, data={"path": str(root / "syn")})
    path = ensure_data(params)
    years = params.series_years
    return RecordData(
        ssda903=read_ssda903_years(path / "ssda903", years),
        school=read_school_years(path / "school", years),
        population=None,
    ), years


def test_synthetic_cla_on_31_march_matches_plain_pandas(synthetic):
    data, years = synthetic
    r = M.cla_on_31_march(data, years)
    ep = data.ssda903["Episodes"]
    for y in years:
        e = ep[(ep["YEAR"] == y) & ~ep["LS"].isin(["V3", "V4"])]
        end = pd.Timestamp(f"{y}-03-31")
        open_ = e[(e["DECOM"] <= end) & (e["DEC"].isna() | (e["DEC"] > end))]
        expected = len(open_[["LA", "CHILD"]].drop_duplicates())
        got = cell(r[r["time_period"] == y])
        assert got == expected and expected > 0
        # and per LA
        per_la = open_.drop_duplicates(["LA", "CHILD"]).groupby("LA").size()
        la = r[
            (r["time_period"] == y) & (r["geographic_level"] == "Local authority") & (r["ethnicity_major"] == "Total")
        ].set_index("old_la_code")["number"]
        assert (la.reindex(per_la.index) == per_la).all()


def test_compute_shares_results_through_the_cache(tmp_path, monkeypatch):
    """A second section asking for the same measures loads them instead of recomputing; a lock held by
    another process makes it do the other measures first and wait for that one at the end."""
    import fcntl
    import threading
    import time
    from types import SimpleNamespace

    import pandas as pd

    from rap import measures as M
    from rap.measures.store import cache_dir

    calls: list[str] = []

    def fake(name):
        def f(data, years):
            calls.append(name)
            return pd.DataFrame({"measure": [name], "time_period": [years[-1]]})

        return f

    monkeypatch.setattr(M, "FUNCTIONS", {n: fake(n) for n in ("a", "b", "c")})
    data = SimpleNamespace(cache_key="k1", cache_root=tmp_path)
    first = M.compute(data, [2024])
    assert calls == ["a", "b", "c"] and first["measure"].tolist() == ["a", "b", "c"]
    again = M.compute(data, [2024], ["c", "a"])
    assert calls == ["a", "b", "c"]  # nothing recomputed
    assert again["measure"].tolist() == ["c", "a"]
    # another key (other inputs) recomputes
    M.compute(SimpleNamespace(cache_key="k2", cache_root=tmp_path), [2024], ["a"])
    assert calls[-1] == "a" and len(calls) == 4
    # a held lock: the others are done first, the locked one after it is released
    calls.clear()
    data3 = SimpleNamespace(cache_key="k3", cache_root=tmp_path)
    folder = cache_dir(data3, [2024])
    folder.mkdir(parents=True)
    lock = open(folder / "a.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    threading.Timer(0.3, lambda: (fcntl.flock(lock, fcntl.LOCK_UN), lock.close())).start()
    t = time.perf_counter()
    out = M.compute(data3, [2024])
    assert time.perf_counter() - t >= 0.25
    assert calls == ["b", "c", "a"] and out["measure"].tolist() == ["a", "b", "c"]
    # no cache key: plain computation, nothing written
    calls.clear()
    M.compute(SimpleNamespace(), [2024], ["b"])
    assert calls == ["b"]
