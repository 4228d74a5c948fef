"""Population denominators. The files' names are in ``rap/data/input_files.yaml``
(:func:`rap.domain.input_files.input_file`).

* :func:`read_mid_year_estimates`: ONS mid-year estimates of children aged 0-17, national, regional, LA
  (``ons_mid_year_estimates``, EES layout). No ethnicity.
* :func:`read_census_ethnicity`: Census 2021 usual residents of ALL AGES by the 20-category ethnic group,
  England or regions (``census_ethnicity_regions``; ONS's national table reads too). Flagged ``all_ages = True``:
  it is NOT a denominator for children (it understates Mixed children badly).
* :func:`read_children_by_la_ethnicity`: the synthetic children 0-17 by LA and ethnic group (the DfE code where
  an ``ethnic_code`` column is given, and the ONS 2021 group; ``children_by_la_ethnicity``,
  docs/data-contract.md), flagged by its ``source`` column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.errors import InputError
from rap.inputs.readers.csvfiles import parse_bodies, read_csv_file
from rap.inputs.readers.ees import parse_indicator
from rap.inputs.readers.quarantine import LINE_COL

SYNTHETIC_SOURCE = "SYNTHETIC: not real data"


def _read(path: str | Path, required: list[str]) -> tuple[pd.DataFrame, Path]:
    path = Path(path)
    f = read_csv_file(path)
    missing = [c for c in required if c not in f.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; found {f.columns}", line=1, column=missing[0])
    return parse_bodies([f], [0], list(f.columns)), path


def _int_column(df: pd.DataFrame, col: str, path: Path, allow_symbols: bool = False) -> pd.Series:
    value, symbol, ok = parse_indicator(df[col])
    if not allow_symbols:
        ok &= pd.isna(pd.Series(symbol)).to_numpy()
    bad = ~ok | (~np.isnan(value) & ((value < 0) | (np.mod(value, 1) != 0)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            path, "not a whole number of people", line=int(df[LINE_COL].iloc[i]), column=col, value=df[col].iloc[i]
        )
    return pd.Series(value, index=df.index).round().astype("Int64")


def _year_column(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    """A year column (``time_period``) as int64; an InputError naming the first cell that is not a year."""
    stripped = df[col].str.strip()
    years = pd.to_numeric(stripped, errors="coerce")
    bad = (years.isna() | (years % 1 != 0) | ~years.between(1900, 2100)).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            path,
            "not a year (a whole number from 1900 to 2100)",
            line=int(df[LINE_COL].iloc[i]),
            column=col,
            value=df[col].iloc[i],
        )
    return years.astype("int64")


def _no_repeats(out: pd.DataFrame, keys: list[str], path: Path, rows: np.ndarray | None = None) -> None:
    """An InputError naming the first row that repeats an earlier row's ``keys`` (among ``rows``): its
    population would be counted twice."""
    sub = out if rows is None else out.loc[rows]
    dup = sub.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        row = sub.iloc[i]
        first = sub.loc[(sub[keys] == row[keys]).all(axis=1), "line"].iloc[0]
        raise InputError(
            path,
            f"the same {', '.join(keys)} as line {int(first)}: the population would be counted twice",
            line=int(row["line"]),
            column=keys[-1],
            value=row[keys[-1]],
        )


def read_mid_year_estimates(path: str | Path) -> pd.DataFrame:
    """Children aged 0-17: time_period, geographic_level, region/LA codes and names, population (Int64,
    missing where ONS publishes a symbol, which is kept in ``symbol``)."""
    cols = [
        "time_period",
        "geographic_level",
        "region_code",
        "region_name",
        "old_la_code",
        "new_la_code",
        "la_name",
        "age_group",
        "population_estimate",
    ]
    df, path = _read(path, cols)
    out = df[cols[:-1]].copy()
    for c in cols[1:-1]:
        out[c] = out[c].str.strip().replace("", None)
    out["time_period"] = _year_column(df, "time_period", path)
    levels = {"National", "Regional", "Local authority"}
    bad = ~out["geographic_level"].isin(levels)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            path,
            f"geographic_level must be one of {sorted(levels)}",
            line=int(df[LINE_COL].iloc[i]),
            column="geographic_level",
            value=out["geographic_level"].iloc[i],
        )
    out["population"] = _int_column(df, "population_estimate", path, allow_symbols=True)
    _, symbol, _ = parse_indicator(df["population_estimate"])
    out["symbol"] = symbol
    out["line"] = df[LINE_COL].astype("int64")
    keys = ["time_period", "geographic_level", "region_code", "new_la_code", "age_group"]
    _no_repeats(out.fillna({c: "" for c in keys[1:]}), keys, path)
    return out


def read_census_ethnicity(path: str | Path, england_only: bool = True) -> pd.DataFrame:
    """Census 2021 all-ages population by the 20-category ethnic group for England or its regions.

    Columns: geography_code, geography_name, geographic_level, ons2021_code (1-19; the "Does not apply"
    row, -8, is dropped), ons2021_label, population, all_ages (always True), source. The national file
    also holds Wales: ``england_only`` keeps geography codes starting with E.
    """
    df, path = _read(path, [])
    names = {c.lower(): c for c in df.columns}
    try:
        geo_code = next(names[c] for c in names if c.endswith(" code") and "ethnic" not in c)
        geo_name = next(
            names[c] for c in names if not c.endswith(" code") and c in {"countries", "regions", "country", "region"}
        )
        eth_code = next(names[c] for c in names if "ethnic" in c and c.endswith(" code"))
        eth_label = next(names[c] for c in names if "ethnic" in c and not c.endswith(" code"))
        obs = names["observation"]
    except (StopIteration, KeyError):
        raise InputError(path, f"not a Census 2021 ethnic group table (columns {list(df.columns)})", line=1) from None
    code = pd.to_numeric(df[eth_code], errors="coerce")
    if code.isna().any():
        i = int(np.flatnonzero(code.isna().to_numpy())[0])
        raise InputError(
            path,
            "ethnic group code is not a number",
            line=int(df[LINE_COL].iloc[i]),
            column=eth_code,
            value=df[eth_code].iloc[i],
        )
    keep = (code > 0).to_numpy(copy=True)
    if england_only:
        keep &= df[geo_code].str.strip().str.startswith("E").to_numpy()
    out = pd.DataFrame(
        {
            "geography_code": df[geo_code].str.strip(),
            "geography_name": df[geo_name].str.strip(),
            "geographic_level": "National" if geo_name.lower().startswith("countr") else "Regional",
            "ons2021_code": code.astype("int64"),
            "ons2021_label": df[eth_label].str.strip(),
            "population": _int_column(df, obs, path),
            "all_ages": True,
            "source": "ONS Census 2021, usual residents of all ages (NOT children)",
            "line": df[LINE_COL].astype("int64"),
        }
    )[keep].reset_index(drop=True)
    _no_repeats(out, ["geography_code", "ons2021_code"], path)
    return out


def read_children_by_la_ethnicity(path: str | Path) -> pd.DataFrame:
    """The synthetic child population (0-17) by LA and ONS 2021 detailed group (docs/data-contract.md)."""
    cols = [
        "time_period",
        "geographic_level",
        "new_la_code",
        "old_la_code",
        "la_name",
        "region_code",
        "region_name",
        "ons2021_code",
        "ons2021_label",
        "major",
        "population",
        "source",
    ]
    df, path = _read(path, cols)
    if "ethnic_code" in df.columns:  # the DfE group (optional; keeps groups ONS 2021 merges apart)
        cols = [*cols[:7], "ethnic_code", *cols[7:]]
    out = df[cols].copy()
    for c in cols:
        out[c] = out[c].str.strip()
    _check_ethnic_codes(df, out, path)
    out["time_period"] = _year_column(df, "time_period", path)
    code = pd.to_numeric(out["ons2021_code"], errors="coerce")
    bad = code.isna() | ~code.between(1, 19)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            path,
            "ons2021_code must be 1-19",
            line=int(df[LINE_COL].iloc[i]),
            column="ons2021_code",
            value=df["ons2021_code"].iloc[i],
        )
    out["ons2021_code"] = code.astype("int64")
    out["population"] = _int_column(df, "population", path)
    src = out["source"] != SYNTHETIC_SOURCE
    if src.any():
        i = int(np.flatnonzero(src.to_numpy())[0])
        raise InputError(
            path,
            f"source must be {SYNTHETIC_SOURCE!r} (only synthetic data is expected here)",
            line=int(df[LINE_COL].iloc[i]),
            column="source",
            value=out["source"].iloc[i],
        )
    out["all_ages"] = False
    out["line"] = df[LINE_COL].astype("int64")
    group = "ethnic_code" if "ethnic_code" in out.columns else "ons2021_code"
    _no_repeats(out, ["time_period", "new_la_code", group], path)
    return out


def _check_ethnic_codes(df: pd.DataFrame, out: pd.DataFrame, path: Path) -> None:
    """An InputError naming the first ``ethnic_code`` that is not a known DfE code (refused and not obtained
    have no population)."""
    if "ethnic_code" not in out.columns:
        return
    from rap.domain.ethnicity import codes

    known = set(codes().index[codes()["known"]])
    bad = ~out["ethnic_code"].isin(known).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            path,
            "ethnic_code must be one of the 18 known DfE codes (rap/data/ethnicity/codes.csv)",
            line=int(df[LINE_COL].iloc[i]),
            column="ethnic_code",
            value=df["ethnic_code"].iloc[i],
        )
