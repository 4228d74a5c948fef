import json
import shutil
from pathlib import Path

import pytest

from rap.core.errors import InputError
from rap.core.params import load_params
from rap.inputs.front import load_inputs
from rap.inputs.load import ensure_data


def test_synthetic_data_are_made_once_and_remade_when_stale(tmp_path, repo_root):
    params = load_params(
        repo_root / "params" / "2024.yaml", synth={"scale": "small"}, data={"path": str(tmp_path / "syn")}
    )
    manifest = ensure_data(params) / "manifest.json"
    first = manifest.stat().st_mtime_ns
    ensure_data(params)
    assert manifest.stat().st_mtime_ns == first, "unchanged parameters and generator: nothing regenerated"

    m = json.loads(manifest.read_text())
    m["generator_fingerprint"] = "made-by-older-code"
    manifest.write_text(json.dumps(m))
    ensure_data(params)
    assert json.loads(manifest.read_text())["generator_fingerprint"] != "made-by-older-code"

    other = load_params(
        repo_root / "params" / "2024.yaml", synth={"scale": "small", "seed": 7}, data={"path": str(tmp_path / "syn")}
    )
    ensure_data(other)
    assert json.loads(manifest.read_text())["seed"] == 7


def test_validated_inputs_are_cached_and_invalidated_by_a_changed_file(tmp_path, repo_root, monkeypatch):
    import pandas as pd

    import rap.inputs.load as inputs

    (tmp_path / "params").mkdir()
    shutil.copy(repo_root / "params" / "defaults.yaml", tmp_path / "params")
    (tmp_path / "params" / "2024.yaml").write_text("year: 2024\nyears: 2\nsynth:\n  scale: small\n")
    params = load_params(tmp_path / "params" / "2024.yaml")
    first = inputs.load_record_data(params)
    entries = list((tmp_path / ".cache" / "inputs").iterdir())
    assert len(entries) == 1 and sorted(q.name for q in entries[0].glob("*.pkl")) == [
        "population.pkl",
        "school.pkl",
        "ssda903.pkl",
    ]

    def no_reading(*a, **k):
        raise AssertionError("read the CSVs again although nothing changed")

    monkeypatch.setattr(inputs, "_read_record_data", no_reading)
    monkeypatch.setattr(inputs, "_read_part", no_reading)
    again = inputs.load_record_data(params)
    pd.testing.assert_frame_equal(first.ssda903["Header"], again.ssda903["Header"])

    header = max(
        (tmp_path / "data" / "synthetic" / "ssda903" / "2024").glob("*/header.csv"), key=lambda p: p.stat().st_size
    )
    header.write_text(header.read_text() + header.read_text().splitlines()[1] + "\n")
    try:
        inputs.load_record_data(params)
    except AssertionError as exc:
        assert "read the CSVs again" in str(exc)
    else:
        raise AssertionError("a changed input file must invalidate the cache")


def _load_parts_logging(folder: str, log: str) -> list[str]:
    """In a child process: every input part through the shared cache, with a slow fake reader that logs."""
    import time

    import rap.inputs.load as inputs
    from rap.core.cache import shared_pickles

    def fake_read(part):
        with open(log, "a") as fh:
            fh.write(part + "\n")
        time.sleep(0.3)
        return {"part": part}

    got = shared_pickles(Path(folder), inputs.PARTS, fake_read)
    return sorted(v["part"] for v in got.values())


def test_sections_starting_together_read_each_part_once(tmp_path):
    """Two processes asking for the inputs at once split the parts between them (each part is read once,
    under its lock) and both end up with every part."""
    import multiprocessing

    folder, log = tmp_path / "cache", tmp_path / "reads.log"
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_load_parts_logging, [(str(folder), str(log))] * 2)
    import rap.inputs.load as inputs

    assert results == [sorted(inputs.PARTS)] * 2
    reads = log.read_text().split()
    assert sorted(reads) == sorted(inputs.PARTS), f"each part read once, not {reads}"
    assert sorted(q.name for q in folder.glob("*.pkl")) == sorted(f"{p}.pkl" for p in inputs.PARTS)


def test_an_unreadable_cached_part_is_made_again(tmp_path):
    from rap.core.cache import shared_pickles

    (tmp_path / "a.pkl").write_bytes(b"not a pickle")
    assert shared_pickles(tmp_path, ["a"], lambda n: n * 2) == {"a": "aa"}
    assert shared_pickles(tmp_path, ["a"], lambda n: 1 / 0) == {"a": "aa"}, "stored the second time"


# ------------------------------------------------------------------------------------- the front door


def test_the_front_door_reads_nothing_until_a_section_asks(repo_root):
    """``load_inputs`` and the properties sections choose their route by need no pandas and read no file: a
    section reads only what it uses."""
    import subprocess
    import sys

    code = (
        "import sys; from rap.core.params import load_params; from rap.inputs.front import load_inputs; "
        f"d = load_inputs(load_params({str(repo_root / 'params' / '2024.yaml')!r}, data={{'path': '/nonexistent'}})); "
        "print(d.record_level, d.published, d.synthetic, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "True", "False"]


def test_published_inputs_give_their_releases_and_refuse_record_level_data(shared_dir, repo_root):
    data = load_inputs(load_params(repo_root / "params" / "2024-published.yaml"))
    assert data.published and not data.record_level and not data.synthetic
    with pytest.raises(InputError, match="record-level data asked for"):
        _ = data.record
    releases = data.releases()
    assert sorted(releases) == [2023, 2024], "the 2023 release beside the 2024 one gives revisions"
    assert releases[2024] is data.release, "read once per process"
    scan = data.coverage()
    assert (scan["share_las"] == (scan["rows"] > 0).astype(float)).all() and scan["rows"].sum() > 0
    assert len(data.published_la.counts) and set(data.la_population["major"]) == {
        "white",
        "mixed",
        "asian",
        "black",
        "other",
    }


def test_a_missing_published_file_is_named_with_its_parameter(repo_root, tmp_path):
    release = repo_root / "tests" / "fixtures" / "ees" / "2024"
    data = load_inputs(
        load_params(repo_root / "params" / "2024.yaml", data={"kind": "published", "path": str(release)})
    )
    with pytest.raises(InputError, match=r"data\.la_ethnicity_file is not set"):
        _ = data.published_la
    la_file = (
        repo_root / "tests" / "fixtures" / "ees" / "2025" / "DERIVED_cla_31_march_by_ethnicity_major_la_2021_2025.csv"
    )
    params = load_params(
        repo_root / "params" / "2024.yaml",
        data={
            "kind": "published",
            "path": str(release),
            "la_ethnicity_file": str(la_file),
            "population_path": str(tmp_path),
        },
    )
    with pytest.raises(InputError, match="population file not found") as err:
        _ = load_inputs(params).published_la
    assert err.value.file == str(tmp_path / "ons_mid-year_population_estimates_2012_to_2024.csv")


def test_record_level_inputs_refuse_published_tables(repo_root):
    data = load_inputs(load_params(repo_root / "params" / "2024.yaml", data={"path": "/nonexistent"}))
    with pytest.raises(InputError, match="published tables asked for, but the inputs are record-level"):
        _ = data.release
