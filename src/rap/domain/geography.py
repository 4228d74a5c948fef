"""England's local authorities as the package knows them (codes, names, regions), and the postcode coordinates
the distance measures use: small tables, read once."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd


@cache
def local_authorities() -> pd.DataFrame:
    """The 153 LAs of ``rap/data/local_authorities.csv``, indexed by ``old_la_code`` (DfE's 3-digit code)."""
    with resources.files("rap.data").joinpath("local_authorities.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False).set_index("old_la_code")


@cache
def la_codes() -> frozenset[str]:
    """The old_la_code of every LA in ``rap/data/local_authorities.csv``: what an LA folder or column may hold."""
    return frozenset(local_authorities().index)


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Postcodes as one key: upper case, every space removed (``"ts22 5bf"`` and ``"TS225BF"`` both give
    ``"TS225BF"``); missing becomes ``""``. Works on the distinct values only, so it is cheap on long columns."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    norm = pd.Series(uniques, dtype="object").astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    norm = np.append(norm.to_numpy(dtype=object), "")  # the last slot answers missing values (code -1)
    out = norm[codes]
    return pd.Series(out, index=values.index, dtype="object")


@cache
def postcode_coordinates() -> pd.DataFrame:
    """OS grid coordinates (metres) of the postcodes the package knows, indexed by normalised postcode
    (:func:`normalise_postcodes`): ``easting``, ``northing``.

    The lookup is the committed extract of the ONS Postcode Directory the synthetic returns draw their
    postcodes from (``rap/synth/postcodes.csv``: 40 real postcodes per LA; OGL v3, see ``rap.synth.postcodes``).
    It covers the synthetic data only: real returns need the full ONS Postcode Directory in its place (the same
    source DfE derives PL_DISTANCE from); postcodes outside the lookup are reported as not known, never guessed.
    """
    with resources.files("rap").joinpath("synth/postcodes.csv").open("r", encoding="utf-8") as fh:
        pc = pd.read_csv(fh, dtype={"la": str, "postcode": str, "easting": "int64", "northing": "int64"})
    pc.index = pd.Index(normalise_postcodes(pc["postcode"]), name="postcode")
    pc = pc[~pc.index.duplicated(keep="first")]
    return pc[["easting", "northing"]]
