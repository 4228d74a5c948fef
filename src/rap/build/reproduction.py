"""How many of DfE's national figures by ethnicity the build's EES tables reproduce: the coverage table of the
QA annex on the published route.

Every national cell of the release that carries an ethnic group (every year, every indicator) is looked up in
the table ``rap/data/dfe_figures.yaml`` maps its release table to, as written in ``tables/`` (read as text,
like every check), and counted as *reproduced* (the same number, or the same symbol), *differing* (an example
named: file, line, column, both cells) or *not produced* (with the reason). Only the written files are read:
a figure a chapter computed but did not write is not produced.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rap.build.tables import read_table
from rap.domain.ethnicity import ees_harmonised
from rap.measures.dfe_figures import GROUP_COLUMNS, figure_map, keyed_cells, national_ethnicity_cells

#: Written beside ``qa/checks.csv``; the QA annex shows it.
REPRODUCTION_CSV = "dfe_figures_reproduced.csv"
#: The share of figures that must be reproduced (issue 16: "at least 98%"), and none may differ.
REQUIRED_SHARE = 0.98
COLUMNS = ["release_table", "source_file", "output_table", "figures", "reproduced", "differing", "not_produced"]


def reproduction(release: dict[str, pd.DataFrame], tables_dir: Path) -> pd.DataFrame:
    """One row per release table with national figures by ethnicity: its figures and how many the tables in
    ``tables_dir`` reproduce, differ from or lack, and why (``reason``)."""
    rows = []
    for name, df in release.items():
        cells = national_ethnicity_cells(df)
        if cells.empty:
            continue
        files = ", ".join(sorted(set(cells["source_file"].astype(str).map(lambda p: Path(p).name))))
        row = {"release_table": name, "source_file": files, "figures": len(cells)}
        rows.append(row | _compare(df, figure_map()["tables"].get(name), tables_dir, len(cells)))
    out = pd.DataFrame(rows, columns=[*COLUMNS, "reason"])
    return out.astype({c: "int64" for c in ("figures", "reproduced", "differing", "not_produced")})


def _compare(df: pd.DataFrame, spec: dict | None, tables_dir: Path, figures: int) -> dict:
    """The counts for one release table against its output."""
    if spec is None:
        return _none(figures, "", "no output table is mapped to this release table (rap/data/dfe_figures.yaml)")
    csv = tables_dir / f"{spec['output']}.csv"
    if not csv.is_file():
        return _none(figures, spec["output"], f"tables/{csv.name} was not written by this build")
    cells = ees_harmonised(keyed_cells(df, spec))  # the labels EES files carry (rap.domain.ees.write_ees)
    unmapped = figures - len(cells)
    found = _lookup(cells, read_table(csv))
    published = found["published"].notna()
    same = published & _same(found["cell"], found["published"])
    differ = published & ~same
    reasons = []
    if unmapped:
        reasons.append(f"{unmapped} in indicators not mapped to a column")
    if (~published).any():
        first = found.loc[~published].iloc[0]
        reasons.append(f"{int((~published).sum())} not in the table (e.g. {_where(first)})")
    if differ.any():
        first = found.loc[differ].iloc[0]
        reasons.append(
            f"{int(differ.sum())} differ (e.g. {_where(first)}: DfE '{first['cell']}', "
            f"{csv.name} '{first['published']}')"
        )
    return {
        "output_table": spec["output"],
        "reproduced": int(same.sum()),
        "differing": int(differ.sum()),
        "not_produced": unmapped + int((~published).sum()),
        "reason": "; ".join(reasons),
    }


def _none(figures: int, output: str, reason: str) -> dict:
    return {"output_table": output, "reproduced": 0, "differing": 0, "not_produced": figures, "reason": reason}


def _lookup(cells: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Each release cell with the output's cell at the same coordinates (``published``; NA where none)."""
    keys = [c for c in cells.columns if c not in {"column", "cell", "line", "source_file"}]
    # a filter with one level is not written (EES refuses it): it identifies nothing
    keys = [k for k in keys if k in table.columns or cells[k].nunique() > 1]
    if any(k not in table.columns for k in keys):
        return cells.assign(published=pd.NA)
    nat = table.loc[table["geographic_level"] == "National"]
    value_cols = sorted(set(cells["column"]) & set(nat.columns))
    long = nat.melt(id_vars=keys, value_vars=value_cols, var_name="column", value_name="published")
    long = long.drop_duplicates([*keys, "column"])
    probe = cells.assign(time_period=cells["time_period"].astype(str))
    for k in keys:
        probe[k] = probe[k].astype(str)
    return probe.merge(long, on=[*keys, "column"], how="left")


def _same(dfe: pd.Series, ours: pd.Series) -> np.ndarray:
    """The same figure: equal as numbers, or the same symbol."""
    a = pd.to_numeric(dfe, errors="coerce").to_numpy(float)
    b = pd.to_numeric(ours, errors="coerce").to_numpy(float)
    numeric = np.isfinite(a) & np.isfinite(b)
    text = dfe.astype(str).str.strip().to_numpy() == ours.astype(str).str.strip().to_numpy()
    return np.where(numeric, np.isclose(a, b, rtol=0, atol=1e-9), text & ~np.isfinite(a) & ~np.isfinite(b))


def _where(cell: pd.Series) -> str:
    return f"{Path(str(cell['source_file'])).name} line {int(cell['line'])}, {cell['column']}"


def summary(table: pd.DataFrame) -> tuple[bool, str]:
    """(passed, detail): at least :data:`REQUIRED_SHARE` of the figures reproduced and none differing."""
    figures, same = int(table["figures"].sum()), int(table["reproduced"].sum())
    differ, lacking = int(table["differing"].sum()), int(table["not_produced"].sum())
    share = same / figures if figures else 1.0
    text = (
        f"{same:,} of {figures:,} national figures by ethnic group reproduced exactly ({share:.1%}); "
        f"{differ:,} differ, {lacking:,} not produced (qa/{REPRODUCTION_CSV} names the reasons)"
    )
    return share >= REQUIRED_SHARE and differ == 0, text


__all__ = ["GROUP_COLUMNS", "REPRODUCTION_CSV", "REQUIRED_SHARE", "reproduction", "summary"]
