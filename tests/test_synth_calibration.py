"""Calibration of the synthetic data against DfE's published 2024 figures (tests/fixtures/published_2024/).

Each measure is computed from the generated files with plain pandas, using DfE's definitions (the methodology
of "Children looked after in England including adoptions"), and compared with the published figure.

Tolerances. The data are generated at ``small`` scale (1/20: about 4,200 children looked after on 31 March), so
every synthetic share carries sampling error. A share passes when
``|synthetic - published| <= 4 * SE + allowance``, where SE = sqrt(p(1-p)/n) at the synthetic denominator n
(4 SE: a false alarm about 1 in 16,000 per comparison) and the allowance covers model error that the generator
does not remove (published figures are rounded to the nearest 10 and whole percent; the LA-mix tilt and the
UASC split move shares a little; recorded ethnicity includes injected unknown/changed codes):
0.5 percentage points for ethnic shares, 1.5 for missing and placement stability, 2 for care leavers' NEET and
3 for key stage results. Counts must be within 6% of 1/20 of the published count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.core.params import load_params
from rap.domain.ethnicity import codes, known_codes, map_ees_labels
from rap.synth import generate

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "published_2024"
YEAR = 2024
SCALE = 1 / 20
MAJORS = ["white", "mixed", "asian", "black", "other"]
RESULTS: list[tuple[str, float, float, float]] = []


def pub(name: str) -> pd.DataFrame:
    df = pd.read_csv(FIX / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip())


def by_ethnicity(df: pd.DataFrame, col: str = "number") -> tuple[dict[str, float], dict[str, float]]:
    """(minor by code, major by key) from the ethnicity rows of a published table."""
    rows = df[~df["characteristic"].str.casefold().str.startswith("total")]
    m = map_ees_labels(rows["characteristic"])
    num = pd.to_numeric(rows[col], errors="coerce")  # c (suppressed) -> NaN
    minor = {v: float(n) for (lv, v), n in zip(m.itertuples(index=False), num) if lv == "minor"}
    major = {v: float(n) for (lv, v), n in zip(m.itertuples(index=False), num) if lv == "major"}
    if "OOTH" not in minor:
        minor["OOTH"] = major["other"]
    return minor, major


def check(name: str, synthetic: float, published: float, n: int, allowance: float) -> None:
    se = np.sqrt(max(published * (1 - published), 1e-6) / max(n, 1))
    tol = 4 * se + allowance
    RESULTS.append((name, published, synthetic, tol))
    assert abs(synthetic - published) <= tol, (
        f"{name}: synthetic {synthetic:.4f} vs published {published:.4f} (n={n}, tol {tol:.4f})"
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, pd.DataFrame]:
    p = load_params(ROOT / "params" / "2024.yaml", years=3, synth={"scale": "small"})
    root = generate(p, tmp_path_factory.mktemp("calib") / "synthetic")
    out = {}
    for y in p.series_years:
        for t in ["header", "episodes", "missing", "oc3"]:
            frames = []
            for folder in sorted((root / "ssda903" / str(y)).iterdir()):
                df = pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False)
                df.insert(0, "LA", folder.name)
                frames.append(df)
            out[f"{t}_{y}"] = pd.concat(frames, ignore_index=True)
        out[f"school_{y}"] = pd.read_csv(root / "school" / f"{y}.csv", dtype=str, keep_default_na=False)
    return out


def _d(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%d/%m/%Y")


def children(files, y: int) -> pd.DataFrame:
    """One row per child looked after during year y, with on_31_march, started, lac_12m, ethnic code and major."""
    h = files[f"header_{y}"].drop_duplicates(["LA", "CHILD"]).set_index(["LA", "CHILD"])
    ep = files[f"episodes_{y}"].copy()
    ep["decom"], ep["dec"] = _d(ep["DECOM"]), _d(ep["DEC"])
    ys, ye = pd.Timestamp(y - 1, 4, 1), pd.Timestamp(y, 3, 31)
    ep = ep.sort_values(["LA", "CHILD", "decom"])
    ep["placement"] = ep["RNE"].isin(["S", "P", "T", "B", "U"]) & (ep["decom"] >= ys)
    ep["open"] = (ep["decom"] <= ye) & ep["dec"].isna()
    ep["start"] = (ep["RNE"] == "S") & (ep["decom"] >= ys)
    g = ep.groupby(["LA", "CHILD"])
    c = pd.DataFrame(
        {
            "first": g["decom"].min(),
            "on_31_march": g["open"].any(),
            "started": g["start"].any(),
            "placements": g["placement"].sum(),
        }
    )
    c["placements"] += (c["first"] < ys).astype(int)
    c["lac_12m"] = c["on_31_march"] & (c["first"] <= pd.Timestamp(y - 1, 3, 31))
    c["ethnic"] = h["ETHNIC"].reindex(c.index)
    c["upn"] = h["UPN"].reindex(c.index)
    c["sex"] = h["SEX"].reindex(c.index)
    c["dob"] = _d(h["DOB"].reindex(c.index))
    c["known"] = c["ethnic"].isin(known_codes())
    c["major"] = c["ethnic"].map(codes()["major"])
    return c


@pytest.fixture(scope="module")
def kids(files) -> pd.DataFrame:
    return children(files, YEAR)


def test_counts(kids):
    cla = pub("national_cla_on_31_march_by_characteristics.csv")
    cla = cla[cla["time_period"] == "2024"]
    on31 = float(cla[(cla["cla_group"] == "Age group") & (cla["characteristic"] == "Total children")]["number"].iloc[0])
    st = pub("national_cla_started_to_be_looked_after.csv")
    st = st[st["time_period"] == "2024"]
    starts = float(
        st[(st["cla_group"] == "Age on starting") & (st["characteristic"] == "Total children")]["number"].iloc[0]
    )
    dy = pub("national_cla_during_the_year_and_on_31_march_for_at_least_12_mths_by_characteristics.csv")
    dy = dy[
        (dy["time_period"] == "2024")
        & (dy["population_group"] == "Age group")
        & (dy["characteristic"] == "Total children")
    ]
    during = float(dy[dy["CLA_group"].str.startswith("All children")]["Number"].iloc[0])
    for name, got, want in [
        ("on 31 March", kids["on_31_march"].sum(), on31),
        ("during year", len(kids), during),
        ("started", kids["started"].sum(), starts),
    ]:
        RESULTS.append((f"count {name} (x20)", want, got / SCALE, 0.06 * want))
        assert abs(got / (want * SCALE) - 1) <= 0.06, (name, got, want * SCALE)


def test_minor_shares_on_31_march(kids):
    cla = pub("national_cla_on_31_march_by_characteristics.csv")
    minor, _ = by_ethnicity(cla[(cla["time_period"] == "2024") & (cla["cla_group"] == "Ethnicity")])
    known = {c: v for c, v in minor.items() if c in known_codes()}
    total = sum(known.values())
    s = kids[kids["on_31_march"] & kids["known"]]
    for c, v in known.items():
        check(f"31 March share {c}", (s["ethnic"] == c).mean(), v / total, len(s), 0.005)


def test_starters_by_ethnicity(kids):
    st = pub("national_cla_started_to_be_looked_after.csv")
    minor, _ = by_ethnicity(st[(st["time_period"] == "2024") & (st["cla_group"] == "Ethnicity")])
    known = {c: v for c, v in minor.items() if c in known_codes()}
    total = sum(known.values())
    s = kids[kids["started"] & kids["known"]]
    for c, v in known.items():
        check(f"starters share {c}", (s["ethnic"] == c).mean(), v / total, len(s), 0.005)


def test_missing_by_major(kids, files):
    mi = pub("official_statistics_cla_who_were_missing.csv")
    mi = mi[
        (mi["time_period"] == "2024") & (mi["missing_status"] == "Children missing from placement by ethnic origin")
    ]
    _, miss = by_ethnicity(mi)
    dy = pub("national_cla_during_the_year_and_on_31_march_for_at_least_12_mths_by_characteristics.csv")
    dy = dy[
        (dy["time_period"] == "2024")
        & dy["CLA_group"].str.startswith("All children")
        & (dy["population_group"] == "Ethnicity")
    ]
    _, den = by_ethnicity(dy, "Number")
    m = files[f"missing_{YEAR}"]
    who = set(zip(m.loc[m["MISSING"] == "M", "LA"], m.loc[m["MISSING"] == "M", "CHILD"]))
    k = kids.copy()
    k["missing"] = [i in who for i in k.index]
    check("missing % overall", k["missing"].mean(), sum(miss.values()) / sum(den.values()), len(k), 0.015)
    for g in MAJORS:
        s = k[k["major"] == g]
        check(f"missing % {g}", s["missing"].mean(), miss[g] / den[g], len(s), 0.015)


def test_three_plus_placements_by_major(kids):
    pl = pub("national_cla_pl_count_by_characteristics.csv")
    pl = pl[
        (pl["time_period"] == "2024") & (pl["cla_group"] == "CLA on 31 March") & (pl["population_group"] == "Ethnicity")
    ]
    _, num = by_ethnicity(pl[pl["placement_stability"] == "With 3 or more placements during the year"])
    _, den = by_ethnicity(pl[pl["placement_stability"] == "Total children"])
    s = kids[kids["on_31_march"]]
    for g in MAJORS:
        sg = s[s["major"] == g]
        check(f"3+ placements % {g}", (sg["placements"] >= 3).mean(), num[g] / den[g], len(sg), 0.015)


def test_care_leavers_19_21_neet_by_major(files, kids):
    a = pub("national_activity_of_care_leaver_by_placement_ethnicity.csv")
    a = a[(a["time_period"] == "2024") & (a["care_leaver_age"] == "19to21 years") & (a["cla_group"] == "Ethnicity")]
    labels = {
        "white": "Total White",
        "mixed": "Total Mixed or Multiple ethnic groups",
        "asian": "Total Asian or Asian British",
        "black": "Total Black, African, Caribbean or Black British",
        "other": "Total other ethnic group",
    }
    o = files[f"oc3_{YEAR}"].copy()
    h = files[f"header_{YEAR}"].drop_duplicates(["LA", "CHILD"]).set_index(["LA", "CHILD"])
    o = o.join(h[["ETHNIC"]], on=["LA", "CHILD"])
    dob = _d(o["DOB"])
    o["age"] = YEAR - dob.dt.year - (dob.dt.month > 3).astype(int)
    o = o[o["age"].between(19, 21)]
    o["neet"] = o["ACTIV"].isin(["G4", "G5", "G6"])
    o["major"] = o["ETHNIC"].map(codes()["major"])
    for g, lab in labels.items():
        r = a[a["characteristic"] == lab]
        neet = float(r[r["activity_type"] == "Not in education, employment or training"]["number"].iloc[0])
        tot = float(r[r["activity_type"] == "Total care leavers"]["number"].iloc[0])
        s = o[o["major"] == g]
        check(f"19-21 NEET % {g}", s["neet"].mean(), neet / tot, len(s), 0.02)


def test_key_stage_levels_for_cla_12_months(files):
    ks2 = pub("ks2_la.csv")
    ks2 = ks2[(ks2["geographic_level"] == "National") & (ks2["social_care_group"] == "CLA 12 months at 31 March")]
    ks4 = pub("ks4_la.csv")
    ks4 = ks4[(ks4["geographic_level"] == "National") & (ks4["social_care_group"] == "CLA 12 months at 31 March")]
    obs: dict[str, list[float]] = {}
    exp: dict[str, list[float]] = {}
    for y in (2022, 2023, 2024):
        k = children(files, y)
        upns = set(k.loc[k["lac_12m"], "upn"])
        s = files[f"school_{y}"]
        s = s[s["UPN"].isin(upns)]
        tp = f"{y - 1}{y % 100:02d}"
        r2 = ks2[ks2["time_period"] == tp].iloc[0]
        r4 = ks4[ks4["time_period"] == tp].iloc[0]
        y6 = s[s["NCYEAR"] == "6"]
        for col, pcol in [
            ("KS2_READ_EXP", "pt_read_met_expected_standard"),
            ("KS2_WRIT_EXP", "pt_writta_met_expected_standard"),
            ("KS2_MAT_EXP", "pt_mat_met_expected_standard"),
        ]:
            v = y6[col].astype(int)
            obs.setdefault(col, []).extend(v.tolist())
            exp.setdefault(col, []).extend([float(r2[pcol]) / 100] * len(v))
        y11 = s[s["NCYEAR"] == "11"]
        em = y11["KS4_EM_94"].astype(int)
        obs.setdefault("KS4_EM_94", []).extend(em.tolist())
        exp.setdefault("KS4_EM_94", []).extend([float(r4["pt_l2basics_94"]) / 100] * len(em))
        obs.setdefault("KS4_ATT8", []).extend(y11["KS4_ATT8"].astype(float).tolist())
        exp.setdefault("KS4_ATT8", []).extend([float(r4["avg_att8"])] * len(y11))
    for col in ["KS2_READ_EXP", "KS2_WRIT_EXP", "KS2_MAT_EXP", "KS4_EM_94"]:
        check(f"{col} 2022-24 pooled", float(np.mean(obs[col])), float(np.mean(exp[col])), len(obs[col]), 0.03)
    att8, want = float(np.mean(obs["KS4_ATT8"])), float(np.mean(exp["KS4_ATT8"]))
    tol = 4 * 16 / np.sqrt(len(obs["KS4_ATT8"])) + 1.0  # pupil SD about 16 points; 1 point allowance
    RESULTS.append(("KS4 Attainment 8 2022-24 pooled", want, att8, tol))
    assert abs(att8 - want) <= tol


def test_sex_and_uasc(kids, files):
    cla = pub("national_cla_on_31_march_by_characteristics.csv")
    cla = cla[cla["time_period"] == "2024"]
    male = float(cla[(cla["cla_group"] == "Gender") & (cla["characteristic"] == "Male")]["number"].iloc[0])
    tot = float(cla[(cla["cla_group"] == "Gender") & (cla["characteristic"] == "Total children")]["number"].iloc[0])
    s = kids[kids["on_31_march"]]
    check("male % on 31 March", (s["sex"] == "1").mean(), male / tot, len(s), 0.01)


def teardown_module(module):
    if RESULTS:
        print("\nmeasure | published | synthetic | tolerance")
        for name, p, s, t in RESULTS:
            print(f"{name} | {p:.4f} | {s:.4f} | {t:.4f}")
