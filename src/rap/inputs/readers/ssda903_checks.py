"""Checks of an SSDA903 return that look across rows or tables, after each row passed its own checks.

DfE's validation of the return (its "Children looked after return: guide" and validation rules) holds that:

* every date lies in the child's life and no later than the end of the collection year (31 March of the
  year that names it). The date the child stops being an unaccompanied asylum-seeking child (UASC ``DUC``, the
  18th birthday) is the exception: it may lie ahead. Nothing in a return is more than
  :data:`OLDEST_YEARS` years before the year ends (a care leaver is at most 21);
* a period ends no earlier than it starts (episodes, missing periods, social worker episodes, placements for
  adoption);
* a child's episodes do not overlap: the next starts when, or after, the previous ends;
* every row of a child belongs to a child in the return's Header;
* a child is looked after by one LA on 31 March.

A row that breaks one is rejected (quarantined with its reason, counted against ``qa.max_rejected_share``),
and the child's rows in other tables go with a rejected Header row, so that no child is counted half-known
(episodes with no ethnicity) or twice. A child in two LAs' returns who is not looked after by both on
31 March is only reported: children move between LAs during a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rap.domain.ssda903 import code_group, record_key, spec
from rap.inputs.readers.quarantine import FILE_COL, LINE_COL, concat_problems, problem_frame

#: Dates that may follow the end of the collection year: UASC's DUC, the day the child turns 18.
MAY_FOLLOW_YEAR_END = frozenset({"DUC"})
#: No date in a return lies this many years or more before the end of its collection year.
OLDEST_YEARS = 25
#: (start, end) of the periods a table records; the end may be blank (still open), never before the start.
PERIODS = {
    "Episodes": ("DECOM", "DEC"),
    "Missing": ("MIS_START", "MIS_END"),
    "SWEpisodes": ("SW_DECOM", "SW_DEC"),
    "PlacedAdoption": ("DATE_PLACED", "DATE_PLACED_CEASED"),
}
#: The column holding each row's child (YEAR, LA, CHILD) as one int64, set by the reader before these checks.
CHILD_KEY = "_child"
#: What :func:`periods_in_order` says of an episode that ends before it starts (kept from earlier releases).
_ENDS_BEFORE = {"Episodes": "episode ends before it starts"}


@dataclass(frozen=True)
class Source:
    """Where the rows came from: the files (``_file`` indexes them) and, for an XML export whose lines may not
    single out a row, the column whose value ends each reason (``(CHILD 123)``)."""

    files: list[str]
    context_col: str | None = None


def _problems(table: str, rows: pd.DataFrame, src: Source, column: str, values, reasons, action: str) -> pd.DataFrame:
    file = np.asarray(src.files, dtype=object)[rows[FILE_COL].to_numpy()]
    if src.context_col:
        reasons = [f"{r} ({src.context_col} {c})" for r, c in zip(reasons, rows[src.context_col])]
    return problem_frame(table, file, rows[LINE_COL].to_numpy(), column, values, reasons, action)


#: Reasons here never hold an apostrophe outside the quotes around a value: QA files redact quoted values.
def _rejected(table: str, rows: pd.DataFrame, src: Source, column: str, values, reasons) -> pd.DataFrame:
    return _problems(table, rows, src, column, values, reasons, "rejected")


def _fmt(dates: pd.Series) -> np.ndarray:
    return dates.dt.strftime(spec()["date_format"]).to_numpy(dtype=object, na_value="")


def _place(src: Source, file_id: int, line: int) -> str:
    """How a reason points at another row: ``<LA folder>/<file name> line <n>``."""
    p = Path(src.files[int(file_id)])
    return f"{p.parent.name}/{p.name} line {int(line)}"


def strip_identifiers(df: pd.DataFrame, columns: list[str], table: str, notes: list[str]) -> pd.DataFrame:
    """``columns`` (ids and other text the row checks leave as written) without surrounding spaces, so that
    "123 " in Episodes is the child "123" of Header; a note says how many values had them."""
    out = {}
    for col in columns:
        if col not in df.columns or not len(df):
            continue
        s = df[col].astype("str")
        stripped = s.str.strip()
        changed = int((stripped != s).sum())
        if changed:
            out[col] = stripped
            notes.append(f"{table}: {changed:,} {col} values had spaces around them, removed")
    return df.assign(**out) if out else df


def _year_ends(year: np.ndarray, back: int = 0) -> np.ndarray:
    """31 March of each row's collection year (less ``back`` years), as datetime64[ns]."""
    inverse, years = pd.factorize(year)  # (numpy's unique is slow on a million rows)
    return np.array([np.datetime64(f"{int(y) - back:04d}-03-31", "ns") for y in years])[inverse]


def dates_in_range(df: pd.DataFrame, table: str, src: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with a date after the end of their collection year (but :data:`MAY_FOLLOW_YEAR_END`) or
    :data:`OLDEST_YEARS` years or more before it, rejected."""
    if not len(df):
        return df, concat_problems([])
    year = df["YEAR"].to_numpy()
    end, oldest = _year_ends(year), _year_ends(year, OLDEST_YEARS)
    bad_any = np.zeros(len(df), dtype=bool)
    problems = []
    for col in spec()["tables"][table].get("dates", []):
        d = df[col].to_numpy(dtype="datetime64[ns]")
        late = (d > end) & (col not in MAY_FOLLOW_YEAR_END)
        early = d <= oldest
        bad = (late | early) & ~bad_any
        if not bad.any():
            continue
        rows = df.loc[bad]
        when = [
            f"after 31 March {y}, the end of collection year {y}"
            if is_late
            else f"{OLDEST_YEARS} years or more before 31 March {y}, the end of collection year {y}"
            for y, is_late in zip(year[bad], late[bad])
        ]
        values = _fmt(rows[col])
        reasons = [f"{col} '{v}' is {w}" for v, w in zip(values, when)]
        problems.append(_rejected(table, rows, src, col, values, reasons))
        bad_any |= bad
    return (df.loc[~bad_any] if bad_any.any() else df), concat_problems(problems)


def periods_in_order(df: pd.DataFrame, table: str, src: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of a :data:`PERIODS` table whose period ends before it starts, rejected."""
    if table not in PERIODS or not len(df):
        return df, concat_problems([])
    start, end = PERIODS[table]
    bad = (df[end] < df[start]).to_numpy(dtype=bool)
    if not bad.any():
        return df, concat_problems([])
    b = df.loc[bad]
    ends, starts = _fmt(b[end]), _fmt(b[start])
    what = _ENDS_BEFORE.get(table, "the period ends before it starts")
    reasons = [f"{end} '{x}' is before {start} '{y}' ({what})" for x, y in zip(ends, starts)]
    return df.loc[~bad], _rejected(table, b, src, end, ends, reasons)


def overlapping_episodes(ep: pd.DataFrame, src: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes that start before the child's previous episode ends (or while it is still open), rejected:
    the child would be in two placements at once and counted twice."""
    if not len(ep):
        return ep, concat_problems([])
    order = ep.sort_values([CHILD_KEY, "DECOM", FILE_COL, LINE_COL], kind="stable")
    grouped = order.groupby(CHILD_KEY, sort=False)
    prev_dec, prev_decom = grouped["DEC"].shift(), grouped["DECOM"].shift()
    prev_file, prev_line = grouped[FILE_COL].shift(), grouped[LINE_COL].shift()
    has_prev = prev_decom.notna().to_numpy()
    bad_sorted = has_prev & (prev_dec.isna().to_numpy() | (order["DECOM"] < prev_dec).to_numpy(dtype=bool))
    if not bad_sorted.any():
        return ep, concat_problems([])
    b = order.loc[bad_sorted]
    starts, prev_ends = _fmt(b["DECOM"]), _fmt(prev_dec[bad_sorted])
    places = [_place(src, f, n) for f, n in zip(prev_file[bad_sorted], prev_line[bad_sorted])]
    reasons = [
        f"DECOM '{s}' is before the end of the previous episode of the child ({p}, "
        + (f"DEC '{e}'" if e else "still open, no DEC")
        + "): episodes overlap"
        for s, e, p in zip(starts, prev_ends, places)
    ]
    return ep.drop(index=b.index), _rejected("Episodes", b, src, "DECOM", starts, reasons)


def _same_child_elsewhere(header: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """Header rows of a known UPN and DOB found in more than one LA in a year, sorted, with ``_open`` (an
    episode still open at the end of the collection year: looked after on 31 March)."""
    same = ["YEAR", "UPN", "DOB"]
    known = ~header["UPN"].isin(code_group("upn_unknown")).to_numpy()
    known &= header.duplicated(["YEAR", "UPN"], keep=False).to_numpy()  # few rows from here on
    h = header.loc[known].drop_duplicates([CHILD_KEY, "UPN", "DOB"])
    h = h[h.groupby(same, dropna=False)["LA"].transform("nunique").to_numpy() > 1]
    h = h.assign(_open=h[CHILD_KEY].isin(episodes.loc[episodes["DEC"].isna(), CHILD_KEY]).to_numpy())
    return h.sort_values([*same, FILE_COL, LINE_COL], kind="stable")


def children_in_two_las(header: pd.DataFrame, episodes: pd.DataFrame, src: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same child (the same known UPN and DOB) in the Header of two or more LAs in one year. Looked after
    by more than one of them on 31 March: rejected in all but the first LA (a child is looked after by one LA
    at a time; counted once). Otherwise reported: a child who moved LA during the year is in both returns."""
    if not len(header) or header["LA"].isna().all():
        return header, concat_problems([])
    same = ["YEAR", "UPN", "DOB"]
    h = _same_child_elsewhere(header, episodes)
    if not len(h):
        return header, concat_problems([])
    first_open = h.loc[h["_open"]].groupby(same, dropna=False)[[FILE_COL, LINE_COL]].first()
    h = h.join(first_open, on=same, rsuffix="_kept")
    g = h.groupby(same, dropna=False)
    reject = (h["_open"] & (g["_open"].cumsum() > 1)).to_numpy(dtype=bool)
    first = g[[FILE_COL, LINE_COL]].transform("first")
    problems = []
    if reject.any():
        r = h.loc[reject]
        places = [_place(src, f, n) for f, n in zip(r[FILE_COL + "_kept"], r[LINE_COL + "_kept"])]
        reasons = [
            f"the same child (UPN and DOB) is looked after on 31 March by another LA too ({p}): a child is looked "
            "after by one LA at a time, so kept there and rejected here"
            for p in places
        ]
        problems.append(_rejected("Header", r, src, "UPN", r["UPN"].to_numpy(), reasons))
    moved = ~reject & ((h[FILE_COL] != first[FILE_COL]) | (h[LINE_COL] != first[LINE_COL])).to_numpy()
    if moved.any():
        m = h.loc[moved]
        places = [_place(src, f, n) for f, n in zip(first.loc[moved, FILE_COL], first.loc[moved, LINE_COL])]
        reasons = [
            f"the same child (UPN and DOB) is in the return of another LA this year too ({p}); kept" for p in places
        ]
        problems.append(_problems("Header", m, src, "UPN", m["UPN"].to_numpy(), reasons, "reported"))
    drop = pd.MultiIndex.from_frame(h.loc[reject, [FILE_COL, LINE_COL]])
    rows = pd.MultiIndex.from_frame(header[[FILE_COL, LINE_COL]])
    return header.loc[~rows.isin(drop)], concat_problems(problems)


def child_keys(frames: list[pd.DataFrame]) -> list[np.ndarray]:
    """One int64 per row naming its child (the record key YEAR, LA, CHILD), comparable across ``frames``:
    the key columns are factorised once over all of them, much faster than merging tables on strings."""
    sizes = [len(f) for f in frames]
    codes = np.zeros(sum(sizes), dtype=np.int64)
    for col in record_key():
        c, u = pd.factorize(pd.concat([f[col] for f in frames], ignore_index=True), use_na_sentinel=False)
        codes = codes * (len(u) + 1) + c
    return np.split(codes, np.cumsum(sizes)[:-1])


def rows_of_header_children(
    tables: dict[str, pd.DataFrame], header_read: pd.DataFrame, src: Source
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Rows of every table but Header whose child has no Header row in the return, or whose Header row was
    rejected, rejected: without it the child's ethnicity, sex and age are unknown."""
    first = header_read[[CHILD_KEY, FILE_COL, LINE_COL]].sort_values([FILE_COL, LINE_COL])
    first = first.drop_duplicates(CHILD_KEY).set_index(CHILD_KEY)
    out, problems = dict(tables), []
    for table, df in tables.items():
        if table == "Header" or not len(df):
            continue
        bad = ~df[CHILD_KEY].isin(tables["Header"][CHILD_KEY]).to_numpy()
        if not bad.any():
            continue
        b = df.loc[bad]
        where = first.reindex(b[CHILD_KEY].to_numpy())
        reasons = [
            "the child has no row in the Header of this return"
            if pd.isna(f)
            else f"the Header row of the child ({_place(src, f, n)}) was rejected: the other rows of the child go with it"
            for f, n in zip(where[FILE_COL], where[LINE_COL])
        ]
        problems.append(_rejected(table, b, src, "CHILD", b["CHILD"].to_numpy(), reasons))
        out[table] = df.loc[~bad]
    return out, concat_problems(problems)


def dates_after_birth(tables: dict[str, pd.DataFrame], src: Source) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Rows with a date before the child's DOB (the row's own DOB, or Header's for Episodes) rejected."""
    born = tables["Header"].sort_values([FILE_COL, LINE_COL]).groupby(CHILD_KEY)["DOB"].first()
    out, problems = dict(tables), []
    for table, df in tables.items():
        if not len(df):
            continue
        dob = df["DOB"] if "DOB" in df.columns else pd.Series(born.reindex(df[CHILD_KEY]).to_numpy(), index=df.index)
        bad_any = np.zeros(len(df), dtype=bool)
        for col in spec()["tables"][table].get("dates", []):
            if col == "DOB":
                continue
            bad = (df[col] < dob).to_numpy(dtype=bool) & ~bad_any
            if bad.any():
                b = df.loc[bad]
                values, dobs = _fmt(b[col]), _fmt(dob[bad])
                reasons = [f"{col} '{v}' is before the DOB of the child, '{d}'" for v, d in zip(values, dobs)]
                problems.append(_rejected(table, b, src, col, values, reasons))
                bad_any |= bad
        if bad_any.any():
            out[table] = df.loc[~bad_any]
    return out, concat_problems(problems)
