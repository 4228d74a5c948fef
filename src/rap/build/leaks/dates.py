"""Dates as people and programs write them: the forms the leak scan reads a date of birth in.

One regular expression finds every form (:data:`DATE`); :func:`match_dates` turns a match into the dates it
can mean (two for a two-digit year). Forms, each with a day and month that must make a real date:

* day, month, four-digit year with the same separator twice: ``06/09/2010``, ``6/9/2010``, ``06-09-2010``,
  ``06.09.2010``;
* year, month, day: ``2010-09-06`` (also the start of ``2010-09-06T00:00:00``), ``2010/09/06`` (not after a
  ``/``: ``http://www.w3.org/1999/02/22-rdf-syntax-ns`` is a URL) and, with two-digit month and day only,
  ``2010.09.06`` (``2024.1.2`` is a package version);
* a two-digit year: ``06/09/10``, ``6-9-10`` and, two digits each, ``06.09.10`` (``3.11.10`` is a version);
  the year is read both as 19yy and 20yy;
* eight digits alone: ``20100906`` (yyyymmdd) and ``06092010`` (ddmmyyyy), not inside a longer number,
  a code or the decimals of a number;
* a month name, full or short (``Sep``, ``Sept``), any case: ``6 September 2010``, ``06 Sep 2010``,
  ``6th of September, 2010``, ``06-Sep-2010``, ``06Sep2010``, ``06-Sep-10``, ``September 6, 2010``;
* a spreadsheet's date cell, a number of days since 1899-12-30 (:func:`excel_serial_date`; read by the
  XLSX reader, which knows which cells are formatted as dates).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["DATE", "date_spans", "excel_serial_date", "match_dates", "period_dates"]

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "(?i:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"
#: not the tail of a longer number or date (a digit, or a digit and a separator, before it)
_START = r"(?<![0-9])(?<![0-9][/.\-])"
#: not followed by more of a number or date
_END = r"(?![0-9])(?![/.\-][0-9])"
_DAY_SUFFIX = r"(?i:st|nd|rd|th)?"

_NUMERIC_FORMS = [
    rf"(?=[0-9]){_START}(?P<d1>[0-3]?[0-9])(?P<s1>[/.\-])(?P<m1>[01]?[0-9])(?P=s1)(?P<y1>[0-9]{{4}}){_END}",
    # not after a "/": a URL's path (the RDF namespace every SVG declares, http://www.w3.org/1999/02/22-rdf-...)
    rf"(?=[0-9]){_START}(?<!/)(?P<y2>[12][0-9]{{3}})(?P<s2>[/\-])(?P<m2>[01]?[0-9])(?P=s2)(?P<d2>[0-3]?[0-9]){_END}",
    rf"(?=[0-9]){_START}(?P<y3>[12][0-9]{{3}})\.(?P<m3>[01][0-9])\.(?P<d3>[0-3][0-9]){_END}",
    rf"(?=[0-9]){_START}(?P<d4>[0-3]?[0-9])(?P<s4>[/\-])(?P<m4>[01]?[0-9])(?P=s4)(?P<y4>[0-9]{{2}}){_END}",
    rf"(?=[0-9]){_START}(?P<d5>[0-3][0-9])\.(?P<m5>[01][0-9])\.(?P<y5>[0-9]{{2}}){_END}",
]
_COMPACT_FORMS = [r"(?=[0-9])(?<![0-9A-Za-z.#])(?P<c>[0-9]{8})(?![0-9A-Za-z])"]
_MONTH_FORMS = [
    rf"(?=[0-9])(?<![0-9A-Za-z])(?P<d6>[0-3]?[0-9]){_DAY_SUFFIX}[\s\-./]{{0,3}}(?i:of\s+)?(?P<mon6>{_MONTH})\.?,?"
    rf"[\s\-./]{{0,3}}(?P<y6>[0-9]{{4}})(?![0-9A-Za-z])",
    rf"(?=[0-9])(?<![0-9A-Za-z])(?P<d7>[0-3]?[0-9])-(?P<mon7>{_MONTH})-(?P<y7>[0-9]{{2}})(?![0-9A-Za-z])",
    rf"(?=[JjFfMmAaSsOoNnDd])(?<![A-Za-z])(?P<mon8>{_MONTH})\.?\s{{1,3}}(?P<d8>[0-3]?[0-9]){_DAY_SUFFIX},?\s{{1,3}}"
    r"(?P<y8>[0-9]{4})(?![0-9A-Za-z])",
]
_FORMS = [*_NUMERIC_FORMS, *_COMPACT_FORMS, *_MONTH_FORMS]


def _alternatives(forms: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{f})" for f in forms))


#: every written form of a date (see the module docstring)
DATE = _alternatives(_FORMS)
#: the forms a window around each kind of candidate (see :func:`date_spans`) can hold
_BY_CANDIDATE = {
    "num": _alternatives(_NUMERIC_FORMS),
    "compact": _alternatives(_COMPACT_FORMS),
    "month": _alternatives(_MONTH_FORMS),
    "any": DATE,
}


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _two_digit(y: str, m: int, d: int) -> list[dt.date]:
    return [x for x in (_date(1900 + int(y), m, d), _date(2000 + int(y), m, d)) if x is not None]


def match_dates(m: re.Match[str]) -> list[dt.date]:
    """The dates a match of :data:`DATE` can mean: none (not a real date), one, or two (a two-digit year)."""
    g = m.groupdict()
    for k in ("1", "2", "3"):
        if g.get(f"y{k}"):
            d = _date(int(g[f"y{k}"]), int(g[f"m{k}"]), int(g[f"d{k}"]))
            return [d] if d else []
    for k in ("4", "5"):
        if g.get(f"y{k}"):
            return _two_digit(g[f"y{k}"], int(g[f"m{k}"]), int(g[f"d{k}"]))
    if g.get("c"):
        c = g["c"]
        found = [_date(int(c[:4]), int(c[4:6]), int(c[6:])), _date(int(c[4:]), int(c[2:4]), int(c[:2]))]
        return [x for x in found if x is not None]
    for k in ("6", "8"):
        if g.get(f"y{k}"):
            d = _date(int(g[f"y{k}"]), MONTHS[g[f"mon{k}"].lower()], int(g[f"d{k}"]))
            return [d] if d else []
    return _two_digit(g["y7"], MONTHS[g["mon7"].lower()], int(g["d7"]))


#: what every form holds (two separators between digits, eight digits, or a month's first three letters):
#: :data:`DATE` is tried only around these, since trying it at every character costs seconds a megabyte
_CANDIDATE = re.compile(
    r"(?P<num>[0-9][/.\-][0-9]{1,2}[/.\-][0-9])|(?P<compact>[0-9](?<![0-9A-Za-z.#][0-9])[0-9]{7}(?![0-9A-Za-z]))"
    r"|(?P<month>[JjFfMmAaSsOoNnDd](?i:an|eb|ar|pr|ay|un|ul|ug|ep|ct|ov|ec))"
)
#: how far a date reaches on either side of what :data:`_CANDIDATE` finds in it, with room to spare
_MARGIN = 32


def date_spans(text: str) -> list[tuple[int, int, list[dt.date]]]:
    """(start, end, dates) of every written date in ``text``; a match that is no real date has no dates."""
    windows: list[list[Any]] = []  # start, end, the kind of candidate ("any" once two kinds share a window)
    for m in _CANDIDATE.finditer(text):
        a, b = max(0, m.start() - _MARGIN), min(len(text), m.end() + _MARGIN)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = b
            if windows[-1][2] != m.lastgroup:
                windows[-1][2] = "any"
        else:
            windows.append([a, b, m.lastgroup])
    out = []
    for a, b, kind in windows:
        for m in _BY_CANDIDATE[kind].finditer(text, a, b):
            # the look-ahead of a match ending at a window's end sees the window's end, not the text's
            if b == len(text) or m.end() < b - 4:
                out.append((m.start(), m.end(), match_dates(m)))
    return out


def parse_date(text: str) -> dt.date | None:
    """``text`` as one date in any form of :data:`DATE` (a two-digit year as 20yy), else None."""
    m = DATE.fullmatch(text.strip())
    found = match_dates(m) if m else []
    return found[-1] if found else None


#: day 0 of Excel's (1900) date system: 1899-12-30, because Excel counts a 29 February 1900 that never was
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_1904 = dt.date(1904, 1, 1)


def excel_serial_date(serial: float, date1904: bool = False) -> dt.date | None:
    """The date of a spreadsheet date cell's number (its whole days; the fraction is the time of day)."""
    if not 0 < serial < 2958466:  # up to 9999-12-31
        return None
    return (_EXCEL_1904 if date1904 else _EXCEL_EPOCH) + dt.timedelta(days=int(serial))


def period_dates(years: Iterable[int]) -> frozenset[dt.date]:
    """The first and last days of the collection years ending 31 March of ``years``: dates every report names
    (\"children looked after on 31 March 2024\"), so not taken for a date of birth."""
    out: set[dt.date] = set()
    for y in years:
        out.update({dt.date(y, 3, 31), dt.date(y - 1, 4, 1)})
    return frozenset(out)
