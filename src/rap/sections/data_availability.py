"""Data availability: the catalogue of collections the strategy relies on, joined with what the inputs hold.

The catalogue (``rap/data/collections.yaml``) says what each collection is; the scan says what this run's
inputs actually contain (years, rows, local authorities, fields). Gaps are stated from the two together.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from rap.domain.geography import local_authorities
from rap.inputs.coverage import collections
from rap.inputs.front import Inputs

N_LAS = len(local_authorities())


@cache
def catalogue() -> pd.DataFrame:
    """The collections catalogue, one row per collection, in the order the YAML lists them."""
    df = pd.DataFrame(list(collections()))
    df["measures"] = df["measures"].map("; ".join)
    return df


def coverage_grid(scan: pd.DataFrame) -> pd.DataFrame:
    """Share of LAs with data, collections by years, labelled with the collections' names."""
    names = catalogue().set_index("id")["name"]
    grid = scan.pivot(index="collection", columns="year", values="share_las")
    grid = grid.reindex(catalogue()["id"])
    grid.index = grid.index.map(names)
    grid.index.name = "Collection"
    return grid


def catalogue_table() -> pd.DataFrame:
    """The publication table of what each collection is: ethnicity field, classification, link key."""
    cat = catalogue()
    return pd.DataFrame(
        {
            "Collection": cat["name"],
            "Ethnicity field": cat["ethnicity_field"],
            "Classification": cat["classification"],
            "Link key": cat["link_key"],
        }
    )


def availability_table(scan: pd.DataFrame) -> pd.DataFrame:
    """The publication table of what this run's inputs hold: years present, rows and LAs in the latest."""
    cat = catalogue().set_index("id")
    present = scan[scan["rows"] > 0]
    years = present.groupby("collection")["year"].agg(lambda y: f"{min(y)} to {max(y)}" if len(y) > 1 else str(min(y)))
    latest = scan[scan["year"] == scan["year"].max()].set_index("collection")
    out = pd.DataFrame(
        {
            "Collection": cat["name"],
            "Published by ethnicity": cat["published_by_ethnicity"],
            "Years in inputs": years.reindex(cat.index).fillna("none"),
            "Rows (latest year)": latest["rows"].reindex(cat.index).fillna(0).astype(int),
            "LAs (latest year)": latest["las"].reindex(cat.index).fillna(0).astype(int),
        }
    )
    return out.reset_index(drop=True)


def not_collected_years(collection: str, years: list[int]) -> set[int]:
    """Years in ``years`` for which the catalogue says the collection has no data by design."""
    rule = catalogue().set_index("id").at[collection, "not_collected"]
    if not isinstance(rule, dict):
        return set()
    out = set(rule.get("years", []))
    out |= {y for y in years if "before" in rule and y < rule["before"]}
    out |= {y for y in years if "after" in rule and y > rule["after"]}
    return out & set(years)


def gaps(scan: pd.DataFrame, years: list[int], synthetic_population: bool) -> list[str]:
    """Sentences naming what is missing or partial, drawn from the scan (not fixed prose)."""
    cat = catalogue().set_index("id")
    out = []
    for cid, g in scan.groupby("collection", sort=False):
        name = cat.at[cid, "name"]
        if cat.at[cid, "input"] == "none":
            out.append(f"{name} is not among this pipeline's inputs, so nothing here draws on it.")
            continue
        missing = g.loc[g["rows"] == 0, "year"].tolist()
        by_design = not_collected_years(cid, years)
        expected = [y for y in missing if y in by_design]
        missing = [y for y in missing if y not in by_design]
        if expected:
            out.append(
                f"{name}: no data for {', '.join(map(str, expected))}, as expected: {cat.at[cid, 'not_collected']['reason']}."
            )
        if len(missing) == len(years):
            out.append(f"{name}: no data in any year from {years[0]} to {years[-1]}.")
        elif missing:
            out.append(f"{name}: no data for {', '.join(map(str, missing))}.")
        partial = g[(g["rows"] > 0) & (g["las"] < N_LAS)]
        if len(partial):
            lo, hi = int(partial["las"].min()), int(partial["las"].max())
            span = f"{lo}" if lo == hi else f"between {lo} and {hi}"
            yrs = partial["year"].tolist()
            when = f"in {yrs[0]}" if len(yrs) == 1 else f"in {len(yrs)} of {len(years)} years"
            out.append(f"{name}: only {span} of {N_LAS} local authorities have records {when}.")
    if synthetic_population:
        out.append(
            "No published source gives children under 18 by ethnic group and local authority for these years; "
            "the population by ethnicity used here is synthetic, so rates by ethnic group are illustrative."
        )
    return out


def availability_ees(scan: pd.DataFrame) -> pd.DataFrame:
    """The scan as an EES tidy table: one row per year and collection, England level."""
    names = catalogue().set_index("id")["name"]
    from rap.domain.ees import with_ees_columns

    table = pd.DataFrame(
        {
            "year": scan["year"],
            "collection": scan["collection"].map(names),
            "number_of_rows": scan["rows"].astype(int),
            "number_of_las": scan["las"].astype(int),
        }
    )
    return (
        with_ees_columns(table, year="year")
        .sort_values(["time_period", "collection"], kind="stable")
        .reset_index(drop=True)
    )


def inputs_note(data: Inputs) -> str:
    """What kind of inputs this run read, in a sentence for the chapter."""
    if data.published:
        return (
            "Inputs: **published** EES tables. They are national (and some LA) aggregates, so the LA columns "
            "count LAs only where a table has LA rows."
        )
    if data.synthetic:
        return "Inputs: **synthetic** record-level data generated by `rap synth` (not real children)."
    return "Inputs: record-level SSDA903 returns and school extracts."


def scan_inputs(data: Inputs, qa_dir: Path) -> tuple[pd.DataFrame, str]:
    """Scan this run's inputs whatever their kind; quarantined rows go to ``qa_dir``. Returns (scan, note)."""
    data.write_rejected(qa_dir)
    return data.coverage(), inputs_note(data)


def coverage_headline(full: int, total: int, published: bool) -> str:
    """The finding the coverage chart shows, worded for what its cells mean for this kind of input."""
    if published:
        return f"{full} of {total} collections have a published table in every year"
    return f"{full} of {total} collections have data for every LA in every year"


def write_outputs(scan: pd.DataFrame, out, *, headline: str, gap_count: int, years: list[int]) -> None:
    """The section's published table and its key finding for the front page."""
    from rap.domain.ees import write_ees
    from rap.sections.common import capital, write_summary

    write_ees(
        availability_ees(scan),
        out / "tables" / "data_availability.csv",
        filters={"collection": "Collection"},
        indicators={
            "number_of_rows": ("Records in the inputs", "", 0),
            "number_of_las": ("Local authorities with records", "", 0),
        },
    )
    write_summary(
        out,
        "01_data_availability",
        [
            f"{capital(headline)}, {years[0]} to {years[-1]}; the data availability chapter "
            f"lists {gap_count} {'gap' if gap_count == 1 else 'gaps'} (@tbl-availability)."
        ],
    )
