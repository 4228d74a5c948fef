"""Routes out of care: why children stopped being looked after, and adoptions (DfE definitions).

* ``ceased_by_reason``: children who ceased to be looked after during the year (as ``ceased``: an episode with
  DEC in the year and a REC that ends the period of care), by the reason their *last* period of care in the
  year ended, grouped as in ``rap/data/ceased_reasons.yaml``; denominator the children of the group who ceased.
* ``adopted``: children who ceased to be looked after during the year because they were adopted (REC E11 or
  E12), counted once, as DfE's "children looked after who were adopted during the year".
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd
import yaml

from rap.measures.common import KEY, Spec, episodes, finish, in_year

TOTAL = "Total"
ADOPTED = "Adopted"


@cache
def reason_groups() -> dict[str, tuple[str, ...]]:
    """Reason group label -> the REC codes in it, in report order (``rap/data/ceased_reasons.yaml``)."""
    with resources.files("rap.data").joinpath("ceased_reasons.yaml").open("r", encoding="utf-8") as fh:
        return {k: tuple(v) for k, v in yaml.safe_load(fh)["groups"].items()}


@cache
def reason_phrases() -> dict[str, str]:
    """Reason group label -> how a sentence says a child left care that way (``rap/data/ceased_reasons.yaml``)."""
    with resources.files("rap.data").joinpath("ceased_reasons.yaml").open("r", encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh)["phrases"])


def _group_of(rec: pd.Series) -> pd.Series:
    """Each REC's reason group; a code in no group is an error (a new DfE code must be placed first)."""
    lookup = {code: group for group, codes in reason_groups().items() for code in codes}
    out = rec.map(lookup)
    unknown = sorted(set(rec[out.isna()]))
    if unknown:
        raise ValueError(f"REC codes {unknown} are in no group of rap/data/ceased_reasons.yaml")
    return out


def _last_ceasing(data, years: list[int]) -> pd.DataFrame:
    """Each child's last episode in the year that ended a period of care: KEY + REC."""
    ep = episodes(data, years)
    rec = ep["REC"].fillna("").str.strip()
    sel = in_year(ep["DEC"], ep["YEAR"]) & rec.ne("").to_numpy(dtype=bool) & rec.ne("X1").to_numpy(dtype=bool)
    last = ep.loc[sel].assign(REC=rec[sel]).sort_values([*KEY, "DEC"], kind="stable")
    return last.drop_duplicates(KEY, keep="last")[[*KEY, "REC"]]


def ceased_by_reason(data, years: list[int]) -> pd.DataFrame:
    """Children who ceased to be looked after, by the reason group of their last ceasing in the year."""
    last = _last_ceasing(data, years)
    group = _group_of(last["REC"]).to_numpy()
    groups = list(reason_groups())
    units = pd.concat(
        [last[KEY].assign(breakdown=g, number=(group == g).astype("int64"), denominator=1) for g in groups],
        ignore_index=True,
    )
    return finish(units, Spec("ceased_by_reason", groups, denominator=tuple(groups)), data, years)


def adopted(data, years: list[int]) -> pd.DataFrame:
    """Children adopted during the year: their last ceasing in the year was an adoption (REC E11, E12)."""
    last = _last_ceasing(data, years)
    units = last.loc[last["REC"].isin(reason_groups()[ADOPTED]), KEY].assign(breakdown=TOTAL, number=1)
    return finish(units, Spec("adopted", [TOTAL]), data, years)
