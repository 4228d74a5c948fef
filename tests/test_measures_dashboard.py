"""The Children's Social Care Dashboard measures (placement type, 20 miles, UASC, social workers) on a small
hand-built return whose every number is worked out by hand below.

Collection year 2024 (1 April 2023 to 31 March 2024); LA 201 is in Inner London, 805 in the North East. A 2023
return (child K only) is there to show that years before SWEpisodes existed give no rows.

LA 201  A  WBRI  S 1/5/2023, U1, open               -> CLA, started; Foster; home aa1 1aa -> BB1 1BB 32,186 m (under)
                 UASC, DUC blank                     -> UASC on 31 March, UASC started
                 SW1 (to 1/6/2023), SW2, " sw2 "     -> 2 social workers (SW2 twice, spacing/case differ)
        B  BAFR  S 2022, K2, open                   -> CLA; Secure/children's homes; 32,187 m (over)
                 UASC, DUC 1/6/2024                  -> UASC on 31 March (DUC after 31 March)
                 SW1 (ended 31/3/2023), SW3, SW4, SW5 -> 3 social workers in the year
        C  WBRI  S 2020 K1 open AND P 1/6/2023 H5 open (two open episodes) -> CLA once, as H5: Independent;
                 H5 placement DD1 1DD is 100 km away (the K1 one would be 0) -> over
                 UASC, DUC 1/2/2024                  -> not UASC on 31 March
                 SW1, SW2, SW3 (SW3 from 1/4/2024)   -> 2 in the year
        D  AIND  S 2023, PLACE XX (unknown), open   -> Placement type not known; HOME_POST blank -> distance not known
                 UASC, DUC 31/3/2024                 -> not UASC on 31 March (ceased that day)
        E  WBRI  S 2022, U4, ended 31/3/2024 (E11)  -> not CLA; UASC blank and 3 SWs do not count
        F  WBRI  short breaks (V3), U1              -> excluded everywhere
LA 805  G  WBRI  S 1/10/2023, S1, open              -> started; Residential schools; PL ZZ9 9ZZ unknown -> not known
                 UASC, DUC 1/1/2024                  -> UASC started (DUC after start), not UASC on 31 March
        H  MWBC  S 1/5/2023, P3, open               -> started; Other residential settings; 0 m
                 UASC, DUC 1/4/2023                  -> not UASC when started
        I  WBRI  S 2021, T1, open                   -> Other placements; 0 m
        J  WBRI  S 1/5/2023 ceased 1/6/2023 (E4A), S 1/1/2024 U6 open -> started once; Foster; 32,186 m
                 UASC, DUC 15/5/2023                 -> UASC at the first start (the one DfE counts)
        (no SWEpisodes rows in LA 805: its children are outside the social worker figures)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rap import measures as M
from rap.core.params import load_params
from rap.domain.geography import normalise_postcodes, postcode_coordinates
from rap.domain.ssda903 import spec as ssda903_spec
from rap.inputs.load import RecordData
from rap.inputs.readers.quarantine import ReadResult
from rap.inputs.readers.ssda903 import table_columns
from rap.measures.common import TIDY_COLUMNS
from rap.measures.placements import (
    DISTANCE_NOT_KNOWN,
    OVER_20_MILES,
    TWENTY_MILES_M,
    TYPE_NOT_KNOWN,
    categorise,
    distances,
    placement_categories,
    placement_types,
)
from rap.measures.social_workers import THREE_PLUS, first_year
from rap.sections.breakdowns import RATE_MEASURES, publication_table
from rap.synth.postcodes import EXTRACT

Y = 2024
FOSTER, HOMES = "Foster placements", "Secure homes and children's homes"
INDEPENDENT = "Independent and semi-independent living arrangements/supported accommodation"
DATES = ("DOB", "DECOM", "DEC", "DUC", "SW_DECOM", "SW_DEC")

# Hand-made coordinates: BB1 1BB is 32,186 m from AA1 1AA (just under 20 miles = 32,186.88 m), CC1 1CC 32,187 m
# (just over), DD1 1DD 100 km.
LOOKUP = pd.DataFrame(
    {"easting": [0, 32186, 32187, 0], "northing": [0, 0, 0, 100000]},
    index=pd.Index(["AA11AA", "BB11BB", "CC11CC", "DD11DD"], name="postcode"),
)


def _frame(table: str, rows: list[dict], year: int = Y) -> pd.DataFrame:
    cols = table_columns()[table]
    df = pd.DataFrame([{c: r.get(c, "") for c in cols + ["LA"]} for r in rows], columns=cols + ["LA"])
    for c in DATES:
        if c in df.columns:
            df[c] = pd.to_datetime(df[c].replace("", None), format="%d/%m/%Y")
    df["YEAR"] = year
    df["_file"] = 0
    df["_line"] = np.arange(2, len(df) + 2)
    return df


def _h(la, child, ethnic):
    return {"LA": la, "CHILD": child, "SEX": "1", "DOB": "01/01/2008", "ETHNIC": ethnic, "UPN": ""}


def _ep(la, child, decom, rne, place, dec="", rec="", ls="C2", home="AA1 1AA", pl="AA1 1AA"):
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
        "HOME_POST": home,
        "PL_POST": pl,
    }


def _sw(la, child, sw_id, decom, dec=""):
    return {"LA": la, "CHILD": child, "SW_ID": sw_id, "SW_DECOM": decom, "SW_DEC": dec}


def _uasc(la, child, duc=""):
    return {"LA": la, "CHILD": child, "SEX": "1", "DOB": "01/01/2008", "DUC": duc}


def build(sw_2024: bool = True) -> RecordData:
    header = [_h("201", c, e) for c, e in zip("ABCDEF", ["WBRI", "BAFR", "WBRI", "AIND", "WBRI", "WBRI"])]
    header += [_h("805", c, e) for c, e in zip("GHIJ", ["WBRI", "MWBC", "WBRI", "WBRI"])]
    eps = [
        _ep("201", "A", "01/05/2023", "S", "U1", home="aa1 1aa", pl="BB1 1BB"),
        _ep("201", "B", "01/01/2022", "S", "K2", pl="cc11cc"),
        _ep("201", "C", "01/01/2020", "S", "K1"),
        _ep("201", "C", "01/06/2023", "P", "H5", pl="DD1  1DD"),
        _ep("201", "D", "01/01/2023", "S", "XX", home=""),
        _ep("201", "E", "01/01/2022", "S", "U4", dec="31/03/2024", rec="E11", pl="DD1 1DD"),
        _ep("201", "F", "01/02/2024", "S", "U1", ls="V3", pl="DD1 1DD"),
        _ep("805", "G", "01/10/2023", "S", "S1", pl="ZZ9 9ZZ"),
        _ep("805", "H", "01/05/2023", "S", "P3"),
        _ep("805", "I", "01/01/2021", "S", "T1", home="BB1 1BB", pl="BB1 1BB"),
        _ep("805", "J", "01/05/2023", "S", "U6", dec="01/06/2023", rec="E4A", pl="DD1 1DD"),
        _ep("805", "J", "01/01/2024", "S", "U6", pl="BB1 1BB"),
    ]
    uasc = [
        _uasc("201", "A"),
        _uasc("201", "B", "01/06/2024"),
        _uasc("201", "C", "01/02/2024"),
        _uasc("201", "D", "31/03/2024"),
        _uasc("201", "E"),
        _uasc("805", "G", "01/01/2024"),
        _uasc("805", "H", "01/04/2023"),
        _uasc("805", "J", "15/05/2023"),
    ]
    sw = (
        [
            _sw("201", "A", "SW1", "01/01/2023", "01/06/2023"),
            _sw("201", "A", "SW2", "01/06/2023", "01/09/2023"),
            _sw("201", "A", " sw2 ", "01/09/2023"),
            _sw("201", "B", "SW1", "01/01/2022", "31/03/2023"),
            _sw("201", "B", "SW3", "01/04/2023", "01/08/2023"),
            _sw("201", "B", "SW4", "01/08/2023", "01/12/2023"),
            _sw("201", "B", "SW5", "01/12/2023"),
            _sw("201", "C", "SW1", "01/01/2020", "01/06/2023"),
            _sw("201", "C", "SW2", "01/06/2023", "31/03/2024"),
            _sw("201", "C", "SW3", "01/04/2024"),
            _sw("201", "E", "SW1", "01/01/2022", "01/06/2023"),
            _sw("201", "E", "SW2", "01/06/2023", "01/09/2023"),
            _sw("201", "E", "SW3", "01/09/2023", "31/03/2024"),
        ]
        if sw_2024
        else []
    )
    # A 2023 return (before SWEpisodes existed): K looked after, with 3 social worker rows that must be ignored.
    header23 = [_h("201", "K", "WBRI")]
    eps23 = [_ep("201", "K", "01/01/2021", "S", "U1")]
    sw23 = [_sw("201", "K", f"SW{i}", f"01/0{i + 4}/2022") for i in range(3)]
    tables = {t: _frame(t, []) for t in table_columns()}
    tables.update(
        Header=pd.concat([_frame("Header", header), _frame("Header", header23, 2023)], ignore_index=True),
        Episodes=pd.concat([_frame("Episodes", eps), _frame("Episodes", eps23, 2023)], ignore_index=True),
        UASC=_frame("UASC", uasc),
        SWEpisodes=pd.concat([_frame("SWEpisodes", sw), _frame("SWEpisodes", sw23, 2023)], ignore_index=True),
    )
    return RecordData(
        ssda903=ReadResult(tables=tables), school=ReadResult(tables={"School": pd.DataFrame()}), population=None
    )


@pytest.fixture(scope="module")
def data():
    return build()


def cell(df, level="National", la="", breakdown=None, major="Total", minor="Total", col="number", year=Y):
    sel = (df["geographic_level"] == level) & (df["ethnicity_major"] == major) & (df["ethnicity_minor"] == minor)
    sel &= df["time_period"] == year
    if breakdown is not None:
        sel &= df["breakdown"] == breakdown
    if la:
        sel &= df["old_la_code"] == la
    got = df.loc[sel, col]
    assert len(got) == 1, f"expected one row, got {len(got)}"
    v = got.iloc[0]
    return None if pd.isna(v) else int(v)


# ------------------------------------------------------------------------------------------ placement type


def test_placement_types_csv_covers_every_place_code_of_every_year():
    known = set(placement_types()["code"])
    versions = ssda903_spec()["codelists"]["PLACE"]
    listed = set()
    for v in versions:
        codes = {str(c) for c in v["codes"]}
        listed |= codes
        assert codes <= known, (v["from"], sorted(codes - known))
    assert known <= listed, f"codes in placement_types.csv that no year uses: {sorted(known - listed)}"
    # the dashboard's three categories exist, and every category is a breakdown
    cats = placement_categories()
    assert {FOSTER, HOMES, INDEPENDENT} <= set(cats)
    assert set(placement_types()["category"]) | {TYPE_NOT_KNOWN} == set(cats)


def test_categorise_codes_and_unknowns():
    got = categorise(pd.Series(["U1", " k2", "H5", "P2", "K3", "K1", "XX", "", None], dtype="object")).tolist()
    assert got == [
        FOSTER,
        HOMES,
        INDEPENDENT,
        INDEPENDENT,
        INDEPENDENT,
        HOMES,
        TYPE_NOT_KNOWN,
        TYPE_NOT_KNOWN,
        TYPE_NOT_KNOWN,
    ]


def test_placement_type_by_hand(data):
    r = M.placement_type(data, [Y])
    assert list(r.columns) == TIDY_COLUMNS
    assert list(dict.fromkeys(r["breakdown"])) == placement_categories()
    expected = {
        FOSTER: 2,
        HOMES: 1,
        INDEPENDENT: 1,
        TYPE_NOT_KNOWN: 1,
        "Residential schools": 1,
        "Other residential settings": 1,
        "Other placements": 1,
        "Placed for adoption": 0,
        "Placed with parents or other person with parental responsibility": 0,
    }
    for b, n in expected.items():
        assert cell(r, breakdown=b) == n, b
        assert cell(r, breakdown=b, col="denominator") == 8  # A B C D G H I J; C once; E ended; F short breaks
    assert cell(r, "Local authority", la="201", breakdown=INDEPENDENT) == 1  # C's latest open episode is H5
    assert cell(r, "Local authority", la="201", breakdown=HOMES) == 1  # B (K2), not C's earlier K1
    assert cell(r, "Local authority", la="201", breakdown=FOSTER, col="denominator") == 4
    assert cell(r, "Local authority", la="805", breakdown=FOSTER) == 1  # J
    assert cell(r, breakdown=HOMES, major="Black, African, Caribbean or Black British", minor="African") == 1
    assert cell(r, breakdown=FOSTER, major="Black, African, Caribbean or Black British", col="denominator") == 1
    # at every row the categories add up to the denominator
    g = r.groupby([c for c in TIDY_COLUMNS[:10]], sort=False)
    assert (g["number"].sum() == g["denominator"].first()).all()


# ------------------------------------------------------------------------------------------ 20 miles


def test_distance_threshold_and_postcode_normalising():
    d = distances(
        pd.Series(["AA1 1AA", "aa11aa", "AA1 1AA", "", None]),
        pd.Series(["bb1 1bb", "CC1 1CC", "ZZ9 9ZZ", "AA1 1AA", "AA1 1AA"]),
        LOOKUP,
    )
    assert d[0] == 32186 and d[0] < TWENTY_MILES_M < d[1] == 32187
    assert np.isnan(d[2:]).all()


def test_placed_over_20_miles_by_hand(data):
    r = M.placed_over_20_miles(data, [Y], lookup=LOOKUP)
    assert list(dict.fromkeys(r["breakdown"])) == [OVER_20_MILES, DISTANCE_NOT_KNOWN]
    assert cell(r, breakdown=OVER_20_MILES) == 2  # B (32,187 m) and C (its latest open episode, 100 km)
    assert cell(r, breakdown=OVER_20_MILES, col="denominator") == 6  # A B C H I J: both postcodes known
    assert cell(r, breakdown=DISTANCE_NOT_KNOWN) == 2  # D (no home postcode), G (placement postcode unknown)
    assert cell(r, breakdown=DISTANCE_NOT_KNOWN, col="denominator") is None
    assert (
        cell(r, "Local authority", la="201", breakdown=OVER_20_MILES),
        cell(r, "Local authority", la="201", breakdown=OVER_20_MILES, col="denominator"),
    ) == (2, 3)
    assert (
        cell(r, "Local authority", la="805", breakdown=OVER_20_MILES),
        cell(r, "Local authority", la="805", breakdown=DISTANCE_NOT_KNOWN),
    ) == (0, 1)


def test_postcode_lookup_is_the_synthetic_extract():
    xy = postcode_coordinates()
    ex = pd.read_csv(EXTRACT)
    assert len(xy) == len(ex) and xy.index.is_unique
    a, b = ex.iloc[0], ex[ex["la"] == "E09000033"].iloc[0]  # Hartlepool and Westminster: far apart
    d = distances(pd.Series([a["postcode"].lower().replace(" ", "")]), pd.Series(["  " + b["postcode"]]))
    assert d[0] == pytest.approx(np.hypot(a["easting"] - b["easting"], a["northing"] - b["northing"]))
    assert d[0] > TWENTY_MILES_M
    assert normalise_postcodes(pd.Series([" sw1a  1aa", None])).tolist() == ["SW1A1AA", ""]


# ------------------------------------------------------------------------------------------ UASC


def test_uasc_on_31_march_by_hand(data):
    r = M.uasc_on_31_march(data, [Y])
    assert cell(r) == 2  # A (DUC blank), B (DUC after 31 March); not C (before), D (on 31 March), E (not CLA)
    assert cell(r, "Local authority", la="805") == 0  # G's DUC is before 31 March
    assert r["denominator"].isna().all()


def test_uasc_started_by_hand(data):
    assert cell(M.started(data, [Y])) == 4  # A G H J
    r = M.uasc_started(data, [Y])
    assert cell(r) == 3  # A (blank), G (DUC after start), J (UASC at first start); not H (DUC before start)
    assert cell(r, "Local authority", la="805") == 2
    assert r["denominator"].isna().all()


# ------------------------------------------------------------------------------------------ social workers


def test_social_workers_by_hand(data):
    r = M.social_workers_3plus(data, [Y])
    assert set(r["breakdown"]) == {THREE_PLUS}
    assert cell(r) == 1  # B: SW3, SW4, SW5 (SW1 ended before the year); A and C have 2 in the year; E not CLA
    assert cell(r, col="denominator") == 4  # A B C D of LA 201; LA 805 sent no SWEpisodes
    assert (cell(r, "Local authority", la="805"), cell(r, "Local authority", la="805", col="denominator")) == (0, 0)


def test_social_workers_no_rows_without_the_table(data):
    assert first_year() == 2024 == M.catalogue()["social_workers_3plus"]["first_year"]
    assert M.social_workers_3plus(data, [2023]).empty  # 2023 rows of SWEpisodes are ignored
    assert list(M.social_workers_3plus(data, [2023]).columns) == TIDY_COLUMNS
    assert set(M.social_workers_3plus(data, [2023, Y])["time_period"]) == {Y}
    assert M.social_workers_3plus(build(sw_2024=False), [Y]).empty  # a year whose returns hold none
    assert not M.placement_type(data, [2023]).empty  # other measures do have 2023 rows


# ------------------------------------------------------------------------------------------ registration


def test_registered_and_catalogued(data):
    new = ["placement_type", "placed_over_20_miles", "uasc_on_31_march", "uasc_started", "social_workers_3plus"]
    cat = M.catalogue()
    for m in new:
        assert cat[m]["function"] in M.FUNCTIONS
        assert {
            "function",
            "title",
            "definition",
            "population",
            "breakdowns",
            "indicators",
            "tables",
            "first_year",
        } <= set(cat[m])
    r = M.placement_type(data, [Y])
    assert list(dict.fromkeys(r["breakdown"])) == cat["placement_type"]["breakdowns"]
    assert {"uasc_on_31_march", "uasc_started"} <= set(RATE_MEASURES)


def test_publication_table_percentages_and_counts(data, repo_root):
    params = load_params(repo_root / "params" / "2024.yaml")
    frames = [
        M.placement_type(data, [Y]),
        M.placed_over_20_miles(data, [Y], lookup=LOOKUP),
        M.uasc_on_31_march(data, [Y]),
        M.social_workers_3plus(data, [Y]),
    ]
    t = publication_table(pd.concat(frames, ignore_index=True), params, None)
    nat = t[(t["geographic_level"] == "National") & (t["ethnicity_major"] == "Total")]
    nat = nat.set_index(["measure", "breakdown"])
    # small numbers: percentages are suppressed (c), but they are percentages, not "z" (not applicable)
    assert nat.at[("placement_type", FOSTER), "percentage"] == "c"
    assert nat.at[("placed_over_20_miles", OVER_20_MILES), "percentage"] == "c"
    assert nat.at[("placed_over_20_miles", DISTANCE_NOT_KNOWN), "percentage"] == "z"
    assert nat.at[("uasc_on_31_march", "Total"), "percentage"] == "z"
    assert nat.at[("uasc_on_31_march", "Total"), "rate_per_10000"] == "x"  # no population in these inputs
    assert nat.at[("placement_type", FOSTER), "rate_per_10000"] == "z"
