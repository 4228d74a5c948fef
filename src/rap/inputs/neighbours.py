"""Proxy statistical neighbours of each local authority (LA), from the child population inputs.

DfE's statistical neighbours come from a model of socio-economic indicators that is not among the inputs, so
the LA and dashboard chapters use a transparent proxy made from what the inputs do hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.inputs.la_inputs import KNOWN


def statistical_neighbours(population: pd.DataFrame, year: int, n: int = 10) -> pd.DataFrame:
    """The ``n`` LAs nearest each LA in child population size (log) and ethnic mix of children (share in each
    known major group), each feature standardised; ties broken by LA code. ``population``: children 0-17 by
    ``time_period``, ``new_la_code`` and ``major`` (as :attr:`rap.inputs.la_inputs.LaInputs.population`).
    Columns new_la_code, rank, neighbour_code."""
    p = population[population["time_period"] == year]
    piv = p.pivot_table(index="new_la_code", columns="major", values="population", aggfunc="sum").reindex(columns=KNOWN)
    piv = piv.dropna()
    if len(piv) <= 1:
        return pd.DataFrame(columns=["new_la_code", "rank", "neighbour_code"])
    total = piv.sum(axis=1)
    feats = pd.concat([np.log(total).rename("log_children"), piv.div(total, axis=0)], axis=1)
    z = (feats - feats.mean()) / feats.std(ddof=0).replace(0, 1)
    z = z.sort_index()
    x = z.to_numpy(float)
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    codes = z.index.to_numpy()
    k = min(n, len(codes) - 1)
    rows = []
    for i, code in enumerate(codes):
        order = np.lexsort((codes, d[i]))[:k]
        rows.extend((code, r + 1, codes[j]) for r, j in enumerate(order))
    return pd.DataFrame(rows, columns=["new_la_code", "rank", "neighbour_code"])
