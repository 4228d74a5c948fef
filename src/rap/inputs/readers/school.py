"""The school extract (National Pupil Database style), one CSV per year with every LA: ``school/<year>.csv``.

Columns (docs/data-contract.md): UPN, LA, ETHNIC, NCYEAR, SCHOOL_MOVES, MIDYEAR_MOVES, KS1_RWM_EXP (years up
to 2023 only: absent or all blank from 2024), KS2_READ_EXP, KS2_WRIT_EXP, KS2_MAT_EXP, KS4_ATT8 (0-90),
KS4_EM_94. Flags become nullable ``Int8`` (blank = not in the cohort), moves ``Int64``, KS4_ATT8 float.
ETHNIC is kept as recorded, with ``ethnic_quality`` beside it (never a reason to reject: disagreement with
SSDA903 is what the report measures). A bad UPN, LA, year group, count, flag or score rejects the row, as does
a known UPN on several rows (copies: all but the first; rows that differ: all of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.errors import InputError
from rap.domain.ethnicity import ethnic_quality
from rap.domain.geography import la_codes
from rap.domain.ssda903 import code_group
from rap.inputs.readers.csvfiles import parse_bodies, read_csv_file
from rap.inputs.readers.quarantine import (
    FILE_COL,
    LINE_COL,
    ReadResult,
    Rule,
    check_frame,
    concat_problems,
    problem_frame,
)

TABLE = "School"
KS1_LAST_YEAR = 2023
FLAGS = ["KS1_RWM_EXP", "KS2_READ_EXP", "KS2_WRIT_EXP", "KS2_MAT_EXP", "KS4_EM_94"]
COLUMNS = ["UPN", "LA", "ETHNIC", "NCYEAR", "SCHOOL_MOVES", "MIDYEAR_MOVES", *FLAGS[:4], "KS4_ATT8", "KS4_EM_94"]

#: DfE's "UPN unknown" reason codes (UN1 to UN5, ``upn_unknown`` in the SSDA903 spec's code groups).
UNKNOWN_UPNS = frozenset(code_group("upn_unknown"))
#: A letter then 12 digits (or 11 digits and a final letter, a temporary UPN), or an unknown-UPN code.
UPN_PATTERN = r"[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]|" + "|".join(sorted(UNKNOWN_UPNS))
_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter_ok(upn: str) -> bool:
    """DfE UPN check letter: weights 2-13 on characters 2-13 (a final letter counts by its position in
    the check alphabet), sum mod 23 indexes ``ABCDEFGHJKLMNPQRTUVWXYZ``. The unknown-UPN codes (UN1-UN5) are
    valid; any other value needs DfE's shape, 13 characters of which the 2nd to 12th are digits."""
    if upn in UNKNOWN_UPNS:
        return True
    if len(upn) != 13 or not (upn[1:12].isascii() and upn[1:12].isdigit()):
        return False
    total = 0
    for weight, ch in zip(range(2, 14), upn[1:]):
        v = int(ch) if ch.isdigit() else _CHECK_LETTERS.find(ch)
        if v < 0:
            return False
        total += weight * v
    return _CHECK_LETTERS[total % 23] == upn[0]


#: A character's value in the check-letter sum (digits their value, check letters their position in
#: ``_CHECK_LETTERS``); -1 for anything else, which makes the UPN fail.
_CHAR_VALUE = np.full(256, -1, dtype=np.int64)
_CHAR_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_CHAR_VALUE[np.frombuffer(_CHECK_LETTERS.encode(), np.uint8)] = np.arange(len(_CHECK_LETTERS))
_CHECK_BYTES = np.frombuffer(_CHECK_LETTERS.encode(), np.uint8)


def upn_check_letters_ok(upns: Sequence[str]) -> np.ndarray:
    """:func:`upn_check_letter_ok` for many UPNs at once (the same rule, in numpy): a national school
    extract has hundreds of thousands of UPNs, and the per-string loop took seconds."""
    arr = np.asarray(upns, dtype=object)
    out = np.zeros(len(arr), dtype=bool)
    if not len(arr):
        return out
    lengths = np.fromiter(map(len, arr), dtype=np.int64, count=len(arr))
    unknown = np.fromiter((u in UNKNOWN_UPNS for u in arr), dtype=bool, count=len(arr))
    out[unknown] = True
    full = (lengths == 13) & ~unknown
    if full.any():
        # Non-ASCII characters become '?', which has no value, so such a UPN fails as in the scalar rule.
        raw = b"".join(u.encode("ascii", "replace") for u in arr[full])
        chars = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 13)
        values = _CHAR_VALUE[chars[:, 1:]]
        digits = ((chars[:, 1:12] >= ord("0")) & (chars[:, 1:12] <= ord("9"))).all(axis=1)
        total = (values * np.arange(2, 14)).sum(axis=1)
        out[full] = digits & (values >= 0).all(axis=1) & (_CHECK_BYTES[total % 23] == chars[:, 0])
    return out


def rules(year: int) -> list[Rule]:
    flag = frozenset({"0", "1"})
    r = [
        Rule("UPN", required=True, regex=UPN_PATTERN),
        Rule("LA", required=True, codes=la_codes(), label="old_la_code"),
        Rule("ETHNIC", keep_invalid=True),
        Rule("NCYEAR", required=True, codes=frozenset(["R", *map(str, range(1, 14))]), label="year group"),
        Rule("SCHOOL_MOVES", required=True, number=(0, 99), integer=True),
        Rule("MIDYEAR_MOVES", required=True, number=(0, 99), integer=True),
        Rule("KS2_READ_EXP", codes=flag, label="flag (1, 0 or blank)"),
        Rule("KS2_WRIT_EXP", codes=flag, label="flag (1, 0 or blank)"),
        Rule("KS2_MAT_EXP", codes=flag, label="flag (1, 0 or blank)"),
        Rule("KS4_ATT8", number=(0, 90)),
        Rule("KS4_EM_94", codes=flag, label="flag (1, 0 or blank)"),
    ]
    if year <= KS1_LAST_YEAR:
        r.insert(6, Rule("KS1_RWM_EXP", codes=flag, label="flag (1, 0 or blank)"))
    return r


def read_school(path: str | Path, year: int) -> ReadResult:
    """Read and check one year's school extract; the frame is ``result.tables['School']``."""
    path = Path(path)
    year = int(year)
    f = read_csv_file(path)
    extra = _unexpected_columns(path, f.columns, year)
    notes = [f"{path}: extra column(s) {extra} ignored"] if extra else []
    df = parse_bodies([f], [0], list(f.columns))
    if extra:
        df = df.drop(columns=extra)
    problems = [_ks1_after_last_year(df, path, year)]
    rows_read = len(df)
    clean, prob = check_frame(df, rules(year), table=TABLE, files=[str(path)])
    problems.append(prob)
    if len(clean):
        clean, bad_letters = _wrong_check_letters(clean, path)
        clean, repeated = _repeated_upns(clean, path)
        problems += [bad_letters, repeated, _midyear_above_total(clean, path)]
    return ReadResult(
        tables={TABLE: _typed(clean, year)},
        problems=concat_problems(p for p in problems if p is not None),
        rows_read={TABLE: rows_read},
        files=[str(path)],
        notes=notes,
    )


def _unexpected_columns(path: Path, columns: list[str], year: int) -> list[str]:
    """The columns beyond :data:`COLUMNS` (ignored); an InputError naming the first missing one, if any."""
    optional = {"KS1_RWM_EXP"} if year > KS1_LAST_YEAR else set()
    missing = [c for c in COLUMNS if c not in set(columns) and c not in optional]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; found {columns}", line=1, column=missing[0])
    return [c for c in columns if c not in COLUMNS]


def _ks1_after_last_year(df: pd.DataFrame, path: Path, year: int) -> pd.DataFrame | None:
    """Blank KS1_RWM_EXP where it is absent or no longer collected; a KS1 value after the last KS1 year is
    reported (kept out of the data, the row kept)."""
    if "KS1_RWM_EXP" not in df.columns:
        df["KS1_RWM_EXP"] = ""
        return None
    if year <= KS1_LAST_YEAR:
        return None
    filled = (df["KS1_RWM_EXP"].str.strip() != "").to_numpy()
    p = None
    if filled.any():
        idx = np.flatnonzero(filled)
        p = problem_frame(
            TABLE,
            [str(path)] * len(idx),
            df[LINE_COL].to_numpy()[idx],
            "KS1_RWM_EXP",
            df["KS1_RWM_EXP"].to_numpy()[idx],
            f"KS1_RWM_EXP is not collected after {KS1_LAST_YEAR} (KS1 became non-statutory); value ignored",
            "reported",
        )
    df["KS1_RWM_EXP"] = ""
    return p


def _wrong_check_letters(clean: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Rows whose UPN has the right shape but a wrong check letter (it cannot be trusted to link) rejected."""
    upn = clean["UPN"].to_numpy(dtype=object)
    u, inv = np.unique(upn, return_inverse=True)
    bad = ~upn_check_letters_ok(u)[inv]
    if not bad.any():
        return clean, None
    idx = np.flatnonzero(bad)
    p = problem_frame(
        TABLE,
        [str(path)] * len(idx),
        clean[LINE_COL].to_numpy()[idx],
        "UPN",
        upn[idx],
        [f"UPN '{x}' has a wrong check letter" for x in upn[idx]],
        "rejected",
    )
    return clean.loc[~bad], p


def _repeated_upns(clean: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A known UPN on more than one row (the extract has one row per pupil). Copies of the same row: all but
    the first rejected (counted once). Rows that differ: all rejected, since which one links to the child
    cannot be told."""
    known = ~clean["UPN"].isin(UNKNOWN_UPNS).to_numpy()
    dup = known & clean.duplicated("UPN", keep=False).to_numpy()
    if not dup.any():
        return clean, None
    d = clean.loc[dup]
    first = d.groupby("UPN")[LINE_COL].transform("first").to_numpy()
    versions = d.groupby("UPN")[COLUMNS].transform(lambda c: c.nunique(dropna=False)).max(axis=1).to_numpy()
    copy = (versions == 1) & (d[LINE_COL].to_numpy() != first)
    differ = versions > 1
    bad = copy | differ
    b = d.loc[bad]
    reasons = [
        f"UPN on line {f} too, with the same values: a repeated row, counted once"
        if c
        else "UPN on more than one row of the extract, with different values: which one links is unknown"
        for c, f in zip(copy[bad], first[bad])
    ]
    p = problem_frame(
        TABLE, [str(path)] * len(b), b[LINE_COL].to_numpy(), "UPN", b["UPN"].to_numpy(), reasons, "rejected"
    )
    return clean.drop(index=b.index), p


def _midyear_above_total(clean: pd.DataFrame, path: Path) -> pd.DataFrame | None:
    """Rows with more mid-year moves than school moves, reported and kept."""
    mid = (clean["MIDYEAR_MOVES"] > clean["SCHOOL_MOVES"]).fillna(False).to_numpy(dtype=bool)
    if not mid.any():
        return None
    b = clean.loc[mid]
    return problem_frame(
        TABLE,
        [str(path)] * len(b),
        b[LINE_COL].to_numpy(),
        "MIDYEAR_MOVES",
        b["MIDYEAR_MOVES"].astype(str).to_numpy(),
        "MIDYEAR_MOVES is more than SCHOOL_MOVES (kept)",
        "reported",
    )


def _typed(clean: pd.DataFrame, year: int) -> pd.DataFrame:
    """The validated frame: :data:`COLUMNS` with nullable flags, ``ethnic_quality``, ``YEAR`` and provenance."""
    out = clean[COLUMNS].copy()
    for c in FLAGS:
        out[c] = pd.to_numeric(out[c].replace("", None)).astype("Int8") if len(out) else out[c].astype("Int8")
    out["ethnic_quality"] = ethnic_quality(out["ETHNIC"])
    out["YEAR"] = year
    out[FILE_COL] = clean[FILE_COL].to_numpy()
    out[LINE_COL] = clean[LINE_COL].to_numpy()
    return out.reset_index(drop=True)
