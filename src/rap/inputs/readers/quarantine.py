"""Shared machinery of the readers: the read result, vectorised row checks and the quarantine files.

Every reader returns a :class:`ReadResult`: the validated frames by table, and one ``problems`` frame in
which each row names the ``table``, ``file``, ``line`` (physical line in the source file, header = line 1),
``column``, ``value`` and ``reason`` of one failed check, with ``action`` saying whether the row was
``rejected`` (left out of the validated frame) or only ``reported`` (kept, e.g. a duplicate child).

Checks are vectorised over the *distinct* values of a column (``pd.factorize``), not over rows: a date
column of a million rows usually has a few thousand distinct dates, so parsing and code-list look-ups cost
almost nothing. pandera's ``DataFrameSchema(lazy=True)`` does the same checks but is an order of magnitude
slower at national scale (millions of rows), so the rules here are plain data (:class:`Rule`) with the same
meaning: required, date format, code list (optionally by collection year), regular expression, number range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from rap.domain.ssda903 import spec

PROBLEM_COLUMNS = ["table", "file", "line", "column", "value", "reason", "action"]
REJECTED_COLUMNS = ["file", "line", "column", "value", "reason", "table"]

#: Internal per-row provenance columns kept on validated frames: index into ``ReadResult.files`` and the
#: physical line of the row in that file (header = line 1).
FILE_COL = "_file"
LINE_COL = "_line"


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else "object") for c in PROBLEM_COLUMNS})


@dataclass
class ReadResult:
    """Validated frames by table plus every problem found, with the counts the QA section needs."""

    tables: dict[str, pd.DataFrame]
    problems: pd.DataFrame = field(default_factory=empty_problems)
    #: rows read per table (before rejection), the denominator of :func:`rejected_share`
    rows_read: dict[str, int] = field(default_factory=dict)
    #: every source file, in the order of the ``_file`` ids on the frames
    files: list[str] = field(default_factory=list)
    #: things worth telling a person that are not row problems (a skipped table, an empty file)
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    @property
    def rejected(self) -> pd.DataFrame:
        """One row per failed check that removed a row: file, line, column, value, reason, table."""
        p = self.problems
        return p.loc[p["action"] == "rejected", REJECTED_COLUMNS].reset_index(drop=True)

    @property
    def reported(self) -> pd.DataFrame:
        """Problems reported but kept in the data (e.g. a child twice in Header)."""
        p = self.problems
        return p.loc[p["action"] == "reported", REJECTED_COLUMNS].reset_index(drop=True)

    def rejected_rows(self) -> dict[str, int]:
        """Rows rejected per table (a row failing several checks counts once)."""
        rej = self.problems[self.problems["action"] == "rejected"]
        counts = rej.drop_duplicates(["table", "file", "line"]).groupby("table").size()
        return {t: int(counts.get(t, 0)) for t in sorted(set(self.rows_read) | set(counts.index))}

    def counts(self) -> pd.DataFrame:
        """Per table: rows read, rows rejected, rows kept, problems reported."""
        rej = self.rejected_rows()
        rep = self.problems[self.problems["action"] == "reported"].groupby("table").size()
        rows = []
        for t in sorted(set(self.rows_read) | set(rej)):
            rows.append(
                {
                    "table": t,
                    "rows_read": self.rows_read.get(t, 0),
                    "rows_rejected": rej.get(t, 0),
                    "rows_kept": len(self.tables[t]) if t in self.tables else 0,
                    "problems_reported": int(rep.get(t, 0)),
                }
            )
        return pd.DataFrame(rows, columns=["table", "rows_read", "rows_rejected", "rows_kept", "problems_reported"])


def rejected_share(result: ReadResult, table: str | None = None) -> float:
    """Share of rows read that were rejected (all tables, or one), 0.0 when nothing was read."""
    rej = result.rejected_rows()
    if table is not None:
        n = result.rows_read.get(table, 0)
        return rej.get(table, 0) / n if n else 0.0
    n = sum(result.rows_read.values())
    return sum(rej.values()) / n if n else 0.0


#: Columns whose values identify a child or a worker: never written to an output, even a QA file.
IDENTIFYING_COLUMNS = frozenset({"CHILD", "CHILDID", "DOB", "MC_DOB", "UPN", "HOME_POST", "PL_POST", "SW_ID"})
REDACTED = "[redacted]"


#: Dates as the returns and the readers write them: in a rejected row any date (episode start, missing
#: incident, review) is record-level detail that could single a child out beside the LA and line.
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b")
REDACTED_DATE = "[date]"
#: The shape of a code: up to five letters then up to two digits, five characters at most (SEX 1, ETHNIC WBRI,
#: PLACE U1, REC E11, REASON_PLACE_CHANGE CARPL, an SDQ score 35). Ids, UPNs, dates of birth and postcodes are
#: longer or differently made, so a value of this shape cannot single a child out.
_CODE_SHAPE = re.compile(r"(?=.{1,5}$)[A-Za-z]{0,5}[0-9]{0,2}")
#: A quoted value in a reason, with the column named just before it when there is one ("DECOM '01/05/2023'").
_QUOTED = re.compile(r"(?:\b([A-Z][A-Z0-9_]*) )?'([^']*)'")
#: The child an XML export's reason ends with, "(CHILD 123)".
_CHILD_REF = re.compile(r"\((CHILD|CHILDID) [^)]*\)")


@cache
def _codes(column: str) -> frozenset[str]:
    """Every code of ``column`` in the SSDA903 code lists, in any collection year (SEX 1 is a code in 2024
    but not in 2025, and a QA file may show it)."""
    versions = spec()["codelists"].get(column) or []
    return frozenset(str(c) for v in versions for c in v["codes"])


def _shape(value: str) -> str:
    """A value that may identify, described without it: letters as x, digits as #, other characters kept."""
    if len(value) > 20:
        return f"[redacted: {len(value)} characters]"
    return "[redacted: " + "".join("x" if c.isalpha() else "#" if c.isdigit() else c for c in value) + "]"


def safe_value(value: str, column: str, *, dates: bool = True) -> str:
    """``value`` of ``column`` as a file leaving the pipeline may hold it. Kept: a blank, a code of the column,
    anything shaped like a code (:data:`_CODE_SHAPE`) outside identifying columns. Redacted: every value of an
    identifying column; a date (kept with ``dates=False``, for the analyst's console only); anything else,
    wherever it sits (a child id shifted into SEX, a UPN in MOTHER), shown by its shape only."""
    if not value or value.startswith("[redacted") or value == REDACTED_DATE:
        return value
    if column in IDENTIFYING_COLUMNS:
        return REDACTED
    if _DATE.fullmatch(value.strip()):
        return REDACTED_DATE if dates else value
    if value in _codes(column) or _CODE_SHAPE.fullmatch(value):
        return value
    return _shape(value)


def _safe_reason(reason: str, value: str, column: str, dates: bool) -> str:
    """``reason`` with every quoted value judged as :func:`safe_value` judges it (by the column named before it,
    else the problem's column), the child of an XML reason and, unless ``dates=False``, every date redacted."""
    shown = safe_value(value, column, dates=dates)
    if value and shown != value:
        reason = reason.replace(f"'{value}'", f"'{shown}'")

    def quoted(m: re.Match) -> str:
        col = m.group(1) if m.group(1) else column
        return (f"{m.group(1)} " if m.group(1) else "") + f"'{safe_value(m.group(2), col, dates=dates)}'"

    reason = _CHILD_REF.sub(lambda m: f"({m.group(1)} {REDACTED})", _QUOTED.sub(quoted, reason))
    return _DATE.sub(REDACTED_DATE, reason) if dates else reason


def redact_problems(problems: pd.DataFrame, *, dates: bool = True) -> pd.DataFrame:
    """Problems safe to leave the pipeline: judged by value, not only by column (:func:`safe_value`), so that a
    shifted row (an id in SEX, a UPN in MOTHER, a DOB in DECOM) leaves nothing identifying in a QA file.

    What stays is what an analyst needs to find and fix the row: the table, file, line, column name, the reason
    and a value that is a code; the row itself stays where it was. ``dates=False`` keeps dates that are not
    dates of birth: for the message on the analyst's own console, never for a file under ``outputs/``.
    """
    out = problems.copy()
    values = out["value"].astype("string").fillna("").tolist()
    reasons = out["reason"].astype("string").fillna("").tolist()
    columns = out["column"].astype("string").fillna("").tolist()
    out["reason"] = [_safe_reason(r, v, c, dates) for r, v, c in zip(reasons, values, columns)]
    out["value"] = [safe_value(v, c, dates=dates) for v, c in zip(values, columns)]
    return out


def _relative(file: str, root: Path) -> str:
    try:
        return Path(file).resolve().relative_to(root).as_posix()
    except ValueError:
        return file


def write_rejected(
    result: ReadResult, qa_dir: str | Path, *, include_reported: bool = False, base: str | Path | None = None
) -> list[Path]:
    """Write ``rejected_<table>.csv`` (lower-case table name) for every table read, into ``qa_dir``.

    Tables with no rejected rows get a file with the header only, so an old file never lingers. With
    ``include_reported`` the problems kept in the data go to ``reported_<table>.csv`` as well.
    Every value that could identify a child, whatever column it sits in, is redacted (:func:`redact_problems`):
    the file and line find the row in the source. With ``base``, file
    paths inside it are written relative to it (outputs carry no absolute paths of the machine that made them).
    """
    qa = Path(qa_dir)
    qa.mkdir(parents=True, exist_ok=True)
    written = []
    tables = sorted(set(result.rows_read) | set(result.problems["table"].unique()))
    for action, prefix in [("rejected", "rejected"), ("reported", "reported")]:
        if action == "reported" and not include_reported:
            continue
        p = redact_problems(result.problems[result.problems["action"] == action])
        if base is not None:
            root = Path(base).resolve()
            p["file"] = [_relative(f, root) for f in p["file"]]
        for t in tables:
            out = qa / f"{prefix}_{t.lower()}.csv"
            p.loc[p["table"] == t, REJECTED_COLUMNS].sort_values(["file", "line"]).to_csv(out, index=False)
            written.append(out)
    return written


# --------------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Rule:
    """What one column must hold. Blank means '' or missing after stripping surrounding whitespace.

    ``codes`` may be one collection of allowed values, or a mapping ``year -> allowed`` applied to each row
    by its ``year_col`` value. ``keep_invalid`` columns are checked by nobody here: their defects are
    measured downstream (ETHNIC), so they are only stripped.
    """

    column: str
    required: bool = False
    date: str | None = None
    codes: frozenset[str] | Mapping[int, frozenset[str]] | None = None
    regex: str | None = None
    number: tuple[float, float] | None = None
    integer: bool = False
    keep_invalid: bool = False
    label: str | None = None  # how a reason names the check, e.g. "SEX code for 2024"


_DATE_SHAPE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def _factorize(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values, missing values mapped to ''."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        uniques = np.append(uniques, "")
        codes = np.where(codes < 0, len(uniques) - 1, codes)
    return codes, uniques


def _fmt(value: object) -> str:
    return f"'{value}'"


def _with_context(df: pd.DataFrame, context_col: str | None, idx: np.ndarray, reasons) -> object:
    if not context_col:
        return reasons
    ctx = df[context_col].to_numpy()[idx]
    if isinstance(reasons, str):
        reasons = [reasons] * len(idx)
    return np.array([f"{r} ({context_col} {c})" for r, c in zip(reasons, ctx)], dtype=object)


def _rejected_rows(
    df: pd.DataFrame, files: list[str], table: str, column: str, idx: np.ndarray, values: object, reasons: object
) -> pd.DataFrame:
    """Problem rows for the rows ``idx`` of ``df`` that a check rejects, naming their file and line."""
    return pd.DataFrame(
        {
            "table": table,
            "file": np.asarray(files, dtype=object)[df[FILE_COL].to_numpy()[idx]],
            "line": df[LINE_COL].to_numpy()[idx].astype("int64"),
            "column": column,
            "value": values,
            "reason": reasons,
            "action": "rejected",
        },
        columns=PROBLEM_COLUMNS,
    )


def check_frame(
    df: pd.DataFrame,
    rules: Iterable[Rule],
    *,
    table: str,
    files: list[str],
    year_col: str | None = None,
    context_col: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply ``rules`` to ``df`` (string columns plus ``_file``/``_line``); return (clean frame, problems).

    Values are stripped of surrounding whitespace; date columns become ``datetime64``; number columns become
    float (or nullable Int64 with ``integer``). Rows with any failed check are dropped from the clean frame
    and named in the problems frame (``action = 'rejected'``). With ``context_col`` each reason ends with
    that column's value, e.g. ``(CHILD 123)``, for sources whose line numbers do not single out a row.
    """
    bad_any = np.zeros(len(df), dtype=bool)
    problems: list[pd.DataFrame] = []
    out = {}
    years = df[year_col].to_numpy() if year_col and year_col in df.columns else None
    for rule in rules:
        col = rule.column
        if col not in df.columns or rule.keep_invalid and not rule.required:
            continue
        if not (rule.date or rule.codes is not None or rule.regex or rule.number):
            # identifiers and free text: only "required" to check, row-wise (too many distinct values for the
            # factorize route to pay); values are not stripped
            blank = _blank_required(df, rule, files, table, context_col, problems)
            bad_any |= blank
            continue
        checked = _check_values(df[col], rule, years)
        row_bad = checked.row_bad()
        if row_bad.any():
            idx = np.flatnonzero(row_bad)
            reasons = _with_context(df, context_col, idx, checked.row_reasons(idx))
            problems.append(_rejected_rows(df, files, table, col, idx, checked.uniques[checked.codes[idx]], reasons))
            bad_any |= row_bad
        cleaned = checked.cleaned(rule, df.index)
        if cleaned is not None:
            out[col] = cleaned
    if out:
        df = df.assign(**out)
    clean = df.loc[~bad_any] if bad_any.any() else df
    prob = pd.concat(problems, ignore_index=True) if problems else empty_problems()
    return clean, prob


def _blank_required(
    df: pd.DataFrame, rule: Rule, files: list[str], table: str, context_col: str | None, problems: list
) -> np.ndarray:
    """Rows where a required identifier or free-text column is blank (their problems appended to ``problems``)."""
    col = rule.column
    blank = np.zeros(len(df), dtype=bool)
    if not rule.required:
        return blank
    blank = df[col].to_numpy(dtype=object, na_value="") == ""
    if blank.any():
        idx = np.flatnonzero(blank)
        reasons = _with_context(df, context_col, idx, f"{col} is blank but required")
        problems.append(_rejected_rows(df, files, table, col, idx, "", reasons))
    return blank


@dataclass
class _Checked:
    """One column checked through its distinct values: ``codes`` index ``uniques`` (and ``stripped``) per row;
    ``reason_u`` is the reason per distinct value ('' = fine), ``row_reason`` a reason per row where a code list
    depends on the row's year; ``parsed_u`` the parsed dates of a date column."""

    codes: np.ndarray
    uniques: np.ndarray
    stripped: np.ndarray
    blank_u: np.ndarray
    reason_u: np.ndarray
    row_reason: np.ndarray | None = None
    parsed_u: np.ndarray | None = None

    def row_bad(self) -> np.ndarray:
        bad = (self.reason_u != "")[self.codes]
        return bad | (self.row_reason != "") if self.row_reason is not None else bad

    def row_reasons(self, idx: np.ndarray) -> np.ndarray:
        reasons = self.reason_u[self.codes[idx]]
        return reasons if self.row_reason is None else np.where(reasons == "", self.row_reason[idx], reasons)

    def cleaned(self, rule: Rule, index: pd.Index) -> pd.Series | None:
        """The column as the clean frame holds it (dates, numbers, stripped text), or None if unchanged."""
        if rule.date and not rule.keep_invalid:
            return pd.Series(self.parsed_u[self.codes], index=index, dtype="datetime64[ns]")
        if rule.number and not rule.keep_invalid:
            vals = pd.to_numeric(pd.Series(self.stripped), errors="coerce").to_numpy(dtype=float, copy=True)
            vals[self.blank_u | (self.reason_u != "")] = np.nan
            s = pd.Series(vals[self.codes], index=index)
            return s.astype("Int64") if rule.integer else s
        if (self.stripped != self.uniques).any():
            return pd.Series(self.stripped[self.codes], index=index, dtype="str")
        return None


def _check_values(values: pd.Series, rule: Rule, years: np.ndarray | None) -> _Checked:
    """Every check of ``rule`` on the distinct values of a column (see :class:`_Checked`)."""
    codes, uniques = _factorize(values)
    stripped = np.array([str(u).strip() for u in uniques], dtype=object)
    blank_u = stripped == ""
    c = _Checked(codes, uniques, stripped, blank_u, np.full(len(uniques), "", dtype=object))
    if rule.keep_invalid:
        return c
    col = rule.column
    if rule.required:
        c.reason_u[blank_u] = f"{col} is blank but required"
    if rule.date:
        shape_ok = np.array([bool(_DATE_SHAPE.match(s)) for s in stripped], dtype=bool)
        parsed_u = pd.to_datetime(pd.Series(stripped), format=rule.date, errors="coerce").to_numpy(copy=True)
        bad = ~blank_u & (~shape_ok | pd.isna(parsed_u))
        for i in np.flatnonzero(bad):
            c.reason_u[i] = f"{col} {_fmt(stripped[i])} is not a dd/mm/YYYY date"
        parsed_u[bad | blank_u] = np.datetime64("NaT")
        c.parsed_u = parsed_u
    if rule.regex:
        rx = re.compile(rule.regex)
        for i in np.flatnonzero(~blank_u):
            if not rx.fullmatch(stripped[i]) and not c.reason_u[i]:
                c.reason_u[i] = f"{col} {_fmt(stripped[i])} is not in the expected format"
    if rule.number:
        _number_reasons(c, rule)
    if rule.codes is not None:
        _code_reasons(c, rule, years)
    return c


def _number_reasons(c: _Checked, rule: Rule) -> None:
    """Reasons for distinct values that are not numbers in ``rule.number`` (whole numbers with ``integer``)."""
    lo, hi = rule.number
    nums = pd.to_numeric(pd.Series(c.stripped), errors="coerce").to_numpy(dtype=float, copy=True)
    bad = ~c.blank_u & (np.isnan(nums) | (nums < lo) | (nums > hi))
    if rule.integer:
        bad |= ~c.blank_u & ~np.isnan(nums) & (np.mod(nums, 1) != 0)
    kind = "a whole number" if rule.integer else "a number"
    for i in np.flatnonzero(bad):
        if not c.reason_u[i]:
            c.reason_u[i] = f"{rule.column} {_fmt(c.stripped[i])} is not {kind} from {lo:g} to {hi:g}"


def _code_reasons(c: _Checked, rule: Rule, years: np.ndarray | None) -> None:
    """Reasons for values outside the code list: per distinct value, or per row when the list depends on the
    row's year (then the reason names the year)."""
    col = rule.column
    label = rule.label or f"{col} code"
    if not isinstance(rule.codes, Mapping):
        bad_u = ~c.blank_u & ~np.isin(c.stripped, list(rule.codes)) & (c.reason_u == "")
        for i in np.flatnonzero(bad_u):
            c.reason_u[i] = f"{col} {_fmt(c.stripped[i])} is not a valid {label}"
        return
    if years is None:
        raise ValueError(f"rule for {col} varies by year but the frame has no year column")
    c.row_reason = np.full(len(c.codes), "", dtype=object)
    for y in np.unique(years):
        allowed = rule.codes.get(int(y), frozenset())
        bad_u = ~c.blank_u & ~np.isin(c.stripped, list(allowed)) & (c.reason_u == "")
        if not bad_u.any():
            continue
        for i in np.flatnonzero(bad_u[c.codes] & (years == y)):
            c.row_reason[i] = f"{col} {_fmt(c.stripped[c.codes[i]])} is not a valid {label} for {int(y)}"


def problem_frame(
    table: str,
    files: Iterable[str],
    lines: Iterable[int],
    column: str,
    values: Iterable[object],
    reasons: Iterable[str] | str,
    action: str,
) -> pd.DataFrame:
    """Build problem rows from parallel arrays (for checks across rows or tables)."""
    files = list(files)
    df = pd.DataFrame(
        {
            "table": table,
            "file": files,
            "line": np.asarray(list(lines), dtype="int64"),
            "column": column,
            "value": list(values),
            "reason": list(reasons) if not isinstance(reasons, str) else reasons,
            "action": action,
        },
        columns=PROBLEM_COLUMNS,
    )
    return df


def concat_problems(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_problems()
    return pd.concat(frames, ignore_index=True)[PROBLEM_COLUMNS]
