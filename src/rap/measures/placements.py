"""Where children looked after on 31 March live: placement type and distance from home (DfE; the Children's
Social Care Dashboard's "% in foster care / children's homes or secure homes / independent or semi-independent
living" and "% placed more than 20 miles from home").

Both use the child's *placement on 31 March*: the episode open on 31 March ``Y`` (as in ``cla_on_31_march``;
short breaks V3/V4 excluded). A child with two open episodes in a return (a data error) counts once, with the
open episode that started last (latest DECOM; on a tie, the later row of the return).

* ``placement_type``: one breakdown per DfE placement category, ``number`` children in it, ``denominator``
  all children looked after on 31 March, so the breakdowns add up to the denominator. PLACE codes map to
  categories through ``rap/data/ssda903/placement_types.csv`` (DfE's grouping of the 2024 release, which
  revised the whole series to it); a code missing from that file is counted under "Placement type not known"
  rather than guessed.
* ``placed_over_20_miles``: straight-line distance between HOME_POST and PL_POST of that episode from the
  postcodes' OS grid coordinates, more than 20 miles (32,186.88 m). ``denominator`` children whose two
  postcodes are both found; the others (a postcode blank or not in the lookup; UASC have no home postcode)
  are counted under "Distance not known" (``number`` only), so no child silently drops out. The lookup is
  :func:`rap.domain.geography.postcode_coordinates`, the committed ONS Postcode Directory extract the synthetic
  data draw from: real returns need the full ONS Postcode Directory in its place (DfE derives PL_DISTANCE
  the same way, from the ONS directory).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from rap.domain.geography import normalise_postcodes, postcode_coordinates
from rap.measures.common import (
    KEY,
    KEY_COLUMNS,
    SHORT_BREAK_LS,
    Spec,
    _keyed,
    attach_ethnicity,
    child_ethnicity,
    finish,
    group_order,
    open_on_31_march,
    returns_by_year,
    tabulate,
)

TOTAL = "Total"
TYPE_NOT_KNOWN = "Placement type not known"
OVER_20_MILES = "More than 20 miles from home"
DISTANCE_NOT_KNOWN = "Distance not known"
#: 20 miles in metres (1 mile = 1,609.344 m exactly), the unit of OS grid coordinates.
TWENTY_MILES_M = 20 * 1609.344


@cache
def placement_types() -> pd.DataFrame:
    """``rap/data/ssda903/placement_types.csv``: ``code``, ``category``, ``label``, ``dfe_row`` (comment lines
    at its top give the source). Codes are unique."""
    with resources.files("rap.data.ssda903").joinpath("placement_types.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False, comment="#")
    dup = df.loc[df["code"].duplicated(), "code"].tolist()
    if dup:
        raise ValueError(f"placement_types.csv lists these codes twice: {dup}")
    return df


def placement_categories() -> list[str]:
    """The breakdowns of ``placement_type`` in publication order: the file's categories, then not known."""
    return list(dict.fromkeys(placement_types()["category"])) + [TYPE_NOT_KNOWN]


def categorise(place: pd.Series) -> pd.Series:
    """Placement category of each PLACE code (case and surrounding spaces ignored); codes not in the file,
    and blanks, give :data:`TYPE_NOT_KNOWN`. Maps the distinct codes only."""
    codes, uniques = pd.factorize(place, use_na_sentinel=True)
    lookup = placement_types().set_index("code")["category"]
    keys = pd.Series(uniques, dtype="object").astype(str).str.strip().str.upper()
    cat = np.append(lookup.reindex(keys).fillna(TYPE_NOT_KNOWN).to_numpy(dtype=object), TYPE_NOT_KNOWN)
    return pd.Series(cat[codes], index=place.index, dtype="object")  # code -1 (missing) takes the last slot


def open_placements(data, years: list[int], columns: list[str]) -> pd.DataFrame:
    """One row per child looked after on 31 March of each year: KEY, ``_k`` (the hash ``attach_ethnicity``
    joins on, so it is computed once) and ``columns`` of their open episode (the one that started last when a
    return has two open episodes for the child)."""
    ep = data.ssda903["Episodes"]
    sel = ep["YEAR"].isin(years).to_numpy(dtype=bool) & ~ep["LS"].isin(SHORT_BREAK_LS).to_numpy(dtype=bool)
    sel &= open_on_31_march(ep)
    ep = _keyed(ep.loc[sel, KEY + ["DECOM"] + columns]).sort_values("DECOM", kind="stable")
    ep = ep.loc[~ep.duplicated(["YEAR", "_k"], keep="last")]  # on the (LA, CHILD) hash: integers, fast
    return ep[KEY + ["_k"] + columns].reset_index(drop=True)


def _share_denominator(num: pd.DataFrame, den: pd.DataFrame, n_breakdowns: int) -> pd.DataFrame:
    """Give every breakdown row of ``num`` the ``number`` of the matching single-breakdown row of ``den``
    (same year, area and group). Both come from ``tabulate`` over the same LAs and years, which writes each
    area's rows as breakdowns x groups, so ``den`` repeats over the breakdowns; the keys are checked.
    Cheaper than tabulating the denominator once per breakdown."""
    out = num.copy()
    if not len(num):
        return out
    n_g = len(group_order())
    n_geo = len(den) // n_g
    if len(den) != n_geo * n_g or len(num) != n_geo * n_breakdowns * n_g:
        raise ValueError("denominator and numerator tables do not line up")
    idx = np.broadcast_to(np.arange(len(den)).reshape(n_geo, 1, n_g), (n_geo, n_breakdowns, n_g)).ravel()
    keys = [c for c in KEY_COLUMNS if c not in ("measure", "breakdown")]
    for c in keys:
        if not np.array_equal(num[c].to_numpy(), den[c].to_numpy()[idx]):
            raise ValueError(f"denominator and numerator tables do not line up on {c}")
    out["denominator"] = pd.array(den["number"].to_numpy()[idx], dtype="Int64")
    return out


def placement_type(data, years: list[int]) -> pd.DataFrame:
    """Children looked after on 31 March by DfE placement category (see module docstring)."""
    op = open_placements(data, years, ["PLACE"])
    cats = placement_categories()
    units = attach_ethnicity(
        op[KEY + ["_k"]].assign(breakdown=categorise(op["PLACE"]).to_numpy(), number=1), child_ethnicity(data)
    )
    las = returns_by_year(data, years)  # what finish does, once for both tables
    num = tabulate(units, Spec("placement_type", cats, denominator=tuple(cats)), las)
    den = tabulate(units.assign(breakdown=TOTAL), Spec("placement_type", [TOTAL]), las)
    return _share_denominator(num, den, len(cats))


def distances(home: pd.Series, placement: pd.Series, lookup: pd.DataFrame | None = None) -> np.ndarray:
    """Straight-line distance in metres between two postcode columns (NaN where either is blank or not in
    ``lookup``, by default :func:`rap.domain.geography.postcode_coordinates`)."""
    xy = postcode_coordinates() if lookup is None else lookup
    h = xy.index.get_indexer(normalise_postcodes(home))
    p = xy.index.get_indexer(normalise_postcodes(placement))
    e = xy["easting"].to_numpy(dtype="float64")
    n = xy["northing"].to_numpy(dtype="float64")
    known = (h >= 0) & (p >= 0)
    hh, pp = np.where(known, h, 0), np.where(known, p, 0)
    d = np.hypot(e[hh] - e[pp], n[hh] - n[pp]) if len(xy) else np.zeros(len(h))
    return np.where(known, d, np.nan)


def placed_over_20_miles(data, years: list[int], lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Children looked after on 31 March placed more than 20 miles from home, and those whose distance is not
    known (see module docstring). ``lookup``: postcode coordinates indexed by normalised postcode (tests)."""
    op = open_placements(data, years, ["HOME_POST", "PL_POST"])
    d = distances(op["HOME_POST"], op["PL_POST"], lookup)
    known = ~np.isnan(d)
    over = known & (np.nan_to_num(d, nan=0.0) > TWENTY_MILES_M)
    units = pd.concat(
        [
            op.loc[known, KEY + ["_k"]].assign(
                breakdown=OVER_20_MILES, number=over[known].astype("int64"), denominator=1
            ),
            op.loc[~known, KEY + ["_k"]].assign(breakdown=DISTANCE_NOT_KNOWN, number=1, denominator=0),
        ],
        ignore_index=True,
    )
    spec = Spec("placed_over_20_miles", [OVER_20_MILES, DISTANCE_NOT_KNOWN], denominator=(OVER_20_MILES,))
    return finish(units, spec, data, years)
