"""Fast reading of many small CSV files that share a table layout.

Each file is read as bytes, checked to be UTF-8 text (no control characters, no CR-only line ends) and split
into header and body once. Bodies with the same column order are concatenated and parsed with a single ``pd.read_csv`` call (one C-parser pass instead of
thousands), then every row gets the id of its file and its physical line number (header = line 1), so a
rejected row can still be traced to its file and line. If a file holds quoted line breaks, row and line
counts disagree and that group falls back to the ``csv`` module, which tracks lines itself.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.errors import InputError
from rap.inputs.readers.quarantine import FILE_COL, LINE_COL

BOM = b"\xef\xbb\xbf"


@dataclass
class CsvFile:
    """One file read into memory: its columns (stripped, in file order) and its body bytes."""

    path: Path
    columns: list[str]
    body: bytes
    body_first_line: int = 2  # physical line of the first body line


def _locate(raw: bytes, pos: int) -> tuple[int, str | None, str | None, int]:
    """Where byte ``pos`` of a file is: (line, column name from the header, the field's text, 1-based
    position in the line). Lines end at LF; the field is found by counting commas (a rough guess inside quotes)."""
    line_start = raw.rfind(b"\n", 0, pos) + 1
    line = raw.count(b"\n", 0, pos) + 1
    line_end = raw.find(b"\n", pos)
    line_bytes = raw[line_start : line_end if line_end >= 0 else len(raw)]
    col_index = raw.count(b",", line_start, pos)
    column = None
    first = raw[: raw.find(b"\n")] if b"\n" in raw else raw
    header = next(csv.reader([first.removeprefix(BOM).decode("utf-8", errors="replace").replace("\r", "")]), [])
    if col_index < len(header):
        column = header[col_index].strip()
    fields = line_bytes.split(b",")
    value = fields[col_index].decode("utf-8", errors="replace").strip() if col_index < len(fields) else None
    return line, column, value, pos - line_start + 1


def _undecodable(path: Path, raw: bytes, exc: UnicodeDecodeError, offset0: int = 0) -> InputError:
    pos = exc.start + offset0
    line, column, value, at = _locate(raw, pos)
    return InputError(
        path,
        f"not UTF-8: byte 0x{raw[pos]:02x} at byte offset {pos} of the file "
        f"(column {at} of the line); save the file as UTF-8",
        line=line,
        column=column,
        value=value,
    )


#: Bytes no CSV of codes, dates and ids holds: C0 control characters but TAB, LF and CR, and DEL. A NUL byte
#: usually means a UTF-16 file or a damaged one; pandas would cut the field at it.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A carriage return not followed by a line feed: CR-only line endings (classic Mac OS) or a stray CR, which
#: the parser would take for a line end, shifting every line number after it.
_LONE_CR = re.compile(rb"\r(?!\n)")


def _bad_bytes(path: Path, raw: bytes) -> InputError | None:
    """An InputError for the first control character or lone carriage return in ``raw``, or None."""
    m = _CONTROL.search(raw)
    if m:
        line, column, value, at = _locate(raw, m.start())
        return InputError(
            path,
            f"control character 0x{raw[m.start()]:02x} at byte offset {m.start()} of the file (column {at} of the "
            "line): not text a return holds (a NUL byte often means the file was saved as UTF-16); save it as UTF-8",
            line=line,
            column=column,
            value=value,
        )
    m = _LONE_CR.search(raw)
    if m:
        if b"\n" not in raw:
            reason = "lines end with a carriage return only (CR, as old Mac files); save it with LF or CRLF line ends"
            return InputError(path, reason, line=1)
        line, column, _, _ = _locate(raw, m.start())
        return InputError(
            path,
            "carriage return (CR) inside a line, not followed by a line feed: the line would be cut in two; "
            "remove it or save the file with LF or CRLF line ends",
            line=line,
            column=column,
        )
    return None


def read_bytes(path: Path) -> bytes:
    """A file's bytes; an InputError naming it when it is missing, a folder or cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    except OSError as exc:  # permissions, a device error, a broken link
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None


def read_csv_file(path: str | Path) -> CsvFile:
    """Read one CSV into memory: check UTF-8 and for bytes no text file holds (control characters, a lone CR),
    drop a BOM, split off and parse the header."""
    path = Path(path)
    raw = read_bytes(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _undecodable(path, raw, exc) from None
    bad = _bad_bytes(path, raw)
    if bad is not None:
        raise bad
    data = raw.removeprefix(BOM)
    nl = data.find(b"\n")
    head, body = (data, b"") if nl < 0 else (data[:nl], data[nl + 1 :])
    head_text = head.decode("utf-8").rstrip("\r")
    if not head_text.strip():
        raise InputError(path, "the file is empty or its first line (the header) is blank", line=1)
    columns = [c.strip().removeprefix("\ufeff").strip() for c in next(csv.reader([head_text]))]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise InputError(path, "column named more than once in the header", line=1, column=dupes[0])
    return CsvFile(path, columns, body)


def _count_lines(body: bytes) -> int:
    if not body:
        return 0
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)


_BAD_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def parse_bodies(files: list[CsvFile], file_ids: list[int], columns: list[str]) -> pd.DataFrame:
    """Parse the bodies of ``files`` (all with the column *set* ``columns``) into one string frame.

    The frame has ``columns`` in that order plus ``_file`` (the given id) and ``_line`` (physical line).
    Blank lines are dropped. Every value is a string; missing trailing fields are ''.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, f in enumerate(files):
        groups.setdefault(tuple(f.columns), []).append(i)
    frames = []
    for order, members in groups.items():
        frames.append(_parse_group([files[i] for i in members], [file_ids[i] for i in members], list(order)))
    if not frames:
        df = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
        df[FILE_COL] = pd.Series(dtype="int32")
        df[LINE_COL] = pd.Series(dtype="int32")
        return df
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return df[columns + [FILE_COL, LINE_COL]]


def _parse_group(files: list[CsvFile], ids: list[int], order: list[str]) -> pd.DataFrame:
    n_lines = np.array([_count_lines(f.body) for f in files], dtype=np.int64)
    parts = []
    for f in files:
        parts.append(f.body)
        if f.body and not f.body.endswith(b"\n"):
            parts.append(b"\n")
    buf = b"".join(parts)
    total = int(n_lines.sum())
    if total == 0:
        df = pd.DataFrame({c: pd.Series(dtype="str") for c in order})
    else:
        try:
            df = pd.read_csv(
                io.BytesIO(buf),
                header=None,
                names=order,
                dtype=str,
                na_filter=False,
                skip_blank_lines=False,
                encoding="utf-8",
                engine="c",
                index_col=False,
            )
        except pd.errors.ParserError as exc:
            m = _BAD_LINE.search(str(exc))
            if not m:
                raise
            # map the line of the joined buffer back to its file
            joined_line = int(m.group(2))
            ends = np.cumsum(n_lines)
            k = int(np.searchsorted(ends, joined_line))
            line_in_body = joined_line - (int(ends[k - 1]) if k else 0)
            f = files[k]
            raise InputError(
                f.path,
                f"row has {m.group(3)} fields but the header has {m.group(1)}",
                line=line_in_body + f.body_first_line - 1,
            ) from None
        del buf
    if len(df) != total:
        return _parse_group_slow(files, ids, order)
    df[FILE_COL] = np.repeat(np.asarray(ids, dtype=np.int32), n_lines)
    starts = np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    first = np.repeat(np.array([f.body_first_line for f in files], dtype=np.int64), n_lines)
    df[LINE_COL] = (np.arange(total, dtype=np.int64) - starts + first).astype(np.int32)
    # drop blank lines (every field empty)
    if total:
        blank = np.ones(total, dtype=bool)
        for c in order:
            blank &= (df[c] == "").to_numpy()
            if not blank.any():
                break
        if blank.any():
            df = df.loc[~blank].reset_index(drop=True)
    return df


def _parse_group_slow(files: list[CsvFile], ids: list[int], order: list[str]) -> pd.DataFrame:
    """Row by row with the csv module: correct line numbers when quoted fields hold line breaks."""
    rows, fids, lines = [], [], []
    width = len(order)
    for f, i in zip(files, ids):
        reader = csv.reader(io.StringIO(f.body.decode("utf-8"), newline=""))
        prev = 0
        for rec in reader:
            start = prev + 1  # first physical line of this record within the body
            prev = reader.line_num
            if not rec or all(v == "" for v in rec):
                continue
            if len(rec) > width:
                raise InputError(
                    f.path,
                    f"row has {len(rec)} fields but the header has {width}",
                    line=start + f.body_first_line - 1,
                )
            rows.append(rec + [""] * (width - len(rec)))
            fids.append(i)
            lines.append(start + f.body_first_line - 1)
    df = (
        pd.DataFrame(rows, columns=order, dtype="str")
        if rows
        else pd.DataFrame({c: pd.Series(dtype="str") for c in order})
    )
    df[FILE_COL] = np.asarray(fids, dtype=np.int32)
    df[LINE_COL] = np.asarray(lines, dtype=np.int32)
    return df
