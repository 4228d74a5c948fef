"""Children aged 0-17 by ethnic group, for England, its regions and every LA, each reporting year: an estimate.

No source gives children by ethnic group for each LA, so (``rap/data/population/``, method in the methods
annex and docs/assumptions.md):

* the LA's total is the ONS mid-year estimate of children aged 0-17 for mid-(Y-1), as DfE uses for year Y;
* its split by the 18 DfE groups is the LA's pupils in the January school census of the school year ending in
  Y-1 (DfE "Schools, pupils and their characteristics"), Unclassified pupils spread in proportion. Years the
  census extract does not reach take the nearest census year (``carried_forward``); an LA the census never has
  takes its predecessor's pupils (``la_predecessors.csv``);
* each major group's share is scaled by the ratio of its share of under-18s to its share of school-age children
  in Census 2021 (England and Wales; ``age_bands.csv``), then the shares are made to sum to 1 again, so the
  LA's total is still the ONS estimate;
* regions and England are sums of their LAs (Inner and Outer London separate).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from rap.domain.disclosure import round_half_up
from rap.domain.ethnicity import codes, major_groups
from rap.domain.geography import local_authorities

#: Columns of :func:`child_population` (LA rows).
COLUMNS = [
    "time_period",
    "population_year",
    "school_census_year",
    "carried_forward",
    "old_la_code",
    "new_la_code",
    "code",
    "major",
    "population",
]


def _read(name: str, **kw) -> pd.DataFrame:
    with resources.files("rap.data").joinpath("population", name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, **kw)


@lru_cache(maxsize=1)
def age_factors() -> pd.Series:
    """Each major group's share of children aged 0-17 over its share of school-age children (Census 2021,
    England and Wales): how far the school census's mix is moved towards the mix of all under-18s."""
    ages = _read("census2021_age_by_ethnicity_ew.csv")
    bands = _read("age_bands.csv").set_index("age_code")
    major = _read("census2021_age_groups.csv").set_index("ethnic_code")["major"]
    ages = ages.assign(major=ages["ethnic_code"].map(major))
    out = {}
    for col in ("under_18", "school_age"):
        w = ages["population"] * ages["age_code"].map(bands[col])
        g = w.groupby(ages["major"]).sum()
        out[col] = g / g.sum()
    return (out["under_18"] / out["school_age"]).rename("factor")


@lru_cache(maxsize=1)
def school_shares() -> pd.DataFrame:
    """Each LA's share of classified pupils in each DfE group, by school census year (time_period as 202122),
    age-adjusted (module notes). Index (time_period, old_la_code), one column per DfE code."""
    wide = _read("school_census_pupils_by_ethnicity_la.csv", dtype={"old_la_code": str})
    label_map = _read("school_census_ethnicity_map.csv", keep_default_na=False)
    mapped = dict(zip(label_map["school_census_label"], label_map["code"]))
    missing = sorted(set(wide.columns[3:]) - set(mapped))
    if missing:
        raise KeyError(f"school census groups {missing} are not in rap/data/population/school_census_ethnicity_map.csv")
    known = [c for c in wide.columns[3:] if mapped[c]]
    counts = wide.set_index(["time_period", "old_la_code"])[known].rename(columns=mapped)
    major = codes()["major"]
    adj = counts * counts.columns.map(major).map(age_factors()).to_numpy(float)
    return adj.div(adj.sum(axis=1), axis=0)


@lru_cache(maxsize=1)
def mid_year_0_17() -> pd.DataFrame:
    """ONS mid-year estimates of children aged 0-17 by LA (time_period = the estimate's year)."""
    return _read("ons_mid_year_0_17_la.csv", dtype={"old_la_code": str})


def census_year_for(year: int) -> int:
    """The school census year matched to reporting year ``year``: the school year ending in Y-1 (202223 for
    2024), whose January count is nearest the mid-(Y-1) population."""
    return (year - 2) * 100 + (year - 1) % 100


def _nearest(available: list[int], target: int) -> int:
    """The nearest of ``available`` to ``target`` (the earlier on a tie)."""
    return min(available, key=lambda a: (abs(a - target), a))


@lru_cache(maxsize=1)
def _census_years() -> dict[str, list[int]]:
    """{old LA code: the school census years holding it}."""
    idx = school_shares().index.to_frame(index=False)
    return {str(k): sorted(int(t) for t in g["time_period"]) for k, g in idx.groupby("old_la_code")}


@lru_cache(maxsize=1)
def _predecessors() -> dict[str, str]:
    pred = _read("la_predecessors.csv", dtype=str)
    return dict(zip(pred["old_la_code"], pred["predecessor_old_la_code"]))


def _shares_for(old_la_code: str, target: int) -> tuple[int, pd.Series]:
    """(school census year used, shares) for an LA: the nearest census year holding it, else its predecessor's."""
    sh = school_shares()
    held = _census_years()
    pred = _predecessors()
    la = old_la_code if old_la_code in held or old_la_code not in pred else pred[old_la_code]
    years = held.get(la, [])
    if not years:
        raise KeyError(f"LA {old_la_code}: no pupils in the school census extract and no predecessor listed")
    used = _nearest(years, target)
    return used, sh.loc[(used, la)]


def _totals(year: int, las: list[str] | None) -> pd.DataFrame:
    """LA totals for reporting year ``year`` (mid-(Y-1)); for ``las`` not in that year's estimates, their
    nearest year's."""
    my = mid_year_0_17()
    want = int(year) - 1
    avail = sorted(my["time_period"].unique())
    use = _nearest(avail, want)
    tot = my[my["time_period"] == use]
    if las is None:
        return tot
    rows = []
    for la in las:
        have = my[my["old_la_code"] == la]
        if have.empty:
            continue
        rows.append(have.loc[[(have["time_period"] - want).abs().idxmin()]])
    return pd.concat(rows, ignore_index=True)


def child_population(years: list[int], las: list[str] | None = None) -> pd.DataFrame:
    """Children 0-17 by reporting year, LA and DfE group (:data:`COLUMNS`; unrounded). ``las``: old LA codes
    to estimate (default: the LAs of ONS's estimates for mid-(Y-1))."""
    major = codes()["major"]
    frames = []
    for y in years:
        target = census_year_for(int(y))
        for r in _totals(int(y), las).itertuples():
            used, share = _shares_for(str(r.old_la_code), target)
            frames.append(
                pd.DataFrame(
                    {
                        "time_period": int(y),
                        "population_year": int(r.time_period),
                        "school_census_year": used,
                        "carried_forward": used != target,
                        "old_la_code": str(r.old_la_code),
                        "new_la_code": r.new_la_code,
                        "code": share.index,
                        "major": share.index.map(major),
                        "population": float(r.population) * share.to_numpy(float),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def years_carried_forward(years) -> list[int]:
    """The reporting years whose school census shares come from another census year than their own."""
    return [int(y) for y in years if census_year_for(int(y)) not in _all_census_years()]


@lru_cache(maxsize=1)
def _all_census_years() -> frozenset[int]:
    return frozenset(int(t) for t in school_shares().index.get_level_values(0))


def with_areas(la: pd.DataFrame) -> pd.DataFrame:
    """LA rows of :func:`child_population` plus Regional and National rows that are their sums (regions as in
    ``local_authorities.csv``), each with geographic_level, region_code and region_name."""
    las = local_authorities()
    my = mid_year_0_17().drop_duplicates("old_la_code", keep="first").set_index("old_la_code")
    la = la.assign(geographic_level="Local authority")
    for col in ("region_code", "region_name"):  # the project's regions (Inner/Outer London), else ONS's
        la[col] = la["old_la_code"].map(las[col]).fillna(la["old_la_code"].map(my[col]))
    keys = ["time_period", "code", "major"]
    flag = la.groupby(["time_period"])["carried_forward"].any().rename("carried_forward")
    reg = la.groupby(keys + ["region_code", "region_name"], as_index=False)["population"].sum()
    nat = la.groupby(keys, as_index=False)["population"].sum()
    reg = reg.merge(flag.reset_index(), on="time_period").assign(geographic_level="Regional")
    nat = nat.merge(flag.reset_index(), on="time_period").assign(geographic_level="National")
    return pd.concat([nat, reg, la], ignore_index=True)


#: Indicators of the published table: (label, unit, decimal places).
INDICATORS = {
    "population": ("Children aged 0-17, estimated (nearest 10)", "", 0),
    "population_year": ("Year of the ONS mid-year estimate (mid-year)", "", 0),
    "school_census_year": ("School census year of the ethnic shares", "", 0),
}
#: ``carried_forward`` describes a row (EES indicators hold numbers, so it is a filter, one item per row).
FILTERS = {
    "ethnicity_major": "Ethnic group (major)",
    "ethnicity_minor": "Ethnic group (minor)",
    "carried_forward": "School census shares",
}
CARRIED = {True: "Carried forward from another census year", False: "The reporting year's census"}


def publication_frame(years: list[int], base: int = 10) -> pd.DataFrame:
    """The published table (EES columns apart from the country ones): every area and year, each major group
    (minor ``Total``), each DfE group and all children, population rounded half up to ``base``."""
    la = child_population(years)
    yr = la.groupby("time_period")[["population_year", "school_census_year"]].agg(lambda s: int(s.mode()[0]))
    areas = with_areas(la)
    keys = ["time_period", "geographic_level", "region_code", "region_name", "old_la_code", "new_la_code"]
    areas[keys[2:]] = areas[keys[2:]].fillna("")
    majors = major_groups()["label_cla"]
    areas["ethnicity_major"] = areas["major"].map(majors)
    areas["ethnicity_minor"] = areas["code"].map(codes()["label"])
    grp = keys + ["ethnicity_major"]
    by_major = areas.groupby(grp, as_index=False)["population"].sum().assign(ethnicity_minor="Total")
    total = (
        areas.groupby(keys, as_index=False)["population"].sum().assign(ethnicity_major="Total", ethnicity_minor="Total")
    )
    out = pd.concat([total, by_major, areas[grp + ["ethnicity_minor", "population"]]], ignore_index=True)
    flags = areas.groupby(keys)["carried_forward"].any().rename("carried_forward").reset_index()
    out = out.merge(flags, on=keys, how="left")
    la_years = la.groupby(["time_period", "old_la_code"])[["population_year", "school_census_year"]].first()
    idx = pd.MultiIndex.from_arrays([out["time_period"], out["old_la_code"]])
    for col in ("population_year", "school_census_year"):
        own = pd.Series(la_years[col].reindex(idx).to_numpy(), index=out.index)
        out[col] = own.fillna(out["time_period"].map(yr[col])).astype(int)
    out["carried_forward"] = out["carried_forward"].map(CARRIED)
    out["population"] = round_half_up(out["population"].to_numpy(float), base)
    names = mid_year_0_17().drop_duplicates("old_la_code").set_index("old_la_code")["la_name"]
    out["la_name"] = out["old_la_code"].map(names).fillna("")
    level = out["geographic_level"].map({"National": 0, "Regional": 1, "Local authority": 2})
    order = {**dict(zip(majors, major_groups()["order"])), "Total": 0}
    minor = {**dict(zip(codes()["label"], codes()["order"])), "Total": 0}
    sort = pd.DataFrame({"y": out["time_period"], "l": level, "r": out["region_code"], "a": out["new_la_code"]})
    sort = sort.assign(m=out["ethnicity_major"].map(order), n=out["ethnicity_minor"].map(minor))
    return out.loc[sort.sort_values(list(sort.columns), kind="stable").index].reset_index(drop=True)


def major_shares(pop: pd.DataFrame) -> pd.Series:
    """Share of children in each major group (rows summed over whatever ``pop`` holds)."""
    g = pop.groupby("major")["population"].sum()
    return g / g.sum()


__all__ = [
    "COLUMNS",
    "age_factors",
    "census_year_for",
    "child_population",
    "major_shares",
    "publication_frame",
    "with_areas",
    "years_carried_forward",
]
