"""Provenance (manifest.json) and the file-hash index behind the cache keys. No kernels start here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rap.build.manifest import build_manifest, git_state, write_manifest
from rap.build.runner import RunResult, SectionResult, environment_for_key
from rap.core.hashing import HashIndex, sha256_file
from rap.core.packages import key_packages
from rap.core.params import load_params


def _project(root: Path) -> Path:
    (root / "params").mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[1] / "params" / "defaults.yaml", root / "params")
    (root / "params" / "2024.yaml").write_text("year: 2024\n")
    data = root / "data" / "synthetic"
    data.mkdir(parents=True)
    (data / "b.csv").write_text("b\n")
    (data / "a.csv").write_text("a\n")
    return root / "params" / "2024.yaml"


def _result(root: Path) -> RunResult:
    out = root / "outputs" / "2024"
    return RunResult(
        out_dir=out,
        params_file=root / "params" / "2024.yaml",
        sections=[
            SectionResult(
                "01_alpha",
                "done",
                1.23456,
                False,
                out / "notebooks" / "01_alpha.ipynb",
                [out / "tables" / "alpha.csv"],
                "k1",
            ),
            SectionResult("02_beta", "cached", 0.0, True, out / "notebooks" / "02_beta.ipynb", [], "k2"),
        ],
        inputs={"data/synthetic/a.csv": "aa", "data/synthetic/b.csv": "bb"},
        started="2024-01-01T00:00:00+00:00",
        finished="2024-01-01T00:00:02+00:00",
        seconds=2.0,
    )


def test_manifest_contents_and_key_order(tmp_path):
    pf = _project(tmp_path)
    params = load_params(pf)
    path = write_manifest(
        tmp_path / "outputs" / "2024",
        params,
        _result(tmp_path),
        renderer={"name": "pandoc+typst", "version": "3.9 / 0.13"},
    )
    text = path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # sorted keys
    assert data["params"]["year"] == 2024 and data["params"]["project_root"] == str(tmp_path)
    assert data["inputs"] == {"data/synthetic/a.csv": "aa", "data/synthetic/b.csv": "bb"}
    assert data["renderer"] == {"name": "pandoc+typst", "version": "3.9 / 0.13"}
    # one list (rap/data/packages.yaml) for the manifest and the sections' cache keys
    assert set(data["packages"]) == {"python", "rap", *key_packages()}
    assert {"scipy", "pyarrow", "pydantic", "gptables", "pandas"} <= set(data["packages"])
    assert {k: v for k, v in data["packages"].items() if k not in ("python", "rap")} == (
        environment_for_key()["packages"]
    )
    assert data["sections"]["01_alpha"] == {
        "state": "done",
        "seconds": 1.235,
        "cache_hit": False,
        "cache_key": "k1",
        "notebook": "notebooks/01_alpha.ipynb",
        "outputs": ["tables/alpha.csv"],
    }
    assert data["sections"]["02_beta"]["cache_hit"] is True
    assert data["run"]["executed"] == ["01_alpha"] and data["run"]["cache_hits"] == ["02_beta"]
    assert data["run"]["started"] == "2024-01-01T00:00:00+00:00"
    assert data["git"] == {"commit": None, "dirty": None}  # tmp_path is not a git work tree
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert not list(path.parent.glob(".manifest-*"))


def test_manifest_hashes_input_paths(tmp_path):
    pf = _project(tmp_path)
    files = sorted((tmp_path / "data" / "synthetic").iterdir())
    data = build_manifest(load_params(pf), _result(tmp_path), inputs=files, renderer=("quarto", "1.10.1"))
    assert data["inputs"] == {f"data/synthetic/{p.name}": sha256_file(p) for p in files}
    assert data["renderer"] == {"name": "quarto", "version": "1.10.1"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_and_dirty(tmp_path):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "f.txt").write_text("1\n")
    git("add", "f.txt")
    git("commit", "-q", "-m", "one")
    assert git_state(tmp_path) == {"commit": git("rev-parse", "HEAD"), "dirty": False}
    (tmp_path / "f.txt").write_text("2\n")
    assert git_state(tmp_path)["dirty"] is True


def test_hash_index_skips_unchanged_files(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.bin").write_bytes(b"a" * 3_000_000)
    (data / "sub" / "b.txt").write_text("b")
    (data / ".hidden").write_text("ignored")
    index = tmp_path / "cache" / "file-hashes.json"
    with HashIndex(index) as idx:
        first = idx.hash_tree(data)
        assert idx.reads == 2
    assert first == {"a.bin": sha256_file(data / "a.bin"), "sub/b.txt": sha256_file(data / "sub" / "b.txt")}
    with HashIndex(index) as idx:
        assert idx.hash_tree(data) == first
        assert idx.reads == 0  # unchanged size and mtime: nothing re-read
    (data / "sub" / "b.txt").write_text("B")
    os.utime(data / "sub" / "b.txt", ns=(1, 1))  # a rewritten file gets a new mtime
    with HashIndex(index) as idx:
        again = idx.hash_tree(data)
        assert idx.reads == 1
    assert again["sub/b.txt"] == sha256_file(data / "sub" / "b.txt") != first["sub/b.txt"]
    index.write_text("not json")  # a corrupt index is only a slower run
    with HashIndex(index) as idx:
        assert idx.hash_tree(data) == again and idx.reads == 2


def _rap_imports(module: str) -> set[str]:
    """The ``rap`` modules that ``module``'s source imports (at any depth, type-checking imports included)."""
    import ast
    import importlib.util

    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rap")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rap"):
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def test_no_import_circle_between_runner_pipeline_and_manifest():
    """The pipeline uses the runner and the manifest; the runner executes sections and knows neither."""
    builders = {"rap.build.runner", "rap.build.pipeline", "rap.build.manifest"}
    assert _rap_imports("rap.build.manifest") & builders == set()
    assert _rap_imports("rap.build.runner") & builders == set()
    assert {"rap.build.runner", "rap.build.manifest"} <= _rap_imports("rap.build.pipeline")
