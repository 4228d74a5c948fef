"""The report's reviewer aids, built from a finished build (not from notebooks): what changed since last year,
a methods and quality annex, and a QA annex listing every automated check of this build and its result.

Each is Markdown (tables through :func:`rap.present.display.table_markdown`, so both renderers number and
caption them) wrapped in a one-cell notebook by :func:`markdown_notebook`, which the report takes as a
chapter like any section. Everything here reads published tables (already disclosure-controlled), the
parameters and the manifest's input hashes: no record-level data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rap.build.checks import FAILED, PASSED, Check
from rap.build.tables import filter_columns, keys_and_indicators, published_tables, read_table, table_meta
from rap.core.params import Params
from rap.domain.disclosure import SYMBOLS, largest_hidden
from rap.inputs.kinds import input_kind
from rap.present.display import table_markdown

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
    return any(w in indicator for w in ("percentage", "rate", "value", "average")) and not any(
        w in indicator for w in ("lower", "upper")
    )


def _describe(row: pd.Series, filters: list[str]) -> str:
    parts = [str(row[c]) for c in filters if c in row.index and str(row[c]) not in {"", "Total"}]
    return ", ".join(parts) or "All"


def _movements(
    name: str, df: pd.DataFrame, meta: pd.DataFrame, keys: list[str], inds: list[str], filters: list[str], year: int
) -> list[dict]:
    """This year's national headline figures against last year's, from the same table (rows with a change)."""
    nat = df[df["geographic_level"] == "National"]
    if "ethnicity_minor" in nat.columns:  # major groups and totals: minor groups move by chance
        nat = nat[nat["ethnicity_minor"].isin(["Total", ""])]
    unit = dict(zip(meta["col_name"], meta.get("indicator_unit", pd.Series(dtype=str))))
    out = []
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
            out.append(
                {
                    "Table": name,
                    "Figure": _describe(row, filters),
                    "Indicator": ind,
                    str(year - 1): row[ind + "_prev"],
                    str(year): row[ind],
                    "Change": d[i],
                    "_abs": abs(d[i]),
                    "_unit": unit.get(ind, ""),
                }
            )
    return out


def _national_revisions(name: str, both: pd.DataFrame, ind: str, changed: pd.Series, filters: list[str]) -> list[dict]:
    """National figures of one indicator whose published value changed since last year."""
    nat = both[both["geographic_level"].eq("National") & changed]
    dv = _num(nat[ind]) - _num(nat[ind + "_prev"])
    out = []
    for i in np.flatnonzero(np.isfinite(dv) & (dv != 0)):
        row = nat.iloc[i]
        out.append(
            {
                "Table": name,
                "Year": row["time_period"],
                "Figure": _describe(row, filters),
                "Indicator": ind,
                "Last year's": row[ind + "_prev"],
                "This year's": row[ind],
                "_abs": abs(dv[i]),
            }
        )
    return out


def _table_changes(
    name: str, df: pd.DataFrame, old: pd.DataFrame, keys: list[str], inds: list[str], filters: list[str]
) -> tuple[dict, list[dict]]:
    """(the table's row of the summary: figures compared, revised, newly suppressed, new and dropped rows; its
    national revisions) for the years this year's and last year's table both cover."""
    years = sorted(set(df.get("time_period", pd.Series(dtype=str))) & set(old.get("time_period", pd.Series(dtype=str))))
    common = [c for c in inds if c in old.columns]
    if not years or not common or not all(k in old.columns for k in keys):
        return {
            "Table": name,
            "Years compared": "none",
            "Figures compared": 0,
            "Revised": 0,
            "Newly suppressed": 0,
            "New rows": len(df),
            "Dropped rows": 0,
        }, []
    a = df[df["time_period"].isin(years)]
    b = old[old["time_period"].isin(years)]
    m = a[keys + common].merge(b[keys + common], on=keys, how="outer", suffixes=("", "_prev"), indicator=True)
    both = m[m["_merge"] == "both"]
    revised = suppressed = compared = 0
    revisions: list[dict] = []
    for ind in common:
        x, y = both[ind].astype(str), both[ind + "_prev"].astype(str)
        compared += len(both)
        changed = x != y
        newly = changed & x.isin(list(SYMBOLS)) & ~y.isin(list(SYMBOLS))
        suppressed += int(newly.sum())
        revised += int((changed & ~newly).sum())
        if "geographic_level" in both.columns:
            revisions += _national_revisions(name, both, ind, changed, filters)
    return {
        "Table": name,
        "Years compared": f"{years[0]} to {years[-1]}" if len(years) > 1 else years[0],
        "Figures compared": compared,
        "Revised": revised,
        "Newly suppressed": suppressed,
        "New rows": int((m["_merge"] == "left_only").sum()),
        "Dropped rows": int((m["_merge"] == "right_only").sum()),
    }, revisions


def _largest(rows: list[dict], top: int) -> pd.DataFrame:
    """The ``top`` rows of largest ``_abs``, without the helper columns (``_abs``, ``_unit``)."""
    if not rows:
        return pd.DataFrame()
    t = pd.DataFrame(rows).sort_values("_abs", ascending=False, kind="stable").head(top)
    return t.drop(columns=[c for c in t.columns if c.startswith("_")]).reset_index(drop=True)


def compare_years(current: Path, previous: Path, year: int, top: int = 10) -> Changes:
    """Compare ``current`` and ``previous`` tables folders: new and discontinued tables; for tables in both,
    figures for the overlapping years that were revised (value changed), newly suppressed, or appear or
    disappear; the largest revisions and this year's largest movements among national figures."""
    cur, prev = published_tables(current), published_tables(previous)
    per, revisions, movements = [], [], []
    for name, path in cur.items():
        df = read_table(path)
        keys, inds = keys_and_indicators(path, df)
        meta = table_meta(path)
        filters = filter_columns(meta, df)
        # movements: latest year against the year before, national rows, rates/percentages/averages
        if "time_period" in df.columns and "geographic_level" in df.columns:
            movements += _movements(name, df, meta, keys, inds, filters, year)
        if name not in prev:
            continue
        row, revised = _table_changes(name, df, read_table(prev[name]), keys, inds, filters)
        per.append(row)
        revisions += revised
    mv = _largest(movements, top)
    if not mv.empty:
        mv["Change"] = [f"{v:+.1f}" for v in mv["Change"].astype(float)]
    return Changes(
        new_tables=sorted(set(cur) - set(prev)),
        discontinued_tables=sorted(set(prev) - set(cur)),
        per_table=pd.DataFrame(per),
        revisions=_largest(revisions, top),
        movements=mv,
    )


def _readable(df: pd.DataFrame) -> pd.DataFrame:
    """Table, figure and indicator names with spaces, so a narrow PDF column can wrap them."""
    out = df.copy()
    for col in ("Table", "Figure", "Indicator"):
        if col in out.columns:
            out[col] = out[col].astype(str).str.replace("_", " ")
    return out


def _nothing_to_compare(previous: Path | None, year: int) -> list[str]:
    where = f" (looked for `{previous.as_posix()}`)" if previous is not None else ""
    return [
        f"No published tables from {year - 1} were found beside this build{where}, so nothing can be "
        f"compared. Build {year - 1} first with the same settings (`rap run --params params/{year - 1}.yaml`) "
        "and this chapter lists new, revised and discontinued figures and the largest movements.",
        "",
    ]


def _compared_with_last_year(ch: Changes, year: int) -> list[str]:
    """What the chapter says when last year's tables were found: new, discontinued, revised figures."""
    out = [
        f"This chapter compares this year's published tables with those published for {year - 1}, for the "
        "years both cover. A figure is *revised* when its published value changed (late returns, "
        "corrections, or a change of method), *newly suppressed* when it is now shown as a symbol.",
        "",
        f"- New tables: {', '.join(f'`{t}`' for t in ch.new_tables) or 'none'}.",
        f"- Discontinued tables: {', '.join(f'`{t}`' for t in ch.discontinued_tables) or 'none'}.",
        "",
    ]
    if not ch.per_table.empty:
        caption = f"Figures compared with the {year - 1} publication, by table"
        out += [table_markdown(_readable(ch.per_table), "tbl-changes-summary", caption), ""]
    if not ch.revisions.empty:
        caption = f"Largest revisions to national figures since the {year - 1} publication"
        out += [table_markdown(_readable(ch.revisions), "tbl-changes-revisions", caption), ""]
    return out


def _largest_movements(ch: Changes, year: int) -> list[str]:
    if ch.movements.empty:
        return []
    caption = f"Largest movements in national figures, {year - 1} to {year}"
    return [
        f"@tbl-changes-movements lists the national figures that moved most between {year - 1} and {year} "
        "(percentage points, rates per 10,000 or average points, as the indicator says).",
        "",
        table_markdown(_readable(ch.movements), "tbl-changes-movements", caption),
    ]


def changes_markdown(current: Path, previous: Path | None, year: int) -> str:
    """The "Changes since last year" chapter."""
    out = ["# Changes since last year", ""]
    if previous is None or not published_tables(previous):
        out += _nothing_to_compare(previous, year)
        ch = compare_years(current, current / "__none__", year)
    else:
        ch = compare_years(current, previous, year)
        out += _compared_with_last_year(ch, year)
    out += _largest_movements(ch, year)
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
    rows = [
        {
            "Folder or file": folder,
            "Files": len(files),
            "sha256 (of the folder's file hashes; first 16 characters)": sha256_json(files)[:16],
        }
        for folder, files in groups.items()
    ]
    return pd.DataFrame(rows)


def _definitions_section() -> list[str]:
    from rap.measures import catalogue

    defs = pd.DataFrame(
        [{"Measure": v["title"], "Definition": " ".join(str(v["definition"]).split())} for v in catalogue().values()]
    )
    caption = "Definitions of the measures (DfE's, with this pipeline's simplifications)"
    return ["## Definitions", "", table_markdown(defs, "tbl-annex-definitions", caption), ""]


DISCLOSURE_PREFIX = "Disclosure attack: "


def _attack_result(checks: Sequence[Check]) -> str:
    """What the disclosure attacker found on this build (its own figures), or how it is tested when it did not
    run (no published tables)."""
    attacks = [c for c in checks if c.name.startswith(DISCLOSURE_PREFIX)]
    if not attacks:
        return (
            "Whether anything suppressed or rounded can be recovered is tested, not asserted, by the attack in Annex B."
        )
    combined = attacks[-1]  # all attacks together come last
    verdict = "nothing suppressed or rounded came back" if combined.result == PASSED else "it got hidden counts back"
    return (
        f"On this build's published tables {verdict}: {combined.detail.split('; e.g.')[0]} (all attacks together; "
        "each attack's own figures are in Annex B)."
    )


def _disclosure_section(params: Params, checks: Sequence[Check] = ()) -> list[str]:
    s = params.suppression
    symbols = "; ".join(f"`{k}` {v}" for k, v in SYMBOLS.items() if k != "k")
    return [
        "## Disclosure control",
        "",
        "Applied once, to every table before it leaves the pipeline, by one scheme (set out in the project's "
        f"disclosure notes, `docs/disclosure.md`). Counts from 1 to {largest_hidden(s.threshold, s.rounding_base)} are "
        f"suppressed (`c`) on every row, national and regional included, so they cannot be told apart; local tables "
        f"show 0 as 0, national and regional ones show it as `c` too (so a sum of `c` cells has no lower bound above "
        f"0). National and regional counts are rounded to the nearest {s.rounding_base} (half up); local counts are "
        "shown as they are, with secondary suppression where a published total would otherwise give a suppressed "
        "count back. Every figure derived from counts (percentages and their intervals, rates and their intervals, "
        "ratios and their intervals, averages) is meant to be worked out from the counts as published, rounded where "
        "they are rounded, and to be `c` when a count it rests on is `c`. Whether anything suppressed or rounded can "
        "still be recovered is not asserted but tested: an attacker that reads only this build's published tables "
        "(`rap audit-disclosure`) tries to recover it from intervals, rounding patterns, totals and their parts, "
        "local authorities against regions and England, the same figure in two tables, pooled comparators and "
        f"complements, alone and all together. {_attack_result(checks)} No record-level value "
        "(child identifier, date of birth, UPN, postcode) may appear in any output: every build scans all its "
        "outputs for them and fails if one is found (Annex B).",
        "",
        f"Symbols: {symbols}; `k` a percentage under 0.5.",
        "",
    ]


RAG_DIMENSIONS = ("completeness", "validity", "consistency_over_time", "consistency_across_collections", "linkage")


def _rag_section(params: Params) -> list[str]:
    rag = params.quality_rag
    rules = pd.DataFrame(
        [
            {
                "Dimension": name.replace("_", " ").capitalize(),
                "Green at least": f"{getattr(rag, name).green:.1%}",
                "Amber at least": f"{getattr(rag, name).amber:.1%}",
            }
            for name in RAG_DIMENSIONS
        ]
    )
    return [
        "## Ethnicity data quality ratings",
        "",
        "No official thresholds exist; these are the project's own, set in `params/defaults.yaml`. A share at or "
        "above *green* is green, at or above *amber* amber, otherwise red. LAs are flagged on funnel plots only "
        f"outside the {rag.funnel_level:.1%} limit.",
        "",
        table_markdown(rules, "tbl-annex-rag", "Red, amber and green thresholds for ethnicity data quality"),
        "",
    ]


CHILD_POPULATION_METHOD = [
    "## Children by ethnic group (the denominator of rates)",
    "",
    "No source counts children under 18 by ethnic group for each LA, so rates per 10,000 by ethnic group use an "
    "estimate, published as `tables/child_population_by_ethnicity.csv` (every LA, region and England, each "
    "year of the series, the 18 DfE groups and the five major groups, to the nearest 10):",
    "",
    "- each LA's children for reporting year Y are ONS's mid-year estimate of children aged 0-17 for mid-(Y-1), "
    "the year DfE's own rates use (so LA total rates equal DfE's);",
    "- they are split in the shares of the LA's pupils by the school census's 18 ethnic groups (DfE, "
    '"Schools, pupils and their characteristics", January census of the school year ending in Y-1), '
    "unclassified pupils spread in proportion; years after the last census year held (2021/22) carry it "
    "forward and are flagged `carried_forward`;",
    "- each major group's share is scaled by its share of under-18s over its share of school-age children in "
    "Census 2021 (England and Wales), then rescaled so the LA's total is unchanged (the factors lie between "
    "0.99 and 1.02);",
    "- regions and England are sums of their LAs. Gypsy / Roma and Traveller of Irish heritage are kept "
    'apart; Arab children are within "Any other ethnic group".',
    "",
]


STATISTICAL_METHODS = [
    "## Statistical methods",
    "",
    "- Proportions: Wilson score 95% intervals.",
    "- Rates per 10,000 children: exact (chi-squared) limits for counts under 10, Byar's method from 10.",
    "- Ratios between groups: log method for rate ratios; `confint_proportions_2indep(compare='ratio')` for "
    "proportions. The text names a difference only when its 95% interval excludes 1.",
    "- Comparing LAs: funnel plots with 95% and 99.8% limits; overdispersion estimated from 10%-winsorised "
    "z-scores and allowed for with an additive between-LA variance (stated in each chapter).",
    "- Applying national results to LAs: indirect standardisation by major ethnic group (observed / expected).",
    "- Deprivation: LA x major group counts of the published LA table (hidden cells imputed from the LA's "
    "published total, in proportion to England's published group rates; a fit without them beside it) in Poisson "
    "GLMs with log(children 0-17) as offset and the scale estimated as Pearson X2 / df (quasi-Poisson): rate "
    "ratios against White (all White children; LA figures have no White British) by group alone and adjusted for "
    "the LA's IDACI 2019 average score (MHCLG English Indices of Deprivation 2019, File 11, mapped to current LAs), "
    "and rates within IDACI quintiles of LAs. Area-level (ecological): not evidence about children in the same "
    "circumstances.",
    "",
    *CHILD_POPULATION_METHOD,
]


def _sources_section(params: Params, inputs: dict[str, str]) -> list[str]:
    recorded = (
        "Every input file and its sha256 is listed in `manifest.json`; @tbl-annex-sources summarises them by folder."
        if inputs
        else "No input files were recorded: this build was not made by `rap run`."
    )
    caption = "Input files of this build, by folder"
    return [
        "## Data sources",
        "",
        f"Data kind: `{input_kind(params).name}`; collection years {params.series_years[0]} to {params.year}. "
        + recorded,
        "",
        table_markdown(_input_groups(inputs), "tbl-annex-sources", caption) if inputs else "",
    ]


def methods_markdown(params: Params, inputs: dict[str, str], checks: Sequence[Check] = ()) -> str:
    """Definitions, disclosure control (with the disclosure attack's result among ``checks``), RAG thresholds,
    statistical methods and data sources with hashes."""
    out = [
        "# Annex A: Methods and quality",
        "",
        *_definitions_section(),
        *_disclosure_section(params, checks),
        *_rag_section(params),
        *STATISTICAL_METHODS,
        *_sources_section(params, inputs),
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# QA annex


def qa_markdown(checks: Sequence[Check], reproduced: Path | None = None, screener: Path | None = None) -> str:
    """The QA annex: every check this build ran before the report (``rap.build.checks``), in order, with its
    result; on the published route, the coverage of DfE's figures (``reproduced``: the check's CSV); the EES
    screener's warnings with why no file clears them (``screener``: its CSV)."""
    t = pd.DataFrame([{"Check": c.name, "Result": c.result.capitalize(), "Detail": c.detail} for c in checks])
    failed = sum(c.result == FAILED for c in checks)
    out = [
        "# Annex B: Quality assurance of this build",
        "",
        f"Every automated check run while building this report, and its result: {len(checks)} checks, "
        f"{failed} failed. A build with a failed check that matters for publication (inputs, disclosure) stops "
        "before anything is published; the list is also written to `qa/checks.csv`.",
        "",
        table_markdown(t, "tbl-annex-qa", "Automated checks of this build"),
        *_attack_table(checks),
        *_screener_table(screener),
        *_reproduction_table(reproduced),
    ]
    return "\n".join(out) + "\n"


def _screener_table(csv: Path | None) -> list[str]:
    """The warnings of DfE's EES screener, each with the files raising it and why no file clears it."""
    if csv is None or not csv.is_file():
        return []
    t = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if t.empty:
        return ["", "## DfE's EES screener", "", "No file raised a warning: every table is suitable for the EES API."]
    t = pd.DataFrame(
        {
            "Warning": t["check"],
            "Files": t["files"],
            "Why it is left": t["reason"].replace("", "-"),
            "Items no reason covers": t["not_explained"].replace("", "none"),
        }
    )
    return [
        "",
        "## DfE's EES screener",
        "",
        "Every file passes DfE's pre-upload checks (`eesyscreener`). A warning keeps a file off the EES API; the "
        "ones left name labels, items and columns that the GSS harmonised list or DfE's data dictionary has no "
        "item for yet, save where the reason names a rename still to do. A warning no reason covers fails the "
        "check.",
        "",
        table_markdown(t, "tbl-annex-screener", "Warnings of DfE's EES screener on this build's tables"),
    ]


def _reproduction_table(csv: Path | None) -> list[str]:
    """DfE's national figures by ethnic group, release table by release table: reproduced, differing, not
    produced and why (``rap.build.reproduction``)."""
    if csv is None or not csv.is_file():
        return []
    t = pd.read_csv(csv, dtype=str, keep_default_na=False)
    cols = {
        "source_file": "DfE file",
        "output_table": "Table here",
        "figures": "Figures",
        "reproduced": "Reproduced",
        "differing": "Differing",
        "not_produced": "Not produced",
        "reason": "Reason",
    }
    t = t[list(cols)].rename(columns=cols)
    t["Table here"] = t["Table here"].map(lambda n: f"`{n}.csv`" if n else "none")
    t["Reason"] = t["Reason"].replace("", "-")
    return [
        "",
        "## DfE's national figures by ethnic group",
        "",
        "Every national figure by ethnic group in DfE's release (every year and indicator: numbers, percentages, "
        "DfE's symbols), looked up in the tables this build wrote. *Reproduced*: the same number or symbol at the "
        "same year, breakdown and group.",
        "",
        table_markdown(t, "tbl-annex-dfe-figures", "DfE's national figures by ethnic group in this build's tables"),
    ]


def _attack_table(checks: Sequence[Check]) -> list[str]:
    """The disclosure attacker's own figures, one row per attack: what it examined and what it got back."""
    rows = [
        {
            "Attack": c.name.removeprefix(DISCLOSURE_PREFIX).capitalize(),
            "Result": c.result.capitalize(),
            "Figures": c.detail,
        }
        for c in checks
        if c.name.startswith(DISCLOSURE_PREFIX)
    ]
    if not rows:
        return []
    return [
        "",
        "## Disclosure attack",
        "",
        "An attacker that reads only the published tables of this build (`rap.audit`) tried each attack alone and "
        "all of them together. *Recovered*: a suppressed count whose exact value follows from the published "
        "figures; *pinned*: a rounded count whose exact true value follows; *disclosed*: a small count that is the "
        "difference of two cells known exactly; *narrowed*: shown to be 1 to the threshold, no more; *shown to be "
        "0*: a `c` that must be 0 (a zero says nothing about a child: not a leak). A pinned count is a leak when an "
        "interval or a pattern of `c` gives it (every figure must rest on the published counts); pinned by adding "
        "up exact local figures it is reported, not a leak: it is never a small count. Cells are named, "
        "never their values.",
        "",
        table_markdown(pd.DataFrame(rows), "tbl-annex-attack", "The disclosure attack on this build's tables"),
    ]


def markdown_notebook(markdown: str, path: Path) -> Path:
    """A one-markdown-cell notebook: how annexes join the report as chapters in both renderers."""
    nb = {
        "cells": [{"cell_type": "markdown", "id": path.stem.replace("_", "-"), "metadata": {}, "source": markdown}],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
