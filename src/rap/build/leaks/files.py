"""Every file a build writes, read as the text a person (or a program) could get out of it.

* Text (CSV, Markdown, QMD, JSON, YAML, HTML and SVG with base64 images dropped and entities decoded, CSS,
  ...): as it is.
* Notebooks: cells' sources, text outputs (streams, errors, ``text/*``) and outputs' metadata, where
  :func:`rap.present.display.figure` puts every text of a chart (title, axis labels, tick labels, legend,
  annotations). A figure without that text (an ``image/*`` output, or a Markdown image) is an
  *unchecked image*: the scan cannot read what the picture says.
* DOCX: ``word/*.xml`` text (one paragraph a line) with image alt text; XLSX: text cells, cells formatted
  as dates (a date of birth as an Excel serial number), sheet names, charts and comments; numeric cells
  are statistics, as numeric EES indicator cells, and are not read. Their ``docProps`` (created and
  modified timestamps) are searched for identifiers only.
* PDF: page text, figures' alt text, document properties (:mod:`rap.build.leaks.pdf`).
* Images (PNG, JPEG, GIF, WebP, BMP, TIFF): their text chunks and bytes; an image outside ``report/`` is an
  unchecked image (the report's images come from the notebooks' figures, whose text is checked there).
* Anything else, and any file a reader above cannot parse: its bytes, decoded as UTF-8 (UTF-16 when it has
  a byte-order mark or looks like it), after unpacking a zip, gzip, bzip2 or xz container; every member
  of a zip is read the same way. Nothing is skipped because of its name.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from rap.build.leaks.contents import Contents, bytes_contents, decode
from rap.build.leaks.match import Segment, strip_data_uris
from rap.build.leaks.office import docx_contents, xlsx_contents
from rap.build.leaks.pdf import pdf_segments

__all__ = ["TEXT_SUFFIXES", "read_contents"]

TEXT_SUFFIXES = frozenset(
    {".csv", ".md", ".qmd", ".json", ".yml", ".yaml", ".html", ".htm", ".css", ".txt", ".tex", ".typ"}
    | {".xml", ".svg", ".js", ".lua", ".log", ".tsv"}
)
_MARKUP = frozenset({".html", ".htm", ".svg", ".xml"})
#: where display.figure puts a chart's text in its output's metadata
FIGURE_TEXT = ("rap", "figure_text")


def _text_segments(path: Path) -> list[Segment]:
    text = strip_data_uris(decode(path.read_bytes()))
    if path.suffix.lower() in _MARKUP:
        # an entity (&#47;) must not hide a date; entities for line breaks become spaces to keep line numbers
        text = html.unescape(re.sub(r"&#0*1[03];|&#[xX]0*[aAdD];|&NewLine;", " ", text))
    header = None
    if path.suffix.lower() == ".csv":
        import csv

        header = next(csv.reader([text.split("\n", 1)[0]]), [])
    return [Segment("", text, "line", header)]


def _joined(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def _figure_text(out: dict[str, Any]) -> list[str] | None:
    """The chart's texts display.figure recorded with an output, or None."""
    value: Any = out.get("metadata") or {}
    for key in FIGURE_TEXT:
        value = value.get(key) if isinstance(value, dict) else None
    return [str(v) for v in value] if isinstance(value, list) else None


def _output_segments(out: dict[str, Any], where: str, images: list[str]) -> list[Segment]:
    """One output: its text, its metadata (a chart's text among it) and whether it shows an image nobody
    checked."""
    parts: list[str] = []
    if "text" in out:
        parts.append(_joined(out["text"]))
    if out.get("output_type") == "error":
        parts += [str(out.get("ename", "")), str(out.get("evalue", "")), "\n".join(out.get("traceback", []))]
    data = out.get("data") or {}
    for mime, value in data.items():
        if mime.startswith("text/") or mime in ("application/json", "application/javascript"):
            parts.append(_joined(value) if not isinstance(value, dict) else json.dumps(value))
    text = "\n".join(parts)
    segs = [Segment(where, strip_data_uris(text))] if parts else []
    figure = _figure_text(out)
    if figure is not None:  # one segment a text: an axis label and the tick below it are not one phrase
        segs += [Segment(f"{where}, figure text {k}", text, None) for k, text in enumerate(figure, start=1)]
    rest = {k: v for k, v in (out.get("metadata") or {}).items() if k != FIGURE_TEXT[0]}
    if rest:
        segs.append(Segment(f"{where}, metadata", json.dumps(rest, ensure_ascii=False), None))
    shows_image = any(m.startswith("image/") for m in data) or "data:image/" in text
    if shows_image and figure is None:
        images.append(f"{where} (an image without its text: emit charts with rap.present.display.figure)")
    return segs


def _notebook_contents(path: Path) -> Contents:
    """Cell sources, outputs and their metadata; the notebook's and cells' metadata (papermill's timestamps)
    are not read."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = Contents()
    for i, cell in enumerate(nb.get("cells", []), start=1):
        source = _joined(cell.get("source", ""))
        out.segments.append(Segment(f"cell {i} source", strip_data_uris(source)))
        if cell.get("attachments") or "data:image/" in source:
            out.images.append(f"cell {i} source (an image attached to the cell)")
        for j, output in enumerate(cell.get("outputs", []), start=1):
            out.segments += _output_segments(output, f"cell {i} output {j}", out.images)
    return out


#: Quarto's HTML book copies its own JavaScript and CSS here: searched for identifiers, not for dates (a
#: library's release date, e.g. "AnchorJS - v5.0.0 - 2023-01-18", is no child's).
VENDORED = "report/_book/site_libs/"


def _read(path: Path, rel: str, root_manifest: bool) -> Contents:
    suffix, derived = path.suffix.lower(), rel.startswith("report/")
    if suffix == ".ipynb":
        return _notebook_contents(path)
    if suffix == ".docx":
        return docx_contents(path, derived)
    if suffix == ".pdf":
        segs, props = pdf_segments(path)
        return Contents(segs, props)
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_contents(path, derived)
    if suffix in TEXT_SUFFIXES:
        segs = _text_segments(path)
        return Contents([], segs) if root_manifest or rel.startswith(VENDORED) else Contents(segs)
    return bytes_contents(path.read_bytes(), "", derived)


def read_contents(path: Path, rel: str, root_manifest: bool = False) -> Contents:
    """What the file at ``path`` (``rel`` in the build) says; a file its format's reader cannot parse is read
    as bytes."""
    try:
        return _read(path, rel, root_manifest)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError, AttributeError, TypeError):
        pass
    except Exception as e:  # pypdf's own errors (PdfReadError and others): read the bytes instead
        if type(e).__module__.split(".")[0] != "pypdf":
            raise
    return bytes_contents(path.read_bytes(), "", rel.startswith("report/"))
