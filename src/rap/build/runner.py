"""Execute the report's notebook sections: papermill in worker processes, each result cached by its key.

A *section* is a notebook ``notebooks/NN_<name>.ipynb`` with exactly one cell tagged ``parameters`` that
declares ``params_file``, ``out_dir`` and ``year``. Each section gets those three values from papermill and
rebuilds the one resolved :class:`~rap.core.params.Params` object with ``load_params(params_file)`` in its first
code cell. Sections run in parallel in separate processes, so they must not read each other's outputs.

The runner plans (:func:`plan_sections`: every section's cache key, and whether it is executed or taken
from the cache: a section is never left out, so ``--sections`` cannot make a build lack one), executes
(:func:`execute_sections`, into ``<staging>/.work/<section>/``) and collects the results into the folder it
is given (:func:`collect_outputs`). The staging folder, the manifest and the
swap into ``outputs/<year>`` are the pipeline's (``rap.build.pipeline``). The cache::

    .cache/sections/<key>/                notebook.ipynb + outputs/ + key.json (what the key was made of)
    .cache/section-timings.json           seconds each section last took (to start the longest first)
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Collection, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from rap.core.cache import last_used
from rap.core.errors import RapError
from rap.core.hashing import HashIndex, sha256_json
from rap.core.packages import package_versions
from rap.core.params import Params, load_params
from rap.core.processes import die_with_parent, mp_context

KERNEL_NAME = "python3"
START_TIMEOUT = 180  # seconds; kernel start-up races are the usual flake on busy machines
CACHE_VERSION = 1  # bump to invalidate every cached section (e.g. when normalisation changes)
REQUIRED_PARAMETERS = ("params_file", "out_dir", "year")
SECTION_RE = re.compile(r"^(\d{2})_([A-Za-z0-9][A-Za-z0-9_\-]*)\.ipynb$")
NOTEBOOKS_SUBDIR = "notebooks"
WORK_SUBDIR = ".work"  # in the staging folder: each executing section's private folder

# Parameters that say *where* things are on this machine rather than *what* is computed. They are left out
# of the cache key so a cache copied to another checkout (or CI) still hits; what they point at is covered
# by content hashes instead (input files by their bytes, outputs by the staging folder).
_PARAMS_NOT_IN_KEY = ("project_root", "output_dir", "sections", "data.path")


class SectionError(RapError):
    """A notebook that is not a valid section (name, parameters cell) or a bad section selection."""


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
    state: str  # done | cached | failed | cancelled | skipped (never in a plan: kept for old manifests)
    seconds: float
    cache_hit: bool
    notebook: Path | None  # executed notebook (final location, or outputs/<year>.failed/... on failure)
    outputs: list[Path] = field(default_factory=list)  # files the section wrote (final locations)
    key: str = ""


@dataclass
class RunResult:
    """What a build's run of the sections did: made by the pipeline from the runner's plan and results, and
    recorded in ``manifest.json`` (``publishing``: the steps after the sections, filled in by the pipeline)."""

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


def _rap_source_dir() -> Path:
    import rap

    return Path(rap.__file__).resolve().parent


def environment_for_key() -> dict[str, Any]:
    """Python, the kernel and the versions of the packages in ``rap/data/packages.yaml`` (as the manifest
    records them): a new version of any of them executes every section again."""
    return {"python": platform.python_version(), "kernel": KERNEL_NAME, "packages": package_versions()}


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


def _start_worker() -> None:
    """Section worker initializer: die with the run (``rap.core.processes.die_with_parent``), and set the
    environment kernels are started with."""
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


# ------------------------------------------------------------------------------------ collecting files


def _copy_tree_files(src: Path, dest: Path, rels: list[str], move: bool) -> None:
    for rel in rels:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(src / rel, target)
        else:
            shutil.copyfile(src / rel, target)


def _claim(rels: list[str], owner: str, owners: dict[str, str], reserved: Collection[str]) -> None:
    """Record ``owner`` as the section that wrote ``rels``: two sections writing one file, or a section
    writing a reserved name (``notebooks/``, and ``reserved``), is an error."""
    names = " and ".join([*reserved, f"{NOTEBOOKS_SUBDIR}/"])
    for rel in rels:
        if rel in owners:
            raise SectionError(
                f"sections {owners[rel]} and {owner} both wrote {rel}; sections must write different files"
            )
        if rel in reserved or rel.split("/", 1)[0] == NOTEBOOKS_SUBDIR:
            raise SectionError(f"section {owner} wrote {rel}: {names} are reserved")
        owners[rel] = owner


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


def prune_section_cache(
    cache_dir: Path, section: str, keep: int = KEEP_PER_SECTION, protect: Iterable[str] = ()
) -> list[Path]:
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
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
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


# ---------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class RunOptions:
    """How the sections are run, resolved once (absolute paths, defaults filled in): what the steps get."""

    params: Params
    params_file: Path
    notebooks_dir: Path
    out_dir: Path  # where the results will be published (outputs/<year>): the notebooks name it <out_dir>
    cache_root: Path  # .cache
    workers: int = 1
    use_cache: bool = True
    progress: bool = True
    execution_timeout: int | None = None

    @classmethod
    def resolve(
        cls,
        params: Params,
        params_file: str | Path,
        *,
        notebooks_dir: str | Path,
        out_dir: str | Path | None = None,
        workers: int | None = None,
        use_cache: bool = True,
        progress: bool = True,
        cache_dir: str | Path | None = None,
        execution_timeout: int | None = None,
    ) -> RunOptions:
        """``out_dir`` defaults to ``params.out_path``, ``cache_dir`` to ``<project_root>/.cache``, ``workers``
        to the number of cores. Raises :class:`SectionError` when the parameters file does not exist."""
        project_root = Path(params.project_root).resolve()
        options = cls(
            params=params,
            params_file=Path(params_file).resolve(),
            notebooks_dir=Path(notebooks_dir).resolve(),
            out_dir=Path(out_dir).resolve() if out_dir is not None else params.out_path,
            cache_root=Path(cache_dir).resolve() if cache_dir is not None else project_root / ".cache",
            workers=max(1, int(workers or os.cpu_count() or 1)),
            use_cache=use_cache,
            progress=progress,
            execution_timeout=execution_timeout,
        )
        if not options.params_file.is_file():
            raise SectionError(f"{options.params_file}: no such parameters file")
        return options

    @property
    def project_root(self) -> Path:
        return Path(self.params.project_root).resolve()

    @property
    def sections_cache(self) -> Path:
        return self.cache_root / "sections"

    @property
    def timings_file(self) -> Path:
        return self.cache_root / "section-timings.json"


@dataclass(frozen=True)
class SectionPlan:
    """Every section of the notebooks folder, its cache key, and what this run does with it."""

    sections: list[Section]
    keys: dict[str, str]  # stem -> cache key
    parts: dict[str, dict[str, Any]]  # stem -> what the key is made of (kept in the entry's key.json)
    states: dict[str, str]  # stem -> "execute" | "cached"
    inputs: dict[str, str]  # input file (relative to the project root when inside it) -> sha256
    code: str  # sha256 of the rap package's source, as in the keys
    #: sections not chosen (``--sections``) but executed because the cache has no result for their key
    added: list[str] = field(default_factory=list)

    @property
    def stems(self) -> list[str]:
        return [s.stem for s in self.sections]

    def section(self, stem: str) -> Section:
        return next(s for s in self.sections if s.stem == stem)


def _input_listing(options: RunOptions) -> dict[str, dict[str, Path]]:
    """Every input file (``rap.inputs.load.input_listing``: the listing the readers' caches are keyed on
    too). Refuses (``ParamsError``) a run whose output or cache folder overlaps an input or holds a file an
    input links to: checked before anything is written."""
    from rap.inputs.load import input_listing, refuse_writing_into_inputs

    listing = input_listing(options.params)
    written = {"output_dir": options.out_dir.parent, "cache": options.cache_root}
    refuse_writing_into_inputs(options.params, written, options.params_file, listing)
    return listing


def _key_context(options: RunOptions, listing: dict[str, dict[str, Path]]) -> tuple[_KeyContext, dict[str, str]]:
    """What every section's key is made of, and the input files by path (as the manifest lists them).
    Hashing the inputs (every file of ``listing``) is cheap when they are unchanged (see ``HashIndex``);
    ``--no-cache`` reads every one again."""
    from rap.inputs.load import input_hashes, input_roots

    params, project_root = options.params, options.project_root
    with HashIndex(options.cache_root / "file-hashes.json", trust=options.use_cache) as idx:
        per_root = {key: input_hashes({key: files}, idx) for key, files in listing.items()}
        rap_tree = idx.hash_tree(_rap_source_dir())
    context = _KeyContext(
        params=params_for_key(params),
        inputs={name: sha for hashes in per_root.values() for name, sha in hashes.items()},
        rap_source=sha256_json(rap_tree),
        rap_files=len(rap_tree),
        environment=environment_for_key(),
    )
    by_path: dict[str, str] = {}
    for key, root in input_roots(params).items():
        prefix = _inside(root.parent if root.is_file() else root, project_root)  # once: many files
        by_path.update(zip((f"{prefix}/{rel}" for rel in listing[key]), per_root[key].values(), strict=True))
    return context, by_path


def _state(options: RunOptions, key: str, chosen: bool) -> str:
    """``execute`` or ``cached``: a section not chosen is taken from the cache when its key still matches,
    and otherwise executed too, so that a build never lacks a section (a partial build must not replace a
    complete one). A cache hit is touched: pruning keeps the most recently used entries."""
    entry = options.sections_cache / key
    hit = _cache_entry_ok(entry)
    if hit:
        with contextlib.suppress(OSError):
            os.utime(entry)
    if chosen:
        return "cached" if (options.use_cache and hit) else "execute"
    return "cached" if hit else "execute"


def plan_sections(options: RunOptions, wanted: Iterable[str] | None) -> SectionPlan:
    """Every section's key and state, for the sections ``wanted`` (all when empty; see
    :func:`select_sections`). The parameters every notebook will get are validated before anything runs."""
    listing = _input_listing(options)
    all_sections = discover_sections(options.notebooks_dir)
    if not all_sections:
        raise SectionError(f"{options.notebooks_dir}: no section notebooks (NN_<name>.ipynb)")
    chosen = {s.stem for s in select_sections(all_sections, wanted)}
    validate_parameters(
        {"params_file": str(options.params_file), "out_dir": str(options.out_dir), "year": options.params.year}
    )
    context, inputs = _key_context(options, listing)
    parts = {s.stem: context.parts(s, notebook_source_hash(s.path)) for s in all_sections}
    keys = {stem: section_key(p) for stem, p in parts.items()}
    states = {s.stem: _state(options, keys[s.stem], s.stem in chosen) for s in all_sections}
    added = [stem for stem, state in states.items() if stem not in chosen and state == "execute"]
    return SectionPlan(all_sections, keys, parts, states, inputs, context.rap_source, added)


# --------------------------------------------------------------------------------------------- executing


@dataclass
class Executed:
    """What executing a plan gave: every section's result, the files of those executed, the failures."""

    results: dict[str, SectionResult] = field(default_factory=dict)
    #: stem -> (normalised notebook, out folder, the files in it) of each section executed without error
    ready: dict[str, tuple[Path, Path, list[str]]] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)  # stem -> error, and notebook (or None)


def _notebook_params_file(options: RunOptions, work: Path) -> Path:
    """The parameters file the notebooks load. The notebooks rebuild Params from a file: if ``params``
    differs from what ``params_file`` loads to (CLI overrides), the resolved object is written out, so the
    one resolved Params is what every notebook sees."""
    if load_params(options.params_file) == options.params:
        return options.params_file
    path = work / "params" / "resolved.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(options.params.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
    if load_params(path) != options.params:  # pragma: no cover - would be a bug in rap.core.params
        raise SectionError("resolved parameters do not round-trip through a params file")
    return path


def _outcome(fut: Future[dict[str, Any]]) -> dict[str, Any]:
    """A worker's result, or the error of a worker process that died (BrokenProcessPool, OOM kill, ...)."""
    try:
        return fut.result()
    except Exception as exc:
        return {
            "ok": False,
            "seconds": 0.0,
            "error": {
                "ename": type(exc).__name__,
                "evalue": str(exc) or "worker process died",
                "exec_count": None,
                "cell_index": None,
                "traceback": traceback.format_exc(),
            },
        }


class _SectionRun:
    """The sections of one run being executed: their jobs, the worker pool, what each finished one gave."""

    def __init__(self, options: RunOptions, plan: SectionPlan, staging: Path, params_file: Path) -> None:
        self.options, self.plan, self.staging, self.params_file = options, plan, staging, params_file
        self.work = staging / WORK_SUBDIR
        self.timings = _read_timings(options.timings_file)
        self.executed = Executed()
        self.markers: dict[str, Path] = {}
        self.pool: ProcessPoolExecutor | None = None

    def submit(self) -> dict[Future[dict[str, Any]], Section]:
        """Start the sections to execute, longest first (by the last recorded run; unknown ones first of all):
        with fewer workers than sections, this keeps the longest off the end of the queue, where it would run
        alone."""
        to_run = sorted(
            (s for s in self.plan.sections if self.plan.states[s.stem] == "execute"),
            key=lambda s: -self.timings.get(s.stem, float("inf")),
        )
        if not to_run:
            return {}
        import papermill  # noqa: F401 - imported once here so forked workers inherit it

        self.pool = ProcessPoolExecutor(
            max_workers=min(self.options.workers, len(to_run)), mp_context=mp_context(), initializer=_start_worker
        )
        return {self.pool.submit(_execute_section, self._job(s)): s for s in to_run}

    def _job(self, s: Section) -> dict[str, Any]:
        swork = self.work / s.stem
        swork.mkdir()
        self.markers[s.stem] = swork / "started"
        job = {
            "input": str(s.path),
            "output": str(swork / "executed.ipynb"),
            "cwd": str(self.options.notebooks_dir),
            "marker": str(self.markers[s.stem]),
            "stderr_log": str(swork / "kernel-stderr.log"),
            "start_timeout": START_TIMEOUT,
            "execution_timeout": self.options.execution_timeout,
            "parameters": {
                "params_file": str(self.params_file),
                "out_dir": str(swork / "out"),
                "year": self.options.params.year,
            },
        }
        validate_parameters(job["parameters"])
        return job

    def record_not_executed(self, prog: _Progress) -> None:
        for stem in self.plan.stems:
            if self.plan.states[stem] == "cached":
                self.executed.results[stem] = SectionResult(stem, "cached", 0.0, True, None, [], self.plan.keys[stem])
                prog.finish(stem, "cached", 0.0)

    def wait(self, futures: dict[Future[dict[str, Any]], Section], prog: _Progress) -> None:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for stem, marker in self.markers.items():
                if marker.exists():
                    prog.running(stem)
            for fut in done:
                stem = futures[fut].stem
                result = self._finished(stem, _outcome(fut))
                prog.finish(stem, result.state, result.seconds)

    def _finished(self, stem: str, res: dict[str, Any]) -> SectionResult:
        """Normalise the executed notebook; cache a success, keep a failure's error."""
        swork = self.work / stem
        raw, norm = swork / "executed.ipynb", swork / "notebook.ipynb"
        if raw.exists():
            nb = normalise_notebook(nbformat.read(raw, as_version=4), self._placeholders(swork / "out"))
            _write_notebook(nb, norm)
        result = SectionResult(
            stem, "done" if res["ok"] else "failed", res["seconds"], False, None, [], self.plan.keys[stem]
        )
        self.executed.results[stem] = result
        if res["ok"]:
            self._keep(stem, norm, swork / "out", res["seconds"])
        else:
            self.executed.failures[stem] = {**res["error"], "notebook": norm if norm.exists() else None}
        return result

    def _keep(self, stem: str, notebook: Path, out: Path, seconds: float) -> None:
        rels = _relative_files(out)
        self.executed.ready[stem] = (notebook, out, rels)
        cache = self.options.sections_cache
        try:
            _store_in_cache(cache, self.plan.keys[stem], self.plan.parts[stem], notebook, out, rels, seconds)
            prune_section_cache(cache, stem, protect=self.plan.keys.values())
        except OSError as exc:  # a full or read-only cache must not fail the run
            print(f"warning: could not cache {stem}: {exc}", file=sys.stderr)
        self.timings[stem] = round(float(seconds), 2)

    def _placeholders(self, section_out: Path) -> dict[str, str]:
        """Absolute paths as they may appear in an executed notebook -> what the kept notebook says instead."""
        o = self.options
        table: dict[str, str] = {}
        for path, placeholder in [
            (section_out, "<out_dir>"),
            (o.out_dir, "<out_dir>"),
            (self.staging, "<staging>"),
            (o.params_file, "<params_file>"),
            (self.params_file, "<params_file>"),
            (o.notebooks_dir, "<notebooks_dir>"),
            (o.params.data_path, "<data_path>"),
            (o.cache_root, "<cache>"),
            (o.project_root, "<project_root>"),
        ]:
            table.setdefault(str(path), placeholder)
            table.setdefault(str(Path(path).resolve()), placeholder)
        home = str(Path.home())
        if len(home) > 1:
            table.setdefault(home, "~")
        return table

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        _write_timings(self.options.timings_file, self.timings)


def execute_sections(options: RunOptions, plan: SectionPlan, staging: Path) -> Executed:
    """Execute the sections the plan marks ``execute`` in parallel worker processes, each in
    ``<staging>/.work/<section>/``, and cache each that succeeds. A failure is collected, not raised, so the
    other sections finish and are cached."""
    work = staging / WORK_SUBDIR
    work.mkdir()
    run = _SectionRun(options, plan, staging, _notebook_params_file(options, work))
    try:
        # Submit before the progress display starts its refresh thread: the pool forks its workers on the
        # first submit, and forking a process that has threads is unsafe.
        futures = run.submit()
        with _Progress(plan.stems, options.progress) as prog:
            run.record_not_executed(prog)
            run.wait(futures, prog)
    finally:
        run.close()
    return run.executed


def section_failed(plan: SectionPlan, failures: dict[str, dict[str, Any]], kept: Path) -> SectionFailed:
    """The error to raise for ``failures``: the first failed section (by name), the others named in it; its
    executed notebook is looked for in ``kept``."""
    first = sorted(failures)[0]
    err = failures[first]
    cell_index = err["cell_index"]
    if cell_index is not None and cell_index > 0:
        cell_index -= 1  # papermill counts the injected-parameters cell, which is after the parameters cell
    notebook = kept / f"{first}.ipynb"
    return SectionFailed(
        first,
        ename=err["ename"],
        evalue=err["evalue"],
        exec_count=err["exec_count"],
        cell_index=cell_index,
        notebook_path=notebook if notebook.exists() else None,
        source_path=plan.section(first).path,
        traceback=err["traceback"],
        others=[s for s in sorted(failures) if s != first],
    )


def collect_outputs(
    options: RunOptions, plan: SectionPlan, executed: Executed, staging: Path, reserved: Collection[str] = ()
) -> None:
    """Put every section's notebook (``notebooks/<section>.ipynb``) and files into ``staging``, from the cache
    or from this run, and remove the work folder. Each result gets its files' final paths under
    ``options.out_dir``. Raises :class:`SectionError` when two sections wrote one file, or one wrote a name
    in ``reserved`` or under ``notebooks/``."""
    owners: dict[str, str] = {}
    nb_dir = staging / NOTEBOOKS_SUBDIR
    nb_dir.mkdir()
    for stem in plan.stems:
        result = executed.results[stem]
        if result.state == "cached":
            entry = options.sections_cache / plan.keys[stem]
            notebook, out, rels = entry / "notebook.ipynb", entry / "outputs", _relative_files(entry / "outputs")
        else:
            notebook, out, rels = executed.ready[stem]
        _claim(rels, stem, owners, reserved)
        if result.state == "cached":
            shutil.copyfile(notebook, nb_dir / f"{stem}.ipynb")
        else:
            os.replace(notebook, nb_dir / f"{stem}.ipynb")
        _copy_tree_files(out, staging, rels, move=result.state != "cached")
        result.notebook = options.out_dir / NOTEBOOKS_SUBDIR / f"{stem}.ipynb"
        result.outputs = [options.out_dir / rel for rel in rels]
    shutil.rmtree(staging / WORK_SUBDIR)
