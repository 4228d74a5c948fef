"""Social worker stability of children looked after (DfE; the dashboard's "% of children in care with 3 or more
social workers in the past 12 months").

``social_workers_3plus``: children looked after on 31 March ``Y`` (as ``cla_on_31_march``) with 3 or more
different social workers in the 12 months to 31 March ``Y``: distinct SW_ID (spaces trimmed, case ignored) over
the SWEpisodes rows of that year's return that overlap the collection year (SW_DECOM on or before 31 March
``Y``, SW_DEC blank or on or after 1 April ``Y-1``). ``denominator`` children looked after on 31 March; a child
with no social worker episode counts as fewer than 3. DfE publishes the same breakdown label ("3 or more social
workers during the year", EES ``la_cla_swcount``).

SWEpisodes is collected from 2023/24 (``from_year`` in ``rap/data/ssda903/spec.yaml``). Years before it, and
years whose returns hold no SWEpisodes rows at all, give no rows (not zeros: the data do not exist). Within a
year, an LA that sent no SWEpisodes rows has not supplied the table (every looked-after child has a social
worker), so its children are left out of numerator and denominator: its rows show 0 of 0, not 0%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.domain.ssda903 import record_key, spec
from rap.measures.common import Spec, cla_on_31_march_children, empty_tidy, finish, merge_on_child, year_bounds

KEY = record_key()
THREE_PLUS = "3 or more social workers during the year"
SPEC = Spec("social_workers_3plus", [THREE_PLUS], denominator=(THREE_PLUS,))


def first_year() -> int:
    """First collection year with an SWEpisodes table (spec.yaml)."""
    return int(spec()["tables"]["SWEpisodes"].get("from_year", 0))


def social_workers_3plus(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March with 3 or more social workers in the year (see module docstring)."""
    sw = data.ssda903.tables.get("SWEpisodes")
    if sw is None:
        return empty_tidy()
    sw = sw.loc[sw["YEAR"].isin([y for y in years if y >= first_year()])]
    yrs = sorted(int(y) for y in sw["YEAR"].unique())
    if not yrs:
        return empty_tidy()
    start, end = year_bounds(sw["YEAR"])
    d0 = sw["SW_DECOM"].to_numpy(dtype="datetime64[ns]")
    d1 = sw["SW_DEC"].to_numpy(dtype="datetime64[ns]")
    ov = sw.loc[(d0 <= end) & (np.isnat(d1) | (d1 >= start)), KEY + ["SW_ID"]]
    codes, uniques = pd.factorize(ov["SW_ID"], use_na_sentinel=True)
    ids = pd.Series(uniques, dtype="object").astype(str).str.strip().str.upper()
    ov = ov.assign(SW_ID=np.append(ids.to_numpy(dtype=object), "")[codes])
    ov = ov.loc[ov["SW_ID"] != ""].drop_duplicates()
    n = ov.groupby(KEY, sort=False).size().rename("workers").reset_index()
    pop = cla_on_31_march_children(data, yrs)
    pop = pop.merge(sw[["YEAR", "LA"]].drop_duplicates(), on=["YEAR", "LA"], how="inner")  # LAs that sent it
    u = merge_on_child(pop, n, list(KEY), "left")
    workers = u["workers"].fillna(0).to_numpy(dtype="int64")
    units = u[KEY].assign(breakdown=THREE_PLUS, number=(workers >= 3).astype("int64"), denominator=1)
    return finish(units, SPEC, data, yrs)
