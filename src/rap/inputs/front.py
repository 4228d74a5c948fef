"""The front door to a run's inputs: :func:`load_inputs` returns the one :class:`Inputs` every section receives.

What the kind of input means is decided here and in :mod:`rap.inputs.kinds`, once: sections ask
``record_level``, ``published`` or ``synthetic`` and take the tables of their route, never the kind's name.
Nothing is read until a section asks for it (each part once per process), so a section reads only what it
uses and importing this module needs no pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rap.core.errors import InputError
from rap.core.params import Params
from rap.inputs.kinds import InputKind, input_kind

if TYPE_CHECKING:
    import pandas as pd

    from rap.inputs.la_inputs import LaInputs
    from rap.inputs.load import RecordData


@dataclass
class Inputs:
    """A run's inputs, read lazily: record-level frames (:attr:`record`) or DfE's published tables
    (:attr:`release`, :meth:`releases`, :attr:`published_la`), and what describes their source."""

    params: Params
    #: what the inputs are (record-level? synthetic? how the source is named)
    about: InputKind = field(init=False)

    def __post_init__(self) -> None:
        self.about = input_kind(self.params)

    @property
    def record_level(self) -> bool:
        """Record-level inputs (SSDA903 returns, school extracts, child population): measures from records."""
        return self.about.record_level

    @property
    def published(self) -> bool:
        """DfE's published tables: aggregates only."""
        return self.about.published

    @property
    def synthetic(self) -> bool:
        """Made by ``rap synth``: not real children."""
        return self.about.synthetic

    @property
    def source(self) -> str:
        """How the report and the spreadsheet name the source of the figures."""
        return self.about.source

    @property
    def years(self) -> list[int]:
        return self.params.series_years

    def _need(self, record_level: bool, what: str) -> None:
        if self.record_level != record_level:
            have = "record-level" if self.record_level else "DfE's published tables"
            raise InputError(self.params.data_path, f"{what} asked for, but the inputs are {have}")

    @cached_property
    def record(self) -> RecordData:
        """The validated record-level inputs of the series years (cached on disk between runs)."""
        from rap.inputs.load import load_record_data

        return load_record_data(self.params)

    @cached_property
    def release(self) -> dict[str, pd.DataFrame]:
        """DfE's EES release in ``data.path``, one tidy table per canonical table name."""
        from rap.inputs.published import read_release

        self._need(False, "published tables")
        return read_release(self.params)

    def releases(self) -> dict[int, dict[str, pd.DataFrame]]:
        """{release year: tables}: this year's release and the previous year's where it is beside it."""
        from rap.inputs.published import read_releases

        return read_releases(self.params, self.release)

    @cached_property
    def published_la(self) -> LaInputs:
        """Published route: children looked after by LA and major group, and children 0-17 by LA and group."""
        from rap.inputs.published import read_la_inputs

        self._need(False, "DfE's LA file")
        return read_la_inputs(self.params)

    @cached_property
    def la_population(self) -> pd.DataFrame:
        """Children 0-17 by year, LA and major group: the population file (record-level) or the child
        population estimate (:mod:`rap.domain.child_population`, published)."""
        if self.published:
            return self.published_la.population
        from rap.inputs.la_inputs import child_population_by_la

        return child_population_by_la(self.record.population)

    def neighbours(self, year: int) -> pd.DataFrame:
        """DfE's statistical neighbours (:func:`rap.inputs.neighbours.statistical_neighbours`) of each LA with
        children in ``year``; a neighbour that did not exist that year is left in (it simply has no figures)."""
        from rap.inputs.neighbours import statistical_neighbours

        pop = self.la_population
        return statistical_neighbours(pop.loc[pop["time_period"] == year, "new_la_code"].unique())

    def coverage(self) -> pd.DataFrame:
        """Rows and LAs per collection and year in these inputs (:mod:`rap.inputs.coverage`). For published
        tables ``share_las`` is 1 where a table exists, 0 where none does."""
        from rap.inputs import coverage

        if self.record_level:
            return coverage.scan_record(self.record, self.years)
        scan = coverage.scan_published(self.release, self.years)
        scan["share_las"] = (scan["rows"] > 0).astype(float)
        return scan

    def write_rejected(self, qa_dir: Path) -> None:
        """Write the rows quarantined while reading (record-level inputs) to ``qa_dir``."""
        if not self.record_level:
            return
        from rap.inputs.readers import write_rejected

        write_rejected(self.record.ssda903, qa_dir, base=self.params.project_root)
        write_rejected(self.record.school, qa_dir, base=self.params.project_root)


def load_inputs(params: Params) -> Inputs:
    """The inputs of ``params``, for every kind; parts are read when first asked for."""
    return Inputs(params)
