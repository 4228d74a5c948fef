"""What one file says, as text segments; and reading any bytes: containers unpacked, images' text chunks,
text decoded (UTF-8, or UTF-16 with a byte-order mark or when it looks like it)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from dataclasses import dataclass, field

from rap.build.leaks.match import Segment, strip_data_uris

__all__ = ["Contents", "bytes_contents", "decode", "is_image", "merge", "png_text"]

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
#: a container inside a container inside ... is read this deep
MAX_DEPTH = 4
#: an archive member or decompressed stream larger than this is read up to it (a zip bomb stops here)
MAX_BYTES = 512 * 1024 * 1024


@dataclass
class Contents:
    """What one file says: segments searched for everything, segments searched for identifiers only (run
    metadata with timestamps), and the places of images whose text cannot be read."""

    segments: list[Segment] = field(default_factory=list)
    id_only: list[Segment] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    #: False for an image file: its pixels are not read (an image in the report; elsewhere it is a finding)
    readable: bool = True


def decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    text = data.decode("utf-8", errors="replace")
    if data.count(b"\x00") > len(data) // 4:  # UTF-16 without a byte-order mark reads as letters and NULs
        text += "\n" + data.decode("utf-16-le", errors="replace") + "\n" + data.decode("utf-16-be", errors="replace")
    return text


def is_image(data: bytes) -> bool:
    return data.startswith(IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decompressed(data: bytes) -> bytes | None:
    """The contents of a gzip, bzip2 or xz stream (at most :data:`MAX_BYTES`), else None."""
    for magic, module in ((b"\x1f\x8b", gzip), (b"BZh", bz2), (b"\xfd7zXZ\x00", lzma)):
        if data.startswith(magic):
            try:
                with module.open(io.BytesIO(data)) as fh:  # type: ignore[attr-defined]
                    return fh.read(MAX_BYTES)
            except (OSError, EOFError, lzma.LZMAError, ValueError):
                return None
    return None


def png_text(data: bytes) -> str:
    """The text chunks of a PNG (tEXt, zTXt, iTXt): what a program can read of it without the pixels."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        try:
            if kind == b"tEXt":
                out.append(body.replace(b"\x00", b" ").decode("latin-1"))
            elif kind == b"zTXt":
                key, _, rest = body.partition(b"\x00")
                out.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1"))
            elif kind == b"iTXt":
                key, _, rest = body.partition(b"\x00")
                compressed, rest = rest[:1] == b"\x01", rest[2:]
                _lang, _, rest = rest.partition(b"\x00")
                _tkey, _, text = rest.partition(b"\x00")
                out.append(
                    key.decode("latin-1")
                    + " "
                    + (zlib.decompress(text) if compressed else text).decode("utf-8", "replace")
                )
        except zlib.error:
            continue
    return "\n".join(out)


def columnar_text(data: bytes) -> str | None:
    """A Parquet or Arrow (Feather) file's values as text, one line per column (their pages are compressed:
    the bytes hold almost none of the values); None if it is neither, or pyarrow cannot read it."""
    if not (data[:4] == b"PAR1" or data[:6] == b"ARROW1"):
        return None
    try:
        import pyarrow.feather as feather
        import pyarrow.parquet as parquet

        table = parquet.read_table(io.BytesIO(data)) if data[:4] == b"PAR1" else feather.read_table(io.BytesIO(data))
    except Exception:  # pyarrow absent, or a file it cannot read: the bytes are read instead
        return None
    lines = [",".join(table.column_names)]
    for column in table.columns:
        lines.append(",".join(str(v) for v in column.unique().to_pylist() if v is not None))
    return "\n".join(lines)


def bytes_contents(data: bytes, label: str = "", derived: bool = False, depth: int = 0) -> Contents:
    """Any bytes: a zip's members, a compressed stream's contents, a Parquet or Arrow file's values, an
    image's text chunks, else the text."""
    if depth < MAX_DEPTH and data[:4] == b"PK\x03\x04":
        try:
            return _zip_members(data, label, derived, depth)
        except (zipfile.BadZipFile, OSError, ValueError):
            pass
    inner = _decompressed(data) if depth < MAX_DEPTH else None
    if inner is not None:
        return bytes_contents(inner, label, derived, depth + 1)
    where = label or "whole file"
    table = columnar_text(data)
    if table is not None:
        return Contents([Segment(f"{label} values" if label else "values", table, "column")])
    if is_image(data):
        text = png_text(data) if data.startswith(IMAGE_MAGIC[0]) else decode(data)
        return Contents([Segment(label, text, None)], images=[] if derived else [where], readable=depth > 0)
    return Contents([Segment(label, strip_data_uris(decode(data)))])


def _zip_members(data: bytes, label: str, derived: bool, depth: int) -> Contents:
    out = Contents()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            with z.open(info) as fh:
                member = fh.read(MAX_BYTES)
            name = f"{label} > {info.filename}" if label else info.filename
            merge(out, bytes_contents(member, name, derived, depth + 1))
    return out


def merge(into: Contents, other: Contents) -> None:
    into.segments += other.segments
    into.id_only += other.id_only
    into.images += other.images
