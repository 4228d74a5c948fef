"""Does each ethnic group's disparity remain once area deprivation is allowed for? (issue 15 item 3)

A model of LA-level figures, for the LA chapter (notebook 04):

* :func:`model_cells`: every LA x known major group cell of the *published* LA rates table (``rates_pub`` of
  :func:`rap.sections.local_authorities.publishable_rates`) with its published count, or, where the count is
  hidden (``c``), a share of what the LA's published figures leave over (:func:`impute_hidden`), and the LA's
  IDACI 2019 score (:func:`rap.domain.deprivation.la_idaci`). Everything downstream is a function of published
  figures, so nothing here can reveal a hidden count.
* :func:`rate_ratios`: quasi-Poisson GLMs (statsmodels) of children looked after with log(children 0-17) as
  offset: group only (unadjusted) and group + IDACI score (adjusted); each group's rate ratio against White with
  95% intervals, and IDACI's own ratio per 0.1 of the score.
* :func:`quintile_rates`: rates by group within fifths of LAs ranked by IDACI score.
* :func:`adjustment_sentences`: the chapter's words, made from the estimates and their intervals.

Reference group: White (all White children). LA figures are published for the major groups only, so White
British cannot be the reference here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

from rap.domain.deprivation import la_idaci
from rap.domain.disclosure import C, X, Z, published_numbers, round_places
from rap.domain.ethnicity import major_label as _label
from rap.inputs.la_inputs import KNOWN, TOTAL, UNKNOWN

PER = 10_000
REFERENCE = "white"
IDACI_STEP = 0.1  #: the IDACI term's ratio is per this much of the score (10 percentage points of children)
IMPUTED, SHOWN_ONLY = "Hidden cells imputed", "Hidden cells left out"
IDACI_TERM = "IDACI 2019 average score, per 0.1"
ALL_KNOWN = "All known groups"  #: children of known ethnicity (the model's cells together)
QUINTILE_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


# --------------------------------------------------------------------------------------------------
# the cells of the model, from the published table only


def major_label(key: str) -> str:
    """The label of a group key as the LA table prints it ('Total' for all children)."""
    return "Total" if key == TOTAL else str(_label(key))


MIN_LAS = 10  #: fewer LAs with cells than this: no model (too few to say anything)


def enough(cells: pd.DataFrame) -> bool:
    """Whether the published table gives enough LAs (``MIN_LAS``) with children and counts to fit the model."""
    return cells["new_la_code"].nunique() >= MIN_LAS and cells["major"].nunique() == len(KNOWN)


def idaci_quintiles() -> pd.DataFrame:
    """Every LA's IDACI score and its fifth of LAs (1 = most deprived): LAs ranked by score (ties by LA code,
    so the split is deterministic), cut into five groups of (nearly) equal numbers of LAs."""
    d = la_idaci()[["new_la_code", "la_name", "iod2019_code", "how", "idaci_score"]].dropna(subset=["idaci_score"])
    d = d.sort_values(["idaci_score", "new_la_code"], ascending=[False, True]).reset_index(drop=True)
    d["idaci_quintile"] = pd.qcut(np.arange(len(d)), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    return d


def _published(rates_pub: pd.DataFrame, year: int) -> pd.DataFrame:
    """The year's rows of the published table with group keys and numbers: ``shown`` (the published count, NaN
    where ``c`` or ``x``), ``hidden`` (``c``), ``pop`` (published, to the nearest 10) and England's rate per child."""
    keys = {major_label(k): k for k in [*KNOWN, UNKNOWN, TOTAL]}
    t = rates_pub[rates_pub["time_period"].astype(int) == year]
    return pd.DataFrame(
        {
            "new_la_code": t["new_la_code"].to_numpy(),
            "la_name": t["la_name"].to_numpy(),
            "major": t["ethnicity_major"].map(keys).to_numpy(),
            "shown": pd.to_numeric(t["number"], errors="coerce").to_numpy(float),
            "hidden": t["number"].eq(C).to_numpy(),
            "pop": pd.to_numeric(t["population"], errors="coerce").to_numpy(float),
            "england_rate": pd.to_numeric(t["england_rate"], errors="coerce").to_numpy(float) / PER,
        }
    )


def impute_hidden(rates_pub: pd.DataFrame, year: int) -> tuple[pd.DataFrame, list[str]]:
    """Each LA's known-group and unknown cells with ``count``: the published count, or for a hidden cell its
    share of H = the LA's published all-children count minus its shown group and unknown counts. H is shared
    among the LA's hidden cells in proportion to what England's published rate for the group gives on the LA's
    published children in it (for unknown ethnicity: England's share of unknown among the LAs where it is
    shown, times the LA's total). LAs whose all-children count is hidden cannot be filled: they are left out
    and returned by name. Only published figures are used, so the counts tell nothing the table does not."""
    p = _published(rates_pub, year)
    tot = p[p["major"] == TOTAL].set_index("new_la_code")["shown"]
    cells = p[p["major"].isin([*KNOWN, UNKNOWN])].copy()
    cells["la_total"] = cells["new_la_code"].map(tot).to_numpy(float)
    dropped = sorted(p.loc[(p["major"] == TOTAL) & p["shown"].isna() & p["hidden"], "la_name"].unique())
    cells = cells[cells["la_total"].notna()].copy()
    unk = cells[(cells["major"] == UNKNOWN) & cells["shown"].notna()]
    unknown_share = unk["shown"].sum() / unk["la_total"].sum() if unk["la_total"].sum() > 0 else 0.0
    expected = np.where(
        cells["major"].eq(UNKNOWN), unknown_share * cells["la_total"], cells["england_rate"] * cells["pop"]
    )
    cells["expected"] = np.nan_to_num(expected.astype(float))
    left = (cells["la_total"] - cells.groupby("new_la_code")["shown"].transform("sum")).clip(lower=0)
    e_hidden = cells["expected"].where(cells["hidden"], 0.0)
    n_hidden = cells.groupby("new_la_code")["hidden"].transform("sum")
    sum_e = e_hidden.groupby(cells["new_la_code"]).transform("sum")
    share = np.where(sum_e > 0, e_hidden / sum_e.where(sum_e > 0, 1), 1 / n_hidden.where(n_hidden > 0, 1))
    cells["count"] = np.where(cells["hidden"], left * share, cells["shown"])
    cells["imputed"] = cells["hidden"]
    return cells.drop(columns=["expected"]).reset_index(drop=True), dropped


def model_cells(rates_pub: pd.DataFrame, year: int) -> tuple[pd.DataFrame, list[str]]:
    """The model's cells: LA x known major group with a count (shown or imputed), children 0-17 above 0 and an
    IDACI score; and the LAs left out because their all-children count is hidden."""
    cells, dropped = impute_hidden(rates_pub, year)
    q = idaci_quintiles().set_index("new_la_code")
    cells = cells[cells["major"].isin(KNOWN)].copy()
    cells["idaci_score"] = cells["new_la_code"].map(q["idaci_score"])
    cells["idaci_quintile"] = cells["new_la_code"].map(q["idaci_quintile"])
    ok = cells["count"].notna() & cells["pop"].gt(0) & cells["idaci_score"].notna()
    return cells[ok].reset_index(drop=True), dropped


# --------------------------------------------------------------------------------------------------
# the models


def _fit(cells: pd.DataFrame, adjusted: bool):
    """Quasi-Poisson GLM: log E[count] = log(children) + group (+ IDACI score per 0.1), White the reference;
    the scale (overdispersion, Pearson X2 / residual df) widens every interval."""
    groups = [g for g in KNOWN if g != REFERENCE]
    design = pd.DataFrame({g: cells["major"].eq(g).astype(float) for g in groups})
    if adjusted:
        design["idaci"] = cells["idaci_score"].to_numpy(float) / IDACI_STEP
    design = sm.add_constant(design, has_constant="add")
    model = sm.GLM(
        cells["count"].to_numpy(float),
        design,
        family=sm.families.Poisson(),
        offset=np.log(cells["pop"].to_numpy(float)),
    )
    return model.fit(scale="X2")


def _ratios(res, level: float) -> pd.DataFrame:
    """Rate ratios (exp of the coefficients) with Wald intervals on the quasi-Poisson standard errors."""
    ci = res.conf_int(alpha=1 - level)
    out = pd.DataFrame({"ratio": np.exp(res.params), "lower": np.exp(ci[0]), "upper": np.exp(ci[1])})
    return out.drop(index="const")


def rate_ratios(cells: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Each known group's rate ratio against White, unadjusted and adjusted for the LA's IDACI score, with
    ``level`` intervals, and IDACI's own ratio (adjusted model only), from unrounded estimates; fitted on every
    cell (``method`` IMPUTED) and on the cells whose count is shown (SHOWN_ONLY, the sensitivity fit). Columns
    method, term (group key or ``idaci``), ratio/lower/upper for ``unadjusted`` and ``adjusted``, and each fit's
    cells, LAs, imputed cells and overdispersion."""
    rows = []
    for method, use in ((IMPUTED, cells), (SHOWN_ONLY, cells[~cells["imputed"]])):
        fits = {kind: _fit(use, kind == "adjusted") for kind in ("unadjusted", "adjusted")}
        est = {kind: _ratios(res, level) for kind, res in fits.items()}
        for term in [REFERENCE, *[g for g in KNOWN if g != REFERENCE], "idaci"]:
            row = {"method": method, "term": term}
            for kind, e in est.items():
                got = e.loc[term] if term in e.index else None
                if term == REFERENCE:
                    got = pd.Series({"ratio": 1.0, "lower": np.nan, "upper": np.nan})
                for col in ("ratio", "lower", "upper"):
                    row[f"{kind}_{col}"] = np.nan if got is None else float(got[col])
                row[f"{kind}_phi"] = float(fits[kind].scale)
            row["cells"] = len(use)
            row["las"] = use["new_la_code"].nunique()
            row["imputed_cells"] = int(use["imputed"].sum())
            rows.append(row)
    return pd.DataFrame(rows)


def quintile_rates(cells: pd.DataFrame) -> pd.DataFrame:
    """Per IDACI quintile of LAs and known group (and all known groups): LAs, children 0-17 (the sum of published,
    rounded, populations), rate per 10,000 from shown and imputed counts, imputed cells, the rate against White's
    in the same quintile, and the quintile's range of IDACI scores."""
    c = cells.assign(group=cells["major"])
    allg = c.assign(group=TOTAL)
    both = pd.concat([c, allg], ignore_index=True)
    g = both.groupby(["idaci_quintile", "group"], as_index=False).agg(
        las=("new_la_code", "nunique"),
        population=("pop", "sum"),
        count=("count", "sum"),
        imputed_cells=("imputed", "sum"),
        idaci_low=("idaci_score", "min"),
        idaci_high=("idaci_score", "max"),
    )
    g["rate"] = g["count"] / g["population"] * PER
    white = g[g["group"] == REFERENCE].set_index("idaci_quintile")["rate"]
    g["ratio_to_reference"] = g["rate"] / g["idaci_quintile"].map(white)
    order = {k: i for i, k in enumerate([*KNOWN, TOTAL])}
    g = g.sort_values(["idaci_quintile", "group"], key=lambda s: s.map(order) if s.name == "group" else s)
    return g.drop(columns=["count"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# what may leave the pipeline: EES tables


def _verdict(lower: float, upper: float) -> str:
    """Judged on the unrounded limits."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return Z
    return "Above 1" if lower > 1 else "Below 1" if upper < 1 else "Not different from 1"


def _fmt(values, dp: int, missing: str = Z) -> list[str]:
    return list(published_numbers(np.asarray(values, dtype=float), dp, missing))


def _term_label(term: str) -> str:
    if term == REFERENCE:
        return "White (reference group: all White children)"
    return IDACI_TERM if term == "idaci" else f"{major_label(term)} against White"


def disparities_table(ratios: pd.DataFrame, year: int) -> pd.DataFrame:
    """The published table of :func:`rate_ratios`: ratios to 2 dp, intervals ``z`` for the reference group (and
    for the IDACI term where the model has none), the verdicts from unrounded limits."""
    out = pd.DataFrame(
        {
            "time_period": year,
            "method": ratios["method"].to_numpy(),
            "comparison": [_term_label(t) for t in ratios["term"]],
            "ethnicity_major": [ALL_KNOWN if t == "idaci" else major_label(t) for t in ratios["term"]],
        }
    )
    for kind in ("unadjusted", "adjusted"):
        ref = ratios["term"].eq(REFERENCE).to_numpy()
        out[f"rate_ratio_{kind}"] = _fmt(ratios[f"{kind}_ratio"], 2)
        out[f"rate_ratio_{kind}_lower_95"] = _fmt(ratios[f"{kind}_lower"], 2)
        out[f"rate_ratio_{kind}_upper_95"] = _fmt(ratios[f"{kind}_upper"], 2)
        v = [_verdict(lo, hi) for lo, hi in zip(ratios[f"{kind}_lower"], ratios[f"{kind}_upper"])]
        out[f"compared_{kind}"] = np.where(ref, "Reference group", v)
        out[f"overdispersion_{kind}"] = _fmt(ratios[f"{kind}_phi"], 1)
    out["cells_in_model"] = ratios["cells"].astype(int).astype(str).to_numpy()
    out["las_in_model"] = ratios["las"].astype(int).astype(str).to_numpy()
    out["imputed_cells"] = ratios["imputed_cells"].astype(int).astype(str).to_numpy()
    return out


def quintile_table(q: pd.DataFrame, year: int) -> pd.DataFrame:
    """The published table of :func:`quintile_rates`."""
    return pd.DataFrame(
        {
            "time_period": year,
            "idaci_quintile": q["idaci_quintile"].map(QUINTILE_LABELS).to_numpy(),
            "ethnicity_major": q["group"].map(lambda g: ALL_KNOWN if g == TOTAL else major_label(g)).to_numpy(),
            "las_in_quintile": q["las"].astype(int).astype(str).to_numpy(),
            "population": _fmt(q["population"], 0, X),
            "rate_shown_and_imputed": _fmt(q["rate"], 1, X),
            "ratio_to_reference": np.where(q["group"].eq(REFERENCE), Z, _fmt(q["ratio_to_reference"], 2, X)),
            "imputed_cells": q["imputed_cells"].astype(int).astype(str).to_numpy(),
            "idaci_score_lowest": _fmt(q["idaci_low"], 3, X),
            "idaci_score_highest": _fmt(q["idaci_high"], 3, X),
        }
    )


#: The verdicts on each ratio: filters of the EES file (EES indicators hold numbers), one item per row.
_DISPARITY_VERDICTS = {
    "compared_unadjusted": "Compared with 1 (unadjusted, 95%)",
    "compared_adjusted": "Compared with 1 (adjusted for IDACI, 95%)",
}
_DISPARITY_INDICATORS = {
    **{
        f"{col}_{kind}{suffix}": (f"{label} ({kind}){extra}", "", dp)
        for kind in ("unadjusted", "adjusted")
        for col, suffix, label, extra, dp in (
            ("rate_ratio", "", "Rate ratio", "", 2),
            ("rate_ratio", "_lower_95", "Rate ratio", ", lower 95% limit", 2),
            ("rate_ratio", "_upper_95", "Rate ratio", ", upper 95% limit", 2),
        )
    },
    "overdispersion_unadjusted": ("Overdispersion, Pearson X2 / df (unadjusted model)", "", 1),
    "overdispersion_adjusted": ("Overdispersion, Pearson X2 / df (adjusted model)", "", 1),
    "cells_in_model": ("LA by group cells in the model", "", 0),
    "las_in_model": ("LAs in the model", "", 0),
    "imputed_cells": ("Cells whose hidden count is imputed", "", 0),
}

_QUINTILE_INDICATORS = {
    "las_in_quintile": ("LAs", "", 0),
    "population": ("Children aged 0-17 (sum of published figures, each to the nearest 10)", "", 0),
    "rate_shown_and_imputed": ("Rate per 10,000 children (published and imputed counts)", "", 1),
    "ratio_to_reference": ("Rate against White children's in the same quintile", "", 2),
    "imputed_cells": ("Cells whose hidden count is imputed", "", 0),
    "idaci_score_lowest": ("Lowest IDACI 2019 average score of its LAs", "", 3),
    "idaci_score_highest": ("Highest IDACI 2019 average score of its LAs", "", 3),
}


def write_tables(out, ratios: pd.DataFrame, quintiles: pd.DataFrame, year: int) -> list[Path]:
    """``tables/disparities_adjusted_for_deprivation.csv`` and ``tables/rates_by_deprivation_quintile.csv``
    (EES format, England, with ``.meta.csv``)."""
    from rap.domain.ees import with_ees_columns, write_ees

    tables = Path(out) / "tables"
    paths = list(
        write_ees(
            with_ees_columns(disparities_table(ratios, year), year="time_period"),
            tables / "disparities_adjusted_for_deprivation.csv",
            filters={
                "method": "Hidden LA counts",
                "comparison": "Comparison (reference group: White)",
                "ethnicity_major": "Ethnic group (major)",
                **_DISPARITY_VERDICTS,
            },
            indicators=_DISPARITY_INDICATORS,
        )
    )
    paths += write_ees(
        with_ees_columns(quintile_table(quintiles, year), year="time_period"),
        tables / "rates_by_deprivation_quintile.csv",
        filters={"idaci_quintile": "IDACI 2019 quintile of LAs", "ethnicity_major": "Ethnic group (major)"},
        indicators=_QUINTILE_INDICATORS,
    )
    return paths


# --------------------------------------------------------------------------------------------------
# words for the chapter


def _two(x: float) -> str:
    """A ratio to 2 places, half up, with its trailing zero (1.50)."""
    return f"{float(round_places(np.array([x]), 2)[0]):.2f}"


def _ci(r: pd.Series, kind: str) -> str:
    return f"{_two(r[f'{kind}_ratio'])} (95% interval {_two(r[f'{kind}_lower'])} to {_two(r[f'{kind}_upper'])})"


def _where(r: pd.Series, kind: str) -> str:
    v = _verdict(r[f"{kind}_lower"], r[f"{kind}_upper"])
    return {
        "Above 1": "significantly above 1",
        "Below 1": "significantly below 1",
        "Not different from 1": "not significantly different from 1",
    }.get(v, "not estimable")


def adjustment_sentences(ratios: pd.DataFrame) -> list[str]:
    """One sentence per group on how its ratio against White moves once IDACI is allowed for, and one on IDACI
    itself, from the fit with hidden cells imputed; the sensitivity fit is summarised when it changes a verdict."""
    main = ratios[ratios["method"] == IMPUTED].set_index("term")
    alt = ratios[ratios["method"] == SHOWN_ONLY].set_index("term")
    out = []
    for g in [k for k in KNOWN if k != REFERENCE]:
        r = main.loc[g]
        a, b = _where(r, "unadjusted"), _where(r, "adjusted")
        out.append(
            f"{major_label(g)}: the rate ratio against White children is {_ci(r, 'unadjusted')} before and "
            f"{_ci(r, 'adjusted')} once the LA's IDACI score is allowed for: "
            + (f"{b} both ways." if a == b else f"{a} before, {b} after.")
        )
    i = main.loc["idaci"]
    out.append(
        "Across LAs, each 0.1 more on the IDACI score (10 percentage points more of the LA's children in "
        "income-deprived families) goes with a rate of children looked after "
        f"{_ci(i, 'adjusted')} times as high, in every group alike (the model's assumption)."
    )
    changed = [
        major_label(g)
        for g in KNOWN
        if g != REFERENCE and _where(main.loc[g], "adjusted") != _where(alt.loc[g], "adjusted")
    ]
    out.append(
        f"Leaving out the {int(main['imputed_cells'].iloc[0])} hidden cells instead of imputing them "
        + (
            "changes no group's adjusted verdict."
            if not changed
            else f"changes the adjusted verdict for {', '.join(changed)}: read those with care."
        )
    )
    return out


def ratios_display(ratios: pd.DataFrame) -> pd.DataFrame:
    """The chapter's table of rate ratios against White: unadjusted, adjusted, and adjusted without the hidden
    cells (the sensitivity fit); the IDACI term last."""
    main = ratios[ratios["method"] == IMPUTED].set_index("term")
    alt = ratios[ratios["method"] == SHOWN_ONLY].set_index("term")
    terms = [g for g in KNOWN if g != REFERENCE] + ["idaci"]

    def ci(r: pd.Series, kind: str) -> str:
        return "not in this model" if not np.isfinite(r[f"{kind}_lower"]) else _ci(r, kind).replace("95% interval ", "")

    return pd.DataFrame(
        {
            "Compared with White": [IDACI_TERM if t == "idaci" else major_label(t) for t in terms],
            "Unadjusted (95% interval)": [ci(main.loc[t], "unadjusted") for t in terms],
            "Adjusted for IDACI (95% interval)": [ci(main.loc[t], "adjusted") for t in terms],
            "Adjusted, hidden cells left out": [ci(alt.loc[t], "adjusted") for t in terms],
        }
    )


def quintile_display(q: pd.DataFrame) -> pd.DataFrame:
    """The chapter's table of rates per 10,000 by IDACI quintile of LAs (rows) and group (columns)."""
    t = q.assign(
        quintile=q["idaci_quintile"].map(QUINTILE_LABELS),
        label=q["group"].map(lambda g: ALL_KNOWN if g == TOTAL else major_label(g)),
        shown=_fmt(q["rate"], 1, X),
    )
    wide = t.pivot(index="quintile", columns="label", values="shown")
    cols = [major_label(g) for g in KNOWN] + [ALL_KNOWN]
    out = wide[cols].reset_index().rename(columns={"quintile": "IDACI quintile of LAs"})
    out.insert(1, "LAs", q.groupby("idaci_quintile")["las"].max().astype(int).to_numpy())
    return out


def method_notes(cells: pd.DataFrame, dropped: list[str]) -> list[str]:
    """How the figures were made, with this run's counts of cells, LAs and imputed cells."""
    n_imp = int(cells["imputed"].sum())
    left_out = (
        f"LAs whose all-children count is hidden cannot be filled and are left out: {', '.join(dropped)}."
        if dropped
        else "No LA's all-children count is hidden, so no LA is left out for that reason."
    )
    return [
        f"Model: {len(cells)} LA by major group cells from {cells['new_la_code'].nunique()} LAs; counts of children "
        "looked after on 31 March with log(children aged 0-17) as offset; quasi-Poisson (a Poisson GLM with every "
        "standard error widened by the square root of Pearson X2 / residual df), White (all White children) the "
        "reference group: LA figures exist for the major groups only, so White British cannot be. Adjusted: plus the "
        "LA's IDACI 2019 average score (per 0.1). Intervals and verdicts from unrounded estimates.",
        f"Every figure comes from the published LA table. {n_imp} hidden cells (c) are imputed: the LA's published "
        "all-children count minus its shown counts, shared among its hidden cells in proportion to England's "
        "published rate for each group times the LA's children in it. " + left_out,
        "IDACI: MHCLG, English Indices of Deprivation 2019, File 11 (upper-tier LA summaries). North and West "
        "Northamptonshire take Northamptonshire's score, Cumberland and Westmorland and Furness Cumbria's; "
        "Buckinghamshire, North Yorkshire and Somerset the score of the same area in 2019. Quintiles: LAs ranked by "
        "score, five groups of equal numbers of LAs, 1 the most deprived.",
    ]


def limits_sentences() -> list[str]:
    """What an area-level adjustment can and cannot show: the same every year, so words, not findings."""
    return [
        "This is an area-level (ecological) comparison. It asks whether a group's higher or lower rate is explained "
        "by the group living in more or less deprived LAs. It cannot say whether children of a group whose families "
        "are in the same circumstances are more or less often looked after: deprivation differs within every LA, and "
        "between ethnic groups within the same LA, and no child's or family's circumstances are in these data.",
        "IDACI describes each LA in 2019 (from 2015-16 income data) as one figure for the whole LA; it measures income "
        "deprivation only, and some LAs have changed since. A ratio that falls once IDACI is allowed for shows that "
        "part of the disparity goes with where children live; a ratio that stays away from 1 is not shown to be "
        "unrelated to deprivation, since deprivation within LAs is not allowed for. The model assumes deprivation "
        "goes with the same proportional change in every group's rate; the rates within quintiles below let a reader "
        "see where that does not hold.",
    ]
