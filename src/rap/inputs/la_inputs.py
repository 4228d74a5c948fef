"""Children looked after on 31 March and children 0-17 by local authority (LA) and major ethnic group.

One shape (:class:`LaInputs`) for both routes: record-level inputs fill it from the measures (the LA section
does that, being above the measures layer) and the child population file (:func:`child_population_by_la`);
published inputs fill it from DfE's LA file and ONS population files (:func:`la_inputs_from_published`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from rap.domain.ethnicity import ons2021_major
from rap.domain.geography import local_authorities

#: Major group keys: the known groups, the unknown group and all children.
KNOWN = ["white", "mixed", "asian", "black", "other"]
UNKNOWN = "unknown"
TOTAL = "total"

POPULATION_COLUMNS = ["time_period", "new_la_code", "major", "population"]


@dataclass
class LaInputs:
    """Children looked after on 31 March and children 0-17, by LA, year and major group."""

    counts: pd.DataFrame  # time_period, new_la_code, major, number (NaN = suppressed at source), symbol
    population: pd.DataFrame  # time_period, new_la_code, major (KNOWN only), population
    population_note: str
    source: str
    minor: pd.DataFrame | None = None  # time_period, new_la_code, major, minor, number
    notes: list[str] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.counts["time_period"].unique())


def child_population_by_la(population: pd.DataFrame | None) -> pd.DataFrame:
    """Children 0-17 by year, LA and major group from the record-level population file (empty without one)."""
    if population is None or population.empty:
        return pd.DataFrame(columns=POPULATION_COLUMNS)
    pop = population.groupby(["time_period", "new_la_code", "major"], as_index=False)["population"].sum()
    pop["population"] = pop["population"].astype(float)
    return pop


def _published_counts(la_file: pd.DataFrame) -> pd.DataFrame:
    """LA rows of DfE's file: number by major group and all children, a suppressed cell missing (never 0)."""
    f = la_file[(la_file["geographic_level"] == "Local authority") & (la_file["indicator"] == "number")].copy()
    f["major"] = f["ethnicity"].fillna(TOTAL).where(f["ethnicity_level"] != "total", TOTAL)
    counts = f[["time_period", "new_la_code", "major"]].assign(number=f["value"].astype(float), symbol=f["symbol"])
    counts = counts[counts["symbol"].fillna("") != "z"].reset_index(drop=True)  # LAs not existing that year
    counts["time_period"] = counts["time_period"].astype(int)
    return counts


def _region_shares(census_region: pd.DataFrame) -> pd.Series:
    """Each region's all-ages share in each major group (Census 2021)."""
    cen = census_region.copy()
    cen["major"] = cen["ons2021_code"].astype(int).map(ons2021_major())
    shares = cen.groupby(["geography_code", "major"])["population"].sum()
    return shares / shares.groupby(level=0).transform("sum")


def _split_by_region(counts: pd.DataFrame, my: pd.DataFrame, shares: pd.Series) -> pd.DataFrame:
    """Each LA's children (the year itself, else the nearest year published) split by its region's shares
    (London's for Inner and Outer London)."""
    las = local_authorities()
    region_of = dict(zip(las["new_la_code"], las["region_code"]))
    rows = []
    for y in sorted(counts["time_period"].unique()):
        avail = sorted(my["time_period"].unique())
        use = min(avail, key=lambda a: (abs(a - y), -a))
        tot = my[my["time_period"] == use].set_index("new_la_code")["population"]
        for code in counts.loc[counts["time_period"] == y, "new_la_code"].unique():
            if code not in tot.index:
                continue
            reg = region_of.get(code, "")
            reg = "E12000007" if reg.startswith("E13") else reg
            if reg not in shares.index.get_level_values(0):
                continue
            for major in KNOWN:
                rows.append((y, code, major, float(tot[code]) * float(shares[(reg, major)])))
    return pd.DataFrame(rows, columns=POPULATION_COLUMNS)


def la_inputs_from_published(la_file: pd.DataFrame, mid_year: pd.DataFrame, census_region: pd.DataFrame) -> LaInputs:
    """From DfE's LA file of children looked after on 31 March by major group (``read_ees_la_ethnicity``),
    ONS mid-year estimates of children 0-17 by LA, and Census 2021 all-ages ethnic shares by region.

    No published source gives children by ethnic group for each LA, so each LA's children are split by its
    region's all-ages shares (London's for Inner and Outer London). That understates Mixed children (young
    populations are more often Mixed) and hides differences between LAs of a region: stated wherever
    results use it. A suppressed LA cell (``c``) stays missing, never 0.
    """
    counts = _published_counts(la_file)
    my = mid_year[(mid_year["geographic_level"] == "Local authority") & mid_year["population"].notna()]
    my = my[["time_period", "new_la_code", "population"]].astype({"population": float})
    pop = _split_by_region(counts, my, _region_shares(census_region))
    note = (
        "children 0-17 by LA from ONS mid-year estimates, split by ethnic group using the region's Census 2021 "
        "shares for ALL AGES (no published source gives children by ethnic group for each LA): an approximation "
        "that understates Mixed children and ignores differences between LAs in a region"
    )
    notes = []
    missing_years = sorted(set(counts["time_period"]) - set(my["time_period"]))
    if missing_years:
        notes.append(f"no mid-year estimate for {missing_years}: the nearest year's is used")
    return LaInputs(
        counts=counts,
        population=pop,
        population_note=note,
        source="DfE, children looked after on 31 March by ethnicity and LA (derived file, 2025 release)",
        notes=notes,
    )
