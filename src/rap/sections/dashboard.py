"""Children's Social Care Dashboard indicators for children in care, by major ethnic group.

The catalogue (``rap/data/dashboard.yaml``) maps each dashboard indicator to one measure and breakdown of the
measures layer and says whether it is a rate per 10,000 children, a percentage or an average; indicators
these inputs cannot give are listed with the reason. :func:`indicator_values` computes every indicator for
England, regions and LAs, every year and major group, from unsuppressed counts; :func:`publishable` applies
disclosure control (national and regional counts rounded, LA counts 1 to the threshold suppressed with
secondary suppression across each LA's groups; a value whose numerator or denominator is suppressed is
suppressed too); :func:`la_comparators` sets each LA beside its region, England and statistical neighbours.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rap.domain.disclosure import LOW, C, X, Z, national_counts, published_strings, round_places
from rap.domain.ethnicity import major_groups
from rap.domain.la_disclosure import QUANTITY_COLUMNS, la_quantities, protect_la_counts, quantity_of
from rap.inputs.front import Inputs

TOTAL = "Total"
GEO = ["time_period", "geographic_level", "region_code", "region_name", "old_la_code", "new_la_code", "la_name"]
DP = {"rate": 1, "percentage": 0, "average": 1}
UNIT = {"rate": "per 10,000 children", "percentage": "%", "average": "points"}


@cache
def catalogue() -> dict[str, dict]:
    """``rap/data/dashboard.yaml``: {indicator id: {title, measure, breakdown, kind} or {title, available: false,
    reason}}."""
    with resources.files("rap.data").joinpath("dashboard.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["indicators"]


def available(cat: dict | None = None) -> dict[str, dict]:
    return {k: v for k, v in (cat or catalogue()).items() if v.get("available", True)}


def population_by_area(population: pd.DataFrame | None) -> pd.DataFrame:
    """Children 0-17 by year, area (national, regional, LA) and major group label, with all-group totals."""
    cols = ["time_period", "geographic_level", "area", "ethnicity_major", "population"]
    if population is None or population.empty:
        return pd.DataFrame(columns=cols)
    labels = major_groups()["label_cla"]
    p = population.assign(ethnicity_major=population["major"].map(labels))
    frames = []
    for level, key in (("National", None), ("Regional", "region_code"), ("Local authority", "new_la_code")):
        keys = ["time_period"] + ([key] if key else [])
        by = p.groupby(keys + ["ethnicity_major"], as_index=False)["population"].sum()
        tot = p.groupby(keys, as_index=False)["population"].sum().assign(ethnicity_major=TOTAL)
        f = pd.concat([by, tot], ignore_index=True)
        f["area"] = f[key] if key else "E92000001"
        f["geographic_level"] = level
        frames.append(f[cols])
    return pd.concat(frames, ignore_index=True)


def _area(df: pd.DataFrame) -> pd.Series:
    return np.select(
        [df["geographic_level"].eq("National"), df["geographic_level"].eq("Regional")],
        ["E92000001", df["region_code"].fillna("")],
        df["new_la_code"].fillna(""),
    )


def indicator_values(measures: pd.DataFrame, population: pd.DataFrame | None, cat: dict | None = None) -> pd.DataFrame:
    """Every available indicator for every year, area and major group (plus all children): ``numerator``,
    ``denominator`` (children in the group's population for rates; pupils for Attainment 8) and ``value``.
    Measures read from published tables carry ``percentage_published``: DfE's percentage, made from counts
    before rounding, is then the value (a percentage of two rounded counts would differ from it).
    Unsuppressed: pass through :func:`publishable` before anything is published."""
    pop = population_by_area(population)
    frames = []
    for ind, spec in available(cat).items():
        m = measures[
            (measures["measure"] == spec["measure"])
            & (measures["breakdown"] == spec["breakdown"])
            & (measures["ethnicity_minor"] == TOTAL)
        ]
        if m.empty:
            continue
        f = m[GEO + ["ethnicity_major"]].copy()
        f["area"] = _area(m)
        kind = spec["kind"]
        if kind == "rate":
            num = m["number"].astype(float).to_numpy()
            den = f.merge(pop, on=["time_period", "geographic_level", "area", "ethnicity_major"], how="left")[
                "population"
            ].to_numpy(float)
            value = np.where(den > 0, num / np.where(den > 0, den, 1) * 10_000, np.nan)
        elif kind == "percentage":
            num = m["number"].astype(float).to_numpy()
            den = m["denominator"].astype(float).to_numpy()
            value = np.where(den > 0, num / np.where(den > 0, den, 1) * 100, np.nan)
            if "percentage_published" in m.columns:  # published tables: DfE's own percentage (from unrounded
                value = pd.to_numeric(m["percentage_published"], errors="coerce").to_numpy(float)  # counts)
                f["dfe_value"] = True
        else:  # average Attainment 8
            num = m["points_total"].astype(float).to_numpy()
            den = m["pupils"].astype(float).to_numpy()
            value = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        f.insert(0, "indicator", ind)
        f["kind"] = kind
        f["numerator"] = num
        f["denominator"] = den
        f["value"] = value
        frames.append(f.drop(columns="area"))
    if not frames:
        return pd.DataFrame(columns=["indicator", *GEO, "ethnicity_major", "kind", "numerator", "denominator", "value"])
    out = pd.concat(frames, ignore_index=True)
    if "dfe_value" in out.columns:
        out["dfe_value"] = out["dfe_value"].fillna(False).astype(bool)
    return out


def publishable(
    values: pd.DataFrame, threshold: int, rounding_base: int, pattern: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The indicators as they may be published (strings with EES symbols), by the project's disclosure scheme.

    LA rows: counts shown exactly or ``c`` as the build's one pattern of LA suppression says (``pattern``, from
    :func:`rap.domain.la_disclosure.la_pattern`; without it, the pattern of these values' own LA counts), so a
    count hidden here is hidden in every table that shows it; the value is ``c`` when its numerator or
    denominator is. National and regional rows: counts rounded to ``rounding_base``, the value worked out from
    the rounded counts (the rounded population for rates) and ``c`` when one of them is not shown; DfE's own
    percentages where the input is DfE's tables. Populations (rate denominators) are published to the nearest
    10; Attainment 8 shows pupils only.
    """
    v = values.reset_index(drop=True).copy()
    is_la = v["geographic_level"].eq("Local authority").to_numpy()
    is_rate = v["kind"].eq("rate").to_numpy()
    num, den = v["numerator"].to_numpy(float), v["denominator"].to_numpy(float)
    num_pub = np.array(_rounded_counts(num, rounding_base, threshold), dtype=object)
    den_pub = np.array(_rounded_counts(den, rounding_base, threshold), dtype=object)
    pop_r = np.array(published_strings(round_places(den / 10, 0) * 10, 0), dtype=object)  # half up, as every rounding
    den_pub = np.where(is_rate, pop_r, den_pub)
    value = _rounded_row_values(v, num_pub, den_pub)
    if is_la.any():
        la = v[is_la]
        hidden_num, hidden_den = _la_hidden(la, threshold, rounding_base, pattern)
        num_pub[is_la] = np.where(hidden_num, C, np.nan_to_num(la["numerator"].to_numpy(float)).astype(int).astype(str))
        la_den = np.nan_to_num(la["denominator"].to_numpy(float)).round().astype(int).astype(str)
        den_pub[is_la] = np.where(la["kind"].eq("rate"), pop_r[is_la], np.where(hidden_den, C, la_den))
        dp = la["kind"].map(DP).to_numpy()
        shown = np.array(published_strings(la["value"].to_numpy(float), dp), dtype=object)
        value[is_la] = np.where(hidden_num | hidden_den, C, shown)
    den_pub = np.where(np.isnan(den), X, den_pub)
    num_pub = np.where(np.isnan(num), X, num_pub)
    out = v[["indicator", *GEO, "ethnicity_major"]].copy()
    out["numerator"] = num_pub
    out["denominator"] = den_pub
    out["value"] = value
    out.loc[v["kind"].eq("average").to_numpy(), "numerator"] = Z  # points totals are not published
    return out


def _rounded_counts(values: np.ndarray, base: int, threshold: int) -> list[str]:
    """Counts as a national or regional row publishes them (:func:`rap.domain.disclosure.national_counts`)."""
    return (
        national_counts(pd.Series(np.nan_to_num(values)).round().astype("int64"), base, threshold=threshold)
        .astype(str)
        .tolist()
    )


def _rounded_row_values(v: pd.DataFrame, num_pub: np.ndarray, den_pub: np.ndarray) -> np.ndarray:
    """Values of national and regional rows from their published counts: scale x rounded numerator / rounded
    denominator (the population to the nearest 10 for rates), ``c`` where either count is ``c`` (or ``low``),
    ``x`` where there is no denominator; DfE's own value where the row carries one (``c`` where DfE's is
    missing). Attainment 8's average (points per pupil; points are not published) is from its counts, ``c``
    where its pupils are not shown."""
    n = pd.to_numeric(pd.Series(num_pub), errors="coerce").to_numpy(float)
    d = pd.to_numeric(pd.Series(den_pub), errors="coerce").to_numpy(float)
    kind = v["kind"].to_numpy()
    scale = v["kind"].map({"rate": 10_000, "percentage": 100, "average": 1}).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(d > 0, scale * n / np.where(d > 0, d, 1), np.nan)
    own = np.where(kind == "average", v["value"].to_numpy(float), own)
    dfe = v["dfe_value"].to_numpy(bool) if "dfe_value" in v.columns else np.zeros(len(v), dtype=bool)
    out = np.array(published_strings(np.where(dfe, v["value"].to_numpy(float), own), v["kind"].map(DP)), dtype=object)
    hidden = np.isin(np.asarray(den_pub, dtype=object), [C, LOW])
    hidden |= (kind != "average") & np.isin(np.asarray(num_pub, dtype=object), [C, LOW])
    return np.where((hidden & ~dfe) | (dfe & np.isnan(v["value"].to_numpy(float))), C, out)


def _quantities(values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The LA quantity (``rap/data/la_disclosure.yaml``) of each row's numerator and denominator ("" where the
    count is not a published count of children: a rate's population, Attainment 8's points)."""
    cat = catalogue()
    num_q, den_q = {}, {}
    for ind, spec in available().items():
        kind = spec["kind"]
        num_q[ind] = quantity_of(spec["measure"], spec["breakdown"], "number") if kind != "average" else ""
        den_col = {"percentage": "denominator", "average": "pupils"}.get(kind)
        den_q[ind] = quantity_of(spec["measure"], spec["breakdown"], den_col) if den_col else ""
        for q, role in ((num_q[ind], "numerator"), (den_q[ind], "denominator")):
            if q is None:
                raise ValueError(
                    f"dashboard indicator {ind!r} ({cat[ind]['measure']}): its LA {role} is not one of the LA "
                    "quantities of rap/data/la_disclosure.yaml, so it could not be given the build's suppression"
                )
    ind = values["indicator"]
    return ind.map(num_q).fillna("").to_numpy(str), ind.map(den_q).fillna("").to_numpy(str)


def la_cells_from_values(values: pd.DataFrame) -> pd.DataFrame:
    """The dashboard's own LA counts as LA cells (:data:`rap.domain.la_disclosure.QUANTITY_COLUMNS`), one per
    quantity, year, LA and group (a count shown by two indicators, e.g. children looked after as the rate's
    numerator and the placement percentages' denominator, is one cell)."""
    la = values[values["geographic_level"].eq("Local authority")]
    num_q, den_q = _quantities(la)
    frames = [
        la.assign(quantity=q, value=la[col].astype(float))[q != ""]
        for q, col in ((num_q, "numerator"), (den_q, "denominator"))
    ]
    cells = pd.concat(frames, ignore_index=True).rename(columns={"ethnicity_major": "group"})
    cells = cells.drop_duplicates(["quantity", "time_period", "new_la_code", "group"])
    return cells[QUANTITY_COLUMNS].reset_index(drop=True)


def _la_hidden(
    la: pd.DataFrame, threshold: int, rounding_base: int, pattern: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each LA row's numerator and denominator are hidden in ``pattern`` (made from these rows when
    None). A count the pattern lacks, or holds with another value, is an error: it would be published unprotected
    or two ways."""
    if pattern is None:
        pattern = protect_la_counts(la_cells_from_values(la), la_quantities()[1], threshold, rounding_base)
    keys = ["quantity", "time_period", "new_la_code", "group"]
    pat = pattern.set_index(keys)
    num_q, den_q = _quantities(la)
    out = []
    for q, col in ((num_q, "numerator"), (den_q, "denominator")):
        idx = pd.MultiIndex.from_arrays(
            [q, la["time_period"].to_numpy(), la["new_la_code"].to_numpy(), la["ethnicity_major"].to_numpy()],
            names=keys,
        )
        have = q != ""
        found = pat.reindex(idx)
        values = la[col].to_numpy(float)
        bad = have & (found["value"].isna().to_numpy() | (found["value"].to_numpy(float) != values))
        bad &= ~np.isnan(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"dashboard LA count {idx[i]} is not in the LA suppression pattern as {values[i]}")
        out.append(have & found["suppression"].isin(["primary", "secondary"]).to_numpy())
    return out[0], out[1]


def la_comparators(values: pd.DataFrame, neighbours: pd.DataFrame, year: int, threshold: int) -> pd.DataFrame:
    """For each LA, indicator and group in ``year``: the LA's row of the indicators (numerator, denominator,
    value). The comparators themselves come from published figures only (:func:`publishable_comparators`)."""
    v = values[(values["time_period"] == year) & (values["geographic_level"] == "Local authority")]
    return v[["indicator", *GEO, "ethnicity_major", "kind", "numerator", "denominator", "value"]].rename(
        columns={"value": "la_value"}
    )


def publishable_comparators(
    comp: pd.DataFrame, pub_values: pd.DataFrame, threshold: int, neighbours: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The comparator table, every figure read from the published indicators: the LA's value as published (its
    suppression carries over), its region's and England's published values (from rounded counts), and its
    statistical neighbours' value as the mean of their published values, leaving out neighbours whose value is
    not shown (``neighbours_used`` says how many are in it), as DfE's LA Interactive Tool averages statistical
    neighbours. A mean of published values gives back nothing they do not; ``x`` where no neighbour's value is
    shown."""
    keys = ["indicator", "time_period", "new_la_code", "ethnicity_major"]
    pv = pub_values[pub_values["time_period"].isin(comp["time_period"].unique())]
    la_pub = pv[pv["geographic_level"] == "Local authority"][keys + ["value"]]
    out = comp[["indicator", *GEO, "ethnicity_major"]].merge(la_pub, on=keys, how="left")
    out = out.rename(columns={"value": "la_value"})
    reg = pv[pv["geographic_level"] == "Regional"][
        ["indicator", "time_period", "region_code", "ethnicity_major", "value"]
    ]
    out = out.merge(
        reg.rename(columns={"value": "region_value"}),
        on=["indicator", "time_period", "region_code", "ethnicity_major"],
        how="left",
    )
    eng = pv[pv["geographic_level"] == "National"][["indicator", "time_period", "ethnicity_major", "value"]]
    out = out.merge(
        eng.rename(columns={"value": "england_value"}), on=["indicator", "time_period", "ethnicity_major"], how="left"
    )
    mean, used = _neighbours_mean(out, la_pub, neighbours, comp["kind"].map(DP).to_numpy())
    out["neighbours_value"] = mean
    out["neighbours_used"] = used
    return out.fillna({"region_value": X, "england_value": X, "la_value": X})


def _neighbours_mean(
    out: pd.DataFrame, la_pub: pd.DataFrame, neighbours: pd.DataFrame | None, dp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``out``: the mean of its LA's neighbours' published values (those shown as numbers) to ``dp``
    places, and how many neighbours that is, as text."""
    n = len(out)
    if neighbours is None or neighbours.empty:
        return np.full(n, X, dtype=object), np.full(n, "0", dtype=object)
    keys = ["indicator", "time_period", "ethnicity_major"]
    shown = la_pub.assign(v=pd.to_numeric(la_pub["value"], errors="coerce")).dropna(subset=["v"])
    pairs = neighbours[["new_la_code", "neighbour_code"]].merge(
        shown.rename(columns={"new_la_code": "neighbour_code"})[["neighbour_code", *keys, "v"]], on="neighbour_code"
    )
    g = pairs.groupby(["new_la_code", *keys])["v"].agg(["mean", "size"])
    idx = pd.MultiIndex.from_frame(out[["new_la_code", *keys]])
    got = g.reindex(idx)
    mean = np.array(published_strings(got["mean"].to_numpy(float), dp), dtype=object)
    used = got["size"].fillna(0).astype(int).astype(str).to_numpy(dtype=object)
    return mean, used


def time_series_table(pub: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """England, one indicator: major groups (rows) by year (columns), published values."""
    e = pub[(pub["indicator"] == indicator) & (pub["geographic_level"] == "National")]
    if e.empty:
        return pd.DataFrame()
    order = [major_groups().loc[k, "label_cla"] for k in major_groups().sort_values("order").index] + [TOTAL]
    t = e.pivot_table(index="ethnicity_major", columns="time_period", values="value", aggfunc="first")
    t = t.reindex([g for g in order if g in t.index])
    t.columns = [str(c) for c in t.columns]
    return t.rename_axis("Ethnic group").reset_index()


def coverage_table(pub: pd.DataFrame, year: int, cat: dict | None = None) -> pd.DataFrame:
    """For each indicator, the share of LAs where each major group's value can be published in ``year``: how far
    an LA dashboard by ethnicity is possible at all."""
    la = pub[(pub["geographic_level"] == "Local authority") & (pub["time_period"] == year)]
    groups = [major_groups().loc[k, "label_cla"] for k in major_groups().sort_values("order").index if k != "unknown"]
    titles = {k: v["title"] for k, v in (cat or catalogue()).items()}
    rows = []
    for ind, g in la.groupby("indicator", sort=False):
        row = {"Indicator": titles.get(ind, ind)}
        for grp in groups:
            s = g[g["ethnicity_major"] == grp]["value"]
            row[grp] = f"{(~s.isin([C, X, Z])).mean() * 100:.0f}%" if len(s) else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def catalogue_table(values: pd.DataFrame, cat: dict | None = None) -> pd.DataFrame:
    """Each dashboard indicator: where it comes from, and whether these inputs give it (and why not)."""
    cat = cat or catalogue()
    have = set(values["indicator"].unique()) if len(values) else set()
    rows = []
    for ind, spec in cat.items():
        if not spec.get("available", True):
            status = f"Not available: {spec['reason']}"
        elif ind in have:
            status = "Available"
        else:
            status = "Not in these inputs"
        rows.append({"Indicator": spec["title"], "Unit": UNIT.get(spec.get("kind", ""), "-"), "Status": status})
    return pd.DataFrame(rows)


def write_tables(out: Path, pub: pd.DataFrame, comparators: pd.DataFrame, cat: dict | None = None) -> list[Path]:
    """EES tidy CSVs a dashboard could load: ``dashboard_indicators.csv`` (every year, England, regions, LAs) and
    ``dashboard_la_comparators.csv`` (latest year, each LA beside region, England and neighbours)."""
    from rap.domain.ees import with_ees_columns, write_ees

    tables = Path(out) / "tables"
    paths: list[Path] = []
    if pub.empty:
        return paths
    p = with_ees_columns(
        pub.fillna({"region_code": "", "region_name": "", "old_la_code": "", "new_la_code": "", "la_name": ""}),
        year="time_period",
    )
    paths += write_ees(
        p,
        tables / "dashboard_indicators.csv",
        filters={"indicator": "Dashboard indicator", "ethnicity_major": "Ethnic group (major)"},
        indicators={
            "numerator": ("Children (or pupils) counted", "", 0),
            "denominator": ("Denominator (children, pupils or population to nearest 10)", "", 0),
            "value": ("Value (rate per 10,000, percentage or average score)", "", 1),
        },
    )
    if not comparators.empty:
        c = with_ees_columns(comparators, year="time_period")
        paths += write_ees(
            c,
            tables / "dashboard_la_comparators.csv",
            filters={"indicator": "Dashboard indicator", "ethnicity_major": "Ethnic group (major)"},
            indicators={
                "la_value": ("Local authority", "", 1),
                "region_value": ("Region", "", 1),
                "england_value": ("England", "", 1),
                "neighbours_value": ("Statistical neighbours (DfE 2025 model): mean of their published values", "", 1),
                "neighbours_used": ("Statistical neighbours in that mean", "", 0),
            },
        )
    return paths


def _published_measures(data: Inputs) -> pd.DataFrame:
    """DfE's national tables by ethnicity in the measures' tidy shape, with the columns the catalogue reads."""
    from rap import measures as M

    frames = [f for f in (M.from_published(data.release, y) for y in data.years) if len(f)]
    m = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=M.TIDY_COLUMNS)
    for col in ("old_la_code", "new_la_code", "la_name"):
        if col not in m.columns:
            m[col] = ""
    for col in ("points_total", "pupils"):
        if col not in m.columns:
            m[col] = np.nan
    return m


def load_values(data: Inputs) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """(indicator values, child population or None, source text) for any kind of input. Record-level data:
    only the measures the catalogue needs are computed. Published data: DfE's national tables by ethnicity
    (no LA breakdown by ethnicity is published), with DfE's own percentages; no rates (no child population
    by ethnic group is published)."""
    from rap import measures as M

    if data.published:
        return (
            indicator_values(_published_measures(data), None),
            None,
            "DfE's published national tables by ethnicity (numbers rounded and percentages as published)",
        )
    cat = M.catalogue()
    need = sorted({cat[s["measure"]]["function"] for s in available().values()})
    m = M.compute(data.record, data.years, need)
    source = "SSDA903 returns and school census extracts" + (" (synthetic)" if data.synthetic else "")
    return indicator_values(m, data.record.population), data.record.population, source


def la_suppression(data: Inputs, threshold: int, rounding_base: int) -> pd.DataFrame | None:
    """The build's one pattern of LA suppression (:func:`rap.domain.la_disclosure.la_pattern`) from the measures
    of every LA quantity, as the LA chapter makes it; None for published inputs (no LA rows)."""
    if data.published:
        return None
    from rap import measures as M
    from rap.domain.la_disclosure import la_pattern

    cat = M.catalogue()
    need = sorted({cat[c["measure"]]["function"] for cells in la_quantities()[0].values() for c in cells})
    return la_pattern(M.compute(data.record, data.years, need), threshold, rounding_base)


def neighbours(data: Inputs, year: int) -> pd.DataFrame | None:
    """Each LA's statistical neighbours in DfE's 2025 model (as in the LA chapter) for record-level inputs; None for
    published ones, whose tables by ethnicity are national only."""
    return None if data.published else data.neighbours(year)


def series_chart_data(pub: pd.DataFrame, indicator: str) -> dict | None:
    """England's values of ``indicator`` for each major group over the years, for :func:`rap.present.charts.group_lines`."""
    e = pub[
        (pub["indicator"] == indicator)
        & (pub["geographic_level"] == "National")
        & ~pub["ethnicity_major"].isin([major_groups().loc["unknown", "label_cla"]])
    ]
    vals = pd.to_numeric(e["value"], errors="coerce")
    if vals.isna().all():
        return None
    frame = pd.DataFrame({"year": e["time_period"].astype(int), "group": e["ethnicity_major"], "value": vals})
    latest = frame[frame["year"] == frame["year"].max()].dropna().sort_values("value", ascending=False)
    title = catalogue()[indicator]["title"]
    headline = (
        f"{title}, England: highest for {latest['group'].iloc[0]} children in {frame['year'].max()}"
        if len(latest)
        else f"{title}, England"
    )
    alt = (
        f"Line chart of {title[0].lower() + title[1:]} in England by ethnic group, {frame['year'].min()} to {frame['year'].max()}. "
        + "; ".join(f"{r.group}: {r.value:,.1f}" for r in latest.itertuples())
        + f" in {frame['year'].max()}."
    )
    return {"frame": frame, "title": headline, "alt": alt, "ylabel": UNIT[catalogue()[indicator]["kind"]]}


def summary_lines(pub: pd.DataFrame, year: int) -> list[str]:
    """The key finding for the front page: how many dashboard indicators can be given by ethnic group, and how
    far small numbers limit them for LAs."""
    cat = catalogue()
    have = sorted(set(pub["indicator"]))
    line = (
        f"{len(have)} of the {len(cat)} Children's Social Care Dashboard indicators about children in care can be "
        f"given by ethnic group from these inputs (@tbl-dashboard-indicators)"
    )
    la = pub[
        (pub["geographic_level"] == "Local authority")
        & (pub["time_period"] == year)
        & ~pub["ethnicity_major"].isin([TOTAL, major_groups().loc["unknown", "label_cla"]])
    ]
    if len(la):
        shown = (~la["value"].isin([C, X, Z])).groupby(la["indicator"]).mean()
        name = cat[shown.idxmin()]["title"].removesuffix(" (%)")
        line += (
            f"; for local authorities, small numbers hide many values by ethnic group: for {name[0].lower() + name[1:]}, "
            f"{shown.min() * 100:.0f}% of LA values by major group can be published in {year}"
        )
    return [line + "."]
