"""Safe inputs and caches (issue 14, part 4): no run writes into its inputs, and every file a reader reads is in
the cache keys, hidden files and files behind symbolic links included, so a changed input never gives stale
outputs (with or without ``--no-cache``).

The record-level data are one year of small synthetic data, cut to three LAs and read as ``data.kind: record``
(module fixture ``record_data``); each test copies them into its own project.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from rap.build.pipeline import run_sections
from rap.cli import main
from rap.core.errors import InputError, ParamsError
from rap.core.hashing import HashIndex
from rap.core.params import load_params
from rap.inputs.load import ensure_data, load_record_data, record_data_key

REPO = Path(__file__).resolve().parents[1]
LAS = ("201", "202", "877")


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (links followed) with its bytes: what "unchanged" means for a data folder."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def record_data(tmp_path_factory) -> Path:
    """Small synthetic data for 2024 only, three LAs: a record-level data folder that reads in a second."""
    from rap.synth import generate

    params = load_params(REPO / "params" / "2024.yaml", synth={"scale": "small"}, years=1)
    root = generate(params, out_dir=tmp_path_factory.mktemp("record") / "data")
    for la in (root / "ssda903" / "2024").iterdir():
        if la.name not in LAS:
            shutil.rmtree(la)
    shutil.rmtree(root / "truth")
    (root / "manifest.json").unlink()  # a user's record-level folder: not one rap synth made
    return root


def make_project(root: Path, data: Path, extra: str = "") -> Path:
    """A project in ``root`` reading a copy of ``data`` as record-level data; returns its params file."""
    (root / "params").mkdir(parents=True)
    shutil.copy(REPO / "params" / "defaults.yaml", root / "params")
    shutil.copytree(data, root / "data")
    pf = root / "params" / "2024.yaml"
    pf.write_text("year: 2024\nyears: 1\ndata:\n  kind: record\n  path: data\n" + extra)
    return pf


# ------------------------------------------------------------------------------- outputs apart from inputs


@pytest.mark.parametrize(
    "output_dir, how",
    [
        ("data/ssda903", "is inside"),  # the case: outputs/<year> = the year's LA folders
        ("data", "is the same place as"),
        (".", "contains"),
        ("link-to-data/out", "is inside"),  # through a symbolic link
    ],
)
def test_an_output_folder_overlapping_data_path_is_refused(tmp_path, output_dir, how):
    (tmp_path / "data").mkdir()
    pf = make_project(tmp_path / "p", tmp_path / "data", f"output_dir: {output_dir}\n")
    (tmp_path / "p" / "link-to-data").symlink_to(tmp_path / "p" / "data")
    with pytest.raises(ParamsError) as info:
        load_params(pf)
    err = info.value
    assert err.key == "output_dir" and str(pf) in str(err)
    assert f"{how} data.path {(tmp_path / 'p' / 'data').resolve()}" in err.reason
    assert "must never write into its inputs" in err.reason


def test_published_inputs_and_the_cache_are_inputs_too(tmp_path):
    pop = tmp_path / "population"
    pop.mkdir()
    la_file = tmp_path / "la" / "la.csv"
    la_file.parent.mkdir()
    la_file.write_text("x\n")
    (tmp_path / "release").mkdir()
    pf = make_project(tmp_path / "p", tmp_path / "release")
    published = {"kind": "published", "path": str(tmp_path / "release"), "population_path": str(pop)}
    with pytest.raises(ParamsError) as info:
        load_params(pf, data=published, output_dir=str(pop / "out"))
    assert info.value.key == "output_dir" and f"is inside data.population_path {pop}" in info.value.reason
    with pytest.raises(ParamsError) as info:
        load_params(pf, data={**published, "la_ethnicity_file": str(la_file)}, output_dir=str(la_file.parent))
    assert info.value.key == "output_dir" and f"contains data.la_ethnicity_file {la_file}" in info.value.reason
    # the project's cache (pruned, replaced) must not hold an input either
    with pytest.raises(ParamsError) as info:
        load_params(pf, data={"path": ".cache/data"})
    assert info.value.key == "data.path" and f"the cache folder {tmp_path / 'p' / '.cache'}" in info.value.reason
    assert load_params(pf).out_path == tmp_path / "p" / "outputs" / "2024"  # apart: fine


def test_a_run_into_its_inputs_is_refused_before_anything_is_written(tmp_path, record_data):
    pf = make_project(tmp_path, record_data)
    (tmp_path / "notebooks").mkdir()
    params = load_params(pf)
    before = tree(tmp_path / "data")
    for kw in ({"out_dir": tmp_path / "data" / "ssda903" / "2024"}, {"cache_dir": tmp_path / "data" / ".cache"}):
        with pytest.raises(ParamsError, match="must never write into its inputs") as info:
            run_sections(params, pf, notebooks_dir=tmp_path / "notebooks", progress=False, **kw)
        assert str((tmp_path / "data").resolve()) in str(info.value)
    # an input file that is a link into the outputs folder: a swap would replace it
    (tmp_path / "outputs" / "2024").mkdir(parents=True)
    shutil.move(tmp_path / "data" / "school" / "2024.csv", tmp_path / "outputs" / "2024" / "school.csv")
    (tmp_path / "data" / "school" / "2024.csv").symlink_to(tmp_path / "outputs" / "2024" / "school.csv")
    with pytest.raises(ParamsError, match="school/2024.csv in data.path is a link to"):
        run_sections(params, pf, notebooks_dir=tmp_path / "notebooks", progress=False)
    assert tree(tmp_path / "data") == before
    assert not list((tmp_path / "outputs").glob(".staging-*"))


def test_rap_run_and_rap_check_refuse_folders_inside_the_data(tmp_path, record_data, capsys):
    pf = make_project(tmp_path, record_data)
    before = tree(tmp_path / "data")
    assert main(["run", "--params", str(pf), "--out", str(tmp_path / "data" / "ssda903")]) == 2
    assert "output_dir" in capsys.readouterr().err
    assert main(["check", "--params", str(pf), "--qa-dir", str(tmp_path / "data" / "qa")]) == 2
    err = capsys.readouterr().err
    assert "--qa-dir" in err and f"is inside data.path {(tmp_path / 'data').resolve()}" in err
    assert tree(tmp_path / "data") == before


# ----------------------------------------------------------------------------------- synthetic data only


def test_synthetic_data_never_replace_a_folder_rap_synth_did_not_make(tmp_path, record_data, capsys):
    pf = make_project(tmp_path, record_data)
    before = tree(tmp_path / "data")
    # a record-level folder named as synthetic data: regenerating would replace it
    params = load_params(pf, data={"kind": "synthetic"})
    with pytest.raises(InputError, match="rap synth did not make"):
        ensure_data(params)
    # `rap synth` writes only where data.kind is synthetic, or where --out says and nothing else is
    assert main(["synth", "--params", str(pf)]) == 2
    assert "synthetic data are written only where data.kind is synthetic" in capsys.readouterr().err
    assert main(["synth", "--params", str(pf), "--out", str(tmp_path / "data" / "ssda903")]) == 2
    assert f"is inside data.path {(tmp_path / 'data').resolve()}" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["synth", "--params", str(pf), "--out", str(mine)]) == 2
    assert "rap synth did not make" in capsys.readouterr().err
    assert tree(tmp_path / "data") == before and tree(mine) == {"notes.txt": b"mine"}
    # an empty or absent folder, or one rap synth made, may be written
    from rap.inputs.load import synthetic_target

    assert synthetic_target(params, tmp_path / "new") == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    assert synthetic_target(params, tmp_path / "empty") == (tmp_path / "empty").resolve()


# --------------------------------------------------------------------------------- what the keys hash


def test_input_files_follow_links_and_include_hidden_files(tmp_path):
    from rap.core.hashing import input_files

    root = tmp_path / "data"
    (root / ".hidden-folder").mkdir(parents=True)
    (root / ".hidden-folder" / "a.csv").write_text("a")
    (root / ".b.csv").write_text("b")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.CSV").write_text("c")
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    (root / "linked-file.csv").symlink_to(tmp_path / "elsewhere" / "c.CSV")
    (root / "loop").symlink_to(root)  # a cycle: listed once, not forever
    (root / "broken").symlink_to(tmp_path / "nowhere")
    files = input_files(root)
    assert files == {
        ".b.csv": root / ".b.csv",
        ".hidden-folder/a.csv": root / ".hidden-folder" / "a.csv",
        "linked-file.csv": tmp_path / "elsewhere" / "c.CSV",
        "linked/c.CSV": tmp_path / "elsewhere" / "c.CSV",
    }
    assert input_files(root / ".b.csv") == {".b.csv": root / ".b.csv"}


def test_a_file_rewritten_with_its_old_size_and_mtime_is_read_again(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("id\n1\n")
    index = tmp_path / "index.json"
    with HashIndex(index) as idx:
        first = idx.hash(f)
    st = f.stat()
    f.write_text("id\n2\n")  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime (cp -p, rsync -t, touch -r)
    with HashIndex(index, trust=False) as idx:  # --no-cache: never trusts the index
        assert idx.hash(f) == hashlib.sha256(b"id\n2\n").hexdigest() != first and idx.reads == 1
    with HashIndex(index) as idx:
        assert idx.hash(f) != first and idx.reads == 0  # the refreshed entry is trusted again


def _episodes(params) -> int:
    return len(load_record_data(params).ssda903["Episodes"])


def test_hidden_and_linked_input_files_change_the_key_and_the_data(tmp_path, record_data):
    params = load_params(make_project(tmp_path, record_data))
    la = tmp_path / "data" / "ssda903" / "2024" / "877"
    (la / "episodes.csv").rename(la / ".episodes.csv")  # the reader reads hidden CSVs: so must the key
    lines = (la / ".episodes.csv").read_text().splitlines(keepends=True)
    key, n = record_data_key(params), _episodes(params)
    (la / ".episodes.csv").write_text("".join(lines[:-1]))
    assert record_data_key(params) != key
    assert _episodes(params) == n - 1
    key = record_data_key(params)
    shutil.move(la, tmp_path / "la-877")  # the LA folder kept elsewhere, linked in
    la.symlink_to(tmp_path / "la-877")
    assert record_data_key(params) == key  # the same files: the same key
    (tmp_path / "la-877" / ".episodes.csv").write_text("".join(lines[:-2]))
    assert record_data_key(params) != key
    assert _episodes(params) == n - 2


def test_every_file_a_reader_opens_is_hashed(tmp_path, record_data, repo_root, shared_dir):
    """Record every file opened while the inputs are read (audit hook): each must be in the listing the
    cache keys hash."""
    from rap.inputs.load import input_listing, input_roots

    opened: list[str] = []
    active = [False]

    def hook(event: str, args: tuple) -> None:
        if active[0] and event == "open" and isinstance(args[0], (str, os.PathLike)):
            opened.append(os.path.realpath(args[0]))

    sys.addaudithook(hook)  # cannot be removed: it records only while `active`
    ignore = [os.path.realpath(p) for p in {sys.prefix, sys.base_prefix, str(REPO / "src"), "/proc", "/dev"}]

    def read(params, fn) -> set[str]:
        opened.clear()
        active[0] = True
        try:
            fn(params)
        finally:
            active[0] = False
        read_files = {p for p in opened if not any(p.startswith(i + os.sep) for i in ignore)}
        hashed = {str(real) for files in input_listing(params).values() for real in files.values()}
        assert read_files and read_files <= hashed, sorted(read_files - hashed)
        return read_files

    params = load_params(make_project(tmp_path, record_data))
    read(params, lambda p: load_record_data(p, use_cache=False))
    published = load_params(repo_root / "params" / "2024-published.yaml")
    # the previous year's release beside data.path (revisions) is read, so it is hashed too
    assert set(input_roots(published)) == {"data.path", "data.la_ethnicity_file", "data.population_path",
                                           "previous_release"}  # fmt: skip
    from rap.inputs.front import load_inputs

    def published_route(p) -> None:
        inputs = load_inputs(p)
        inputs.releases()
        inputs.published_la  # noqa: B018 - read for its files

    files = read(published, published_route)
    assert any("ees-cla-2023-release" in f for f in files) and any("/population/" in f for f in files)


# ------------------------------------------------------------------------------ the same through a run

COUNT = """\
import hashlib
from pathlib import Path
import pandas as pd
from rap.core.params import load_params
from rap.inputs.load import load_record_data
params = load_params(params_file)
ep = load_record_data(params).ssda903["Episodes"].drop(columns=["_file"], errors="ignore")
digest = hashlib.sha256(pd.util.hash_pandas_object(ep, index=False).values.tobytes()).hexdigest()
Path(out_dir, "episodes.txt").write_text(f"{len(ep)} {digest}\\n")
"""


def _count_notebook(path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell('params_file = "p"\nout_dir = "o"\nyear = 2024\n', metadata={"tags": ["parameters"]}),
            new_code_cell(COUNT),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_changed_inputs_never_give_stale_outputs_with_or_without_no_cache(tmp_path, record_data):
    pf = make_project(tmp_path, record_data)
    _count_notebook(tmp_path / "notebooks" / "01_count.ipynb")
    out = tmp_path / "outputs" / "2024" / "episodes.txt"

    def run(**kw) -> tuple[int, str]:
        run_sections(load_params(pf), pf, notebooks_dir=tmp_path / "notebooks", progress=False, workers=1, **kw)
        n, digest = out.read_text().split()
        return int(n), digest

    la = tmp_path / "data" / "ssda903" / "2024" / "877"
    lines = (la / "episodes.csv").read_text().splitlines(keepends=True)
    (la / "episodes.csv").rename(la / ".episodes.csv")  # hidden: the reader reads it all the same
    n, _ = run()
    (la / ".episodes.csv").write_text("".join(lines[:-1]))  # one row fewer
    assert run(use_cache=False)[0] == n - 1
    shutil.move(la, tmp_path / "la-877")  # the LA folder kept elsewhere, linked in
    la.symlink_to(tmp_path / "la-877")
    assert run()[0] == n - 1
    (tmp_path / "la-877" / ".episodes.csv").write_text("".join(lines[:-2]))  # one more fewer, behind the link
    count, digest = run()
    assert count == n - 2
    # the same size and the old mtime: --no-cache reads every input again
    f = tmp_path / "la-877" / ".episodes.csv"
    st, text = f.stat(), f.read_text()
    assert ",N1," in text
    f.write_text(text.replace(",N1,", ",N2,", 1))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    count, changed = run(use_cache=False)
    assert count == n - 2 and changed != digest
