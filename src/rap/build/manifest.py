"""Provenance of a build: ``outputs/<year>/manifest.json``.

The manifest is the one place where timestamps, absolute paths and machine details are allowed; everything
else under ``outputs/<year>`` is byte-for-byte reproducible. Keys are sorted so two manifests diff cleanly.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rap.core.params import Params

if TYPE_CHECKING:
    from rap.build.runner import RunResult

MANIFEST_VERSION = 1
MANIFEST_PACKAGES = ("pandas", "numpy", "papermill", "seaborn", "matplotlib", "statsmodels")


def package_versions() -> dict[str, str | None]:
    import rap

    out: dict[str, str | None] = {"python": platform.python_version(), "rap": rap.__version__}
    for name in MANIFEST_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


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
    run_result: RunResult,
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
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
    run_result: RunResult,
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
        os.replace(tmp, out_dir / "manifest.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_dir / "manifest.json"
