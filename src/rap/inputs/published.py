"""The published inputs: DfE's EES release tables, its LA file by ethnic group and the ONS population files.

``data.path`` holds the release (and, beside it, the previous year's release when there is one: revisions);
``data.la_ethnicity_file`` and ``data.population_path`` hold what the LA chapter needs. Every missing file is
an :class:`~rap.core.errors.InputError` naming the file and the parameter that points at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rap.core.errors import InputError
from rap.core.params import Params
from rap.domain.input_files import input_file
from rap.inputs.load import ensure_data, previous_release_folder

if TYPE_CHECKING:
    import pandas as pd

    from rap.inputs.la_inputs import LaInputs

#: The ONS file the LA chapter reads from ``data.population_path`` (the split by ethnic group is the package's
#: estimate, :mod:`rap.domain.child_population`).
MID_YEAR_FILE = input_file("ons_mid_year_estimates")


def read_release(params: Params) -> dict[str, pd.DataFrame]:
    """The EES release in ``data.path``, one tidy table per canonical table name."""
    from rap.inputs.readers.ees import read_ees_release, release_of

    folder = ensure_data(params)
    if folder.is_dir() and release_of(folder) != params.year:
        raise InputError(
            folder,
            f"data.path holds the {release_of(folder)} release (by its name) but year is {params.year}: "
            f"point data.path at the {params.year} release",
        )
    tables = read_ees_release(folder)
    if tables and not any((df["time_period"] == params.year).any() for df in tables.values()):
        raise InputError(folder, f"no table of the release holds a row of {params.year}, the report's year")
    return tables


def read_releases(params: Params, latest: dict[str, pd.DataFrame]) -> dict[int, dict[str, pd.DataFrame]]:
    """{release year: tables}: ``latest`` (this year's release) and the previous year's where present."""
    from rap.inputs.readers.ees import read_ees_release

    releases = {params.year: latest}
    previous = previous_release_folder(params)
    if previous is not None:
        releases[params.year - 1] = read_ees_release(previous)
    return releases


def _la_file(params: Params) -> Path:
    la_file = params.input_path("la_ethnicity_file")
    if la_file is None:
        raise InputError(
            params.data_path,
            "data.la_ethnicity_file is not set: the LA section needs DfE's file of "
            "children looked after by LA and ethnic group",
        )
    return la_file


def _population_dir(params: Params, la_file: Path) -> Path:
    pop_dir = params.input_path("population_path")
    if pop_dir is None:
        raise InputError(la_file, "data.population_path is not set: rates need ONS child population files")
    if not (pop_dir / MID_YEAR_FILE).is_file():
        raise InputError(pop_dir / MID_YEAR_FILE, "population file not found in data.population_path")
    return pop_dir


def read_la_inputs(params: Params) -> LaInputs:
    """Children looked after on 31 March by LA and major group (DfE's LA file, series years only) and
    children 0-17 by LA and group made from the ONS files."""
    from rap.inputs.la_inputs import la_inputs_from_published
    from rap.inputs.readers.ees import read_ees_la_ethnicity
    from rap.inputs.readers.population import read_mid_year_estimates

    la_file = _la_file(params)
    la = read_ees_la_ethnicity(la_file)
    held = sorted(int(y) for y in la["time_period"].unique())
    if params.year not in held:
        raise InputError(
            la_file,
            f"no row of {params.year}, the report's year (it holds {held}): data.la_ethnicity_file must cover it",
            column="time_period",
        )
    la = la[la["time_period"].astype(int).isin(params.series_years)]
    pop_dir = _population_dir(params, la_file)
    return la_inputs_from_published(la, read_mid_year_estimates(pop_dir / MID_YEAR_FILE))
