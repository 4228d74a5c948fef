"""SSDA903 (children looked after) record-level returns: CSV folders, the EXPSSDA903 XML, and many years.

Tables are recognised by their exact column set (order, a BOM and surrounding whitespace ignored), never
by file name. Everything is read as text; dates (``dd/mm/YYYY``) become ``datetime64``; codes are checked
against the code lists of the collection year in ``rap/data/ssda903/spec.yaml``. A row with a bad date,
a bad code or a blank required field is rejected: named in ``ReadResult.problems`` with its file and line,
counted, and left out of the validated frame. Exceptions, because they are what the report measures:

* ETHNIC blank / invalid / REFU / NOBT is never rejected; Header gains ``ethnic_quality``
  (``rap.domain.ethnicity.ethnic_quality``: known, refused, not_obtained, blank, invalid).
* A child twice in Header (same LA and year) is *reported* and kept.
* Checks across rows and tables (:mod:`rap.inputs.readers.ssda903_checks`) reject, and count, an episode that
  ends before it starts or overlaps the child's previous one, a date after the collection year or before the
  child's birth, a row whose child is not in Header, and a child looked after by two LAs on 31 March.
* Ids (CHILD, UPN, ...) lose surrounding spaces, so "123 " in Episodes is the child "123" of Header.

Every validated frame carries ``YEAR`` (collection year), ``LA`` (old_la_code, or missing when not given)
and the provenance columns ``_file`` (index into ``ReadResult.files``) and ``_line``.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.errors import InputError
from rap.domain.ethnicity import ethnic_quality
from rap.domain.geography import la_codes
from rap.domain.ssda903 import record_key, spec
from rap.inputs.readers import ssda903_checks as checks
from rap.inputs.readers.csvfiles import CsvFile, parse_bodies, read_bytes, read_csv_file
from rap.inputs.readers.quarantine import (
    FILE_COL,
    LINE_COL,
    ReadResult,
    Rule,
    check_frame,
    concat_problems,
    problem_frame,
)

REQUIRED_TABLES = ("Header", "Episodes")

#: Tables that exist in some SSDA903 collections but are not in spec.yaml and not used by this pipeline:
#: recognised (so the file is not "unknown") and skipped with a note. DoLo (deprivation of liberty orders)
#: is in the DfE validator's rules for 2025/26; the validator project's fake sample carries one.
UNUSED_TABLES = {"DoLo": ("CHILD", "DOB", "DOLO_START", "DOLO_END")}

#: Columns checked for shape only downstream (UPN linkage is a quality measure, not a reason to reject).
_NOT_CHECKED = {"UPN", "HOME_POST", "PL_POST", "URN", "LA_PERM", "MC_DOB_", "NB_ADOPTR", "SW_ID"}


def table_columns() -> dict[str, list[str]]:
    """The columns of every table of the spec, in their order."""
    return {t: list(d["columns"]) for t, d in spec()["tables"].items()}


def codes_for(column: str, year: int) -> frozenset[str] | None:
    """The valid codes of ``column`` in collection ``year`` (None if the column has no code list)."""
    versions = spec()["codelists"].get(column)
    if not versions:
        return None
    for v in versions:
        if v["from"] <= year <= v.get("to", 9999):
            return frozenset(str(c) for c in v["codes"])
    return frozenset()


def rules_for(table: str, years: Iterable[int]) -> list[Rule]:
    """Checks of one table for the collection years in ``years`` (code lists may differ by year)."""
    t = spec()["tables"][table]
    years = sorted(set(int(y) for y in years))
    rules = []
    for col in t["columns"]:
        if col == "ETHNIC":
            rules.append(Rule(col, keep_invalid=True))
            continue
        codes = None
        if spec()["codelists"].get(col) and col not in _NOT_CHECKED:
            by_year = {y: codes_for(col, y) for y in years}
            # code lists with versions are checked per row's year, so a reason names the year
            versions = spec()["codelists"][col]
            codes = by_year if len(versions) > 1 else frozenset(str(c) for c in versions[0]["codes"])
        number, integer = (None, False)
        if col == "SDQ_SCORE":
            number, integer = (0, 40), True
        rules.append(
            Rule(
                col,
                required=col in t.get("required", []),
                date=spec()["date_format"] if col in t.get("dates", []) else None,
                codes=codes,
                number=number,
                integer=integer,
                label=f"{col} code",
            )
        )
    return rules


@cache
def _signatures() -> dict[frozenset[str], str]:
    sig = {frozenset(cols): t for t, cols in table_columns().items()}
    sig.update({frozenset(cols): t for t, cols in UNUSED_TABLES.items()})
    return sig


def identify_table(path: Path | str, columns: list[str]) -> str:
    """The table whose exact column set ``columns`` is; InputError naming the nearest table otherwise."""
    found = frozenset(columns)
    table = _signatures().get(found)
    if table is not None:
        return table
    best, best_score = None, -1.0
    for t, cols in {**table_columns(), **{k: list(v) for k, v in UNUSED_TABLES.items()}}.items():
        s = set(cols)
        score = len(found & s) / len(found | s)
        if score > best_score:
            best, best_score = t, score
    want = table_columns().get(best) or list(UNUSED_TABLES[best])
    missing = [c for c in want if c not in found]
    extra = [c for c in columns if c not in set(want)]
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"unexpected {extra}")
    raise InputError(
        path,
        f"columns {list(columns)} match no SSDA903 table; nearest is {best} ({', '.join(parts)})",
        line=1,
        column=(missing or extra)[0],
    )


# --------------------------------------------------------------------------------------------------
# Validation shared by the CSV and XML readers


def _validate(
    raw: dict[str, pd.DataFrame],
    files: list[str],
    years: list[int],
    notes: list[str],
    context_col: str | None = None,
) -> ReadResult:
    """raw: table -> string frame with YEAR, LA, _file, _line. Checks, rejections and derived columns: each
    row on its own first, then across rows and tables (:mod:`rap.inputs.readers.ssda903_checks`)."""
    tables: dict[str, pd.DataFrame] = {}
    problems = []
    rows_read = {}
    src = checks.Source(files, context_col)
    raw = _prepared(raw, years, notes)
    for table, df in raw.items():
        rows_read[table] = len(df)
        rules = rules_for(table, years)
        clean, prob = check_frame(df, rules, table=table, files=files, year_col="YEAR", context_col=context_col)
        problems.append(prob)
        clean, p = checks.dates_in_range(clean, table, src)
        problems.append(p)
        clean, p = checks.periods_in_order(clean, table, src)
        problems.append(p)
        if table == "Episodes":
            clean, p = checks.overlapping_episodes(clean, src)
            problems.append(p)
        if table == "Header" and len(clean):
            problems.append(_duplicate_children(clean, files))
        tables[table] = clean
    tables, p = _across_tables(tables, raw["Header"], src)
    problems += p
    tables["Header"] = tables["Header"].assign(ethnic_quality=ethnic_quality(tables["Header"]["ETHNIC"]))
    tables = {t: df.drop(columns=checks.CHILD_KEY).reset_index(drop=True) for t, df in tables.items()}
    return ReadResult(tables=tables, problems=concat_problems(problems), rows_read=rows_read, files=files, notes=notes)


def _prepared(raw: dict[str, pd.DataFrame], years: list[int], notes: list[str]) -> dict[str, pd.DataFrame]:
    """Every table of the spec (empty where absent), ids without surrounding spaces, and each row's child as
    one number (:data:`ssda903_checks.CHILD_KEY`, comparable across tables) for the checks across tables."""
    out = {}
    for table, cols in table_columns().items():
        df = raw.get(table)
        if df is None:
            df = _empty_table(cols)
        identifiers = [r.column for r in rules_for(table, years) if _is_identifier(r)]
        out[table] = checks.strip_identifiers(df, identifiers, table, notes)
    keys = checks.child_keys(list(out.values()))
    return {t: df.assign(**{checks.CHILD_KEY: k}) for (t, df), k in zip(out.items(), keys)}


def _empty_table(cols: list[str]) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    df[FILE_COL] = pd.Series(dtype="int32")
    df[LINE_COL] = pd.Series(dtype="int32")
    df["YEAR"] = pd.Series(dtype="int64")
    df["LA"] = pd.Series(dtype="str")
    return df


def _is_identifier(rule: Rule) -> bool:
    """A column the row checks keep as written (ids, postcodes, URNs): only their surrounding spaces go."""
    return not (rule.date or rule.codes is not None or rule.regex or rule.number or rule.keep_invalid)


def _across_tables(
    tables: dict[str, pd.DataFrame], header_read: pd.DataFrame, src: checks.Source
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame]]:
    """The checks across tables, in order: one LA per child on 31 March, no date before the child's birth,
    then every row's child in Header (a rejected Header row takes the child's rows with it)."""
    header, p1 = checks.children_in_two_las(tables["Header"], tables["Episodes"], src)
    tables = {**tables, "Header": header}
    tables, p2 = checks.dates_after_birth(tables, src)
    tables, p3 = checks.rows_of_header_children(tables, header_read, src)
    return tables, [p1, p2, p3]


def _duplicate_children(h: pd.DataFrame, files: list[str]) -> pd.DataFrame:
    keys = record_key()
    dup = h.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return concat_problems([])
    d = h.loc[dup]
    n = d.groupby(keys, dropna=False)["CHILD"].transform("size").to_numpy()
    return problem_frame(
        "Header",
        np.asarray(files, dtype=object)[d[FILE_COL].to_numpy()],
        d[LINE_COL].to_numpy(),
        "CHILD",
        d["CHILD"].to_numpy(),
        [f"CHILD '{c}' appears {k} times in Header (kept; check the return)" for c, k in zip(d["CHILD"], n)],
        "reported",
    )


# --------------------------------------------------------------------------------------------------
# CSV


def _add_context(df: pd.DataFrame, file_year: np.ndarray, file_la: np.ndarray) -> pd.DataFrame:
    fid = df[FILE_COL].to_numpy()
    df["YEAR"] = file_year[fid].astype("int64")
    la = file_la[fid]
    df["LA"] = pd.Series(la, index=df.index, dtype="str")
    return df


def _read_files(
    entries: list[tuple[Path, int, str | None]], years: list[int]
) -> tuple[dict[str, pd.DataFrame], list[str], list[str], dict[tuple[int, str | None], set[str]]]:
    """Read (path, year, la) entries; return raw frames by table, file list, notes, tables seen per folder."""
    by_table: dict[str, list[tuple[CsvFile, int]]] = {}
    files: list[str] = []
    notes: list[str] = []
    seen: dict[tuple[int, str | None], set[str]] = {}
    file_year, file_la = [], []
    for path, year, la in entries:
        f = read_csv_file(path)
        table = identify_table(path, f.columns)
        seen.setdefault((year, la), set()).add(table)
        if table in UNUSED_TABLES:
            notes.append(f"{path}: table {table} is not used by this pipeline (not in spec.yaml); skipped")
            continue
        from_year = spec()["tables"][table].get("from_year")
        if from_year and year < from_year:
            notes.append(f"{path}: table {table} is collected from {from_year}, found in a {year} return")
        fid = len(files)
        files.append(str(path))
        file_year.append(year)
        file_la.append(la)
        by_table.setdefault(table, []).append((f, fid))
    fy = np.asarray(file_year, dtype=np.int64)
    fl = np.asarray(file_la, dtype=object)
    raw = {}
    cols = table_columns()
    for table, items in by_table.items():
        df = parse_bodies([f for f, _ in items], [i for _, i in items], cols[table])
        for f, _ in items:
            f.body = b""  # free memory as we go
        raw[table] = _add_context(df, fy, fl)
    return raw, files, notes, seen


def _csv_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def _loose_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _unread_files(folder: Path, csvs: list[Path], *, xml_is_error: bool = True) -> list[str]:
    """Notes on the files of a return folder that are not read (hidden files aside). An XML return in an LA
    folder of a run's data is an error: its children would be silently left out, or counted beside the same
    return's CSV files (``xml_is_error=False``, for a folder an analyst reads on its own, makes it a note)."""
    read = set(csvs)
    notes = []
    for p in sorted(folder.iterdir()):
        if p in read or p.name.startswith(".") or not p.is_file():
            continue
        if p.suffix.lower() == ".xml" and xml_is_error:
            also = "beside CSV files, " if csvs else ""
            raise InputError(
                p,
                f"an XML file in an SSDA903 return folder {also}which holds a return as CSV files (one per table): "
                "the XML would not be read; keep the return in one form, as CSV files (read_ssda903_xml reads "
                "an EXPSSDA903 export on its own)",
            )
        notes.append(f"{p}: not a CSV file; not read")
    return notes


def read_ssda903_folder(path: str | Path, year: int, la: str | None = None) -> ReadResult:
    """Read one SSDA903 return held as CSV files (any names) in ``path`` for collection ``year``.

    ``la`` (old_la_code) fills the ``LA`` column when given. Header and Episodes must be present.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(folder, "folder not found")
    paths = _csv_paths(folder)
    unread = _unread_files(folder, paths, xml_is_error=False)
    if not paths:
        raise InputError(folder, "no CSV files in the folder")
    raw, files, notes, seen = _read_files([(p, int(year), la) for p in paths], [int(year)])
    notes = unread + notes
    _require_tables(folder, seen.get((int(year), la), set()))
    return _validate(raw, files, [int(year)], notes)


def _require_tables(folder: Path, present: set[str]) -> None:
    for t in REQUIRED_TABLES:
        if t not in present:
            cols = ", ".join(table_columns()[t])
            raise InputError(folder, f"no {t} table: no CSV file has exactly the columns {cols}")


def read_ssda903_years(root: str | Path, years: Iterable[int]) -> ReadResult:
    """Read ``root/<year>/<old_la_code>/*.csv`` for every year in ``years`` into one frame per table.

    Files of a table are parsed together (one ``read_csv`` per table and column order), so thousands of
    small files cost about as much as one large one. Rows carry ``LA`` and ``YEAR``.
    """
    root = Path(root)
    years = [int(y) for y in years]
    if not root.is_dir():
        raise InputError(root, "SSDA903 folder not found")
    entries: list[tuple[Path, int, str]] = []
    folders: list[tuple[Path, int, str]] = []
    las = la_codes()
    notes = []
    for y in years:
        ydir = root / str(y)
        if not ydir.is_dir():
            raise InputError(ydir, f"no folder for collection year {y}")
        la_dirs = sorted(p for p in ydir.iterdir() if p.is_dir())
        notes += [f"{p}: not in an LA folder (<year>/<old_la_code>/); not read" for p in _loose_files(ydir)]
        if not la_dirs:
            raise InputError(ydir, "no LA folders (expected <year>/<old_la_code>/)")
        for d in la_dirs:
            if d.name not in las:
                raise InputError(d, "folder name is not an old_la_code in rap/data/local_authorities.csv", value=d.name)
            folders.append((d, y, d.name))
            paths = _csv_paths(d)
            notes += _unread_files(d, paths)
            for p in paths:
                entries.append((p, y, d.name))
    raw, files, more, seen = _read_files(entries, years)
    for d, y, la in folders:
        _require_tables(d, seen.get((y, la), set()))
    return _validate(raw, files, years, notes + more)


# --------------------------------------------------------------------------------------------------
# XML (EXPSSDA903)

#: Where each table's rows live in EXPSSDA903, as found in DfE's export and the validator project's
#: reader (the ``xml`` hints in spec.yaml predate it): repeated elements of a CHILD, and tables whose
#: fields sit directly in HEADER (one row per child when the trigger field is present).
XML_ROOT = "EXPSSDA903"
_XML_ELEMENTS = {
    "EPISODE": "Episodes",
    "AREVIEW": "Reviews",
    "AMISSING": "Missing",
    "OC2": "OC2",
    "PERMANENCE": "PrevPerm",
    "AD_PLACED": "PlacedAdoption",
    "SW_EPISODE": "SWEpisodes",
    "SWEPISODE": "SWEpisodes",
    "DOLO": "DoLo",
}
_XML_HEADER_TABLES = {"Header": None, "UASC": "DUC", "OC3": "IN_TOUCH", "AD1": "DATE_INT"}
_XML_RENAME = {"CHILDID": "CHILD", "PL": "PLACE"}


def _parse_xml(path: Path) -> tuple[list[dict], list[tuple[str, dict]]]:
    """Children as (header fields + line) and their repeated records (table, fields + line)."""
    raw = read_bytes(path)
    parser = xml.parsers.expat.ParserCreate()
    children: list[dict] = []
    records: list[tuple[str, dict, int]] = []  # (element, fields, child index)
    stack: list[str] = []
    state = {"child": None, "rec": None, "text": [], "rec_el": None}

    def start(name, attrs):
        if not stack and name != XML_ROOT:
            raise InputError(
                path,
                f"the root element is <{name}>, not <{XML_ROOT}>: not an SSDA903 XML export",
                line=parser.CurrentLineNumber,
                value=name,
            )
        stack.append(name)
        state["text"] = []
        if name == "CHILD" and len(stack) == 2:
            state["child"] = {"_line": parser.CurrentLineNumber}
        elif name in _XML_ELEMENTS and state["child"] is not None:
            state["rec"] = {"_line": parser.CurrentLineNumber}
            state["rec_el"] = name

    def end(name):
        text = "".join(state["text"]).strip()
        stack.pop()
        state["text"] = []
        col = _XML_RENAME.get(name, name)
        if name == "CHILD" and state["child"] is not None and len(stack) == 1:
            children.append(state["child"])
            state["child"] = None
        elif state["rec"] is not None and name == state["rec_el"]:
            records.append((_XML_ELEMENTS[name], state["rec"], len(children)))
            state["rec"] = None
        elif state["rec"] is not None:
            state["rec"][col] = text
        elif state["child"] is not None and len(stack) >= 2 and stack[-1] == "HEADER":
            state["child"][col] = text

    def chars(data):
        state["text"].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(raw, True)
    except xml.parsers.expat.ExpatError as exc:
        raise InputError(
            path,
            f"not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)}) at column {exc.offset + 1}",
            line=exc.lineno,
        ) from None
    return children, [(t, {**fields, "_child": ci}) for t, fields, ci in records]


def read_ssda903_xml(path: str | Path, year: int, la: str | None = None) -> ReadResult:
    """Read an EXPSSDA903 XML return into the same validated frames as :func:`read_ssda903_folder`.

    CHILDID becomes CHILD and PL becomes PLACE; rows of repeated elements take CHILD (and DOB, SEX where
    their table has them) from the child's HEADER. ``line`` in problems is the XML line where the
    element starts (an export on a single line gives line 1 throughout; the reason names the child).
    """
    path = Path(path)
    children, records = _parse_xml(path)
    if not children:
        raise InputError(path, "no CHILD elements under the EXPSSDA903 root")
    cols = table_columns()
    rows: dict[str, list[dict]] = {t: [] for t in cols}
    notes = []
    for ch in children:
        for t, trigger in _XML_HEADER_TABLES.items():
            if trigger is None or ch.get(trigger, ""):
                rows[t].append({**{c: ch.get(c, "") for c in cols[t]}, LINE_COL: ch["_line"]})
    skipped = set()
    for t, rec in records:
        if t not in cols:
            skipped.add(t)
            continue
        ch = children[rec["_child"]]
        rows[t].append({**{c: rec.get(c, ch.get(c, "")) for c in cols[t]}, LINE_COL: rec["_line"]})
    for t in sorted(skipped):
        notes.append(f"{path}: table {t} is not used by this pipeline (not in spec.yaml); skipped")
    raw = {}
    for t, r in rows.items():
        if not r:
            continue
        df = pd.DataFrame(r, columns=cols[t] + [LINE_COL]).astype({c: "str" for c in cols[t]})
        lines = df.pop(LINE_COL).astype("int32")
        df[FILE_COL] = np.zeros(len(df), dtype=np.int32)
        df[LINE_COL] = lines
        df["YEAR"] = int(year)
        df["LA"] = pd.Series([la] * len(df), dtype="str")
        raw[t] = df
    return _validate(raw, [str(path)], [int(year)], notes, context_col="CHILD")
