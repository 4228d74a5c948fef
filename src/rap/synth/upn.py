"""Unique pupil numbers (UPN) with DfE check letters.

A permanent UPN is 13 characters: a check letter followed by 12 digits (3-digit LA number, 4-digit DfE
establishment number, 2-digit year of allocation, 3-digit serial). The check letter is computed from the 12
digits: multiply the digit in character position 2 by 2, position 3 by 3, ..., position 13 by 13, add the
products, take the remainder on division by 23 and look it up in ``ABCDEFGHJKLMNPQRTUVWXYZ`` (A-Z without I, O
and S: 0 -> A, 1 -> B, ..., 22 -> Z). ``UN1``-``UN5`` are recorded when the UPN is not known
(UN1 not yet of school age (not generated), UN2 under 6 and not yet allocated, UN3 UASC without a UPN, UN4 pending, UN5 sources disagree).
"""

from __future__ import annotations

import numpy as np

CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_WEIGHTS = np.arange(2, 14)


def check_letter(digits: str) -> str:
    """The check letter of 12 digits (positions 2-13 of the UPN)."""
    if len(digits) != 12 or not digits.isdigit():
        raise ValueError(f"need 12 digits, got {digits!r}")
    return CHECK_LETTERS[sum(int(c) * w for c, w in zip(digits, range(2, 14))) % 23]


def is_valid(upn: str) -> bool:
    """True for a permanent UPN with a correct check letter."""
    return len(upn) == 13 and upn[1:].isdigit() and upn[0] == check_letter(upn[1:])


def make_upns(rng: np.random.Generator, la_codes: np.ndarray, alloc_year: np.ndarray) -> np.ndarray:
    """Vectorised: one valid, distinct UPN per row (LA number, random establishment, allocation year, serial)."""
    n = len(la_codes)
    la = np.asarray(la_codes, dtype=np.int64)
    yy = np.asarray(alloc_year, dtype=np.int64) % 100
    est = rng.integers(2000, 8000, n)
    ser = rng.integers(0, 1000, n)
    while True:  # redraw establishment and serial of repeats until every UPN is distinct
        keys = ((la * 10_000 + est) * 100 + yy) * 1000 + ser
        _, first = np.unique(keys, return_index=True)
        if len(first) == n:
            break
        again = np.ones(n, bool)
        again[first] = False
        est[again] = rng.integers(2000, 8000, again.sum())
        ser[again] = rng.integers(0, 1000, again.sum())
    digits = (keys[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    check = np.array(list(CHECK_LETTERS))[(digits * _WEIGHTS).sum(1) % 23]
    body = _rows_to_str(digits)
    return np.char.add(check.astype(str), body.astype(str)).astype(object)


def _rows_to_str(digits: np.ndarray) -> np.ndarray:
    """Each row of digits as one string (through bytes: fast for a million rows)."""
    b = (digits + ord("0")).astype(np.uint8)
    return b.view(f"S{digits.shape[1]}").ravel().astype(str)
