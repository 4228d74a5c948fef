"""Computed measures kept for re-use under ``.cache/measures/<key>/``, one pickle per measure function.

The key is the validated inputs' cache key, the years and the measures code (:func:`rap.core.codehash.code_hash`
of this package), so sections running in parallel share the work and a change to either recomputes. Only data
that came from the inputs cache (``cache_key`` and ``cache_root`` set) is stored; other data is computed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

#: Computed measures kept for re-use (one folder per inputs + measures code), newest first.
MEASURE_CACHE_KEEP = 2


def _measures_code_hash() -> str:
    from rap.core.codehash import code_hash

    return code_hash("rap.measures")


def cache_dir(data, years: list[int]) -> Path | None:
    """The folder of ``data``'s measures for ``years``, or None when ``data`` did not come from the inputs cache."""
    if getattr(data, "cache_key", None) is None or getattr(data, "cache_root", None) is None:
        return None
    from rap.core.hashing import sha256_json

    key = sha256_json({"inputs": data.cache_key, "years": list(years), "code": _measures_code_hash()})
    return Path(data.cache_root) / "measures" / key


def stored_results(
    data, years: list[int], names: list[str], compute_one: Callable[[str], pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """The result of ``compute_one(name)`` for every name, taken from the store when there and put there when not.

    A function another process is computing (its lock is held) is skipped and collected at the end, by which
    time it is usually done. Without a store (or when its folder cannot be made) the functions simply run.
    """
    from rap.core.cache import keep_newest, shared_pickles

    folder = cache_dir(data, years)
    if folder is None:
        return {n: compute_one(n) for n in names}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
    except OSError:
        return {n: compute_one(n) for n in names}
    results = shared_pickles(folder, names, compute_one)
    keep_newest(folder.parent, MEASURE_CACHE_KEEP, protect={folder.name})
    return results
