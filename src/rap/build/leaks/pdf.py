"""The text of a PDF, for the leak scan: every page's text and the figures' alt text.

pypdf reads the file, decompresses the pages and reads the fonts' ToUnicode maps; the page content is read
here with one regular expression that matches only the operators that place or show text (and skips over
every string, so nothing inside one is mistaken for an operator). pypdf's own extract_text parses every
drawing operator into objects, about 0.1 s a page: 10 s for the report, where this takes about 1 s. A page
this reader cannot follow (an inline image, a composite font without a ToUnicode map) falls back to pypdf's
extract_text.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from rap.build.leaks.match import Segment

__all__ = ["pdf_segments"]

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
    """The page's text: this module's reader, else pypdf's extract_text, else the content stream's bytes."""
    try:
        contents = page.get_contents()
        if contents is None:
            return ""
        return _pdf_content_text(contents.get_data(), page.get("/Resources"), cache)
    except (_PdfFallback, ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    try:
        return page.extract_text() or ""
    except Exception:  # pypdf's errors on a page it cannot follow: the raw operators still hold the strings
        contents = page.get_contents()
        return contents.get_data().decode("latin-1") if contents is not None else ""


#: an ISO date broken at a line end after a hyphen is put together again
_PDF_HYPHEN_DIGITS = re.compile(r"(?<=[0-9])-\n(?=[0-9])")


_PDF_ALT = re.compile(rb"/(?:Alt|ActualText)\s*(" + _STR + rb"|" + _HEX + rb")", re.S)


def _pdf_text_string(raw: bytes) -> str:
    """A PDF text string: UTF-16 with a byte-order mark, else (close enough) Latin-1."""
    if raw[:2] == b"\xfe\xff":
        return raw[2:].decode("utf-16-be", errors="replace")
    return raw.decode("latin-1")


def pdf_segments(path: Path) -> tuple[list[Segment], list[Segment]]:
    """(One segment per page (pages numbered from 1), then the alt text of figures (a tagged PDF's /Alt and
    /ActualText, which no page shows but a screen reader reads out); the document properties, searched for
    identifiers only: they hold the creation date)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    cache: dict[int, Any] = {}
    segs = [
        Segment(f"page {i}", _PDF_HYPHEN_DIGITS.sub("-", _pdf_page_text(page, cache)))
        for i, page in enumerate(reader.pages, start=1)
    ]
    # structure elements stored in the clear (as Typst writes them); any in compressed object streams are
    # not read
    alt = [_pdf_text_string(_pdf_string(m.group(1))) for m in _PDF_ALT.finditer(path.read_bytes())]
    if alt:
        segs.append(Segment("alt text", "\n".join(alt), "item"))
    info = reader.metadata or {}
    props = [Segment("document properties", "\n".join(f"{k} {v}" for k, v in info.items()), None)] if info else []
    return segs, props
