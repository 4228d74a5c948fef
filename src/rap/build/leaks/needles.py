"""The record-level values the leak scan looks for, read once from the validated inputs (:class:`Needles`).

* child ids (SSDA903 ``CHILD`` of every table) and social worker ids (SWEpisodes ``SW_ID``). Only ids of
  at least :data:`MIN_ID_LENGTH` (6) characters are looked for: shorter ones (``1``, ``123``, ``AB12``) are
  ordinary figures, years and codes, and would be "found" in every table. LAs' ids are usually 6 to 10
  characters, so nearly every id is covered;
* UPNs (Header ``UPN`` and the school extract's ``UPN``; ``UN1``-``UN5`` "unknown" codes are too short);
* postcodes (Episodes ``HOME_POST`` and ``PL_POST``): full postcodes only, compared upper case without
  spaces. A postcode district alone (``EC3M``) identifies nobody and is not looked for;
* dates of birth (``DOB`` of every table and Header ``MC_DOB``): their range, since every date in it is
  reported (children's DOBs cover nearly every day of about 20 years), and the dates themselves, to say
  whether a date found is one;
* every value of a rejected or reported input row, by its shape rather than its column (a shifted row puts
  a child id under ``SEX`` and a UPN under ``MOTHER``): the rows are read again from the lines the
  problems name; a value shaped like a UPN is a UPN, one shaped like a postcode and written with a space a
  postcode, any other of :data:`MIN_ID_LENGTH` letters and digits or more, with a digit, a child id.
  Quarantine files (``qa/rejected_*.csv``) are read like every other file, so whatever of such a row
  reaches one is found by its value.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rap.build.leaks.dates import parse_date, period_dates

if TYPE_CHECKING:  # pandas is imported by the functions that read tables, not to find cached scans
    import pandas as pd

    from rap.inputs.load import RecordData

__all__ = ["KINDS", "MIN_ID_LENGTH", "Needles", "needles_from_record_data"]

#: What a finding can be, in the order a message counts them.
KINDS = (
    "child id",
    "date of birth",
    "UPN",
    "postcode",
    "social worker id",
    "small count",
    "unchecked image",
)
#: Ids and UPNs shorter than this are not looked for (they collide with ordinary figures and codes).
MIN_ID_LENGTH = 6

CHILD_COLUMNS = ("CHILD",)
DOB_COLUMNS = ("DOB", "MC_DOB")
UPN_COLUMNS = ("UPN",)
POSTCODE_COLUMNS = ("HOME_POST", "PL_POST")
SW_COLUMNS = ("SW_ID",)

#: the shape of a full postcode, upper case without spaces
POSTCODE_SHAPE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")
#: DfE's unique pupil number: a check letter and 12 digits, or 11 digits and a letter (a temporary UPN)
UPN_SHAPE = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")
_XML_TEXT = re.compile(r">([^<>]+)<")


def _distinct(values: Iterable[object]) -> set[str]:
    """Distinct non-blank values as strings (NaN, None and NA dropped)."""
    import pandas as pd

    return {str(v) for v in values if v is not None and v is not pd.NA and not (isinstance(v, float) and v != v)}


@dataclass(frozen=True, repr=False)
class Needles:
    """The identifiers to look for, normalised once (upper case; postcodes without spaces)."""

    #: upper-case token -> kind, for ids and UPNs made of letters and digits only
    tokens: dict[str, str] = field(default_factory=dict)
    #: ids or UPNs holding other characters (``AB-123456``): few, matched with one alternation
    other: dict[str, str] = field(default_factory=dict)
    postcodes: frozenset[str] = frozenset()
    dobs: frozenset[dt.date] = frozenset()
    dob_range: tuple[dt.date, dt.date] | None = None
    #: dates in the DOB range that are not reported: the collection years' first and last days
    period: frozenset[dt.date] = frozenset()

    @classmethod
    def empty(cls) -> Needles:
        """No record-level inputs (a run from published tables): only small counts are checked."""
        return cls()

    @classmethod
    def build(
        cls,
        *,
        child_ids: Iterable[object] = (),
        upns: Iterable[object] = (),
        postcodes: Iterable[object] = (),
        dobs: Iterable[object] = (),
        sw_ids: Iterable[object] = (),
        rejected: Iterable[object] = (),
    ) -> Needles:
        """Normalise raw values; drop blanks, ids under :data:`MIN_ID_LENGTH` and partial postcodes.

        ``dobs`` may be dates, timestamps or strings in any written form; unparseable ones are dropped (a
        date that is not a date cannot be written as one). ``rejected``: values of rejected input rows,
        classified by their shape (see the module docstring).
        """
        by_shape = _by_shape(_distinct(rejected))
        tokens: dict[str, str] = {}
        other: dict[str, str] = {}
        # a later kind overwrites an earlier: an id that is also a UPN is a "child id"
        for kind, values in (
            ("social worker id", _distinct(sw_ids)),
            ("child id", by_shape["child id"]),
            ("UPN", _distinct(upns) | by_shape["UPN"]),
            ("child id", _distinct(child_ids)),
        ):
            for v in {v.strip().upper() for v in values}:
                if len(v) >= MIN_ID_LENGTH:
                    (tokens if v.isascii() and v.isalnum() else other)[v] = kind
        pcs = {"".join(v.split()).upper() for v in _distinct(postcodes) | by_shape["postcode"]}
        dates = _to_dates(dobs)
        rng = (min(dates), max(dates)) if dates else None
        pcs = {p for p in pcs if POSTCODE_SHAPE.fullmatch(p)}
        return cls(tokens=tokens, other=other, postcodes=frozenset(pcs), dobs=frozenset(dates), dob_range=rng)

    def for_years(self, years: Iterable[int]) -> Needles:
        """These needles with the collection years' first and last days not reported as dates of birth."""
        return replace(self, period=period_dates(years))

    def __repr__(self) -> str:  # never the identifiers themselves: a repr ends up in logs and tracebacks
        return f"Needles({self.describe()})"

    def __bool__(self) -> bool:
        return bool(self.tokens or self.other or self.postcodes or self.dob_range)

    def describe(self) -> str:
        """What is looked for, in numbers only (for logs)."""
        kinds = [*self.tokens.values(), *self.other.values()]
        rng = f" from {self.dob_range[0].year} to {self.dob_range[1].year}" if self.dob_range else ""
        return (
            f"{kinds.count('child id')} child ids, {kinds.count('UPN')} UPNs, "
            f"{kinds.count('social worker id')} social worker ids, {len(self.postcodes)} postcodes, "
            f"{len(self.dobs)} dates of birth{rng}"
        )

    @cached_property
    def other_pattern(self) -> re.Pattern[str] | None:
        """One alternation of the ids that are not plain tokens (compiled once)."""
        return alternation(tuple(sorted(self.other, key=len, reverse=True)))

    @cached_property
    def mixed_lengths(self) -> tuple[int, ...]:
        """Lengths of the ids holding a letter and a digit (looked for inside longer tokens)."""
        return tuple(sorted({len(t) for t in self.tokens if not t.isdigit() and not t.isalpha()}))

    @cached_property
    def numeric_lengths(self) -> frozenset[int]:
        """Lengths of the ids made of digits only (looked for as a run of digits inside a longer token)."""
        return frozenset(len(t) for t in self.tokens if t.isdigit())


#: boundaries of an identifier match: not inside a token, not a CSS colour, not the decimals of a number
ALNUM = "A-Za-z0-9"
LEFT = rf"(?<![{ALNUM}#])(?<![0-9]\.)"
RIGHT = rf"(?![{ALNUM}])"


@lru_cache(maxsize=8)
def alternation(values: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of ``values`` as a whole token."""
    if not values:
        return None
    return re.compile(LEFT + "(?:" + "|".join(map(re.escape, values)) + ")" + RIGHT, re.IGNORECASE)


def _by_shape(values: set[str]) -> dict[str, set[str]]:
    """Rejected values sorted by what they look like: UPN, postcode (written with a space) or child id."""
    out: dict[str, set[str]] = {"UPN": set(), "postcode": set(), "child id": set()}
    for raw in values:
        v = raw.strip().upper()
        compact = "".join(v.split())
        if UPN_SHAPE.fullmatch(v):
            out["UPN"].add(v)
        elif POSTCODE_SHAPE.fullmatch(compact) and compact != v:
            out["postcode"].add(v)
        elif len(v) >= MIN_ID_LENGTH and v.isalnum() and any(c.isdigit() for c in v) and parse_date(v) is None:
            out["child id"].add(v)
    return out


def _to_dates(values: Iterable[object]) -> set[dt.date]:
    import pandas as pd

    out: set[dt.date] = set()
    for v in values:
        if isinstance(v, pd.Timestamp):
            if not pd.isna(v):
                out.add(v.date())
        elif isinstance(v, dt.datetime):
            out.add(v.date())
        elif isinstance(v, dt.date):
            out.add(v)
        elif isinstance(v, str):
            d = parse_date(v)
            if d is not None:
                out.add(d)
    return out


def _column_values(frames: Iterable[pd.DataFrame], columns: Iterable[str]) -> set[object]:
    """Distinct values of ``columns`` across ``frames`` (a set: the same child is in every table and year)."""
    vals: set[object] = set()
    for df in frames:
        for c in columns:
            if c in df.columns and len(df):
                vals.update(df[c].to_numpy(dtype=object, na_value=None))
    vals.discard(None)
    return vals


def problem_rows(problems: pd.DataFrame) -> set[str]:
    """Every value of the input lines the problems name (rejected or reported rows), read again from their
    files: the validated tables hold none of a rejected row, and a problem names only the value that failed.
    A file that cannot be read again adds nothing (the reader reported it)."""
    out: set[str] = set()
    if not len(problems):
        return out
    for name, lines in problems.groupby("file")["line"]:
        wanted = {int(n) for n in lines if n == n}
        try:
            with Path(str(name)).open(encoding="utf-8-sig", errors="replace", newline=None) as fh:
                raw = [line for n, line in enumerate(fh, start=1) if n in wanted]
        except OSError:
            continue
        for line in raw:
            out.update(_XML_TEXT.findall(line) if str(name).lower().endswith(".xml") else next(csv.reader([line]), []))
    return {v.strip() for v in out if v.strip()}


def needles_from_record_data(data: RecordData) -> Needles:
    """Every child id, social worker id, DOB, UPN and postcode of the validated inputs, plus every value of
    the rows the readers rejected or reported (a rejected value can still reach a QA file)."""
    import pandas as pd

    frames = [df for df in [*data.ssda903.tables.values(), *data.school.tables.values()] if len(df)]
    problems = data.problems
    prob: dict[str, set[object]] = {}
    if len(problems):
        p = problems[problems["value"].notna()]
        for col, vals in p.groupby("column")["value"]:
            prob[str(col)] = set(vals)

    def values(cols: tuple[str, ...]) -> set[object]:
        return _column_values(frames, cols).union(*(prob.get(c, set()) for c in cols))

    dobs: set[object] = set()
    for df in frames:
        for c in DOB_COLUMNS:
            if c in df.columns:
                dobs.update(pd.to_datetime(pd.Series(pd.unique(df[c].dropna())), errors="coerce").dropna().dt.date)
    dobs.update(v for c in DOB_COLUMNS for v in prob.get(c, set()))
    rejected = problem_rows(problems) | {str(v) for vals in prob.values() for v in vals}
    return Needles.build(
        child_ids=values(CHILD_COLUMNS),
        upns=values(UPN_COLUMNS),
        postcodes=values(POSTCODE_COLUMNS),
        dobs=dobs,
        sw_ids=values(SW_COLUMNS),
        rejected=rejected,
    )
