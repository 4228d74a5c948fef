"""The measures layer: DfE children-looked-after measures by ethnicity, in one tidy shape.

Every measure function is ``f(data: RecordData, years: list[int]) -> pd.DataFrame`` with the columns of
:data:`rap.measures.common.TIDY_COLUMNS`::

    measure, time_period, geographic_level, region_code, region_name, old_la_code, new_la_code, la_name,
    ethnicity_major, ethnicity_minor, breakdown, number, denominator, points_total, pupils

Counts are unsuppressed integers (``Int64``); ``denominator`` is NA where no percentage makes sense;
``points_total``/``pupils`` are filled only for KS4 Attainment 8. The catalogue of measures (ids,
definitions citing DfE, populations, tables needed, first year) is ``rap/data/measures.yaml``
(:func:`catalogue`). ``published.from_published`` gives the same shape from DfE's EES release.

This module holds the catalogue and the registry of measure functions (:data:`FUNCTIONS`); computed results
are kept for re-use by :mod:`rap.measures.store`. The measures import only ``rap.core`` and ``rap.domain``:
they receive the validated inputs (``rap.inputs.load.RecordData``) and never read files themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources

import pandas as pd
import yaml

from rap.measures.adoption import average_measures, placement_order_not_placed, reentered_within_12_months
from rap.measures.care_leavers import care_leavers
from rap.measures.cla import ceased, cla_during_year, cla_on_31_march, started
from rap.measures.common import TIDY_COLUMNS, group_order
from rap.measures.entry import legal_status, started_by_age, started_by_need
from rap.measures.leaving_care import adopted, ceased_by_reason
from rap.measures.missing import missing
from rap.measures.outcomes import outcomes
from rap.measures.placements import placed_over_20_miles, placement_type
from rap.measures.published import from_published
from rap.measures.social_workers import social_workers_3plus
from rap.measures.stability import long_term_stability, placement_stability, school_stability
from rap.measures.store import stored_results
from rap.measures.uasc import uasc_on_31_march, uasc_started

#: Measure functions in report order. Some return several measure ids (see measures.yaml ``function``).
FUNCTIONS: dict[str, Callable] = {
    "cla_on_31_march": cla_on_31_march,
    "cla_during_year": cla_during_year,
    "started": started,
    "started_by_age": started_by_age,
    "started_by_need": started_by_need,
    "legal_status": legal_status,
    "ceased": ceased,
    "ceased_by_reason": ceased_by_reason,
    "adopted": adopted,
    "placement_order_not_placed": placement_order_not_placed,
    "reentered_within_12_months": reentered_within_12_months,
    "uasc_on_31_march": uasc_on_31_march,
    "uasc_started": uasc_started,
    "missing": missing,
    "placement_stability": placement_stability,
    "long_term_stability": long_term_stability,
    "school_stability": school_stability,
    "placement_type": placement_type,
    "placed_over_20_miles": placed_over_20_miles,
    "social_workers_3plus": social_workers_3plus,
    "care_leavers": care_leavers,
    "outcomes": outcomes,
}


@cache
def _catalogue_file() -> dict:
    with resources.files("rap.data").joinpath("measures.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def catalogue() -> dict:
    """``rap/data/measures.yaml`` as a dict: {measure id: {title, definition, function, ...}}."""
    return _catalogue_file()["measures"]


def average_catalogue() -> dict:
    """The average measures of ``measures.yaml`` (``averages``: their own shape, not counts; computed by
    :func:`rap.measures.adoption.average_measures`)."""
    return _catalogue_file()["averages"]


def compute_all(data, years: list[int]) -> pd.DataFrame:
    """Every measure for ``years``, stacked in one tidy frame."""
    return compute(data, years)


def compute(data, years: list[int], functions: list[str] | None = None) -> pd.DataFrame:
    """The measures of ``functions`` (default: all, in report order) for ``years``, stacked.

    When ``data`` came from the inputs cache, each function's result is kept for re-use by the other sections
    (:mod:`rap.measures.store`); without a cache the functions simply run.
    """
    names = list(FUNCTIONS) if functions is None else list(functions)
    results = stored_results(data, years, names, lambda n: FUNCTIONS[n](data, years))
    return pd.concat([results[n] for n in names], ignore_index=True)


__all__ = [
    "TIDY_COLUMNS",
    "FUNCTIONS",
    "catalogue",
    "compute",
    "compute_all",
    "group_order",
    "from_published",
    "cla_on_31_march",
    "cla_during_year",
    "started",
    "started_by_age",
    "started_by_need",
    "legal_status",
    "ceased",
    "ceased_by_reason",
    "adopted",
    "average_catalogue",
    "average_measures",
    "placement_order_not_placed",
    "reentered_within_12_months",
    "missing",
    "placement_stability",
    "long_term_stability",
    "school_stability",
    "care_leavers",
    "outcomes",
    "uasc_on_31_march",
    "uasc_started",
    "placement_type",
    "placed_over_20_miles",
    "social_workers_3plus",
]
