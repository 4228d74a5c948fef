"""Fast CSV writing: one year's table for all LAs is turned into lines once, then split into LA folders."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from rap.domain.ssda903 import spec

#: File name of each SSDA903 table in the synthetic layout (see docs/data-contract.md).
FILES = {
    "Header": "header.csv",
    "Episodes": "episodes.csv",
    "Reviews": "reviews.csv",
    "UASC": "uasc.csv",
    "OC2": "oc2.csv",
    "OC3": "oc3.csv",
    "AD1": "ad1.csv",
    "PlacedAdoption": "placed_adoption.csv",
    "PrevPerm": "prev_perm.csv",
    "Missing": "missing.csv",
    "SWEpisodes": "sw_episodes.csv",
}


def columns(table: str) -> list[str]:
    """The columns of an SSDA903 table, in the spec's order."""
    return list(spec()["tables"][table]["columns"])


def tables_for(year: int) -> list[str]:
    """The tables of the synthetic layout that year ``year``'s return has (SWEpisodes from 2023/24)."""
    return [t for t in FILES if spec()["tables"][t].get("from_year", 0) <= year]


def codelist(name: str, year: int) -> list[str]:
    """Year ``year``'s codes of the spec's code list ``name``."""
    for v in spec()["codelists"][name]:
        if v["from"] <= year and year <= v.get("to", 9999):
            return [str(c) for c in v["codes"]]
    raise KeyError(f"no {name} code list for {year}")


def write_split(
    df: pd.DataFrame, table: str, la_codes: list[str], folder_of: Callable[[str], Path], files: dict[str, str]
) -> None:
    """Write ``df`` (with an ``_la`` column of old LA codes) as one CSV per LA, header row always present."""
    cols = columns(table)
    head = ",".join(cols)
    df = df.sort_values("_la", kind="stable")
    lines = df[cols].to_csv(index=False, header=False, lineterminator="\n").split("\n")[:-1] if len(df) else []
    lines = np.array(lines, dtype=object)
    las = df["_la"].to_numpy(dtype=object).astype(str)
    order = np.array(la_codes, dtype=str)
    lo = np.searchsorted(las, order, side="left")
    hi = np.searchsorted(las, order, side="right")
    for code, a, b in zip(la_codes, lo, hi):
        path = folder_of(code) / FILES[table]
        body = "\n".join(lines[a:b])
        text = head + "\n" + (body + "\n" if b > a else "")
        data = text.encode("utf-8")
        path.write_bytes(data)
        files[str(path)] = hashlib.sha256(data).hexdigest()


def write_csv(df: pd.DataFrame, path: Path, files: dict[str, str]) -> None:
    """Write ``df`` as CSV (no index, LF line ends) and record its sha256 in ``files``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    path.write_bytes(data)
    files[str(path)] = hashlib.sha256(data).hexdigest()


def write_bytes(data: bytes, path: Path, files: dict[str, str]) -> None:
    """Write ``data`` and record its sha256 in ``files``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    files[str(path)] = hashlib.sha256(data).hexdigest()
