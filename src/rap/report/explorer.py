"""The local authority explorer: one self-contained HTML page beside the report (``<name>-la-explorer.html``).

A user picks an LA and sees each dashboard indicator by major ethnic group for it beside its region, its DfE
statistical neighbours (their simple average) and England, for the latest year and over the years available,
as charts with a table view and a CSV download. It reads only the build's published tables
(``tables/dashboard_indicators.csv``, ``tables/la_statistical_neighbours.csv``), after disclosure control:
every value is shown as published, a symbol (``c``, ``x``, ``z``) as its meaning. The page makes no remote
request (data, script and styles are inline), works from the pandoc and the Quarto route alike, and is checked
in headless Chromium with axe-core (``tests/test_explorer.py``).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rap.sections.dashboard import catalogue

#: The explorer page's name beside the report's own files.
EXPLORER_SUFFIX = "-la-explorer.html"
ALL_CHILDREN = "All children"
_TOTAL = "Total"


def explorer_name(stem: str) -> str:
    return f"{stem}{EXPLORER_SUFFIX}"


def _area_keys(df: pd.DataFrame) -> pd.Series:
    """Each row's area: ``E`` for England, ``R:<region code>`` for a region, the LA's code for an LA."""
    level = df["geographic_level"]
    return pd.Series(
        np.where(level == "National", "E", np.where(level == "Regional", "R:" + df["region_code"], df["new_la_code"])),
        index=df.index,
    )


def explorer_data(tables: Path, year: int) -> dict:
    """What the page shows, compact: indicators, groups, years, areas and every published value as text,
    ``v[indicator][area]`` = one list per year of one value per group (``None`` where no row was published)."""
    df = _with_la_rates(pd.read_csv(tables / "dashboard_indicators.csv", dtype=str, keep_default_na=False), tables)
    cat = catalogue()  # the dashboard indicators (rap/data/dashboard.yaml)
    years = sorted({int(y) for y in df["time_period"]})
    groups = [g for g in dict.fromkeys(df["ethnicity_major"]) if g]
    groups = [_TOTAL] + [g for g in groups if g != _TOTAL]
    df = df.assign(area=_area_keys(df))
    ids = [i for i in cat if i in set(df["indicator"])]
    yi = df["time_period"].astype(int).map({y: i for i, y in enumerate(years)})
    gi = df["ethnicity_major"].map({g: i for i, g in enumerate(groups)})
    values: dict[str, dict[str, list]] = {i: {} for i in ids}
    for ind, area, y, g, v in zip(df["indicator"], df["area"], yi, gi, df["value"]):
        if ind not in values or g != g:
            continue
        rows = values[ind].setdefault(area, [None] * len(years))
        if rows[y] is None:
            rows[y] = [None] * len(groups)
        rows[y][g] = v
    return {
        "year": int(year),
        "years": years,
        "groups": [ALL_CHILDREN if g == _TOTAL else g for g in groups],
        "indicators": [{"id": i, "title": cat[i]["title"], "kind": cat[i].get("kind", "")} for i in ids],
        "las": _las(df, tables, year),
        "v": values,
    }


#: Where the dashboard has no LA rows (DfE's published tables give LAs only children looked after by major
#: group), the LA chapter's table gives that indicator: each LA's rate, and its region's and England's.
LA_RATES = "la_cla_rates_by_ethnicity.csv"


def _with_la_rates(df: pd.DataFrame, tables: Path) -> pd.DataFrame:
    """The dashboard rows, or, when they hold no LA, the children-looked-after rate from the LA chapter's
    table in their place (LA, region and England columns of the same published table)."""
    if (df["geographic_level"] == "Local authority").any() or not (tables / LA_RATES).is_file():
        return df
    la = pd.read_csv(tables / LA_RATES, dtype=str, keep_default_na=False)
    if la.empty:
        return df
    keys = ["time_period", "region_code", "region_name", "ethnicity_major"]
    parts = [
        la.assign(indicator="cla_rate", value=la["rate_per_10000"]),
        la.drop_duplicates(keys).assign(
            geographic_level="Regional", new_la_code="", la_name="", indicator="cla_rate", value=lambda d: d["region_rate"]
        ),
        la.drop_duplicates(["time_period", "ethnicity_major"]).assign(
            geographic_level="National", region_code="", region_name="", new_la_code="", la_name="",
            indicator="cla_rate", value=lambda d: d["england_rate"],
        ),
    ]  # fmt: skip
    cols = ["time_period", "geographic_level", "region_code", "region_name", "new_la_code", "la_name"]
    cols += ["indicator", "ethnicity_major", "value"]
    rest = df[df["indicator"] != "cla_rate"]
    return pd.concat([rest[cols], *(p[cols] for p in parts)], ignore_index=True)


def _las(df: pd.DataFrame, tables: Path, year: int) -> list[dict]:
    """Every LA with figures in ``year``, by name, with its region and its statistical neighbours."""
    la = df[(df["geographic_level"] == "Local authority") & (df["time_period"] == str(year))]
    la = la[["new_la_code", "la_name", "region_code", "region_name"]].drop_duplicates("new_la_code")
    nb_file = tables / "la_statistical_neighbours.csv"
    nb = pd.read_csv(nb_file, dtype=str, keep_default_na=False) if nb_file.is_file() else pd.DataFrame()
    neighbours = (
        nb.assign(rank=pd.to_numeric(nb["rank"], errors="coerce"))
        .sort_values(["new_la_code", "rank"])
        .groupby("new_la_code")["neighbour_code"]
        .apply(list)
        .to_dict()
        if len(nb)
        else {}
    )
    return [
        {
            "code": r.new_la_code,
            "name": r.la_name,
            "region": f"R:{r.region_code}",
            "region_name": r.region_name,
            "neighbours": neighbours.get(r.new_la_code, []),
        }
        for r in la.sort_values("la_name").itertuples(index=False)
    ]


def explorer_html(data: dict, title: str) -> str:
    """The page: the package's template with the data inlined (``</`` escaped so no string ends the script)."""
    template = resources.files("rap.report").joinpath("templates", "explorer.html").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    return template.replace("__TITLE__", html.escape(title)).replace("/*__DATA__*/null", payload)


def write_explorer(tables: Path, folders: list[Path], stem: str, year: int, title: str) -> list[Path]:
    """Write the explorer into each of ``folders`` (beside each HTML report); nothing when the build has no
    dashboard table."""
    if not (tables / "dashboard_indicators.csv").is_file():
        return []
    page = explorer_html(explorer_data(tables, year), title)
    out = []
    for folder in folders:
        path = folder / explorer_name(stem)
        path.write_text(page, encoding="utf-8")
        out.append(path)
    return out
