"""Care leavers (OC3): former relevant children in touch on their 17th to 21st birthdays, with their activity
and accommodation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rap.synth.dates import birthday, year_end, year_start
from rap.synth.journeys import KNOWN, MAJOR_OF, MAJORS
from rap.synth.sampling import norm

ACTIV_GROUPS = ["higher_education", "other_education", "apprenticeship", "training_employment", "neet", "not_known"]


def _leaver_rows(p: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """(pid, year, age) of every former relevant child whose 17th-21st birthday falls in a collection year.

    Eligible: looked after for at least 13 weeks after the 14th birthday and ceased at 16 or over, not by
    adoption nor by a transfer of care to another LA (E3, rule 1011).
    """
    dob, start, end = p["dob"].to_numpy(), p["start"].to_numpy(), p["end"].to_numpy()
    elig = (
        (end >= birthday(dob, 16))
        & ((end - np.maximum(start, birthday(dob, 14))) >= 91)
        & ~np.isin(p["rec_end"].to_numpy(), ["E11", "E12", "E3"])
    )
    rows = []
    for y in years:
        ys, ye = year_start(y), year_end(y)
        for n in range(17, 22):
            bd = birthday(dob, n)
            # From 2023/24, no OC3 at 17 or 18 for young people who ceased on or after that birthday (rule 1016).
            left = (end < bd) if (y >= 2024 and n <= 18) else (end <= bd)
            idx = np.flatnonzero(elig & (bd >= ys) & (bd <= ye) & left)
            rows.append(pd.DataFrame({"pid": p.index.to_numpy()[idx], "year": y, "age": n}))
    return pd.concat(rows, ignore_index=True)


def _activity_groups(rng: np.random.Generator, age: np.ndarray, major: np.ndarray, act: dict[str, Any]) -> np.ndarray:
    """Activity group of each leaver, from the published distribution by age band (and major group at 19-21)."""
    band = np.where(age == 17, "17 years", np.where(age == 18, "18 years", "19to21 years"))
    grp = np.empty(len(age), dtype=object)
    u = rng.random(len(age))
    for bname in ["17 years", "18 years", "19to21 years"]:
        for m in MAJORS:
            src = act[bname][m] if bname == "19to21 years" else act[bname]["total"]
            w = np.array([src[g] or 0.0 for g in ACTIV_GROUPS])
            sel = (band == bname) & (major == m)
            grp[sel] = np.array(ACTIV_GROUPS)[np.searchsorted(np.cumsum(norm(w)), u[sel] * 0.99999)]
    return grp


def _activity_codes(rng: np.random.Generator, grp: np.ndarray) -> np.ndarray:
    """ACTIV: full- or part-time within the group (F/P), G4-G6 for NEET, 0 when not known."""
    r = rng.random(len(grp))
    return np.select(
        [
            grp == "higher_education",
            grp == "other_education",
            grp == "apprenticeship",
            grp == "training_employment",
            grp == "neet",
        ],
        [
            np.where(r < 0.8, "F1", "P1"),
            np.where(r < 0.75, "F2", "P2"),
            np.where(r < 0.9, "F4", "P4"),
            np.where(r < 0.6, "F5", "P5"),
            np.where(r < 0.4, "G4", np.where(r < 0.7, "G5", "G6")),
        ],
        "0",
    )


def _accommodation(rng: np.random.Generator, grp: np.ndarray) -> np.ndarray:
    """ACCOM: a type letter and suitability (1 suitable, 2 not), 0 when the activity is not known."""
    n = len(grp)
    letters = np.array(["B", "C", "D", "E", "G", "H", "K", "R", "S", "T", "U", "V", "W", "X", "Y", "Z"])
    lw = norm([4, 2, 6, 3, 2, 1, 1, 3, 8, 3, 5, 2, 2, 1, 2, 1])
    let = letters[np.searchsorted(np.cumsum(lw), rng.random(n) * 0.99999)]
    # No fixed abode (S) and in custody (X) are always unsuitable: S1 and X1 do not exist (rule 133).
    suit = np.where(np.isin(let, ["S", "X"]) | (rng.random(n) >= 0.88), "2", "1")
    return np.where(grp == "not_known", "0", np.char.add(let.astype(str), suit))


def care_leavers(rng: np.random.Generator, p: pd.DataFrame, years: list[int], t: dict[str, Any]) -> pd.DataFrame:
    """OC3 rows: former relevant children whose 17th-21st birthday falls in the collection year (see
    ``_leaver_rows``). Activity is drawn from the published 2024 distribution by age band and major group."""
    o = _leaver_rows(p, years)
    major = np.array([MAJOR_OF[KNOWN[c]] for c in p.loc[o["pid"], "code"].to_numpy()])
    grp = _activity_groups(rng, o["age"].to_numpy(), major, t["care_leavers_activity"])
    activ = _activity_codes(rng, grp)
    r2 = rng.random(len(o))
    in_touch = np.where(grp == "not_known", np.where(r2 < 0.6, "NO", np.where(r2 < 0.9, "REFU", "NREQ")), "YES")
    accom = _accommodation(rng, grp)
    o["in_touch"], o["activ"], o["accom"], o["activity_group"] = in_touch, activ, accom, grp
    return o
