"""Calibration targets for the synthetic data, extracted from published files.

The generator never reads ``../shared`` at run time: it reads the committed
``rap/data/synth_targets.yaml``. This module rebuilds that YAML from the reference files
(``python -m rap.synth.targets [shared_reference_data_dir]``) and records, for every figure, the file
it came from and the filter that selects its row, so each number can be traced back.

Sources (all Open Government Licence v3.0):
- DfE, Children looked after in England including adoptions, 2024 release (``ees-cla-2024-release/``)
- DfE dashboard-derived LA counts by major ethnic group 2021-2025 (``ees-cla-2025-release/DERIVED_...``)
- DfE, Outcomes for children in need including children looked after (``ees-outcomes-cin-cla/``)
- DfE, school stability 2022 (``ees-cla-school-moves-2022/``)
- ONS mid-year estimates of children 0-17 and Census 2021 ethnic group (``population/``)
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rap.domain.ethnicity import map_ees_labels

REL_2024 = "ees-cla-2024-release"
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
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip())


def _pick(df: pd.DataFrame, file: str, col: str = "number", **filters: str) -> dict[str, Any]:
    mask = pd.Series(True, index=df.index)
    for k, v in filters.items():
        mask &= df[k] == v
    rows = df[mask]
    if len(rows) != 1:
        raise ValueError(f"{file}: {filters} matched {len(rows)} rows")
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


def build_targets(ref: Path) -> dict[str, Any]:
    """All calibration targets, read from the reference-data folder ``ref``."""
    t: dict[str, Any] = {
        "about": "Calibration targets for rap.synth, extracted by rap/synth/targets.py from published DfE and ONS "
        "files (Open Government Licence v3.0). Each figure names its source file and row.",
        "release": "DfE, Children looked after in England including adoptions, 2024 release",
        "year": 2024,
    }
    f = f"{REL_2024}/national_cla_on_31_march_by_characteristics.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    t["on_31_march"] = {
        "total": _pick(d, f, cla_group="Age group", characteristic="Total children"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnicity"),
        "male": _pick(d, f, cla_group="Gender", characteristic="Male"),
        "age": {
            c: _pick(d, f, cla_group="Age group", characteristic=c)["value"]
            for c in ["Under 1 year", "1 to 4 years", "5 to 9 years", "10 to 15 years", "16 years and over"]
        },
    }
    f = f"{REL_2024}/national_cla_started_to_be_looked_after.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    t["started"] = {
        "total": _pick(d, f, cla_group="Age on starting", characteristic="Total children"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnicity"),
        "male": _pick(d, f, cla_group="Gender", characteristic="Male"),
        "uasc": _pick(
            d,
            f,
            cla_group="Unaccompanied asylum-seeking children",
            characteristic="Unaccompanied asylum-seeking children",
        ),
        "age": {
            c: _pick(d, f, cla_group="Age on starting", characteristic=c)["value"]
            for c in ["Under 1 year", "1 to 4 years", "5 to 9 years", "10 to 15 years", "16 years and over"]
        },
        "category_of_need": {
            c.split(".")[0]: _pick(d, f, cla_group="Category of need", characteristic=c)["value"]
            for c in d[d.cla_group == "Category of need"].characteristic
            if c.startswith("N")
        },
    }
    f = f"{REL_2024}/national_cla_on_31_march_who_were_unaccompanied_asylum_seeking_children.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    t["uasc_on_31_march"] = {
        "total": _pick(d, f, cla_group="Age group", characteristic="Total"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", cla_group="Ethnicity"),
        "male": _pick(d, f, cla_group="Gender", characteristic="Male"),
        "age_16_plus": _pick(d, f, cla_group="Age group", characteristic="16 years and over"),
    }
    f = f"{REL_2024}/national_cla_during_the_year_and_on_31_march_for_at_least_12_mths_by_characteristics.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    dy = "All children looked after during the year ending 31 March"
    t["during_year"] = {
        "total": _pick(d, f, "Number", CLA_group=dy, population_group="Age group", characteristic="Total children"),
        "ethnicity": _by_ethnicity(d, f, "characteristic", "Number", CLA_group=dy, population_group="Ethnicity"),
    }
    t12 = "Children looked after on 31 March who’ve been looked after for at least 12 months"
    t["cla_12_months"] = {
        "total": _pick(d, f, "Number", CLA_group=t12, population_group="Age group", characteristic="Total children")
    }
    f = f"{REL_2024}/official_statistics_cla_who_were_missing.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    t["missing"] = {
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
    f = f"{REL_2024}/official_statistics_cla_who_were_away_without_authorisation.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    away = d[d.characteristic.str.casefold().str.contains("total children who were away")]
    t["away"] = {
        "children": {
            "value": _num(away.iloc[0]["number"]) if len(away) else None,
            "source": f,
            "row": "characteristic=Total children who were away ...",
        }
    }
    f = f"{REL_2024}/national_cla_pl_count_by_characteristics.csv"
    d = _read(ref / f)
    d = d[d.time_period == "2024"]
    t["placements_3plus"] = {
        "with_3plus": _by_ethnicity(
            d,
            f,
            "characteristic",
            cla_group="CLA on 31 March",
            population_group="Ethnicity",
            placement_stability="With 3 or more placements during the year",
        ),
        "denominator": _by_ethnicity(
            d,
            f,
            "characteristic",
            cla_group="CLA on 31 March",
            population_group="Ethnicity",
            placement_stability="Total children",
        ),
        "total_with_3plus": _pick(
            d,
            f,
            cla_group="CLA on 31 March",
            population_group="Age group",
            characteristic="Total children",
            placement_stability="With 3 or more placements during the year",
        ),
    }
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
    t["care_leavers_activity"] = leav
    # Outcomes (academic year 2019/20 -> collection year 2020).
    outc: dict[str, Any] = {}
    f = "ees-outcomes-cin-cla/ks2_la.csv"
    d = _read(ref / f)
    d = d[(d.geographic_level == "National") & (d.social_care_group == "CLA 12 months at 31 March")]
    outc["ks2"] = {
        "source": f,
        "row": "geographic_level=National, social_care_group=CLA 12 months at 31 March, time_period=<academic year>",
        "by_year": {
            int(r.time_period[:4]) + 1: {
                "read": _num(r.pt_read_met_expected_standard),
                "writ": _num(r.pt_writta_met_expected_standard),
                "mat": _num(r.pt_mat_met_expected_standard),
                "rwm": _num(r.pt_rwm_met_expected_standard),
                "pupils": _num(r.t_read_eligible_pupils),
            }
            for r in d.itertuples()
        },
    }
    f = "ees-outcomes-cin-cla/ks4_la.csv"
    d = _read(ref / f)
    d = d[(d.geographic_level == "National") & (d.social_care_group == "CLA 12 months at 31 March")]
    outc["ks4"] = {
        "source": f,
        "row": "geographic_level=National, social_care_group=CLA 12 months at 31 March, time_period=<academic year>",
        "by_year": {
            int(r.time_period[:4]) + 1: {
                "att8": _num(r.avg_att8),
                "em94": _num(r.pt_l2basics_94),
                "pupils": _num(r.t_pupils),
            }
            for r in d.itertuples()
        },
    }
    outc["ks1_note"] = (
        "No KS1 file is stored; the generator uses KS2 reading, writing and maths combined (rwm) "
        "for CLA 12 months as a stand-in for KS1 RWM at the expected standard."
    )
    t["outcomes"] = outc
    f = "ees-cla-school-moves-2022/official_statistics_la_cla_school_moves.csv"
    d = _read(ref / f)
    d = d[(d.geographic_level == "National") & (d.time_period == "2022")]
    t["school_moves"] = {
        "any": _pick(
            d,
            f,
            "percentage",
            cla_group="CLA on 31 March",
            move_measure="Any moves",
            school_stability="At least one move",
        ),
        "midyear": _pick(
            d,
            f,
            "percentage",
            cla_group="CLA on 31 March",
            move_measure="Mid-year moves",
            school_stability="At least one mid-year move",
        ),
    }
    # LA sizes and major-group mixes.
    f = "ees-cla-2025-release/DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv"
    d = _read(ref / f)
    d = d[d.geographic_level == "Local authority"]
    las: dict[str, Any] = {}
    for r in d.itertuples():
        key = DERIVED_MAJOR.get(r.characteristic)
        if key is None:
            raise ValueError(f"{f}: unexpected characteristic {r.characteristic!r}")
        las.setdefault(str(r.old_la_code), {}).setdefault(int(r.time_period), {})[key] = _num(r.number)
    t["la_on_31_march_by_major"] = {
        "source": f,
        "row": "geographic_level=Local authority, old_la_code=<la>, "
        "time_period=<year>, characteristic=<major> (null = suppressed c)",
        "by_la": las,
    }
    f = "population/ons_mid-year_population_estimates_2012_to_2024.csv"
    d = _read(ref / f)
    d = d[d.geographic_level == "Local authority"]
    pop: dict[str, dict[int, float]] = {}
    for r in d.itertuples():
        pop.setdefault(str(r.old_la_code), {})[int(r.time_period)] = _num(r.population_estimate)
    t["la_population_0_17"] = {
        "source": f,
        "row": "geographic_level=Local authority, old_la_code=<la>, time_period=<year>",
        "by_la": pop,
    }
    f = "population/ons-ethnic-population-reg.csv"
    d = _read(ref / f)
    reg: dict[str, dict[int, float]] = {}
    labels: dict[int, str] = {}
    for r in d.itertuples():
        code = int(r[3])
        if code > 0 and str(r[1]).startswith("E12"):
            reg.setdefault(str(r[1]), {})[code] = _num(r[5])
            labels[code] = str(r[4])
    t["census2021_region_all_ages"] = {
        "source": f,
        "row": "Regions Code=<region>, Ethnic group (20 categories) Code=<1-19>",
        "note": "ALL AGES, not children: used only to split synthetic LA child totals by ONS group; "
        "it understates Mixed children (no children-by-ethnicity table is stored).",
        "labels": labels,
        "by_region": reg,
    }
    return t


def write_targets(ref: Path, out: Path | None = None) -> Path:
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


if __name__ == "__main__":  # pragma: no cover
    default = Path(__file__).resolve().parents[3].parent / "shared" / "reference-data"
    print(write_targets(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
