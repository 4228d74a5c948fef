"""Run the report's notebook sections: papermill in worker processes, cached, staged and swapped in.

A *section* is a notebook ``notebooks/NN_<name>.ipynb`` with exactly one cell tagged ``parameters`` that
declares ``params_file``, ``out_dir`` and ``year``. Each section gets those three values from papermill and
rebuilds the one resolved :class:`~rap.core.params.Params` object with ``load_params(params_file)`` in its first
code cell. Sections run in parallel in separate processes, so they must not read each other's outputs.

Layout of one run (``out`` is ``outputs/<year>``)::

    outputs/.staging-<year>-<random>/     everything is written here first
        .work/<section>/out/              the section's private ``out_dir`` while it runs
        notebooks/<section>.ipynb         executed, normalised notebooks
        <files the sections wrote>        merged from every section's ``out_dir``
        manifest.json
    outputs/<year>/                       the staging folder renamed into place once *every* section passed
    outputs/<year>.failed/<section>.ipynb the executed notebook of a section that failed
    .cache/sections/<key>/                notebook.ipynb + outputs/ + key.json (what the key was made of)

Nothing under ``outputs/<year>`` changes until the whole run has succeeded: a failing notebook, Ctrl-C or a
SIGKILL leaves the previous good folder as it was, and the next run removes the abandoned staging folder.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import fcntl
import json
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import nbformat

from rap.core.cache import last_used
from rap.core.params import Params, load_params
from rap.core.errors import RapError
from rap.core.hashing import HashIndex, sha256_json

KERNEL_NAME = "python3"
START_TIMEOUT = 180  # seconds; kernel start-up races are the usual flake on busy machines
CACHE_VERSION = 1  # bump to invalidate every cached section (e.g. when normalisation changes)
REQUIRED_PARAMETERS = ("params_file", "out_dir", "year")
SECTION_RE = re.compile(r"^(\d{2})_([A-Za-z0-9][A-Za-z0-9_\-]*)\.ipynb$")
NOTEBOOKS_SUBDIR = "notebooks"
MANIFEST_NAME = "manifest.json"

# Libraries whose version can change what a notebook prints: part of every cache key.
KEY_PACKAGES = (
    "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "pyarrow", "pydantic", "pandera",
    "pyyaml", "afcharts", "gptables", "papermill", "nbclient", "nbformat", "ipykernel",
)  # fmt: skip

# Parameters that say *where* things are on this machine rather than *what* is computed. They are left out
# of the cache key so a cache copied to another checkout (or CI) still hits; what they point at is covered
# by content hashes instead (input files by their bytes, outputs by the staging folder).
_PARAMS_NOT_IN_KEY = ("project_root", "output_dir", "sections", "data.path")


class SectionError(RapError):
    """A notebook that is not a valid section (name, parameters cell) or a bad section selection."""


class RunLocked(RapError):
    """Another run is writing the same output folder."""


class SectionFailed(RapError):
    """A section's notebook raised. Names the notebook, the cell, the error and the kept executed notebook."""

    def __init__(
        self,
        section: str,
        *,
        ename: str,
        evalue: str,
        exec_count: int | None = None,
        cell_index: int | None = None,
        notebook_path: Path | None = None,
        source_path: Path | None = None,
        traceback: str = "",
        others: list[str] | None = None,
    ) -> None:
        self.section = section
        self.ename = ename
        self.evalue = evalue
        self.exec_count = exec_count
        self.cell_index = cell_index
        self.notebook_path = notebook_path
        self.source_path = source_path
        self.traceback = traceback
        self.others = others or []
        super().__init__(str(self))

    @property
    def cell(self) -> str:
        if self.exec_count is None and self.cell_index is None:
            return "kernel start-up"
        parts = []
        if self.exec_count is not None:
            parts.append(f"In [{self.exec_count}]")
        if self.cell_index is not None:
            parts.append(f"cell {self.cell_index} of the source notebook (0-based)")
        return ", ".join(parts)

    def __str__(self) -> str:
        msg = f"section {self.section} failed at {self.cell}: {self.ename}: {self.evalue}"
        if self.notebook_path:
            msg += f"\n  executed notebook kept at {self.notebook_path}"
        if self.others:
            msg += f"\n  also failed: {', '.join(self.others)}"
        return msg


@dataclass(frozen=True)
class Section:
    number: int
    name: str  # "data_availability"
    stem: str  # "01_data_availability": the section's id everywhere (folders, results, manifest)
    path: Path


@dataclass
class SectionResult:
    name: str  # the section's stem, "01_data_availability"
    state: str  # done | cached | failed | cancelled | skipped (not selected and not in the cache)
    seconds: float
    cache_hit: bool
    notebook: Path | None  # executed notebook (final location, or outputs/<year>.failed/... on failure)
    outputs: list[Path] = field(default_factory=list)  # files the section wrote (final locations)
    key: str = ""


@dataclass
class RunResult:
    out_dir: Path
    params_file: Path
    sections: list[SectionResult]
    inputs: dict[str, str]  # input file (relative to the project root when inside it) -> sha256
    started: str  # ISO 8601, UTC
    finished: str
    seconds: float
    code: str = ""  # sha256 of the rap package's source, as in the section keys (what else is cached keys on it)
    publishing: dict[str, float] = field(default_factory=dict)  # step after the sections -> seconds

    def __getitem__(self, name: str) -> SectionResult:
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def executed(self) -> list[str]:
        return [s.name for s in self.sections if s.state == "done"]

    @property
    def cache_hits(self) -> list[str]:
        return [s.name for s in self.sections if s.cache_hit]


# --------------------------------------------------------------------------------------------- discovery


def _parameters_cells(nb: nbformat.NotebookNode) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])]


def _assigned_names(source: str) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names.add(t.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def read_section(path: Path) -> Section:
    """Validate one notebook as a section (name pattern and exactly one ``parameters`` cell)."""
    m = SECTION_RE.match(path.name)
    if not m:
        raise SectionError(f"{path}: section notebooks are named NN_<name>.ipynb (e.g. 01_data.ipynb)")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for unreadable files
        raise SectionError(f"{path}: not a readable notebook: {exc}") from None
    tagged = _parameters_cells(nb)
    if len(tagged) != 1:
        where = f" (cells {', '.join(map(str, tagged))})" if tagged else ""
        raise SectionError(
            f"{path}: needs exactly one cell tagged 'parameters', found {len(tagged)}{where}. "
            "Tag the cell that holds only the literal defaults of params_file, out_dir and year."
        )
    cell = nb.cells[tagged[0]]
    if cell.cell_type != "code":
        raise SectionError(f"{path}: the cell tagged 'parameters' (cell {tagged[0]}) must be a code cell")
    try:
        names = _assigned_names(cell.source)
    except SyntaxError as exc:
        raise SectionError(f"{path}: the parameters cell is not valid Python: {exc}") from None
    missing = [n for n in REQUIRED_PARAMETERS if n not in names]
    if missing:
        raise SectionError(
            f"{path}: the parameters cell (cell {tagged[0]}) must assign {', '.join(REQUIRED_PARAMETERS)}; "
            f"missing {', '.join(missing)}"
        )
    return Section(number=int(m.group(1)), name=m.group(2), stem=path.stem, path=path.resolve())


def discover_sections(notebooks_dir: str | Path) -> list[Section]:
    """Every ``NN_<name>.ipynb`` in ``notebooks_dir`` (not recursive), sorted by file name, validated."""
    d = Path(notebooks_dir)
    if not d.is_dir():
        raise SectionError(f"{d}: no such notebooks folder")
    found = sorted(p for p in d.glob("*.ipynb") if SECTION_RE.match(p.name))
    sections = [read_section(p) for p in found]
    seen: dict[int, str] = {}
    for s in sections:
        if s.number in seen:
            raise SectionError(f"{d}: two sections numbered {s.number:02d}: {seen[s.number]} and {s.stem}")
        seen[s.number] = s.stem
    return sections


def select_sections(all_sections: list[Section], wanted: Iterable[str] | None) -> list[Section]:
    """Sections named in ``wanted`` by stem (``01_data``), name (``data``) or number (``1``/``01``)."""
    wanted = list(wanted or [])
    if not wanted:
        return list(all_sections)
    chosen: list[Section] = []
    for w in wanted:
        hits = [s for s in all_sections if w in (s.stem, s.name) or (w.isdigit() and int(w) == s.number)]
        if not hits:
            names = ", ".join(s.stem for s in all_sections) or "(none)"
            raise SectionError(f"no section called {w!r}; sections are: {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return sorted(chosen, key=lambda s: s.stem)


# ------------------------------------------------------------------------------------------- cache keys


def notebook_source_hash(path: Path) -> str:
    """sha256 of what a notebook *does*: cell types, sources and tags. Outputs and metadata are ignored."""
    nb = nbformat.read(path, as_version=4)
    cells = [
        [c.cell_type, c.source, sorted(c.get("metadata", {}).get("tags") or [])]
        for c in nb.cells
        if c.cell_type in ("code", "markdown", "raw")
    ]
    return sha256_json(cells)


def params_for_key(params: Params) -> dict[str, Any]:
    """The resolved parameters minus machine-specific locations (see ``_PARAMS_NOT_IN_KEY``)."""
    d = params.model_dump(mode="json")
    for dotted in _PARAMS_NOT_IN_KEY:
        *parents, last = dotted.split(".")
        node = d
        for p in parents:
            node = node.get(p, {})
        node.pop(last, None)
    return d


def input_files(params: Params) -> list[Path]:
    """The files the data layer reads: every file under ``params.data_path`` (all data kinds), and the
    optional inputs of :func:`extra_inputs`."""
    from rap.core.hashing import list_files

    return list_files(params.data_path) + [f for p in extra_inputs(params).values() for f in list_files(p)]


def extra_inputs(params: Params) -> dict[str, Path]:
    """Inputs outside ``data.path`` that sections read (published kind: LA file, population folder)."""
    keys = ("la_ethnicity_file", "population_path")
    return {k: p for k in keys if (p := params.input_path(k)) is not None}


def _rap_source_dir() -> Path:
    import rap

    return Path(rap.__file__).resolve().parent


def environment_for_key() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "kernel": KERNEL_NAME, "packages": versions}


@dataclass
class _KeyContext:
    params: dict[str, Any]
    inputs: dict[str, str]  # relative to data_path -> sha256
    rap_source: str
    rap_files: int
    environment: dict[str, Any]

    def parts(self, section: Section, notebook_sha: str) -> dict[str, Any]:
        return {
            "cache_version": CACHE_VERSION,
            "section": section.stem,
            "notebook_sha256": notebook_sha,
            "params": self.params,
            "inputs": self.inputs,
            "rap_source_sha256": self.rap_source,
            "rap_files": self.rap_files,
            "environment": self.environment,
        }


def section_key(parts: dict[str, Any]) -> str:
    return sha256_json(parts)


# ---------------------------------------------------------------------------------------- normalising

_VOLATILE_NB_PAPERMILL = ("start_time", "end_time", "duration", "input_path", "output_path", "version",
                          "environment_variables")  # fmt: skip
_VOLATILE_CELL_PAPERMILL = ("start_time", "end_time", "duration")


def _path_pattern(replacements: dict[str, str]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    table: dict[str, str] = {}
    for path, placeholder in replacements.items():
        if path and len(path) > 1 and path != os.sep:
            table.setdefault(path, placeholder)
    if not table:
        return None
    alternatives = sorted(table, key=len, reverse=True)  # most specific first
    pattern = re.compile("(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w.\-])")
    return pattern, table


def _replace_paths(obj: Any, compiled: tuple[re.Pattern[str], dict[str, str]] | None) -> Any:
    if compiled is None:
        return obj
    pattern, table = compiled
    if isinstance(obj, str):
        return pattern.sub(lambda m: table[m.group(1)], obj) if obj else obj
    if isinstance(obj, list):
        return [_replace_paths(v, compiled) for v in obj]
    if isinstance(obj, dict):
        return type(obj)((k, _replace_paths(v, compiled)) for k, v in obj.items())
    return obj


def normalise_notebook(nb: nbformat.NotebookNode, replacements: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Strip timestamps, durations, absolute paths and interpreter details so equal runs give equal bytes.

    ``replacements`` maps absolute paths (as they may appear anywhere in the notebook, outputs included) to
    placeholders such as ``<out_dir>``; the longest path wins, and only whole path components match.
    """
    nb = copy.deepcopy(nb)
    md = nb.setdefault("metadata", {})
    pm = md.get("papermill")
    if isinstance(pm, dict):
        for k in _VOLATILE_NB_PAPERMILL:
            pm.pop(k, None)
    li = md.get("language_info")
    if isinstance(li, dict):
        li.pop("version", None)
    md.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cmd = cell.setdefault("metadata", {})
        cmd.pop("execution", None)
        cpm = cmd.get("papermill")
        if isinstance(cpm, dict):
            for k in _VOLATILE_CELL_PAPERMILL:
                cpm.pop(k, None)
        tags = cmd.get("tags") or []
        if "injected-parameters" in tags:
            cell["id"] = "injected-parameters"
        elif "papermill-error-cell-tag" in tags:
            cell["id"] = f"papermill-error-cell-{i}"
        elif "id" in cell and not cell["id"]:
            cell["id"] = f"cell-{i}"
    return nbformat.from_dict(_replace_paths(nb, _path_pattern(replacements or {})))


def _write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb)  # sorted keys, indent=1
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------- the worker


def mp_context() -> multiprocessing.context.BaseContext:
    """fork on Linux: workers inherit the imported papermill/nbformat (nbformat alone takes ~1.5 s to import),
    and do not re-run ``__main__`` (spawn cannot start workers from ``python -`` or some notebook set-ups)."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def die_with_parent() -> None:
    """Worker initializer: on Linux, get SIGKILLed when the run process dies (so a killed run stops instead
    of writing on into a staging folder nobody will swap in)."""
    with contextlib.suppress(Exception):
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() == 1:  # parent already gone before prctl took effect
                os._exit(1)


def _die_with_parent() -> None:
    """Section worker initializer: :func:`die_with_parent`, and the environment kernels are started with."""
    die_with_parent()
    # Deterministic kernels: hash seed fixed (set/dict-of-str ordering), reproducible file timestamps.
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def _execute_section(job: dict[str, Any]) -> dict[str, Any]:
    """Run one notebook with papermill. Runs in a worker process; returns a plain dict, never raises."""
    t0 = time.perf_counter()
    Path(job["marker"]).write_text(str(os.getpid()), encoding="utf-8")
    Path(job["parameters"]["out_dir"]).mkdir(parents=True, exist_ok=True)
    # The kernel inherits this process's stderr: send its start-up chatter to a log beside the notebook.
    sys.stderr.flush()
    saved_fd = os.dup(2)
    log_fd = os.open(job["stderr_log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    try:
        return _execute_papermill(job, t0)
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)


def _log_tail(path: str, n: int = 2000) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def _execute_papermill(job: dict[str, Any], t0: float) -> dict[str, Any]:
    try:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        try:
            pm.execute_notebook(
                job["input"],
                job["output"],
                parameters=job["parameters"],
                kernel_name=KERNEL_NAME,
                cwd=job["cwd"],
                start_timeout=job["start_timeout"],
                execution_timeout=job["execution_timeout"],
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
            )
        except PapermillExecutionError as exc:
            return {
                "ok": False,
                "seconds": time.perf_counter() - t0,
                "error": {
                    "ename": exc.ename,
                    "evalue": exc.evalue,
                    "exec_count": exc.exec_count,
                    "cell_index": exc.cell_index,
                    "traceback": "\n".join(exc.traceback or []),
                },
            }
    except BaseException as exc:  # kernel died, start-up timeout, missing kernel, ...
        return {
            "ok": False,
            "seconds": time.perf_counter() - t0,
            "error": {
                "ename": type(exc).__name__,
                "evalue": str(exc),
                "exec_count": None,
                "cell_index": None,
                "traceback": traceback.format_exc() + "\nkernel stderr (tail):\n" + _log_tail(job["stderr_log"]),
            },
        }
    return {"ok": True, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------- progress

_STYLE = {"queued": "dim", "running": "yellow", "cached": "cyan", "done": "green", "failed": "bold red",
          "cancelled": "magenta", "skipped": "dim"}  # fmt: skip


class _Progress:
    def __init__(self, names: list[str], enabled: bool) -> None:
        self.names = names
        self.state = {n: "queued" for n in names}
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.live_enabled = enabled and sys.stdout.isatty()
        self._live: Any = None

    def _table(self) -> Any:
        from rich.table import Table

        t = Table(title="sections", title_justify="left")
        t.add_column("section")
        t.add_column("state")
        t.add_column("seconds", justify="right")
        now = time.perf_counter()
        for n in self.names:
            st = self.state[n]
            if n in self.seconds:
                secs = f"{self.seconds[n]:.1f}"
            elif n in self.started:
                secs = f"{now - self.started[n]:.1f}"
            else:
                secs = ""
            t.add_row(n, f"[{_STYLE.get(st, '')}]{st}[/]", secs)
        return t

    def __enter__(self) -> _Progress:
        if self.live_enabled:
            from rich.live import Live

            self._live = Live(get_renderable=self._table, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(*exc)

    def running(self, name: str) -> None:
        if self.state[name] == "queued":
            self.state[name] = "running"
            self.started[name] = time.perf_counter()

    def finish(self, name: str, state: str, seconds: float) -> None:
        self.state[name] = state
        self.seconds[name] = seconds
        if self._live is None:
            print(f"{name:<32} {state:<9} {seconds:7.1f}s", flush=True)


# -------------------------------------------------------------------------------- staging and the swap


@contextlib.contextmanager
def _run_lock(out_dir: Path) -> Iterator[None]:
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    fh = open(lock_path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another run is writing {out_dir} (lock {lock_path}); wait for it to finish") from None
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def clean_leftovers(out_dir: Path) -> list[Path]:
    """Remove staging folders of killed runs; restore ``out_dir`` if a run died halfway through the swap."""
    parent = out_dir.parent
    removed: list[Path] = []
    asides = sorted(parent.glob(f".old-{out_dir.name}-*"), key=lambda p: p.stat().st_mtime)
    if asides and not out_dir.exists():
        os.replace(asides.pop(), out_dir)  # killed between "rename old aside" and "rename staging in"
    for p in [*parent.glob(f".staging-{out_dir.name}-*"), *asides]:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames; the old folder is removed afterwards."""
    aside = None
    if out_dir.exists():
        aside = out_dir.parent / f".old-{out_dir.name}-{secrets.token_hex(4)}"
        os.replace(out_dir, aside)
    os.replace(staging, out_dir)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _copy_tree_files(src: Path, dest: Path, rels: list[str], owner: str, owners: dict[str, str], move: bool) -> None:
    for rel in rels:
        if rel in owners:
            raise SectionError(
                f"sections {owners[rel]} and {owner} both wrote {rel}; sections must write different files"
            )
        if rel == MANIFEST_NAME or rel.split("/", 1)[0] == NOTEBOOKS_SUBDIR:
            raise SectionError(f"section {owner} wrote {rel}: {MANIFEST_NAME} and {NOTEBOOKS_SUBDIR}/ are reserved")
        owners[rel] = owner
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(src / rel, target)
        else:
            shutil.copyfile(src / rel, target)


def _relative_files(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


# ---------------------------------------------------------------------------------------------- cache


def _read_timings(path: Path) -> dict[str, float]:
    """Seconds each section took when it last executed (for scheduling only; never part of a result)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _write_timings(path: Path, timings: dict[str, float]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(timings, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # scheduling hint only


def _cache_entry_ok(entry: Path) -> bool:
    return (entry / "key.json").is_file() and (entry / "notebook.ipynb").is_file()


#: Cached results kept per section (newest by last use): enough for a couple of parameter files (e.g. this
#: year, last year, the published route) without the cache growing with every edit.
KEEP_PER_SECTION = 3


def prune_section_cache(cache_dir: Path, section: str, keep: int = KEEP_PER_SECTION,
                        protect: Iterable[str] = ()) -> list[Path]:
    """Delete all but the ``keep`` most recently used cached results of ``section`` (a hit refreshes an
    entry's time); entries named in ``protect`` (this run's keys) stay. Returns what was deleted."""
    protected = set(protect)
    mine: list[Path] = []
    for entry in cache_dir.iterdir() if cache_dir.is_dir() else []:
        if entry.name.startswith(".") or not (entry / "key.json").is_file():
            continue
        try:
            record = json.loads((entry / "key.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("parts", {}).get("section") == section:
            mine.append(entry)
    mine.sort(key=last_used, reverse=True)  # an entry removed meanwhile by another run sorts last
    gone = [e for e in mine[keep:] if e.name not in protected]
    for entry in gone:
        shutil.rmtree(entry, ignore_errors=True)
    return gone


def _store_in_cache(cache_dir: Path, key: str, parts: dict[str, Any], notebook: Path, out: Path, rels: list[str],
                    seconds: float) -> None:  # fmt: skip
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".tmp-{key[:12]}-"))
    try:
        shutil.copyfile(notebook, tmp / "notebook.ipynb")
        for rel in rels:
            (tmp / "outputs" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / rel, tmp / "outputs" / rel)
        record = {
            "key": key,
            "parts": parts,
            "outputs": rels,
            "seconds": round(seconds, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "key.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        final = cache_dir / key
        if final.exists():  # refreshing (use_cache=False): move the old entry aside first
            old = cache_dir / f".old-{key[:12]}-{secrets.token_hex(4)}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- running


def _json_simple(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return not (isinstance(value, float) and value != value)
    if isinstance(value, list):
        return all(_json_simple(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_simple(v) for k, v in value.items())
    return False


def validate_parameters(parameters: dict[str, Any]) -> None:
    """Papermill writes parameters as Python literals: only JSON-simple values survive the trip."""
    for k, v in parameters.items():
        if not _json_simple(v):
            raise SectionError(f"parameter {k}={v!r} is not a JSON-simple value (str, int, float, bool, list, dict)")


def _inside(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_sections(
    params: Params,
    params_file: str | Path,
    *,
    notebooks_dir: str | Path,
    out_dir: str | Path | None = None,
    sections: Iterable[str] | None = None,
    workers: int | None = None,
    use_cache: bool = True,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    execution_timeout: int | None = None,
    finalise: Callable[[Path, "RunResult"], dict[str, Any] | None] | None = None,
) -> RunResult:
    """Run the sections (all, or those named in ``sections`` / ``params.sections``) and swap in the result.

    ``out_dir`` defaults to ``params.out_path`` (``outputs/<year>``). Sections not selected are included from
    the cache when their key still matches, and otherwise left out (state ``skipped``). Raises
    :class:`SectionFailed` (after the other sections finished, so their results are cached) when a notebook
    raises; the previous ``out_dir`` is then untouched.

    ``finalise(staging_dir, result)`` runs after every section succeeded and before the swap (e.g. to
    build and render the report inside the staging folder); what it returns is recorded in the manifest
    as the renderer. If it raises, nothing is swapped in.
    """
    t0 = time.perf_counter()
    started = _now()
    project_root = Path(params.project_root).resolve()
    notebooks_dir = Path(notebooks_dir).resolve()
    out_dir = Path(out_dir).resolve() if out_dir is not None else params.out_path
    params_file = Path(params_file).resolve()
    cache_root = Path(cache_dir).resolve() if cache_dir is not None else project_root / ".cache"
    sections_cache = cache_root / "sections"
    if not params_file.is_file():
        raise SectionError(f"{params_file}: no such parameters file")

    all_sections = discover_sections(notebooks_dir)
    if not all_sections:
        raise SectionError(f"{notebooks_dir}: no section notebooks (NN_<name>.ipynb)")
    chosen = select_sections(all_sections, sections if sections is not None else params.sections)
    chosen_stems = {s.stem for s in chosen}
    workers = max(1, int(workers or os.cpu_count() or 1))

    # Validate the parameters every notebook will get before anything runs.
    validate_parameters({"params_file": str(params_file), "out_dir": str(out_dir), "year": params.year})

    # Cache keys (hashing inputs is cheap when unchanged: see HashIndex).
    with HashIndex(cache_root / "file-hashes.json") as idx:
        data_hashes = idx.hash_tree(params.data_path)
        extra_hashes = {key: (path, idx.hash_tree(path)) for key, path in extra_inputs(params).items()}
        rap_tree = idx.hash_tree(_rap_source_dir())
    for key, (_, tree) in extra_hashes.items():
        data_hashes.update({f"<{key}>/{rel}": sha for rel, sha in tree.items()})
    ctx = _KeyContext(
        params=params_for_key(params),
        inputs=data_hashes,
        rap_source=sha256_json(rap_tree),
        rap_files=len(rap_tree),
        environment=environment_for_key(),
    )
    data_root = params.data_path
    base = data_root.parent if data_root.is_file() else data_root
    prefix = _inside(base, project_root)  # resolved once: thousands of input files
    manifest_inputs = {f"{prefix}/{rel}": sha for rel, sha in data_hashes.items() if not rel.startswith("<")}
    for key, (path, tree) in extra_hashes.items():
        extra_prefix = _inside(path.parent if path.is_file() else path, project_root)
        manifest_inputs.update({f"{extra_prefix}/{rel}": sha for rel, sha in tree.items()})

    parts: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    for s in all_sections:
        parts[s.stem] = ctx.parts(s, notebook_source_hash(s.path))
        keys[s.stem] = section_key(parts[s.stem])

    plan: dict[str, str] = {}  # stem -> "cached" | "execute" | "skipped"
    for s in all_sections:
        hit = _cache_entry_ok(sections_cache / keys[s.stem])
        if hit:  # last used now: pruning keeps the most recently used entries
            with contextlib.suppress(OSError):
                os.utime(sections_cache / keys[s.stem])
        if s.stem in chosen_stems:
            plan[s.stem] = "cached" if (use_cache and hit) else "execute"
        else:
            plan[s.stem] = "cached" if hit else "skipped"

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with _run_lock(out_dir):
        clean_leftovers(out_dir)
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".staging-{out_dir.name}-"))
        try:
            return _run_staged(
                params=params,
                params_file=params_file,
                project_root=project_root,
                notebooks_dir=notebooks_dir,
                out_dir=out_dir,
                staging=staging,
                sections_cache=sections_cache,
                cache_root=cache_root,
                all_sections=all_sections,
                plan=plan,
                keys=keys,
                parts=parts,
                workers=workers,
                progress=progress,
                execution_timeout=execution_timeout,
                manifest_inputs=manifest_inputs,
                started=started,
                t0=t0,
                finalise=finalise,
            )
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def _run_staged(
    *,
    params: Params,
    params_file: Path,
    project_root: Path,
    notebooks_dir: Path,
    out_dir: Path,
    staging: Path,
    sections_cache: Path,
    cache_root: Path,
    all_sections: list[Section],
    plan: dict[str, str],
    keys: dict[str, str],
    parts: dict[str, dict[str, Any]],
    workers: int,
    progress: bool,
    execution_timeout: int | None,
    manifest_inputs: dict[str, str],
    started: str,
    t0: float,
    finalise: Callable[[Path, RunResult], dict[str, Any] | None] | None = None,
) -> RunResult:
    work = staging / ".work"
    work.mkdir()

    # The notebooks rebuild Params from a file. If ``params`` differs from what ``params_file`` loads to
    # (CLI overrides), write the resolved object out so the one resolved Params is what every notebook sees.
    nb_params_file = params_file
    if load_params(params_file) != params:
        nb_params_file = work / "params" / "resolved.yaml"
        nb_params_file.parent.mkdir(parents=True)
        nb_params_file.write_text(json.dumps(params.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
        if load_params(nb_params_file) != params:  # pragma: no cover - would be a bug in config.py
            raise SectionError("resolved parameters do not round-trip through a params file")

    home = str(Path.home())
    def replacements(section_out: Path) -> dict[str, str]:  # noqa: E306
        table: dict[str, str] = {}
        for path, ph in [
            (section_out, "<out_dir>"),
            (out_dir, "<out_dir>"),
            (staging, "<staging>"),
            (params_file, "<params_file>"),
            (nb_params_file, "<params_file>"),
            (notebooks_dir, "<notebooks_dir>"),
            (params.data_path, "<data_path>"),
            (cache_root, "<cache>"),
            (project_root, "<project_root>"),
        ]:
            table.setdefault(str(path), ph)
            table.setdefault(str(Path(path).resolve()), ph)
        if len(home) > 1:
            table.setdefault(home, "~")
        return table

    names = [s.stem for s in all_sections]
    by_stem = {s.stem: s for s in all_sections}
    results: dict[str, SectionResult] = {}
    failures: dict[str, dict[str, Any]] = {}
    executed_ok: dict[str, tuple[Path, Path, list[str]]] = {}  # stem -> (normalised nb, out folder, files)

    # Submit before the progress display starts its refresh thread: the pool forks its workers on the first
    # submit, and forking a process that has threads is unsafe.
    # Longest first (by the last recorded run; unknown ones first of all): with fewer workers than sections,
    # this keeps the longest section off the end of the queue, where it would run alone.
    timings_file = cache_root / "section-timings.json"
    timings = _read_timings(timings_file)
    to_run = sorted((s for s in all_sections if plan[s.stem] == "execute"),
                    key=lambda s: -timings.get(s.stem, float("inf")))
    futures: dict[Future[dict[str, Any]], Section] = {}
    markers: dict[str, Path] = {}
    pool = None
    if to_run:
        import papermill  # noqa: F401 - imported once here so forked workers inherit it

        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(to_run)), mp_context=mp_context(), initializer=_die_with_parent
        )
        for s in to_run:
            swork = work / s.stem
            swork.mkdir()
            markers[s.stem] = swork / "started"
            job = {
                "input": str(s.path),
                "output": str(swork / "executed.ipynb"),
                "cwd": str(notebooks_dir),
                "marker": str(markers[s.stem]),
                "stderr_log": str(swork / "kernel-stderr.log"),
                "start_timeout": START_TIMEOUT,
                "execution_timeout": execution_timeout,
                "parameters": {
                    "params_file": str(nb_params_file),
                    "out_dir": str(swork / "out"),
                    "year": params.year,
                },
            }
            validate_parameters(job["parameters"])
            futures[pool.submit(_execute_section, job)] = s

    try:
        with _Progress(names, progress) as prog:
            for stem in names:
                if plan[stem] in ("skipped", "cached"):
                    hit = plan[stem] == "cached"
                    results[stem] = SectionResult(stem, plan[stem], 0.0, hit, None, [], keys[stem])
                    prog.finish(stem, plan[stem], 0.0)
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for stem, marker in markers.items():
                    if marker.exists():
                        prog.running(stem)
                for fut in done:
                    s = futures[fut]
                    swork = work / s.stem
                    try:
                        res = fut.result()
                    except Exception as exc:  # worker process died (BrokenProcessPool, OOM kill, ...)
                        res = {"ok": False, "seconds": 0.0, "error": {"ename": type(exc).__name__,
                               "evalue": str(exc) or "worker process died", "exec_count": None,
                               "cell_index": None, "traceback": traceback.format_exc()}}  # fmt: skip
                    raw = swork / "executed.ipynb"
                    norm = swork / "notebook.ipynb"
                    if raw.exists():
                        _write_notebook(normalise_notebook(nbformat.read(raw, as_version=4),
                                                           replacements(swork / "out")), norm)  # fmt: skip
                    if res["ok"]:
                        rels = _relative_files(swork / "out")
                        executed_ok[s.stem] = (norm, swork / "out", rels)
                        try:
                            _store_in_cache(sections_cache, keys[s.stem], parts[s.stem], norm, swork / "out",
                                            rels, res["seconds"])  # fmt: skip
                            prune_section_cache(sections_cache, s.stem, protect=keys.values())
                        except OSError as exc:  # a full or read-only cache must not fail the run
                            print(f"warning: could not cache {s.stem}: {exc}", file=sys.stderr)
                        results[s.stem] = SectionResult(s.stem, "done", res["seconds"], False, None, [],
                                                        keys[s.stem])  # fmt: skip
                        timings[s.stem] = round(float(res["seconds"]), 2)
                        prog.finish(s.stem, "done", res["seconds"])
                    else:
                        failures[s.stem] = {**res["error"], "notebook": norm if norm.exists() else None}
                        results[s.stem] = SectionResult(s.stem, "failed", res["seconds"], False, None, [],
                                                        keys[s.stem])  # fmt: skip
                        prog.finish(s.stem, "failed", res["seconds"])
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _write_timings(timings_file, timings)

    if failures:
        failed_dir = out_dir.parent / f"{out_dir.name}.failed"
        shutil.rmtree(failed_dir, ignore_errors=True)
        failed_dir.mkdir(parents=True)
        first = sorted(failures)[0]
        for stem, err in failures.items():
            if err["notebook"] is not None:
                shutil.copyfile(err["notebook"], failed_dir / f"{stem}.ipynb")
        err = failures[first]
        cell_index = err["cell_index"]
        if cell_index is not None and cell_index > 0:
            cell_index -= 1  # papermill counts the injected-parameters cell, which is after the parameters cell
        kept = failed_dir / f"{first}.ipynb"
        raise SectionFailed(
            first,
            ename=err["ename"],
            evalue=err["evalue"],
            exec_count=err["exec_count"],
            cell_index=cell_index,
            notebook_path=kept if kept.exists() else None,
            source_path=by_stem[first].path,
            traceback=err["traceback"],
            others=[s for s in sorted(failures) if s != first],
        )

    # Assemble the staging folder: notebooks/ + every section's files, from the cache or from this run.
    owners: dict[str, str] = {}
    nb_dir = staging / NOTEBOOKS_SUBDIR
    nb_dir.mkdir()
    for stem in names:
        r = results[stem]
        if r.state == "skipped":
            continue
        if r.state == "cached":
            entry = sections_cache / keys[stem]
            shutil.copyfile(entry / "notebook.ipynb", nb_dir / f"{stem}.ipynb")
            rels = _relative_files(entry / "outputs")
            _copy_tree_files(entry / "outputs", staging, rels, stem, owners, move=False)
        else:
            norm, out, rels = executed_ok[stem]
            os.replace(norm, nb_dir / f"{stem}.ipynb")
            _copy_tree_files(out, staging, rels, stem, owners, move=True)
        r.notebook = out_dir / NOTEBOOKS_SUBDIR / f"{stem}.ipynb"
        r.outputs = [out_dir / rel for rel in rels]
    shutil.rmtree(work)

    result = RunResult(
        out_dir=out_dir,
        params_file=params_file,
        sections=[results[n] for n in names],
        inputs=manifest_inputs,
        started=started,
        finished=_now(),
        seconds=time.perf_counter() - t0,
        code=next(iter(parts.values()))["rap_source_sha256"] if parts else "",
    )
    from rap.build.manifest import write_manifest

    renderer = finalise(staging, result) if finalise is not None else None
    write_manifest(staging, params, result, renderer=renderer)
    _swap_in(staging, out_dir)
    shutil.rmtree(out_dir.parent / f"{out_dir.name}.failed", ignore_errors=True)
    result.seconds = time.perf_counter() - t0
    return result
