"""Shared test helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only shared folder beside the clone (CI has it at ../shared)."""
    if not SHARED.exists():
        pytest.skip(f"shared reference folder not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def published_build(tmp_path_factory, shared_dir):
    """``published_build(year)``: the published route on DfE's release of ``year`` from the shared folder, built
    once per session without rendering (about 15 s); returns the build's ``tables`` folder."""
    from rap.cli import main

    built: dict[int, Path] = {}

    def build(year: int) -> Path:
        if year not in built:
            root = tmp_path_factory.mktemp(f"published{year}")
            (root / "params").mkdir()
            shutil.copy(REPO / "params" / "defaults.yaml", root / "params" / "defaults.yaml")
            text = (REPO / "params" / "2024-published.yaml").read_text().replace("../shared", str(shared_dir))
            text = text.replace("year: 2024", f"year: {year}").replace("cla-2024-release", f"cla-{year}-release")
            (root / "params" / f"{year}-published.yaml").write_text(text)
            args = ["run", "--params", str(root / "params" / f"{year}-published.yaml"), "--no-render"]
            if main([*args, "--notebooks", str(REPO / "notebooks")]) != 0:
                pytest.fail(f"rap run on DfE's {year} release failed")
            [built[year]] = list(root.glob("outputs/**/tables"))
        return built[year]

    return build


@pytest.fixture(scope="session")
def small_project(tmp_path_factory) -> Path:
    """A project folder with the repo's defaults, a small-scale 2024 params file and the real notebooks."""
    root = tmp_path_factory.mktemp("project")
    (root / "params").mkdir()
    shutil.copy(REPO / "params" / "defaults.yaml", root / "params" / "defaults.yaml")
    (root / "params" / "2024.yaml").write_text("year: 2024\nsynth:\n  scale: small\n")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    return root


@pytest.fixture(scope="session")
def small_run(small_project) -> Path:
    """``rap run`` once on small synthetic data (about 2 minutes), shared by every test that needs a built
    report (tests/test_cli.py, tests/test_accessibility.py); returns ``outputs/2024``."""
    from rap.cli import main

    params = small_project / "params" / "2024.yaml"
    # the pandoc route, whether or not Quarto is on PATH: tests/test_quarto_route.py renders the Quarto route
    code = main(["run", "--params", str(params), "--workers", "2", "--renderer", "pandoc"])
    if code != 0:
        pytest.fail(f"rap run on small synthetic data exited {code}")
    return small_project / "outputs" / "2024"
