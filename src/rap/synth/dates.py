"""Vectorised date helpers. Dates are int64 days since 1970-01-01; ``NA_DAY`` marks a blank date."""

from __future__ import annotations

import datetime as dt

import numpy as np

NA_DAY = np.iinfo(np.int64).min
_EPOCH = dt.date(1970, 1, 1)


def day(y: int, m: int, d: int) -> int:
    """The day number of a calendar date."""
    return (dt.date(y, m, d) - _EPOCH).days


def year_start(year: int) -> int:
    """1 April of the collection year's first calendar year (collection year 2024 starts 01/04/2023)."""
    return day(year - 1, 4, 1)


def year_end(year: int) -> int:
    """31 March that ends collection year ``year``."""
    return day(year, 3, 31)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each day number."""
    d64 = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, dd


def birthday(dob: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """The ``n``th birthday (29 February births have theirs on 1 March in common years)."""
    y, m, d = ymd(dob)
    months = (y + n - 1970) * 12 + (m - 1)
    return (months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + d - 1).astype(np.int64)


def age_on(dob: np.ndarray, t: int | np.ndarray) -> np.ndarray:
    """Whole years of age on day ``t``."""
    y, m, d = ymd(dob)
    ty, tm, td = ymd(np.broadcast_to(np.asarray(t, dtype=np.int64), np.shape(dob)))
    before = (tm < m) | ((tm == m) & (td < d))
    return ty - y - before.astype(np.int64)


class DateFormatter:
    """Formats day numbers as ``dd/mm/YYYY`` through a lookup table (fast for millions of values)."""

    def __init__(self, lo: int, hi: int) -> None:
        """A formatter for the days ``lo`` to ``hi``."""
        self.lo = lo
        days = np.arange(lo, hi + 1).astype("datetime64[D]")
        self.table = np.array([d.strftime("%d/%m/%Y") for d in days.astype(dt.date)] + [""], dtype=object)
        self.blank = len(self.table) - 1

    def __call__(self, days: np.ndarray) -> np.ndarray:
        """Each day as ``dd/mm/YYYY`` (blank for ``NA_DAY``); an error for a day outside the range."""
        days = np.asarray(days, dtype=np.int64)
        idx = days - self.lo
        bad = (days == NA_DAY) | (idx < 0) | (idx >= self.blank)
        if ((idx < 0) | (idx >= self.blank))[days != NA_DAY].any():
            raise ValueError("date outside the formatter's range")
        return self.table[np.where(bad, self.blank, idx)]
