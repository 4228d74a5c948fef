"""The data quality section: computes every result once, then shapes publishable tables from them.

``rap.sections.data_quality.dimensions`` holds the measures; this module decides what the chapter shows, with disclosure control
applied on the way out: national counts rounded half up to ``suppression.rounding_base`` and ``c`` when 1 to
``suppression.threshold``, LA counts of 1 to ``suppression.threshold`` shown as ``c``, percentages from suppressed
counts suppressed. Every national share the chapter quotes (tables, EES files, sentences, chart, scorecard and its
ratings) is the share of the published counts (:func:`published_shares`), so no percentage says more about a
count than the rounded count does (the project's disclosure notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.params import Params
from rap.domain.disclosure import (
    C,
    largest_hidden,
    national_counts,
    percent,
    round_places,
    rounded_counts,
)
from rap.domain.ees import with_ees_columns, write_ees
from rap.domain.geography import local_authorities
from rap.domain.stats import wilson_ci
from rap.sections.common import write_summary
from rap.sections.data_quality import dimensions as Q

SECTION = "02_data_quality"

DIMENSIONS = {
    "completeness": "Completeness",
    "validity": "Validity",
    "consistency_over_time": "Consistency over time",
    "consistency_across_collections": "Consistency across collections",
    "linkage": "Linkage to school records",
}


def _pct(share: pd.Series, dp: int = 1) -> pd.Series:
    """Percentages for the tables, rounded half up (DfE practice) as :func:`rap.domain.disclosure.percent`
    rounds them for the text, so a sentence and its table quote the same figure."""
    return pd.Series(round_places(share.astype(float) * 100, dp), index=share.index)


def _pct_c(share: pd.Series, dp: int = 1) -> np.ndarray:
    """Percentages of published counts (:func:`published_shares`) for a table: ``c`` where the share is missing
    because a count it rests on is ``c`` (a national table never has a denominator of 0)."""
    return np.where(share.isna().to_numpy(), C, _pct(share, dp).astype(object).to_numpy())


def _counts(values: pd.Series, params: Params) -> np.ndarray:
    """National counts as published: rounded half up to the base, ``c`` for 0 to the threshold."""
    s = params.suppression
    return national_counts(values, s.rounding_base, threshold=s.threshold).to_numpy()


@dataclass
class RecordQuality:
    """Every quality result for record-level inputs, computed once."""

    params: Params
    year: int
    header: pd.DataFrame
    scorecard: pd.DataFrame
    completeness_year: pd.DataFrame
    completeness_age: pd.DataFrame
    completeness_uasc: pd.DataFrame
    over_time: pd.DataFrame
    changes: pd.DataFrame
    across: Q.AcrossCollections
    granularity: pd.DataFrame
    denominators: pd.DataFrame
    funnel: pd.DataFrame
    recommendations: list[str] = field(default_factory=list)
    needs: pd.DataFrame | None = None


def assess_record(params: Params, data, scan: pd.DataFrame | None = None) -> RecordQuality:
    """All quality measures for record-level data (``rap.inputs.load.RecordData``); ``scan``: what the inputs
    hold (``rap.inputs.front.Inputs.coverage``), for the user needs."""
    ss = data.ssda903.tables
    school = data.school.tables.get("School")
    header = Q.prepare_header(ss["Header"], uasc=ss.get("UASC"), school=school)
    year = int(header["YEAR"].max())
    across = Q.consistency_across_collections(header, school, year)
    scorecard = Q.scorecard(params.quality_rag, header, school=school, across=across, year=year)
    funnel = Q.la_completeness_funnel(header, year, level=params.quality_rag.funnel_level)
    granularity = Q.granularity(header, params.suppression.threshold, year=year)
    res = RecordQuality(
        params=params,
        year=year,
        header=header,
        scorecard=scorecard,
        completeness_year=Q.completeness(header, by=("YEAR",)),
        completeness_age=Q.completeness(header[header["YEAR"] == year], by=("age_band",)),
        completeness_uasc=Q.completeness(header[header["YEAR"] == year], by=("uasc",)),
        over_time=Q.consistency_over_time(header),
        changes=Q.code_changes(header, top=10),
        across=across,
        granularity=granularity,
        denominators=Q.denominator_comparability(data.population),
        funnel=funnel,
    )
    published_shares(res)
    res.recommendations = Q.recommendations(
        {"scorecard": res.scorecard, "funnel": funnel, "across": across, "granularity": granularity},
        threshold=params.suppression.threshold,
    )
    if scan is not None:
        res.needs = Q.user_needs(scan, res.scorecard, funnel=funnel, granularity=granularity)
    return res


def _published_share(count: pd.Series, den: pd.Series, params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The share of the published counts (the rounded count over the rounded denominator) and its Wilson limits:
    NaN where either count is ``c`` (0 to the threshold)."""
    thr, base = params.suppression.threshold, params.suppression.rounding_base
    n = rounded_counts(count.to_numpy(float), base, thr)
    d = rounded_counts(den.to_numpy(float), base, thr)
    ok = np.isfinite(n) & np.isfinite(d) & (np.nan_to_num(d) > 0)
    w = wilson_ci(np.where(ok, n, 0), np.where(ok, d, 0))
    return tuple(np.where(ok, v, np.nan) for v in (w.estimate, w.lower, w.upper))


def _share_of_published(df: pd.DataFrame, count: str, den: str, params: Params) -> None:
    """``share``, ``lower`` and ``upper`` of ``df`` (in place) from the published counts of ``count`` / ``den``."""
    df["share"], df["lower"], df["upper"] = _published_share(df[count], df[den], params)


def published_shares(res: RecordQuality) -> None:
    """Every national share of ``res`` recomputed from the published counts (in place), so each table, sentence,
    chart and rating of the chapter quotes a figure an outsider could work out from the published counts and
    nothing finer; the exact counts stay for the tables to round. LA-level results (the funnel) are left as
    they are: they have their own control."""
    p = res.params
    for frame in (res.completeness_year, res.completeness_age, res.completeness_uasc):
        _share_of_published(frame, "count", "denominator", p)
    _share_of_published(res.over_time, "changed", "denominator", p)
    res.over_time["share_same"] = 1 - res.over_time["share"]
    lk = res.across.linkage
    lk["share_unlinkable"] = _published_share(lk["upn_unknown"] + lk["upn_blank"], lk["children"], p)[0]
    lk["share_linked"] = _published_share(lk["linked"], lk["children"], p)[0]
    _share_of_published(lk, "school_age_linked", "school_age", p)
    ag = res.across.agreement
    ag["share_major_agree"] = _published_share(ag["major_agree"], ag["both_known"], p)[0]
    for frame in (ag, res.across.by_minor):
        _share_of_published(frame, "agree", "both_known", p)
        frame["share_disagree"] = 1 - frame["share"]
    total = pd.Series(res.changes["count"].sum(), index=res.changes.index)
    res.changes["share_of_changes"] = _published_share(res.changes["count"], total, p)[0]
    res.scorecard = _published_scorecard(res.scorecard, p)


def _published_scorecard(sc: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The scorecard with each value the share of its published (rounded) numerator and denominator, rated on
    that value: a rating must not rest on a finer figure than the one shown beside it."""
    out = sc.copy()
    out["value"] = _published_share(out["numerator"], out["denominator"], params)[0]
    out["rag"] = [
        Q.rag(v, getattr(params.quality_rag, dim)) for v, dim in zip(out["value"], out["dimension"], strict=True)
    ]
    return out


# ------------------------------------------------------------------------------------------ tables


def rounding_note(params: Params) -> str:
    """The note under a national table: the disclosure rules as this run applies them (from the parameters)."""
    s = params.suppression
    return (
        f"Numbers rounded to the nearest {s.rounding_base}; [c]: 0 to {largest_hidden(s.threshold, s.rounding_base)}. "
        "Percentages are worked out from the rounded numbers, and are [c] where one of them is."
    )


def scorecard_table(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Dimension, collection, value and RAG in words (never colour alone); the rules are in rules_table."""
    return pd.DataFrame(
        {
            "Dimension": scorecard["dimension"].map(DIMENSIONS),
            "Collection": scorecard["collection"],
            "Value (%)": _pct_c(scorecard["value"]),
            "Rating": scorecard["rag"].str.capitalize(),
        }
    )


def completeness_table(res: RecordQuality) -> pd.DataFrame:
    """Known, blank, refused, not obtained and invalid shares of children in each year's return."""
    c = res.completeness_year.pivot(index="YEAR", columns="category", values="share")
    n = res.completeness_year.groupby("YEAR")["denominator"].first()
    return pd.DataFrame(
        {
            "Year": c.index.astype(int).astype(str),
            "Children": _counts(n, res.params),
            "Known (%)": _pct_c(c["known"]),
            "Blank (%)": _pct_c(c["blank"]),
            "Refused (%)": _pct_c(c["refused"]),
            "Not obtained (%)": _pct_c(c["not_obtained"]),
            "Invalid code (%)": _pct_c(c["invalid"]),
        }
    )


def completeness_by_table(res: RecordQuality) -> pd.DataFrame:
    """Unknown share (blank, refused, not obtained) by age band and UASC status, latest year."""
    parts = []
    for col, title in (("age_band", "Age on 31 March"), ("uasc", "Unaccompanied asylum-seeking")):
        frame = res.completeness_age if col == "age_band" else res.completeness_uasc
        u = frame[frame["category"] == "unknown"]
        parts.append(
            pd.DataFrame(
                {
                    "Breakdown": title,
                    "Group": u[col].astype(str).to_numpy(),
                    "Children": _counts(u["denominator"], res.params),
                    "Unknown (%)": _pct_c(u["share"]),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def over_time_table(res: RecordQuality) -> pd.DataFrame:
    t = res.over_time
    return pd.DataFrame(
        {
            "Year": t["YEAR"].astype(int).astype(str),
            "Children in both returns": _counts(t["denominator"], res.params),
            "Code changed": _counts(t["changed"], res.params),
            "Changed (%)": _pct_c(t["share"]),
        }
    )


def changes_table(res: RecordQuality) -> pd.DataFrame:
    c = res.changes
    return pd.DataFrame(
        {
            "From": c["from_label"],
            "To": c["to_label"],
            "Same major group": c["same_major"].map({True: "Yes", False: "No"}),
            "Children (all years)": _counts(c["count"], res.params),
        }
    )


def linkage_table(res: RecordQuality) -> pd.DataFrame:
    lk = res.across.linkage
    return pd.DataFrame(
        {
            "Year": lk["YEAR"].astype(int).astype(str),
            "Children": _counts(lk["children"], res.params),
            "UPN unknown or blank (%)": _pct_c(lk["share_unlinkable"]),
            "School-age children linked (%)": _pct_c(lk["share"]),
        }
    )


def agreement_table(res: RecordQuality) -> pd.DataFrame:
    """Agreement between SSDA903 and school census codes by SSDA903 minor group, latest year."""
    m = res.across.by_minor
    return pd.DataFrame(
        {
            "Ethnic group (SSDA903)": m["label"],
            "Major group": m["major_label"],
            "Linked, both known": _counts(m["both_known"], res.params),
            "Same code (%)": _pct_c(m["share"]),
        }
    )


def confusion_table(res: RecordQuality) -> pd.DataFrame:
    cm = res.across.confusion.copy()
    for col in cm.columns[1:]:
        cm[col] = _counts(cm[col], res.params)
    return cm


def granularity_table(res: RecordQuality) -> pd.DataFrame:
    g = res.granularity
    return pd.DataFrame(
        {
            "Ethnic group": g["label"],
            "Major group": g["major_label"],
            "Children (England)": _counts(g["national_count"], res.params),
            "Publishable nationally": g["national_publishable"].map({True: "Yes", False: "No"}),
            "LAs where publishable": g["las_publishable"].astype(int).astype(str)
            + " of "
            + g["las"].astype(int).astype(str),
        }
    )


def denominators_table(res: RecordQuality) -> pd.DataFrame:
    d = res.denominators
    return pd.DataFrame(
        {
            "Ethnic group": d["label"],
            "ONS 2021 group": d["ons2021_label"].fillna("none"),
            "Match": d["match"],
            "Why": d["reason"],
            "Source": d["source"],
        }
    )


def weakest_table(res: RecordQuality, n: int = 10) -> pd.DataFrame:
    """LAs with the lowest known-ethnicity share, their counts hidden exactly as in the LA completeness table
    (:func:`la_completeness_hidden`), with the percentage and funnel verdict that rest on them."""
    w = Q.weakest_las(res.funnel, n)
    hide_children, hide_unknown = la_completeness_hidden(res)
    pos = pd.Index(res.funnel["LA"]).get_indexer(w["LA"])
    hc, hu = hide_children[pos], hide_unknown[pos]
    known = _pct(w["known_share"], 0).astype(object).to_numpy()
    return pd.DataFrame(
        {
            "Rank": w["rank"].astype(int),
            "Local authority": w["la_name"],
            "Region": w["region_name"],
            "Children": np.where(hc, C, w["children"].astype(int).astype(str).to_numpy(dtype=object)),
            "Ethnicity unknown": np.where(hu, C, w["unknown"].astype(int).astype(str).to_numpy(dtype=object)),
            "Known (%)": np.where(hc | hu, C, known),
            "Outside the funnel limit": np.where(hc | hu, C, w["flagged"].map({True: "Yes", False: "No"}).to_numpy()),
        }
    )


def needs_table(needs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"User need": needs["need"], "Status": needs["status"], "Why": needs["reason"]})


# ------------------------------------------------------------------------------------------ outputs


#: The raw recording categories as the completeness table labels them, in table order.
_RECORDING = {
    "known": "Known",
    "blank": "Blank",
    "refused": "Refused",
    "not_obtained": "Not obtained",
    "invalid": "Invalid code",
}


def _completeness_ees(res: RecordQuality) -> pd.DataFrame:
    """National completeness by year and recording category for EES, counts rounded half up to
    ``suppression.rounding_base`` as every national count is published."""
    comp = res.completeness_year[res.completeness_year["category"].isin(list(_RECORDING))]
    return pd.DataFrame(
        {
            "YEAR": comp["YEAR"],
            "recording": comp["category"].map(_RECORDING),
            "number": _counts(comp["count"], res.params),
            "percentage": _pct_c(comp["share"]),
        }
    )


def _scorecard_ees(sc: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as an EES table: one rated value per dimension and collection."""
    return pd.DataFrame(
        {
            "YEAR": sc["year"],
            "quality_dimension": sc["dimension"].map(DIMENSIONS),
            "collection": sc["collection"],
            "percentage": _pct_c(sc["value"]),
            "rating": sc["rag"].str.capitalize(),
        }
    )


def la_completeness_hidden(res: RecordQuality) -> tuple[np.ndarray, np.ndarray]:
    """Which LAs' children in the return and children of unknown ethnicity are hidden (one row per row of
    ``res.funnel``): primary suppression of 1 to ``suppression.threshold``, and secondary suppression by moves
    that keep every published figure (:func:`rap.domain.la_disclosure.protect_la_counts`: England's count taken
    as exact, regions' within their rounding, the unknown within the children, a small known count by
    subtraction hidden too), so neither the table nor the report's list of the weakest LAs gives one back."""
    from rap.domain.la_disclosure import Relation, protect_la_counts

    f = res.funnel
    s = res.params.suppression
    las = local_authorities()
    base = pd.DataFrame(
        {
            "time_period": f["year"].to_numpy(),
            "new_la_code": f["LA"].astype(str).to_numpy(),
            "region_code": f["LA"].map(las["region_code"]).fillna("").to_numpy(),
            "group": "Total",
        }
    )
    cells = pd.concat(
        [
            base.assign(quantity="children_in_return", value=f["children"].to_numpy(float)),
            base.assign(quantity="children_unknown", value=(f["children"] - f["known"]).to_numpy(float)),
        ],
        ignore_index=True,
    )
    rel = [Relation("children_in_return", ("children_unknown",))]
    hidden = protect_la_counts(cells, rel, s.threshold, s.rounding_base)["suppression"].ne("none").to_numpy()
    return hidden[: len(f)], hidden[len(f) :]


def _la_completeness_ees(res: RecordQuality) -> pd.DataFrame:
    """Each LA's completeness against the funnel limit, its counts hidden as :func:`la_completeness_hidden`
    says, and its percentage and place against the funnel limit (both rest on the counts) hidden with them."""
    f = res.funnel
    las = local_authorities()
    hide_children, hide_unknown = la_completeness_hidden(res)
    either = hide_children | hide_unknown
    unknown = (f["children"] - f["known"]).astype(int).astype(str).to_numpy(dtype=object)
    known_pct = _pct(f["known_share"], 1).astype(object).to_numpy()
    flag = (
        f["flagged"].map({True: "Below the funnel limit", False: "Not below the funnel limit"}).to_numpy(dtype=object)
    )
    return pd.DataFrame(
        {
            "year": f["year"].to_numpy(),
            "region_code": f["LA"].map(las["region_code"]).to_numpy(),
            "region_name": f["region_name"].to_numpy(),
            "old_la_code": f["LA"].to_numpy(),
            "new_la_code": f["LA"].map(las["new_la_code"]).to_numpy(),
            "la_name": f["la_name"].to_numpy(),
            "children": np.where(hide_children, C, f["children"].astype(int).astype(str).to_numpy(dtype=object)),
            "children_unknown": np.where(hide_unknown, C, unknown),
            "known_percentage": np.where(either, C, known_pct),
            "funnel_position": np.where(either, "Not shown (counts suppressed)", flag),
        }
    )


def _record_summary_lines(res: RecordQuality) -> list[str]:
    """The front-page findings: SSDA903 completeness, the weakest dimension and the LAs outside the funnel,
    with percentages rounded as the tables round them."""
    sc = res.scorecard
    completeness = sc.loc[sc["dimension"].eq("completeness") & sc["collection"].eq("SSDA903 Header"), "value"]
    worst = sc.sort_values("value").iloc[0]
    flagged = int(res.funnel["flagged"].sum())
    return [
        f"Ethnicity was recorded for {percent(completeness.iloc[0])} of children in the {res.year} SSDA903 return; "
        f"{flagged} of {len(res.funnel)} local authorities recorded it significantly less completely than England "
        f"(@fig-funnel). The weakest aspect of quality was {DIMENSIONS[worst['dimension']].lower()} "
        f"({worst['collection']}, {percent(worst['value'])}, rated {worst['rag']}; @tbl-scorecard)."
    ]


def write_record_outputs(res: RecordQuality, out: Path) -> None:
    """EES tidy tables and the front-page finding of the quality section."""
    write_ees(
        with_ees_columns(_completeness_ees(res), year="YEAR"),
        out / "tables" / "quality_completeness.csv",
        filters={"recording": "Ethnicity recording"},
        indicators={"number": ("Children", "", 0), "percentage": ("Percentage of children", "%", 1)},
    )
    write_ees(
        with_ees_columns(_scorecard_ees(res.scorecard), year="YEAR"),
        out / "tables" / "quality_scorecard.csv",
        # the rating is a filter (EES indicators hold numbers), one item per row
        filters={
            "quality_dimension": "Quality dimension",
            "collection": "Collection",
            "rating": "Rating (project's own rule)",
        },
        indicators={"percentage": ("Value", "%", 1)},
    )
    write_ees(
        with_ees_columns(_la_completeness_ees(res), year="year", level="Local authority"),
        out / "tables" / "quality_la_completeness.csv",
        filters={"funnel_position": "Against the funnel limit for completeness"},
        indicators={
            "children": ("Children in the return", "", 0),
            "children_unknown": ("Ethnicity blank, refused or not obtained", "", 0),
            "known_percentage": ("Ethnicity known", "%", 1),
        },
    )
    write_summary(out, SECTION, _record_summary_lines(res))


# ------------------------------------------------------------------------------------------ published


@dataclass
class PublishedQuality:
    shares: pd.DataFrame
    revisions: pd.DataFrame
    scorecard: pd.DataFrame
    gaps: list[str]


def assess_published(params: Params, releases: dict[int, dict[str, pd.DataFrame]]) -> PublishedQuality:
    """What the published aggregates allow: unknown share by year, and revisions where two releases exist.

    ``releases``: {release year: tables}, this year's release and the previous year's where there is one
    (``rap.inputs.front.Inputs.releases``), so revisions can be shown.
    """
    shares = Q.published_unknown_share(releases)
    revisions = Q.release_revisions(shares) if len(releases) > 1 else pd.DataFrame()
    latest = shares[shares["release"] == params.year]
    return PublishedQuality(
        shares=shares,
        revisions=revisions,
        scorecard=Q.published_scorecard(params.quality_rag, latest),
        gaps=Q.published_record_level_gaps(latest),
    )


def published_shares_table(pq: PublishedQuality) -> pd.DataFrame:
    s = pq.shares
    return pd.DataFrame(
        {
            "Release": s["release"].astype(int).astype(str),
            "Year": s["year"].astype(int).astype(str),
            "Children on 31 March": s["total"].astype(int),
            "Refused or not yet obtained": s["unknown"].astype(int),
            "Unknown (%)": _pct(s["unknown_share"], 2),
            "Published percentage": s["percentage_published"],
        }
    )


def write_published_outputs(pq: PublishedQuality, out: Path, params: Params) -> None:
    latest = pq.shares[pq.shares["release"] == params.year]
    t = pd.DataFrame(
        {
            "YEAR": latest["year"],
            "number": latest["unknown"].astype(int).to_numpy(),
            "percentage": _pct(latest["unknown_share"], 2).to_numpy(),
        }
    )
    write_ees(
        with_ees_columns(t, year="YEAR"),
        out / "tables" / "quality_unknown_published.csv",
        filters={},
        indicators={
            "number": ("Children whose ethnicity was refused or not yet obtained", "", 0),
            "percentage": ("Percentage of children looked after on 31 March", "%", 2),
        },
    )
    last = latest.sort_values("year").iloc[-1]
    write_summary(
        out,
        SECTION,
        [
            f"In DfE's {params.year} release, ethnicity was refused or not yet obtained for {int(last['unknown']):,} of "
            f"{int(last['total']):,} children looked after on 31 March {int(last['year'])} ({percent(last['unknown_share'])}; "
            "@tbl-published-unknown); the other aspects of quality need record-level data."
        ],
    )


# ------------------------------------------------------------------------------------------ narrative
# Sentences for the chapter, drawn from the results so the text cannot drift from the numbers.


def rules_table(params: Params) -> pd.DataFrame:
    rows = []
    for key, label in DIMENSIONS.items():
        t = getattr(params.quality_rag, key)
        rows.append(
            {
                "Dimension": label,
                "Green from (%)": t.green * 100,
                "Amber from (%)": t.amber * 100,
                "Rule": Q.rag_rule(t),
            }
        )
    return pd.DataFrame(rows)


def scorecard_sentence(sc: pd.DataFrame) -> str:
    counts = sc["rag"].value_counts()
    worst = sc.sort_values("value").iloc[0]
    parts = [f"{counts.get(r, 0)} {r}" for r in ("green", "amber", "red") if counts.get(r, 0)]
    return (
        f"Of {len(sc)} ratings, {', '.join(parts)}. The lowest value is {DIMENSIONS[worst['dimension']].lower()} "
        f"({worst['collection']}): {percent(worst['value'])}."
    )


def _share_text(share: float, params: Params, dp: int = 1) -> str:
    """A share of published counts for a sentence: the percentage, or that it is not shown when a count it rests
    on is ``c`` (the text must not say what the tables hide)."""
    if pd.notna(share):
        return percent(share, dp)
    s = params.suppression
    return f"a share not shown (0 to {largest_hidden(s.threshold, s.rounding_base)} children)"


def completeness_sentence(res: RecordQuality) -> str:
    c = res.completeness_year
    latest = c[(c["YEAR"] == res.year)].set_index("category")
    first_year = int(c["YEAR"].min())
    first = c[(c["YEAR"] == first_year)].set_index("category")
    p = res.params
    return (
        f"In {res.year}, ethnicity was recorded (not blank, refused or not obtained) for "
        f"{_share_text(latest.at['complete', 'share'], p)} of children in the SSDA903 return "
        f"({first_year}: {_share_text(first.at['complete', 'share'], p)}); "
        f"{_share_text(latest.at['unknown', 'share'], p)} were blank, refused or not obtained and "
        f"{_share_text(latest.at['invalid', 'share'], p, 2)} held a code outside the valid list."
    )


def funnel_title(res: RecordQuality) -> str:
    flagged = int(res.funnel["flagged"].sum())
    return f"{flagged} of {len(res.funnel)} local authorities record ethnicity less completely than England would lead us to expect"


def _about(n: float) -> str:
    """A count for alt text, rounded to 100: an exact smallest LA would be a count no table may show."""
    return "fewer than 100" if n < 100 else f"about {int(round(n, -2)):,}"


def funnel_alt(res: RecordQuality) -> str:
    f = res.funnel
    named = ", ".join(f.loc[f["flagged"], "la_name"]) or "none"
    return (
        f"Funnel plot of {len(f)} local authorities: share of children with a known ethnicity (vertical, "
        f"{percent(f['known_share'].min(), 0)} to {percent(f['known_share'].max(), 0)}) against children in the return "
        f"(horizontal, {_about(f['children'].min())} to {_about(f['children'].max())}), around England's "
        f"{percent(f['target'].iloc[0])} with 95% and 99.8% limits. Below the 99.8% limit: {named}."
    )


def funnel_sentence(res: RecordQuality) -> str:
    f = res.funnel
    n = int(f["flagged"].sum())
    if not n:
        return "No LA falls below the 99.8% limit."
    return f"{n} LA{'s' if n > 1 else ''} fall below the 99.8% limit: {', '.join(f.loc[f['flagged'], 'la_name'])}."


def validity_sentence(res: RecordQuality) -> str:
    c = res.completeness_year
    inv = c[(c["YEAR"] == res.year) & (c["category"] == "invalid")].iloc[0]
    return (
        f"{_share_text(inv['share'], res.params, 2)} of children in the {res.year} return had a code outside the valid list "
        "(DfE rule 103; lower-case codes count as invalid)."
    )


def over_time_sentence(res: RecordQuality) -> str:
    t = res.over_time[res.over_time["YEAR"] == res.year].iloc[0]
    top = res.changes.iloc[0] if len(res.changes) else None
    most = f" The most common change was from {top['from_label']} to {top['to_label']}." if top is not None else ""
    return (
        f"Of children in both the {res.year - 1} and {res.year} returns of the same LA with a known code, "
        f"{_share_text(t['share'], res.params)} had a different code in {res.year} (DfE rule 204).{most}"
    )


def linkage_sentence(res: RecordQuality) -> str:
    lk = res.across.linkage
    t = lk[lk["YEAR"] == res.year].iloc[0]
    return (
        f"In {res.year}, {_share_text(t['share_unlinkable'], res.params)} of children had a UPN recorded as unknown "
        f"(UN1 to UN5) or blank and cannot be linked; {_share_text(t['share'], res.params)} of children of compulsory "
        "school age were found in "
        "the school census."
    )


def agreement_sentence(res: RecordQuality) -> str:
    a = res.across.agreement
    t = a[a["YEAR"] == res.year].iloc[0]
    m = res.across.by_minor
    m = m[(m["both_known"] >= 20) & m["share"].notna()].sort_values("share")
    low = ", ".join(f"{r.label} ({percent(r.share, 0)})" for r in m.head(3).itertuples())
    return (
        f"{_share_text(t['share'], res.params)} had the same code in both and "
        f"{_share_text(t['share_major_agree'], res.params)} the same major group. "
        f"Agreement is lowest for {low}."
    )


def agreement_chart_data(res: RecordQuality) -> tuple:
    """Bars of agreement by minor group, from the published counts; groups whose share rests on a ``c`` count
    are left out of the bars and named in the alt text, as the table shows them ``c``."""
    every = res.across.by_minor
    m = every[every["share"].notna()].sort_values("share")
    low = m["share"] < res.params.quality_rag.consistency_across_collections.amber
    worst = m.iloc[0]
    title = f"Codes agree least often for {worst['label']} children ({percent(worst['share'], 0)})"
    hidden = every.loc[every["share"].isna(), "label"].tolist()
    alt = (
        "Horizontal bar chart of the share of linked children whose SSDA903 and school census codes agree, "
        "by SSDA903 ethnic group: "
        + "; ".join(f"{r.label} {percent(r.share, 0)}" for r in m.itertuples())
        + (f"; not shown (suppressed): {', '.join(hidden)}" if hidden else "")
        + "."
    )
    return m["label"], m["share"], title, alt, "Same code in SSDA903 and the school census (%)", low


def granularity_sentence(res: RecordQuality) -> str:
    g = res.granularity
    nat = int(g["national_publishable"].sum())
    few = g.sort_values("share_las_publishable").head(3)
    names = ", ".join(f"{r.label} ({int(r.las_publishable)} LAs)" for r in few.itertuples())
    return (
        f"{nat} of {len(g)} detailed groups can be published nationally once small counts are suppressed; "
        f"at LA level, the fewest LAs can publish {names}."
    )


def denominator_sentence(res: RecordQuality) -> str:
    d = res.denominators
    none = d.loc[d["match"] == "none", "label"].tolist()
    approx = d.loc[d["match"] == "approximate", "label"].tolist()
    src = d["source"].iloc[0] if len(d) else "none"
    return (
        f"No matching population group exists for {', '.join(none) or 'no group'}; the match is only "
        f"approximate for {', '.join(approx) or 'no group'}. The population used here is {src}."
    )


def revisions_sentence(pq: PublishedQuality) -> str:
    r = pq.revisions
    if r is None or r.empty:
        return "Only one release was available, so revisions cannot be shown."
    big = r.loc[r["revision"].abs().idxmax()]
    return (
        f"Between the {int(big['release_from'])} and {int(big['release_to'])} releases the figure for "
        f"{int(big['year'])} was revised from {int(big['value_from']):,} to {int(big['value_to']):,}: "
        "records whose ethnicity was not yet obtained are often completed later."
    )
