"""Hashes of the package's own code for cache keys, found from the import graph rather than kept by hand.

A cache key that lists source files by path silently breaks (or stops changing) when a file moves. Here a
step names the modules it runs; :func:`code_hash` follows their ``rap.*`` imports (at any depth, including
imports inside functions) to every module they can reach, and hashes those files together with the package
data (``rap/data``), which is read by path at run time.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from rap.core.hashing import sha256_bytes, sha256_json

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def module_file(name: str) -> Path | None:
    """The source file of ``rap.x.y`` (a module or a package's ``__init__``), or None if there is none."""
    parts = name.split(".")[1:]
    if not parts:
        return PACKAGE_ROOT / "__init__.py"
    rel = Path(*parts)
    for candidate in (PACKAGE_ROOT / rel.with_suffix(".py"), PACKAGE_ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
    return ".".join(("rap", *(parts[:-1] if parts[-1] == "__init__" else parts)))


def _imports(path: Path) -> set[str]:
    """Every ``rap`` module ``path`` imports, its parent packages included (they run on import)."""
    found: set[str] = set()
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "rap":
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def module_closure(*names: str) -> list[Path]:
    """The source files of ``names`` and of every ``rap`` module they import, directly or not, sorted."""
    seen: dict[str, Path] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name)
        if path is None:  # an attribute imported from a package (``from rap.x import f``), not a module
            continue
        seen[name] = path
        todo.extend(_imports(path) - seen.keys())
    return sorted(set(seen.values()))


def data_files() -> list[Path]:
    """The package data every step may read: ``rap/data`` and the data files beside the modules (folder
    READMEs are documentation, not data: editing one must not invalidate every cache)."""
    return sorted(
        p
        for p in PACKAGE_ROOT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".py", ".pyc", ".md"}
    )


@cache
def code_hash(*names: str) -> str:
    """sha256 of the modules ``names`` reach and of the package data: the code part of a cache key."""
    files = module_closure(*names) + data_files()
    return sha256_json({p.relative_to(PACKAGE_ROOT).as_posix(): sha256_bytes(p.read_bytes()) for p in files})
