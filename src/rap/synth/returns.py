"""One collection year's SSDA903 return, built from the simulated world and written one CSV per LA.

Each table has a function returning its frame (an ``_la`` column of old LA codes plus the spec's columns);
:func:`write_year` writes them. Random draws made while writing (OC2 answers, the episode_end_before_start
defect) come from generators seeded by the seed and the year, in a fixed order: changing that order changes
the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rap.synth import writers as W
from rap.synth.adoption import ad1_table, placed_adoption_table, prev_perm_table
from rap.synth.dates import NA_DAY, DateFormatter, age_on, birthday, year_end, year_start, ymd


def _sex(male: np.ndarray, year: int) -> np.ndarray:
    """SEX in the year's coding (1/2 to 2023/24, M/F from 2024/25)."""
    codes = W.codelist("SEX", year)
    return np.where(male, codes[0], codes[1]).astype(object)


def _place_for_year(place: np.ndarray, year: int) -> np.ndarray:
    """Map placement codes to the year's code list (2026: H5 and P2 -> K3, Z1 -> Z14)."""
    valid = set(W.codelist("PLACE", year))
    out = place.copy()
    for old, new in (("H5", "K3"), ("P2", "K3"), ("Z1", "Z14")):
        if old not in valid and new in valid:
            out[out == old] = new
    return out


def _header_children(w: dict[str, Any], y: int) -> pd.DataFrame:
    """The periods of the children in year ``y``'s Header (looked after in the year, or OC3 care leavers)."""
    return w["p"].loc[w["in_year"][y]]


def _looked_after(h: pd.DataFrame, y: int) -> np.ndarray:
    """Which of ``h`` were looked after at some time in collection year ``y``."""
    return (h["start"].to_numpy() <= year_end(y)) & (h["end"].to_numpy() >= year_start(y))


def header_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """Header: one row per child (duplicated rows are a defect), with the recorded ethnicity and UPN."""
    d = w["defects"]
    ids = w["in_year"][y]
    h = _header_children(w, y)
    # MOTHER (0/1) for every girl looked after during the year (rules 165, 393, 607), blank for boys and for
    # care leavers who were not looked after in the year (rule 165).
    girl12 = _looked_after(h, y) & ~h["male"].to_numpy()
    mday = d.mother_day.loc[ids].to_numpy()
    is_mother = girl12 & (mday != NA_DAY) & (mday <= year_end(y))
    header = pd.DataFrame(
        {
            "_la": h["la_code"].to_numpy(),
            "CHILD": h["child"].to_numpy(),
            "SEX": _sex(h["male"].to_numpy(), y),
            "DOB": fmt(h["dob"].to_numpy()),
            "ETHNIC": d.recorded[y].loc[ids].to_numpy(),
            "UPN": d.upn.loc[ids].to_numpy(),
            "MOTHER": np.where(girl12, np.where(is_mother, "1", "0"), ""),
            "MC_DOB": fmt(np.where(is_mother, mday, NA_DAY)),
            "_pid": ids,
        }
    )
    dup = d.duplicate.get(y, np.array([], dtype=np.int64))
    header = pd.concat([header, header[header["_pid"].isin(dup)]], ignore_index=True)
    return header.sort_values(["_la", "CHILD"], kind="stable")


def episodes_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> tuple[pd.DataFrame, pd.DataFrame, tuple[int, int]]:
    """Episodes overlapping the year, the ground truth of the episode_end_before_start defect injected here,
    and that defect's (count, denominator). DEC, REC and reason are blank while the episode goes on after
    31 March."""
    ys, ye = year_start(y), year_end(y)
    ep = w["ep"]
    e = ep[(ep["decom"].to_numpy() <= ye) & (ep["dec"].to_numpy() >= ys)].copy()
    open_ = e["dec"].to_numpy() > ye
    dec = np.where(open_, NA_DAY, e["dec"].to_numpy())
    re_ = np.random.default_rng([w["seed"], int(y), 11])
    flip = ~open_ & (re_.random(len(e)) < w["rates"].episode_end_before_start)
    dec = np.where(flip, e["decom"].to_numpy() - re_.integers(1, 31, len(e)), dec)
    pe = w["p"].loc[e["pid"].to_numpy()]
    episodes = pd.DataFrame(
        {
            "_la": pe["la_code"].to_numpy(),
            "CHILD": pe["child"].to_numpy(),
            "DECOM": fmt(e["decom"].to_numpy()),
            "RNE": e["rne"].to_numpy(),
            "LS": e["ls"].to_numpy(),
            "CIN": e["cin"].to_numpy(),
            "PLACE": _place_for_year(e["place"].to_numpy(), y),
            "PLACE_PROVIDER": e["provider"].to_numpy(),
            "DEC": fmt(dec),
            "REC": np.where(open_, "", e["rec"].to_numpy()),
            "REASON_PLACE_CHANGE": np.where(open_, "", e["rpc"].to_numpy()),
            "HOME_POST": e["home_post"].to_numpy(),
            "PL_POST": e["pl_post"].to_numpy(),
            "URN": np.where((e["place"].to_numpy() == "H5") & (y < 2024), "", e["urn"].to_numpy()),
        }
    )
    truth = pd.DataFrame(
        {
            "year": y,
            "la": pe["la_code"].to_numpy()[flip],
            "child": pe["child"].to_numpy()[flip],
            "table": "Episodes",
            "defect": "episode_end_before_start",
            "detail": "DECOM " + episodes["DECOM"].to_numpy()[flip] + " DEC " + episodes["DEC"].to_numpy()[flip],
        }
    )
    return episodes, truth, (int(flip.sum()), int((~open_).sum()))


def reviews_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """Reviews held in the year."""
    rv = w["rev"]
    rv = rv[(rv["review"] >= year_start(y)) & (rv["review"] <= year_end(y))]
    pr = w["p"].loc[rv["pid"].to_numpy()]
    return pd.DataFrame(
        {
            "_la": pr["la_code"].to_numpy(),
            "CHILD": pr["child"].to_numpy(),
            "DOB": fmt(pr["dob"].to_numpy()),
            "REVIEW": fmt(rv["review"].to_numpy()),
            "REVIEW_CODE": rv["review_code"].to_numpy(),
        }
    )


def uasc_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """UASC: children looked after in the year who were UASC; DUC = date UASC status ceased (18th birthday)."""
    h = _header_children(w, y)
    lac = h[_looked_after(h, y) & h["uasc"].to_numpy()]
    b18 = birthday(lac["dob"].to_numpy(), 18)
    _, mm, dd = ymd(lac["dob"].to_numpy())
    leap = ((mm == 2) & (dd == 29)).astype(np.int64)  # born 29 February: DUC 28 February, as DOB + 18 years in the rule
    # DUC is the 18th birthday in every year's return (rules 205A-D compare it between years; 304: not after it).
    return pd.DataFrame(
        {
            "_la": lac["la_code"].to_numpy(),
            "CHILD": lac["child"].to_numpy(),
            "SEX": _sex(lac["male"].to_numpy(), y),
            "DOB": fmt(lac["dob"].to_numpy()),
            "DUC": fmt(b18 - leap),
        }
    )


def _sdq_and_substance(
    ro: np.random.Generator, dob: np.ndarray, y: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SDQ_SCORE, SDQ_REASON, substance misuse (bool) and INTERVENTION_RECEIVED, drawn together because their
    draws interleave (score, substance, intervention, then the reason): the order keeps the data unchanged.

    SDQ for children aged 4 to 17 at some time in the year (rule 197B: those turning 4 or 17 need a score or a
    reason); SDQ1 (under 4 / over 16) only for children not aged 4-16 all year (rule 157).
    """
    n = len(dob)
    ys, ye = year_start(y), year_end(y)
    sdq_age = (birthday(dob, 4) <= ye) & (birthday(dob, 17) >= ys)
    all_year = (birthday(dob, 4) <= ys) & (birthday(dob, 16) >= ye)
    has_sdq = sdq_age & (ro.random(n) < 0.8)
    sdq = np.clip(np.round(ro.normal(14, 7, n)), 0, 40).astype(int).astype(str)
    sub = ro.random(n) < 0.03
    received = np.where(sub, np.where(ro.random(n) < 0.6, "1", "0"), "")
    ri = ro.integers(0, 5, n)
    reasons = np.array(W.codelist("SDQ_REASON", y))
    reason = np.where(sdq_age & ~has_sdq, reasons[np.where(all_year, 1 + ri % 4, ri)], "")
    return np.where(has_sdq, sdq, ""), reason, sub, received


def _health_columns(ro: np.random.Generator, age: np.ndarray, sub: np.ndarray, received: np.ndarray) -> dict:
    """OC2's offending, health and substance-misuse columns (drawn in column order)."""
    n = len(age)
    return {
        "CONVICTED": np.where(age >= 10, np.where(ro.random(n) < 0.02, "1", "0"), ""),
        # Health promotion (HEALTH_CHECK) only for children under 5 at 31 March (rule 546).
        "HEALTH_CHECK": np.where(age < 5, np.where(ro.random(n) < 0.9, "1", "0"), ""),
        "IMMUNISATIONS": np.where(ro.random(n) < 0.86, "1", "0"),
        "TEETH_CHECK": np.where(ro.random(n) < 0.75, "1", "0"),
        "HEALTH_ASSESSMENT": np.where(ro.random(n) < 0.9, "1", "0"),
        "SUBSTANCE_MISUSE": np.where(sub, "1", "0"),
        "INTERVENTION_RECEIVED": received,
        # Asked only when no intervention was received (rule 158).
        "INTERVENTION_OFFERED": np.where(sub & (received == "0"), np.where(ro.random(n) < 0.4, "1", "0"), ""),
    }


def oc2_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """OC2: children looked after continuously for 12 months at 31 March."""
    h = _header_children(w, y)
    ye = year_end(y)
    c12 = h[(h["start"].to_numpy() <= year_end(y - 1)) & (h["end"].to_numpy() > ye)]
    ro = np.random.default_rng([w["seed"], int(y), 2])
    dob = c12["dob"].to_numpy()
    score, reason, sub, received = _sdq_and_substance(ro, dob, y)
    return pd.DataFrame(
        {
            "_la": c12["la_code"].to_numpy(),
            "CHILD": c12["child"].to_numpy(),
            "DOB": fmt(dob),
            "SDQ_SCORE": score,
            "SDQ_REASON": reason,
            **_health_columns(ro, age_on(dob, ye), sub, received),
        }
    )


def oc3_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """OC3: care leavers whose 17th to 21st birthday falls in the year."""
    o = w["oc3"][w["oc3"]["year"] == y]
    po = w["p"].loc[o["pid"].to_numpy()]
    return pd.DataFrame(
        {
            "_la": po["la_code"].to_numpy(),
            "CHILD": po["child"].to_numpy(),
            "DOB": fmt(po["dob"].to_numpy()),
            "IN_TOUCH": o["in_touch"].to_numpy(),
            "ACTIV": o["activ"].to_numpy(),
            "ACCOM": o["accom"].to_numpy(),
        }
    )


def missing_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """Missing and away incidents of the year (MIS_END blank while still missing on 31 March)."""
    m = w["mis"][w["mis"]["year"] == y]
    pm = w["p"].loc[m["pid"].to_numpy()]
    me = m["mis_end"].to_numpy()
    return pd.DataFrame(
        {
            "_la": pm["la_code"].to_numpy(),
            "CHILD": pm["child"].to_numpy(),
            "DOB": fmt(pm["dob"].to_numpy()),
            "MISSING": m["missing"].to_numpy(),
            "MIS_START": fmt(m["mis_start"].to_numpy()),
            "MIS_END": fmt(np.where(me < 0, NA_DAY, me)),
        }
    )


def sw_episodes_table(w: dict[str, Any], y: int, fmt: DateFormatter) -> pd.DataFrame:
    """Social worker episodes overlapping the year (from the 2023/24 return on)."""
    ys, ye = year_start(y), year_end(y)
    s = w["sw"]
    s = s[(s["sw_decom"].to_numpy() <= ye) & (s["sw_dec"].to_numpy() >= ys)]
    ps = w["p"].loc[s["pid"].to_numpy()]
    sopen = s["sw_dec"].to_numpy() > ye
    return pd.DataFrame(
        {
            "_la": ps["la_code"].to_numpy(),
            "CHILD": ps["child"].to_numpy(),
            "DOB": fmt(ps["dob"].to_numpy()),
            "SW_ID": s["sw_id"].to_numpy(),
            "SW_DECOM": fmt(s["sw_decom"].to_numpy()),
            "SW_DEC": fmt(np.where(sopen, NA_DAY, s["sw_dec"].to_numpy())),
            "SW_REASON": s["sw_reason"].to_numpy(),
        }
    )


#: The tables other than Header and Episodes, each with the function that builds it.
OTHER_TABLES = {
    "Reviews": reviews_table,
    "UASC": uasc_table,
    "OC2": oc2_table,
    "OC3": oc3_table,
    "AD1": ad1_table,
    "PlacedAdoption": placed_adoption_table,
    "PrevPerm": prev_perm_table,
    "Missing": missing_table,
    "SWEpisodes": sw_episodes_table,
}


def write_year(
    w: dict[str, Any], y: int, root: Path, fmt: DateFormatter, files: dict[str, str], truth_rows: list[pd.DataFrame]
) -> None:
    """Write year ``y``'s tables under ``root/ssda903/<year>/<LA>/`` (recording their hashes in ``files``) and
    append the defects injected while writing to ``truth_rows``."""
    las = list(w["las"]["old_la_code"])
    for code in las:
        (root / "ssda903" / str(y) / code).mkdir(parents=True, exist_ok=True)

    def folder(code: str) -> Path:
        return root / "ssda903" / str(y) / code

    W.write_split(header_table(w, y, fmt), "Header", las, folder, files)
    episodes, truth, counts = episodes_table(w, y, fmt)
    W.write_split(episodes, "Episodes", las, folder, files)
    w["defects"].counts.setdefault(y, {})["episode_end_before_start"] = counts
    truth_rows.append(truth)
    for table in W.tables_for(y):
        if table in OTHER_TABLES:
            W.write_split(OTHER_TABLES[table](w, y, fmt), table, las, folder, files)
