"""England's local authorities as the package knows them (codes, names, regions): one table, read once."""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


@cache
def local_authorities() -> pd.DataFrame:
    """The 153 LAs of ``rap/data/local_authorities.csv``, indexed by ``old_la_code`` (DfE's 3-digit code)."""
    with resources.files("rap.data").joinpath("local_authorities.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False).set_index("old_la_code")
