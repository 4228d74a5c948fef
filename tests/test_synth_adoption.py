"""The synthetic AD1, PlacedAdoption and PrevPerm tables (rap.synth.adoption) on a small build of three years.

They are checked against the spec's layouts and code lists, against the episodes (adoption after a placement
for adoption, every adopted child in AD1, the stages in date order, one story across years), against the
validator's rules on them, against the readers, and against DfE's 2024 figures: adoptions by major ethnic group
(the generator's adoption probabilities applied to the synthetic children, within 3 percentage points; the
realised adoptions within sampling error) and previous permanence at entry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rap.core.params import load_params
from rap.domain.ethnicity import codes
from rap.domain.ssda903 import spec
from rap.synth import generate, simulate
from rap.synth.dates import year_end, year_start
from rap.synth.writers import FILES, codelist

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "published_2024"
REF = ROOT.parent / "shared" / "reference-data" / "ees-cla-2024-release"
YEAR = 2024
TABLES = ["AD1", "PlacedAdoption", "PrevPerm"]
ADOPTED = ["E11", "E12"]
ADOPTION_PLACES = ["A3", "A4", "A5", "A6"]
MAJORS = ["white", "mixed", "asian", "black", "other"]
LAS = pd.read_csv(ROOT / "src" / "rap" / "data" / "local_authorities.csv", dtype=str)["old_la_code"]


def _params():
    return load_params(ROOT / "params" / "2024.yaml", years=3, synth={"scale": "small"})


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return generate(_params(), tmp_path_factory.mktemp("adoption") / "synthetic")


@pytest.fixture(scope="module")
def tables(root) -> dict[tuple[str, int], pd.DataFrame]:
    """Every table of the build, all LAs together (an LA column added), by (table, year)."""
    out = {}
    for y in _params().series_years:
        for t in [*TABLES, "Episodes", "Header"]:
            frames = []
            for folder in sorted((root / "ssda903" / str(y)).iterdir()):
                df = pd.read_csv(folder / FILES[t], dtype=str, keep_default_na=False)
                df.insert(0, "LA", folder.name)
                frames.append(df)
            out[t, y] = pd.concat(frames, ignore_index=True)
    return out


def d(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%d/%m/%Y")


def published(name: str, group: str) -> dict[str, float]:
    """One cla_group of a published 2024 national file, number by characteristic (the shared reference data,
    else the test fixtures)."""
    path = REF / name if (REF / name).exists() else FIX / name
    if not path.exists():
        pytest.skip(f"{name} not available")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[(df["time_period"] == str(YEAR)) & (df["cla_group"] == group)]
    return dict(zip(df["characteristic"], pd.to_numeric(df["number"], errors="coerce")))


def flipped(root: Path) -> set[tuple[str, str]]:
    """Children given an episode that ends before it starts (an injected defect: their dates are wrong on
    purpose)."""
    t = pd.read_csv(root / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    t = t[t["defect"] == "episode_end_before_start"]
    return set(zip(t["la"], t["child"]))


def all_episodes(tables) -> pd.DataFrame:
    """Every episode of the three returns once (an open episode is in several years: its latest row kept)."""
    ep = pd.concat([tables["Episodes", y] for y in _params().series_years], ignore_index=True)
    return ep.drop_duplicates(["LA", "CHILD", "DECOM"], keep="last")


def test_three_tables_in_every_folder_with_exactly_the_spec_columns(root):
    for y in _params().series_years:
        folders = list((root / "ssda903" / str(y)).iterdir())
        assert len(folders) > 100
        for folder in folders:
            for t in TABLES:
                head = (folder / FILES[t]).read_text(encoding="utf-8").splitlines()[0]
                assert head.split(",") == list(spec()["tables"][t]["columns"]), (y, folder.name, t)


def test_codes_and_adopter_combinations_are_valid(tables):
    for y in _params().series_years:
        ad1, pa, pp = (tables[t, y] for t in TABLES)
        assert len(ad1) > 50 and len(pa) > len(ad1) and len(pp) > 1000, y
        for df, cols in [(ad1, ["FOSTER_CARE", "SEX_ADOPTR", "LS_ADOPTR"]), (pa, ["REASON_PLACED_CEASED"])]:
            for c in cols:
                assert set(df[c]) - {""} <= set(codelist(c, y)), (y, c)
        assert set(pp["PREV_PERM"]) <= set(codelist("PREV_PERM", y))
        # Validator rules 511, 514, 517, 518, 520, 524: number, sexes and legal status of adopters agree.
        single = ad1["LS_ADOPTR"] == "L0"
        assert (ad1.loc[single, "SEX_ADOPTR"].isin(["M1", "F1"]) & (ad1.loc[single, "NB_ADOPTR"] == "1")).all()
        assert (ad1.loc[~single, "NB_ADOPTR"] == "2").all()
        assert ad1.loc[ad1["LS_ADOPTR"].isin(["L11", "L3"]), "SEX_ADOPTR"].eq("MF").all()
        assert ad1.loc[ad1["LS_ADOPTR"].isin(["L12", "L4", "L2"]), "SEX_ADOPTR"].isin(["MM", "FF"]).all()


def test_every_adopted_child_has_ad1_and_was_placed_for_adoption_first(tables):
    for y in _params().series_years:
        ep, ad1 = tables["Episodes", y], tables["AD1", y]
        adopted = ep[ep["REC"].isin(ADOPTED)]
        assert len(adopted) > 50
        assert set(zip(adopted["LA"], adopted["CHILD"])) == set(zip(ad1["LA"], ad1["CHILD"])), y
        # The adoption ends an A3-A6 episode (rule 390); FOSTER_CARE says whether it was with the foster carer.
        assert adopted["PLACE"].isin(ADOPTION_PLACES).all()
        foster = ad1.merge(adopted, on=["LA", "CHILD"])
        assert (foster["FOSTER_CARE"] == np.where(foster["PLACE"].isin(["A3", "A5"]), "1", "0")).all()  # rule 335
        assert (foster["FOSTER_CARE"] == "1").any() and (foster["FOSTER_CARE"] == "0").any()
        # Rule 217: a placement with the current foster carers starts with the legal change (RNE S, T or U);
        # here U, the carer (and address) unchanged.
        with_carer = ep[ep["PLACE"].isin(["A3", "A5"])]
        assert with_carer["RNE"].isin(["S", "T", "U"]).all() and (with_carer["RNE"] == "U").any()
        prev = ep.groupby(["LA", "CHILD"]).shift(1).loc[with_carer.index]
        u = (with_carer["RNE"] == "U") & prev["DECOM"].notna()
        assert (with_carer.loc[u, "PL_POST"] == prev.loc[u, "PL_POST"]).all()
        assert (with_carer.loc[u, "LS"] != prev.loc[u, "LS"]).all()


def test_adoption_stages_in_date_order(tables, root):
    ep = all_episodes(tables)
    bad = flipped(root)
    ep = ep.assign(decom=d(ep["DECOM"]), dec=d(ep["DEC"]))
    by = ep.groupby(["LA", "CHILD"])
    entry = ep[ep["RNE"] == "S"].set_index(["LA", "CHILD"])["decom"]
    order = ep[ep["LS"] == "E1"].groupby(["LA", "CHILD"])["decom"].min()
    placed = ep[ep["PLACE"].isin(ADOPTION_PLACES)].groupby(["LA", "CHILD"])["decom"].min()
    adopted = ep[ep["REC"].isin(ADOPTED)].set_index(["LA", "CHILD"])["dec"]
    n = 0
    for y in _params().series_years:
        a = tables["AD1", y].set_index(["LA", "CHILD"])
        pa = tables["PlacedAdoption", y].set_index(["LA", "CHILD"])
        assert (pa.loc[a.index, "DATE_PLACED"] == a["DATE_INT"]).all()  # rule 523
        assert (pa.loc[a.index, "DATE_PLACED_CEASED"] == "").all()  # rule 558
        # Periods of care that started within the three returns, without an injected date defect.
        whole = a.index[a.index.isin(entry.index) & ~a.index.isin(list(bad))]
        n += len(whole)
        stages = [entry[whole], d(a.loc[whole, "DATE_INT"]), order[whole], d(a.loc[whole, "DATE_MATCH"])]
        stages += [placed[whole], adopted[whole]]
        for k, (lo, hi) in enumerate(zip(stages[:-1], stages[1:])):
            assert (lo.to_numpy() <= hi.to_numpy()).all(), (y, k)
        assert (stages[-2].to_numpy() < stages[-1].to_numpy()).all()  # placed before the adoption day
        assert (by["dec"].max()[a.index] <= pd.Timestamp(year_end(y), unit="D")).all()
    assert n > 100


def test_placed_adoption_matches_the_episodes_and_the_rules(tables, root):
    bad = flipped(root)
    for y in _params().series_years:
        ys, ye = pd.Timestamp(year_start(y), unit="D"), pd.Timestamp(year_end(y), unit="D")
        ep, pa = tables["Episodes", y], tables["PlacedAdoption", y]
        key = set(zip(pa["LA"], pa["CHILD"]))
        assert len(key) == len(pa)  # one decision per child
        needs = ep[(ep["LS"] == "E1") | ep["PLACE"].isin(ADOPTION_PLACES)]  # rule 553 and its placement twin
        assert set(zip(needs["LA"], needs["CHILD"])) <= key
        ceased = pa[pa["DATE_PLACED_CEASED"] != ""]
        assert len(ceased) > 10
        assert (ceased["REASON_PLACED_CEASED"] != "").all() and (pa["REASON_PLACED_CEASED"] != "").sum() == len(ceased)
        assert (d(ceased["DATE_PLACED"]) <= d(ceased["DATE_PLACED_CEASED"])).all()
        assert d(ceased["DATE_PLACED_CEASED"]).between(ys, ye).all()  # rules 117, 118
        assert (d(pa["DATE_PLACED"]) <= ye).all()
        # Decisions not yet acted on: looked after on 31 March, not (yet) placed for adoption.
        open_ = ep[ep["DEC"] == ""]
        waiting = open_[~open_["PLACE"].isin(ADOPTION_PLACES)].merge(
            pa[pa["DATE_PLACED_CEASED"] == ""], on=["LA", "CHILD"]
        )
        assert len(waiting) > 20
        # A reversed decision: never placed for adoption, never adopted, ceased no later than care.
        rev = ep.merge(ceased[["LA", "CHILD", "DATE_PLACED_CEASED"]], on=["LA", "CHILD"])
        assert not rev["PLACE"].isin(ADOPTION_PLACES).any() and not rev["REC"].isin(ADOPTED).any()
        ok = np.array([k not in bad for k in zip(rev["LA"], rev["CHILD"])], dtype=bool)
        left = rev[rev["REC"].str.startswith("E").to_numpy() & ok]
        assert (d(left["DEC"]) >= d(left["DATE_PLACED_CEASED"])).all()


def test_decisions_are_the_same_in_every_year(tables):
    years = _params().series_years
    for a, b in zip(years[:-1], years[1:]):
        both = tables["PlacedAdoption", a].merge(tables["PlacedAdoption", b], on=["LA", "CHILD"])
        assert len(both) > 100
        assert (both["DATE_PLACED_x"] == both["DATE_PLACED_y"]).all()
        # A reversal reported last year is not reported again (rule 118).
        assert (both["DATE_PLACED_CEASED_x"] == "").all()


def test_prev_perm_for_exactly_the_starters(tables):
    for y in _params().series_years:
        ep, pp = tables["Episodes", y], tables["PrevPerm", y]
        starts = ep[
            (ep["RNE"] == "S")
            & d(ep["DECOM"]).between(pd.Timestamp(year_start(y), unit="D"), pd.Timestamp(year_end(y), unit="D"))
        ]
        assert set(zip(starts["LA"], starts["CHILD"])) == set(zip(pp["LA"], pp["CHILD"])), y
        none, unknown = pp["PREV_PERM"] == "Z1", pp["PREV_PERM"] == "P4"
        assert (pp.loc[none, ["LA_PERM", "DATE_PERM"]] == "").all().all()  # rule 635
        assert unknown.sum() > 100  # rules 630, 632, 633: not known, written as such
        assert (pp.loc[unknown, "LA_PERM"] == "999").all() and (pp.loc[unknown, "DATE_PERM"] == "ZZ/ZZ/ZZZZ").all()
        dated = pp[~none & ~unknown].merge(starts, on=["LA", "CHILD"])
        assert len(dated) > 5 and dated["LA_PERM"].isin(set(LAS)).all()
        assert (d(dated["DATE_PERM"]) > d(dated["DOB"])).all() and (d(dated["DATE_PERM"]) < d(dated["DECOM"])).all()


def test_prev_perm_shares_match_published(tables):
    pub = published("national_cla_started_to_be_looked_after.csv", "Previous permanence arrangement")
    total = pub.pop("Total children")
    rows = {
        "P1": "Adoption",
        "P2": "Special guardianship order",
        "P4": "Unknown",
        "Z1": "No previous permanence option",
    }
    pp = pd.concat([tables["PrevPerm", y] for y in _params().series_years])
    for code, label in rows.items():
        share, want = (pp["PREV_PERM"] == code).mean(), pub[label] / total
        assert abs(share - want) <= 4 * np.sqrt(want * (1 - want) / len(pp)) + 0.01, (code, share, want)


def _published_adopted_shares() -> dict[str, float]:
    """DfE's 2024 shares of children adopted by major group, among those of known ethnicity."""
    from rap.domain.ethnicity import map_ees_labels

    pub = published("national_cla_who_were_adopted_during_the_year.csv", "Ethnic origin")
    pub.pop("Total")
    mapped = map_ees_labels(pd.Series(list(pub)))
    by = {m: pub[label] for label, m in zip(pub, mapped["value"])}
    known = sum(by[m] for m in MAJORS)
    return {m: by[m] / known for m in MAJORS}


def test_adoption_probabilities_give_dfe_shares_by_major_group():
    """The generator's adoption probabilities applied to the synthetic children who could be adopted in
    2023/24: each major group's expected share of adoptions within 3 percentage points of DfE's."""
    from rap.synth.journeys import MAJOR_IDX

    w = simulate(_params())
    p = w["p"]
    end = p["end"].to_numpy()
    pool = p["can_adopt"].to_numpy() & (end >= year_start(YEAR)) & (end <= year_end(YEAR))
    major = MAJOR_IDX[p["code"].to_numpy()[pool]]
    expected = np.bincount(major, weights=w["model"]["adopt_p"][major], minlength=len(MAJORS))
    expected /= expected.sum()
    pub = _published_adopted_shares()
    for k, m in enumerate(MAJORS):
        assert abs(expected[k] - pub[m]) <= 0.03, (m, expected[k], pub[m])
    # Without the ethnicity multipliers the pool's own mix would be far off (White about 76%, Black 8%).
    assert abs(np.bincount(major, minlength=5)[0] / len(major) - pub["white"]) > 0.05


def test_realised_adoptions_by_recorded_ethnicity(tables):
    """The adopted children of the three years by their recorded ethnicity (REFU/NOBT as DfE's unknown row):
    DfE's shares within 4 standard errors plus 1 percentage point."""
    major = codes()["major"].to_dict()
    rows = []
    for y in _params().series_years:
        h = tables["Header", y].drop_duplicates(["LA", "CHILD"])
        rows.append(tables["AD1", y].merge(h, on=["LA", "CHILD"])["ETHNIC"].map(major).fillna("unknown"))
    got = pd.concat(rows)
    pub = published("national_cla_who_were_adopted_during_the_year.csv", "Ethnic origin")
    total = pub.pop("Total")
    from rap.domain.ethnicity import map_ees_labels

    want = dict(zip(map_ees_labels(pd.Series(list(pub)))["value"], np.array(list(pub.values())) / total))
    for m, share in want.items():
        tol = 4 * np.sqrt(share * (1 - share) / len(got)) + 0.01
        assert abs((got == m).mean() - share) <= tol, (m, (got == m).mean(), share)


def test_readers_keep_every_row_of_the_new_tables(root):
    from rap.inputs.readers.ssda903 import read_ssda903_folder

    for la in ["201", "330", "886"]:
        res = read_ssda903_folder(root / "ssda903" / str(YEAR) / la, YEAR, la)
        for t in TABLES:
            raw = pd.read_csv(root / "ssda903" / str(YEAR) / la / FILES[t], dtype=str)
            assert len(res.tables[t]) == len(raw), (la, t, res.rejected.head())
