"""Children looked after: on 31 March, during the year, started and ceased (DfE definitions).

Definitions follow the methodology of DfE's "Children looked after in England including adoptions" and
DfE's SSDA903 guidance for the fields. Collection year ``Y`` runs
1 April ``Y-1`` to 31 March ``Y``; each year's figures come from that year's SSDA903 return only. Episodes
under an agreed series of short-term breaks (legal status V3, V4) are excluded, as in DfE's statistics.
All four count *children*: a child with several qualifying episodes in a return is counted once.
"""

from __future__ import annotations

import pandas as pd

from rap.measures.common import Spec, children, episodes, finish, in_year, open_on_31_march, overlaps_year

TOTAL = "Total"


def _units(frame: pd.DataFrame) -> pd.DataFrame:
    u = children(frame)
    return u.assign(breakdown=TOTAL, number=1)


def cla_on_31_march(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March (DfE): children with an episode open on 31 March ``Y`` — DECOM on or
    before 31 March and DEC blank or later (an episode that ended on 31 March does not count). Counted once
    however many open episodes a return has for them. ``number`` only; ``denominator`` NA."""
    ep = episodes(data, years)
    return finish(_units(ep.loc[open_on_31_march(ep)]), Spec("cla_on_31_march", [TOTAL]), data, years)


def cla_during_year(data, years: list[int]) -> pd.DataFrame:
    """Children looked after at any time during the year (DfE): an episode overlapping 1 April ``Y-1`` to
    31 March ``Y``. ``number`` only."""
    ep = episodes(data, years)
    return finish(_units(ep.loc[overlaps_year(ep)]), Spec("cla_during_year", [TOTAL]), data, years)


def started(data, years: list[int]) -> pd.DataFrame:
    """Children who started to be looked after during the year (DfE): an episode with RNE = S (started to
    be looked after) and DECOM in the year. DfE counts only the first occasion in the year, so a child who
    started twice counts once (``number`` = children = first periods of care started in the year)."""
    ep = episodes(data, years)
    sel = ep["RNE"].eq("S").to_numpy(dtype=bool) & in_year(ep["DECOM"], ep["YEAR"])
    return finish(_units(ep.loc[sel]), Spec("started", [TOTAL]), data, years)


def ceased(data, years: list[int]) -> pd.DataFrame:
    """Children who ceased to be looked after during the year (DfE): an episode with DEC in the year and a
    reason episode ceased that ends the period of care (any REC but X1, which ends an episode only). DfE
    counts only the last occasion in the year, so a child who ceased twice counts once."""
    ep = episodes(data, years)
    rec = ep["REC"].fillna("").str.strip()
    sel = in_year(ep["DEC"], ep["YEAR"]) & rec.ne("").to_numpy(dtype=bool) & rec.ne("X1").to_numpy(dtype=bool)
    return finish(_units(ep.loc[sel]), Spec("ceased", [TOTAL]), data, years)
