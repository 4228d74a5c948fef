"""Unaccompanied asylum-seeking children (UASC) among children looked after (DfE; the dashboard's UASC rates).

A return's UASC table lists the children who were UASC at some time in the year, with DUC, the date UASC status
ceased (blank while it goes on; the synthetic returns give the 18th birthday, as DfE's rules expect). A child
*is UASC on a date* when the same return (year and LA) has a UASC row for them whose DUC is blank or after that
date; several rows for a child count once.

* ``uasc_on_31_march``: children looked after on 31 March ``Y`` (as ``cla_on_31_march``) who were UASC on
  31 March ``Y``. ``number`` only.
* ``uasc_started``: children who started to be looked after in the year (as ``started``: RNE = S, DECOM in the
  year, counted once) who were UASC on the date they started; a child who started twice is judged at their
  first start in the year, the occasion DfE counts. ``number`` only.

Both are counts of children, so ``rap.sections.breakdowns`` gives them rates per 10,000 children (RATE_MEASURES), as
the dashboard does; UASC are not part of the resident child population, so those rates describe how many UASC
an area looks after, not a risk among its children.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.measures.common import (
    KEY,
    Spec,
    children,
    cla_on_31_march_children,
    episodes,
    finish,
    in_year,
    merge_on_child,
    year_bounds,
)

TOTAL = "Total"


def _uasc_rows(data, years: list[int]) -> pd.DataFrame:
    u = data.ssda903["UASC"]
    return u.loc[u["YEAR"].isin(years), KEY + ["DUC"]]


def uasc_on_31_march(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March who were UASC on that date (see module docstring)."""
    u = _uasc_rows(data, years)
    _, end = year_bounds(u["YEAR"])
    duc = u["DUC"].to_numpy(dtype="datetime64[ns]")
    u = children(u.loc[np.isnat(duc) | (duc > end)])
    units = merge_on_child(cla_on_31_march_children(data, years), u, list(KEY), "inner")
    return finish(units.assign(breakdown=TOTAL, number=1), Spec("uasc_on_31_march", [TOTAL]), data, years)


def uasc_started(data, years: list[int]) -> pd.DataFrame:
    """Children who started to be looked after in the year and were UASC when they first started in it."""
    ep = episodes(data, years)
    sel = ep["RNE"].eq("S").to_numpy(dtype=bool) & in_year(ep["DECOM"], ep["YEAR"])
    st = ep.loc[sel, KEY + ["DECOM"]].sort_values("DECOM", kind="stable")
    st = st.loc[~st.duplicated(KEY, keep="first")]  # the first start of the year
    m = merge_on_child(st, _uasc_rows(data, years), list(KEY), "inner")
    duc = m["DUC"].to_numpy(dtype="datetime64[ns]")
    ok = np.isnat(duc) | (duc > m["DECOM"].to_numpy(dtype="datetime64[ns]"))
    units = children(m.loc[ok])
    return finish(units.assign(breakdown=TOTAL, number=1), Spec("uasc_started", [TOTAL]), data, years)
