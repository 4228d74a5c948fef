"""Shared machinery of the measures layer: the tidy shape, ethnicity cells, geography and aggregation.

Every measure is computed as *units* (one row per child, incident, care leaver or pupil, already filtered to
the measure's population) carrying ``YEAR``, ``LA``, the child's ethnicity cell, a ``breakdown`` label and the
value columns (``number``, ``denominator``, ``points_total``, ``pupils``). :func:`tabulate` turns units into
the one tidy shape shared by all measures (see :data:`TIDY_COLUMNS`):

* local authority cells by ethnicity *minor* group, with a complete matrix: every LA that sent a return
  for the year x every breakdown x every group, 0 where there are none;
* major-group subtotals (``ethnicity_minor = "Total"``) and the all-groups total
  (``ethnicity_major = ethnicity_minor = "Total"``);
* regional rows = sum of the LAs in ``region_name`` of ``rap/data/local_authorities.csv`` *as given*: London
  is two regions there (Inner London E13000001 and Outer London E13000002), so regional rows show Inner and
  Outer London separately and no "London" row is made;
* national rows = sum of all LAs.

A child's ethnicity is the SSDA903 Header ETHNIC of that year's return (first row when a child appears twice).
Codes that do not state a group (REFU, NOBT, blank, invalid) go into the major group "Refused or information
not yet available" with minor labels Refused / Information not yet obtained / Not recorded / Invalid code
(``rap.domain.ethnicity.classify``), so every child is counted and the group totals add up to the total.

Collection year ``Y`` runs 1 April ``Y-1`` to 31 March ``Y`` (DfE's SSDA903 guidance).
Counts are unsuppressed and unrounded: disclosure control is applied later (``rap.domain.disclosure``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from rap.domain.ethnicity import classify, codes, major_groups, major_order
from rap.domain.geography import local_authorities
from rap.domain.ssda903 import code_group, record_key

#: The columns of every measure's output, in order.
TIDY_COLUMNS = [
    "measure",
    "time_period",
    "geographic_level",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
    "ethnicity_major",
    "ethnicity_minor",
    "breakdown",
    "number",
    "denominator",
    "points_total",
    "pupils",
]
VALUE_COLUMNS = ["number", "denominator", "points_total", "pupils"]
KEY_COLUMNS = TIDY_COLUMNS[: TIDY_COLUMNS.index("number")]
TOTAL = "Total"
#: Minor labels of values that state no ethnic group, beyond REFU / NOBT (from rap.domain.ethnicity.classify).
UNKNOWN_EXTRA_MINORS = ("Not recorded", "Invalid code")
#: The record key: one child in one LA's return for one collection year (``YEAR, LA, CHILD``).
KEY = record_key()
#: Legal statuses of an agreed series of short-term breaks (V3, V4): DfE excludes these children from the CLA
#: statistics ("children looked after under an agreed series of short-term placements are excluded").
SHORT_BREAK_LS = code_group("short_break_legal_status")
#: DfE's "UPN unknown" codes (UN1 to UN5): a child recorded with one cannot be linked to school records.
UNKNOWN_UPNS = code_group("upn_unknown")


def year_start(year: int) -> pd.Timestamp:
    """1 April of ``year - 1``: the first day of collection year ``year``."""
    return pd.Timestamp(year - 1, 4, 1)


def year_end(year: int) -> pd.Timestamp:
    """31 March of ``year``: the last day of collection year ``year``."""
    return pd.Timestamp(year, 3, 31)


@cache
def ethnicity_cells() -> pd.DataFrame:
    """The minor cells in publication order: ``cell`` (int), ``ethnicity_major``, ``ethnicity_minor``, ``major``.

    Known codes and REFU/NOBT in ``codes.csv`` order, then "Not recorded" and "Invalid code" in the unknown
    group. Majors follow ``major_order('dfe')``.
    """
    c = codes().sort_values("order")
    rows = [(r.major, r.label) for r in c.itertuples()]
    rows += [("unknown", m) for m in UNKNOWN_EXTRA_MINORS]
    order = {m: i for i, m in enumerate(major_order("dfe"))}
    rows.sort(key=lambda r: order[r[0]])  # stable: keeps code order within a major
    labels = major_groups()["label_cla"]
    out = pd.DataFrame(
        {
            "cell": np.arange(len(rows)),
            "major": [r[0] for r in rows],
            "ethnicity_major": [labels[r[0]] for r in rows],
            "ethnicity_minor": [r[1] for r in rows],
        }
    )
    return out


def group_order() -> list[tuple[str, str]]:
    """(ethnicity_major, ethnicity_minor) in output order: Total, then each major's subtotal and its minors."""
    cells = ethnicity_cells()
    out = [(TOTAL, TOTAL)]
    for maj in major_order("dfe"):
        sub = cells[cells["major"] == maj]
        out.append((sub["ethnicity_major"].iloc[0], TOTAL))
        out += list(zip(sub["ethnicity_major"], sub["ethnicity_minor"]))
    return out


def _cell_of(minor: pd.Series, major: pd.Series) -> np.ndarray:
    cells = ethnicity_cells()
    key = pd.MultiIndex.from_arrays([cells["ethnicity_major"], cells["ethnicity_minor"]])
    idx = key.get_indexer(pd.MultiIndex.from_arrays([major.astype(object), minor.astype(object)]))
    if (idx < 0).any():  # cannot happen with rap.domain.ethnicity.classify; guard against a label edit
        bad = sorted(set(zip(major[idx < 0], minor[idx < 0])))
        raise ValueError(f"ethnicity labels not in the cells table: {bad[:5]}")
    return idx


_ETH_CACHE: dict[int, tuple] = {}


def child_ethnicity(data) -> pd.DataFrame:
    """Cached per Header frame (the same RecordData is used by every measure); see :func:`_child_ethnicity`."""
    h = data.ssda903["Header"]
    hit = _ETH_CACHE.get(id(h))
    if hit is not None and hit[0]() is h:
        return hit[1]
    out = _child_ethnicity(data)
    _ETH_CACHE.clear()  # keep one: the frames are large
    _ETH_CACHE[id(h)] = (weakref.ref(h), out)
    return out


def _child_ethnicity(data) -> pd.DataFrame:
    """One row per (YEAR, LA, CHILD) of Header: ``cell`` (ethnicity cell id), DOB, UPN.

    The first Header row wins when a child appears twice in a return (the reader reports duplicates).
    Classification runs once per distinct raw value.
    """
    h = data.ssda903["Header"]
    h = h.loc[~h.duplicated(KEY, keep="first"), KEY + ["ETHNIC", "DOB", "UPN"]]
    codes_, uniques = pd.factorize(h["ETHNIC"], use_na_sentinel=False)
    cls = classify(pd.Series(uniques, dtype="object"))
    ucell = _cell_of(cls["ethnicity_minor"], cls["ethnicity_major"])
    out = h[KEY + ["DOB", "UPN"]].copy()
    out["cell"] = ucell[codes_]
    return _keyed(out).reset_index(drop=True)  # hashed once here, used by every measure's joins


def unknown_cell() -> int:
    """The cell of a child with no Header row: blank ETHNIC (``Not recorded``)."""
    cells = ethnicity_cells()
    return int(cells.loc[cells["ethnicity_minor"] == "Not recorded", "cell"].iloc[0])


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``_k``, the 64-bit hash of (LA, CHILD); frames that already carry it are returned as they are."""
    if "_k" in df.columns:
        return df
    return df.assign(_k=pd.util.hash_pandas_object(df[["LA", "CHILD"]], index=False).to_numpy())


def merge_on_child(left: pd.DataFrame, right: pd.DataFrame, on: list[str], how: str) -> pd.DataFrame:
    """``left.merge(right, on=on, how=how)``, faster when ``on`` holds the string keys LA and CHILD: they are
    replaced by one 64-bit hash of the pair (pandas' own row hashing), so the join runs on integers.
    Two different (LA, CHILD) pairs sharing a hash is a 1 in 2**64 event per pair."""
    if not {"LA", "CHILD"} <= set(on):
        return left.merge(right, on=on, how=how)
    rest = [c for c in on if c not in ("LA", "CHILD")]

    r = _keyed(right).drop(columns=["LA", "CHILD"])
    return _keyed(left).merge(r, on=rest + ["_k"], how=how).drop(columns="_k")


def attach_ethnicity(units: pd.DataFrame, eth: pd.DataFrame) -> pd.DataFrame:
    """Add ``cell`` to units keyed by YEAR, LA, CHILD. A child absent from Header counts as Not recorded."""
    out = merge_on_child(units, eth[KEY + ["_k", "cell"]], list(KEY), "left")
    out["cell"] = out["cell"].fillna(unknown_cell()).astype("int64")
    return out


def returns_by_year(data, years: list[int]) -> dict[int, list[str]]:
    """The LAs with a return (a Header row) in each year: the LA rows of the complete matrix."""
    h = data.ssda903["Header"]
    h = h.loc[h["YEAR"].isin(years) & h["LA"].notna(), ["YEAR", "LA"]].drop_duplicates()
    return {y: sorted(h.loc[h["YEAR"] == y, "LA"].astype(str)) for y in years}


@dataclass
class Spec:
    """How one measure id's units become rows: its breakdown labels (in order) and which value columns apply.

    ``denominator``: breakdowns that have a denominator (others get NA); ``attainment``: breakdowns whose
    values are ``points_total`` and ``pupils`` (``number``/``denominator`` NA).
    """

    measure: str
    breakdowns: list[str]
    denominator: tuple[str, ...] = ()
    attainment: tuple[str, ...] = ()


def empty_tidy() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in KEY_COLUMNS})
    df["time_period"] = df["time_period"].astype("int64")
    for c in ("number", "denominator", "pupils"):
        df[c] = pd.Series(dtype="Int64")
    df["points_total"] = pd.Series(dtype="Float64")
    return df[TIDY_COLUMNS]


def tabulate(units: pd.DataFrame, spec: Spec, las_by_year: dict[int, list[str]]) -> pd.DataFrame:
    """Aggregate units (YEAR, LA, cell, breakdown, and any of the VALUE_COLUMNS) to the tidy shape.

    Units with an LA outside ``las_by_year`` for their year (e.g. no Header that year) or a breakdown not in
    ``spec.breakdowns`` are ignored.
    """
    years = [y for y, las in las_by_year.items() if las]
    if not years:
        return empty_tidy()
    brk = list(spec.breakdowns)
    # complete LA x breakdown x cell matrix per year, as positions in a dense array
    la_rows = [(y, la) for y in years for la in las_by_year[y]]
    la_vals = _by_group(_dense(units, la_rows, brk))  # (la_rows, brk, groups, values)
    out = _geographies(la_vals, la_rows, years, brk)
    out.insert(0, "measure", spec.measure)
    out = _value_columns(out, spec)
    level_order = {"National": 0, "Regional": 1, "Local authority": 2}
    out = out.sort_values(
        ["time_period", "geographic_level", "region_name", "la_name"],
        key=lambda s: s.map(level_order) if s.name == "geographic_level" else s,
        kind="stable",
    )
    return out[TIDY_COLUMNS].reset_index(drop=True)


def _dense(units: pd.DataFrame, la_rows: list[tuple[int, str]], brk: list[str]) -> np.ndarray:
    """The units summed into (LA rows, breakdowns, ethnicity cells, VALUE_COLUMNS); units of an LA row or a
    breakdown not asked for are left out."""
    la_index = pd.MultiIndex.from_tuples(la_rows, names=["YEAR", "LA"])
    dense = np.zeros((len(la_rows), len(brk), len(ethnicity_cells()), len(VALUE_COLUMNS)), dtype="float64")
    if not len(units):
        return dense
    u = units
    pos = la_index.get_indexer(pd.MultiIndex.from_arrays([u["YEAR"].astype("int64"), u["LA"].astype(object)]))
    b = pd.Index(brk).get_indexer(u["breakdown"].astype(object))
    ok = (pos >= 0) & (b >= 0)
    cell = u["cell"].to_numpy(dtype="int64")
    for k, col in enumerate(VALUE_COLUMNS):
        if col not in u.columns:
            continue
        vals = pd.to_numeric(u[col]).fillna(0).to_numpy(dtype="float64")
        np.add.at(dense[..., k], (pos[ok], b[ok], cell[ok]), vals[ok])
    return dense


def _by_group(dense: np.ndarray) -> np.ndarray:
    """Cells to the groups of :func:`group_order` (Total, each major's subtotal and its minors) on axis 2."""
    cells = ethnicity_cells()
    majors = major_order("dfe")
    major_of_cell = pd.Index(majors).get_indexer(cells["major"])
    maj = np.zeros(dense.shape[:2] + (len(majors), len(VALUE_COLUMNS)))
    for j in range(len(majors)):
        maj[:, :, j] = dense[:, :, major_of_cell == j].sum(axis=2)
    tot = dense.sum(axis=2, keepdims=True)
    cell_pos = {(r.ethnicity_major, r.ethnicity_minor): r.cell for r in cells.itertuples()}
    major_label = {
        majors[j]: cells.loc[cells["major"] == majors[j], "ethnicity_major"].iloc[0] for j in range(len(majors))
    }
    label_to_major_pos = {major_label[m]: j for j, m in enumerate(majors)}
    blocks = []
    for g in group_order():
        if g == (TOTAL, TOTAL):
            blocks.append(tot[:, :, 0])
        elif g[1] == TOTAL:
            blocks.append(maj[:, :, label_to_major_pos[g[0]]])
        else:
            blocks.append(dense[:, :, cell_pos[g]])
    return np.stack(blocks, axis=2)


def _geographies(la_vals: np.ndarray, la_rows: list[tuple[int, str]], years: list[int], brk: list[str]) -> pd.DataFrame:
    """LA rows, then regional rows (the sum of each region's LAs per year), then national rows (all LAs)."""
    order = group_order()
    geo = local_authorities()
    la_years = np.array([y for y, _ in la_rows])
    la_codes = np.array([la for _, la in la_rows], dtype=object)
    regions = geo["region_name"].reindex(la_codes).to_numpy(dtype=object)
    frames = [_rows(la_vals, la_years, "Local authority", la_codes, geo, brk, order)]
    reg_keys = pd.MultiIndex.from_arrays([la_years, regions])
    reg_unique = reg_keys.unique()
    reg_vals = np.zeros((len(reg_unique),) + la_vals.shape[1:])
    np.add.at(reg_vals, reg_unique.get_indexer(reg_keys), la_vals)
    reg_years = reg_unique.get_level_values(0).to_numpy()
    reg_names = reg_unique.get_level_values(1).to_numpy(dtype=object)
    frames.append(_rows(reg_vals, reg_years, "Regional", reg_names, geo, brk, order))
    nat_vals = np.zeros((len(years),) + la_vals.shape[1:])
    np.add.at(nat_vals, pd.Index(years).get_indexer(la_years), la_vals)
    frames.append(_rows(nat_vals, np.array(years), "National", None, geo, brk, order))
    return pd.concat(frames, ignore_index=True)


def _value_columns(out: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Value columns as integers (``points_total`` to one decimal), NA where they do not apply to a breakdown."""
    has_den = out["breakdown"].isin(spec.denominator).to_numpy()
    att = out["breakdown"].isin(spec.attainment).to_numpy()
    for col in ("number", "denominator", "pupils"):
        out[col] = pd.array(np.rint(out[col].to_numpy()).astype("int64"), dtype="Int64")
    out["points_total"] = pd.array(np.round(out["points_total"].to_numpy(), 1), dtype="Float64")
    out.loc[att, "number"] = pd.NA
    out.loc[~has_den | att, "denominator"] = pd.NA
    out.loc[~att, ["points_total", "pupils"]] = pd.NA
    return out


def _rows(vals, years, level, keys, geo, brk, order) -> pd.DataFrame:
    """Flatten (geo rows, breakdowns, groups, values) to a frame with geography columns."""
    n_geo, n_b, n_g, _ = vals.shape
    flat = vals.reshape(n_geo * n_b * n_g, -1)
    gi = np.repeat(np.arange(n_geo), n_b * n_g)
    bi = np.tile(np.repeat(np.arange(n_b), n_g), n_geo)
    ki = np.tile(np.arange(n_g), n_geo * n_b)
    df = pd.DataFrame({"time_period": np.asarray(years, dtype="int64")[gi], "geographic_level": level})
    blank = np.full(len(df), "", dtype=object)
    if level == "Local authority":
        k = np.asarray(keys, dtype=object)[gi]
        g = geo.reindex(k)
        df["region_code"] = g["region_code"].to_numpy(dtype=object)
        df["region_name"] = g["region_name"].to_numpy(dtype=object)
        df["old_la_code"] = k
        df["new_la_code"] = g["new_la_code"].to_numpy(dtype=object)
        df["la_name"] = g["la_name"].to_numpy(dtype=object)
    elif level == "Regional":
        k = np.asarray(keys, dtype=object)[gi]
        codes_ = geo.drop_duplicates("region_name").set_index("region_name")["region_code"]
        df["region_code"] = codes_.reindex(k).to_numpy(dtype=object)
        df["region_name"] = k
        df["old_la_code"] = blank
        df["new_la_code"] = blank
        df["la_name"] = blank
    else:
        for c in ("region_code", "region_name", "old_la_code", "new_la_code", "la_name"):
            df[c] = blank
    grp = np.array(order, dtype=object)
    df["ethnicity_major"] = grp[ki, 0]
    df["ethnicity_minor"] = grp[ki, 1]
    df["breakdown"] = np.asarray(brk, dtype=object)[bi]
    for k, col in enumerate(VALUE_COLUMNS):
        df[col] = flat[:, k]
    for c in KEY_COLUMNS[2:]:
        if c in df.columns:
            df[c] = df[c].astype("str")
    return df


# --------------------------------------------------------------------------------------------------
# Episodes helpers shared by several measures


def episodes(data, years: list[int]) -> pd.DataFrame:
    """Episodes of the returns of ``years``, excluding short-break legal statuses (V3, V4), with the
    columns the measures use. Each year's measures use that year's return only."""
    ep = data.ssda903["Episodes"]
    ep = ep.loc[
        ep["YEAR"].isin(years) & ~ep["LS"].isin(SHORT_BREAK_LS),
        KEY + ["DECOM", "DEC", "RNE", "REC", "PLACE", "LS"],
    ]
    return ep


def year_bounds(year_col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(first day, last day) of each row's collection year, as datetime64 arrays (vectorised)."""
    y = year_col.to_numpy(dtype="int64")
    uy, inv = np.unique(y, return_inverse=True)
    s = np.array([np.datetime64(year_start(int(v))) for v in uy], dtype="datetime64[ns]")
    e = np.array([np.datetime64(year_end(int(v))) for v in uy], dtype="datetime64[ns]")
    return s[inv], e[inv]


def open_on_31_march(ep: pd.DataFrame) -> np.ndarray:
    """Episodes open on 31 March of their return's year: DECOM on or before 31 March and DEC blank or after
    it (an episode ending on 31 March has ceased)."""
    _, end = year_bounds(ep["YEAR"])
    decom = ep["DECOM"].to_numpy(dtype="datetime64[ns]")
    dec = ep["DEC"].to_numpy(dtype="datetime64[ns]")
    return (decom <= end) & (np.isnat(dec) | (dec > end))


def overlaps_year(ep: pd.DataFrame) -> np.ndarray:
    """Episodes open at any time in their return's year (DECOM <= 31 March Y, DEC blank or >= 1 April Y-1)."""
    start, end = year_bounds(ep["YEAR"])
    decom = ep["DECOM"].to_numpy(dtype="datetime64[ns]")
    dec = ep["DEC"].to_numpy(dtype="datetime64[ns]")
    return (decom <= end) & (np.isnat(dec) | (dec >= start))


def in_year(dates: pd.Series, year_col: pd.Series) -> np.ndarray:
    start, end = year_bounds(year_col)
    d = dates.to_numpy(dtype="datetime64[ns]")
    return (~np.isnat(d)) & (d >= start) & (d <= end)


def children(frame: pd.DataFrame) -> pd.DataFrame:
    """Distinct (YEAR, LA, CHILD) of a frame."""
    return frame[KEY].drop_duplicates()


def with_linkable_upn(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` whose ``UPN`` can link to a school record (given, and not a "UPN unknown" code),
    with the UPN stripped of surrounding spaces."""
    upn = frame["UPN"].fillna("").astype(str).str.strip()
    return frame.loc[(upn != "") & ~upn.isin(UNKNOWN_UPNS)].assign(UPN=upn)


def cla_on_31_march_children(data, years: list[int]) -> pd.DataFrame:
    ep = episodes(data, years)
    return children(ep.loc[open_on_31_march(ep)])


def age_on(dob: pd.Series, year_col: pd.Series) -> np.ndarray:
    """Age in completed years on 31 March of each row's year (NaN where DOB is missing)."""
    d = pd.to_datetime(dob)
    y = year_col.to_numpy(dtype="int64")
    age = y - d.dt.year.to_numpy(dtype="float64")
    after = d.dt.month.to_numpy(dtype="float64") > 3  # birthday on or after 1 April: not yet reached
    return age - after.astype("float64")


def finish(units: pd.DataFrame, spec: Spec, data, years: list[int], eth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Attach ethnicity to units keyed by YEAR, LA, CHILD and tabulate."""
    eth = child_ethnicity(data) if eth is None else eth
    if "cell" not in units.columns:
        units = attach_ethnicity(units, eth)
    return tabulate(units, spec, returns_by_year(data, years))
