"""The report's reviewer aids, built from a finished build (not from notebooks): what changed since last year,
a methods and quality annex, and a QA annex listing every automated check of this build and its result.

Each is Markdown (tables through :func:`rap.present.display.table_markdown`, so both renderers number and
caption them) wrapped in a one-cell notebook by :func:`markdown_notebook`, which the report takes as a
chapter like any section. Everything here reads published tables (already disclosure-controlled), the
parameters and the manifest's input hashes: no record-level data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.params import Params
from rap.present.display import table_markdown
from rap.domain.disclosure import SYMBOLS

GEO_KEYS = ["time_period", "geographic_level", "country_code", "region_code", "region_name", "old_la_code",
            "new_la_code", "la_name"]


# --------------------------------------------------------------------------------------------------
# tables

def _meta(csv: Path) -> pd.DataFrame:
    meta = csv.with_name(csv.stem + ".meta.csv")
    return pd.read_csv(meta, dtype=str, keep_default_na=False) if meta.is_file() else pd.DataFrame(
        columns=["col_name", "col_type", "label", "indicator_unit"])


def published_tables(folder: Path) -> dict[str, Path]:
    """{table name: csv path} of the EES tables in ``folder`` (``.meta.csv`` files excluded)."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.csv")) if not p.name.endswith(".meta.csv")}


def _read(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv, dtype=str, keep_default_na=False)


def _keys_and_indicators(csv: Path, df: pd.DataFrame) -> tuple[list[str], list[str]]:
    meta = _meta(csv)
    filters = meta.loc[meta["col_type"] == "Filter", "col_name"].tolist()
    indicators = [c for c in meta.loc[meta["col_type"] == "Indicator", "col_name"] if c in df.columns]
    keys = [c for c in GEO_KEYS if c in df.columns] + [c for c in filters if c in df.columns]
    return keys, indicators


# --------------------------------------------------------------------------------------------------
# changes since last year

@dataclass
class Changes:
    """What differs between this year's published tables and last year's, for the years both cover."""

    new_tables: list[str]
    discontinued_tables: list[str]
    per_table: pd.DataFrame  # table, rows compared, figures compared, revised, newly suppressed, new rows, dropped rows
    revisions: pd.DataFrame  # the largest revisions (absolute) of national figures
    movements: pd.DataFrame  # the largest year-on-year movements in this year's national figures


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def _is_headline(indicator: str) -> bool:
    """Indicators whose movement a reader cares about: percentages, rates, averages, dashboard values; not
    interval limits or counts (counts move with the population)."""
    return (any(w in indicator for w in ("percentage", "rate", "value", "average"))
            and not any(w in indicator for w in ("lower", "upper")))


def _describe(row: pd.Series, filters: list[str]) -> str:
    parts = [str(row[c]) for c in filters if c in row.index and str(row[c]) not in {"", "Total"}]
    return ", ".join(parts) or "All"


def compare_years(current: Path, previous: Path, year: int, top: int = 10) -> Changes:
    """Compare ``current`` and ``previous`` tables folders: new and discontinued tables; for tables in both,
    figures for the overlapping years that were revised (value changed), newly suppressed, or appear or
    disappear; the largest revisions and this year's largest movements among national figures."""
    cur, prev = published_tables(current), published_tables(previous)
    per, revisions, movements = [], [], []
    for name, path in cur.items():
        df = _read(path)
        keys, inds = _keys_and_indicators(path, df)
        meta = _meta(path)
        filters = [c for c in meta.loc[meta["col_type"] == "Filter", "col_name"] if c in df.columns]
        # movements: latest year against the year before, national rows, rates/percentages/averages
        if "time_period" in df.columns and "geographic_level" in df.columns:
            nat = df[df["geographic_level"] == "National"]
            if "ethnicity_minor" in nat.columns:  # major groups and totals: minor groups move by chance
                nat = nat[nat["ethnicity_minor"].isin(["Total", ""])]
            unit = dict(zip(meta["col_name"], meta.get("indicator_unit", pd.Series(dtype=str))))
            for ind in inds:
                if not _is_headline(ind):
                    continue
                a = nat[nat["time_period"] == str(year)]
                b = nat[nat["time_period"] == str(year - 1)]
                k = [c for c in keys if c != "time_period"]
                m = a[k + [ind]].merge(b[k + [ind]], on=k, suffixes=("", "_prev"))
                d = _num(m[ind]) - _num(m[ind + "_prev"])
                for i in np.flatnonzero(np.isfinite(d)):
                    row = m.iloc[i]
                    movements.append({"Table": name, "Figure": _describe(row, filters), "Indicator": ind,
                                      str(year - 1): row[ind + "_prev"], str(year): row[ind],
                                      "Change": d[i], "_abs": abs(d[i]), "_unit": unit.get(ind, "")})
        if name not in prev:
            continue
        old = _read(prev[name])
        years = sorted(set(df.get("time_period", pd.Series(dtype=str))) & set(old.get("time_period", pd.Series(dtype=str))))
        common = [c for c in inds if c in old.columns]
        if not years or not common or not all(k in old.columns for k in keys):
            per.append({"Table": name, "Years compared": "none", "Figures compared": 0, "Revised": 0,
                        "Newly suppressed": 0, "New rows": len(df), "Dropped rows": 0})
            continue
        a = df[df["time_period"].isin(years)]
        b = old[old["time_period"].isin(years)]
        m = a[keys + common].merge(b[keys + common], on=keys, how="outer", suffixes=("", "_prev"), indicator=True)
        both = m[m["_merge"] == "both"]
        revised = suppressed = compared = 0
        for ind in common:
            x, y = both[ind].astype(str), both[ind + "_prev"].astype(str)
            compared += len(both)
            changed = x != y
            newly = changed & x.isin(list(SYMBOLS)) & ~y.isin(list(SYMBOLS))
            suppressed += int(newly.sum())
            revised += int((changed & ~newly).sum())
            if "geographic_level" in both.columns:
                nat = both[both["geographic_level"].eq("National") & changed]
                dv = _num(nat[ind]) - _num(nat[ind + "_prev"])
                for i in np.flatnonzero(np.isfinite(dv) & (dv != 0)):
                    row = nat.iloc[i]
                    revisions.append({"Table": name, "Year": row["time_period"], "Figure": _describe(row, filters),
                                      "Indicator": ind, "Last year's": row[ind + "_prev"], "This year's": row[ind],
                                      "_abs": abs(dv[i])})
        per.append({"Table": name, "Years compared": f"{years[0]} to {years[-1]}" if len(years) > 1 else years[0],
                    "Figures compared": compared, "Revised": revised, "Newly suppressed": suppressed,
                    "New rows": int((m["_merge"] == "left_only").sum()), "Dropped rows": int((m["_merge"] == "right_only").sum())})

    def top_of(rows: list[dict]) -> pd.DataFrame:
        if not rows:
            return pd.DataFrame()
        t = pd.DataFrame(rows).sort_values("_abs", ascending=False, kind="stable").head(top)
        return t.drop(columns=[c for c in t.columns if c.startswith("_")]).reset_index(drop=True)

    mv = top_of(movements)
    if not mv.empty:
        mv["Change"] = [f"{v:+.1f}" for v in mv["Change"].astype(float)]
    return Changes(new_tables=sorted(set(cur) - set(prev)), discontinued_tables=sorted(set(prev) - set(cur)),
                   per_table=pd.DataFrame(per), revisions=top_of(revisions), movements=mv)


def _readable(df: pd.DataFrame) -> pd.DataFrame:
    """Table, figure and indicator names with spaces, so a narrow PDF column can wrap them."""
    out = df.copy()
    for col in ("Table", "Figure", "Indicator"):
        if col in out.columns:
            out[col] = out[col].astype(str).str.replace("_", " ")
    return out


def changes_markdown(current: Path, previous: Path | None, year: int) -> str:
    """The "Changes since last year" chapter."""
    out = ["# Changes since last year", ""]
    if previous is None or not published_tables(previous):
        where = f" (looked for `{previous.as_posix()}`)" if previous is not None else ""
        out += [f"No published tables from {year - 1} were found beside this build{where}, so nothing can be "
                f"compared. Build {year - 1} first with the same settings (`rap run --params params/{year - 1}.yaml`) "
                "and this chapter lists new, revised and discontinued figures and the largest movements.", ""]
        ch = compare_years(current, current / "__none__", year)
    else:
        ch = compare_years(current, previous, year)
        out += [f"This chapter compares this year's published tables with those published for {year - 1}, for the "
                "years both cover. A figure is *revised* when its published value changed (late returns, "
                "corrections, or a change of method), *newly suppressed* when it is now shown as a symbol.", ""]
        out += [f"- New tables: {', '.join(f'`{t}`' for t in ch.new_tables) or 'none'}.",
                f"- Discontinued tables: {', '.join(f'`{t}`' for t in ch.discontinued_tables) or 'none'}.", ""]
        if not ch.per_table.empty:
            out.append(table_markdown(_readable(ch.per_table), "tbl-changes-summary",
                                      f"Figures compared with the {year - 1} publication, by table"))
            out.append("")
        if not ch.revisions.empty:
            out.append(table_markdown(_readable(ch.revisions), "tbl-changes-revisions",
                                      f"Largest revisions to national figures since the {year - 1} publication"))
            out.append("")
    if not ch.movements.empty:
        out.append(f"@tbl-changes-movements lists the national figures that moved most between {year - 1} and {year} "
                   "(percentage points, rates per 10,000 or average points, as the indicator says).")
        out.append("")
        out.append(table_markdown(_readable(ch.movements), "tbl-changes-movements",
                                  f"Largest movements in national figures, {year - 1} to {year}"))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# methods and quality annex

def _input_groups(inputs: dict[str, str]) -> pd.DataFrame:
    """Input files summarised by folder (a build reads thousands of files): files, and one sha256 over the
    sorted (file, sha256) pairs. The manifest lists every file."""
    from rap.core.hashing import sha256_json

    groups: dict[str, dict[str, str]] = {}
    for path, sha in sorted(inputs.items()):
        parts = path.split("/")[:-1]
        folder = "/".join(parts[:4]) or "."  # e.g. data/synthetic/ssda903/2024 (one folder per LA below it)
        groups.setdefault(folder, {})[path] = sha
    rows = [{"Folder or file": folder, "Files": len(files),
             "sha256 (of the folder's file hashes; first 16 characters)": sha256_json(files)[:16]}
            for folder, files in groups.items()]
    return pd.DataFrame(rows)


def methods_markdown(params: Params, inputs: dict[str, str]) -> str:
    """Definitions, disclosure control, RAG thresholds, statistical methods and data sources with hashes."""
    from rap.measures import catalogue

    rag = params.quality_rag
    rules = pd.DataFrame([
        {"Dimension": name.replace("_", " ").capitalize(), "Green at least": f"{getattr(rag, name).green:.1%}",
         "Amber at least": f"{getattr(rag, name).amber:.1%}"}
        for name in ("completeness", "validity", "consistency_over_time", "consistency_across_collections", "linkage")])
    defs = pd.DataFrame([{"Measure": v["title"], "Definition": " ".join(str(v["definition"]).split())}
                         for v in catalogue().values()])
    s = params.suppression
    out = [
        "# Annex A: Methods and quality", "",
        "## Definitions", "",
        table_markdown(defs, "tbl-annex-definitions", "Definitions of the measures (DfE's, with this pipeline's simplifications)"), "",
        "## Disclosure control", "",
        f"Applied once, to every table before it leaves the pipeline. National and regional counts are rounded to the "
        f"nearest {s.rounding_base} (half up; `low` where a count that is not zero rounds to zero). Local counts from 1 "
        f"to {s.threshold} are suppressed (`c`), with secondary suppression so that a suppressed count cannot be "
        "recovered from a published total; percentages, rates and averages resting on a suppressed count are "
        "suppressed too. No record-level value (child identifier, date of birth, UPN, postcode) may appear in any "
        "output: every build scans all its outputs for them and fails if one is found (Annex B).", "",
        "Symbols: " + "; ".join(f"`{k}` {v}" for k, v in SYMBOLS.items() if k != "k") + "; `k` a percentage under 0.5.", "",
        "## Ethnicity data quality ratings", "",
        "No official thresholds exist; these are the project's own, set in `params/defaults.yaml`. A share at or "
        "above *green* is green, at or above *amber* amber, otherwise red. LAs are flagged on funnel plots only "
        f"outside the {rag.funnel_level:.1%} limit.", "",
        table_markdown(rules, "tbl-annex-rag", "Red, amber and green thresholds for ethnicity data quality"), "",
        "## Statistical methods", "",
        "- Proportions: Wilson score 95% intervals.",
        "- Rates per 10,000 children: exact (chi-squared) limits for counts under 10, Byar's method from 10.",
        "- Ratios between groups: log method for rate ratios; `confint_proportions_2indep(compare='ratio')` for "
        "proportions. The text names a difference only when its 95% interval excludes 1.",
        "- Comparing LAs: funnel plots with 95% and 99.8% limits; overdispersion estimated from 10%-winsorised "
        "z-scores and allowed for with an additive between-LA variance (stated in each chapter).",
        "- Applying national results to LAs: indirect standardisation by major ethnic group (observed / expected).", "",
        "## Data sources", "",
        f"Data kind: `{params.data.kind}`; collection years {params.series_years[0]} to {params.year}. "
        + ("Every input file and its sha256 is listed in `manifest.json`; @tbl-annex-sources summarises them by "
           "folder." if inputs else "No input files were recorded: this build was not made by `rap run`."), "",
        table_markdown(_input_groups(inputs), "tbl-annex-sources", "Input files of this build, by folder") if inputs else "",
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# QA annex

@dataclass(frozen=True)
class Check:
    """One automated check of the build: what was checked, its result and what it found."""

    name: str
    result: str  # passed | failed | not run
    detail: str


def suppression_checks(tables_dir: Path) -> list[Check]:
    """Count the symbols in every published table (evidence that disclosure control ran) and check that no
    indicator cell is blank (EES rejects blanks)."""
    out = []
    for name, path in published_tables(tables_dir).items():
        df = _read(path)
        _, inds = _keys_and_indicators(path, df)
        if not inds:
            continue
        cells = df[inds]
        blank = int((cells == "").sum().sum())
        sup = int(cells.isin(["c"]).sum().sum())
        out.append(Check(f"Table {name.replace('_', ' ')}: EES format and symbols",  # spaces let a PDF cell wrap
                         "passed" if blank == 0 else "failed",
                         f"{len(df):,} rows; {sup:,} cells suppressed (c); {blank} blank indicator cells"))
    return out


def qa_markdown(checks: list[Check]) -> str:
    """The QA annex: every check this build ran, in order, with its result."""
    t = pd.DataFrame([{"Check": c.name, "Result": c.result.capitalize(), "Detail": c.detail} for c in checks])
    failed = sum(c.result == "failed" for c in checks)
    out = ["# Annex B: Quality assurance of this build", "",
           f"Every automated check run while building this report, and its result: {len(checks)} checks, "
           f"{failed} failed. A build with a failed check that matters for publication (inputs, disclosure) stops "
           "before anything is published; the list is also written to `qa/checks.csv`.", "",
           table_markdown(t, "tbl-annex-qa", "Automated checks of this build")]
    return "\n".join(out) + "\n"


def write_checks_csv(checks: list[Check], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([c.__dict__ for c in checks]).to_csv(path, index=False, lineterminator="\n")
    return path


def markdown_notebook(markdown: str, path: Path) -> Path:
    """A one-markdown-cell notebook: how annexes join the report as chapters in both renderers."""
    nb = {"cells": [{"cell_type": "markdown", "id": path.stem.replace("_", "-"), "metadata": {},
                     "source": markdown}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
