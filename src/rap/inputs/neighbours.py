"""Each local authority's (LA's) statistical neighbours: DfE's 2025 statistical neighbour model.

DfE's model (``rap/data/neighbours/``) is the list DfE's Children's Social Care dashboard and LA Interactive
Tool use, so the LA and dashboard chapters set an LA beside the same 10 LAs a reader of DfE's tools sees.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from rap.domain.geography import local_authorities

#: How the report names the model.
MODEL = "DfE's 2025 statistical neighbour model"
COLUMNS = ["new_la_code", "rank", "neighbour_code", "closeness"]


@cache
def _model() -> pd.DataFrame:
    """DfE's wide file as one row per LA and neighbour, old LA codes mapped to new ones."""
    with (
        resources.files("rap.data")
        .joinpath("neighbours", "sn_model_2025_wide.csv")
        .open("r", encoding="utf-8-sig") as fh
    ):
        wide = pd.read_csv(fh, dtype=str, keep_default_na=False)
    new = local_authorities()["new_la_code"]
    rows = []
    for k in range(1, 11):
        part = wide[["old_la_code", f"SN_{k}", f"SN_{k}P"]].set_axis(["la", "neighbour", "closeness"], axis=1)
        rows.append(part.assign(rank=k))
    long = pd.concat(rows, ignore_index=True)
    unknown = sorted(set(long["la"]).union(long["neighbour"]) - set(new.index))
    if unknown:
        raise ValueError(f"sn_model_2025_wide.csv: LA codes not in local_authorities.csv: {', '.join(unknown)}")
    out = pd.DataFrame(
        {
            "new_la_code": long["la"].map(new),
            "rank": long["rank"],
            "neighbour_code": long["neighbour"].map(new),
            "closeness": long["closeness"].str.strip(),
        }
    )
    return out.sort_values(["new_la_code", "rank"]).reset_index(drop=True)


def statistical_neighbours(la_codes: pd.Series | list[str] | None = None) -> pd.DataFrame:
    """DfE's 10 statistical neighbours of each LA (of ``la_codes``, default all), closest first, by new LA code.
    Columns new_la_code, rank, neighbour_code, closeness."""
    m = _model()
    if la_codes is not None:
        m = m[m["new_la_code"].isin(set(la_codes))]
    return m.reset_index(drop=True).copy()
