"""Finding the needles in a piece of text, and masking them: the forms an identifier is written in.

* An id, UPN or social worker id matches as a whole token, case-insensitively: a letter or digit on either
  side means another token (``123456`` is not found in ``9123456``), as does a preceding ``#`` (a CSS colour
  ``#123456``) or a preceding "digit." (the decimals of ``0.123456``); punctuation around it does not
  (``ID-123456``, ``child_123456``, ``123456.0``).
* Inside a longer token of letters and digits (``ID123456``, ``X123456Y``, ``childC2004123``) an id is found
  too, unless a digit touches a digit of it (``1234567`` is another number, and ``C20041237`` another id),
  and unless the token is a hex string of 12 characters or more or ``0x...`` (a hash or an address) or an
  ONS code (``E06000001``). An id holding other characters (``AB-123456``) matches as a whole token only.
* A postcode matches upper or lower case, written with no space, one or more spaces, a hyphen, an
  underscore, a dot or a slash between its halves (``EC3M8UD``, ``ec3m  8ud``, ``EC3M-8UD``).
* Dates: every form of :mod:`rap.build.leaks.dates`. A date in the range of the inputs' dates of birth is
  reported (saying whether it is one of them), except the collection years' first and last days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rap.build.leaks.dates import date_spans
from rap.build.leaks.needles import ALNUM, MIN_ID_LENGTH, RIGHT, Needles, alternation

__all__ = ["Finding", "Segment", "mask", "scan_segment", "strip_data_uris"]


@dataclass(frozen=True)
class Finding:
    """One possible disclosure: where it is and an excerpt with the identifier masked."""

    file: str
    kind: str
    location: str
    excerpt: str
    detail: str = ""

    def __str__(self) -> str:
        what = f"{self.kind} ({self.detail})" if self.detail else self.kind
        return f"{self.file}, {self.location}: {what}: {self.excerpt}"


@dataclass(frozen=True)
class Segment:
    """A piece of a file's text and how to name a place in it."""

    label: str  # e.g. "cell 3 output 1", "page 2", "" for the whole file
    text: str
    unit: str | None = "line"  # lines of the segment are named "<unit> N"; None: the label is enough
    csv_header: list[str] | None = None  # for CSV text: names the column of a match


#: candidate tokens: whole runs of letters and digits long enough to be an id
TOKEN = re.compile(rf"(?<![{ALNUM}])[{ALNUM}]{{{MIN_ID_LENGTH},}}")
#: tokens an id is not looked for inside: hashes and addresses, ONS codes
_NOT_INSIDE = re.compile(r"[0-9A-Fa-f]{12,}|0[xX][0-9A-Fa-f]+|[A-Za-z][0-9]{8}")
_DIGITS = re.compile(r"[0-9]+")
#: (the look-behind follows the first letter: a pattern that starts with a character class is searched for
#: that class first, many times faster than trying a look-behind at every character)
_POSTCODE = re.compile(
    rf"([A-Za-z](?<![{ALNUM}#][A-Za-z])[A-Za-z]?[0-9][A-Za-z0-9]?)[\s\-\u2010-\u2015_./]{{0,3}}([0-9][A-Za-z]{{2}}){RIGHT}"
)
#: base64 data URIs (embedded images and fonts): not text anyone reads, and long runs that would be
#: tokenised for nothing
_DATA_URI = re.compile(r"data:[A-Za-z0-9.+/-]+(?:;[A-Za-z0-9.+=-]+)*;base64,[A-Za-z0-9+/=]+")

_Hit = tuple[int, int, str, str]  # start, end, kind, detail


def strip_data_uris(text: str) -> str:
    return _DATA_URI.sub("data:", text) if "base64," in text else text


def _mixed(text: str, start: int) -> bool:
    """A token an id may sit inside: not a CSS colour (``#``) or the decimals of a number."""
    return not (
        start and (text[start - 1] == "#" or (text[start - 1] == "." and text[start - 2 : start - 1].isdigit()))
    )


def _inside_hits(token: str, start: int, needles: Needles) -> list[_Hit]:
    """Ids inside one longer token (see the module docstring)."""
    if _NOT_INSIDE.fullmatch(token):
        return []
    hits: list[_Hit] = []
    tokens, up = needles.tokens, token.upper()
    if needles.numeric_lengths:
        for m in _DIGITS.finditer(up):
            if len(m.group(0)) in needles.numeric_lengths and m.group(0) in tokens:
                hits.append((start + m.start(), start + m.end(), tokens[m.group(0)], ""))
    n = len(up)
    for length in needles.mixed_lengths:
        if length >= n:
            break
        for i in range(n - length + 1):
            sub = up[i : i + length]
            if sub not in tokens or sub.isdigit():
                continue
            if (sub[0].isdigit() and i > 0 and up[i - 1].isdigit()) or (
                sub[-1].isdigit() and i + length < n and up[i + length].isdigit()
            ):
                continue
            hits.append((start + i, start + i + length, tokens[sub], ""))
    return hits


def _id_hits(text: str, needles: Needles) -> list[_Hit]:
    hits: list[_Hit] = []
    if needles.tokens:
        tokens = needles.tokens
        found: set[str] = set()
        for m in TOKEN.finditer(text):
            token = m.group(0)
            up = token.upper()
            if up in tokens:
                found.add(token)
            elif len(token) > MIN_ID_LENGTH and not token.isdigit() and not token.isalpha() and _mixed(text, m.start()):
                hits += _inside_hits(token, m.start(), needles)
        if found:
            rx = alternation(tuple(sorted(found, key=len, reverse=True)))
            assert rx is not None
            hits += [(m.start(), m.end(), tokens[m.group(0).upper()], "") for m in rx.finditer(text)]
    other = needles.other_pattern
    if other is not None:
        hits += [
            (m.start(), m.end(), needles.other.get(m.group(0).upper(), "child id"), "") for m in other.finditer(text)
        ]
    if needles.postcodes:
        for m in _POSTCODE.finditer(text):
            if (m.group(1) + m.group(2)).upper() in needles.postcodes:
                hits.append((m.start(), m.end(), "postcode", ""))
    return hits


def _date_hits(text: str, needles: Needles, every: bool) -> list[_Hit]:
    """Dates in the DOB range (every written date, valid or not, with ``every``: for masking)."""
    hits: list[_Hit] = []
    if not every and needles.dob_range is None:
        return hits
    lo, hi = needles.dob_range or (None, None)
    for s, e, dates in date_spans(text):
        if every:
            if dates or not text[s:e].isdigit():  # eight digits that are no date are a number
                hits.append((s, e, "date of birth", ""))
            continue
        inside = [d for d in dates if lo <= d <= hi and d not in needles.period]  # type: ignore[operator]
        if inside:
            own = any(d in needles.dobs for d in inside)
            detail = (
                "a child's date of birth in the inputs"
                if own
                else "a date in the range of the children's dates of birth"
            )
            hits.append((s, e, "date of birth", detail))
    return hits


def mask(text: str, needles: Needles, every_date: bool = True) -> str:
    """``text`` with every identifier of ``needles`` and every date (only those the scan reports, with
    ``every_date=False``) replaced by its kind."""
    hits = sorted(_id_hits(text, needles) + _date_hits(text, needles, every=every_date))
    out, pos = [], 0
    for s, e, kind, _ in hits:
        if e <= pos:
            continue
        out.append(text[pos : max(s, pos)])
        out.append("[date]" if kind == "date of birth" else f"[{kind}]")
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _csv_field_index(prefix: str) -> int:
    """Which field of a CSV line the end of ``prefix`` is in (commas outside quotes)."""
    n, quoted = 0, False
    for ch in prefix:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            n += 1
    return n


def _location(seg: Segment, pos: int) -> str:
    parts = [seg.label] if seg.label else []
    if seg.unit:
        line_no = seg.text.count("\n", 0, pos) + 1
        parts.append(f"{seg.unit} {line_no}")
        if seg.csv_header is not None:
            start = seg.text.rfind("\n", 0, pos) + 1
            col = _csv_field_index(seg.text[start:pos])
            if col < len(seg.csv_header):
                parts.append(f"column {seg.csv_header[col]}")
    return ", ".join(parts) or "whole file"


_DELIMITERS = frozenset(" \t\r\n,;'\"()<>[]{}|")


def _edge(text: str, pos: int, step: int, limit: int) -> int:
    """Move ``pos`` outwards to a delimiter (at most ``limit`` characters), else inwards to one: an excerpt
    never ends inside a word, since half an id or a date is still part of one. (Half a postcode, a district
    or an inward code alone, identifies nobody.)"""

    def inside(p: int) -> bool:
        return 0 < p < len(text) and text[p - 1] not in _DELIMITERS and text[p] not in _DELIMITERS

    p = pos
    while inside(p) and abs(p - pos) < limit:
        p += step
    if not inside(p):
        return p
    p = pos
    while inside(p):
        p -= step
    return p


def _excerpt(text: str, start: int, end: int, needles: Needles, width: int = 40) -> str:
    """The text around a finding, masked. Its ends are moved out of any identifier or date they would cut
    (``06 September 2010`` cut after ``06`` would show ``September 2010``)."""
    a = _edge(text, max(0, start - width), -1, 40)
    b = _edge(text, min(len(text), end + width), +1, 40)
    a, b = min(a, start), max(b, end)
    lo, hi = max(0, a - width), min(len(text), b + width)
    for s, e, _, _ in _id_hits(text[lo:hi], needles) + _date_hits(text[lo:hi], needles, every=True):
        if s + lo < a < e + lo:
            a = s + lo
        if s + lo < b < e + lo:
            b = e + lo
    piece = mask(text[a:b], needles)
    piece = re.sub(r"\s+", " ", piece).strip()
    return ("..." if a > 0 else "") + piece + ("..." if b < len(text) else "")


def scan_segment(seg: Segment, needles: Needles, file: str, *, dates: bool = True) -> list[Finding]:
    """All identifier and date findings in one segment, in order of position."""
    text = seg.text
    hits = _id_hits(text, needles)
    if dates:
        hits += _date_hits(text, needles, every=False)
    hits.sort()
    return [
        Finding(file, kind, _location(seg, s), _excerpt(text, s, e, needles), detail) for s, e, kind, detail in hits
    ]
