"""Emit tables and figures from notebooks so that they survive every renderer.

Why Markdown outputs
--------------------
A section notebook is rendered two ways: by Quarto (when installed) and by the
project's pandoc + Typst backend. The one output kind that both read as *document
structure* rather than as an opaque blob is a ``display_data`` output whose MIME
type is ``text/markdown``:

* Quarto copies ``text/markdown`` outputs of ``.ipynb`` chapters into its
  intermediate Markdown (with ``#| output: asis`` without a wrapper div), so a
  pipe table followed by ``: Caption {#tbl-label}`` becomes a cross-referenceable
  table, and ``![Caption](data:image/png;base64,...){#fig-label fig-alt="..."}``
  becomes a cross-referenceable figure with alt text: the same syntax a
  ``.qmd`` author would write by hand.
* pandoc's ``ipynb`` reader (``--ipynb-output=all``) hands the same output to
  the project's Lua filter as a raw Markdown block, which the filter parses
  with pandoc's Markdown reader: the same syntax, so the same table, caption,
  identifier and alt text, in HTML, DOCX and Typst/PDF alike.

pandas' HTML tables would survive only into HTML; a bare ``image/png`` output
needs the cell options (``#| fig-cap`` / ``#| fig-alt``) to carry caption and alt
text. Putting caption, identifier and alt text inside the output makes each
output self-describing, so the notebook cannot drift from the report. Cells may
still carry ``#| label: tbl-...`` / ``#| tbl-cap:`` (the project builder strips
those options from its copies when the output already declares the same label,
so Quarto does not see the float twice; the pandoc filter uses them only for
outputs that lack their own caption).

Conventions applied here (GSS / DfE publication guidance)
---------------------------------------------------------
* Symbols ``c k x z u low`` in a cell are shown as ``[c]`` etc. and explained in
  a note under the table; a missing value (NaN/None) is shown as ``[x]``
  (not available) because an indicator cell is never blank.
* Numbers get thousands separators; integers have no decimals, floats get
  ``decimals`` places (default 0 for whole numbers, else 1).
* The DataFrame index is not shown (reset it first if it holds labels).
* Numeric columns are right-aligned.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rap.domain.disclosure import SYMBOL_NOTES

__all__ = ["table", "figure", "table_markdown", "figure_markdown", "figure_text", "format_value"]

#: Where :func:`figure` records the chart's text in its output's metadata, for the leak scan
#: (``rap.build.leaks``) to read: the picture itself is pixels.
FIGURE_TEXT_KEY = ("rap", "figure_text")

#: A symbol already in brackets, as a table may hold it: ``[c]``.
_BRACKETED = re.compile(r"\[(" + "|".join(map(re.escape, SYMBOL_NOTES)) + r")\]")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$@^~])")


def _escape_md(text: str) -> str:
    """Escape Markdown specials in cell/caption text (pipes, brackets, @ ...)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _check_label(label: str, prefix: str) -> str:
    if not label.startswith(prefix):
        label = prefix + label
    if not _LABEL_RE.match(label) or label.endswith("-"):
        raise ValueError(f"invalid label {label!r}: use letters, digits, - and _")
    return label


def format_value(value: Any, decimals: int | None = None) -> tuple[str, str | None]:
    """Format one cell; returns (markdown text, symbol used or None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return r"\[x\]", "x"
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return r"\[x\]", "x"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bool):
        return ("Yes" if value else "No"), None
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}", None
    if isinstance(value, numbers.Real):
        v = float(value)
        if decimals is None:
            decimals = 0 if v.is_integer() else 1
        # half up, as DfE publishes (f-strings round half to even on the binary value: 1.25 -> 1.2)
        q = Decimal(str(v)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        return f"{q:,.{decimals}f}", None
    text = str(value).strip()
    if text.lower() in SYMBOL_NOTES:
        sym = text.lower()
        return rf"\[{sym}\]", sym
    if _BRACKETED.fullmatch(text.lower()):
        sym = text.lower()[1:-1]
        return rf"\[{sym}\]", sym
    return _escape_md(text), None


def _is_numeric_column(series) -> bool:
    from pandas.api import types as ptypes

    if ptypes.is_bool_dtype(series):
        return False
    if ptypes.is_numeric_dtype(series):
        return True
    # object columns of numbers and symbols (e.g. suppressed counts) are numeric too
    vals = [v for v in series.tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return False
    return all(
        isinstance(v, numbers.Number)
        or str(v).strip().lower() in SYMBOL_NOTES
        or re.fullmatch(r"[+\-\u2212]?[\d,]+(\.\d+)?%?", str(v).strip())
        for v in vals
    )


def table_markdown(
    df,
    label: str,
    caption: str,
    notes: str | list[str] | None = None,
    *,
    decimals: int | Mapping[str, int] | None = None,
    index: bool = False,
) -> str:
    """Return a pandoc/Quarto pipe table with ``: caption {#tbl-label}`` and notes."""
    label = _check_label(label, "tbl-")
    if index:
        df = df.reset_index()
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        raise ValueError("table columns must have unique names")
    numeric = [_is_numeric_column(df[c]) for c in df.columns]
    used: list[str] = []
    head = [_escape_md(c) for c in columns]
    body: list[list[str]] = []
    # One number of decimals per column, so 1.0 and 1.2 in the same column read 1.0 and 1.2.
    col_dp: dict[str, int | None] = {}
    for col in df.columns:
        d = decimals.get(str(col)) if isinstance(decimals, Mapping) else decimals
        if d is None:
            floats = [
                float(v)
                for v in df[col]
                if isinstance(v, numbers.Real)
                and not isinstance(v, (bool, numbers.Integral))
                and not math.isnan(float(v))
            ]
            d = (1 if any(not f.is_integer() for f in floats) else 0) if floats else None
        col_dp[str(col)] = d
    for row in df.itertuples(index=False, name=None):
        cells = []
        for col, value in zip(df.columns, row):
            d = col_dp[str(col)]
            text, sym = format_value(value, d)
            if sym and sym not in used:
                used.append(sym)
            cells.append(text)
        body.append(cells)
    lines = ["| " + " | ".join(row) + " |" for row in [head, *body]]
    lines.insert(1, _separator(head, body, numeric))
    out = "\n".join(lines) + "\n\n" + f": {_escape_md(caption)} {{#{label}}}\n"
    note_lines: list[str] = []
    if notes:
        note_lines.extend([notes] if isinstance(notes, str) else list(notes))
    if used:
        note_lines.append("Symbols: " + "; ".join(rf"\[{s}\] {SYMBOL_NOTES[s]}" for s in used) + ".")
    if note_lines:
        out += "\n" + "\n\n".join(note_lines) + "\n"
    return out


#: Characters of table text across the page, the separator's dashes are shared out over: A4 with Typst's
#: default margins holds about 74 characters of 9 pt DejaVu Sans (the PDF's table text; its characters
#: are wide).
TABLE_CHARS = 74
#: A word longer than this (an id, a URL) is not given a column of its own width: it would squeeze the rest.
LONGEST_WORD = 20
#: A bold header word is this much wider than the same word in a cell.
BOLD = 1.2
#: Characters added to each column for the cell padding on either side.
CELL_PADDING = 2


def _separator(head: list[str], body: list[list[str]], numeric: list[bool]) -> str:
    """The pipe table's separator line: alignment, and dashes that size the columns.

    When a table's lines are long, pandoc (and so Quarto) sizes its columns in proportion to these dashes in
    every output; with equal dashes Typst and Word give every column the same width, squeezing names beside
    wide columns of short numbers. The widths follow the automatic table layout browsers use: each column
    gets at least its longest word (a bold header word counts :data:`BOLD` times wider; no more than
    :data:`LONGEST_WORD`), and the rest of the line is shared in proportion to how much more its longest
    cell needs.
    """
    lo, hi = [], []
    for j in range(len(head)):
        cells = [r[j] for r in body]
        word = max(
            [len(w) for c in cells for w in c.split()] + [math.ceil(len(w) * BOLD) for w in head[j].split()] + [1]
        )
        lo.append(min(word, LONGEST_WORD) + CELL_PADDING)
        hi.append(max([len(c) for c in cells] + [lo[-1] - CELL_PADDING]) + CELL_PADDING)
    spare, want = TABLE_CHARS - sum(lo), sum(h - m for h, m in zip(hi, lo))
    if sum(hi) <= TABLE_CHARS or want == 0:
        widths = hi
    elif spare <= 0:
        widths = lo
    else:
        widths = [m + round((h - m) * spare / want) for h, m in zip(hi, lo)]
    return "|" + "|".join(("-" * w + ":") if n else (":" + "-" * w) for w, n in zip(widths, numeric)) + "|"


def _png_bytes(fig, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def figure_markdown(fig, label: str, caption: str, alt: str, *, dpi: int = 150, width: str | None = None) -> str:
    """Return ``![caption](data:image/png;base64,...){#fig-label fig-alt="..."}``."""
    label = _check_label(label, "fig-")
    if not alt or not alt.strip():
        raise ValueError("every figure needs alt text (WCAG 2.2 AA)")
    if isinstance(fig, (bytes, bytearray)):
        png = bytes(fig)
    else:
        png = _png_bytes(fig, dpi)
    data = base64.b64encode(png).decode("ascii")
    alt_attr = str(alt).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    attrs = f'#{label} fig-alt="{alt_attr}"'
    if width:
        attrs += f' width="{width}"'
    return f"![{_escape_md(caption)}](data:image/png;base64,{data}){{{attrs}}}\n"


def figure_text(fig) -> list[str]:
    """Every text a drawn matplotlib figure shows (titles, axis labels, tick labels, legend entries,
    annotations, table cells, offset texts), once each, in drawing order. Tick labels get their text when
    the figure is drawn: call this after saving it."""
    from matplotlib.text import Text

    seen: dict[str, None] = {}
    for artist in fig.findobj(Text):
        text = artist.get_text()
        if artist.get_visible() and text.strip():
            seen.setdefault(text, None)
    return list(seen)


def _display_markdown(md: str, plain: str, metadata: dict | None = None) -> None:
    from IPython.display import display

    if metadata:
        display({"text/markdown": md, "text/plain": plain}, metadata=metadata, raw=True)
    else:
        display({"text/markdown": md, "text/plain": plain}, raw=True)


def table(
    df,
    label: str,
    caption: str,
    notes: str | list[str] | None = None,
    *,
    decimals: int | Mapping[str, int] | None = None,
    index: bool = False,
) -> None:
    """Display ``df`` as a captioned, cross-referenceable table (``@tbl-<label>``)."""
    md = table_markdown(df, label, caption, notes, decimals=decimals, index=index)
    _display_markdown(md, f"Table: {caption}")


def figure(
    fig, label: str, caption: str, alt: str, *, dpi: int = 150, width: str | None = None, close: bool = True
) -> None:
    """Display a matplotlib figure with caption, alt text and id (``@fig-<label>``).

    The figure is closed afterwards (``close=True``) so that the inline backend
    does not display it a second time as an uncaptioned image. Every text the chart shows goes into the
    output's metadata (:data:`FIGURE_TEXT_KEY`): the leak scan reads it there, since it cannot read the
    picture. A PNG passed as bytes has no text to record: the scan refuses it as an unchecked image.
    """
    md = figure_markdown(fig, label, caption, alt, dpi=dpi, width=width)
    metadata = None
    if not isinstance(fig, (bytes, bytearray)):  # saved by figure_markdown, so drawn: every text is set
        key, field = FIGURE_TEXT_KEY
        metadata = {key: {field: figure_text(fig)}}
    _display_markdown(md, f"Figure: {caption}", metadata)
    if close and not isinstance(fig, (bytes, bytearray)):
        import matplotlib.pyplot as plt

        plt.close(fig)
