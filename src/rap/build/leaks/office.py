"""Office files for the leak scan: a DOCX's text and an XLSX workbook's.

DOCX: ``word/*.xml`` text, one paragraph a line, with image alt text (Word splits words into runs: they are
joined as they are).

XLSX: a workbook of published tables repeats the same labels in millions of cells: each distinct shared
string is scanned once (a cell-by-cell scan took over 30 s; even finding each string's first cell takes
seconds, so a finding names the shared string, and the table's CSV, scanned too, names the row). Numeric
cells are not read: in a spreadsheet of published tables they are statistics, and a six-digit count would
"be" a numeric child id. A number formatted as a date is a date, though (a date of birth written by
``DataFrame.to_excel`` is the number 40427 shown as 2010-09-06): cells whose style has a date format are
read as the date they show. Sheet names, charts and comments are read as text.

Both: ``docProps`` (created and modified timestamps) are searched for identifiers only; other parts as
text or bytes (:func:`office_rest`).
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

from rap.build.leaks.contents import Contents, bytes_contents, merge
from rap.build.leaks.dates import excel_serial_date
from rap.build.leaks.match import Segment, strip_data_uris

__all__ = ["date_styles", "docx_contents", "xlsx_contents", "xml_text"]

_TAG = re.compile(r"<[^>]+>")
#: a tag carrying alt text (an image's ``descr`` in DOCX): the text is kept, as a reader gets it
_ALT_TEXT = re.compile(r'<[^>]*\b(?:descr|alt)="([^"]*)"[^>]*>')
_CELL = re.compile(r'<c\b[^>]*?\br="([A-Z]+[0-9]+)"([^>]*)(?:/>|>(.*?)</c>)', re.S)


def xml_text(xml: str, paragraph_tag: str | None = None) -> str:
    """The text of an Office XML part: runs joined as they are (Word splits words into runs), tags and
    attributes dropped but for alt text, one line per paragraph."""
    if paragraph_tag:
        xml = xml.replace(f"</{paragraph_tag}>", "\n")
    xml = re.sub(r"<w:tab\s*/>|<w:br\s*/>", " ", xml)
    xml = _ALT_TEXT.sub(r" \1 ", xml)
    return strip_data_uris(html.unescape(_TAG.sub("", xml)))


def office_rest(z: zipfile.ZipFile, names: list[str], derived: bool) -> Contents:
    """Members of a DOCX or XLSX not read by its own reader: ``docProps`` for identifiers only, other XML
    parts (charts, comments, custom XML) as text, anything else (images, embedded files) as bytes."""
    out = Contents()
    for name in names:
        data = z.read(name)
        if name.startswith("docProps/") and name.endswith(".xml"):
            out.id_only.append(Segment(name, xml_text(data.decode("utf-8", "replace")), None))
        elif name.endswith((".xml", ".rels")):
            out.segments.append(Segment(name, xml_text(data.decode("utf-8", "replace")), None))
        else:
            merge(out, bytes_contents(data, name, derived, 1))
    return out


def docx_contents(path: Path, derived: bool) -> Contents:
    """``word/*.xml`` text, one paragraph a line; the other members (:func:`_office_rest`)."""
    out = Contents()
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
        body = [n for n in names if n.startswith("word/") and n.endswith(".xml")]
        for name in body:
            out.segments.append(Segment(name, xml_text(z.read(name).decode("utf-8", "replace"), "w:p"), "paragraph"))
        merge(out, office_rest(z, [n for n in names if n not in body], derived))
    return out


#: Excel's built-in number formats that show a date or a time
BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
#: a format code's quoted text, escaped characters and [colour]/[locale] parts, which hold no date tokens
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]')


def _is_date_format(code: str) -> bool:
    return bool(re.search(r"[dmyhs]", _FORMAT_LITERALS.sub("", code), re.IGNORECASE))


def date_styles(styles_xml: str) -> frozenset[int]:
    """The indexes of the cell styles (``cellXfs``) whose number format shows a date."""
    custom = {
        int(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<numFmt\b[^>]*\bnumFmtId="(\d+)"[^>]*\bformatCode="([^"]*)"', styles_xml)
    }
    xfs = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", styles_xml, re.S)
    out = set()
    for i, xf in enumerate(re.findall(r"<xf\b[^>]*>", xfs.group(1) if xfs else "")):
        m = re.search(r'\bnumFmtId="(\d+)"', xf)
        fmt = int(m.group(1)) if m else 0
        if fmt in BUILTIN_DATE_FORMATS or (fmt in custom and _is_date_format(custom[fmt])):
            out.add(i)
    return frozenset(out)


def _cell_segments(xml: str, sheet: str, dates: frozenset[int], date1904: bool) -> list[Segment]:
    """Inline text cells, formula strings, ISO date cells and numbers formatted as dates of one sheet."""
    segs: list[Segment] = []
    for ref, attrs, inner in _CELL.findall(xml):
        kind = re.search(r'\bt="(\w+)"', attrs)
        t = kind.group(1) if kind else "n"
        if not inner or t in ("s", "b", "e"):
            continue
        v = re.search(r"<v>(.*?)</v>", inner, re.S)
        value = html.unescape(v.group(1)) if v else html.unescape(_TAG.sub("", inner))
        if t in ("inlineStr", "str", "d") and value:
            segs.append(Segment(f"{sheet} cell {ref}", value, None))
        elif t == "n" and dates:
            style = re.search(r'\bs="(\d+)"', attrs)
            if style and int(style.group(1)) in dates:
                try:
                    day = excel_serial_date(float(value), date1904)
                except ValueError:
                    day = None
                if day is not None:
                    segs.append(Segment(f"{sheet} cell {ref} (a date cell)", day.isoformat(), None))
    return segs


def _sheet_segments(z: zipfile.ZipFile, names: list[str]) -> list[Segment]:
    styles = z.read("xl/styles.xml").decode("utf-8", "replace") if "xl/styles.xml" in names else ""
    dates = date_styles(styles)
    workbook = z.read("xl/workbook.xml").decode("utf-8", "replace") if "xl/workbook.xml" in names else ""
    date1904 = bool(re.search(r'date1904="(1|true)"', workbook))
    style_attr = re.compile(r'\bs="(' + "|".join(map(str, sorted(dates))) + r')"') if dates else None
    segs: list[Segment] = []
    for name in names:
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        xml = z.read(name).decode("utf-8", "replace")
        sheet = name.rsplit("/", 1)[-1].removesuffix(".xml")
        has_dates = style_attr is not None and style_attr.search(xml) is not None
        if has_dates or any(f't="{t}"' in xml for t in ("inlineStr", "str", "d")):
            segs += _cell_segments(xml, sheet, dates if has_dates else frozenset(), date1904)
    return segs


def xlsx_contents(path: Path, derived: bool) -> Contents:
    """Text cells (each distinct shared string once), date cells, sheet names (``xl/workbook.xml``); the
    other members as :func:`office_rest` reads them (worksheets' numbers and the
    styles excepted)."""
    out = Contents()
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
        out.segments += _sheet_segments(z, names)
        if "xl/sharedStrings.xml" in names:
            xml = z.read("xl/sharedStrings.xml").decode("utf-8", "replace")
            shared = [html.unescape(_TAG.sub("", si)) for si in re.findall(r"<si\b.*?</si>", xml, re.S)]
            label = "shared string {} (xl/sharedStrings.xml; the same table's CSV names the row)"
            out.segments += [Segment(label.format(k), v, None) for k, v in enumerate(shared, start=1) if v]
        if "xl/workbook.xml" in names:
            out.segments.append(
                Segment("xl/workbook.xml", xml_text(z.read("xl/workbook.xml").decode("utf-8", "replace")), None)
            )
        done = {"xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml"}
        rest = [n for n in names if n not in done and not n.startswith("xl/worksheets/sheet")]
        merge(out, office_rest(z, rest, derived))
    return out
