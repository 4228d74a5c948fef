"""Children looked after on 31 March and children 0-17 by local authority (LA) and major ethnic group.

One shape (:class:`LaInputs`) for both routes: record-level inputs fill it from the measures (the LA section
does that, being above the measures layer) and the child population file (:func:`child_population_by_la`);
published inputs fill it from DfE's LA file and ONS population files (:func:`la_inputs_from_published`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from rap.domain.child_population import child_population, years_carried_forward

#: Major group keys: the known groups, the unknown group and all children.
KNOWN = ["white", "mixed", "asian", "black", "other"]
UNKNOWN = "unknown"
TOTAL = "total"

POPULATION_COLUMNS = ["time_period", "new_la_code", "major", "population"]
ENGLAND = "E92000001"


@dataclass
class LaInputs:
    """Children looked after on 31 March and children 0-17, by LA, year and major group."""

    counts: pd.DataFrame  # time_period, new_la_code, major, number (NaN = suppressed at source), symbol
    population: pd.DataFrame  # time_period, new_la_code, major (KNOWN only), population
    population_note: str
    source: str
    minor: pd.DataFrame | None = None  # time_period, new_la_code, major, minor, number
    notes: list[str] = field(default_factory=list)
    #: England's and the regions' own counts where the source publishes them (DfE's file: rounded to 10, with
    #: none of the LA cells it suppresses missing): time_period, geographic_level, area_code, major, number.
    #: England's and regions' rates then rest on these, not on sums of the LA cells that are shown.
    areas: pd.DataFrame | None = None

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


def _published_counts(la_file: pd.DataFrame, level: str = "Local authority", code: str = "new_la_code") -> pd.DataFrame:
    """Rows of one level of DfE's file: number by major group and all children, a suppressed cell missing
    (never 0)."""
    f = la_file[(la_file["geographic_level"] == level) & (la_file["indicator"] == "number")].copy()
    f["major"] = f["ethnicity"].fillna(TOTAL).where(f["ethnicity_level"] != "total", TOTAL)
    counts = f[["time_period", code, "major"]].assign(number=f["value"].astype(float), symbol=f["symbol"])
    counts = counts[counts["symbol"].fillna("") != "z"].reset_index(drop=True)  # LAs not existing that year
    counts["time_period"] = counts["time_period"].astype(int)
    return counts


def estimated_population(years: list[int], mid_year: pd.DataFrame | None = None) -> pd.DataFrame:
    """Children 0-17 by year, LA and major group (:func:`rap.domain.child_population.child_population`:
    mid-(Y-1) ONS totals split by the LA's school census shares). With ``mid_year`` (the ONS file of the
    inputs), each LA's total is that file's mid-(Y-1) figure where it has one, the split unchanged."""
    est = child_population(years)
    pop = est.groupby(["time_period", "population_year", "new_la_code", "major"], as_index=False)["population"].sum()
    if mid_year is not None and not mid_year.empty:
        tot = mid_year.set_index(["time_period", "new_la_code"])["population"].astype(float)
        tot = tot[~tot.index.duplicated()]
        own = pop.groupby(["population_year", "new_la_code"])["population"].transform("sum")
        key = pd.MultiIndex.from_arrays([pop["population_year"], pop["new_la_code"]])
        given = pd.Series(tot.reindex(key).to_numpy(), index=pop.index)
        pop["population"] = (pop["population"] / own * given).fillna(pop["population"])
    return pop[POPULATION_COLUMNS]


def la_inputs_from_published(la_file: pd.DataFrame, mid_year: pd.DataFrame) -> LaInputs:
    """From DfE's LA file of children looked after on 31 March by major group (``read_ees_la_ethnicity``) and
    ONS mid-year estimates of children 0-17 by LA: year Y's rates use mid-(Y-1), as DfE's do, split by ethnic
    group with the estimate of :mod:`rap.domain.child_population` (school census shares). A suppressed LA
    cell (``c``) stays missing, never 0."""
    counts = _published_counts(la_file)
    my = mid_year[(mid_year["geographic_level"] == "Local authority") & mid_year["population"].notna()]
    my = my[["time_period", "new_la_code", "population"]].astype({"population": float})
    pop = estimated_population(sorted(int(y) for y in counts["time_period"].unique()), my)
    pop = pop[pop["new_la_code"].isin(set(counts["new_la_code"]))].reset_index(drop=True)
    note = (
        "children 0-17 by LA: ONS mid-year estimates for mid-(Y-1), as DfE's rates use, split by ethnic group "
        "in the shares of the LA's pupils in the school census (age-adjusted with Census 2021; see the methods "
        "annex)"
    )
    notes = []
    carried = sorted(set(years_carried_forward(pop["time_period"].unique())))
    if carried:
        notes.append(f"school census shares for {carried} are carried forward from the latest census year held")
    return LaInputs(
        counts=counts,
        population=pop,
        population_note=note,
        source="DfE, children looked after on 31 March by ethnicity and LA (derived file, 2025 release)",
        notes=notes,
        areas=_published_areas(la_file),
    )


def _published_areas(la_file: pd.DataFrame) -> pd.DataFrame | None:
    """England's and the regions' rows of DfE's file (None when it has neither)."""
    nat = _published_counts(la_file, "National").assign(area_code=ENGLAND)
    reg = _published_counts(la_file, "Regional", "region_code").rename(columns={"region_code": "area_code"})
    areas = pd.concat(
        [nat.assign(geographic_level="National"), reg.assign(geographic_level="Regional")], ignore_index=True
    )
    if areas.empty:
        return None
    return areas[["time_period", "geographic_level", "area_code", "major", "number"]]
