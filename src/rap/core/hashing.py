"""Content hashes for cache keys and the manifest.

Hashing every input file on every run would re-read gigabytes, so file hashes are remembered in a small
JSON index keyed by (real path, size, mtime_ns, ctime_ns, inode): a file whose size, times and inode are
unchanged is not read again. Restoring a file's mtime (``touch -r``, ``cp -p``, ``rsync -t``) still changes
its ctime, which no user tool can set, so such a file is read again. The index is only a cache: deleting it
costs one slow run, and a run that must not trust it (``rap run --no-cache``) re-reads every file.

What the inputs are, for hashing, is :func:`input_files`: every file under an input folder, hidden ones
included and symbolic links followed, so that nothing a reader can open is left out of a key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rap.core.errors import InputError

_CHUNK = 1 << 20
_INDEX_VERSION = 2  # 2: entries also hold ctime_ns and the inode


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
    """Every regular file under ``root`` (recursively), sorted by relative POSIX path: for code and outputs
    (inputs are listed by :func:`input_files`, which skips nothing).

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


def input_files(root: str | Path) -> dict[str, Path]:
    """``{relative POSIX path: real path}`` of every regular file under ``root`` (or ``root`` itself, a file).

    What the readers may read, and so what the cache keys and the manifest hash: unlike :func:`list_files`
    nothing is skipped (hidden files and folders included) and symbolic links to files and folders are
    followed, a link back up the tree (a cycle) once. Sorted by relative path; a missing root gives ``{}``.
    An unreadable folder is an :class:`~rap.core.errors.InputError` naming it.
    """
    root = Path(root)
    if root.is_file():
        return {root.name: Path(os.path.realpath(root))}
    if not root.is_dir():
        return {}
    out: dict[str, Path] = {}
    real_root = os.path.realpath(root)
    _walk_inputs(root, "", real_root, frozenset({real_root}), out)
    return dict(sorted(out.items()))


def _walk_inputs(folder: Path, rel: str, real: str, ancestors: frozenset[str], out: dict[str, Path]) -> None:
    """Add the files under ``folder`` (real path ``real``, ``rel`` below the root) to ``out``."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise InputError(folder, f"folder cannot be read ({exc.strerror or exc})") from None
    for e in entries:
        name = f"{rel}{e.name}"
        linked = e.is_symlink()
        target = os.path.realpath(e.path) if linked else os.path.join(real, e.name)
        if e.is_dir():  # follows a link
            if target not in ancestors:  # a link back up the tree: its files are listed already
                _walk_inputs(Path(e.path), f"{name}/", target, ancestors | {target}, out)
        elif e.is_file():
            out[name] = Path(target)


class HashIndex:
    """File hashes remembered by (real path, size, mtime_ns, ctime_ns, inode) in a JSON file.

    Use as ``with HashIndex(path) as idx: idx.hash(file)``; the index is written (atomically) on exit only if
    it changed. Concurrent writers are harmless: the last one wins and the other's entries are recomputed later.
    ``trust=False`` reads every file again (and refreshes the index): what ``--no-cache`` asks for.
    """

    def __init__(self, index_file: str | Path | None, *, trust: bool = True) -> None:
        self.index_file = Path(index_file) if index_file else None
        self.trust = trust
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
        stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}
        entry = self._entries.get(key)
        if self.trust and entry and all(entry.get(k) == v for k, v in stamp.items()):
            return str(entry["sha256"])
        digest = sha256_file(p)
        self.reads += 1
        self._entries[key] = {**stamp, "sha256": digest}
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
