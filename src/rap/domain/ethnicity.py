"""Ethnicity classifications: DfE codes, the groups DfE publishes, ONS 2021, EES labels.

Everything here is read from the CSV files in ``rap/data/ethnicity/``: a new label or a changed grouping is
an edit to data, not to code.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where frames are made: validating parameters needs only the code list
    import pandas as pd

#: Categories a raw SSDA903 or school ETHNIC value falls into for quality measurement.
QUALITY_CATEGORIES = ("known", "refused", "not_obtained", "blank", "invalid")


def _read(name: str) -> pd.DataFrame:
    import pandas as pd

    with resources.files("rap.data.ethnicity").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def codes() -> pd.DataFrame:
    """The 20 DfE ETHNIC codes with label, major group, table order and ONS 2021 group (indexed by code)."""
    df = _read("codes.csv")
    df["order"] = df["order"].astype(int)
    df["known"] = df["known"].eq("true")
    return df.set_index("code")


@cache
def major_groups() -> pd.DataFrame:
    """The six major groups (five plus unknown) with their CLA, EES and ONS labels (indexed by key)."""
    df = _read("major_groups.csv")
    df["order"] = df["order"].astype(int)
    df["order_style"] = df["order_style"].astype(int)
    return df.set_index("major")


@cache
def ees_labels() -> pd.DataFrame:
    """Raw ethnicity labels seen in EES files, mapped to a level (minor, major, total) and a value."""
    df = _read("ees_labels.csv")
    df["key"] = df["raw_label"].map(_normalise_label)
    if df["key"].duplicated().any():
        dupes = df.loc[df["key"].duplicated(keep=False), "raw_label"].tolist()
        raise ValueError(f"ees_labels.csv: labels that normalise to the same key: {dupes}")
    return df.set_index("key")


def valid_codes() -> list[str]:
    """All valid ETHNIC codes in table order (known groups, then REFU and NOBT)."""
    return codes().sort_values("order").index.tolist()


@cache
def _known_codes() -> tuple[str, ...]:
    with resources.files("rap.data.ethnicity").joinpath("codes.csv").open("r", encoding="utf-8") as fh:
        return tuple(row["code"] for row in csv.DictReader(fh) if row["known"] == "true")


def known_codes() -> list[str]:
    """ETHNIC codes that state an ethnic group (not refused or not obtained), in the file's order. Read
    without pandas: every run validates its parameters against them, even one with nothing to compute."""
    return list(_known_codes())


def minor_label(code: str) -> str:
    """The published label of one DfE code, e.g. ``WBRI`` -> ``White British``."""
    return codes().at[code, "label"]


def major_label(major: str, style: str = "cla") -> str:
    """The label of a major group: ``cla`` as the CLA publication prints it, ``ees`` harmonised."""
    return major_groups().at[major, f"label_{style}"]


def ees_harmonised(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its ``ethnicity_major`` and ``ethnicity_minor`` labels (the CLA publication's) replaced by the
    harmonised labels of DfE's data dictionary and the GSS standard (``label_ees`` in ``major_groups.csv`` and
    ``codes.csv``), as EES wants them in an open-data file; a label with no harmonised form is kept."""
    out = df.copy()
    maps = {
        "ethnicity_major": dict(zip(major_groups()["label_cla"], major_groups()["label_ees"], strict=True)),
        "ethnicity_minor": dict(zip(codes()["label"], codes()["label_ees"], strict=True)),
    }
    for col, m in maps.items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, m=m: m.get(v, v))
    return out


def major_order(style: str = "dfe") -> list[str]:
    """Major group keys in DfE publication order (``dfe``) or style-guide order (``gov``: alphabetical,
    Other and Unknown last)."""
    col = {"dfe": "order", "gov": "order_style"}[style]
    return major_groups().sort_values(col).index.tolist()


def quality_category(values: pd.Series) -> pd.Series:
    """Each raw ETHNIC value as known / refused / not_obtained / blank / invalid.

    Codes are case-sensitive: DfE rule 103 treats lower case as invalid.
    """
    import pandas as pd

    raw = values.astype("string")
    stripped = raw.str.strip()
    out = pd.Series("invalid", index=values.index, dtype="object")
    out[stripped.isin(known_codes()).fillna(False).astype(bool)] = "known"
    out[(stripped == "REFU").fillna(False).astype(bool)] = "refused"
    out[(stripped == "NOBT").fillna(False).astype(bool)] = "not_obtained"
    out[(raw.isna() | (stripped == "")).astype(bool)] = "blank"
    return out


def ethnic_quality(ethnic: pd.Series) -> pd.Series:
    """The ``ethnic_quality`` column the readers put beside ETHNIC: :func:`quality_category` as text, worked
    out once per distinct value (a national column has millions of rows and a few dozen values)."""
    import pandas as pd

    codes_, uniques = pd.factorize(ethnic, use_na_sentinel=False)
    q = quality_category(pd.Series(uniques, dtype="object")).to_numpy(dtype=object)
    return pd.Series(q[codes_], index=ethnic.index, dtype="str")


def classify(values: pd.Series, style: str = "cla") -> pd.DataFrame:
    """Map raw ETHNIC values to ``ethnicity_minor``, ``ethnicity_major`` labels and a quality category.

    Blank and invalid values fall into the unknown major group with minor label ``Not recorded`` or
    ``Invalid code`` so that they are counted, never dropped.
    """
    import pandas as pd

    c = codes()
    cat = quality_category(values)
    code = values.astype("string").str.strip()
    valid = cat.isin(["known", "refused", "not_obtained"])
    major = pd.Series("unknown", index=values.index, dtype="object")
    major[valid] = code[valid].map(c["major"])
    minor = pd.Series("Invalid code", index=values.index, dtype="object")
    minor[valid] = code[valid].map(c["label"])
    minor[cat == "blank"] = "Not recorded"
    return pd.DataFrame(
        {
            "ethnic_code": code.where(valid),
            "ethnicity_minor": minor,
            "ethnicity_major": major.map(major_groups()[f"label_{style}"]),
            "major": major,
            "quality": cat,
        },
        index=values.index,
    )


def _normalise_label(label: str) -> str:
    return re.sub(r"\s+", " ", str(label)).strip().casefold()


def map_ees_labels(labels: pd.Series, source: str = "") -> pd.DataFrame:
    """Map raw EES ethnicity labels to (level, value); raise naming every label not in the table.

    ``level`` is ``minor`` (value = DfE code), ``major`` (value = group key) or ``total``.
    """
    table = ees_labels()
    keys = labels.map(_normalise_label)
    unknown = sorted(set(labels[~keys.isin(table.index)]))
    if unknown:
        where = f" in {source}" if source else ""
        raise KeyError(
            f"Unrecognised ethnicity label(s){where}: {unknown}. Add them to rap/data/ethnicity/ees_labels.csv."
        )
    found = table.loc[keys, ["level", "value"]]
    found.index = labels.index
    return found


@cache
def ons2021_groups() -> pd.DataFrame:
    """The 19 detailed ethnic groups of the 2021 Census (England and Wales) with their label and the major
    group they count towards here (indexed by the ONS code, 1 to 19)."""
    df = _read("ons2021_groups.csv")
    df["ons2021_code"] = df["ons2021_code"].astype(int)
    return df.set_index("ons2021_code")


def ons2021_major() -> dict[int, str]:
    """ONS 2021 detailed group code -> major group key (``white``, ``mixed``, ...)."""
    return ons2021_groups()["major"].to_dict()


def ons2021_lookup() -> pd.DataFrame:
    """DfE code to ONS 2021 detailed group (code and label); codes with no one-to-one group are absent."""
    c = codes()
    c = c[c["ons2021_code"] != ""]
    return c[["ons2021_code", "ons2021_label"]].astype({"ons2021_code": int})
