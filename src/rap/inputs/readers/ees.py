"""Published Explore Education Statistics (EES) CSVs of the CLA release, in one tidy long shape.

File names, header case and labels differ between releases; ``rap/data/ees_files.yaml`` maps each release's
files to canonical tables. Every canonical table comes out long, one row per published cell::

    release, table, source_file, line, time_period, time_identifier, geographic_level, country_code,
    region_code, region_name, old_la_code, new_la_code, la_name, <filters of the table...>,
    ethnicity_level, ethnicity, indicator, value, symbol, raw

* ``value`` is a float, missing (NaN) where the cell holds an EES symbol; ``symbol`` is that symbol
  (``c`` suppressed, ``k``/``low`` rounds to zero, ``x`` not available, ``z`` not applicable, ``u`` low
  reliability) and missing for numbers. A symbol is never 0. ``raw`` is the cell as published.
  "1,234" and "12.5" parse; a ``years:months`` cell (average age, e.g. "3:4") becomes decimal years.
* ``ethnicity_level``/``ethnicity`` (``minor`` + DfE code, ``major`` + group key, or ``total``) are filled
  on the rows the table's ``ethnicity`` setting selects, from ``rap.domain.ethnicity.map_ees_labels``.
* ``line`` is the physical line of the row in the file (header = line 1).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rap.core.errors import InputError
from rap.domain.disclosure import SYMBOLS
from rap.domain.ethnicity import map_ees_labels
from rap.inputs.readers.csvfiles import CsvFile, parse_bodies, read_csv_file
from rap.inputs.readers.quarantine import LINE_COL

GEO_COLUMNS = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
]
LONG_TAIL = ["ethnicity_level", "ethnicity", "indicator", "value", "symbol", "raw"]
_NUMBER = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_YEARS_MONTHS = re.compile(r"^(\d+):(\d{1,2})$")


@cache
def ees_files() -> dict:
    """The release -> file -> canonical table mapping and the canonical table definitions."""
    with resources.files("rap.data").joinpath("ees_files.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def parse_indicator(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells to (value float, symbol or None, ok). ``ok`` is False where a cell is neither."""
    codes, uniques = pd.factorize(raw.fillna(""), use_na_sentinel=False)
    values = np.full(len(uniques), np.nan)
    symbols = np.full(len(uniques), None, dtype=object)
    ok = np.zeros(len(uniques), dtype=bool)
    for i, u in enumerate(uniques):
        s = str(u).strip()
        if s.lower() in SYMBOLS:
            symbols[i], ok[i] = s.lower(), True
        elif _NUMBER.match(s):
            values[i], ok[i] = float(s.replace(",", "")), True
        elif m := _YEARS_MONTHS.match(s):
            values[i], ok[i] = int(m.group(1)) + int(m.group(2)) / 12, True
    return values[codes], symbols[codes], ok[codes]


def release_of(folder: Path) -> int:
    found = re.findall(r"(20\d\d)", folder.name)
    if not found:
        raise InputError(folder, "cannot tell the release year from the folder name; pass release=")
    return int(found[-1])


def read_ees_table(path: str | Path, table: str, release: int | None = None) -> pd.DataFrame:
    """Read one published file as canonical ``table`` (see ``ees_files.yaml``) into the tidy long shape."""
    path = Path(path)
    spec = ees_files()["tables"].get(table)
    if spec is None:
        raise KeyError(f"{table!r} is not a canonical table in rap/data/ees_files.yaml")
    f = read_csv_file(path)
    original = _canonical_columns(f, spec, path, table)
    df = parse_bodies([f], [0], f.columns)
    out = pd.DataFrame(index=df.index)
    out["release"] = release
    out["table"] = table
    out["source_file"] = path.name
    out["line"] = df[LINE_COL].astype("int64")
    for c in GEO_COLUMNS:
        s = df[c].str.strip() if c in df.columns else pd.Series("", index=df.index, dtype="str")
        out[c] = s.replace("", None) if c != "time_period" else s
    out["time_period"] = _time_period(out, df, path, original["time_period"])
    if release is not None:
        _years_of_release(out, df, path, original["time_period"], int(release))
    for c in spec["filters"]:
        out[c] = df[c].str.strip()
    _add_ethnicity(out, spec.get("ethnicity"), path, original)
    _no_repeated_cells(out, [*GEO_COLUMNS, *spec["filters"]], path)
    parts = [_indicator_rows(out, df, ind, path, original[ind]) for ind in spec["indicators"]]
    return pd.concat(parts, ignore_index=True) if parts else out


def _no_repeated_cells(out: pd.DataFrame, keys: list[str], path: Path) -> None:
    """An InputError naming the first row whose geography, time and filters repeat an earlier row's: each
    published cell is one figure, and a second one (the same or another number) would be read twice or
    silently lose to the first."""
    dup = out.duplicated(keys, keep="first").to_numpy()
    if not dup.any():
        return
    i = int(np.flatnonzero(dup)[0])
    same = (out[keys].fillna("") == out[keys].iloc[i].fillna("")).all(axis=1).to_numpy()
    first = int(out["line"].iloc[int(np.flatnonzero(same)[0])])
    raise InputError(
        path,
        f"repeats line {first}: the same {', '.join(k for k in keys if out[k].notna().any())}; "
        "a published table holds each cell once",
        line=int(out["line"].iloc[i]),
    )


def _canonical_columns(f: CsvFile, spec: dict, path: Path, table: str) -> dict[str, str]:
    """Rename ``f``'s columns to the canonical names (lower case, the table's renames); return canonical ->
    name in the file. An InputError when names clash or a column the table needs is missing."""
    renames = spec.get("columns", {}) or {}
    canon = [renames.get(c.lower(), c.lower()) for c in f.columns]
    if len(set(canon)) != len(canon):
        raise InputError(path, f"columns clash after normalising names: {f.columns}", line=1)
    original = dict(zip(canon, f.columns))
    f.columns = canon
    wanted = list(spec["filters"]) + list(spec["indicators"]) + ["time_period", "geographic_level"]
    missing = [c for c in wanted if c not in canon]
    if missing:
        raise InputError(
            path,
            f"missing column(s) {missing} for EES table {table}; found {list(original.values())}",
            line=1,
            column=missing[0],
        )
    return original


def _time_period(out: pd.DataFrame, df: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """``time_period`` as integers; an InputError naming the first cell that is not a number."""
    tp = pd.to_numeric(out["time_period"], errors="coerce")
    if tp.isna().any():
        i = int(np.flatnonzero(tp.isna().to_numpy())[0])
        raise InputError(
            path,
            "time_period is not a number",
            line=int(out["line"].iloc[i]),
            column=column,
            value=df["time_period"].iloc[i],
        )
    return tp.astype("int64")


def _years_of_release(out: pd.DataFrame, df: pd.DataFrame, path: Path, column: str, release: int) -> None:
    """An InputError for a row of a year after ``release``: the file belongs to a later release, and its
    figures would be read as this release's. (A file may end before the release's year: some of DfE's tables
    lag a year.)"""
    later = (out["time_period"] > release).to_numpy()
    if later.any():
        i = int(np.flatnonzero(later)[0])
        raise InputError(
            path,
            f"a year after the release ({release}) this file is read for: it belongs to a later release",
            line=int(out["line"].iloc[i]),
            column=column,
            value=df["time_period"].iloc[i],
        )


def _add_ethnicity(out: pd.DataFrame, eth: dict | None, path: Path, original: dict[str, str]) -> None:
    """Fill ``ethnicity_level`` and ``ethnicity`` on the rows the table's ``ethnicity`` setting selects."""
    out["ethnicity_level"] = pd.Series(None, index=out.index, dtype="object")
    out["ethnicity"] = pd.Series(None, index=out.index, dtype="object")
    if not eth or not len(out):
        return
    sel = np.ones(len(out), dtype=bool)
    for col, values in eth["when"].items():
        sel &= out[col].isin([str(v).strip() for v in values]).to_numpy()
    if sel.any():
        labels = out.loc[sel, eth["label"]]
        mapped = _map_labels(labels, path, out.loc[sel, "line"], original[eth["label"]])
        out.loc[sel, "ethnicity_level"] = mapped["level"].to_numpy()
        out.loc[sel, "ethnicity"] = mapped["value"].replace("", None).to_numpy()


def _indicator_rows(out: pd.DataFrame, df: pd.DataFrame, ind: str, path: Path, column: str) -> pd.DataFrame:
    """The rows of ``out`` for indicator ``ind``: ``value``, ``symbol`` and the ``raw`` cell; an InputError
    naming the first cell that is neither a number nor a symbol."""
    value, symbol, ok = parse_indicator(df[ind])
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            path,
            f"indicator cell is neither a number nor an EES symbol ({', '.join(SYMBOLS)})",
            line=int(out["line"].iloc[i]),
            column=column,
            value=df[ind].iloc[i],
        )
    negative = ~np.isnan(value) & (value < 0)
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise InputError(
            path,
            "negative figure: a published count, rate, percentage or average is never below 0",
            line=int(out["line"].iloc[i]),
            column=column,
            value=df[ind].iloc[i],
        )
    part = out.copy()
    part["indicator"] = ind
    part["value"] = value
    part["symbol"] = pd.Series(symbol, index=df.index, dtype="object")
    part["raw"] = df[ind].to_numpy()
    return part


def _map_labels(labels: pd.Series, path: Path, lines: pd.Series, column: str) -> pd.DataFrame:
    try:
        return map_ees_labels(labels, source=str(path))
    except KeyError:
        for lab, line in zip(labels, lines):
            try:
                map_ees_labels(pd.Series([lab]))
            except KeyError:
                raise InputError(
                    path,
                    "unrecognised ethnicity label; add it to rap/data/ethnicity/ees_labels.csv",
                    line=int(line),
                    column=column,
                    value=lab,
                ) from None
        raise


def read_ees_release(folder: str | Path, release: int | None = None) -> dict[str, pd.DataFrame]:
    """Read every file that ``ees_files.yaml`` lists for ``release`` (default: the year in the folder name)
    from ``folder``, as {canonical table: tidy long frame}. A listed file that is absent is an error; a file
    not listed is skipped and named in ``frame.attrs['notes']`` of every table."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "EES release folder not found")
    release = int(release) if release is not None else release_of(folder)
    files = ees_files()["releases"].get(release)
    if files is None:
        raise InputError(folder, f"release {release} is not described in rap/data/ees_files.yaml")
    out: dict[str, pd.DataFrame] = {}
    for name, table in files.items():
        p = folder / name
        if not p.is_file():
            raise InputError(p, f"file of EES table {table} (release {release}) not found")
        df = read_ees_table(p, table, release)
        out[table] = pd.concat([out[table], df], ignore_index=True) if table in out else df
    listed = set(files)
    notes = [
        f"{p.name}: not listed for release {release} in ees_files.yaml; skipped"
        for p in sorted(folder.glob("*.csv"))
        if p.name not in listed and not p.name.endswith(".meta.csv")
    ]
    for df in out.values():
        df.attrs["notes"] = notes
    return out


def read_ees_la_ethnicity(path: str | Path) -> pd.DataFrame:
    """The DERIVED 2025 file of children looked after on 31 March by major ethnic group (national,
    regional, LA, 2021-2025), tidy long. Its 905 suppressed LA cells come out as value NaN, symbol 'c'."""
    return read_ees_table(path, "la_ethnicity_major_derived", release=2025)


def wide(df: pd.DataFrame, index: list[str] | None = None) -> pd.DataFrame:
    """Convenience: the long frame back to one column per indicator value (symbols dropped to NaN)."""
    index = index or [c for c in df.columns if c not in {"indicator", "value", "symbol", "raw", "line"}]
    return df.pivot_table(index=index, columns="indicator", values="value", aggfunc="first", dropna=False).reset_index()
