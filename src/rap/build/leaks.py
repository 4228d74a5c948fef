"""The last check of every build: nothing disclosive leaves (issue 7, part 4).

Suppression and redaction are applied where each output is made; this scan checks the result, every file of
a built output folder, so that a new table, a quoted figure, a notebook's stray output or a QA file cannot
publish what the rest of the pipeline protects. It looks for

(a) record-level identifiers of the inputs (:class:`Needles`, built once by :func:`needles_from_record_data`):

* child ids (SSDA903 ``CHILD`` of every table). Only ids of at least :data:`MIN_ID_LENGTH` (6) characters
  are looked for: shorter ids (``1``, ``123``, ``AB12``) are ordinary figures, years and codes, and would be
  "found" in every table. LAs' ids are usually 6 to 10 characters, so nearly every id is covered;
  a purely numeric id does collide with a figure of the same digits, so numeric indicator cells of the
  EES tables (statistics, checked by (b)) are not searched for identifiers;
* UPNs (Header ``UPN`` and the school extract's ``UPN``; ``UN1``-``UN5`` "unknown" codes are shorter than
  6 characters and ignored);
* postcodes (Episodes ``HOME_POST`` and ``PL_POST``): full postcodes only, compared upper case without
  spaces, and found written with no space or one space (``EC3M8UD``, ``ec3m 8ud``). A postcode district
  alone (``EC3M``) identifies nobody and is not looked for;
* dates of birth (``DOB`` of every table and Header ``MC_DOB``): children's DOBs cover nearly every day of
  about 20 years, so EVERY date written ``dd/mm/yyyy`` (or ``d/m/yyyy``) or ``yyyy-mm-dd`` that falls in
  the range of the inputs' DOBs is reported, saying whether it is one of them. Published outputs should
  hold no such dates; the manifest (whose run timestamp and git information are run metadata) and a
  DOCX's ``docProps`` are searched for ids, UPNs and postcodes only, never for dates, and a notebook's
  metadata (papermill's timestamps) is not read at all: only its cells' sources and outputs.

Identifiers match whole tokens, case-insensitively: a letter or digit on either side means another token
(``123456`` is not found in ``9123456`` or ``E123456``), as does a preceding ``#`` (a CSS colour
``#123456``) or a preceding "digit." (the decimals of ``0.123456``).

(b) unsuppressed small counts in the EES tables (a ``.csv`` with its ``.meta.csv``): in every column that the
metadata calls an Indicator and ``data/disclosure_counts.yaml`` lists as a count of people, a whole number
from 1 to ``threshold`` in a row whose ``geographic_level`` is not National or Regional (a table without
that column counts as local); in National and Regional rows, which are rounded instead, a count from 1 to
``threshold`` that is not a multiple of ``rounding_base``.

Runs from published tables have no record-level inputs: :meth:`Needles.empty` leaves only (b).

Messages never show an identifier: excerpts replace each one (and every date) with ``[child id]``,
``[UPN]``, ``[postcode]``, ``[date]``; a small count is shown as ``[1 to 5]``.

What is read: text files (CSV, Markdown, QMD, JSON, YAML, HTML with base64 images dropped and entities
decoded, CSS, ...); notebooks' cell sources and text outputs (streams, errors, ``text/*``; not images);
DOCX ``word/*.xml`` text with image alt text; PDF page text and figures' alt text; XLSX text cells
(numeric cells are statistics, like numeric EES indicator cells). Anything else (PNG, SVG, fonts) is
listed in :attr:`ScanReport.not_scanned`, never silently passed.

Speed: each text is tokenised with one regular expression and the tokens looked up in a set (no loop over
needles); EES tables are read once and only their distinct values searched; PDF text operators are read
directly (pypdf's ``extract_text`` takes 0.1 s a page). A national build (about 45 MB: 35 MB of CSV, ten
executed notebooks, an 84-page PDF; 87,000 child ids and 285,000 UPNs) scans in about 4 s on a two-core
machine (7 s when it is busy), plus 3 to 6 s to collect the needles from the validated inputs.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import html
import json
import re
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rap.core.errors import RapError

if TYPE_CHECKING:  # pandas is imported by the functions that read tables, not to find cached scans
    import pandas as pd

    from rap.inputs.load import RecordData

__all__ = [
    "KINDS",
    "MIN_ID_LENGTH",
    "Finding",
    "LeakError",
    "Needles",
    "ScanReport",
    "check_no_leaks",
    "count_columns",
    "meta_for",
    "needles_from_record_data",
    "scan",
    "scan_files",
    "scan_outputs",
    "unclassified_indicators",
]

KINDS = ("child id", "date of birth", "UPN", "postcode", "small count")
#: Child ids and UPNs shorter than this are not looked for (they collide with ordinary figures and codes).
MIN_ID_LENGTH = 6
#: How many findings a LeakError message lists (the total is always given).
MESSAGE_FINDINGS = 10

CHILD_COLUMNS = ("CHILD",)
DOB_COLUMNS = ("DOB", "MC_DOB")
UPN_COLUMNS = ("UPN",)
POSTCODE_COLUMNS = ("HOME_POST", "PL_POST")

TEXT_SUFFIXES = frozenset(
    {
        ".csv",
        ".md",
        ".qmd",
        ".json",
        ".yml",
        ".yaml",
        ".html",
        ".htm",
        ".css",
        ".txt",
        ".tex",
        ".typ",
        ".xml",
        ".js",
        ".lua",
        ".log",
        ".tsv",
    }
)
ROUNDED_LEVELS = frozenset({"National", "Regional"})

# ---------------------------------------------------------------------------------------------------------
# patterns

_ALNUM = "A-Za-z0-9"
#: candidate tokens: whole runs of letters and digits long enough to be an id
_TOKEN = re.compile(rf"(?<![{_ALNUM}])[{_ALNUM}]{{{MIN_ID_LENGTH},}}")
#: boundaries of an identifier match: not inside a token, not a CSS colour, not the decimals of a number
_LEFT = rf"(?<![{_ALNUM}#])(?<![0-9]\.)"
_RIGHT = rf"(?![{_ALNUM}])"
_POSTCODE = re.compile(rf"{_LEFT}([A-Za-z]{{1,2}}[0-9][A-Za-z0-9]?)\s?([0-9][A-Za-z]{{2}}){_RIGHT}")
_POSTCODE_SHAPE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")
_DATE = re.compile(
    r"(?<![0-9/.])(?P<d>[0-3]?[0-9])/(?P<m>[01]?[0-9])/(?P<y>[0-9]{4})(?![0-9/])"
    r"|(?<![0-9-])(?P<iy>[0-9]{4})-(?P<im>[01][0-9])-(?P<id>[0-3][0-9])(?![0-9])"
)
#: base64 data URIs (embedded images and fonts): not text anyone reads, and long runs that would be
#: tokenised for nothing
_DATA_URI = re.compile(r"data:[A-Za-z0-9.+/-]+(?:;[A-Za-z0-9.+=-]+)*;base64,[A-Za-z0-9+/=]+")
_TAG = re.compile(r"<[^>]+>")


# ---------------------------------------------------------------------------------------------------------
# needles


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
    ) -> Needles:
        """Normalise raw values; drop blanks, ids under :data:`MIN_ID_LENGTH` and partial postcodes.

        ``dobs`` may be dates, timestamps or ``dd/mm/yyyy`` strings; unparseable ones are dropped (a date
        that is not a date cannot be written as one).
        """
        tokens: dict[str, str] = {}
        other: dict[str, str] = {}
        for kind, values in (("UPN", upns), ("child id", child_ids)):  # an id that is also a UPN: "child id"
            for v in {v.strip().upper() for v in _distinct(values)}:
                if len(v) >= MIN_ID_LENGTH:
                    (tokens if v.isascii() and v.isalnum() else other)[v] = kind
        pcs = {p for p in ("".join(v.split()).upper() for v in _distinct(postcodes)) if _POSTCODE_SHAPE.fullmatch(p)}
        dates = _to_dates(dobs)
        rng = (min(dates), max(dates)) if dates else None
        return cls(tokens=tokens, other=other, postcodes=frozenset(pcs), dobs=frozenset(dates), dob_range=rng)

    def __repr__(self) -> str:  # never the identifiers themselves: a repr ends up in logs and tracebacks
        return f"Needles({self.describe()})"

    def __bool__(self) -> bool:
        return bool(self.tokens or self.other or self.postcodes or self.dob_range)

    def describe(self) -> str:
        """What is looked for, in numbers only (for logs)."""
        ids = sum(k == "child id" for k in [*self.tokens.values(), *self.other.values()])
        upns = sum(k == "UPN" for k in [*self.tokens.values(), *self.other.values()])
        rng = f" from {self.dob_range[0].year} to {self.dob_range[1].year}" if self.dob_range else ""
        return f"{ids} child ids, {upns} UPNs, {len(self.postcodes)} postcodes, {len(self.dobs)} dates of birth{rng}"

    @cached_property
    def other_pattern(self) -> re.Pattern[str] | None:
        """One alternation of the ids that are not plain tokens (compiled once)."""
        return _alternation(tuple(sorted(self.other, key=len, reverse=True)))


@lru_cache(maxsize=8)
def _alternation(values: tuple[str, ...]) -> re.Pattern[str] | None:
    if not values:
        return None
    return re.compile(_LEFT + "(?:" + "|".join(map(re.escape, values)) + ")" + _RIGHT, re.IGNORECASE)


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
            d = _parse_date(v.strip())
            if d is not None:
                out.add(d)
    return out


def _parse_date(s: str) -> dt.date | None:
    m = _DATE.fullmatch(s)
    if not m:
        return None
    return _match_date(m)


def _match_date(m: re.Match[str]) -> dt.date | None:
    try:
        if m.group("y"):
            return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        return dt.date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
    except ValueError:
        return None


def _column_values(frames: Iterable[pd.DataFrame], columns: Iterable[str]) -> set[object]:
    """Distinct values of ``columns`` across ``frames`` (a set: the same child is in every table and year)."""
    vals: set[object] = set()
    for df in frames:
        for c in columns:
            if c in df.columns and len(df):
                vals.update(df[c].to_numpy(dtype=object, na_value=None))
    vals.discard(None)
    return vals


def needles_from_record_data(data: RecordData) -> Needles:
    """Every child id, DOB, UPN and postcode of the validated inputs, plus those quoted in problems
    (a rejected value can still reach a QA file)."""
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
    return Needles.build(
        child_ids=values(CHILD_COLUMNS), upns=values(UPN_COLUMNS), postcodes=values(POSTCODE_COLUMNS), dobs=dobs
    )


# ---------------------------------------------------------------------------------------------------------
# findings


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


@dataclass
class ScanReport:
    """The findings plus which files were read and which could not be (images, unknown formats)."""

    findings: list[Finding]
    scanned: list[str]
    not_scanned: list[str]
    seconds: float


class LeakError(RapError):
    """A built output holds something disclosive: names the file and place of each finding, never the value."""

    def __init__(self, folder: str | Path, findings: list[Finding]) -> None:
        self.folder = str(folder)
        self.findings = findings
        files = len({f.file for f in findings})
        lines = [f"  {f}" for f in findings[:MESSAGE_FINDINGS]]
        more = len(findings) - MESSAGE_FINDINGS
        if more > 0:
            lines.append(f"  ... and {more} more")
        kinds = ", ".join(
            f"{sum(f.kind == k for f in findings)} {k}" for k in KINDS if any(f.kind == k for f in findings)
        )
        super().__init__(
            f"{self.folder}: {len(findings)} possible disclosures in {files} files ({kinds}); "
            f"identifiers are masked below (the rules are in rap/leaks.py):\n" + "\n".join(lines)
        )


# ---------------------------------------------------------------------------------------------------------
# scanning text


@dataclass(frozen=True)
class _Segment:
    """A piece of a file's text and how to name a place in it."""

    label: str  # e.g. "cell 3 output 1", "page 2", "" for the whole file
    text: str
    unit: str | None = "line"  # lines of the segment are named "<unit> N"; None: the label is enough
    csv_header: list[str] | None = None  # for CSV text: names the column of a match


def _strip_data_uris(text: str) -> str:
    return _DATA_URI.sub("data:", text) if "base64," in text else text


def _location(seg: _Segment, pos: int) -> str:
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


def _csv_field_index(prefix: str) -> int:
    """Which field of a CSV line the end of ``prefix`` is in (commas outside quotes)."""
    n, quoted = 0, False
    for ch in prefix:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            n += 1
    return n


def _mask(text: str, needles: Needles) -> str:
    """``text`` with every date and every identifier of ``needles`` replaced by its kind."""
    out = _DATE.sub("[date]", text)

    def pc(m: re.Match[str]) -> str:
        return "[postcode]" if (m.group(1) + m.group(2)).upper() in needles.postcodes else m.group(0)

    out = _POSTCODE.sub(pc, out)
    out = _TOKEN.sub(
        lambda m: f"[{needles.tokens[m.group(0).upper()]}]" if m.group(0).upper() in needles.tokens else m.group(0), out
    )
    other = needles.other_pattern
    if other is not None:
        out = other.sub(lambda m: f"[{needles.other.get(m.group(0).upper(), 'child id')}]", out)
    return out


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
    a = _edge(text, max(0, start - width), -1, 40)
    b = _edge(text, min(len(text), end + width), +1, 40)
    a, b = min(a, start), max(b, end)
    piece = _mask(text[a:b], needles)
    piece = re.sub(r"\s+", " ", piece).strip()
    return ("..." if a > 0 else "") + piece + ("..." if b < len(text) else "")


def _scan_segment(seg: _Segment, needles: Needles, file: str, *, dates: bool = True) -> list[Finding]:
    """All identifier and date findings in one segment, in order of position."""
    text = seg.text
    hits: list[tuple[int, int, str, str]] = []  # start, end, kind, detail
    if needles.tokens:
        found = {t for t in set(_TOKEN.findall(text)) if t.upper() in needles.tokens}
        if found:
            rx = _alternation(tuple(sorted(found, key=len, reverse=True)))
            assert rx is not None
            for m in rx.finditer(text):
                hits.append((m.start(), m.end(), needles.tokens[m.group(0).upper()], ""))
    other = needles.other_pattern
    if other is not None:
        for m in other.finditer(text):
            hits.append((m.start(), m.end(), needles.other.get(m.group(0).upper(), "child id"), ""))
    if needles.postcodes:
        for m in _POSTCODE.finditer(text):
            if (m.group(1) + m.group(2)).upper() in needles.postcodes:
                hits.append((m.start(), m.end(), "postcode", ""))
    if dates and needles.dob_range is not None:
        lo, hi = needles.dob_range
        for m in _DATE.finditer(text):
            d = _match_date(m)
            if d is not None and lo <= d <= hi:
                detail = (
                    "a child's date of birth in the inputs"
                    if d in needles.dobs
                    else "a date in the range of the children's dates of birth"
                )
                hits.append((m.start(), m.end(), "date of birth", detail))
    hits.sort()
    return [
        Finding(file, kind, _location(seg, s), _excerpt(text, s, e, needles), detail) for s, e, kind, detail in hits
    ]


# ---------------------------------------------------------------------------------------------------------
# reading each kind of file


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _text_segments(path: Path) -> list[_Segment]:
    text = _strip_data_uris(_read_text(path))
    if path.suffix.lower() in (".html", ".htm"):
        # an entity (&#47;) must not hide a date; entities for line breaks become spaces to keep line numbers
        text = html.unescape(re.sub(r"&#0*1[03];|&#[xX]0*[aAdD];|&NewLine;", " ", text))
    header = None
    if path.suffix.lower() == ".csv":
        first = text.split("\n", 1)[0]
        header = next(csv.reader([first]), [])
    return [_Segment("", text, "line", header)]


def _joined(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def _notebook_segments(path: Path) -> list[_Segment]:
    """Cell sources and text outputs (streams, errors, text/* data); images and metadata are skipped."""
    nb = json.loads(_read_text(path))
    segs: list[_Segment] = []
    for i, cell in enumerate(nb.get("cells", []), start=1):
        segs.append(_Segment(f"cell {i} source", _strip_data_uris(_joined(cell.get("source", "")))))
        for j, out in enumerate(cell.get("outputs", []), start=1):
            parts: list[str] = []
            if "text" in out:
                parts.append(_joined(out["text"]))
            if out.get("output_type") == "error":
                parts += [str(out.get("ename", "")), str(out.get("evalue", "")), "\n".join(out.get("traceback", []))]
            for mime, value in (out.get("data") or {}).items():
                if mime.startswith("text/") or mime in ("application/json", "application/javascript"):
                    parts.append(_joined(value) if not isinstance(value, dict) else json.dumps(value))
            if parts:
                segs.append(_Segment(f"cell {i} output {j}", _strip_data_uris("\n".join(parts))))
    return segs


#: a tag carrying alt text (an image's ``descr`` in DOCX): the text is kept, as a reader gets it
_ALT_TEXT = re.compile(r'<[^>]*\b(?:descr|alt)="([^"]*)"[^>]*>')


def _xml_text(xml: str, paragraph_tag: str | None = None) -> str:
    """The text of an Office XML part: runs joined as they are (Word splits words into runs), tags and
    attributes dropped but for alt text, one line per paragraph."""
    if paragraph_tag:
        xml = xml.replace(f"</{paragraph_tag}>", "\n")
    xml = re.sub(r"<w:tab\s*/>|<w:br\s*/>", " ", xml)
    xml = _ALT_TEXT.sub(r" \1 ", xml)
    return _strip_data_uris(html.unescape(_TAG.sub("", xml)))


def _docx_segments(path: Path) -> tuple[list[_Segment], list[_Segment]]:
    """(word/*.xml text, one paragraph a line; docProps/*.xml text, searched for identifiers only)."""
    body, props = [], []
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if name.startswith("word/") and name.endswith(".xml"):
                body.append(_Segment(name, _xml_text(z.read(name).decode("utf-8", "replace"), "w:p"), "paragraph"))
            elif name.startswith("docProps/") and name.endswith(".xml"):
                props.append(_Segment(name, _xml_text(z.read(name).decode("utf-8", "replace")), None))
    return body, props


_XLSX_CELL = re.compile(r'<c\b[^>]*?\br="([A-Z]+[0-9]+)"([^>]*)(?:/>|>(.*?)</c>)', re.S)


def _xlsx_segments(path: Path) -> tuple[list[_Segment], list[_Segment]]:
    """(One segment per distinct shared string, one per inline text cell, plus sheet names; docProps).

    A workbook of published tables repeats the same labels in millions of cells: each distinct string is
    scanned once (a cell-by-cell scan took over 30 s; even finding each string's first cell takes seconds,
    so a finding names the shared string, and the table's CSV, scanned too, names the row). Numeric cells are not read: in a
    spreadsheet of published tables they are statistics, and a six-digit count would "be" a numeric child id.
    (An Excel date is a number too: a DOB stored as one would not be found; the pipeline writes dates, if
    any, as text.)"""
    segs: list[_Segment] = []
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            xml = z.read("xl/sharedStrings.xml").decode("utf-8", "replace")
            shared = [html.unescape(_TAG.sub("", si)) for si in re.findall(r"<si\b.*?</si>", xml, re.S)]
        for name in sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")):
            xml = z.read(name).decode("utf-8", "replace")
            sheet = name.rsplit("/", 1)[-1].removesuffix(".xml")
            if 't="inlineStr"' in xml or 't="str"' in xml:
                for ref, attrs, inner in _XLSX_CELL.findall(xml):
                    kind = re.search(r'\bt="(\w+)"', attrs)
                    if not inner or not kind or kind.group(1) not in ("inlineStr", "str"):
                        continue
                    v = re.search(r"<v>(.*?)</v>", inner, re.S)
                    value = html.unescape(v.group(1)) if v else html.unescape(_TAG.sub("", inner))
                    if value:
                        segs.append(_Segment(f"{sheet} cell {ref}", value, None))
        for k, value in enumerate(shared):
            if value:
                segs.append(
                    _Segment(
                        f"shared string {k + 1} (xl/sharedStrings.xml; the same table's CSV names the row)", value, None
                    )
                )
        # sheet names; document properties (created and modified timestamps: identifiers only, like the manifest)
        if "xl/workbook.xml" in names:
            segs.append(
                _Segment("xl/workbook.xml", _xml_text(z.read("xl/workbook.xml").decode("utf-8", "replace")), None)
            )
        props = [
            _Segment(n, _xml_text(z.read(n).decode("utf-8", "replace")), None)
            for n in sorted(names)
            if n.startswith("docProps/") and n.endswith(".xml")
        ]
    return segs, props


# PDF text. pypdf reads the file, decompresses the pages and reads the fonts' ToUnicode maps; the page content
# is read here with one regular expression that matches only the operators that place or show text (and
# skips over every string, so nothing inside one is mistaken for an operator). pypdf's own extract_text parses
# every drawing operator into objects, about 0.1 s a page: 10 s for the report, where this takes about 1 s.
# A page this reader cannot follow (an inline image, a composite font without a ToUnicode map) falls back to
# pypdf's extract_text.

_STR = rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)"
_HEX = rb"<[0-9A-Fa-f\s]*>"
_NUM = rb"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
#: strings (skipped whole, so nothing inside one is read as an operator), array openings and the operators
#: that choose a font, place text, show text or draw a form
_PDF_SCAN = re.compile(  # the look-ahead lets most positions fail at once: twice as fast
    rb"(?=[(\[TcDB'\"])(?:(?P<str>" + _STR + rb")|(?P<lb>\[)|(?P<op>\b(?:Tf|TJ|Tj|cm|Tm|Td|TD|T\*|Do|BI)\b|['\"]))",
    re.S,
)
_PDF_OPERAND = re.compile(rb"/[^\s/\[\]()<>{}%]*|[^\s/\[\]()<>{}%]+")
_PDF_HEX_LAST = re.compile(rb"<([0-9A-Fa-f\s]*)>\s*$")
_TJ_ITEM = re.compile(rb"(?P<s>" + _STR + rb")|(?P<h>" + _HEX + rb")|(?P<n>" + _NUM + rb")", re.S)
_PDF_PARENS = re.compile(rb"\\([()])")
_PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
_PDF_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|[\r\n]|.)", re.S)
_CMAP_BLOCK = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.S)
_CMAP_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>|\[|\]")


class _PdfFallback(Exception):
    """This page needs pypdf's own extraction."""


def _pdf_literal(tok: bytes) -> bytes:
    """The bytes of a PDF literal string ``(...)``."""
    raw = tok[1:-1]
    if b"\\" not in raw:
        return raw
    if not re.search(rb"\\[^0-7nrtbf()\\\r\n]", raw):  # only escapes Python reads the same way: fast path
        return codecs.escape_decode(_PDF_PARENS.sub(rb"\1", raw))[0]

    def esc(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        if e[:1].isdigit():
            return bytes([int(e, 8) & 0xFF])
        if e in (b"\r\n", b"\r", b"\n"):
            return b""
        return _PDF_ESCAPES.get(e, e)

    return _PDF_ESCAPE.sub(esc, raw)


def _pdf_hex(tok: bytes) -> bytes:
    digits = re.sub(rb"\s", b"", tok[1:-1])
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))


def _pdf_string(tok: bytes) -> bytes:
    return _pdf_literal(tok) if tok[:1] == b"(" else _pdf_hex(tok)


def _utf16(h: bytes) -> str:
    return bytes.fromhex(h.decode("ascii")).decode("utf-16-be", errors="replace")


class _CodeMap(dict):  # type: ignore[type-arg]
    """code -> text for str.translate; a code the font does not map gives nothing."""

    def __missing__(self, key: int) -> str:
        return ""


def _parse_cmap(data: bytes) -> tuple[int, _CodeMap]:
    """(code length in bytes, code -> text) of a ToUnicode CMap (bfchar and bfrange entries)."""
    space = re.search(rb"begincodespacerange\s*<([0-9A-Fa-f]+)>", data)
    width = len(space.group(1)) // 2 if space else 2
    out = _CodeMap()
    for kind, body in _CMAP_BLOCK.findall(data):
        items: list[Any] = []
        group: list[bytes] | None = None
        for m in _CMAP_HEX.finditer(body):
            tok = m.group(0)
            if tok == b"[":
                group = []
            elif tok == b"]":
                items.append(group)
                group = None
            else:
                h = re.sub(rb"\s", b"", m.group(1))
                (group if group is not None else items).append(h)
        if kind == b"bfchar":
            for src, dst in zip(items[0::2], items[1::2]):
                out[int(src, 16)] = _utf16(dst)
        else:
            for lo, hi, dst in zip(items[0::3], items[1::3], items[2::3]):
                a, b = int(lo, 16), int(hi, 16)
                if isinstance(dst, list):
                    for k, d in enumerate(dst[: b - a + 1]):
                        out[a + k] = _utf16(d)
                else:
                    first = bytes.fromhex(dst.decode("ascii"))
                    base = int.from_bytes(first, "big")
                    for k in range(min(b - a + 1, 65536)):
                        out[a + k] = (base + k).to_bytes(len(first), "big").decode("utf-16-be", errors="replace")
    return width, out


_Decoder = tuple[int, "_CodeMap | None"]
_LATIN1: _Decoder = (1, None)


def _font_decoder(font: Any, cache: dict[int, _Decoder]) -> _Decoder:
    """How to turn a font's string bytes into text: its ToUnicode map, else Latin-1 (a simple font)."""
    ref = getattr(font, "indirect_reference", None)
    key = ref.idnum if ref is not None else id(font)
    if key not in cache:
        to_unicode = font.get("/ToUnicode")
        if to_unicode is not None:
            cache[key] = _parse_cmap(to_unicode.get_object().get_data())
        elif font.get("/Subtype") == "/Type0":
            raise _PdfFallback("composite font without ToUnicode")
        else:
            cache[key] = _LATIN1
    return cache[key]


def _decode(raw: bytes, dec: _Decoder) -> str:
    width, cmap = dec
    if cmap is None:
        return raw.decode("latin-1")
    if width == 2:
        return raw.decode("utf-16-be", errors="surrogatepass").translate(cmap)
    if width == 1:
        return raw.decode("latin-1").translate(cmap)
    return "".join(cmap[int.from_bytes(raw[i : i + width], "big")] for i in range(0, len(raw), width))


class _ContentText:
    """Reading one content stream's text operators: the font in use, the baseline of the text shown last and
    where the operands of the next operator start."""

    def __init__(self, content: bytes, resources: Any, cache: dict[int, Any], depth: int) -> None:
        self.content, self.cache, self.depth = content, cache, depth
        self.resources = resources.get_object() if resources is not None else {}
        self.fonts = self.resources.get("/Font") or {}
        self.xobjects = self.resources.get("/XObject") or {}
        self.out: list[str] = []
        self.dec: _Decoder = _LATIN1
        self.cm_y = self.tm_y = 0.0
        self.last_line: tuple[float, float] | None = None
        self.prev_end = 0  # end of the previous operator or string: operands lie between it and the next operator
        self.last_str: tuple[int, bytes] | None = None  # (end, token) of the last string
        self.array_at = -1

    def text(self) -> str:
        """Runs on one baseline joined by a space, a line break between lines."""
        for m in _PDF_SCAN.finditer(self.content):
            kind = m.lastgroup
            if kind == "str":
                self.last_str = (m.end(), m.group(0))
                self.prev_end = m.end()
                continue
            if kind == "lb":
                self.array_at = m.start()
                continue
            op = m.group(0)
            if op == b"TJ" and self.array_at >= 0:
                self._show(self._array_parts(m))
            elif op in (b"Tj", b"'", b'"'):
                self._show_string(m, op)
            else:
                try:
                    self._operator(op, self._operands(m.start()))
                except ValueError as e:  # an operand that is not a number: the stream is not what this reader expects
                    raise _PdfFallback(str(e)) from e
            self.prev_end = m.end()
        return "".join(self.out)

    def _show(self, parts: list[str]) -> None:
        line = (round(self.cm_y, 1), round(self.tm_y, 1))
        if self.last_line is not None:
            self.out.append(" " if line == self.last_line else "\n")
        self.last_line = line
        self.out.extend(parts)

    def _operands(self, end: int) -> list[bytes]:
        return _PDF_OPERAND.findall(self.content, max(self.prev_end, end - 200), end)

    def _array_parts(self, m: re.Match[bytes]) -> list[str]:
        """The text of a ``[...] TJ`` array: its strings, and a space for a gap as wide as a word space."""
        close = self.content.rfind(b"]", self.array_at, m.start())
        parts = []
        for item in _TJ_ITEM.finditer(self.content, self.array_at + 1, close if close > 0 else m.start()):
            if item.group("n"):
                if float(item.group("n")) < -250:  # a gap as wide as a word space
                    parts.append(" ")
            else:
                parts.append(_decode(_pdf_string(item.group(0)), self.dec))
        return parts

    def _show_string(self, m: re.Match[bytes], op: bytes) -> None:
        """``Tj``, ``'`` and ``"``: the string just before the operator."""
        content, last_str = self.content, self.last_str
        gap = content[last_str[0] : m.start()] if last_str else b"x"
        if op != b"Tj":
            self.tm_y += 1  # ' and " move to the next line first
        if last_str and not gap.strip():
            self._show([_decode(_pdf_literal(last_str[1]), self.dec)])
        elif hx := _PDF_HEX_LAST.search(content, max(self.prev_end, m.start() - 4096), m.start()):
            self._show([_decode(_pdf_hex(hx.group(0).rstrip()), self.dec)])

    def _operator(self, op: bytes, args: list[bytes]) -> None:
        """The operators that change the font or the baseline, or draw a form (whose text follows)."""
        if op == b"Tf" and len(args) >= 2:
            font = self.fonts.get(args[-2].decode("latin-1"))
            self.dec = _font_decoder(font.get_object(), self.cache) if font is not None else _LATIN1
        elif op == b"cm" and args:
            self.cm_y = float(args[-1])
        elif op == b"Tm" and args:
            self.tm_y = float(args[-1])
        elif op in (b"Td", b"TD") and args:
            self.tm_y += float(args[-1])
        elif op == b"T*":
            self.tm_y += 1
        elif op == b"Do" and args and self.depth < 8:
            self._form(args[-1])
        elif op == b"BI":
            raise _PdfFallback("inline image")

    def _form(self, name: bytes) -> None:
        xo = self.xobjects.get(name.decode("latin-1"))
        xo = xo.get_object() if xo is not None else None
        if xo is not None and xo.get("/Subtype") == "/Form":
            resources = xo.get("/Resources") or self.resources
            inner = _pdf_content_text(xo.get_data(), resources, self.cache, self.depth + 1)
            if inner:
                self.out.append("\n" + inner)
                self.last_line = None


def _pdf_content_text(content: bytes, resources: Any, cache: dict[int, Any], depth: int = 0) -> str:
    """The text a content stream shows: runs on one baseline joined by a space, a line break between lines."""
    return _ContentText(content, resources, cache, depth).text()


def _pdf_page_text(page: Any, cache: dict[int, Any]) -> str:
    try:
        contents = page.get_contents()
        if contents is None:
            return ""
        return _pdf_content_text(contents.get_data(), page.get("/Resources"), cache)
    except _PdfFallback:
        return page.extract_text() or ""


#: an ISO date broken at a line end after a hyphen is put together again
_PDF_HYPHEN_DIGITS = re.compile(r"(?<=[0-9])-\n(?=[0-9])")


_PDF_ALT = re.compile(rb"/(?:Alt|ActualText)\s*(" + _STR + rb"|" + _HEX + rb")", re.S)


def _pdf_text_string(raw: bytes) -> str:
    """A PDF text string: UTF-16 with a byte-order mark, else (close enough) Latin-1."""
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be", errors="replace")
    return raw.decode("latin-1")


def _pdf_segments(path: Path) -> list[_Segment]:
    """One segment per page (pages numbered from 1), then the alt text of figures (a tagged PDF's /Alt and
    /ActualText, which no page shows but a screen reader reads out)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    cache: dict[int, Any] = {}
    segs = [
        _Segment(f"page {i}", _PDF_HYPHEN_DIGITS.sub("-", _pdf_page_text(page, cache)))
        for i, page in enumerate(reader.pages, start=1)
    ]
    # structure elements stored in the clear (as Typst writes them); any in compressed object streams are
    # not read
    alt = [_pdf_text_string(_pdf_string(m.group(1))) for m in _PDF_ALT.finditer(path.read_bytes())]
    if alt:
        segs.append(_Segment("alt text", "\n".join(alt), "item"))
    return segs


# ---------------------------------------------------------------------------------------------------------
# EES tables


@lru_cache(maxsize=1)
def _count_rules() -> tuple[frozenset[str], tuple[str, ...]]:
    with resources.files("rap.data").joinpath("disclosure_counts.yaml").open("r", encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    return frozenset(spec["counts"]), tuple(spec["not_counts"])


def count_columns(indicators: Iterable[str]) -> list[str]:
    """The indicator columns that are counts of people (``data/disclosure_counts.yaml``)."""
    counts, _ = _count_rules()
    return [c for c in indicators if c in counts]


def unclassified_indicators(indicators: Iterable[str]) -> list[str]:
    """Indicator columns that ``data/disclosure_counts.yaml`` neither lists as counts nor as not counts."""
    counts, not_counts = _count_rules()
    return [c for c in indicators if c not in counts and not any(fnmatch.fnmatchcase(c, p) for p in not_counts)]


def meta_for(path: Path) -> Path | None:
    """The ``.meta.csv`` beside an EES table, or None (not a table, or no metadata)."""
    if path.name.endswith(".meta.csv"):
        return None
    meta = path.with_name(path.name[: -len(".csv")] + ".meta.csv")
    return meta if meta.is_file() else None


def _is_number(values: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_numeric(values, errors="coerce").notna()


def _scan_ees(path: Path, meta: Path, rel: str, needles: Needles, threshold: int, rounding_base: int) -> list[Finding]:
    """Identifiers in the table's distinct values (numeric indicator cells excepted), then small counts."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    m = pd.read_csv(meta, dtype=str, keep_default_na=False)
    if not {"col_name", "col_type"} <= set(m.columns):
        raise ValueError(f"{meta.name} is not EES metadata")
    indicators = set(m.loc[m["col_type"] == "Indicator", "col_name"])
    findings: list[Finding] = []
    if needles:
        header = list(df.columns)
        findings += _scan_segment(_Segment("line 1", ",".join(header), None), needles, rel)
        for col in header:
            s = df[col]
            uniq = pd.Series(pd.unique(s))
            if col in indicators:
                uniq = uniq[~_is_number(uniq)]
            for v in uniq:
                if not v:
                    continue
                found = _scan_segment(_Segment("", v, None), needles, rel)
                if found:  # name the first row holding the value
                    row = int((s.to_numpy() == v).argmax())
                    findings += [replace(f, location=f"line {row + 2}, column {col}") for f in found]
    counts = count_columns([c for c in df.columns if c in indicators])
    if not counts:
        return findings
    level = df["geographic_level"] if "geographic_level" in df.columns else pd.Series("", index=df.index)
    rounded = level.isin(ROUNDED_LEVELS).to_numpy()
    place_cols = [c for c in ("la_name", "region_name") if c in df.columns]
    filters = [c for c in m.loc[m["col_type"] == "Filter", "col_name"] if c in df.columns]
    cells: list[tuple[int, str, bool]] = []
    for col in counts:
        num = pd.to_numeric(df[col], errors="coerce")
        small = (num >= 1) & (num <= threshold) & (num % 1 == 0)
        local = small.to_numpy() & ~rounded
        unrounded = small.to_numpy() & rounded & (num % rounding_base != 0).to_numpy()
        cells += [(int(i), col, False) for i in local.nonzero()[0]]
        cells += [(int(i), col, True) for i in unrounded.nonzero()[0]]
    for i, col, is_rounded in sorted(cells):
        where = next((df.at[i, c] for c in place_cols if df.at[i, c]), "") or level.iat[i] or "row"
        keys = ", ".join(f"{c} {df.at[i, c]}" for c in ["time_period", *filters] if c in df.columns)
        excerpt = f"{level.iat[i] or 'no geographic_level'} {where} ({keys}): {col} = [1 to {threshold}]"
        detail = (
            f"{level.iat[i]} count not rounded to {rounding_base}"
            if is_rounded
            else f"a local count of 1 to {threshold}, not suppressed"
        )
        findings.append(Finding(rel, "small count", f"line {i + 2}, column {col}", excerpt, detail))
    return findings


# ---------------------------------------------------------------------------------------------------------
# the scan


def _file_findings(
    path: Path, rel: str, needles: Needles, threshold: int, rounding_base: int, root_manifest: bool
) -> list[Finding] | None:
    """Findings in one file, or None if its format cannot be read."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".csv" and (meta := meta_for(path)) is not None:
        try:
            return _scan_ees(path, meta, rel, needles, threshold, rounding_base)
        except (ValueError, KeyError, pd.errors.ParserError):
            pass  # not a table EES could load either: read it as text below
    if not needles:
        return [] if suffix in TEXT_SUFFIXES | {".ipynb", ".docx", ".pdf", ".xlsx"} else None
    segs: list[_Segment]
    id_only: list[_Segment] = []
    if suffix == ".ipynb":
        segs = _notebook_segments(path)
    elif suffix == ".docx":
        segs, id_only = _docx_segments(path)
    elif suffix == ".pdf":
        segs = _pdf_segments(path)
    elif suffix == ".xlsx":
        segs, id_only = _xlsx_segments(path)
    elif suffix in TEXT_SUFFIXES:
        segs = _text_segments(path)
        if root_manifest:
            segs, id_only = [], segs
    else:
        return None
    out: list[Finding] = []
    for seg in segs:
        out += _scan_segment(seg, needles, rel)
    for seg in id_only:
        out += _scan_segment(seg, needles, rel, dates=False)
    return out


def scan(folder: Path, needles: Needles, threshold: int, rounding_base: int) -> ScanReport:
    """Scan every file under ``folder``; see the module docstring for what is looked for."""
    folder = Path(folder)
    rels = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]
    return scan_files(folder, rels, needles, threshold, rounding_base)


def scan_files(folder: Path, rels: Iterable[str], needles: Needles, threshold: int, rounding_base: int) -> ScanReport:
    """Scan the files ``rels`` (paths relative to ``folder``, the build's root: a table's ``.meta.csv`` is
    looked for beside it, and ``manifest.json`` at the root is read for identifiers only). Lets a build scan
    what is final while its last files are still being written."""
    t0 = time.perf_counter()
    folder = Path(folder)
    findings: list[Finding] = []
    scanned: list[str] = []
    not_scanned: list[str] = []
    for rel in rels:
        path = folder / rel
        found = _file_findings(path, rel, needles, threshold, rounding_base, root_manifest=rel == "manifest.json")
        if found is None:
            not_scanned.append(rel)
        else:
            scanned.append(rel)
            findings += found
    return ScanReport(findings, scanned, not_scanned, time.perf_counter() - t0)


def scan_outputs(folder: Path, needles: Needles, threshold: int, rounding_base: int) -> list[Finding]:
    """Every possible disclosure in the built output ``folder`` (file paths relative to it)."""
    return scan(folder, needles, threshold, rounding_base).findings


def check_no_leaks(folder: Path, needles: Needles, threshold: int, rounding_base: int) -> ScanReport:
    """Raise :class:`LeakError` if ``folder`` holds anything disclosive; else return what was scanned
    (the caller may log ``not_scanned``: images and formats the scan cannot read)."""
    report = scan(folder, needles, threshold, rounding_base)
    if report.findings:
        raise LeakError(folder, report.findings)
    return report
