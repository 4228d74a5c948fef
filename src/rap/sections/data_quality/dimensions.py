"""Assessment of the quality of ethnicity data (issue 4): the logic behind ``notebooks/02_data_quality.ipynb``.

Dimensions follow the project's ethnicity reference notes (what "quality" of ethnicity data means, after the
dimensions used in government and health work):

* completeness: share of records whose code is not blank, REFU or NOBT (``complete``); the five raw categories
  (known / refused / not_obtained / blank / invalid, from :func:`rap.domain.ethnicity.quality_category`) are shown too;
* validity: share of codes outside the valid list (DfE rule 103; lower case is invalid);
* consistency over time: children in consecutive returns of the same LA whose code changed (rule 204);
* consistency across collections: the SSDA903 code against the school census code for children linked by UPN;
* granularity: which minor groups survive suppression nationally and in how many LAs;
* denominator comparability: which groups have a matching ONS 2021 population denominator.

Every measure counts a child once per LA and year: Header is de-duplicated on (YEAR, LA, CHILD) first, since a
repeated Header row is a defect of its own (reported by the reader), not a second child (the record key,
``rap.domain.ssda903.record_key``). Every function returns
a tidy DataFrame with counts, denominators and shares (with a Wilson interval where it is a proportion), so
the notebook only formats and suppresses. Thresholds come from ``params.quality_rag``: they are the project's
own rules (no official ones exist) and each RAG row says its rule in words.

Published (EES) inputs allow only the national unknown share by year and release: see
:func:`published_unknown_share` and :func:`published_record_level_gaps`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from rap.core.params import QualityRagParams, RagThreshold
from rap.domain import ethnicity as eth
from rap.domain.disclosure import percent, percentages, round_half_up
from rap.domain.ssda903 import code_group, record_key
from rap.domain.stats import (
    additive_tau2,
    funnel_limits_proportion,
    overdispersed_limits,
    wilson_ci,
    z_scores_proportion,
)

__all__ = [
    "AGE_BANDS",
    "CATEGORIES",
    "AcrossCollections",
    "agreement",
    "agreement_by_minor",
    "age_band",
    "code_changes",
    "completeness",
    "confusion_matrix",
    "consistency_across_collections",
    "consistency_over_time",
    "denominator_comparability",
    "granularity",
    "la_completeness_funnel",
    "link_school",
    "linkage",
    "prepare_header",
    "published_group_shares",
    "published_record_level_gaps",
    "published_scorecard",
    "published_unknown_share",
    "rag",
    "rag_rule",
    "recommendations",
    "release_revisions",
    "scorecard",
    "user_needs",
    "user_needs_catalogue",
    "validity",
    "weakest_las",
    "year_pairs",
]

#: DfE age bands at 31 March, as the CLA publication labels them.
AGE_BANDS = ["Under 1 year", "1 to 4 years", "5 to 9 years", "10 to 15 years", "16 years and over"]
#: Raw quality categories, in table order, then the derived ``unknown`` (blank + refused + not_obtained).
CATEGORIES = ["known", "refused", "not_obtained", "blank", "invalid"]
UNKNOWN = ["blank", "refused", "not_obtained"]

#: DfE codes whose ONS 2021 group exists but is not the same set of people (a data caveat, worded once here).
_APPROXIMATE = {
    "WIRT": "ONS 'Gypsy or Irish Traveller' also holds Gypsy people, whom DfE codes WROM",
    "OOTH": "ONS Arab (18) cannot be separated and also falls under DfE 'Any other ethnic group'",
}


# --------------------------------------------------------------------------------------------------
# helpers


def _ci(df: pd.DataFrame, count: str, n: str, prefix: str = "", level: float = 0.95) -> pd.DataFrame:
    """Add ``share``, ``lower``, ``upper`` (Wilson) for count / n; NaN where n is 0."""
    ci = wilson_ci(df[count].to_numpy(dtype=float), df[n].to_numpy(dtype=float), level)
    df[f"{prefix}share"] = ci.estimate
    df[f"{prefix}lower"] = ci.lower
    df[f"{prefix}upper"] = ci.upper
    return df


def _group(df: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """groupby keys; with no keys a constant ``all`` column so one code path serves both."""
    by = list(by)
    if by:
        return df, by
    return df.assign(_all="All"), ["_all"]


def _drop_all(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns="_all") if "_all" in df.columns else df


@cache
def _las() -> pd.DataFrame:
    from rap.domain.geography import local_authorities

    return local_authorities()


def _latest(df: pd.DataFrame, year: int | None) -> int:
    return int(df["YEAR"].max()) if year is None else int(year)


# --------------------------------------------------------------------------------------------------
# preparing the Header


def age_band(dob: pd.Series, year: pd.Series | int) -> pd.Series:
    """DfE age band at 31 March of the collection year (completed years; unknown DOB gives missing)."""
    dob = pd.to_datetime(dob)
    yr = pd.Series(year, index=dob.index) if np.isscalar(year) else pd.Series(year, index=dob.index)
    before_birthday = dob.dt.month > 3  # birthday falls after 31 March: not yet reached that year
    age = yr - dob.dt.year - before_birthday.astype(int)
    return pd.cut(age, [-np.inf, 1, 5, 10, 16, np.inf], right=False, labels=AGE_BANDS)


def prepare_header(
    header: pd.DataFrame, uasc: pd.DataFrame | None = None, school: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per child per LA and year, with the grouping columns every measure can be cut by.

    Adds ``quality`` (the raw category), ``unknown`` (blank/REFU/NOBT), ``ethnic_code`` (valid codes only),
    ``major`` and ``major_label`` (from the SSDA903 code; ``unknown`` for blank, REFU, NOBT, invalid),
    ``age_band`` (at 31 March), ``uasc`` ("UASC"/"Not UASC": the child is in that year's UASC table) and,
    when ``school`` is given, ``school_major_label`` (the group the school census records for the child,
    "Not linked" otherwise), which lets completeness be read by the group a child belongs to.
    Already-prepared frames pass through (idempotent).
    """
    if "_prepared" in header.columns:
        h = header.copy()
    else:
        h = header.drop_duplicates(record_key(), keep="first").reset_index(drop=True)
        quality = h["ethnic_quality"] if "ethnic_quality" in h.columns else eth.quality_category(h["ETHNIC"])
        c = eth.classify(h["ETHNIC"])
        h = h.assign(
            quality=quality.astype(str).to_numpy(),
            ethnic_code=c["ethnic_code"].to_numpy(),
            major=c["major"].to_numpy(),
            major_label=c["ethnicity_major"].to_numpy(),
            _prepared=True,
        )
        h["unknown"] = h["quality"].isin(UNKNOWN)
        if "DOB" in h.columns:
            h["age_band"] = age_band(h["DOB"], h["YEAR"])
    if uasc is not None and "uasc" not in h.columns:
        u = uasc[record_key()].drop_duplicates().assign(_u=True)
        h = h.merge(u, on=record_key(), how="left")
        h["uasc"] = np.where(h["_u"].fillna(False).astype(bool), "UASC", "Not UASC")
        h = h.drop(columns="_u")
    if school is not None and "school_major_label" not in h.columns:
        s = _school_frame(school)[["YEAR", "UPN", "major_label"]].rename(columns={"major_label": "school_major_label"})
        h = h.merge(s, on=["YEAR", "UPN"], how="left")
        linkable = ~h["UPN"].astype("string").str.strip().fillna("").isin(["", *code_group("upn_unknown")])
        h["school_major_label"] = h["school_major_label"].where(linkable, None).fillna("Not linked")
    return h


def _school_frame(school: pd.DataFrame) -> pd.DataFrame:
    """School extract with one row per UPN and year and the same derived columns as the Header."""
    s = school.drop_duplicates(["YEAR", "UPN"], keep="first").reset_index(drop=True)
    quality = s["ethnic_quality"] if "ethnic_quality" in s.columns else eth.quality_category(s["ETHNIC"])
    c = eth.classify(s["ETHNIC"])
    return s.assign(
        quality=quality.astype(str).to_numpy(),
        ethnic_code=c["ethnic_code"].to_numpy(),
        major=c["major"].to_numpy(),
        major_label=c["ethnicity_major"].to_numpy(),
        unknown=quality.astype(str).isin(UNKNOWN).to_numpy(),
    )


# --------------------------------------------------------------------------------------------------
# completeness and validity


def completeness(
    header: pd.DataFrame,
    by: Sequence[str] = ("YEAR",),
    *,
    uasc: pd.DataFrame | None = None,
    school: pd.DataFrame | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Shares of each quality category among children, by any of YEAR, LA, age_band, uasc, major_label,
    school_major_label (and any Header column).

    Long: ``*by, category, count, denominator, share, lower, upper`` with categories known, refused,
    not_obtained, blank, invalid, then ``unknown`` (blank + refused + not_obtained) and ``complete``
    (1 - unknown, the completeness measure of the project's ethnicity notes: invalid codes are a validity problem).
    Pass ``uasc`` for ``by=["uasc"]`` and ``school`` for ``school_major_label``. Works on the school extract too
    (one row per UPN and year; then ``by`` is limited to its columns).
    """
    h = prepare_header(header, uasc, school) if "CHILD" in header.columns else _school_frame(header)
    g, keys = _group(h, by)
    counts = g.groupby(keys + ["quality"], observed=True, dropna=False).size().unstack("quality", fill_value=0)
    counts = counts.reindex(columns=CATEGORIES, fill_value=0)
    counts["unknown"] = counts[UNKNOWN].sum(axis=1)
    n = counts[CATEGORIES].sum(axis=1)
    counts["complete"] = n - counts["unknown"]
    long = counts.rename_axis(columns="category").stack().rename("count").reset_index()
    long["denominator"] = long.set_index(keys).index.map(n).to_numpy()
    long["count"] = long["count"].astype("int64")
    long["denominator"] = long["denominator"].astype("int64")
    order = {c: i for i, c in enumerate([*CATEGORIES, "unknown", "complete"])}
    long = long.sort_values(
        [*keys, "category"], key=lambda s: s.map(order) if s.name == "category" else s, kind="stable"
    )
    return _drop_all(_ci(long.reset_index(drop=True), "count", "denominator", level=level))


def validity(header: pd.DataFrame, by: Sequence[str] = ("YEAR",), *, level: float = 0.95) -> pd.DataFrame:
    """Codes outside the valid list (DfE rule 103), by ``by``.

    ``*by, denominator, invalid, lower_case, share, lower, upper, share_valid``; ``lower_case`` counts invalid
    codes that would be valid in upper case (the commonest cause, and an easy fix at source). The denominator
    is every child (blanks are a completeness problem, not an invalid code).
    """
    h = prepare_header(header) if "CHILD" in header.columns else _school_frame(header)
    inv = h["quality"].eq("invalid")
    upper = h["ETHNIC"].astype("string").str.strip().str.upper()
    lower_case = inv & upper.isin(eth.valid_codes()).fillna(False).astype(bool)
    g, keys = _group(h.assign(_inv=inv, _lc=lower_case), by)
    out = (
        g.groupby(keys, observed=True, dropna=False)
        .agg(denominator=("_inv", "size"), invalid=("_inv", "sum"), lower_case=("_lc", "sum"))
        .reset_index()
    )
    out = _ci(out, "invalid", "denominator", level=level)
    out["share_valid"] = 1 - out["share"]
    return _drop_all(out)


# --------------------------------------------------------------------------------------------------
# consistency over time


def year_pairs(header: pd.DataFrame) -> pd.DataFrame:
    """Children in two consecutive years' returns of the same LA (same CHILD): one row per pair.

    Columns: YEAR (the later year), LA, CHILD, ETHNIC_prev, ETHNIC, quality_prev, quality, code_prev
    (valid code or missing), major_prev, major_label_prev, ``changed`` (previous code known and the raw code
    differs: what rule 204 flags), ``changed_known`` (both known and different).
    """
    h = prepare_header(header)
    key = record_key()
    cols = [*key, "ETHNIC", "quality", "ethnic_code", "major", "major_label"]
    cur = h[cols]
    prev = h[cols].assign(YEAR=h["YEAR"] + 1)
    p = cur.merge(prev, on=key, suffixes=("", "_prev"), how="inner")
    p = p.rename(columns={"ethnic_code_prev": "code_prev", "ethnic_code": "code"})
    raw_now = p["ETHNIC"].astype("string").str.strip().fillna("")
    raw_prev = p["ETHNIC_prev"].astype("string").str.strip().fillna("")
    known_prev = p["quality_prev"].eq("known")
    p["changed"] = (known_prev & raw_now.ne(raw_prev)).astype(bool)
    p["changed_known"] = (p["changed"] & p["quality"].eq("known")).astype(bool)
    return p


def consistency_over_time(header: pd.DataFrame, by: Sequence[str] = ("YEAR",), *, level: float = 0.95) -> pd.DataFrame:
    """Share of children whose code changed from the previous year's return of the same LA.

    ``by`` may use YEAR, LA, ``major_label_prev`` (previous-year group) and ``code_prev``. Columns:
    ``*by, pairs`` (children in both returns), ``denominator`` (of whom known code last year), ``changed``,
    ``changed_to_unknown`` (known last year, blank/REFU/NOBT/invalid now), ``share, lower, upper`` (changed /
    denominator) and ``share_same``. Unknown-to-known is an improvement, not an inconsistency, so it is not
    in the numerator; it is counted in ``became_known``.
    """
    p = year_pairs(header)
    p = p.assign(
        _known_prev=p["quality_prev"].eq("known"),
        _to_unknown=p["changed"] & ~p["quality"].eq("known"),
        _became=~p["quality_prev"].eq("known") & p["quality"].eq("known"),
    )
    g, keys = _group(p, by)
    out = (
        g.groupby(keys, observed=True, dropna=False)
        .agg(
            pairs=("CHILD", "size"),
            denominator=("_known_prev", "sum"),
            changed=("changed", "sum"),
            changed_to_unknown=("_to_unknown", "sum"),
            became_known=("_became", "sum"),
        )
        .reset_index()
    )
    out = _ci(out, "changed", "denominator", level=level)
    out["share_same"] = 1 - out["share"]
    return _drop_all(out)


def code_changes(header: pd.DataFrame, *, top: int | None = 20, by_year: bool = False) -> pd.DataFrame:
    """The from-to table of changed codes (most common first): counts, for suppression in the notebook.

    Columns: [YEAR,] from_code, from_label, to_code, to_label, from_major, to_major, same_major, count,
    share_of_changes. ``to_code`` is the raw code when it is not valid (e.g. lower case).
    """
    p = year_pairs(header)
    ch = p[p["changed"]].copy()
    ch["from_code"] = ch["ETHNIC_prev"].astype("string").str.strip()
    ch["to_code"] = ch["ETHNIC"].astype("string").str.strip().fillna("")
    keys = (["YEAR"] if by_year else []) + ["from_code", "to_code"]
    out = ch.groupby(keys, dropna=False).size().rename("count").reset_index()
    cls = eth.codes()

    def lab(s: pd.Series) -> pd.Series:
        fallback = pd.Series(np.where(s.eq(""), "Not recorded", "Invalid code"), index=s.index)
        return s.map(cls["label"]).fillna(fallback)

    out["from_label"] = lab(out["from_code"])
    out["to_label"] = lab(out["to_code"])
    out["from_major"] = out["from_code"].map(cls["major"]).fillna("unknown")
    out["to_major"] = out["to_code"].map(cls["major"]).fillna("unknown")
    out["same_major"] = out["from_major"].eq(out["to_major"])
    tot = out.groupby(["YEAR"])["count"].transform("sum") if by_year else out["count"].sum()
    out["share_of_changes"] = out["count"] / tot
    out = out.sort_values(
        [*(["YEAR"] if by_year else []), "count", "from_code", "to_code"],
        ascending=[*([True] if by_year else []), False, True, True],
        kind="stable",
    )
    if top is not None:
        out = out.groupby("YEAR").head(top) if by_year else out.head(top)
    cols = [
        *(["YEAR"] if by_year else []),
        "from_code",
        "from_label",
        "to_code",
        "to_label",
        "from_major",
        "to_major",
        "same_major",
        "count",
        "share_of_changes",
    ]
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# consistency across collections (SSDA903 Header vs school census)


def link_school(header: pd.DataFrame, school: pd.DataFrame) -> pd.DataFrame:
    """SSDA903 children with their school census record (same UPN, same YEAR), one row per child and year.

    Adds ``upn_status`` (``unknown`` for UN1-UN5, ``blank``, else ``given``), ``linked``, ``school_age``
    (5 to 15 on the 31 August that starts the academic year: compulsory school age, so expected in the
    census) and the school's ``school_ETHNIC``, ``school_quality``, ``school_code``, ``school_major``,
    ``school_major_label``. A UPN held by several children in one year is not used for linking (it cannot
    say which child a record belongs to).
    """
    h = prepare_header(header)
    # a header prepared with ``school=`` already carries school_major_label: the link below replaces it
    h = h.drop(columns=[c for c in h.columns if c.startswith("school_")])
    upn = h["UPN"].astype("string").str.strip().fillna("")
    h["upn_status"] = np.select([upn.eq(""), upn.isin(code_group("upn_unknown"))], ["blank", "unknown"], "given")
    shared = h["upn_status"].eq("given") & h.assign(_u=upn).duplicated(["YEAR", "_u"], keep=False)
    s = _school_frame(school)
    s = s[["YEAR", "UPN", "ETHNIC", "quality", "ethnic_code", "major", "major_label"]]
    s = s.rename(columns={c: f"school_{c}" for c in ["ETHNIC", "quality", "major", "major_label"]})
    s = s.rename(columns={"ethnic_code": "school_code"}).assign(_in_school=True)
    h = (
        h.assign(_u=upn.where(h["upn_status"].eq("given") & ~shared, None))
        .merge(s.rename(columns={"UPN": "_u"}), on=["YEAR", "_u"], how="left")
        .drop(columns="_u")
    )
    h["linked"] = h["_in_school"].fillna(False).astype(bool)
    h = h.drop(columns="_in_school")
    if "DOB" in h.columns:
        dob = pd.to_datetime(h["DOB"])
        aug = h["YEAR"] - 1
        before = dob.dt.month > 8  # birthday after 31 August
        age = aug - dob.dt.year - before.astype(int)
        h["school_age"] = age.between(5, 15).fillna(False).astype(bool)
    else:
        h["school_age"] = True
    return h


def linkage(linked: pd.DataFrame, by: Sequence[str] = ("YEAR",), *, level: float = 0.95) -> pd.DataFrame:
    """How many SSDA903 children link to the school census, and why the others cannot.

    ``*by, children, upn_unknown, upn_blank, share_unlinkable`` ((unknown + blank) / children: these can never
    link), ``linked, share_linked`` (of all children; the school extract holds only pupils, so this is low
    by design), ``school_age, school_age_linked, share, lower, upper`` (linked among children of compulsory
    school age: the linkage measure used in the scorecard).
    """
    g, keys = _group(
        linked.assign(
            _unk=linked["upn_status"].eq("unknown"),
            _blank=linked["upn_status"].eq("blank"),
            _sal=linked["school_age"] & linked["linked"],
        ),
        by,
    )
    out = (
        g.groupby(keys, observed=True, dropna=False)
        .agg(
            children=("CHILD", "size"),
            upn_unknown=("_unk", "sum"),
            upn_blank=("_blank", "sum"),
            linked=("linked", "sum"),
            school_age=("school_age", "sum"),
            school_age_linked=("_sal", "sum"),
        )
        .reset_index()
    )
    out["share_unlinkable"] = (out["upn_unknown"] + out["upn_blank"]) / out["children"]
    out["share_linked"] = out["linked"] / out["children"]
    return _drop_all(_ci(out, "school_age_linked", "school_age", level=level))


def _both_known(linked: pd.DataFrame) -> pd.DataFrame:
    return linked[linked["linked"] & linked["quality"].eq("known") & linked["school_quality"].eq("known")]


def agreement(linked: pd.DataFrame, by: Sequence[str] = ("YEAR",), *, level: float = 0.95) -> pd.DataFrame:
    """Agreement of the SSDA903 and school census codes among linked children with both codes known.

    ``*by, linked, both_known, agree, share, lower, upper, share_disagree, major_agree, share_major_agree,
    ssda903_unknown_school_known`` (linked children whose SSDA903 code is blank/REFU/NOBT but whose school
    record states a group: what the school census could fill in).
    """
    lk = linked[linked["linked"]].assign(
        _both=lambda d: d["quality"].eq("known") & d["school_quality"].eq("known"),
        _fill=lambda d: d["unknown"] & d["school_quality"].eq("known"),
    )
    lk["_agree"] = lk["_both"] & lk["ethnic_code"].astype(object).eq(lk["school_code"].astype(object))
    lk["_magree"] = lk["_both"] & lk["major"].astype(object).eq(lk["school_major"].astype(object))
    g, keys = _group(lk, by)
    out = (
        g.groupby(keys, observed=True, dropna=False)
        .agg(
            linked=("CHILD", "size"),
            both_known=("_both", "sum"),
            agree=("_agree", "sum"),
            major_agree=("_magree", "sum"),
            ssda903_unknown_school_known=("_fill", "sum"),
        )
        .reset_index()
    )
    out = _ci(out, "agree", "both_known", level=level)
    out["share_disagree"] = 1 - out["share"]
    out["share_major_agree"] = out["major_agree"] / out["both_known"].where(out["both_known"] > 0)
    return _drop_all(out)


def agreement_by_minor(linked: pd.DataFrame, by: Sequence[str] = ("YEAR",), *, level: float = 0.95) -> pd.DataFrame:
    """Agreement by SSDA903 minor group (both codes known): ``*by, ethnic_code, label, major, major_label,
    both_known, agree, share, lower, upper, share_disagree``, in DfE code order."""
    b = _both_known(linked)
    b = b.assign(_agree=b["ethnic_code"].astype(object).eq(b["school_code"].astype(object)))
    out = (
        b.groupby([*by, "ethnic_code"], observed=True)
        .agg(both_known=("_agree", "size"), agree=("_agree", "sum"))
        .reset_index()
    )
    c = eth.codes()
    out["label"] = out["ethnic_code"].map(c["label"])
    out["major"] = out["ethnic_code"].map(c["major"])
    out["major_label"] = out["major"].map(eth.major_groups()["label_cla"])
    out["_o"] = out["ethnic_code"].map(c["order"])
    out = out.sort_values([*by, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    out = _ci(out, "agree", "both_known", level=level)
    out["share_disagree"] = 1 - out["share"]
    return out[
        [
            *by,
            "ethnic_code",
            "label",
            "major",
            "major_label",
            "both_known",
            "agree",
            "share",
            "lower",
            "upper",
            "share_disagree",
        ]
    ]


def confusion_matrix(linked: pd.DataFrame, year: int | None = None, *, normalise: bool = False) -> pd.DataFrame:
    """Major-group confusion matrix for one year (default latest): rows the SSDA903 group, columns the school
    census group, counts (or row shares with ``normalise``). Children with both codes known only; groups in
    DfE order; first column ``SSDA903 group``."""
    y = _latest(linked, year)
    b = _both_known(linked[linked["YEAR"] == y])
    order = [eth.major_label(m) for m in eth.major_order() if m != "unknown"]
    m = pd.crosstab(b["major_label"], b["school_major_label"]).reindex(index=order, columns=order, fill_value=0)
    if normalise:
        m = m.div(m.sum(axis=1).where(lambda s: s > 0), axis=0)
    m.index.name = "SSDA903 group"
    m.columns.name = None
    return m.reset_index()


@dataclass
class AcrossCollections:
    """Results of the SSDA903 vs school census comparison (each a tidy frame)."""

    linked: pd.DataFrame
    linkage: pd.DataFrame
    agreement: pd.DataFrame
    by_minor: pd.DataFrame
    confusion: pd.DataFrame
    year: int


def consistency_across_collections(
    header: pd.DataFrame, school: pd.DataFrame, year: int | None = None
) -> AcrossCollections:
    """Link by UPN within the year; linkage and agreement by year, agreement by minor group and the major
    confusion matrix for ``year`` (default latest)."""
    lk = link_school(header, school)
    y = _latest(lk, year)
    return AcrossCollections(
        linked=lk,
        linkage=linkage(lk),
        agreement=agreement(lk),
        by_minor=agreement_by_minor(lk[lk["YEAR"] == y], by=["YEAR"]),
        confusion=confusion_matrix(lk, y),
        year=y,
    )


# --------------------------------------------------------------------------------------------------
# granularity and denominators


def granularity(data: pd.DataFrame, threshold: int, *, year: int | None = None) -> pd.DataFrame:
    """Which minor groups survive suppression (DfE: counts 1 to ``threshold`` shown as ``c``) nationally and
    in how many LAs, for ``year`` (default latest).

    ``data`` is a Header (children with a valid code, counted once per LA) or a counts table with columns
    YEAR (optional), LA, ethnic_code, count (e.g. children looked after on 31 March). Columns: ethnic_code,
    label, major_label, national_count, national_publishable, las (LAs in the data), las_publishable (count
    above threshold), las_suppressed (1 to threshold), las_zero, share_las_publishable.
    Secondary suppression can only remove more cells, so these are upper bounds.
    """
    if "count" in data.columns:
        d = data if "YEAR" not in data.columns else data[data["YEAR"] == _latest(data, year)]
        counts = d.groupby(["LA", "ethnic_code"])["count"].sum()
        las = d["LA"].unique()
    else:
        h = prepare_header(data)
        h = h[h["YEAR"] == _latest(h, year)]
        las = h["LA"].unique()
        counts = h[h["quality"].eq("known")].groupby(["LA", "ethnic_code"]).size()
    known = eth.known_codes()
    grid = counts.unstack("ethnic_code").reindex(index=las, columns=known).fillna(0).astype("int64")
    c = eth.codes()
    nat = grid.sum(axis=0)
    out = pd.DataFrame(
        {
            "ethnic_code": known,
            "label": [c.at[k, "label"] for k in known],
            "major_label": [eth.major_label(c.at[k, "major"]) for k in known],
            "national_count": nat.to_numpy(),
            "national_publishable": ((nat == 0) | (nat > threshold)).to_numpy(),
            "las": len(las),
            "las_publishable": (grid > threshold).sum(axis=0).to_numpy(),
            "las_suppressed": ((grid >= 1) & (grid <= threshold)).sum(axis=0).to_numpy(),
            "las_zero": (grid == 0).sum(axis=0).to_numpy(),
        }
    )
    out["share_las_publishable"] = out["las_publishable"] / max(len(las), 1)
    return out


def denominator_comparability(population: pd.DataFrame | None) -> pd.DataFrame:
    """For every DfE code: the matching ONS 2021 group, how good the match is, and the population behind it.

    Columns: ethnic_code, label, major_label, ons2021_code, ons2021_label, match (one-to-one / approximate /
    none), reason, population (children 0-17 in the latest population year, NaN without a population),
    population_years, base (the classification and census it rests on), source ("synthetic" when it is).
    UASC are outside the resident population whatever the group.
    """
    c = eth.codes().sort_values("order")
    look = eth.ons2021_lookup()
    out = pd.DataFrame(
        {
            "ethnic_code": c.index,
            "label": c["label"].to_numpy(),
            "major_label": [eth.major_label(m) for m in c["major"]],
        }
    )
    out["ons2021_code"] = out["ethnic_code"].map(look["ons2021_code"]).astype("Int64")
    out["ons2021_label"] = out["ethnic_code"].map(look["ons2021_label"])
    has = out["ons2021_code"].notna()
    known = out["ethnic_code"].isin(eth.known_codes())
    approx = out["ethnic_code"].isin(list(_APPROXIMATE))
    out["match"] = np.select([has & ~approx, has & approx], ["one-to-one", "approximate"], "none")
    notes = c["note"]
    out["reason"] = np.select(
        [has & approx, has & ~approx, known & ~has, ~known],
        [
            out["ethnic_code"].map(_APPROXIMATE).fillna(""),
            "same group in ONS 2021",
            out["ethnic_code"].map(notes).fillna("no one-to-one ONS 2021 group"),
            "refused or not obtained: no population group (unknown ethnicity)",
        ],
        "",
    )
    out["base"] = "ONS Census 2021 classification (19 groups); Census 2021 base, ageing each year"
    return _with_population(out, population, known)


def _with_population(out: pd.DataFrame, population: pd.DataFrame | None, known: pd.Series) -> pd.DataFrame:
    """The population behind each code in the latest year: by DfE code where the file gives one (then every
    known code has its own group), else by the matched ONS 2021 group."""
    if population is None or population.empty:
        out["population"] = np.nan
        out["population_years"] = "none"
        out["source"] = "none: no population by ethnicity in the inputs"
        return out
    latest = int(population["time_period"].max())
    cur = population[population["time_period"] == latest]
    if "ethnic_code" in population.columns:
        out["population"] = out["ethnic_code"].map(cur.groupby("ethnic_code")["population"].sum()).astype("Float64")
        out.loc[known, "match"] = "one-to-one"
        out.loc[known, "reason"] = "the population is estimated for each DfE group (school census shares)"
        out["base"] = "DfE groups: ONS mid-year estimates of children 0-17 split by the LA's school census shares"
    else:
        pop = cur.groupby("ons2021_code")["population"].sum()
        out["population"] = out["ons2021_code"].map(pop).astype("Float64")
    yrs = sorted(population["time_period"].unique())
    out["population_years"] = f"{yrs[0]} to {yrs[-1]}" if len(yrs) > 1 else str(yrs[0])
    from rap.inputs.readers.population import SYNTHETIC_SOURCE

    src = population["source"].iloc[0] if "source" in population.columns else ""
    out["source"] = "synthetic" if src == SYNTHETIC_SOURCE else src
    return out


# --------------------------------------------------------------------------------------------------
# RAG and scorecard


def rag(value: float | pd.Series, threshold: RagThreshold) -> str | pd.Series:
    """Red / amber / green for a share: higher-is-better unless the threshold says otherwise; missing values
    are "not assessed" (never green by default)."""
    v = pd.Series(value, dtype="float64") if not isinstance(value, pd.Series) else value.astype("float64")
    if threshold.higher_is_better:
        res = np.select([v >= threshold.green, v >= threshold.amber], ["green", "amber"], "red")
    else:
        res = np.select([v <= threshold.green, v <= threshold.amber], ["green", "amber"], "red")
    res = pd.Series(np.where(v.isna(), "not assessed", res), index=v.index)
    return res if isinstance(value, pd.Series) else str(res.iloc[0])


def rag_rule(threshold: RagThreshold) -> str:
    """The rule in words, for the scorecard and the report."""
    if threshold.higher_is_better:
        return (
            f"green if at least {percent(threshold.green)}, amber if at least {percent(threshold.amber)}, otherwise red"
        )
    return f"green if at most {percent(threshold.green)}, amber if at most {percent(threshold.amber)}, otherwise red"


#: One scorecard row before it is rated: dimension, collection, numerator, denominator, measure in words.
_Rated = tuple[str, str, float, float, str]


def _scorecard_row(rag_params: QualityRagParams, year: int, rated: _Rated) -> dict[str, Any]:
    """One scorecard row with its value, RAG and the rule in words, so every row (record-level or
    published) is rated and explained the same way."""
    dim, coll, num, den, measure = rated
    t: RagThreshold = getattr(rag_params, dim)
    val = num / den if den else np.nan
    return {
        "dimension": dim,
        "collection": coll,
        "year": year,
        "numerator": int(num),
        "denominator": int(den),
        "value": val,
        "green": t.green,
        "amber": t.amber,
        "higher_is_better": t.higher_is_better,
        "rag": rag(val, t),
        "rule": rag_rule(t),
        "measure": measure,
    }


def _header_rated(h: pd.DataFrame, y: int) -> list[_Rated]:
    """Completeness, validity and consistency over time of the SSDA903 Header in year ``y``: the
    dimensions a return can be rated on by itself."""
    hy = h[h["YEAR"] == y]
    pairs = year_pairs(h)
    py = pairs[(pairs["YEAR"] == y) & pairs["quality_prev"].eq("known")]
    coll = "SSDA903 Header"
    return [
        (
            "completeness",
            coll,
            (~hy["unknown"]).sum(),
            len(hy),
            "children whose ETHNIC is not blank, refused or not obtained",
        ),
        (
            "validity",
            coll,
            (~hy["quality"].eq("invalid")).sum(),
            len(hy),
            "children whose ETHNIC is not outside the valid list",
        ),
        (
            "consistency_over_time",
            coll,
            (~py["changed"]).sum(),
            len(py),
            "children in last year's return with a known code whose code is unchanged",
        ),
    ]


def _school_rated(school: pd.DataFrame, y: int) -> list[_Rated]:
    """Completeness and validity of the school census in year ``y``: the second collection is rated on the
    same rules, so a gap in one can be read against the other."""
    s = _school_frame(school)
    sy = s[s["YEAR"] == y]
    coll = "School census"
    return [
        (
            "completeness",
            coll,
            (~sy["unknown"]).sum(),
            len(sy),
            "pupils whose ETHNIC is not blank, refused or not obtained",
        ),
        (
            "validity",
            coll,
            (~sy["quality"].eq("invalid")).sum(),
            len(sy),
            "pupils whose ETHNIC is not outside the valid list",
        ),
    ]


def _across_rated(across: AcrossCollections, y: int) -> list[_Rated]:
    """Agreement and linkage of SSDA903 with the school census in year ``y``: the dimensions that need
    children linked by UPN."""
    linked = across.linked[across.linked["YEAR"] == y]
    ag = agreement(linked, by=[])
    lk = linkage(linked, by=[])
    coll = "SSDA903 and school census"
    return [
        (
            "consistency_across_collections",
            coll,
            ag["agree"].sum(),
            ag["both_known"].sum(),
            "linked children with both codes known whose codes agree",
        ),
        (
            "linkage",
            coll,
            lk["school_age_linked"].sum(),
            lk["school_age"].sum(),
            "children of compulsory school age linked to the school census by UPN",
        ),
    ]


def scorecard(
    rag_params: QualityRagParams,
    header: pd.DataFrame,
    school: pd.DataFrame | None = None,
    *,
    across: AcrossCollections | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """A RAG per dimension and collection for the latest year (or ``year``).

    Rows: completeness and validity for SSDA903 Header and the school census; consistency over time for
    SSDA903; consistency across collections and linkage for SSDA903 linked to the school census.
    Columns: dimension, collection, year, numerator, denominator, value, green, amber, higher_is_better,
    rag, rule, measure (what the value is, in words).
    """
    h = prepare_header(header)
    y = _latest(h, year)
    rated = _header_rated(h, y)
    if school is not None and len(school):
        across = across or consistency_across_collections(h, school, y)
        rated += _school_rated(school, y) + _across_rated(across, y)
    return pd.DataFrame([_scorecard_row(rag_params, y, r) for r in rated])


# --------------------------------------------------------------------------------------------------
# LA funnel


def la_completeness_funnel(header: pd.DataFrame, year: int | None = None, level: float = 0.998) -> pd.DataFrame:
    """Each LA's completeness (share of children whose code is not blank, REFU or NOBT) against England.

    Columns: LA, la_name, region_name, year, children, known, known_share, target (England's pooled share),
    lower/upper_95 and lower/upper_99_8 (exact binomial limits), se, z (null z-score), tau2 (additive
    between-LA variance, Spiegelhalter 2005, from winsorised z-scores), z_adjusted (z with s^2 + tau^2),
    adj_lower/adj_upper at each level (target +/- z sqrt(s^2 + tau^2)), flag_limit (the lower of the exact and
    adjusted limits at ``level``) and flagged (below flag_limit: an LA is flagged only on the low side and
    only outside the ``level`` limit, whichever way that limit is computed).
    The additive adjustment is used because recording practice differs between LAs whatever their size, so
    unadjusted limits would flag most large LAs.
    """
    h = prepare_header(header)
    y = _latest(h, year)
    d = h[h["YEAR"] == y].assign(_k=lambda x: ~x["unknown"])
    g = d.groupby("LA").agg(children=("_k", "size"), known=("_k", "sum")).reset_index()
    target = g["known"].sum() / g["children"].sum()
    levels = sorted({0.95, 0.998, float(level)})
    lim = funnel_limits_proportion(target, g["children"].to_numpy(), levels=levels).drop(columns=["n", "target"])
    z, se = z_scores_proportion(g["known"].to_numpy(), g["children"].to_numpy(), target)
    if target >= 1:  # no unknowns anywhere: nothing to flag
        z, se = np.zeros(len(g)), np.full(len(g), np.nan)
    tau2 = additive_tau2(z, se) if len(g) > 1 and target < 1 else 0.0
    tau2 = 0.0 if not np.isfinite(tau2) else tau2
    adj = overdispersed_limits(target, se, levels=levels, tau2=tau2).drop(columns=["se", "target"])
    adj.columns = [f"adj_{c}" for c in adj.columns]
    out = pd.concat([g, lim, adj], axis=1)
    las = _las()
    out.insert(1, "la_name", out["LA"].map(las["la_name"]).fillna(""))
    out.insert(2, "region_name", out["LA"].map(las["region_name"]).fillna(""))
    out.insert(3, "year", y)
    out["known_share"] = out["known"] / out["children"]
    out["target"] = target
    out["se"] = se
    out["z"] = z
    out["tau2"] = tau2
    out["z_adjusted"] = (out["known_share"] - target) / np.sqrt(se**2 + tau2)
    lab = f"{level * 100:.10g}".replace(".", "_")
    # Flag only below both the exact limit (right for small LAs, where normal limits are too narrow on the
    # low side of a share near 1) and the overdispersion-adjusted limit (right for large LAs).
    out["flag_limit"] = np.minimum(out[f"lower_{lab}"], out[f"adj_lower_{lab}"])
    out["flagged"] = (out["known_share"] < out["flag_limit"]).astype(bool)
    out.attrs["level"] = level
    return out


def weakest_las(funnel: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """League table of the ``n`` LAs with the weakest completeness relative to their size (most negative
    adjusted z-score first): rank, LA, la_name, children, unknown, known_share, lower limit, z_adjusted, flagged."""
    lab = f"{funnel.attrs.get('level', 0.998) * 100:.10g}".replace(".", "_")
    f = funnel.sort_values(["z_adjusted", "known_share", "LA"], kind="stable").head(n).reset_index(drop=True)
    out = f[
        ["LA", "la_name", "region_name", "children", "known", "known_share", "flag_limit", "z_adjusted", "flagged"]
    ].rename(columns={"flag_limit": f"lower_limit_{lab}"})
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.insert(5, "unknown", out["children"] - out["known"])
    return out.drop(columns="known")


# --------------------------------------------------------------------------------------------------
# recommendations and user needs


_DIM_WORDS = {
    "completeness": "completeness",
    "validity": "validity",
    "consistency_over_time": "consistency over time",
    "consistency_across_collections": "agreement with the school census",
    "linkage": "linkage to school records",
}
_RAG_ORDER = {"red": 0, "amber": 1, "green": 2, "not assessed": 3}


def _list(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count(n: float, threshold: int, base: int = 10) -> str:
    """A national count for the text as the tables show it: rounded half up to ``base``, and ``threshold`` or
    fewer when it is 1 to ``threshold`` (the chapter's percentages beside it are shares of the published counts,
    as in the tables: ``rap.sections.data_quality.chapter.published_shares``)."""
    n = int(round(n))
    return f"{threshold} or fewer" if 1 <= n <= threshold else f"{int(round_half_up(n, base)):,}"


def _la_share(name: str, known_share: float, children: int, threshold: int) -> str:
    """An LA's completeness for the text. A percentage with its denominator gives away the number of children
    of unknown ethnicity, so when that number is 1 to ``threshold`` only the band is given."""
    unknown = int(round(children * (1 - known_share)))
    if 1 <= unknown <= threshold:
        return f"{name} (ethnicity not known for {threshold} or fewer of its {children:,} children)"
    return f"{name} ({percent(known_share)} of {children:,})"


def _scorecard_sentences(sc: pd.DataFrame | None, threshold: int) -> list[str]:
    """The weakest dimension, or that every dimension is green: the scorecard in one sentence."""
    if sc is None or not len(sc):
        return []
    s = sc.assign(_o=sc["rag"].map(_RAG_ORDER)).sort_values(["_o", "value"], kind="stable")
    worst = s.iloc[0]
    if worst["rag"] in ("red", "amber"):
        return [
            f"The weakest dimension in {worst['year']} is {_DIM_WORDS[worst['dimension']]} "
            f"({worst['collection']}): {percent(worst['value'])} ({_count(worst['numerator'], threshold)} of "
            f"{_count(worst['denominator'], threshold)}), rated {worst['rag']} against the project's rule "
            f"({worst['rule']})."
        ]
    return [
        f"Every dimension assessed in {worst['year']} is rated green; the lowest is "
        f"{_DIM_WORDS[worst['dimension']]} ({worst['collection']}) at {percent(worst['value'])}."
    ]


def _agreement_by_group_sentences(
    across: AcrossCollections, min_children: int, n_groups: int, threshold: int
) -> list[str]:
    """The groups whose SSDA903 and school census codes agree least: where recording most needs to improve.
    A group's count is left out when its disagreements would be 1 to ``threshold``."""
    bm = across.by_minor[(across.by_minor["both_known"] >= min_children) & across.by_minor["share"].notna()]
    bm = bm.sort_values("share", kind="stable")
    if not len(bm):
        return []
    parts = [
        f"{r.label} {percent(r.share)}"
        + ("" if 1 <= round(r.both_known * (1 - r.share)) <= threshold else f" (of {_count(r.both_known, threshold)})")
        for r in bm.head(n_groups).itertuples()
    ]
    return [
        f"Recording most needs to improve for the groups where the SSDA903 and school census codes agree "
        f"least in {across.year}: {_list(parts)}; review how these codes are collected and whether "
        "the child or family chose them."
    ]


def _linkage_sentences(across: AcrossCollections, threshold: int) -> list[str]:
    """Children who cannot be linked to school records (UPN unknown or blank), and those the school census
    could fill in: the two things an LA can act on from the linkage."""
    out = []
    lk = across.linkage[across.linkage["YEAR"] == across.year]
    if len(lk) and pd.notna(lk.iloc[0]["share_unlinkable"]) and pd.notna(lk.iloc[0]["share"]):
        r = lk.iloc[0]
        unl = int(r["upn_unknown"] + r["upn_blank"])
        out.append(
            f"{percent(r['share_unlinkable'])} of children in the {across.year} SSDA903 return ({_count(unl, threshold)} of "
            f"{_count(r['children'], threshold)}) have a UPN recorded as unknown (UN1 to UN5) or blank and cannot be "
            f"linked to school records; {percent(r['share'])} of children of compulsory school age were linked."
        )
    ag = across.agreement[across.agreement["YEAR"] == across.year]
    if len(ag) and ag.iloc[0]["ssda903_unknown_school_known"] > 0:
        r = ag.iloc[0]
        out.append(
            f"For {_count(r['ssda903_unknown_school_known'], threshold)} linked children in {across.year} the SSDA903 "
            "code is blank, refused or not obtained while the school census records an ethnic group: "
            "LAs could check these records against the school's."
        )
    return out


def _funnel_sentences(fun: pd.DataFrame | None, threshold: int) -> list[str]:
    """The LAs below the funnel limit for completeness (or the weakest, when none is): whom to ask to review
    their codes."""
    if fun is None or not len(fun):
        return []
    lvl = fun.attrs.get("level", 0.998)
    y = int(fun["year"].iloc[0])
    flagged = fun[fun["flagged"]].sort_values("z_adjusted")
    if len(flagged):
        parts = [_la_share(r.la_name or r.LA, r.known_share, int(r.children), threshold) for r in flagged.itertuples()]
        return [
            f"{len(flagged)} of {len(fun)} LAs record ethnicity significantly less completely than England "
            f"({percent(fun['target'].iloc[0])}) in {y}, below the {lvl * 100:.10g}% funnel limit after allowing "
            f"for between-LA variation: {_list(parts)}. These LAs should be asked to review their "
            "blank, refused and not obtained codes."
        ]
    w = fun.sort_values("z_adjusted").iloc[0]
    return [
        f"No LA is below the {lvl * 100:.10g}% funnel limit for completeness in {y}; the weakest relative "
        f"to its size is {_la_share(w['la_name'] or w['LA'], w['known_share'], int(w['children']), threshold)} "
        f"(England {percent(w['target'])})."
    ]


def _changes_sentences(ch: pd.DataFrame | None, threshold: int) -> list[str]:
    """The commonest change of code between returns: the first thing to check in how codes are recorded."""
    if ch is None or not len(ch):
        return []
    top = ch.iloc[0]
    return [
        f"The commonest change of code between consecutive returns is {top['from_label']} to "
        f"{top['to_label']} ({_count(top['count'], threshold)} children, {percent(top['share_of_changes'])} of changes"
        + ("; within the same major group" if top["same_major"] else "")
        + ")."
    ]


def _granularity_sentences(gr: pd.DataFrame | None) -> list[str]:
    """Minor groups publishable in fewer than 10% of LAs: these need major groups or pooled years."""
    if gr is None or not len(gr):
        return []
    few = gr[gr["share_las_publishable"] < 0.1]
    if not len(few):
        return []
    return [
        f"{len(few)} of {len(gr)} minor groups could be published (count above the suppression threshold) "
        f"in fewer than 10% of the {int(gr['las'].iloc[0])} LAs: {_list(few['label'].tolist())}; "
        "report these at major-group level or pool years for LA tables."
    ]


def _uasc_sentences(comp: pd.DataFrame | None, threshold: int) -> list[str]:
    """Unknown ethnicity for UASC against other children in the latest year: UASC are where recording is
    hardest, so the gap is worth its own sentence."""
    if comp is None or not len(comp) or "uasc" not in comp.columns:
        return []
    u = comp[comp["category"].eq("unknown")]
    if "YEAR" in u.columns:
        u = u[u["YEAR"] == u["YEAR"].max()]
    if u["uasc"].nunique() != 2:
        return []
    a = u.set_index("uasc")
    return [
        f"Unknown ethnicity: {percent(a.at['UASC', 'share'])} of UASC ({_count(a.at['UASC', 'count'], threshold)} of "
        f"{_count(a.at['UASC', 'denominator'], threshold)}) against {percent(a.at['Not UASC', 'share'])} of other children."
    ]


def recommendations(
    results: Mapping[str, Any], *, min_children: int = 20, n_groups: int = 3, threshold: int = 5
) -> list[str]:
    """Sentences drawn from this run's results, each quoting its numbers (none is fixed prose).

    ``results`` may hold: ``scorecard``, ``funnel`` (la_completeness_funnel), ``across`` (AcrossCollections),
    ``changes`` (code_changes), ``granularity``, ``completeness`` (completeness by YEAR and uasc or age_band).
    Minor groups with fewer than ``min_children`` linked children are left out of the agreement sentence.
    Counts from 1 to ``threshold`` (the suppression threshold) are never quoted, nor is an LA percentage
    whose denominator would reveal one.
    """
    out = _scorecard_sentences(results.get("scorecard"), threshold)
    across: AcrossCollections | None = results.get("across")
    if across is not None:
        out += _agreement_by_group_sentences(across, min_children, n_groups, threshold)
        out += _linkage_sentences(across, threshold)
    out += _funnel_sentences(results.get("funnel"), threshold)
    out += _changes_sentences(results.get("changes"), threshold)
    out += _granularity_sentences(results.get("granularity"))
    out += _uasc_sentences(results.get("completeness"), threshold)
    return out


@cache
def user_needs_catalogue() -> list[dict[str, Any]]:
    """The user needs the strategy names, with the evidence and rules that decide them
    (``rap/data/user_needs.yaml``)."""
    with resources.files("rap.data").joinpath("user_needs.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["needs"]


#: One piece of evidence for a user need: its verdict ("missing", "partial" or "good") and what it says.
_Evidence = tuple[str, str]


def _collection_evidence(need: Mapping[str, Any], scan: pd.DataFrame, record_level: bool) -> list[_Evidence]:
    """Whether each collection the need requires has data in the latest year, in every year and (for those in
    ``all_las``) from every LA; and whether record-level data it needs are there."""
    latest = int(scan["year"].max())
    years = sorted(scan["year"].unique())
    out: list[_Evidence] = []
    for cid in need.get("collections", []):
        s = scan[scan["collection"] == cid]
        have = s[s["rows"] > 0]
        if have.empty or latest not in set(have["year"]):
            out.append(("missing", f"no {cid} data for {latest}"))
        elif len(have) < len(years):
            out.append(("partial", f"{cid} has data in {len(have)} of {len(years)} years"))
        elif record_level and cid in need.get("all_las", []) and (have["share_las"] < 1).any():
            n_las = int(round(have["las"].iloc[0] / have["share_las"].iloc[0])) if have["share_las"].iloc[0] else 0
            out.append(
                ("partial", f"{cid} has returns from only {int(have['las'].min())} of {n_las} LAs in some years")
            )
        else:
            out.append(("good", f"{cid} present {years[0]} to {years[-1]}"))
    if need.get("record_level") and not record_level:
        out.append(("missing", "needs record-level data; the inputs are published aggregates"))
    return out


def _dimension_evidence(need: Mapping[str, Any], scorecard: pd.DataFrame | None) -> list[_Evidence]:
    """The rating of each quality dimension the need depends on: only green counts as good."""
    out: list[_Evidence] = []
    for dim in need.get("dimensions", []):
        sc = scorecard[scorecard["dimension"] == dim] if scorecard is not None and len(scorecard) else None
        if sc is None or sc.empty:
            out.append(("partial", f"{_DIM_WORDS[dim]} not assessed"))
            continue
        for r in sc.itertuples():
            out.append(
                (
                    "good" if r.rag == "green" else "partial",
                    f"{_DIM_WORDS[dim]} ({r.collection}) {percent(r.value)}, {r.rag}",
                )
            )
    return out


def _check_evidence(
    need: Mapping[str, Any], funnel: pd.DataFrame | None, granularity: pd.DataFrame | None
) -> list[_Evidence]:
    """The need's own checks (``checks`` in ``user_needs.yaml``): LAs flagged in the funnel, minor groups
    publishable in too few LAs."""
    chk = need.get("checks", {}) or {}
    out: list[_Evidence] = []
    if "max_flagged_las" in chk:
        if funnel is None:
            out.append(("partial", "LA completeness not assessed"))
        else:
            k = int(funnel["flagged"].sum())
            verdict = "partial" if k > chk["max_flagged_las"] else "good"
            out.append((verdict, f"{k} of {len(funnel)} LAs below the funnel limit for completeness"))
    if "min_share_las_publishable" in chk:
        if granularity is None:
            out.append(("partial", "granularity not assessed"))
        else:
            thr = chk["min_share_las_publishable"]
            few = granularity[granularity["share_las_publishable"] < thr]
            out.append(
                (
                    "partial" if len(few) else "good",
                    f"{len(few)} of {len(granularity)} minor groups publishable in fewer than {percent(thr, 0)} of LAs",
                )
            )
    return out


def _need_status(need: Mapping[str, Any], evidence: list[_Evidence]) -> tuple[str, str]:
    """Status and reason: not met if anything is missing, partially met if anything falls short (or the need
    is capped at ``at_best``), met otherwise; the reason quotes the evidence that decided it."""
    missing, partial, good = ([text for v, text in evidence if v == kind] for kind in ("missing", "partial", "good"))
    cap = need.get("at_best")
    if missing:
        return "not met", "; ".join(missing)
    if partial or cap == "partially met":
        return "partially met", "; ".join(partial + ([need["at_best_reason"]] if cap == "partially met" else []))
    return "met", "; ".join(good)


def user_needs(
    availability_scan: pd.DataFrame,
    scorecard: pd.DataFrame | None,
    *,
    funnel: pd.DataFrame | None = None,
    granularity: pd.DataFrame | None = None,
    record_level: bool = True,
) -> pd.DataFrame:
    """Each need in ``user_needs.yaml`` marked met / partially met / not met, with the reason, from this
    run's availability scan (``rap.sections.data_availability.scan_*``) and quality results.

    A need is not met when a collection it requires has no data in the latest year (or it needs
    record-level data and the inputs are published aggregates); partially met when a collection lacks some
    years (or, for those listed in ``all_las``, some LAs), a required dimension is not green, or a
    need-specific check fails; met otherwise. Columns: need_id, need, status, reason, evidence.
    """
    rows = []
    for need in user_needs_catalogue():
        evidence = [
            *_collection_evidence(need, availability_scan, record_level),
            *_dimension_evidence(need, scorecard),
            *_check_evidence(need, funnel, granularity),
        ]
        status, reason = _need_status(need, evidence)
        rows.append(
            {
                "need_id": need["id"],
                "need": need["need"],
                "status": status,
                "reason": reason,
                "evidence": need["evidence"],
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# published (EES) mode


def _release_tables(tables: Any) -> list[tuple[int | None, dict[str, pd.DataFrame]]]:
    """Accept one read_ees_release dict, a {release: dict} mapping, or a list of dicts."""
    if isinstance(tables, Mapping) and tables and all(isinstance(v, pd.DataFrame) for v in tables.values()):
        return [(None, dict(tables))]
    if isinstance(tables, Mapping):
        return [(int(k), dict(v)) for k, v in tables.items()]
    return [(None, dict(t)) for t in tables]


def _on_31_march(tables: Any, table: str) -> pd.DataFrame:
    frames = []
    for rel, t in _release_tables(tables):
        df = t.get(table)
        if df is None or df.empty:
            continue
        df = df[df["ethnicity_level"].notna()].copy()
        if rel is not None:
            df["release"] = rel
        frames.append(df)
    if not frames:
        raise KeyError(f"no {table!r} table in the published inputs")
    return pd.concat(frames, ignore_index=True)


def published_unknown_share(tables: Any, table: str = "cla_on_31_march") -> pd.DataFrame:
    """Share of children looked after on 31 March whose ethnicity is refused or not yet obtained, by release
    and year, from the published ``number`` cells (national rows).

    Columns: release, year, refused, not_obtained, unknown (the published "refused or information not yet
    available" total), total, unknown_share, percentage_published (the published cell as printed),
    percentage_computed (unknown / total rounded half up as DfE prints it, "k" under 0.5%), percentage_agrees.
    """
    d = _on_31_march(tables, table)
    d = d[d["geographic_level"].eq("National")]
    num = d[d["indicator"] == "number"]
    lvl, grp = num["ethnicity_level"], num["ethnicity"]
    key = np.select(
        [lvl.eq("total"), lvl.eq("major") & grp.eq("unknown"), grp.eq("REFU"), grp.eq("NOBT")],
        ["total", "unknown", "refused", "not_obtained"],
        "",
    )
    num = num.assign(_k=key)
    w = (
        num[num["_k"] != ""]
        .pivot_table(index=["release", "time_period"], columns="_k", values="value", aggfunc="first")
        .reset_index()
    )
    for c in ["refused", "not_obtained", "unknown", "total"]:
        if c not in w.columns:
            w[c] = np.nan
    pc = d[(d["indicator"] == "percentage") & d["ethnicity_level"].eq("major") & d["ethnicity"].eq("unknown")]
    pc = pc.set_index(["release", "time_period"])["raw"].astype(str).str.strip()
    w["percentage_published"] = pd.MultiIndex.from_frame(w[["release", "time_period"]]).map(pc)
    w["unknown_share"] = w["unknown"] / w["total"]
    w["percentage_computed"] = percentages(w["unknown"].tolist(), w["total"].tolist())
    w["percentage_agrees"] = w["percentage_published"].isna() | w["percentage_published"].eq(w["percentage_computed"])
    w = w.rename(columns={"time_period": "year"})
    for c in ["refused", "not_obtained", "unknown", "total"]:
        w[c] = w[c].round().astype("Int64")
    cols = [
        "release",
        "year",
        "refused",
        "not_obtained",
        "unknown",
        "total",
        "unknown_share",
        "percentage_published",
        "percentage_computed",
        "percentage_agrees",
    ]
    w = w[cols].sort_values(["release", "year"], kind="stable").reset_index(drop=True)
    w.columns.name = None
    return w


def published_group_shares(tables: Any, table: str = "cla_on_31_march") -> pd.DataFrame:
    """Children looked after on 31 March by major group, per release and year: release, year, major,
    major_label, number, total, share (unknown included, as published)."""
    d = _on_31_march(tables, table)
    d = d[d["geographic_level"].eq("National") & (d["indicator"] == "number")]
    tot = d[d["ethnicity_level"].eq("total")].set_index(["release", "time_period"])["value"]
    m = d[d["ethnicity_level"].eq("major")][["release", "time_period", "ethnicity", "value"]]
    m = m.rename(columns={"time_period": "year", "ethnicity": "major", "value": "number"})
    m["total"] = pd.MultiIndex.from_frame(m[["release", "year"]]).map(tot)
    m["share"] = m["number"] / m["total"]
    m["major_label"] = m["major"].map(eth.major_groups()["label_cla"])
    m["_o"] = m["major"].map(eth.major_groups()["order"])
    m = m.sort_values(["release", "year", "_o"], kind="stable").drop(columns="_o")
    return m[["release", "year", "major", "major_label", "number", "total", "share"]].reset_index(drop=True)


def release_revisions(
    frame: pd.DataFrame, keys: Sequence[str] = (), value: str = "unknown", share: str = "unknown_share"
) -> pd.DataFrame:
    """The same year's figure in consecutive releases: year, *keys, release_from, release_to, value_from,
    value_to, revision (to - from), share_from, share_to, share_revision. Only years in both releases."""
    keys = list(keys)
    rels = sorted(frame["release"].dropna().unique())
    out = []
    for a, b in zip(rels[:-1], rels[1:]):
        fa = frame[frame["release"] == a][["year", *keys, value, share]]
        fb = frame[frame["release"] == b][["year", *keys, value, share]]
        m = fa.merge(fb, on=["year", *keys], suffixes=("_from", "_to"))
        m.insert(len(keys) + 1, "release_from", int(a))
        m.insert(len(keys) + 2, "release_to", int(b))
        out.append(m)
    if not out:
        return pd.DataFrame(columns=["year", *keys, "release_from", "release_to"])
    r = pd.concat(out, ignore_index=True).rename(
        columns={
            f"{value}_from": "value_from",
            f"{value}_to": "value_to",
            f"{share}_from": "share_from",
            f"{share}_to": "share_to",
        }
    )
    r["revision"] = r["value_to"] - r["value_from"]
    r["share_revision"] = r["share_to"] - r["share_from"]
    return r


def published_scorecard(rag_params: QualityRagParams, shares: pd.DataFrame) -> pd.DataFrame:
    """The scorecard that published tables allow: completeness of SSDA903 nationally (1 - unknown share) in the
    latest year of the latest release; the other dimensions are "not assessed" (they need record-level data).
    Same columns as :func:`scorecard`."""
    rel = shares["release"].max()
    r = shares[shares["release"] == rel].sort_values("year").iloc[-1]
    rated: list[_Rated] = [
        (
            "completeness",
            "SSDA903 (published national table)",
            int(r["total"] - r["unknown"]),
            int(r["total"]),
            "children looked after on 31 March not refused or not yet obtained",
        )
    ]
    for dim, coll in [
        ("validity", "SSDA903 Header"),
        ("consistency_over_time", "SSDA903 Header"),
        ("consistency_across_collections", "SSDA903 and school census"),
        ("linkage", "SSDA903 and school census"),
    ]:
        rated.append((dim, coll, 0, 0, "needs record-level data"))
    return pd.DataFrame([_scorecard_row(rag_params, int(r["year"]), x) for x in rated])


def published_record_level_gaps(shares: pd.DataFrame | None = None) -> list[str]:
    """What the published aggregates cannot show, and why (sentences; years and releases from ``shares``)."""
    span = ""
    if shares is not None and len(shares):
        span = (
            f" The published tables cover {int(shares['year'].min())} to {int(shares['year'].max())} in "
            f"{shares['release'].nunique()} release(s), nationally."
        )
    return [
        "Published tables give only the national count of children whose ethnicity is refused or not yet "
        "obtained; blank and invalid codes are corrected or rejected in DfE's validation before publication, so "
        "validity can only be measured on record-level returns." + span,
        "Consistency over time (a child's code changing between returns, rule 204) needs each child's code in "
        "consecutive returns: record-level SSDA903 data.",
        "Agreement with the school census needs children linked by UPN: record-level SSDA903 and National Pupil "
        "Database extracts.",
        "Completeness by LA, age band or UASC status (and the funnel plot of LAs) needs record-level returns: "
        "the published LA tables give major groups only, with small counts suppressed.",
        "Which minor groups can be published in how many LAs needs LA counts by minor group, which are not published.",
    ]
