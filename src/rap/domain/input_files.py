"""The names of the input files found by name (``rap/data/input_files.yaml``), so that a file name is written
once: the readers' callers, the synthetic generator and the sections ask here instead of spelling it out."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def _names() -> dict[str, str]:
    with resources.files("rap.data").joinpath("input_files.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def input_file(key: str) -> str:
    """The file name (or path inside its folder) of input ``key``, e.g. ``ons_mid_year_estimates`` ->
    ``ons_mid-year_population_estimates_2012_to_2024.csv``."""
    names = _names()
    if key not in names:
        raise KeyError(f"{key!r} is not an input in rap/data/input_files.yaml (known: {sorted(names)})")
    return names[key]
