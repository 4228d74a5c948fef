"""Tests of the synthetic data generator (rap.synth): layout, formats, invariants, defects, determinism."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.core.params import Params, load_params
from rap.domain.ethnicity import known_codes, quality_category, valid_codes
from rap.synth import generate
from rap.synth.upn import check_letter, is_valid
from rap.synth.writers import FILES, codelist, columns, tables_for

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2025  # series 2021-2025: SEX changes coding in 2025, SWEpisodes start in 2024
LAS = pd.read_csv(ROOT / "src/rap/data/local_authorities.csv", dtype=str)


def _params(**kw) -> Params:
    """The project's parameters (params/defaults.yaml: the defect rates under test) at small scale."""
    synth = {"scale": "small", **kw.pop("synth", {})}
    p = load_params(ROOT / "params" / "2024.yaml", year=YEAR, synth=synth, **kw)
    assert p.synth.defects.school_disagreement_by_code, "defaults.yaml should set per-code disagreement rates"
    return p


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return generate(_params(), tmp_path_factory.mktemp("synth") / "synthetic")


def read_table(root: Path, year: int, table: str) -> pd.DataFrame:
    frames = []
    for folder in sorted((root / "ssda903" / str(year)).iterdir()):
        df = pd.read_csv(folder / FILES[table], dtype=str, keep_default_na=False)
        df.insert(0, "LA", folder.name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%d/%m/%Y")


def years_of(p: Params) -> list[int]:
    return p.series_years


# ---------------------------------------------------------------------------------------------------------------


def test_upn_check_letter_known_value():
    # 2*2+0*3+1*4+2*5+3*6+4*7+5*8+6*9+7*10+8*11+9*12+0*13 = 424; 424 mod 23 = 10 -> L (A-Z without I, O, S)
    assert check_letter("201234567890") == "L"
    assert is_valid("L201234567890")
    assert not is_valid("A201234567890")
    assert not is_valid("UN1")


def test_determinism_and_manifest(tmp_path):
    p = _params(years=2)
    a = generate(p, tmp_path / "a")
    b = generate(p, tmp_path / "b")
    ma = json.loads((a / "manifest.json").read_text())
    mb = json.loads((b / "manifest.json").read_text())
    assert ma["files"] == mb["files"]
    assert ma["seed"] == p.synth.seed and ma["scale"] == "small" and ma["years"] == [YEAR - 1, YEAR]
    assert ma["defect_rates"]["unknown_upn"] == p.synth.defects.unknown_upn
    on_disk = sorted(str(f.relative_to(a)) for f in a.rglob("*") if f.is_file() and f.name != "manifest.json")
    assert on_disk == sorted(ma["files"])
    for rel, digest in ma["files"].items():
        assert hashlib.sha256((a / rel).read_bytes()).hexdigest() == digest
    # A different seed gives different data.
    c = generate(_params(years=2, synth={"scale": "small", "seed": 1}), tmp_path / "c")
    mc = json.loads((c / "manifest.json").read_text())
    assert mc["files"]["ssda903/2025/805/header.csv"] != ma["files"]["ssda903/2025/805/header.csv"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    import rap.synth.build as g

    out = tmp_path / "synthetic"
    out.mkdir()
    (out / "old.txt").write_text("previous data set")

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(g, "population_table", boom)
    with pytest.raises(RuntimeError):
        g.generate(_params(years=1), out)
    assert (out / "old.txt").read_text() == "previous data set"
    assert [f.name for f in tmp_path.iterdir()] == ["synthetic"]


def test_la_folders_are_real_las(data):
    for y in years_of(_params()):
        folders = sorted(f.name for f in (data / "ssda903" / str(y)).iterdir())
        assert folders == sorted(LAS["old_la_code"])


def test_columns_match_spec_by_year(data):
    for y in years_of(_params()):
        expected = set(tables_for(y))
        assert ("SWEpisodes" in expected) == (y >= 2024)
        for folder in list((data / "ssda903" / str(y)).iterdir())[:20]:
            present = {t for t, f in FILES.items() if (folder / f).exists()}
            assert present == expected, (y, folder.name)
            for t in expected:
                head = (folder / FILES[t]).read_text(encoding="utf-8").splitlines()[0]
                assert head.split(",") == columns(t)


CODED = {
    "Episodes": ["RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE"],
    "Reviews": ["REVIEW_CODE"],
    "Missing": ["MISSING"],
    "OC3": ["IN_TOUCH", "ACTIV", "ACCOM"],
    "OC2": [
        "SDQ_REASON",
        "CONVICTED",
        "HEALTH_CHECK",
        "IMMUNISATIONS",
        "TEETH_CHECK",
        "HEALTH_ASSESSMENT",
        "SUBSTANCE_MISUSE",
        "INTERVENTION_RECEIVED",
        "INTERVENTION_OFFERED",
    ],
    "Header": ["SEX", "MOTHER"],
    "UASC": ["SEX"],
    "SWEpisodes": ["SW_REASON"],
}


def test_code_lists_valid_for_year(data):
    for y in years_of(_params()):
        for table, cols in CODED.items():
            if table not in tables_for(y):
                continue
            df = read_table(data, y, table)
            assert len(df) > 0, (y, table)
            for c in cols:
                allowed = set(codelist(c, y)) | {""}
                bad = set(df[c]) - allowed
                assert not bad, (y, table, c, bad)
        # Dates parse in dd/mm/YYYY.
        ep = read_table(data, y, "Episodes")
        dates(ep["DECOM"])
        dates(ep["DEC"])


def test_sex_coding_by_year(data):
    h24 = read_table(data, 2024, "Header")
    h25 = read_table(data, 2025, "Header")
    assert set(h24["SEX"]) == {"1", "2"}
    assert set(h25["SEX"]) <= {"M", "F", "U"} and {"M", "F"} <= set(h25["SEX"])


def test_ethnic_codes_valid_except_injected(data):
    truth = pd.read_csv(data / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    for y in years_of(_params()):
        h = read_table(data, y, "Header").drop_duplicates(["LA", "CHILD"])
        cat = quality_category(h["ETHNIC"])
        bad = h[~cat.isin(["known", "refused", "not_obtained"])]
        t = truth[(truth["year"] == str(y)) & truth["defect"].isin(["ethnic_blank", "ethnic_invalid"])]
        assert set(zip(bad["LA"], bad["CHILD"])) == set(zip(t["la"], t["child"]))
        unknown = h[cat.isin(["refused", "not_obtained"])]
        t = truth[(truth["year"] == str(y)) & truth["defect"].isin(["ethnic_refused", "ethnic_not_obtained"])]
        assert set(zip(unknown["LA"], unknown["CHILD"])) == set(zip(t["la"], t["child"]))


def test_one_header_row_per_child_except_duplicates(data):
    truth = pd.read_csv(data / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    for y in years_of(_params()):
        h = read_table(data, y, "Header")
        dup = h[h.duplicated(["LA", "CHILD"], keep="first")]
        t = truth[(truth["year"] == str(y)) & (truth["defect"] == "duplicate_child")]
        assert set(zip(dup["LA"], dup["CHILD"])) == set(zip(t["la"], t["child"]))
        # Every child in another table is in Header.
        keys = set(zip(h["LA"], h["CHILD"]))
        for table in ["Episodes", "Reviews", "Missing", "OC2", "OC3", "UASC"]:
            df = read_table(data, y, table)
            assert set(zip(df["LA"], df["CHILD"])) <= keys, table


def test_child_ids_stable_across_years(data):
    frames = []
    for y in years_of(_params()):
        h = read_table(data, y, "Header").drop_duplicates(["LA", "CHILD"])
        h["male"] = h["SEX"].isin(["1", "M"])
        h["year"] = y
        frames.append(h)
    allh = pd.concat(frames)
    per_child = allh.groupby(["LA", "CHILD"]).agg(n=("year", "size"), dob=("DOB", "nunique"), sex=("male", "nunique"))
    assert (per_child["n"] > 1).mean() > 0.4  # most children appear in more than one return
    assert (per_child["dob"] == 1).all() and (per_child["sex"] == 1).all()
    tc = pd.read_csv(data / "truth" / "children.csv", dtype=str, keep_default_na=False)
    assert (tc.groupby(["la", "child"])["true_ethnic"].nunique() == 1).all()


def test_upns_valid_or_unknown(data):
    for y in years_of(_params()):
        h = read_table(data, y, "Header")
        un = h["UPN"].str.startswith("UN")
        assert set(h.loc[un, "UPN"]) <= {"UN2", "UN3", "UN4", "UN5"}
        assert h.loc[~un, "UPN"].map(is_valid).all()
        first = h.loc[~un, "UPN"].str[0]
        assert not first.isin(["I", "O", "S"]).any()
        # Distinct children have distinct UPNs.
        d = h.drop_duplicates(["LA", "CHILD"])
        assert not d.loc[~d["UPN"].str.startswith("UN"), "UPN"].duplicated().any()


def _tolerance(rate: float, n: int) -> float:
    """4 binomial standard errors (false alarm about 1 in 16,000) plus a small floor for tiny rates."""
    return 4 * np.sqrt(max(rate, 1e-4) * (1 - rate) / max(n, 1)) + 2 / max(n, 1)


def test_defect_rates_match_params(data):
    p = _params()
    s = json.loads((data / "truth" / "summary.json").read_text())
    rates = p.synth.defects
    for name in [
        "ethnic_blank",
        "ethnic_refused",
        "ethnic_not_obtained",
        "ethnic_invalid",
        "unknown_upn",
        "duplicate_child",
        "ethnic_changed",
        "episode_end_before_start",
    ]:
        count = sum(v["defects"][name]["count"] for v in s["years"].values() if name in v["defects"])
        n = sum(v["defects"][name]["denominator"] for v in s["years"].values() if name in v["defects"])
        target = getattr(rates, name)
        assert n > 0
        assert abs(count / n - target) <= _tolerance(target, n), (name, count, n, target)
    # School disagreement by code and baseline.
    for code, target in {**rates.school_disagreement_by_code, "baseline": rates.school_disagreement}.items():
        entries = [
            v["defects"]["school_disagreement"]["by_code"].get(code)
            if code != "baseline"
            else v["defects"]["school_disagreement"]["baseline"]
            for v in s["years"].values()
        ]
        count = sum(e["count"] for e in entries)
        n = sum(e["denominator"] for e in entries)
        if n >= 30:
            assert abs(count / n - target) <= _tolerance(target, n), (code, count, n, target)


def test_recovered_rates_from_files_match_truth(data):
    """Measure the defects from the files alone and compare with truth/summary.json."""
    s = json.loads((data / "truth" / "summary.json").read_text())
    prev = None
    for y in years_of(_params()):
        h = read_table(data, y, "Header").drop_duplicates(["LA", "CHILD"])
        t = s["years"][str(y)]
        assert len(h) == t["header_children"]
        cat = quality_category(h["ETHNIC"])
        for c, name in [
            ("blank", "ethnic_blank"),
            ("refused", "ethnic_refused"),
            ("not_obtained", "ethnic_not_obtained"),
            ("invalid", "ethnic_invalid"),
        ]:
            assert (cat == c).sum() == t["defects"][name]["count"], name
        assert h["UPN"].str.startswith("UN").sum() == t["defects"]["unknown_upn"]["count"]
        cur = h.set_index(["LA", "CHILD"])["ETHNIC"]
        if prev is not None:
            both = cur.index.intersection(prev.index)
            a, b = prev.loc[both], cur.loc[both]
            ok = a.isin(known_codes())
            changed = (ok & (a != b)).sum()
            assert changed == t["defects"]["ethnic_changed"]["count"]
        prev = cur
        # Per-LA unknown rates.
        h["unknown"] = cat.isin(["blank", "refused", "not_obtained"])
        per = h.groupby("LA")["unknown"].sum()
        for la, v in t["per_la"].items():
            assert per.get(la, 0) == v["unknown"]


def test_poor_recording_las_are_worse(data):
    s = json.loads((data / "truth" / "summary.json").read_text())
    poor = set(s["poor_recording_las"])
    assert len(poor) == _params().synth.defects.poor_recording_las
    unk = {True: 0, False: 0}
    n = {True: 0, False: 0}
    for v in s["years"].values():
        for la, r in v["per_la"].items():
            unk[la in poor] += r["unknown"]
            n[la in poor] += r["children"]
    ratio = (unk[True] / n[True]) / (unk[False] / n[False])
    assert ratio > 3  # multiplier 8; loose because poor LAs hold few children at small scale


def test_episode_invariants(data):
    truth = pd.read_csv(data / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    for y in years_of(_params()):
        ep = read_table(data, y, "Episodes")
        ep["decom"] = dates(ep["DECOM"])
        ep["dec"] = dates(ep["DEC"])
        ep = ep.sort_values(["LA", "CHILD", "decom"], kind="stable").reset_index(drop=True)
        ys, ye = pd.Timestamp(y - 1, 4, 1), pd.Timestamp(y, 3, 31)
        # Overlaps the year.
        assert (ep["decom"] <= ye).all() and (ep["dec"].isna() | (ep["dec"] >= ys) | (ep["dec"] < ep["decom"])).all()
        # DEC >= DECOM except injected defects.
        back = ep[ep["dec"] < ep["decom"]]
        t = truth[(truth["year"] == str(y)) & (truth["defect"] == "episode_end_before_start")]
        assert sorted(zip(back["LA"], back["CHILD"])) == sorted(zip(t["la"], t["child"]))
        nxt = ep.groupby(["LA", "CHILD"]).shift(-1)
        has_next = nxt["decom"].notna()
        flipped = ep["dec"] < ep["decom"]
        # Contiguous, non-overlapping: an episode followed by another ends (X1) the day the next starts.
        ok = ~has_next | flipped | ((ep["dec"] == nxt["decom"]) & (ep["REC"] == "X1"))
        assert ok.all(), ep[~ok].head()
        # Only the last episode may be open; a new period starts with RNE=S; an E-code ends the period.
        assert ep.loc[has_next, "dec"].notna().all()
        assert (nxt.loc[has_next & ep["REC"].str.startswith("E"), "RNE"] == "S").all()
        assert (
            ~ep["RNE"].isin(["S"])
            | ~has_next.shift(1, fill_value=False)
            | (ep.groupby(["LA", "CHILD"]).cumcount() == 0)
        ).all()
        # Reason for placement change on episodes that end in a placement change (rule 225).
        need = has_next & nxt["RNE"].isin(["P", "T", "B", "U"])
        assert (ep.loc[need, "REASON_PLACE_CHANGE"] != "").all()
        assert (ep.loc[~need, "REASON_PLACE_CHANGE"] == "").all()
        # P1 (placed with parents) only under a care order.
        assert ep.loc[ep["PLACE"] == "P1", "LS"].isin(["C1", "C2"]).all()


def test_reviews_missing_within_care(data):
    for y in years_of(_params()):
        ep = read_table(data, y, "Episodes")
        ep["decom"] = dates(ep["DECOM"])
        ep["dec"] = dates(ep["DEC"]).fillna(pd.Timestamp(2100, 1, 1))
        flipped = ep.loc[ep["dec"] < ep["decom"], ["LA", "CHILD"]]  # injected DEC < DECOM: true end unknown
        span = ep.groupby(["LA", "CHILD"]).agg(lo=("decom", "min"), hi=("dec", "max"))
        span.loc[list(zip(flipped["LA"], flipped["CHILD"])), "hi"] = pd.Timestamp(2100, 1, 1)
        rv = read_table(data, y, "Reviews").join(span, on=["LA", "CHILD"])
        r = dates(rv["REVIEW"])
        assert rv["lo"].notna().all()
        assert ((r >= rv["lo"]) & (r <= rv["hi"])).all()
        m = read_table(data, y, "Missing").join(span, on=["LA", "CHILD"])
        ms, me = dates(m["MIS_START"]), dates(m["MIS_END"])
        assert m["lo"].notna().all()
        assert ((ms >= m["lo"]) & (ms <= m["hi"])).all()
        assert (me.isna() | ((me >= ms) & (me <= m["hi"]))).all()


def test_oc3_only_around_17th_to_21st_birthdays(data):
    for y in years_of(_params()):
        o = read_table(data, y, "OC3")
        assert len(o) > 0
        dob = dates(o["DOB"])
        age_at_end = (y - dob.dt.year) - ((3 < dob.dt.month) | ((dob.dt.month == 3) & (dob.dt.day > 31))).astype(int)
        # The birthday that falls in 1 April y-1 to 31 March y is the age on 31 March y.
        assert age_at_end.between(17, 21).all()
        # Care leavers are not looked after on 31 March.
        ep = read_table(data, y, "Episodes")
        open_ = set(zip(ep.loc[ep["DEC"] == "", "LA"], ep.loc[ep["DEC"] == "", "CHILD"]))
        assert not (set(zip(o["LA"], o["CHILD"])) & open_)


def test_uasc_mostly_older_boys_and_other_asian_black(data):
    y = YEAR - 1
    u = read_table(data, y, "UASC")
    h = read_table(data, y, "Header").drop_duplicates(["LA", "CHILD"]).set_index(["LA", "CHILD"])
    hu = h.loc[list(zip(u["LA"], u["CHILD"]))]
    assert (u["SEX"] == "1").mean() > 0.9
    age = (pd.Timestamp(y, 3, 31) - dates(u["DOB"])).dt.days / 365.25
    assert (age >= 16).mean() > 0.75
    from rap.domain.ethnicity import codes

    major = hu["ETHNIC"].map(codes()["major"])
    assert major.isin(["other", "asian", "black"]).mean() > 0.75


def test_school_extract(data):
    expected = [
        "UPN",
        "LA",
        "ETHNIC",
        "NCYEAR",
        "SCHOOL_MOVES",
        "MIDYEAR_MOVES",
        "KS1_RWM_EXP",
        "KS2_READ_EXP",
        "KS2_WRIT_EXP",
        "KS2_MAT_EXP",
        "KS4_ATT8",
        "KS4_EM_94",
    ]
    for y in years_of(_params()):
        s = pd.read_csv(data / "school" / f"{y}.csv", dtype=str, keep_default_na=False)
        assert list(s.columns) == expected
        assert s["UPN"].map(is_valid).all() and not s["UPN"].duplicated().any()
        assert set(s["NCYEAR"]) <= {"R"} | {str(i) for i in range(1, 14)}
        assert s["ETHNIC"].isin(valid_codes()).all()
        mv = s["SCHOOL_MOVES"].astype(int)
        assert (s["MIDYEAR_MOVES"].astype(int) <= mv).all()
        ks1 = s["KS1_RWM_EXP"] != ""
        assert (s.loc[ks1, "NCYEAR"] == "2").all()
        if y >= 2024 or y in (2020, 2021):
            assert not ks1.any()
        ks2 = s["KS2_READ_EXP"] != ""
        assert (s.loc[ks2, "NCYEAR"] == "6").all()
        ks4 = s["KS4_ATT8"] != ""
        assert (s.loc[ks4, "NCYEAR"] == "11").all()
        att8 = s.loc[ks4, "KS4_ATT8"].astype(float)
        assert att8.between(0, 90).all()
        # Linked by UPN to the year's Header, and mostly the same code (disagreement is a defect).
        h = read_table(data, y, "Header").drop_duplicates(["LA", "CHILD"])
        m = s.merge(h, on="UPN", suffixes=("", "_903"))
        assert len(m) == len(s)
        assert (m["ETHNIC"] == m["ETHNIC_903"]).mean() > 0.85


def test_population_file(data):
    """The synthetic children are drawn from the package's estimate: one row per LA and DfE group, LA totals
    the ONS estimate for mid-(Y-1), shares the LA's school census mix."""
    pop = pd.read_csv(data / "population" / "children_by_la_ethnicity.csv", dtype={"old_la_code": str})
    assert list(pop.columns) == [
        "time_period",
        "geographic_level",
        "new_la_code",
        "old_la_code",
        "la_name",
        "region_code",
        "region_name",
        "ethnic_code",
        "ons2021_code",
        "ons2021_label",
        "major",
        "population",
        "source",
    ]
    assert (pop["source"] == "SYNTHETIC: not real data").all()
    assert sorted(pop["time_period"].unique()) == years_of(_params())
    assert len(pop) == len(years_of(_params())) * 153 * 18
    from rap.domain.child_population import child_population
    from rap.synth.build import SCALES

    tot = pop.groupby(["time_period", "old_la_code"])["population"].sum()
    est = child_population([2024])
    scale = SCALES[_params().synth.scale]  # a small run's population is the same fraction of England's as its CLA
    assert tot.loc[(2024, "805")] == round(est.loc[est["old_la_code"] == "805", "population"].sum() * scale)
    assert est.loc[est["old_la_code"] == "805", "population_year"].iloc[0] == 2023
    y = pop[pop["time_period"] == 2024]
    mixed = y.loc[y["major"] == "mixed", "population"].sum() / y["population"].sum()
    assert mixed > 0.06  # children's mix, not the all-ages 3%


def test_committed_targets_match_published_files(request):
    """synth_targets.yaml is what targets.py extracts from the published files (``RAP_REFERENCE_DATA``, else
    the shared reference folder beside the clone; skipped where neither exists)."""
    import yaml

    from rap.synth.targets import REFERENCE_ENV, build_targets, load_targets

    if os.environ.get(REFERENCE_ENV):
        ref = Path(os.environ[REFERENCE_ENV])
    else:
        ref = request.getfixturevalue("shared_dir") / "reference-data"
    built = yaml.safe_load(yaml.safe_dump(build_targets(ref), sort_keys=False, allow_unicode=True))
    assert built == load_targets()
    assert load_targets()["on_31_march"]["total"]["value"] == 83630
    assert load_targets()["on_31_march"]["total"]["source"].endswith("national_cla_on_31_march_by_characteristics.csv")


def test_targets_rebuild_needs_a_reference_folder(tmp_path, monkeypatch, capsys):
    """Rebuilding the targets without a reference-data folder, or from one without the published files, says so
    in one line (exit 2) and writes nothing."""
    from rap.synth.targets import REFERENCE_ENV, main

    monkeypatch.delenv(REFERENCE_ENV, raising=False)
    out = tmp_path / "targets.yaml"
    assert main(["--out", str(out)]) == 2
    assert REFERENCE_ENV in capsys.readouterr().err
    assert main([str(tmp_path / "absent"), "--out", str(out)]) == 2
    assert "reference-data folder not found" in capsys.readouterr().err
    monkeypatch.setenv(REFERENCE_ENV, str(tmp_path))
    assert main(["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "national_cla_on_31_march_by_characteristics.csv" in err and "not found" in err
    assert not out.exists()


# --------------------------------------------------------------------------------------------------------------
# Invariants behind DfE's validation rules (docs/validation.md): each test names the rules it stands for.

FOSTER = ["U1", "U2", "U3", "U4", "U5", "U6"]


def _episodes(data: Path, y: int) -> pd.DataFrame:
    ep = read_table(data, y, "Episodes")
    ep["decom"], ep["dec"] = dates(ep["DECOM"]), dates(ep["DEC"])
    h = read_table(data, y, "Header").drop_duplicates(["LA", "CHILD"]).set_index(["LA", "CHILD"])
    ep["dob"] = dates(h["DOB"].reindex(pd.MultiIndex.from_frame(ep[["LA", "CHILD"]])).reset_index(drop=True))
    return ep.sort_values(["LA", "CHILD", "decom"], kind="stable").reset_index(drop=True)


def _years_10(dob: pd.Series) -> pd.Series:
    return dob + pd.DateOffset(years=10)


def test_postcodes_real_in_la_and_kept_within_a_placement(data):
    """169/179/392a/b/d, 406: real postcodes on every episode (no home postcode for UASC, home differs from
    placement except P1); 1015: PR1 non-foster placements inside the LA;
    434/435: RNE L keeps the placement (PLACE, PL_POST, URN, provider) and changes LS, P/T change the placement."""
    from rap.synth.postcodes import load

    pc = load().set_index("postcode")["la"]
    new_of = dict(zip(LAS["old_la_code"], LAS["new_la_code"]))
    for y in years_of(_params()):
        ep = _episodes(data, y)
        u = read_table(data, y, "UASC")
        uasc = pd.MultiIndex.from_frame(ep[["LA", "CHILD"]]).isin(pd.MultiIndex.from_frame(u[["LA", "CHILD"]]))
        assert (ep.loc[uasc, "HOME_POST"] == "").all()  # 406: no distance for UASC
        assert ep.loc[~uasc, "HOME_POST"].isin(pc.index).all() and ep["PL_POST"].isin(pc.index).all()
        own_la = ep["LA"].map(new_of)
        assert (ep.loc[~uasc, "HOME_POST"].map(pc) == own_la[~uasc]).all()
        assert not ((ep["PLACE"] != "P1") & (ep["HOME_POST"] == ep["PL_POST"])).any()  # 392d
        pr1 = (ep["PLACE_PROVIDER"] == "PR1") & ~ep["PLACE"].isin(FOSTER + ["A3", "A4", "A5", "A6"])
        assert (ep.loc[pr1, "PL_POST"].map(pc) == own_la[pr1]).all()
        assert (ep["PL_POST"].map(pc) != own_la).mean() > 0.1  # some children placed out of area
        prev = ep.groupby(["LA", "CHILD"]).shift(1)
        has_prev = prev["decom"].notna()
        cols = ["PLACE", "PL_POST", "URN", "PLACE_PROVIDER"]
        same_place = (ep[cols] == prev[cols]).all(axis=1)
        l_ = has_prev & (ep["RNE"] == "L")
        assert (same_place[l_] & (ep.loc[l_, "LS"] != prev.loc[l_, "LS"])).all()
        pt = has_prev & ep["RNE"].isin(["P", "T"])
        assert (~same_place[pt]).all()
        assert (ep.loc[has_prev & (ep["RNE"] == "P"), "LS"] == prev.loc[has_prev & (ep["RNE"] == "P"), "LS"]).all()


def test_placement_provider_urn_and_placement_sequences(data):
    """178: no provider for Z1; 527: no PR1 for P1/R2/R5; 217t/230: no P2 after 27/10/2023, H5 then has a URN;
    336: A3/A5 (with the current foster carer) only after foster/adoption placements; 516: E45/E46 only from foster placements."""
    for y in years_of(_params()):
        ep = _episodes(data, y)
        assert (ep.loc[ep["PLACE"] == "Z1", "PLACE_PROVIDER"] == "").all()
        # 218/222: a URN (XXXXXXX if not known) for placement types that take one, none for P1/P2/Z1.
        assert (ep.loc[~ep["PLACE"].isin(["H5", "P1", "P2", "P3", "R1", "R2", "R5", "Z1"]), "URN"] != "").all()
        assert (ep.loc[ep["PLACE"].isin(["P1", "P2", "Z1"]), "URN"] == "").all()
        assert not ((ep["PLACE_PROVIDER"] == "PR1") & ep["PLACE"].isin(["P1", "R2", "R5"])).any()
        cut = pd.Timestamp(2023, 10, 28)
        p2 = ep["PLACE"] == "P2"
        open_after = ep["dec"].isna() & (pd.Timestamp(y, 3, 31) >= cut)
        assert not (p2 & (open_after | (ep["dec"] >= cut))).any()
        h5 = (ep["PLACE"] == "H5") & (open_after | (ep["dec"] > cut))
        assert ep.loc[h5, "URN"].str.fullmatch(r"\d{7}").all()
        prev = ep.groupby(["LA", "CHILD"]).shift(1)
        a5 = ep["PLACE"].isin(["A3", "A5"]) & prev["decom"].notna()
        assert a5.any() and prev.loc[a5, "PLACE"].isin(FOSTER + ["A3", "A4", "A5", "A6"]).all()
        assert ep.loc[ep["REC"].isin(["E45", "E46"]), "PLACE"].isin(FOSTER).all()


def test_legal_status_durations_and_ages(data):
    """361: L1 runs at most 3 days; 364: J2 runs at most 21 days (open: to 31 March); 358/372: J1-J3 and R5
    only from the 10th birthday."""
    for y in years_of(_params()):
        ep = _episodes(data, y)
        ep = ep[~(ep["dec"] < ep["decom"])]  # injected DEC < DECOM defect
        end = ep["dec"].fillna(pd.Timestamp(y, 3, 31))
        for ls, most in (("L1", 3), ("J2", 21)):
            on = ep["LS"] == ls
            run = (on != on.groupby([ep["LA"], ep["CHILD"]]).shift(1, fill_value=False)).cumsum()
            g = pd.DataFrame({"run": run[on], "lo": ep.loc[on, "decom"], "hi": end[on]}).groupby("run")
            assert ((g["hi"].max() - g["lo"].min()).dt.days <= most).all(), ls
        young = ep["decom"] < _years_10(ep["dob"])
        assert not (young & (ep["LS"].isin(["J1", "J2", "J3"]) | (ep["PLACE"] == "R5"))).any()


def test_header_mother_and_upn_codes(data):
    """165/393/607: MOTHER 0/1 for girls looked after in the year, blank for boys and for care leavers with no
    episode; MC_DOB only with MOTHER 1. 209: no UN1."""
    p = _params()
    for y in years_of(p):
        h = read_table(data, y, "Header")
        ep = read_table(data, y, "Episodes")
        girl = h["SEX"] == codelist("SEX", y)[1]
        lac = pd.MultiIndex.from_frame(h[["LA", "CHILD"]]).isin(pd.MultiIndex.from_frame(ep[["LA", "CHILD"]]))
        assert h.loc[girl & lac, "MOTHER"].isin(["0", "1"]).all()
        assert (h.loc[~(girl & lac), "MOTHER"] == "").all()
        assert ((h["MC_DOB"] != "") == (h["MOTHER"] == "1")).all()
        assert not (h["UPN"] == "UN1").any()


def test_oc2_items_by_age(data):
    """546: HEALTH_CHECK only under 5 at 31 March; 197B: a child turning 4 or 17 has an SDQ score or reason;
    157: SDQ1 not for children aged 4-16 all year; 158: INTERVENTION_OFFERED blank when RECEIVED is 1;
    191: the other items always filled."""
    for y in years_of(_params()):
        o = read_table(data, y, "OC2")
        dob = dates(o["DOB"])
        ys, ye = pd.Timestamp(y - 1, 4, 1), pd.Timestamp(y, 3, 31)
        b = {k: dob + pd.DateOffset(years=k) for k in (4, 5, 16, 17)}
        assert (o.loc[b[5] <= ye, "HEALTH_CHECK"] == "").all()
        assert o.loc[b[5] > ye, "HEALTH_CHECK"].isin(["0", "1"]).all()
        turning = b[4].between(ys, ye) | b[17].between(ys, ye)
        assert ((o["SDQ_SCORE"] != "") | (o["SDQ_REASON"] != ""))[turning].all()
        assert not ((b[4] <= ys) & (b[16] >= ye) & (o["SDQ_REASON"] == "SDQ1")).any()
        assert (o.loc[o["INTERVENTION_RECEIVED"] == "1", "INTERVENTION_OFFERED"] == "").all()
        assert (o[["IMMUNISATIONS", "TEETH_CHECK", "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE"]] != "").all().all()


def test_sw_reason_duc_and_oc3(data):
    """SW03STG1/SW13STG1: every SW episode has a valid SW_REASON; 205A-D/304: DUC is the 18th birthday in
    every year; 133: OC3 ACCOM from the code list (no S1/X1); 1016: from 2024, no OC3 at 17/18 for young people
    who ceased on or after that birthday; 1011: no OC3 after a final REC E3."""
    p = _params()
    accom = {f"{c}{s}" for c in "BCDEGHKRTUVWYZ" for s in "12"} | {"S2", "X2", "0"}
    for y in years_of(p):
        if "SWEpisodes" in tables_for(y):
            sw = read_table(data, y, "SWEpisodes")
            assert sw["SW_REASON"].isin(codelist("SW_REASON", y)).all()
        u = read_table(data, y, "UASC")
        assert (dates(u["DUC"]) == dates(u["DOB"]) + pd.DateOffset(years=18)).all()
        o = read_table(data, y, "OC3")
        assert o["ACCOM"].isin(accom).all()
        ep = read_table(data, y, "Episodes")
        ep["dec"] = dates(ep["DEC"])
        m = o.merge(ep, on=["LA", "CHILD"])
        assert not (m["REC"] == "E3").any()
        if y >= 2024:
            dob = dates(m["DOB"])
            ye = pd.Timestamp(y, 3, 31)
            for k in (17, 18):
                age_k = (dob + pd.DateOffset(years=k) <= ye) & (dob + pd.DateOffset(years=k + 1) > ye)
                assert not (age_k & (m["dec"] >= dob + pd.DateOffset(years=k))).any()


def test_missing_ends_with_placement_and_care(data):
    """575/577: an incident without MIS_END lies in the placement open on 31 March; 580: nobody is missing on
    the day care ends (MIS_END before the final DEC)."""
    for y in years_of(_params()):
        ep = _episodes(data, y)
        ep = ep[~(ep["dec"] < ep["decom"])]
        last = ep.groupby(["LA", "CHILD"]).tail(1).set_index(["LA", "CHILD"])
        m = read_table(data, y, "Missing").join(last[["decom", "dec", "REC"]], on=["LA", "CHILD"])
        ms, me = dates(m["MIS_START"]), dates(m["MIS_END"])
        opn = me.isna() & m["decom"].notna()
        assert (m.loc[opn, "dec"].isna() & (ms[opn] >= m.loc[opn, "decom"])).all()
        ended = m["dec"].notna() & me.notna()
        assert (me[ended] < m.loc[ended, "dec"]).all()
