"""Provenance of a build: ``outputs/<year>/manifest.json``.

The manifest is the one place where timestamps, absolute paths and machine details are allowed; everything
else under ``outputs/<year>`` is byte-for-byte reproducible. Keys are sorted so two manifests diff cleanly.
Written by the pipeline (``rap.build.pipeline``) from what a run did; this module knows the run only by the
fields it records (:class:`RunRecord`), not by the runner that made it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rap.core import packages
from rap.core.params import Params

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


class SectionRecord(Protocol):
    """What the manifest records of one section (``rap.build.runner.SectionResult`` has these fields)."""

    name: str
    state: str
    seconds: float
    cache_hit: bool
    key: str
    notebook: Path | None
    outputs: list[Path]


class RunRecord(Protocol):
    """What the manifest records of a run (``rap.build.runner.RunResult`` has these fields)."""

    out_dir: Path
    params_file: Path
    inputs: dict[str, str]
    started: str
    finished: str
    seconds: float
    publishing: dict[str, float]

    @property
    def sections(self) -> Sequence[SectionRecord]: ...

    @property
    def executed(self) -> list[str]: ...

    @property
    def cache_hits(self) -> list[str]: ...


def package_versions() -> dict[str, str | None]:
    """Python's, rap's and the versions of the packages in ``rap/data/packages.yaml`` (those the sections'
    cache keys include)."""
    import rap

    return {"python": platform.python_version(), "rap": rap.__version__, **packages.package_versions()}


def git_state(root: str | Path) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` for the git work tree holding ``root``."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def _inputs_table(inputs: Mapping[str, str] | Iterable[str | Path] | None, root: Path) -> dict[str, str]:
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        return {str(k): str(v) for k, v in inputs.items()}
    from rap.core.hashing import HashIndex

    out: dict[str, str] = {}
    with HashIndex(root / ".cache" / "file-hashes.json") as idx:
        for p in inputs:
            p = Path(p).resolve()
            try:
                name = p.relative_to(root).as_posix()
            except ValueError:
                name = str(p)
            out[name] = idx.hash(p)
    return out


def build_manifest(
    params: Params,
    run_result: RunRecord,
    inputs: Mapping[str, str] | Iterable[str | Path] | None = None,
    renderer: Mapping[str, Any] | tuple[str, str] | None = None,
) -> dict[str, Any]:
    root = Path(params.project_root).resolve()
    if isinstance(renderer, tuple):
        renderer = {"name": renderer[0], "version": renderer[1]}
    sections = {}
    for s in run_result.sections:
        sections[s.name] = {
            "state": s.state,
            "seconds": round(s.seconds, 3),
            "cache_hit": s.cache_hit,
            "cache_key": s.key,
            "notebook": _rel(s.notebook, run_result.out_dir),
            "outputs": [_rel(p, run_result.out_dir) for p in s.outputs],
        }
    return {
        "manifest_version": MANIFEST_VERSION,
        "params": params.model_dump(mode="json"),
        "params_file": str(run_result.params_file),
        "inputs": _inputs_table(inputs if inputs is not None else run_result.inputs, root),
        "git": git_state(root),
        "packages": package_versions(),
        "platform": {"system": platform.system(), "machine": platform.machine(), "node": platform.node()},
        "renderer": dict(renderer) if renderer else None,
        "sections": sections,
        "run": {
            "started": run_result.started,
            "finished": run_result.finished,
            "seconds": round(run_result.seconds, 3),
            "executed": run_result.executed,
            "cache_hits": run_result.cache_hits,
            # after the sections, before the swap: spreadsheet, report, leak scan (the first two overlap
            # when running with more than one worker)
            "publishing": {k: round(v, 3) for k, v in run_result.publishing.items()},
        },
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _rel(p: Path | None, base: Path) -> str | None:
    if p is None:
        return None
    try:
        return Path(p).relative_to(base).as_posix()
    except ValueError:
        return str(p)


def write_manifest(
    out_dir: str | Path,
    params: Params,
    run_result: RunRecord,
    inputs: Mapping[str, str] | Iterable[str | Path] | None = None,
    renderer: Mapping[str, Any] | tuple[str, str] | None = None,
) -> Path:
    """Write ``<out_dir>/manifest.json`` atomically and return its path.

    ``inputs`` is ``{path: sha256}`` (``run_result.inputs`` when omitted) or a list of paths to hash;
    ``renderer`` is ``{"name": ..., "version": ...}`` (or a ``(name, version)`` tuple), filled in by the
    caller after rendering. Calling it again (e.g. after the render) overwrites the earlier manifest.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = build_manifest(params, run_result, inputs, renderer)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_dir / MANIFEST_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_dir / MANIFEST_NAME
