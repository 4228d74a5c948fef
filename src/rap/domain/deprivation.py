"""Area deprivation of each local authority (LA): the Income Deprivation Affecting Children Index (IDACI) of the
English Indices of Deprivation 2019 (MHCLG, File 11, upper-tier summaries; ``rap/data/deprivation/SOURCE.md``).

File 11 is on 2019 boundaries; LAs made since take the score of the 2019 LA they came from
(``idaci_2019_to_current_la.csv``): an exact match for Buckinghamshire, North Yorkshire and Somerset, the
predecessor's score for the parts of Northamptonshire and Cumbria.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from rap.domain.geography import local_authorities

#: File 11's columns (stripped of their trailing spaces) -> this package's names.
_COLUMNS = {
    "Upper Tier Local Authority District code (2019)": "iod2019_code",
    "Upper Tier Local Authority District name (2019)": "iod2019_name",
    "IDACI - Average score": "idaci_score",
    "IDACI - Rank of average score": "idaci_rank",
}


def _read(name: str, **kw) -> pd.DataFrame:
    with resources.files("rap.data").joinpath("deprivation", name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, **kw)


@cache
def idaci_2019() -> pd.DataFrame:
    """File 11's IDACI average score and its rank (1 = most deprived) for the 151 upper-tier LAs of 2019."""
    f = _read("idaci_2019_upper_tier.csv")
    f.columns = [" ".join(str(c).split()) for c in f.columns]
    return f[list(_COLUMNS)].rename(columns=_COLUMNS)


@cache
def la_idaci() -> pd.DataFrame:
    """Every LA of ``local_authorities.csv`` with the IDACI 2019 score it is given (``iod2019_code``: the 2019 LA it
    comes from; ``how``: why, where that is not its own code). An LA the map cannot place has a missing score."""
    las = local_authorities().reset_index()[["new_la_code", "old_la_code", "la_name", "region_code"]]
    mapped = _read("idaci_2019_to_current_la.csv", dtype=str).set_index("new_la_code")
    las["iod2019_code"] = las["new_la_code"].map(mapped["iod2019_code"]).fillna(las["new_la_code"])
    las["how"] = las["new_la_code"].map(mapped["how"]).fillna("its own 2019 figure")
    return las.merge(idaci_2019(), on="iod2019_code", how="left")
