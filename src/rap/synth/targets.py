"""Calibration targets for the synthetic data, extracted from published files.

The generator reads only the committed ``rap/data/synth_targets.yaml``. This module rebuilds that YAML from a
folder of the published files (the reference data) and records, for every figure, the file it came from and
the filter that selects its row, so each number can be traced back::

    python -m rap.synth.targets REFERENCE_DATA_FOLDER [--out FILE]

(or set ``RAP_REFERENCE_DATA`` to the folder). The folder holds the files as published, one subfolder per
release; each figure's ``source`` in the YAML names the file, relative to the folder.

Sources (all Open Government Licence v3.0):
- DfE, Children looked after in England including adoptions, 2024 release (explore education statistics); the
  average time between adoption stages for 2023/24 from the 2025 release
- DfE, LA counts on 31 March by major ethnic group, 2021-2025, rebuilt from the data of DfE's Children's Social
  Care Dashboard (not a raw EES file; the suppressed cells kept as suppressed)
- DfE, Outcomes for children in need, including children looked after by local authorities in England
- DfE, Children looked after in England: school stability, 2022
- ONS, mid-year population estimates of children aged 0-17, and Census 2021 ethnic group by region
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rap.core.errors import InputError, RapError
from rap.domain.ethnicity import map_ees_labels

REL_2024 = "ees-cla-2024-release"
REL_2025 = "ees-cla-2025-release"
TARGETS_FILE = "synth_targets.yaml"

#: Activity groups of OC3 ACTIV codes, as the published care-leaver activity rows.
ACTIVITY_ROWS = {
    "higher_education": "Higher education i.e. studies beyond A level",
    "other_education": "Education other than higher education",
    "apprenticeship": "In an apprenticeship",
    "training_employment": "In training or employment (excl. apprenticeship)",
    "neet": "Not in education, employment or training",
    "not_known": "Information not known",
}
MAJOR_LABELS_LEAVERS = {
    "white": "Total White",
    "mixed": "Total Mixed or Multiple ethnic groups",
    "asian": "Total Asian or Asian British",
    "black": "Total Black, African, Caribbean or Black British",
    "other": "Total other ethnic group",
    "unknown": "Total refused or information not yet available",
    "total": "Total ethnicity",
}
DERIVED_MAJOR = {
    "White": "white",
    "Mixed or Multiple ethnic groups": "mixed",
    "Asian or Asian British": "asian",
    "Black, African, Caribbean or Black British": "black",
    "Other ethnic group": "other",
    "Refused or information not yet available": "unknown",
    "Total": "total",
}


def _num(v: Any) -> float | None:
    """A published number; suppressed or not applicable markers (c, k, x, z, low) become None."""
    try:
        return float(str(v).replace(",", ""))
    except ValueError:
        return None


def _read(path: Path) -> pd.DataFrame:
    """A published CSV as text, column names and cells stripped."""
    if not path.is_file():
        raise InputError(path, "not found: the reference-data folder should hold this published file")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip())


def _pick(df: pd.DataFrame, file: str, col: str = "number", **filters: str) -> dict[str, Any]:
    """The one row matching ``filters``: its value in ``col``, with the file and filter it came from."""
    mask = pd.Series(True, index=df.index)
    for k, v in filters.items():
        mask &= df[k] == v
    rows = df[mask]
    if len(rows) != 1:
        raise InputError(file, f"{filters} matched {len(rows)} rows, not 1")
    return {"value": _num(rows[col].iloc[0]), "source": file, "row": ", ".join(f"{k}={v}" for k, v in filters.items())}


def _by_ethnicity(df: pd.DataFrame, file: str, char_col: str, col: str = "number", **filters: str) -> dict[str, Any]:
    """Minor (DfE code) and major rows of one ethnicity breakdown, keyed by code / major key."""
    mask = pd.Series(True, index=df.index)
    for k, v in filters.items():
        mask &= df[k] == v
    sub = df[mask]
    labels = sub[char_col]
    keep = labels.map(
        lambda s: (
            s.strip().casefold() not in {"total children", "total", "total children who were missing during the year"}
        )
    )
    sub = sub[keep]
    mapped = map_ees_labels(sub[char_col], source=file)
    out: dict[str, Any] = {
        "minor": {},
        "major": {},
        "source": file,
        "row": ", ".join(f"{k}={v}" for k, v in filters.items()) + f", {char_col}=<label>",
    }
    for (_, r), (_, m) in zip(sub.iterrows(), mapped.iterrows()):
        if m["level"] in ("minor", "major"):
            out[m["level"]][m["value"]] = _num(r[col])
    # "5. Total other ethnic group" is both the major and the only minor (OOTH) row.
    if "OOTH" not in out["minor"] and "other" in out["major"]:
        out["minor"]["OOTH"] = out["major"]["other"]
    return out


AGE_BANDS = ["Under 1 year", "1 to 4 years", "5 to 9 years", "10 to 15 years", "16 years and over"]


def _release_year(ref: Path, f: str, year: str = "2024") -> pd.DataFrame:
    """The rows of one year of a release file."""
    d = _read(ref / f)
    return d[d.time_period == year]


def on_31_march(ref: Path) -> dict[str, Any]:
    """Children looked after on 31 March 2024: total, ethnicity, boys, age bands."""
    f = f"{REL_2024}/national_cla_on_31_march_by_characteristics.csv"
    d = _release_year(ref, f)
    return {
        "total": _pick(d, f, cla_group="Age group", characteristic="Total children"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnicity"),
        "male": _pick(d, f, cla_group="Gender", characteristic="Male"),
        "age": {c: _pick(d, f, cla_group="Age group", characteristic=c)["value"] for c in AGE_BANDS},
    }


def started(ref: Path) -> dict[str, Any]:
    """Children who started to be looked after in 2023/24: total, ethnicity, boys, UASC, age, category of need."""
    f = f"{REL_2024}/national_cla_started_to_be_looked_after.csv"
    d = _release_year(ref, f)
    return {
        "total": _pick(d, f, cla_group="Age on starting", characteristic="Total children"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnicity"),
        "male": _pick(d, f, cla_group="Gender", characteristic="Male"),
        "uasc": _pick(
            d,
            f,
            cla_group="Unaccompanied asylum-seeking children",
            characteristic="Unaccompanied asylum-seeking children",
        ),
        "age": {c: _pick(d, f, cla_group="Age on starting", characteristic=c)["value"] for c in AGE_BANDS},
        "category_of_need": {
            c.split(".")[0]: _pick(d, f, cla_group="Category of need", characteristic=c)["value"]
            for c in d[d.cla_group == "Category of need"].characteristic
            if c.startswith("N")
        },
        "previous_permanence": _group(d, f, "Previous permanence arrangement"),
    }


def _group(d: pd.DataFrame, f: str, group: str) -> dict[str, Any]:
    """Every row of one ``cla_group`` of a one-way table, by its published label (suppressed cells None)."""
    rows = d[d.cla_group == group]
    return {
        "by_label": {r.characteristic: _num(r.number) for r in rows.itertuples()},
        "source": f,
        "row": f"cla_group={group}, characteristic=<label>",
    }


def adopted(ref: Path) -> dict[str, Any]:
    """Children adopted in 2023/24: total and major ethnic group (a one-way table: no age or duration by
    ethnicity is published)."""
    f = f"{REL_2024}/national_cla_who_were_adopted_during_the_year.csv"
    d = _release_year(ref, f)
    return {
        "total": _pick(d, f, cla_group="Ethnic origin", characteristic="Total"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnic origin"),
    }


def ceased_reasons(ref: Path) -> dict[str, Any]:
    """Children who ceased to be looked after in 2023/24 by reason (one-way: not published by ethnicity)."""
    f = f"{REL_2024}/national_children_who_ceased_to_be_looked_after_during_the_year.csv"
    return _group(_release_year(ref, f), f, "Reason episode ceased")


def _months(v: str) -> float | None:
    """A published average time ``YY:MM`` (years:months) in months; suppressed cells None."""
    years, _, months = str(v).partition(":")
    return 12 * float(years) + float(months) if months and years.isdigit() and months.isdigit() else None


def adoption_stages(ref: Path) -> dict[str, Any]:
    """Average months between the adoption stages for children adopted in 2023/24 (2025 release, all ages),
    by stage number (1 entry to decision, 2 decision to match, 3 match to placement, 4 entry to placement,
    5 placement to adoption, 6 entry to adoption)."""
    f = f"{REL_2025}/national_cla_adopted_average_time_between_adoption_process_stages.csv"
    d = _release_year(ref, f)
    d = d[(d.cla_group == "Age on starting final period of care") & (d.age_start_poc == "Total")]
    stages = {r.stage_of_adoption_process.split(".")[0]: _months(r.number) for r in d.itertuples()}
    return {
        "months": {k: v for k, v in stages.items() if k.isdigit()},
        "source": f,
        "row": "cla_group=Age on starting final period of care, age_start_poc=Total, stage_of_adoption_process=<n>.",
    }


def uasc_on_31_march(ref: Path) -> dict[str, Any]:
    """UASC looked after on 31 March 2024: total, ethnicity, boys, aged 16 and over."""
    f = f"{REL_2024}/national_cla_on_31_march_who_were_unaccompanied_asylum_seeking_children.csv"
    d = _release_year(ref, f)
    return {
        "total": _pick(d, f, cla_group="Age group", characteristic="Total"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnicity"),
        "male": _pick(d, f, cla_group="Gender", characteristic="Male"),
        "age_16_plus": _pick(d, f, cla_group="Age group", characteristic="16 years and over"),
    }


def during_year_and_12_months(ref: Path) -> dict[str, Any]:
    """``during_year`` (looked after at some time in 2023/24: total, ethnicity) and ``cla_12_months`` (looked
    after for at least 12 months on 31 March: total), from the same file."""
    f = f"{REL_2024}/national_cla_during_the_year_and_on_31_march_for_at_least_12_mths_by_characteristics.csv"
    d = _release_year(ref, f)
    dy = "All children looked after during the year ending 31 March"
    t12 = "Children looked after on 31 March who’ve been looked after for at least 12 months"
    return {
        "during_year": {
            "total": _pick(d, f, "Number", CLA_group=dy, population_group="Age group", characteristic="Total children"),
            "ethnicity": _by_ethnicity(d, f, "characteristic", "Number", CLA_group=dy, population_group="Ethnicity"),
        },
        "cla_12_months": {
            "total": _pick(d, f, "Number", CLA_group=t12, population_group="Age group", characteristic="Total children")
        },
    }


def missing(ref: Path) -> dict[str, Any]:
    """Children missing from placement in 2023/24: children, incidents, children by ethnicity."""
    f = f"{REL_2024}/official_statistics_cla_who_were_missing.csv"
    d = _release_year(ref, f)
    return {
        "children": _pick(
            d,
            f,
            missing_status="Children missing from placement by ethnic origin",
            characteristic="Total children who were missing during the year",
        ),
        "incidents": _pick(
            d,
            f,
            missing_status="Missing from placement incidents",
            characteristic="Total number of missing incidents during the year",
        ),
        "ethnicity": _by_ethnicity(
            d, f, "characteristic", missing_status="Children missing from placement by ethnic origin"
        ),
        "denominator_note": "DfE: % of children looked after during the year (during_year) who were missing",
    }


def away(ref: Path) -> dict[str, Any]:
    """Children away from placement without authorisation in 2023/24."""
    f = f"{REL_2024}/official_statistics_cla_who_were_away_without_authorisation.csv"
    d = _release_year(ref, f)
    rows = d[d.characteristic.str.casefold().str.contains("total children who were away")]
    return {
        "children": {
            "value": _num(rows.iloc[0]["number"]) if len(rows) else None,
            "source": f,
            "row": "characteristic=Total children who were away ...",
        }
    }


def placements_3plus(ref: Path) -> dict[str, Any]:
    """Children looked after on 31 March 2024 with 3 or more placements in the year, by ethnicity and in all."""
    f = f"{REL_2024}/national_cla_pl_count_by_characteristics.csv"
    d = _release_year(ref, f)
    on = {"cla_group": "CLA on 31 March"}
    return {
        "with_3plus": _by_ethnicity(
            d,
            f,
            "characteristic",
            **on,
            population_group="Ethnicity",
            placement_stability="With 3 or more placements during the year",
        ),
        "denominator": _by_ethnicity(
            d, f, "characteristic", **on, population_group="Ethnicity", placement_stability="Total children"
        ),
        "total_with_3plus": _pick(
            d,
            f,
            **on,
            population_group="Age group",
            characteristic="Total children",
            placement_stability="With 3 or more placements during the year",
        ),
    }


def care_leavers_activity(ref: Path) -> dict[str, Any]:
    """Care leavers' activity in 2023/24 by age and major ethnic group (numbers by activity group and total)."""
    f = f"{REL_2024}/national_activity_of_care_leaver_by_placement_ethnicity.csv"
    d = _read(ref / f)
    d = d[(d.time_period == "2024") & (d.cla_group == "Ethnicity")]
    leav: dict[str, Any] = {
        "source": f,
        "row": "care_leaver_age=<age>, cla_group=Ethnicity, characteristic=<group>, activity_type=<activity>",
    }
    for age in ["17 years", "18 years", "19to21 years"]:
        leav[age] = {}
        for key, lab in MAJOR_LABELS_LEAVERS.items():
            sub = d[(d.care_leaver_age == age) & (d.characteristic == lab)]
            row = {a: _num(sub[sub.activity_type == r]["number"].iloc[0]) for a, r in ACTIVITY_ROWS.items()}
            row["total"] = _num(sub[sub.activity_type == "Total care leavers"]["number"].iloc[0])
            leav[age][key] = row
    return leav


def _national_cla_12_months(ref: Path, f: str) -> pd.DataFrame:
    """National rows of an outcomes file for children looked after 12 months at 31 March."""
    d = _read(ref / f)
    return d[(d.geographic_level == "National") & (d.social_care_group == "CLA 12 months at 31 March")]


def outcomes(ref: Path) -> dict[str, Any]:
    """KS2 and KS4 results of children looked after 12 months, by collection year (academic year 2019/20 ->
    collection year 2020)."""
    row = "geographic_level=National, social_care_group=CLA 12 months at 31 March, time_period=<academic year>"
    f2, f4 = "ees-outcomes-cin-cla/ks2_la.csv", "ees-outcomes-cin-cla/ks4_la.csv"
    ks2 = {
        int(r.time_period[:4]) + 1: {
            "read": _num(r.pt_read_met_expected_standard),
            "writ": _num(r.pt_writta_met_expected_standard),
            "mat": _num(r.pt_mat_met_expected_standard),
            "rwm": _num(r.pt_rwm_met_expected_standard),
            "pupils": _num(r.t_read_eligible_pupils),
        }
        for r in _national_cla_12_months(ref, f2).itertuples()
    }
    ks4 = {
        int(r.time_period[:4]) + 1: {
            "att8": _num(r.avg_att8),
            "em94": _num(r.pt_l2basics_94),
            "pupils": _num(r.t_pupils),
        }
        for r in _national_cla_12_months(ref, f4).itertuples()
    }
    return {
        "ks2": {"source": f2, "row": row, "by_year": ks2},
        "ks4": {"source": f4, "row": row, "by_year": ks4},
        "ks1_note": (
            "No KS1 file is stored; the generator uses KS2 reading, writing and maths combined (rwm) "
            "for CLA 12 months as a stand-in for KS1 RWM at the expected standard."
        ),
    }


def school_moves(ref: Path) -> dict[str, Any]:
    """Shares of children looked after on 31 March 2022 with a school move, and with a mid-year move."""
    f = "ees-cla-school-moves-2022/official_statistics_la_cla_school_moves.csv"
    d = _read(ref / f)
    d = d[(d.geographic_level == "National") & (d.time_period == "2022")]
    on = {"cla_group": "CLA on 31 March"}
    return {
        "any": _pick(d, f, "percentage", **on, move_measure="Any moves", school_stability="At least one move"),
        "midyear": _pick(
            d, f, "percentage", **on, move_measure="Mid-year moves", school_stability="At least one mid-year move"
        ),
    }


def la_on_31_march_by_major(ref: Path) -> dict[str, Any]:
    """LA sizes and major-group mixes on 31 March 2021-2025 (null = suppressed)."""
    f = "ees-cla-2025-release/DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv"
    d = _read(ref / f)
    d = d[d.geographic_level == "Local authority"]
    las: dict[str, Any] = {}
    for r in d.itertuples():
        key = DERIVED_MAJOR.get(r.characteristic)
        if key is None:
            raise InputError(f, "unexpected characteristic", column="characteristic", value=r.characteristic)
        las.setdefault(str(r.old_la_code), {}).setdefault(int(r.time_period), {})[key] = _num(r.number)
    return {
        "source": f,
        "row": "geographic_level=Local authority, old_la_code=<la>, "
        "time_period=<year>, characteristic=<major> (null = suppressed c)",
        "by_la": las,
    }


def la_population_0_17(ref: Path) -> dict[str, Any]:
    """ONS mid-year estimates of children aged 0-17 by LA and year."""
    f = "population/ons_mid-year_population_estimates_2012_to_2024.csv"
    d = _read(ref / f)
    d = d[d.geographic_level == "Local authority"]
    pop: dict[str, dict[int, float]] = {}
    for r in d.itertuples():
        pop.setdefault(str(r.old_la_code), {})[int(r.time_period)] = _num(r.population_estimate)
    return {"source": f, "row": "geographic_level=Local authority, old_la_code=<la>, time_period=<year>", "by_la": pop}


def census2021_region_all_ages(ref: Path) -> dict[str, Any]:
    """Census 2021 population of all ages by region and the 19 ONS ethnic groups."""
    f = "population/ons-ethnic-population-reg.csv"
    d = _read(ref / f)
    reg: dict[str, dict[int, float]] = {}
    labels: dict[int, str] = {}
    for r in d.itertuples():
        code = int(r[3])
        if code > 0 and str(r[1]).startswith("E12"):
            reg.setdefault(str(r[1]), {})[code] = _num(r[5])
            labels[code] = str(r[4])
    return {
        "source": f,
        "row": "Regions Code=<region>, Ethnic group (20 categories) Code=<1-19>",
        "note": "ALL AGES, not children: used only to split synthetic LA child totals by ONS group; "
        "it understates Mixed children (no children-by-ethnicity table is stored).",
        "labels": labels,
        "by_region": reg,
    }


def build_targets(ref: Path) -> dict[str, Any]:
    """All calibration targets, read from the reference-data folder ``ref``."""
    return {
        "about": "Calibration targets for rap.synth, extracted by rap/synth/targets.py from published DfE and ONS "
        "files (Open Government Licence v3.0). Each figure names its source file and row.",
        "release": "DfE, Children looked after in England including adoptions, 2024 release",
        "year": 2024,
        "on_31_march": on_31_march(ref),
        "started": started(ref),
        "uasc_on_31_march": uasc_on_31_march(ref),
        **during_year_and_12_months(ref),
        "missing": missing(ref),
        "away": away(ref),
        "placements_3plus": placements_3plus(ref),
        "adopted": adopted(ref),
        "ceased_reasons": ceased_reasons(ref),
        "adoption_stages": adoption_stages(ref),
        "care_leavers_activity": care_leavers_activity(ref),
        "outcomes": outcomes(ref),
        "school_moves": school_moves(ref),
        "la_on_31_march_by_major": la_on_31_march_by_major(ref),
        "la_population_0_17": la_population_0_17(ref),
        "census2021_region_all_ages": census2021_region_all_ages(ref),
    }


def write_targets(ref: Path, out: Path | None = None) -> Path:
    """Write the targets built from ``ref`` to ``out`` (default: the package's ``synth_targets.yaml``)."""
    out = out or Path(str(resources.files("rap.data").joinpath(TARGETS_FILE)))
    t = build_targets(ref)
    out.write_text(
        "# Generated by `python -m rap.synth.targets`: do not edit by hand.\n"
        + yaml.safe_dump(t, sort_keys=False, allow_unicode=True, width=140),
        encoding="utf-8",
    )
    return out


@cache
def load_targets() -> dict[str, Any]:
    """The committed calibration targets (``rap/data/synth_targets.yaml``)."""
    with resources.files("rap.data").joinpath(TARGETS_FILE).open("r", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe loader)


#: The environment variable naming the reference-data folder when no folder is given on the command line.
REFERENCE_ENV = "RAP_REFERENCE_DATA"


def reference_folder(arg: str | None) -> Path:
    """The reference-data folder: the command-line argument, else ``$RAP_REFERENCE_DATA``; an error if neither
    names an existing folder."""
    value = arg or os.environ.get(REFERENCE_ENV)
    if not value:
        raise RapError(
            f"name the folder of published reference data: python -m rap.synth.targets FOLDER (or set {REFERENCE_ENV})"
        )
    ref = Path(value)
    if not ref.is_dir():
        raise RapError(f"{ref}: reference-data folder not found")
    return ref


def main(argv: list[str] | None = None) -> int:
    """Rebuild the targets YAML; bad input is reported as one line, not a traceback."""
    ap = argparse.ArgumentParser(prog="python -m rap.synth.targets", description=__doc__.splitlines()[0])
    ap.add_argument("reference", nargs="?", help=f"folder of the published files (default: ${REFERENCE_ENV})")
    ap.add_argument("--out", type=Path, help="where to write the YAML (default: the package's synth_targets.yaml)")
    args = ap.parse_args(argv)
    try:
        print(write_targets(reference_folder(args.reference), args.out))
    except RapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
