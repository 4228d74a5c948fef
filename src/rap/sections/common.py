"""Small helpers every section notebook uses, so the notebooks stay narrative plus calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rap.core.errors import ParamsError
from rap.core.params import Params, load_params
from rap.domain import ethnicity as eth
from rap.inputs.front import Inputs, load_inputs
from rap.measures.common import TOTAL


def setup(params_file: str | Path, out_dir: str | Path, year: int | str) -> tuple[Params, Inputs, Path]:
    """A section's first line: its parameters, its inputs (read when first used) and its output folder.

    ``year`` is the notebook's own parameter: papermill passes it beside the params file, and the two must
    agree, so a notebook run by hand for another year fails here rather than mixing years.
    """
    params = load_params(params_file)
    if params.year != int(year):
        raise ParamsError(params_file, "year", f"year parameter {year} differs from {params_file} ({params.year})")
    return params, load_inputs(params), section_output(out_dir)


def section_output(out_dir: str | Path) -> Path:
    """The section's output folder (created): the runner merges it into ``outputs/<year>/``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_summary(out: Path, section: str, lines: list[str]) -> Path:
    """Key findings for the front page: ``summary/<section>.md``, one bullet per line."""
    path = out / "summary" / f"{section}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"- {line}\n" for line in lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------ differences the text may name

#: The column (never published) that says, from the unrounded limits, whether a ratio's 95% interval lies above
#: 1 (1), below it (-1) or spans it (0); NaN where no ratio is published. The text's "higher" and "lower" come
#: from it: a limit of 1.004 is published as 1.00, yet the interval excludes 1.
DIRECTION = "_direction"


def has(table: pd.DataFrame, measure: str, breakdown: str | None = None) -> bool:
    """Whether this run's inputs give ``measure`` (published inputs hold only some)."""
    t = table[table["measure"] == measure]
    return bool(len(t) if breakdown is None else (t["breakdown"] == breakdown).any())


def england_groups(table: pd.DataFrame, measure: str, year: int, breakdown: str | None = None) -> pd.DataFrame:
    """England's rows of one measure and year (and breakdown, when given) for all children and each major group:
    what the chapters' words and charts describe."""
    sel = (
        (table["measure"] == measure)
        & (table["time_period"] == year)
        & (table["geographic_level"] == "National")
        & (table["ethnicity_minor"] == TOTAL)
    )
    if breakdown is not None:
        sel &= table["breakdown"] == breakdown
    return table[sel]


def carries_intervals(rows: pd.DataFrame, ratio: str = "ratio_to_reference") -> bool:
    """Whether any ratio to White British (or ``ratio``) among ``rows`` has limits to judge it by: where none
    has (DfE's published percentages), no difference is tested and the text says so."""
    return bool(rows[ratio + "_lower_95"].map(lambda v: isinstance(v, int | float)).any())


def significant_differences(table: pd.DataFrame, measure: str, breakdown: str, year: int) -> list[str]:
    """Major groups whose ratio to White British has a 95% interval excluding 1: the only differences the
    commentary may describe (government style: comment only on significant differences)."""
    t = england_groups(table, measure, year, breakdown)
    t = t[~t["ethnicity_major"].isin([TOTAL, eth.major_label("unknown")])]
    out = []
    for r in t.itertuples():
        lo, hi, est = r.ratio_to_reference_lower_95, r.ratio_to_reference_upper_95, r.ratio_to_reference
        side = _side(r, lo, hi)
        if side:
            word = "higher" if side > 0 else "lower"
            out.append(
                f"{r.ethnicity_major} ({est:.2f} times the White British figure, 95% interval {lo:.2f} to {hi:.2f}): {word}"
            )
    return out


def _side(row: object, lo: object, hi: object, ratio: str = "ratio_to_reference") -> int:
    """1 or -1 where the ratio (to White British, or ``ratio``) is significantly above or below 1, from the
    unrounded limits (:data:`DIRECTION`) when the table has them, else from the limits as shown; 0 otherwise."""
    if not (isinstance(lo, int | float) and isinstance(hi, int | float)):
        return 0
    d = getattr(row, ratio + DIRECTION, None)
    if isinstance(d, int | float) and np.isfinite(d):
        return int(d)
    return 1 if lo > 1 else (-1 if hi < 1 else 0)


def significant_sides(
    table: pd.DataFrame, measure: str, breakdown: str, year: int, ratio: str = "ratio_to_reference"
) -> dict[str, int]:
    """{major group label: 1 or -1} for England's groups whose ``ratio`` (to White British, or to all children)
    has a 95% interval wholly above or below 1: the groups a key finding may call higher or lower."""
    t = england_groups(table, measure, year, breakdown)
    t = t[~t["ethnicity_major"].isin([TOTAL, eth.major_label("unknown")])]
    out = {}
    for r in t.itertuples():
        side = _side(r, getattr(r, ratio + "_lower_95"), getattr(r, ratio + "_upper_95"), ratio)
        if side:
            out[r.ethnicity_major] = side
    return out


# ------------------------------------------------------------------ plain-English key findings


def join_words(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def short_name(label: str) -> str:
    """The short name of a major group in a sentence (``Mixed`` for "Mixed or Multiple ethnic groups")."""
    short = eth.major_groups().set_index("label_cla")["label_short"]
    return str(short.get(label, label))


def children_from(labels: list[str]) -> str:
    """``children from the Mixed ethnic group``, ``children from the Mixed and Black ethnic groups``: how
    Ethnicity facts and figures names groups in a sentence."""
    names = [short_name(g) for g in labels]
    return f"children from the {join_words(names)} ethnic group" + ("s" if len(names) > 1 else "")


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]
