"""Children who went missing or were away from placement without authorisation (DfE definitions).

DfE ("Children looked after in England", missing and away from placement; DfE's SSDA903 guidance):
among children looked after during the year, the children with at least one missing incident (SSDA903
Missing table, MISSING = M) starting in the year, the number of such incidents, and the children with at least
one period away from placement without authorisation (MISSING = A). An incident counts in the year its
MIS_START falls in (1 April ``Y-1`` to 31 March ``Y``), from that year's return.

Rows (``breakdown``):

* ``Children who went missing``: ``number`` children with >= 1 M incident, ``denominator`` children looked
  after during the year (so a percentage can be formed);
* ``Incidents``: ``number`` of M incidents; ``denominator`` NA (incidents are not a share of anything);
* ``Away without authorisation``: ``number`` children with >= 1 A incident, ``denominator`` as above.

Incidents of children who were not looked after during the year in that return (e.g. only in a short-break
episode, V3/V4, which DfE excludes) are left out, so numerators are always within their denominators.
"""

from __future__ import annotations

import pandas as pd

from rap.measures.common import KEY, Spec, children, episodes, finish, in_year, merge_on_child, overlaps_year

WENT_MISSING = "Children who went missing"
INCIDENTS = "Incidents"
AWAY = "Away without authorisation"
SPEC = Spec("missing", [WENT_MISSING, INCIDENTS, AWAY], denominator=(WENT_MISSING, AWAY))


def missing(data, years: list[int]) -> pd.DataFrame:
    """Missing and away from placement, by ethnicity (see module docstring for the three breakdowns)."""
    ep = episodes(data, years)
    pop = children(ep.loc[overlaps_year(ep)])
    m = data.ssda903["Missing"]
    m = m.loc[m["YEAR"].isin(years)]
    m = m.loc[in_year(m["MIS_START"], m["YEAR"]), KEY + ["MISSING"]]
    per_child = (
        m.assign(M=m["MISSING"].eq("M").astype("int64"), A=m["MISSING"].eq("A").astype("int64"))
        .groupby(KEY, sort=False)[["M", "A"]]
        .sum()
        .reset_index()
    )
    u = merge_on_child(pop, per_child, list(KEY), "left")
    inc = u["M"].fillna(0).to_numpy(dtype="int64")
    away = u["A"].fillna(0).to_numpy(dtype="int64")
    base = u[KEY]
    units = pd.concat(
        [
            base.assign(breakdown=WENT_MISSING, number=(inc > 0).astype("int64"), denominator=1),
            base.assign(breakdown=INCIDENTS, number=inc, denominator=0),
            base.assign(breakdown=AWAY, number=(away > 0).astype("int64"), denominator=1),
        ],
        ignore_index=True,
    )
    return finish(units, SPEC, data, years)
