"""Content hashes for cache keys and the manifest.

Hashing every input file on every run would re-read gigabytes, so file hashes are remembered in a small
JSON index keyed by (absolute path, size, mtime_ns): a file whose size and modification time are unchanged
is not read again. The index is only a cache; deleting it costs one slow run, never a wrong answer unless a
file is rewritten with identical size *and* nanosecond mtime (the same trade-off make, git and ploomber make).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
_INDEX_VERSION = 1


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: equal objects give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_json(obj: Any) -> str:
    return sha256_bytes(canonical_json(obj).encode("utf-8"))


def list_files(root: str | Path, *, skip_dirs: Iterable[str] = ()) -> list[Path]:
    """Every regular file under ``root`` (recursively), sorted by relative POSIX path.

    Hidden files and folders (names starting with ``.``) and ``__pycache__`` are skipped, as are folder names
    in ``skip_dirs``. A missing root gives an empty list.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    skip = {"__pycache__", *skip_dirs}
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            p = Path(dirpath) / name
            if p.is_file():
                out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


class HashIndex:
    """File hashes remembered by (path, size, mtime_ns) in a JSON file.

    Use as ``with HashIndex(path) as idx: idx.hash(file)``; the index is written (atomically) on exit only if
    it changed. Concurrent writers are harmless: the last one wins and the other's entries are recomputed later.
    """

    def __init__(self, index_file: str | Path | None) -> None:
        self.index_file = Path(index_file) if index_file else None
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.reads = 0  # files actually read (for tests and benchmarks)
        if self.index_file and self.index_file.is_file():
            try:
                data = json.loads(self.index_file.read_text(encoding="utf-8"))
                if data.get("version") == _INDEX_VERSION:
                    self._entries = dict(data.get("files", {}))
            except (OSError, ValueError, AttributeError):
                self._entries = {}

    def hash(self, path: str | Path, *, resolved: bool = False) -> str:
        """sha256 of ``path``, from the index when size and mtime are unchanged. ``resolved``: the caller
        already passes an absolute path with symlinks resolved (saves a realpath per file on big trees)."""
        p = Path(path) if resolved else Path(path).resolve()
        st = p.stat()
        key = str(p)
        entry = self._entries.get(key)
        if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
            return str(entry["sha256"])
        digest = sha256_file(p)
        self.reads += 1
        self._entries[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        self._dirty = True
        return digest

    def hash_tree(self, root: str | Path, **kw: Any) -> dict[str, str]:
        """``{relative POSIX path: sha256}`` for every file under ``root`` (see :func:`list_files`)."""
        root = Path(root).resolve()
        base = root.parent if root.is_file() else root
        return {p.relative_to(base).as_posix(): self.hash(p, resolved=True) for p in list_files(root, **kw)}

    def save(self) -> None:
        if not (self.index_file and self._dirty):
            return
        # drop entries for files that no longer exist so the index does not grow forever
        files = {k: v for k, v in sorted(self._entries.items()) if os.path.exists(k)}
        self.index_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.index_file.parent, prefix=".hash-index-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": _INDEX_VERSION, "files": files}, fh, indent=0, sort_keys=True)
            os.replace(tmp, self.index_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False

    def __enter__(self) -> HashIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.save()
        except OSError:
            pass  # a read-only cache folder must not fail the run
