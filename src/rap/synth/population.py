"""Synthetic child population 0-17 by LA and ONS 2021 ethnic group (labelled ``SYNTHETIC: not real data``).

LA totals are the ONS mid-year estimates of children aged 0-17 for the year (the nearest published year for
LAs created later, e.g. Cumberland and Westmorland and Furness before 2023, or for years after 2024). The split
by the 19 ONS 2021 groups uses the LA's region's Census 2021 ALL-AGES shares with random LA variation: no
stored source gives children by ethnic group, and all-age shares understate Mixed children. Use the file for
plumbing and tests only, never as a denominator for rates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rap.domain.ethnicity import ons2021_major
from rap.synth.targets import load_targets


def population_table(w: dict[str, Any], years: list[int]) -> pd.DataFrame:
    """The synthetic population file: children by LA, year and ONS 2021 group (see the module notes)."""
    t = load_targets()
    las = w["las"]
    pops = t["la_population_0_17"]["by_la"]
    reg = t["census2021_region_all_ages"]["by_region"]
    labels = t["census2021_region_all_ages"]["labels"]
    ons_major = ons2021_major()
    rng = np.random.default_rng([w["seed"], 9])
    groups = list(range(1, 20))
    rows = []
    shares = {}
    for r in las.itertuples():
        region = "E12000007" if r.region_code.startswith("E13") else r.region_code
        base = np.array([reg[region][g] for g in groups], dtype=float)
        base /= base.sum()
        shares[r.old_la_code] = rng.dirichlet(base * 300 + 0.05)
    for y in years:
        for r in las.itertuples():
            series = pops.get(str(r.old_la_code)) or {}
            yy = y if y in series else min(series, key=lambda k: abs(int(k) - y))
            total = int(round(series[yy]))
            counts = np.random.default_rng([w["seed"], 9, int(y), int(r.old_la_code)]).multinomial(
                total, shares[r.old_la_code]
            )
            for g, c in zip(groups, counts):
                rows.append(
                    (
                        y,
                        "Local authority",
                        r.new_la_code,
                        r.old_la_code,
                        r.la_name,
                        r.region_code,
                        r.region_name,
                        g,
                        labels[g],
                        ons_major[g],
                        int(c),
                        "SYNTHETIC: not real data",
                    )
                )
    return pd.DataFrame(
        rows,
        columns=[
            "time_period",
            "geographic_level",
            "new_la_code",
            "old_la_code",
            "la_name",
            "region_code",
            "region_name",
            "ons2021_code",
            "ons2021_label",
            "major",
            "population",
            "source",
        ],
    )
