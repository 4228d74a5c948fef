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

from rap.domain.disclosure import C, X, Z, national_counts, published_strings, round_places, suppress_slices
from rap.domain.ethnicity import major_groups
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
    return pd.concat(frames, ignore_index=True)


def publishable(values: pd.DataFrame, threshold: int, rounding_base: int) -> pd.DataFrame:
    """The indicators as they may be published (strings with EES symbols).

    National and regional rows: counts rounded to ``rounding_base``; values from unrounded counts, ``c`` when the
    numerator or denominator is 1 to ``threshold``. LA rows: numerators (children or pupils) suppressed with
    :func:`rap.domain.disclosure.suppress` across the LA's groups and all children, and denominators likewise, so a
    suppressed cell cannot be recovered from the total; the value is ``c`` when either is suppressed.
    Populations (rate denominators) are published rounded to the nearest 10; Attainment 8 shows pupils only.
    """
    v = values.reset_index(drop=True).copy()
    is_la = v["geographic_level"].eq("Local authority").to_numpy()
    is_rate = v["kind"].eq("rate").to_numpy()
    num, den = v["numerator"].to_numpy(float), v["denominator"].to_numpy(float)
    small_num = (num >= 1) & (num <= threshold)
    small_den = (den >= 1) & (den <= threshold) & ~is_rate
    hide = small_num | small_den
    num_pub = np.array(
        national_counts(pd.Series(np.nan_to_num(num)).astype("int64"), rounding_base, threshold=threshold).astype(str),
        dtype=object,
    )
    den_pub = np.array(
        national_counts(
            pd.Series(np.nan_to_num(den)).round().astype("int64"), rounding_base, threshold=threshold
        ).astype(str),
        dtype=object,
    )
    if is_la.any():
        la = v[is_la]
        by = ["indicator", "time_period", "new_la_code"]
        total = la["ethnicity_major"].eq(TOTAL).to_numpy()
        s_num = suppress_slices(la.assign(n=la["numerator"]), by, total, threshold, value="n")
        d = la.assign(n=np.where(la["kind"].eq("rate"), 0, la["denominator"]))
        s_den = suppress_slices(d, by, total, threshold, value="n")
        num_pub[is_la] = s_num["number_published"].to_numpy()
        la_den = np.where(
            la["kind"].eq("rate"),
            published_strings(round_places(la["denominator"].to_numpy(float) / 10, 0) * 10, 0),
            s_den["number_published"].to_numpy(),
        )
        den_pub[is_la] = la_den
        hide[is_la] = (s_num["number_published"].to_numpy() == C) | (s_den["number_published"].to_numpy() == C)
    # rate denominators nationally and regionally: populations rounded to 10
    pop_r = published_strings(round_places(den / 10, 0) * 10, 0)  # half up, as every rounding here
    den_pub = np.where(is_rate & ~is_la, pop_r, den_pub)
    den_pub = np.where(np.isnan(den), X, den_pub)
    num_pub = np.where(np.isnan(num), X, num_pub)
    dp = v["kind"].map(DP).to_numpy()
    value = np.array(published_strings(v["value"].to_numpy(float), dp), dtype=object)
    value = np.where(hide, C, value)
    out = v[["indicator", *GEO, "ethnicity_major"]].copy()
    out["numerator"] = num_pub
    out["denominator"] = den_pub
    out["value"] = value
    out.loc[v["kind"].eq("average").to_numpy(), "numerator"] = Z  # points totals are not published
    return out


def la_comparators(values: pd.DataFrame, neighbours: pd.DataFrame, year: int, threshold: int) -> pd.DataFrame:
    """For each LA, indicator and group in ``year``: the LA's value, its region's, England's and its statistical
    neighbours' (pooled: their numerators over their denominators). Unsuppressed values; :func:`publishable_comparators`
    hides those resting on small counts."""
    v = values[values["time_period"] == year]
    la = v[v["geographic_level"] == "Local authority"]
    reg = v[v["geographic_level"] == "Regional"][["indicator", "region_code", "ethnicity_major", "value"]]
    eng = v[v["geographic_level"] == "National"][["indicator", "ethnicity_major", "value"]]
    out = la[["indicator", *GEO, "ethnicity_major", "kind", "numerator", "denominator", "value"]].rename(
        columns={"value": "la_value"}
    )
    out = out.merge(
        reg.rename(columns={"value": "region_value"}), on=["indicator", "region_code", "ethnicity_major"], how="left"
    )
    out = out.merge(eng.rename(columns={"value": "england_value"}), on=["indicator", "ethnicity_major"], how="left")
    if neighbours is not None and not neighbours.empty:
        pairs = neighbours[["new_la_code", "neighbour_code"]].merge(
            la[["indicator", "new_la_code", "ethnicity_major", "kind", "numerator", "denominator"]].rename(
                columns={"new_la_code": "neighbour_code"}
            ),
            on="neighbour_code",
        )
        g = pairs.groupby(["indicator", "new_la_code", "ethnicity_major", "kind"], as_index=False)[
            ["numerator", "denominator"]
        ].sum(min_count=1)
        scale = g["kind"].map({"rate": 10_000, "percentage": 100, "average": 1}).to_numpy(float)
        g["neighbours_value"] = np.where(
            g["denominator"] > 0, g["numerator"] / g["denominator"].where(g["denominator"] > 0) * scale, np.nan
        )
        g["neighbours_numerator"] = g["numerator"]
        out = out.merge(
            g[["indicator", "new_la_code", "ethnicity_major", "neighbours_value", "neighbours_numerator"]],
            on=["indicator", "new_la_code", "ethnicity_major"],
            how="left",
        )
    else:
        out["neighbours_value"] = np.nan
        out["neighbours_numerator"] = np.nan
    return out


def publishable_comparators(comp: pd.DataFrame, pub_values: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The comparator table as published: the LA's value exactly as in the published indicators (so its
    suppression carries over); region and England values to the indicator's decimal places; the neighbours'
    value suppressed when their pooled numerator is 1 to ``threshold``."""
    keys = ["indicator", "time_period", "new_la_code", "ethnicity_major"]
    la_pub = pub_values[pub_values["geographic_level"] == "Local authority"][keys + ["value"]]
    out = (
        comp[["indicator", *GEO, "ethnicity_major"]]
        .merge(la_pub, on=keys, how="left")
        .rename(columns={"value": "la_value"})
    )
    dp = comp["kind"].map(DP).to_numpy()
    out["region_value"] = published_strings(comp["region_value"].to_numpy(float), dp)
    out["england_value"] = published_strings(comp["england_value"].to_numpy(float), dp)
    nb = np.array(published_strings(comp["neighbours_value"].to_numpy(float), dp), dtype=object)
    small = comp["neighbours_numerator"].between(1, threshold).to_numpy()
    out["neighbours_value"] = np.where(small, C, nb)
    return out


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
                "neighbours_value": ("Statistical neighbours (proxy, pooled)", "", 1),
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


def neighbours(data: Inputs, year: int) -> pd.DataFrame | None:
    """Each LA's proxy statistical neighbours (as in the LA chapter) for record-level inputs; None for
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
    """Key findings for the front page: what the dashboard can show by ethnic group, and where it cannot."""
    lines = []
    cat = catalogue()
    missing = [v["title"] for v in cat.values() if not v.get("available", True)]
    have = sorted(set(pub["indicator"]))
    lines.append(
        f"Dashboard: {len(have)} of {len(cat)} indicators about children in care can be computed by ethnic group"
        + (f"; not from these inputs: {'; '.join(m[0].lower() + m[1:] for m in missing)}." if missing else ".")
    )
    la = pub[
        (pub["geographic_level"] == "Local authority")
        & (pub["time_period"] == year)
        & ~pub["ethnicity_major"].isin([TOTAL, major_groups().loc["unknown", "label_cla"]])
    ]
    if len(la):
        shown = (~la["value"].isin([C, X, Z])).groupby(la["indicator"]).mean()
        worst = shown.idxmin()
        name = cat[worst]["title"].removesuffix(" (%)")
        name = name[0].lower() + name[1:]
        lines.append(
            f"For LAs, small numbers limit a dashboard by ethnic group: for {name}, only "
            f"{shown.min() * 100:.0f}% of LA values by major group can be published in {year}."
        )
    return lines
