"""The inputs a run reads, in one place: make sure they exist, then read them through ``rap.inputs.readers``.

``ensure_data`` runs before any notebook (the runner hashes the inputs for its cache key) and in each
notebook's first cell (so "Run all" in Jupyter works on a fresh clone). Synthetic data are regenerated
when absent or when the parameters that shape them changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rap.core.cache import keep_newest, shared_pickles
from rap.core.errors import InputError, ParamsError
from rap.core.hashing import HashIndex, input_files, sha256_json
from rap.core.params import Params, overlap_error
from rap.domain.input_files import input_file
from rap.inputs.kinds import input_kind

if TYPE_CHECKING:  # pandas and the readers are imported when inputs are read, not for a cache lookup
    import pandas as pd

    from rap.inputs.readers.quarantine import ReadResult


def _synthetic_matches(params: Params) -> bool:
    manifest = params.data_path / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    from rap.synth.fingerprint import generator_fingerprint

    return (
        m.get("generator_fingerprint") == generator_fingerprint()
        and m.get("seed") == params.synth.seed
        and m.get("scale") == params.synth.scale
        and m.get("years") == params.series_years
        and m.get("defect_rates") == params.synth.defects.model_dump()
    )


def made_by_synth(folder: Path) -> bool:
    """``folder`` holds a data set ``rap synth`` wrote (its ``manifest.json`` says so), or nothing at all:
    the only folders the generator may replace."""
    if not folder.exists():
        return True
    if folder.is_dir() and not any(folder.iterdir()):
        return True
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("generator") == "rap.synth"


def synthetic_target(params: Params, out_dir: Path | None = None) -> Path:
    """Where synthetic data for ``params`` may be written: ``out_dir``, else ``data.path`` when ``data.kind``
    is synthetic. Raises :class:`InputError` for a folder the generator would replace but did not make (a
    user's data of another kind), and for ``data.path`` of another kind."""
    if out_dir is None and not input_kind(params).synthetic:
        raise InputError(
            params.data_path,
            f"data.kind is {input_kind(params).name!r}: synthetic data are written only where data.kind is "
            "synthetic (or to a folder given with --out), never over the inputs of another kind",
        )
    target = Path(out_dir).resolve() if out_dir is not None else params.data_path
    clash = None if input_kind(params).synthetic else overlap_error({"--out": target}, params.input_locations())
    if clash is not None:
        raise InputError(target, clash[1])
    if not made_by_synth(target):
        raise InputError(
            target,
            "holds files rap synth did not make (no manifest.json from rap.synth); writing synthetic data "
            "would replace them. Choose an empty folder or one rap synth made",
        )
    return target


def ensure_data(params: Params) -> Path:
    """Return the data folder, generating synthetic data first if absent or out of date (other seed, scale,
    years, defect rates or generator code). Only ``data.kind: synthetic`` is ever generated, and only into a
    folder the generator made (:func:`synthetic_target`)."""
    path = params.data_path
    if input_kind(params).synthetic:
        if not _synthetic_matches(params):
            from rap.synth import generate

            generate(params, out_dir=synthetic_target(params))
        return path
    if not path.exists():
        raise InputError(path, f"data.path for data.kind {input_kind(params).name!r} does not exist")
    return path


@dataclass
class RecordData:
    """Record-level inputs for the series years: SSDA903 tables, school extracts, child population."""

    ssda903: ReadResult
    school: ReadResult
    population: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    #: where validated inputs are cached and under which key (set by load_record_data): lets
    #: ``rap.measures.compute`` share computed measures between sections
    cache_key: str | None = None
    cache_root: Path | None = None

    @property
    def problems(self) -> pd.DataFrame:
        from rap.inputs.readers.quarantine import concat_problems

        return concat_problems([self.ssda903.problems, self.school.problems])


def read_school_years(root: Path, years: list[int]) -> ReadResult:
    """School extracts ``root/<year>.csv`` for the years present; a missing year is a note, not an error."""
    import pandas as pd

    from rap.inputs.readers.quarantine import ReadResult, concat_problems
    from rap.inputs.readers.school import read_school

    results, notes = [], []
    for y in years:
        f = root / f"{y}.csv"
        if f.is_file():
            results.append(read_school(f, y))
        else:
            notes.append(f"{f}: no school extract for {y}")
    if not results:
        return ReadResult(tables={"School": pd.DataFrame()}, notes=notes)
    frames, offset = [], 0
    for r in results:  # file ids index ReadResult.files: shift each extract's ids past the earlier files
        frames.append(r.tables["School"].assign(_file=r.tables["School"]["_file"] + offset))
        offset += len(r.files)
    return ReadResult(
        tables={"School": pd.concat(frames, ignore_index=True)},
        problems=concat_problems([r.problems for r in results]),
        rows_read={"School": sum(r.rows_read.get("School", 0) for r in results)},
        files=[f for r in results for f in r.files],
        notes=notes + [n for r in results for n in r.notes],
    )


def enforce_rejected_share(result: ReadResult, limit: float) -> None:
    """Raise if any table lost more than ``limit`` of its rows: the measures would no longer describe the
    children in the return. Names the table, the share and the first rejected row (redacted)."""
    from rap.inputs.readers.quarantine import redact_problems

    rejected = result.rejected_rows()
    for table, read in sorted(result.rows_read.items()):
        share = rejected.get(table, 0) / read if read else 0.0
        if share > limit:
            # redacted as in QA files: this message can end up in a failed section's notebook
            rows = result.rejected[result.rejected["table"] == table]
            first = redact_problems(rows.assign(action="rejected")).iloc[0]
            raise InputError(
                first["file"],
                f"{share:.2%} of {table} rows were rejected, more than qa.max_rejected_share ({limit:.2%}); "
                f"first: {first['reason']} (`rap check` lists them all in outputs/<year>.check/qa/)",
                line=int(first["line"]),
                column=first["column"],
                value=first["value"],
            )


#: Validated inputs kept for re-use (one folder per key), newest first; older entries are removed.
INPUT_CACHE_KEEP = 2

#: The parts of the record-level inputs, each read and cached on its own (largest first), so sections that
#: start together read different parts at once instead of the same files twice.
PARTS = ("ssda903", "school", "population")


def reader_code_hash() -> str:
    """The code that turns files into validated frames: a change to it invalidates cached inputs."""
    from rap.core.codehash import code_hash

    return code_hash("rap.inputs.load")


# ------------------------------------------------------------------------------- what the readers read

#: How each input root's files are named in cache keys and the manifest (data.path's files by their path in it).
_KEY_PREFIX = {
    "data.path": "",
    "data.la_ethnicity_file": "<la_ethnicity_file>/",
    "data.population_path": "<population_path>/",
    "previous_release": "<previous_release>/",
}


def input_roots(params: Params) -> dict[str, Path]:
    """Every folder or file the readers read from, by what names it: ``data.path`` (record-level returns,
    school extracts, population; or the EES release), the published kind's ``data.la_ethnicity_file`` and
    ``data.population_path``, and the previous year's release beside ``data.path`` (revisions)."""
    roots = params.input_locations()
    previous = previous_release_folder(params) if input_kind(params).published else None
    if previous is not None:
        roots["previous_release"] = previous
    return roots


def previous_release_folder(params: Params) -> Path | None:
    """The previous year's release beside ``data.path`` (named like it with the year one lower), if present:
    the published kind reads its revisions (``rap.inputs.published.read_releases``)."""
    path = params.data_path
    previous = path.with_name(path.name.replace(str(params.year), str(params.year - 1)))
    return previous if previous != path and previous.is_dir() else None


def input_listing(params: Params) -> dict[str, dict[str, Path]]:
    """{root: {relative path: real path}} of every file under every input root
    (:func:`rap.core.hashing.input_files`: hidden files included, symbolic links followed). A superset of
    what any reader opens, since every reader reads only below these roots: what the cache keys hash."""
    return {key: input_files(root) for key, root in input_roots(params).items()}


def input_hashes(listing: dict[str, dict[str, Path]], idx: HashIndex) -> dict[str, str]:
    """{file as cache keys name it: sha256} for a :func:`input_listing`. A file that cannot be read is an
    :class:`InputError` naming it."""
    out: dict[str, str] = {}
    for key, files in listing.items():
        prefix = _KEY_PREFIX[key]
        for rel, real in files.items():
            try:
                out[prefix + rel] = idx.hash(real, resolved=True)
            except OSError as exc:
                raise InputError(real, f"input file cannot be read ({exc.strerror or exc})") from None
    return out


def refuse_writing_into_inputs(
    params: Params, written: dict[str, Path], source: str | Path, listing: dict[str, dict[str, Path]] | None = None
) -> None:
    """Raise :class:`ParamsError` (naming ``source``, the folder and the input) when a folder in ``written``
    (what names it -> path) is, is inside or contains an input root, or holds a file an input links to."""
    written = {what: Path(path).absolute() for what, path in written.items()}
    clash = overlap_error(written, input_roots(params))
    if clash is not None:
        raise ParamsError(source, *clash)
    folders = {what: os.path.realpath(path) + os.sep for what, path in written.items()}
    for key, files in (listing if listing is not None else input_listing(params)).items():
        for rel, real in files.items():
            for what, folder in folders.items():
                if str(real).startswith(folder):
                    raise ParamsError(
                        source,
                        what,
                        f"{rel} in {key} is a link to {real}, inside {folder.rstrip(os.sep)}, where a "
                        "run writes: a run must never write into its inputs; copy the file into the inputs instead",
                    )


def _input_cache_dir(params: Params) -> Path:
    cache = Path(params.project_root).resolve() / ".cache"
    try:
        with HashIndex(cache / "file-hashes.json") as idx:
            files = input_hashes(input_listing(params), idx)
    except (PermissionError, FileNotFoundError) as exc:  # an unreadable input, a broken link: bad input
        raise InputError(exc.filename or params.data_path, f"cannot be read ({exc.strerror or exc})") from None
    key = sha256_json(
        {
            "files": files,
            "years": params.series_years,
            "code": reader_code_hash(),
            "python": sys.version_info[:2],
            "pandas": _version("pandas"),
            "pyarrow": _version("pyarrow"),
        }
    )
    return cache / "inputs" / key


def _version(package: str) -> str | None:
    """An installed package's version (None if absent): pickled frames hold pyarrow-backed strings when
    pyarrow is installed, which cannot be loaded without it."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def record_data_key(params: Params) -> str:
    """The key the validated record-level inputs are cached under: their files' hashes, the years and the
    reading code. Things made from those inputs alone (e.g. the leak scan's identifiers) can be cached by it
    without reading the inputs."""
    ensure_data(params)
    return _input_cache_dir(params).name


def _read_part(part: str, params: Params, root: Path) -> Any:
    """One part of :data:`PARTS`, read from the files and validated."""
    if part == "ssda903":
        from rap.inputs.readers.ssda903 import read_ssda903_years

        return read_ssda903_years(root / "ssda903", params.series_years)
    if part == "school":
        return read_school_years(root / "school", params.series_years)
    if part == "population":
        return read_population(root)
    raise ValueError(f"unknown part of the inputs: {part!r}")


def read_population(root: Path) -> tuple[pd.DataFrame | None, list[str]]:
    """The child population by LA and ethnic group in ``root/population/`` and notes; (None, a note) when the
    file is absent (rates per 10,000 children are then left out)."""
    from rap.inputs.readers.population import read_children_by_la_ethnicity

    pop_file = root / input_file("children_by_la_ethnicity")
    if pop_file.exists():
        return read_children_by_la_ethnicity(pop_file), []
    return None, [f"{pop_file}: no child population by ethnicity"]


def _record_data(parts: dict[str, Any]) -> RecordData:
    population, notes = parts["population"]
    return RecordData(ssda903=parts["ssda903"], school=parts["school"], population=population, notes=list(notes))


def load_record_data(params: Params, *, use_cache: bool = True) -> RecordData:
    """Read and validate the record-level inputs of ``params`` (a record-level kind).

    Validated inputs are cached under ``.cache/inputs/<key>/`` (key: the input files' hashes, the years and
    the reading code), one pickle per part of :data:`PARTS`, so the next section or notebook run loads them
    in seconds instead of re-reading thousands of CSVs, and sections running at the same time split the
    reading between them. Fails (InputError) when a table lost more than ``qa.max_rejected_share`` of its
    rows to quarantine (checked on cached data too).
    """
    if input_kind(params).published:
        raise InputError(params.data_path, "record-level data asked for, but data.kind is 'published'")
    root = ensure_data(params)
    folder = _input_cache_dir(params) if use_cache else None
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.utime(folder)
        except OSError:
            folder = None  # a read-only cache folder: read the files
    if folder is None:
        data = _read_record_data(params, root)
    else:
        data = _record_data(shared_pickles(folder, PARTS, lambda part: _read_part(part, params, root)))
        data.cache_key, data.cache_root = folder.name, folder.parent.parent
        with contextlib.suppress(OSError):
            keep_newest(folder.parent, INPUT_CACHE_KEEP, protect={folder.name})
    for res in (data.ssda903, data.school):
        enforce_rejected_share(res, params.qa.max_rejected_share)
    return data


def _read_record_data(params: Params, root: Path) -> RecordData:
    return _record_data({part: _read_part(part, params, root) for part in PARTS})
