"""The measures layer: DfE children-looked-after measures by ethnicity, in one tidy shape.

Every measure function is ``f(data: RecordData, years: list[int]) -> pd.DataFrame`` with the columns of
:data:`rap.measures.common.TIDY_COLUMNS`::

    measure, time_period, geographic_level, region_code, region_name, old_la_code, new_la_code, la_name,
    ethnicity_major, ethnicity_minor, breakdown, number, denominator, points_total, pupils

Counts are unsuppressed integers (``Int64``); ``denominator`` is NA where no percentage makes sense;
``points_total``/``pupils`` are filled only for KS4 Attainment 8. The catalogue of measures (ids,
definitions citing DfE, populations, tables needed, first year) is ``rap/data/measures.yaml``
(:func:`catalogue`). ``published.from_published`` gives the same shape from DfE's EES release.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from rap.measures.care_leavers import care_leavers
from rap.measures.cla import ceased, cla_during_year, cla_on_31_march, started
from rap.measures.common import TIDY_COLUMNS, group_order
from rap.measures.missing import missing
from rap.measures.outcomes import outcomes
from rap.measures.placements import placed_over_20_miles, placement_type
from rap.measures.published import from_published
from rap.measures.social_workers import social_workers_3plus
from rap.measures.stability import long_term_stability, placement_stability, school_stability
from rap.measures.uasc import uasc_on_31_march, uasc_started

#: Measure functions in report order. Some return several measure ids (see measures.yaml ``function``).
FUNCTIONS: dict[str, Callable] = {
    "cla_on_31_march": cla_on_31_march,
    "cla_during_year": cla_during_year,
    "started": started,
    "ceased": ceased,
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
def catalogue() -> dict:
    """``rap/data/measures.yaml`` as a dict: {measure id: {title, definition, function, ...}}."""
    with resources.files("rap.data").joinpath("measures.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["measures"]


def compute_all(data, years: list[int]) -> pd.DataFrame:
    """Every measure for ``years``, stacked in one tidy frame."""
    return compute(data, years)


#: Computed measures kept for re-use (one folder per inputs + measures code), newest first.
MEASURE_CACHE_KEEP = 2


def _measures_code_hash() -> str:
    from rap.core.codehash import code_hash

    return code_hash("rap.measures")


def _cache_dir(data, years: list[int]) -> Path | None:
    if getattr(data, "cache_key", None) is None or getattr(data, "cache_root", None) is None:
        return None
    from rap.core.hashing import sha256_json

    key = sha256_json({"inputs": data.cache_key, "years": list(years), "code": _measures_code_hash()})
    return Path(data.cache_root) / "measures" / key


def compute(data, years: list[int], functions: list[str] | None = None) -> pd.DataFrame:
    """The measures of ``functions`` (default: all, in report order) for ``years``, stacked.

    When ``data`` came from the inputs cache, each function's result is kept in ``.cache/measures/<key>/``
    (key: validated inputs, years, measures code), so sections running in parallel share the work: a
    function another process is computing (its lock is held) is skipped and collected at the end, by which
    time it is usually done. Without a cache the functions simply run.
    """
    from rap.core.cache import keep_newest, shared_pickles

    names = list(FUNCTIONS) if functions is None else list(functions)
    folder = _cache_dir(data, years)
    if folder is None:
        return pd.concat([FUNCTIONS[n](data, years) for n in names], ignore_index=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
    except OSError:
        return pd.concat([FUNCTIONS[n](data, years) for n in names], ignore_index=True)
    results = shared_pickles(folder, names, lambda n: FUNCTIONS[n](data, years))
    keep_newest(folder.parent, MEASURE_CACHE_KEEP, protect={folder.name})
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
    "ceased",
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
