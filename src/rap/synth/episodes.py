"""Episodes of care: the legal status and placement changes within each period, one row per episode.

Legal status changes (L1/L2 -> C2/V2, V2 -> C2, C2 -> C1, C1 -> E1 before adoption) and placement moves are
separate events; a placement and legal change on the same day is one episode with RNE=T. Placement families
depend on the age at the move; DfE's validation rules on episodes are kept (each is cited where it applies).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rap.domain.ssda903 import code_group
from rap.synth.adoption import timeline
from rap.synth.dates import age_on, birthday, day
from rap.synth.journeys import KNOWN, MAJOR_OF, MAJORS, YEAR_DAYS, place_rate_age
from rap.synth.sampling import norm, repeat_offsets, sample_rows

FOSTER = np.array(code_group("foster_placements"))
FOSTER_P = norm([0.10, 0.10, 0.005, 0.33, 0.46, 0.005])  # U1 to U6
FOSTER_OR_ADOPTION = [*FOSTER, *code_group("adoption_placements")]
CARE_ORDERS = list(code_group("care_orders"))
# Placement families by age band at the placement: foster, K2, P1, H5, P2, K1, R1, R2, R5, S1, Z1
PLACE_FAM = np.array(["F", "K2", "P1", "H5", "P2", "K1", "R1", "R2", "R5", "S1", "Z1"])
PLACE_P = np.array(
    [
        [0.84, 0.00, 0.09, 0.00, 0.00, 0.000, 0.03, 0.005, 0.00, 0.00, 0.035],  # under 5
        [0.80, 0.08, 0.07, 0.00, 0.00, 0.000, 0.00, 0.005, 0.01, 0.005, 0.03],  # 5-12
        [0.63, 0.23, 0.05, 0.00, 0.00, 0.010, 0.00, 0.01, 0.01, 0.01, 0.05],  # 13-15
        [0.40, 0.18, 0.03, 0.26, 0.02, 0.010, 0.02, 0.01, 0.00, 0.02, 0.03],  # 16-17
        [0.45, 0.05, 0.00, 0.45, 0.02, 0.000, 0.00, 0.00, 0.00, 0.00, 0.03],  # UASC 16-17
    ]
)
RPC = ["CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ", "PLACE", "CUSTOD", "OTHER"]
RPC_P = norm([0.25, 0.05, 0.03, 0.05, 0.05, 0.08, 0.04, 0.12, 0.15, 0.05, 0.01, 0.12])


def initial_legal_status(
    rng: np.random.Generator, uasc: np.ndarray, adopt: np.ndarray, start: np.ndarray, dob: np.ndarray
) -> np.ndarray:
    """LS of each child's first episode: V2 for UASC; a care order for children who will be adopted."""
    ls0 = np.where(
        uasc,
        "V2",
        rng.choice(["V2", "C2", "L1", "L2", "J2"], size=len(uasc), p=norm([0.45, 0.40, 0.05, 0.08, 0.02])),
    )
    ls0 = np.where(adopt & np.isin(ls0, ["V2", "J2"]), "C2", ls0)
    # J1-J3 (remand, youth justice) only from the 10th birthday (rule 358).
    return np.where((ls0 == "J2") & (start < birthday(dob, 10)), "V2", ls0)


def _events(i: np.ndarray, days: np.ndarray, kind: int, ls: Any = "", force: Any = "") -> pd.DataFrame:
    """Events of children ``i`` (positions in the periods): kind 1 placement, 2 legal status change."""
    return pd.DataFrame({"i": i, "day": days, "kind": kind, "ls": ls, "force": force})


def _move_events(
    rng: np.random.Generator, p: pd.DataFrame, pm: np.ndarray, start: np.ndarray, dur: np.ndarray
) -> pd.DataFrame:
    """Placement moves: a Poisson number per child (frailty x age rate x the major group's multiplier)."""
    lam = p["frailty"].to_numpy() * place_rate_age(p) * pm
    k = np.minimum(rng.poisson(lam * np.maximum(dur - 1, 0) / YEAR_DAYS), 60)
    own, _ = repeat_offsets(k)
    mday = start[own] + 1 + np.floor(rng.random(len(own)) * np.maximum(dur[own] - 1, 1)).astype(np.int64)
    return _events(own, mday, 1)


def _legal_events(
    rng: np.random.Generator,
    ls0: np.ndarray,
    uasc: np.ndarray,
    adopt: np.ndarray,
    start: np.ndarray,
    decision: np.ndarray,
) -> list[pd.DataFrame]:
    """Legal status changes: out of L1/L2/J2, V2 -> C2, C2 -> C1 (for a child to be adopted, by the decision
    that the child should be placed for adoption, so before the placement order)."""
    n = len(ls0)
    # Short legal statuses end in time: police protection (L1) within 72 hours (rule 361), an emergency
    # protection order (L2) within 8 days, remand (J2) within 21 days (rule 364), unless care ends first.
    d_l = rng.integers(2, 21, n)
    t_l = start + np.select([ls0 == "L1", ls0 == "L2"], [1 + d_l % 3, 1 + d_l % 8], d_l)
    to_l = np.where(rng.random(n) < 0.65, "C2", "V2")
    sel = np.isin(ls0, ["L1", "L2", "J2"])
    ev = [_events(np.flatnonzero(sel), t_l[sel], 2, to_l[sel])]
    is_c2 = (ls0 == "C2") | (sel & (to_l == "C2"))
    t_c2 = np.where(ls0 == "C2", start, t_l)
    v2c2 = (ls0 == "V2") & ~uasc & (rng.random(n) < 0.3)
    t_v2c2 = start + 7 + rng.exponential(150, n).astype(np.int64)
    ev.append(_events(np.flatnonzero(v2c2), t_v2c2[v2c2], 2, "C2"))
    is_c2 |= v2c2
    t_c2 = np.where(v2c2, t_v2c2, t_c2)
    t_c1 = t_c2 + rng.integers(120, 450, n)
    t_c1 = np.where(adopt, np.minimum(t_c1, decision), t_c1)
    c1 = is_c2 & ((rng.random(n) < 0.85) | adopt)
    ev.append(_events(np.flatnonzero(c1), t_c1[c1], 2, "C1"))
    return ev


def _adoption_events(
    rng: np.random.Generator, adopt: np.ndarray, tl: dict[str, np.ndarray]
) -> tuple[list[pd.DataFrame], np.ndarray]:
    """For children to be adopted: E1 (placement order) then a placement for adoption (A5 or A6), on the days of
    ``rap.synth.adoption.timeline`` ``tl`` (the days AD1 and PlacedAdoption are built on); also the day of
    that placement. A child placed with the current foster carers (A5) is placed the day the order is made:
    the placement changes, the carer does not, so the episode is a legal and placement change with the same
    carer (RNE U, rule 217)."""
    t_a = tl["placed"]
    a_code = np.where(rng.random(len(adopt)) < 0.2, "A5", "A6")
    t_e1 = np.where(a_code == "A5", t_a, tl["order"])
    at = np.flatnonzero(adopt)
    return [_events(at, t_e1[adopt], 2, "E1"), _events(at, t_a[adopt], 1, force=a_code[adopt])], t_a


def _same_day_merged(e: pd.DataFrame) -> pd.DataFrame:
    """Events of one child on the same day become one episode (placement + legal change: kind 3 = RNE T)."""
    ei, ed = e["i"].to_numpy(), e["day"].to_numpy()
    grp = np.r_[True, (ei[1:] != ei[:-1]) | (ed[1:] != ed[:-1])] if len(e) else np.array([], bool)
    at = np.flatnonzero(grp)
    ls_codes = np.array(["", "C1", "C2", "E1", "J2", "L1", "L2", "V2"], dtype=object)
    ls_i = np.searchsorted(ls_codes[1:], e["ls"].to_numpy().astype(str)) + 1
    ls_i = np.where(e["ls"].to_numpy() == "", 0, ls_i)
    f_codes = np.array(["", "A5", "A6"], dtype=object)
    f_i = np.select([e["force"].to_numpy() == "A5", e["force"].to_numpy() == "A6"], [1, 2], 0)
    return pd.DataFrame(
        {
            "i": ei[at],
            "day": ed[at],
            "kind": np.add.reduceat(e["kind"].to_numpy(), at) if len(at) else [],
            "ls": ls_codes[np.maximum.reduceat(ls_i, at)] if len(at) else [],
            "force": f_codes[np.maximum.reduceat(f_i, at)] if len(at) else [],
        }
    )


def _without_non_changes(e: pd.DataFrame) -> pd.DataFrame:
    """A legal status "change" to the status the child already has is no change (rule 434: RNE L needs a new LS):
    drop it, or make it a placement change only when the placement changes too."""
    ls_ff = e["ls"].replace("", np.nan).ffill().to_numpy()
    ei = e["i"].to_numpy()
    same_child = np.r_[False, ei[1:] == ei[:-1]]
    no_change = same_child & (e["ls"].to_numpy() != "") & (ls_ff == np.r_[None, ls_ff[:-1]])
    kd = e["kind"].to_numpy()
    return e.assign(kind=np.where(no_change & (kd == 3), 1, kd))[~(no_change & (kd == 2))].reset_index(drop=True)


def episode_events(rng: np.random.Generator, p: pd.DataFrame, model: dict[str, Any]) -> pd.DataFrame:
    """The day each episode starts, one row per episode in child and date order: ``i`` (position of the period),
    ``kind`` (4 first episode, 1 placement change, 2 legal change, 3 both), ``ls`` (the new LS, or blank) and
    ``force`` (a placement the event imposes: A5/A6)."""
    n = len(p)
    start, end = p["start"].to_numpy(), p["end"].to_numpy()
    dur = end - start
    uasc, adopt = p["uasc"].to_numpy(), p["adopt"].to_numpy()
    major = np.array([MAJORS.index(MAJOR_OF[c]) for c in KNOWN])[p["code"].to_numpy()]
    pm = np.array([model["place_mult"][m] for m in MAJORS])[major]
    ls0 = initial_legal_status(rng, uasc, adopt, start, p["dob"].to_numpy())
    tl = timeline(start, end, p["u_stage"].to_numpy())
    ev = [_move_events(rng, p, pm, start, dur), *_legal_events(rng, ls0, uasc, adopt, start, tl["decision"])]
    adoption, t_a = _adoption_events(rng, adopt, tl)
    e = pd.concat(ev + adoption, ignore_index=True)
    e = e[(e["day"] > start[e["i"]]) & (e["day"] < end[e["i"]])]
    # No placement moves after an adoption placement.
    adopt_day = np.where(adopt, t_a, np.iinfo(np.int64).max)
    e = e[~((e["kind"] == 1) & (e["force"] == "") & (e["day"] >= adopt_day[e["i"]]))]
    # No legal status events before the legal status they replace (C1 after C2).
    e = e.drop_duplicates(["i", "day", "kind"]).sort_values(["i", "day", "kind"], kind="stable")
    first = _events(np.arange(n), start, 4, ls0)
    e = pd.concat([first, _same_day_merged(e)], ignore_index=True)
    return _without_non_changes(e.sort_values(["i", "day"], kind="stable").reset_index(drop=True))


def _ffill(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values`` where ``at``, else the last value where ``at`` before it."""
    return pd.Series(np.where(at, values, None)).ffill().to_numpy()


def _placements(
    rng: np.random.Generator,
    e: pd.DataFrame,
    dob: np.ndarray,
    uasc: np.ndarray,
    ls: np.ndarray,
    kind: np.ndarray,
    newpl: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PLACE of each episode (by family and age at the event), with ``kind`` and ``newpl`` (a new placement
    starts) updated where a placement with parents must end; ``dob`` and ``uasc`` are per episode."""
    ev_day = e["day"].to_numpy()
    age = age_on(dob, ev_day)
    b = np.select([age < 5, age < 13, age < 16], [0, 1, 2], 3)
    b = np.where(uasc & (age >= 16), 4, b)
    fam = PLACE_FAM[sample_rows(np.cumsum(PLACE_P / PLACE_P.sum(1, keepdims=True), axis=1), b, rng.random(len(e)))]
    fam = np.where((fam == "P1") & ~np.isin(ls, CARE_ORDERS), "F", fam)
    fam = np.where(np.isin(ls, ["J2"]) & (fam == "P1"), "F", fam)
    fam = np.where((fam == "R5") & (age < 10), "F", fam)  # youth custody only from age 10 (rule 372)
    fost = FOSTER[np.searchsorted(np.cumsum(FOSTER_P), rng.random(len(e)) * 0.99999)]
    place = np.where(fam == "F", fost, fam)
    force = e["force"].to_numpy()
    place_new = np.where(force != "", force, place)
    place = _ffill(place_new, newpl)
    # A legal status change that ends a care order while placed with parents (P1) also moves the child
    # (rule: P1 needs C1/C2), so that episode becomes a placement and legal change (RNE T) to foster care.
    for _ in range(3):
        bad = (place == "P1") & ~np.isin(ls, CARE_ORDERS)
        if not bad.any():
            break
        kind = np.where(bad & (kind == 2), 3, kind)
        newpl = newpl | bad
        place_new = np.where(bad, fost, place_new)
        place = _ffill(place_new, newpl)
    return place, kind, newpl


def _placement_rules(place: np.ndarray, newpl: np.ndarray, pl_end: np.ndarray) -> np.ndarray:
    """PLACE after the rules on dates and previous placements, each placement's code carried over its
    episodes."""
    # Independent living (P2) ends on 28/10/2023 (rule 217t): placements going on after it are supported
    # accommodation (H5) instead.
    place = np.where((place == "P2") & (pl_end > day(2023, 10, 27)), "H5", place)
    # Placed for adoption with a placement order with the current foster carers (A5) only from a foster
    # placement (rule 336; A4 and A6 are placements not with the current foster carers).
    prev_place = np.r_[None, place[:-1]]
    place = np.where((place == "A5") & newpl & ~np.isin(prev_place, FOSTER_OR_ADOPTION), "A6", place)
    return _ffill(place, newpl)


def _reasons_for_change(rng: np.random.Generator, rne: np.ndarray, force: np.ndarray, last: np.ndarray) -> np.ndarray:
    """REASON_PLACE_CHANGE, given on an episode the next placement change ends (APPRR before an adoption)."""
    next_rne = np.append(rne[1:], "S")
    rpc = np.where(
        ~last & np.isin(next_rne, ["P", "T"]),
        np.array(RPC)[np.searchsorted(np.cumsum(RPC_P), rng.random(len(rne)) * 0.99999)],
        "",
    )
    next_force = np.append(force[1:], "")
    return np.where(next_force != "", "APPRR", rpc)


def _providers(rng: np.random.Generator, place: np.ndarray, newpl: np.ndarray) -> np.ndarray:
    """PLACE_PROVIDER: one per placement (rule 434: an RNE L episode keeps it); none for Z1 (rule 178); never
    own provision (PR1) for P1, R2 or R5 (rule 527): health (R2) and custody (R5) are other public bodies (PR3)."""
    n = len(place)
    prov = np.select(
        [
            place == "P1",
            np.isin(place, ["U1", "U2", "U3"]),
            np.isin(place, ["U4", "U5", "U6"]),
            place == "K2",
            np.isin(place, ["A5", "A6"]),
            place == "Z1",
            np.isin(place, ["R2", "R5"]),
        ],
        [
            "PR0",
            "PR1",
            np.where(rng.random(n) < 0.6, "PR1", "PR4"),
            np.where(rng.random(n) < 0.25, "PR1", "PR4"),
            "PR1",
            "",
            "PR3",
        ],
        np.where(rng.random(n) < 0.5, "PR4", "PR1"),
    )
    return _ffill(prov, newpl)


def _urns(place: np.ndarray, pid: np.ndarray, pl_grp: np.ndarray, pl_end: np.ndarray) -> np.ndarray:
    """URN of each episode's placement.

    Supported accommodation (H5) registered with Ofsted from 28/10/2023 needs its own URN (rule 230): a 7-digit
    number per placement, written from the 2023/24 return on (rule 222 of earlier packs forbids it). Every
    placement type that takes a URN has one (rule 218), XXXXXXX when not known; none for P1, P2, Z1.
    """
    urn = np.where(np.isin(place, ["P1", "P2", "Z1", "H5"]), "", "XXXXXXX")
    h5_urn = (2_000_000 + (pid * 7919 + pl_grp * 104729) % 1_000_000).astype(str)
    return np.where((place == "H5") & (pl_end > day(2023, 10, 27)), h5_urn, urn)


def build_episodes(
    rng: np.random.Generator, p: pd.DataFrame, model: dict[str, Any], lo: int = -(10**9)
) -> pd.DataFrame:
    """Episodes for the periods in ``p`` (index = period id). Columns: pid, decom, dec, rne, ls, place, ..."""
    pid = p.index.to_numpy()
    e = episode_events(rng, p, model)
    i = e["i"].to_numpy()
    ls = e["ls"].replace("", np.nan).ffill().to_numpy()
    kind = e["kind"].to_numpy()
    newpl = (kind & 1).astype(bool) | (kind == 4)
    place, kind, newpl = _placements(rng, e, p["dob"].to_numpy()[i], p["uasc"].to_numpy()[i], ls, kind, newpl)
    ev_day = e["day"].to_numpy()
    last = np.r_[i[1:] != i[:-1], True]
    dec = np.where(last, p["end"].to_numpy()[i], np.r_[ev_day[1:], 0])
    pl_grp = np.cumsum(newpl)
    pl_end = np.maximum.reduceat(dec, np.flatnonzero(newpl))[pl_grp - 1] if len(e) else dec
    place = _placement_rules(place, newpl, pl_end)
    rne = np.select([kind == 4, kind == 1, kind == 2, kind == 3], ["S", "P", "L", "T"], "P")
    # Placed for adoption with the current foster carers on the day of the placement order: legal status and
    # placement change, the carer does not (RNE U; rule 217 wants S, T or U there, rule 435 reads T as a
    # change of carer).
    rne = np.where((rne == "T") & np.isin(place, ["A3", "A5"]), "U", rne)
    rec = np.where(last, p["rec_end"].to_numpy()[i], "X1")
    # Special guardianship to former foster carers (E45/E46) only from a foster placement (rule 516).
    rec = np.where(np.isin(rec, ["E45", "E46"]) & ~np.isin(place, FOSTER), "E41", rec)
    rpc = _reasons_for_change(rng, rne, e["force"].to_numpy(), last)
    prov = _providers(rng, place, newpl)
    urn = _urns(place, pid[i], pl_grp, pl_end)
    keep = dec >= lo  # only episodes that reach the first collection year are written
    cat = pd.Categorical
    return pd.DataFrame(
        {
            "pid": pid[i][keep],
            "decom": ev_day[keep],
            "dec": dec[keep],
            "rne": cat(rne[keep]),
            "ls": cat(ls[keep]),
            "cin": cat(p["cin"].to_numpy()[i][keep]),
            "place": cat(place[keep].astype(str)),
            "provider": cat(prov[keep]),
            "rec": cat(rec[keep]),
            "rpc": cat(rpc[keep]),
            "urn": urn[keep].astype(object),
        }
    )
