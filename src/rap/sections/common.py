"""Small helpers every section notebook uses, so the notebooks stay narrative plus calls."""

from __future__ import annotations

from pathlib import Path

from rap.core.errors import ParamsError
from rap.core.params import Params, load_params
from rap.inputs.front import Inputs, load_inputs


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
