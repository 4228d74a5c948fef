"""Synthetic child population 0-17 by LA and DfE ethnic group (labelled ``SYNTHETIC: not real data``).

Drawn from the package's estimate of children by ethnic group (:mod:`rap.domain.child_population`): for
reporting year Y each LA's total is the ONS mid-year estimate for mid-(Y-1) (the nearest year for LAs that
estimate does not hold, e.g. Cumberland before 2023), split by the LA's school census shares; the synthetic
file is one multinomial draw of that total over the 18 groups. A small run simulates a twentieth of England's
children looked after, so its population is a twentieth too: rates per 10,000 come out as England's would. Each row carries the DfE code (``ethnic_code``)
and the ONS 2021 group it is matched to (Gypsy / Roma with ONS's "Gypsy or Irish Traveller", the ONS group
that holds Gypsy people).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rap.domain.child_population import child_population
from rap.domain.ethnicity import codes, ons2021_major

#: ONS 2021 group for the one DfE code without a one-to-one match (see ``rap/data/ethnicity/codes.csv``).
_ONS_FOR_UNMATCHED = {"WROM": 15}

COLUMNS = [
    "time_period",
    "geographic_level",
    "new_la_code",
    "old_la_code",
    "la_name",
    "region_code",
    "region_name",
    "ethnic_code",
    "ons2021_code",
    "ons2021_label",
    "major",
    "population",
    "source",
]


def _ons_codes() -> pd.DataFrame:
    """DfE code -> ONS 2021 code and label for the 18 known codes."""
    c = codes()
    c = c[c["known"]].copy()
    c["ons2021_code"] = [_ONS_FOR_UNMATCHED.get(k, v) for k, v in zip(c.index, c["ons2021_code"])]
    c["ons2021_code"] = c["ons2021_code"].astype(float).astype(int)
    labels = c.dropna(subset=["ons2021_label"]).drop_duplicates("ons2021_code")
    c["ons2021_label"] = c["ons2021_code"].map(dict(zip(labels["ons2021_code"], labels["ons2021_label"])))
    return c


def population_table(w: dict[str, Any], years: list[int]) -> pd.DataFrame:
    """The synthetic population file: children by LA, year and DfE group (see the module notes)."""
    las = w["las"]
    ons = _ons_codes()
    ons_major = ons2021_major()
    est = child_population(years, las=[str(c) for c in las["old_la_code"]])
    est = est.set_index(["time_period", "old_la_code"])
    rows = []
    for y in years:
        for r in las.itertuples():
            cell = est.loc[(int(y), str(r.old_la_code))]
            share = cell["population"].to_numpy(float)
            total = int(round(share.sum() * w.get("scale", 1.0)))  # a small run's children are 1/20 of England's
            counts = np.random.default_rng([w["seed"], 9, int(y), int(r.old_la_code)]).multinomial(
                total, share / share.sum()
            )
            for code, c in zip(cell["code"], counts):
                g = int(ons.loc[code, "ons2021_code"])
                rows.append(
                    (y, "Local authority", r.new_la_code, r.old_la_code, r.la_name, r.region_code, r.region_name)
                    + (code, g, ons.loc[code, "ons2021_label"], ons_major[g], int(c), "SYNTHETIC: not real data")
                )
    return pd.DataFrame(rows, columns=COLUMNS)
