"""The mechanics every cache under ``.cache/`` shares: atomic pickles, work shared between processes under
file locks (``filelock``: flock on Unix, LockFileEx on Windows), and pruning to the most recently used entries.
What is cached, and under which key, stays with its owner (``rap.inputs``, ``rap.measures``,
``rap.build.pipeline``, ``rap.build.runner``)."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any


def write_pickle(path: Path, obj: object) -> None:
    """Pickle ``obj`` to ``path`` atomically (temporary file, then rename): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=5)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_or_make(path: Path, make: Callable[[], Any]) -> Any:
    if path.is_file():
        try:
            with path.open("rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # unreadable: make it again
    value = make()
    with contextlib.suppress(OSError):  # a full cache folder must not fail the run
        write_pickle(path, value)
    return value


def shared_pickles(folder: Path, names: Iterable[str], make: Callable[[str], Any]) -> dict[str, Any]:
    """``{name: value}`` for each name, loaded from ``folder/<name>.pkl`` or made with ``make(name)`` and
    stored there. Each name is made under its own lock, so processes that ask at the same time (sections
    running in parallel) share the work: a name another process holds is left until the others are done,
    then waited for and loaded, never made twice."""
    from filelock import FileLock, Timeout  # imported here: only sections that read or compute need it

    names = list(names)
    got: dict[str, Any] = {}
    for blocking in (False, True):
        for name in names:
            if name in got:
                continue
            folder.mkdir(parents=True, exist_ok=True)  # pruned meanwhile by a run on other inputs
            lock = FileLock(folder / f"{name}.lock", timeout=-1 if blocking else 0)
            try:
                lock.acquire()
            except Timeout:
                continue  # another process is making it: do the others first
            try:
                got[name] = _load_or_make(folder / f"{name}.pkl", lambda: make(name))
            finally:
                lock.release()
    return got


def last_used(path: Path) -> int:
    """When ``path`` was last used (its mtime: cache hits touch it); 0 if it was removed meanwhile by
    another run."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def keep_newest(folder: Path, keep: int, pattern: str = "*", protect: Collection[str] = ()) -> None:
    """Delete all but the ``keep`` most recently used entries of ``folder`` matching ``pattern`` (files or
    folders); entries named in ``protect``, temporary files and hidden entries are never deleted."""
    entries = sorted(
        (q for q in folder.glob(pattern) if not q.name.endswith(".tmp") and not q.name.startswith(".")),
        key=last_used,
        reverse=True,
    )
    for old in entries[keep:]:
        if old.name in protect:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
