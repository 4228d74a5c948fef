"""One accessible spreadsheet of the published tables (Government Analysis Function guidance, gptables).

:func:`write_spreadsheet` reads the EES open-data CSVs of a build (``outputs/<year>/tables/*.csv``, each with
its ``.meta.csv``) and writes one ``.xlsx``: a cover sheet, a contents sheet, a notes sheet, then one table
per sheet. It holds what the report shows, England's figures: regions' and local authorities' rows (the
dashboard feeds above all, millions of cells) are left to the CSVs, and the cover says so. What the guidance
asks for and how it is done here:

* sheet names: from the CSV name (``_by_ethnicity`` dropped: the whole workbook is by ethnicity), lower
  snake case, cut at a word boundary to Excel's 31 characters; names that still clash (Excel compares them
  case-insensitively) all get ``_1``, ``_2`` ... in file-name order. The contents sheet maps each sheet to
  its CSV;
* each sheet: title in A1 (measure title from :func:`rap.measures.catalogue`, else the file name in words,
  then where and when), a line on how to read it, the symbols it uses, the source, then the table marked up
  as an Excel table, headers from the ``.meta.csv`` labels with units and ``[note n]`` references;
* symbols: an EES symbol (``c``, ``low``, ``k``, ``x``, ``z``, ``u``) is shown in brackets (``[c]``); each
  one used is explained beside the table and on the notes sheet (meanings from
  :data:`rap.domain.disclosure.SYMBOLS`). A blank geography or filter cell (a column that does not apply to the
  row, e.g. region on a national row) is shown as ``[z]``: the guidance allows no blank cells;
* numbers are stored as numbers (formatted to the meta's decimal places) so the tables sort and filter;
  codes and labels stay text;
* columns with one value on every row (``time_identifier``, ``country_code``, ``country_name``: said in
  the title and headers instead) and columns that apply to no row (all ``z``/blank) are left out of the
  sheets; the CSVs keep them.

gptables' own table writer builds a pandas frame of per-cell format dicts and passes every cell through
several regex checks: about three times the CPU of writing column by column (9 s against 3 s for the
14,355-row placement-type table), so about two minutes for a national build. gptables' workbook, theme,
cover and table writer are used for the cover, contents and notes sheets; the data sheets are written by
:func:`_write_table_sheet`, with gptables' layout (title in A1, instructions, legend, source, scope, then a
marked-up Excel table without filter buttons) and gptheme's formats, one column at a time.

The file is byte-reproducible: xlsxwriter fixes the zip timestamps and the document's created date is set
from ``SOURCE_DATE_EPOCH`` (else a fixed date), so two builds of the same tables give identical bytes.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from gptables import Cover, GPTable, GPWorkbook
from xlsxwriter.utility import cell_autofit_width, xl_rowcol_to_cell

from rap.domain.disclosure import SYMBOLS

__all__ = ["FIXED_CREATED", "sheet_names", "write_spreadsheet"]

#: Document date when SOURCE_DATE_EPOCH is unset: fixed so that two builds give the same bytes (it is the
#: date xlsxwriter gives every file inside the zip).
FIXED_CREATED = datetime(1980, 1, 1, tzinfo=UTC)

#: Excel's limits.
MAX_SHEET_NAME = 31
MAX_ROWS = 1_048_576

#: Sheet names the workbook uses itself (and Excel's reserved "History"), compared case-insensitively.
RESERVED_SHEETS = ("Cover", "Contents", "Notes", "History")

#: Labels for EES's geography and time columns, which the ``.meta.csv`` does not describe.
GEOGRAPHY_LABELS = {
    "time_period": "Time period",
    "time_identifier": "Time identifier",
    "geographic_level": "Geographic level",
    "country_code": "Country code",
    "country_name": "Country",
    "region_code": "Region code",
    "region_name": "Region",
    "old_la_code": "Old LA code",
    "new_la_code": "New LA code",
    "la_name": "Local authority",
}
#: Bookkeeping columns left out of a sheet when they hold one value throughout (said in title/headers).
CONSTANT_DROPPED = ("time_identifier", "country_code", "country_name")

#: EES indicator units (meta ``indicator_unit``) as written in a header, in words where it helps.
UNITS = {"%": "%", "pp": "percentage points", "£": "£", "£m": "£ million"}

#: Words kept in capitals when a file name becomes a title.
ACRONYMS = {"la": "LA", "las": "LAs", "cla": "CLA", "uasc": "UASC", "eet": "EET", "ees": "EES", "dfe": "DfE"}

SUFFIX = "_by_ethnicity"
NOTES_KEY_ALL = "*"
HEADER_MAX_PX = 200  # long headings wrap rather than make a column very wide
DEFAULT_CONTACT = "Contact details: to be added before publication (team name and email address)."


# --------------------------------------------------------------------------------------------------
# sheet names and titles


def _slug(stem: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    short = s.removesuffix(SUFFIX)
    return short or s or "table"


def _shorten(name: str, limit: int) -> str:
    """Cut ``name`` to ``limit`` characters, at the last underscore if that keeps at least half of it."""
    if len(name) <= limit:
        return name
    cut = name[: limit + 1].rfind("_")
    out = name[:cut] if cut >= limit // 2 else name[:limit]
    return out.rstrip("_")


def sheet_names(stems: Sequence[str]) -> dict[str, str]:
    """Unique Excel sheet names for CSV stems: {stem: name}.

    Deterministic and independent of the order given: a name depends only on its own stem, unless it
    clashes with another (or a reserved name), in which case every clashing stem gets a numbered suffix in
    stem order. Names use ``[a-z0-9_]`` only, so no character Excel or screen readers trip over.
    """
    base = {stem: _shorten(_slug(stem), MAX_SHEET_NAME) for stem in sorted(set(stems))}
    groups: dict[str, list[str]] = {}
    for stem, name in base.items():
        groups.setdefault(name.casefold(), []).append(stem)
    reserved = {r.casefold() for r in RESERVED_SHEETS}
    out: dict[str, str] = {}
    taken = set(reserved)
    for key, members in groups.items():
        if len(members) == 1 and key not in reserved:
            out[members[0]] = base[members[0]]
            taken.add(key)
    for key, members in groups.items():
        if len(members) == 1 and key not in reserved:
            continue
        n = 0
        for stem in members:  # already in stem order
            while True:
                n += 1
                suffix = f"_{n}"
                name = _shorten(base[stem], MAX_SHEET_NAME - len(suffix)) + suffix
                if name.casefold() not in taken:
                    break
            out[stem] = name
            taken.add(name.casefold())
    return {stem: out[stem] for stem in stems}


def _prettify(stem: str) -> str:
    words = [w for w in re.split(r"[_\s]+", stem) if w]
    words = [
        ACRONYMS.get(w.lower(), w.upper() if re.fullmatch(r"[a-z]{1,3}\d+", w.lower()) else w.lower()) for w in words
    ]
    text = " ".join(words) or stem
    return text[0].upper() + text[1:]


def _base_title(stem: str, measures: Mapping[str, Mapping]) -> str:
    """The measure's title when the file is one measure by ethnicity, else the file name in words."""
    if stem.endswith(SUFFIX):
        measure = measures.get(stem.removesuffix(SUFFIX))
        if measure and measure.get("title"):
            return f"{measure['title']} by ethnicity"
    return _prettify(stem)


def _period(value: str) -> str:
    return f"{value[:4]}/{value[4:]}" if re.fullmatch(r"\d{6}", value) else value


# --------------------------------------------------------------------------------------------------
# reading and preparing tables


@dataclass
class _Column:
    name: str
    header: str  # label (and unit); note references are added at write time
    kind: str  # "geography", "filter" or "indicator"
    dp: int | None
    numbers: np.ndarray | None  # float per row, NaN where the cell is text (indicators only)
    text: np.ndarray  # display text per row (brackets on symbols), used where numbers is NaN
    texts: list[str]  # the distinct display texts of text cells (for the column width)
    symbols: set[str]
    numeric: bool  # every cell a number or a symbol: right-aligned, as gptables does


@dataclass
class _Table:
    stem: str
    file: str
    title: str
    columns: list[_Column]
    n_rows: int
    scope: str
    csv_columns: list[str]
    sheet: str = ""

    @property
    def symbols(self) -> list[str]:
        used = set().union(*(c.symbols for c in self.columns))
        return [s for s in SYMBOLS if s in used]


def _read_meta(path: Path, csv: Path) -> pd.DataFrame:
    meta = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("col_name", "col_type", "label") if c not in meta.columns]
    if missing:
        raise ValueError(f"{path.name}: metadata for {csv.name} lacks columns {missing}")
    bad = sorted(set(meta["col_type"]) - {"Filter", "Indicator"})
    if bad:
        raise ValueError(f"{path.name}: col_type must be Filter or Indicator, found {bad}")
    for c in ("indicator_unit", "indicator_dp"):
        if c not in meta.columns:
            meta[c] = ""
    return meta


def _column(df: pd.DataFrame, name: str, header: str, kind: str, dp: int | None, file: str) -> _Column | None:
    """Cells of one column ready to write, or None when the column applies to no row (all blank or z).

    The work is done once per distinct value (``pd.factorize``), not per cell: national tables have
    ~90,000 rows of a few hundred distinct values per column.
    """
    codes, uniques = pd.factorize(df[name].to_numpy(dtype=object), use_na_sentinel=False)
    values = pd.Series(uniques, dtype=object)
    blank = values.str.strip().eq("").to_numpy()
    if kind == "indicator" and blank.any():
        row = int(np.flatnonzero(blank[codes])[0]) + 2
        raise ValueError(f"{file}: blank indicator cell in column {name} (line {row}); EES needs a symbol")
    if (blank | values.eq("z").to_numpy()).all():
        return None
    values = values.where(~blank, "z")  # a geography or filter column that does not apply to the row
    is_symbol = values.isin(SYMBOLS).to_numpy()
    text = values.where(~is_symbol, "[" + values + "]")
    is_number = np.zeros(len(values), dtype=bool)
    numbers = None
    if kind == "indicator":
        parsed = pd.to_numeric(values.where(~is_symbol), errors="coerce").to_numpy(dtype=float)
        is_number = np.isfinite(parsed)
        numbers = np.where(is_number, parsed, np.nan)[codes]
    other = ~is_number & ~is_symbol
    junk = other & ~text.str.contains(r"[A-Za-z0-9]", regex=True).to_numpy()
    if junk.any():
        raise ValueError(
            f"{file}: column {name} has a cell with no letter or digit ({text[junk].iloc[0]!r}); use an EES symbol"
        )
    return _Column(
        name=name,
        header=header,
        kind=kind,
        dp=dp,
        numbers=numbers,
        text=text.to_numpy(dtype=object)[codes],
        texts=text[~is_number].tolist(),
        symbols=set(values[is_symbol]),
        numeric=bool(is_number.any() and not other.any()),
    )


def _checked_table(csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the table, its metadata), each column of one described by the other; errors name the file."""
    meta_path = csv.with_name(csv.stem + ".meta.csv")
    if not meta_path.exists():
        raise FileNotFoundError(
            f"{csv.name} has no metadata file {meta_path.name} beside it; every published "
            f"table needs one (EES format) to label its columns"
        )
    meta = _read_meta(meta_path, csv)
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if df.empty:
        raise ValueError(f"{csv.name}: no rows; a published table needs at least one")
    if len(df) + 20 > MAX_ROWS:
        raise ValueError(f"{csv.name}: {len(df)} rows do not fit on an Excel sheet ({MAX_ROWS} rows)")
    described = set(meta["col_name"])
    unknown = [c for c in df.columns if c not in described and c not in GEOGRAPHY_LABELS]
    if unknown:
        raise ValueError(f"{csv.name}: columns {unknown} are not in {meta_path.name}")
    absent = [c for c in meta["col_name"] if c not in df.columns]
    if absent:
        raise ValueError(f"{meta_path.name}: columns {absent} are not in {csv.name}")
    return df, meta


def _constant(df: pd.DataFrame, c: str) -> str | None:
    """The one value of column ``c`` on every row, or None (no such column, or several values)."""
    if c in df.columns and df[c].nunique() == 1:
        return df[c].iloc[0]
    return None


def _column_spec(name: str, rows: Mapping[str, Any], identifier: str | None) -> tuple[str, str, str, int | None]:
    """(kind, label, unit, decimal places) of a column: from its metadata row, else a geography column."""
    if name not in rows:
        label = identifier if name == "time_period" and identifier else GEOGRAPHY_LABELS[name]
        return "geography", label, "", None
    r = rows[name]
    kind = "filter" if r.col_type == "Filter" else "indicator"
    label = r.label.strip() or _prettify(name)
    unit = UNITS.get(r.indicator_unit.strip(), r.indicator_unit.strip()) if kind == "indicator" else ""
    dp = int(r.indicator_dp) if kind == "indicator" and r.indicator_dp.strip().isdigit() else None
    return kind, label, unit, dp


def _columns(df: pd.DataFrame, meta: pd.DataFrame, file: str) -> list[_Column]:
    """The columns a sheet shows, with unique headers: not the constant bookkeeping columns, not those that
    apply to no row."""
    identifier = _constant(df, "time_identifier")
    rows = {r.col_name: r for r in meta.itertuples(index=False)}
    columns: list[_Column] = []
    seen: set[str] = set()
    for name in df.columns:
        if name in CONSTANT_DROPPED and _constant(df, name) is not None:
            continue
        kind, label, unit, dp = _column_spec(name, rows, identifier)
        if label.casefold() in seen:
            label = f"{label} ({name})"
        header = f"{label}\n({unit})" if unit else label
        col = _column(df, name, header, kind, dp, file)
        if col is not None:
            seen.add(label.casefold())
            columns.append(col)
    if not columns:
        raise ValueError(f"{file}: no column applies to any row (all blank or z)")
    return columns


def _sheet_title(csv: Path, df: pd.DataFrame, measures: Mapping[str, Mapping], titles: Mapping[str, str]) -> str:
    """The sheet's title: the measure's (or the given) title, then where and when."""
    title = titles.get(csv.stem) or _base_title(csv.stem, measures)
    where_when = []
    country = _constant(df, "country_name")
    if country:
        where_when.append(country)
    if "time_period" in df.columns:
        periods = sorted(df["time_period"].unique())
        first, last = _period(periods[0]), _period(periods[-1])
        where_when.append(first if first == last else f"{first} to {last}")
    if where_when:
        title = f"{title}, {', '.join(where_when)}"
    return title


def _scope(csv: Path, df: pd.DataFrame) -> str:
    """The sheet's scope line: the open data file and the geographic levels it covers."""
    scope = f"Open data file: {csv.name}."
    if "geographic_level" in df.columns:
        levels = list(dict.fromkeys(df["geographic_level"]))
        scope += f" Geographic levels: {', '.join(levels)}."
    return scope


#: The geographic levels a build's workbook holds (``rap.build.pipeline``): what a reader of the report sees is
#: England's figures. Regions and local authorities (the dashboard feeds above all) would make a workbook of
#: millions of cells that is slow to open; they are in the open data CSVs.
REPORT_LEVELS = ("National",)


def _read_table(
    csv: Path, measures: Mapping[str, Mapping], titles: Mapping[str, str], levels: Sequence[str] | None = None
) -> _Table | None:
    """A table's rows at ``levels`` (all when None), ready to write; None for a table with no row there."""
    df, meta = _checked_table(csv)
    if levels is not None and "geographic_level" in df.columns:
        df = df[df["geographic_level"].isin(levels)].reset_index(drop=True)
        if df.empty:
            return None
    columns = _columns(df, meta, csv.name)
    return _Table(
        stem=csv.stem,
        file=csv.name,
        title=_sheet_title(csv, df, measures, titles),
        columns=columns,
        n_rows=len(df),
        scope=_scope(csv, df),
        csv_columns=list(df.columns),
    )


def _order(tables: list[_Table], measures: Mapping[str, Mapping]) -> list[_Table]:
    """Measure tables in catalogue (report) order, then the rest by file name."""
    rank = {f"{m}{SUFFIX}": i for i, m in enumerate(measures)}
    return sorted(tables, key=lambda t: (rank.get(t.stem, len(rank)), t.stem))


# --------------------------------------------------------------------------------------------------
# notes


def _symbol_note(symbol: str, blanks_as_z: bool) -> str:
    text = (
        f"[{symbol}] means {SYMBOLS[symbol]}. It is shown in place of a figure; the open data (CSV) files "
        f"hold the same symbol without brackets ({symbol})."
    )
    if symbol == "z" and blanks_as_z:
        text += (
            " [z] also fills cells of a column that does not apply to the row, for example region and "
            "local authority columns on national rows (blank in the CSV files)."
        )
    return text


class _Notes:
    """Notes keyed by what they apply to, numbered in the order they are first referenced (as gptables
    numbers them); notes referenced nowhere are listed last."""

    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []  # (key, text)
        self.number: dict[int, int] = {}  # position in notes -> note number

    def add(self, key: str, text: str) -> None:
        if (key, text) not in self.notes:
            self.notes.append((key, text))

    def refs(self, key: str) -> str:
        """``[note n]`` for every note on ``key``, numbering any not referenced before."""
        out = []
        for i, (k, _) in enumerate(self.notes):
            if k == key:
                self.number.setdefault(i, len(self.number) + 1)
                out.append(f"[note {self.number[i]}]")
        return " ".join(out)

    def table(self) -> pd.DataFrame:
        for i in range(len(self.notes)):
            self.number.setdefault(i, len(self.number) + 1)
        order = sorted(self.number, key=self.number.get)
        if not order:
            return pd.DataFrame({"Note number": ["none"], "Note text": ["No notes apply to these tables."]})
        return pd.DataFrame(
            {"Note number": [self.number[i] for i in order], "Note text": [self.notes[i][1] for i in order]}
        )


def _user_notes(notes: Mapping[str, str | Sequence[str]] | None, tables: list[_Table]) -> list[tuple[str, str]]:
    """The caller's notes as (key, text); a key that names no table, no column and is not "*" is an error
    (a typo would otherwise drop the note silently)."""
    stems = {t.stem for t in tables}
    columns = {c for t in tables for c in t.csv_columns}
    out, unknown = [], []
    for key, value in (notes or {}).items():
        key = str(key).removesuffix(".csv")
        if key != NOTES_KEY_ALL and key not in stems and key not in columns:
            unknown.append(key)
        texts = [value] if isinstance(value, str) else list(value)
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError(f"notes[{key!r}]: note text must be one or more non-empty strings")
        out += [(key, t.strip()) for t in texts]
    if unknown:
        raise ValueError(
            f"notes keys {unknown} are neither a table ({', '.join(sorted(stems))}), a column of one, "
            f"nor '{NOTES_KEY_ALL}'"
        )
    return out


# --------------------------------------------------------------------------------------------------
# writing


def _created() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return FIXED_CREATED


def _fmt(wb: GPWorkbook, base: dict, **extra: object):
    return wb.add_format({**base, **extra})


def _num_format(dp: int | None) -> str:
    return "General" if dp is None else "#,##0" + ("." + "0" * dp if dp else "")


def _width(strings: list[str], bold: bool, font_size: float) -> int:
    """Column width in pixels as gptables' auto-width computes it for the longest strings."""
    best = 0
    for s in strings:
        line = max(str(s).split("\n"), key=len)
        upper = sum(ch.isupper() for ch in line) / len(line) if line else 0
        factor = (font_size / 11) * (1.1 if bold else 1.0) * (1.0 + 0.15 * upper)
        best = max(best, math.ceil(cell_autofit_width(line) * factor))
    return best


def _column_width(col: _Column, header_lines: list[str], theme) -> int:
    size = theme.data_format.get("font_size", 11)
    longest = sorted(col.texts, key=len, reverse=True)[:20]
    data = _width(longest, False, size)
    if col.numbers is not None and np.isfinite(col.numbers).any():
        nums = col.numbers[np.isfinite(col.numbers)]
        spec = "g" if col.dp is None else f",.{col.dp}f"  # as Excel shows General or the meta's places
        data = max(data, _width([format(v, spec) for v in (nums.min(), nums.max())], False, size))
    head = _width(header_lines, True, theme.column_heading_format.get("font_size", 11))
    return max(data, min(head, HEADER_MAX_PX), 40)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: xlsxwriter keeps every cell (about 3 million at national scale) as
    a Python object until the workbook closes, and the collector walking them again and again took a tenth
    of the writing time. They hold no reference cycles; reference counting still frees everything."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _write_table_sheet(
    wb: GPWorkbook, ws, table: _Table, headers: list[str], lines: list[tuple[str, str]], table_name: str
) -> None:
    """Title and description rows (gptables layout), then the table, written column by column."""
    theme = wb.theme
    row = 0
    for text, element in lines:
        ws.write_string(row, 0, text, _fmt(wb, getattr(theme, f"{element}_format")))
        row += 1
    first = row  # header row
    last = first + table.n_rows
    for j, (col, header) in enumerate(zip(table.columns, headers)):
        align = "right" if col.numeric else "left"
        data_fmt = _fmt(wb, theme.data_format, align=align, num_format=_num_format(col.dp))
        text_fmt = _fmt(wb, theme.data_format, align=align)
        write_number, write_string = ws.write_number, ws.write_string
        r = first + 1
        if col.numbers is None:
            for i, value in enumerate(col.text.tolist()):
                write_string(r + i, j, value, text_fmt)
        else:
            for i, (number, value) in enumerate(zip(col.numbers.tolist(), col.text.tolist())):
                if number == number:  # not NaN
                    write_number(r + i, j, number, data_fmt)
                else:
                    write_string(r + i, j, value, text_fmt)
        ws.set_column_pixels(j, j, _column_width(col, header.split("\n"), theme))
    # add_table writes the header row, aligned like its column (as gptables does).
    heading = [_fmt(wb, theme.column_heading_format, align="right" if c.numeric else "left") for c in table.columns]
    status = ws.add_table(
        first,
        0,
        last,
        len(table.columns) - 1,
        {
            "header_row": True,
            "autofilter": False,
            "style": None,
            "name": table_name,
            "columns": [{"header": h, "header_format": f} for h, f in zip(headers, heading)],
        },
    )
    if status != 0:
        raise ValueError(f"{table.file}: xlsxwriter could not mark up the table (name {table_name!r})")
    # Codes such as 840 or 2024 are text on purpose: stop Excel flagging them.
    ws.ignore_errors({"number_stored_as_text": f"A{first + 1}:{xl_rowcol_to_cell(last, len(table.columns) - 1)}"})


def _tables(tables_dir: Path, titles: Mapping[str, str], levels: Sequence[str] | None = None) -> list[_Table]:
    """Every EES table of ``tables_dir``, read and checked, in report order, each with its sheet name."""
    from rap.measures import catalogue  # lazily: only the measure titles are needed

    csvs = sorted(p for p in tables_dir.glob("*.csv") if not p.name.endswith(".meta.csv"))
    if not csvs:
        raise FileNotFoundError(f"no tables (*.csv) in {tables_dir}")
    measures = catalogue()
    read = [_read_table(p, measures, titles, levels) for p in csvs]
    tables = _order([t for t in read if t is not None], measures)
    names = sheet_names([t.stem for t in tables])
    for t in tables:
        t.sheet = names[t.stem]
    return tables


def _register(notes: Mapping[str, str | Sequence[str]] | None, tables: list[_Table]) -> tuple[_Notes, list[str]]:
    """(the notes register with the caller's notes and one note per symbol used, the symbols used)."""
    register = _Notes()
    for key, text in _user_notes(notes, tables):
        register.add(key, text)
    used = [s for s in SYMBOLS if any(s in t.symbols for t in tables)]
    blanks_as_z = any(c.kind != "indicator" and "[z]" in c.texts for t in tables for c in t.columns)
    for s in used:
        register.add(f"symbol:{s}", _symbol_note(s, blanks_as_z))
    return register, used


def _sheet_text(t: _Table, register: _Notes, source: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(a sheet's text rows in gptables order: title, instructions, legend, source, scope; its column
    headers), numbering the notes they refer to."""
    title_refs = " ".join(r for r in (register.refs(NOTES_KEY_ALL), register.refs(t.stem)) if r)
    legend = [(f"[{s}] = {SYMBOLS[s]} {register.refs(f'symbol:{s}')}", "legend") for s in t.symbols]
    headers = [f"{c.header}\n{r}" if (r := register.refs(c.name)) else c.header for c in t.columns]
    how = "This worksheet contains one table."
    if legend:
        how += " Some cells hold a symbol in square brackets instead of a number: the symbols are listed below."
    if title_refs or legend or any("[note " in h for h in headers):
        how += " Notes are referred to as [note 1] and so on and are on the Notes worksheet."
    lines = [
        (f"{t.title} {title_refs}".strip(), "title"),
        (how, "instructions"),
        *legend,
        (f"Source: {source.rstrip('.')}.", "source"),
        (t.scope, "scope"),
    ]
    return lines, headers


def _cover(
    title: str, year: int, source: str, n_tables: int, used: list[str], contact: str | None, only_england: bool
) -> Cover:
    left = (
        [
            "The worksheets hold the figures for England, as the report shows them. Figures for each region and "
            "local authority, and the tables of local authorities only (such as the dashboard comparators and "
            "the statistical neighbours), are in the open data CSV files published beside this workbook."
        ]
        if only_england
        else []
    )
    return Cover(
        title=title,
        intro=[
            f"This workbook holds {n_tables} tables for the reporting year {year}, one table per worksheet. "
            "The Contents worksheet links to each table and names the open data (CSV) file it comes from; the "
            "Notes worksheet explains the notes that tables refer to as [note 1], [note 2] and so on.",
            "Each table is also published as an open data CSV file in Explore Education Statistics format. "
            "Columns with the same value on every row (country, time identifier) or that apply to no row of a "
            "table are left out of its worksheet but kept in the CSV file.",
            "Numbers are stored as numbers, so tables can be sorted and filtered; codes and labels are text.",
            *left,
        ],
        about=[
            f"Reporting year: {year}.",
            f"Source: {source.rstrip('.')}.",
            "Symbols: where a figure cannot be shown, the cell holds a letter in square brackets instead of a "
            "number, following Government Statistical Service guidance on symbols in tables."
            + (" The symbols used in this workbook are:" if used else " No symbols are used in this workbook."),
            *[f"[{s}] = {SYMBOLS[s]}" for s in used],
        ],
        contact=[contact or DEFAULT_CONTACT],
    )


def _contents(tables: list[_Table]) -> GPTable:
    return GPTable(
        table=pd.DataFrame(
            {
                "Sheet name": [{t.sheet: f"internal:'{t.sheet}'!A1"} for t in tables],
                "Table title": [t.title for t in tables],
                "Open data file": [t.file for t in tables],
                "Rows": [t.n_rows for t in tables],
            }
        ),
        table_name="contents_table",
        title="Table of contents",
        instructions="This worksheet contains one table. Select a sheet name to go to that table.",
        index_columns={2: 0},
    )


def _notes_sheet(register: _Notes) -> GPTable:
    return GPTable(
        table=register.table(),
        table_name="notes_table",
        title="Notes",
        instructions="This worksheet contains one table. Tables refer to these notes as [note 1], [note 2] and so on.",
        index_columns={},
    )


@dataclass
class _Workbook:
    """Everything the workbook holds, ready to write."""

    title: str
    year: int
    source: str
    cover: Cover
    contents: GPTable
    notes: GPTable
    sheets: list[tuple[_Table, list[tuple[str, str]], list[str]]]  # table, text rows, headers


def _write_workbook(book: _Workbook, path: Path) -> None:
    """Write ``book`` to ``path`` (a new file)."""
    # in_memory: zip members get a fixed date and mode (from temp files they would follow the
    # time zone and umask), so the bytes do not depend on the machine.
    with _no_cyclic_gc():
        wb = GPWorkbook(path.as_posix(), options={"in_memory": True})
        wb.set_properties(
            {
                "title": book.title,
                "subject": f"Tables for the reporting year {book.year}",
                "comments": f"Source: {book.source}",
                "created": _created(),
            }
        )
        wb.add_worksheet("Cover").write_cover(book.cover)
        with warnings.catch_warnings():  # pandas deprecations inside gptables' writer: not ours to fix
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"gptables\.")
            wb.add_worksheet("Contents").write_gptable(book.contents, auto_width=True)
            wb.add_worksheet("Notes").write_gptable(book.notes, auto_width=True)
        for t, lines, headers in book.sheets:
            _write_table_sheet(wb, wb.add_worksheet(t.sheet), t, headers, lines, f"table_{t.sheet}")
        wb.close()


def write_spreadsheet(
    tables_dir: Path,
    out_path: Path,
    *,
    title: str,
    year: int,
    source: str,
    notes: Mapping[str, str | Sequence[str]] | None = None,
    contact: str | None = None,
    titles: Mapping[str, str] | None = None,
    levels: Sequence[str] | None = None,
) -> Path:
    """Write every EES table in ``tables_dir`` to one accessible workbook at ``out_path``; return the path.

    ``notes`` adds notes to the notes sheet, keyed by what they apply to: a table's CSV stem (referenced in
    that sheet's title), a column name (referenced in that column's header on every sheet that shows it) or
    ``"*"`` (every table sheet's title); a value is one note or a list of them. Notes are numbered in the
    order they are first referenced, as gptables does. ``contact`` replaces the cover's contact placeholder;
    ``titles`` ({CSV stem: title}) overrides a sheet's title; ``levels`` keeps only rows of those geographic
    levels (a build passes :data:`REPORT_LEVELS`; the cover then says where the rest is). A CSV without its ``.meta.csv`` is an error
    naming the file, as are blank indicator cells and unlabelled columns: the workbook is only as good as
    the open data behind it. The file is replaced atomically, so a failed build leaves no half-written file.
    """
    tables_dir, out_path = Path(tables_dir), Path(out_path)
    tables = _tables(tables_dir, titles or {}, levels)
    register, used = _register(notes, tables)
    sheets = [(t, *_sheet_text(t, register, source)) for t in tables]  # numbers the notes in reading order
    book = _Workbook(
        title,
        year,
        source,
        _cover(title, year, source, len(tables), used, contact, levels is not None and set(levels) == {"National"}),
        _contents(tables),
        _notes_sheet(register),
        sheets,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        _write_workbook(book, tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path
