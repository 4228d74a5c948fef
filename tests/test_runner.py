"""The section runner (discovery, parallel papermill runs, the cache) and the pipeline's staging and swap
around it (``rap.build.pipeline.run_sections``): failures, kills, locks.

Notebooks are built in tmp_path with nbformat. One cold run (module fixture) is shared: every test copies that
project (outputs and .cache included) to its own folder, which also shows the cache keys are portable.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rap.build.pipeline import run_sections
from rap.build.runner import (
    SectionError,
    SectionFailed,
    discover_sections,
    normalise_notebook,
    params_for_key,
    select_sections,
    validate_parameters,
)
from rap.core.errors import RapError
from rap.core.params import load_params

PARAMETERS = 'params_file = "params/2024.yaml"\nout_dir = "out"\nyear = 2024\n'

SETUP = """\
import time
from pathlib import Path
from rap.core.params import load_params
params = load_params(params_file)
out = Path(out_dir)
with open(params.project_root / "runs.log", "a") as fh:
    fh.write(f"{NAME} {time.time()} start\\n")
# Only while the folder exists (the first test run): wait until both sections are running at once.
rv = params.project_root / "rendezvous"
if rv.is_dir():
    (rv / NAME).write_text("here")
    deadline = time.time() + 30
    while len(list(rv.iterdir())) < 2:
        if time.time() > deadline:
            raise RuntimeError("the two sections did not run at the same time")
        time.sleep(0.05)
"""

FINISH = """\
with open(params.project_root / "runs.log", "a") as fh:
    fh.write(f"{NAME} {time.time()} end\\n")
"""


def make_notebook(path: Path, name: str, body: str, *, n_parameters: int = 1) -> Path:
    cells = [new_markdown_cell(f"# Section {name}")]
    for _ in range(n_parameters):
        cells.append(new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}))
    cells += [
        new_code_cell(f"NAME = {name!r}\n" + SETUP),
        new_code_cell(body),
        new_code_cell(FINISH),
    ]
    nb = new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    for i, c in enumerate(nb.cells):  # stable ids so the source files themselves are deterministic
        c["id"] = f"{name}-{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


ALPHA = """\
rows = sorted((Path(params.data_path) / "a.csv").read_text().splitlines())
(out / "tables").mkdir(parents=True, exist_ok=True)
(out / "tables" / "alpha.csv").write_text("\\n".join(rows) + "\\n")
time.sleep(0.3)
print("alpha rows", len(rows), params.year)
"""

BETA = """\
text = (Path(params.data_path) / "sub" / "b.txt").read_text()
(out / "beta.txt").write_text(text.upper())
time.sleep(0.3)
print({"chars": len(text), "threshold": params.suppression.threshold})
"""

FAIL = """\
x = 1
raise ValueError("boom in the fail section")
"""

SLOW = """\
import os
(out / "slow-started.txt").write_text(str(os.getpid()))
time.sleep(60)
"""


def make_project(root: Path) -> Path:
    """Project with params/, data/synthetic/ and notebooks/01_alpha + 02_beta. Returns the year file."""
    (root / "params").mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[1] / "params" / "defaults.yaml", root / "params")
    (root / "params" / "2024.yaml").write_text("year: 2024\nyears: 3\nsynth:\n  scale: small\n")
    data = root / "data" / "synthetic"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("id,value\n2,b\n1,a\n")
    (data / "sub" / "b.txt").write_text("hello\n")
    make_notebook(root / "notebooks" / "01_alpha.ipynb", "alpha", ALPHA)
    make_notebook(root / "notebooks" / "02_beta.ipynb", "beta", BETA)
    return root / "params" / "2024.yaml"


def runs_log(root: Path) -> list[tuple[str, float, str]]:
    log = root / "runs.log"
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        name, t, what = line.split()
        out.append((name, float(t), what))
    return out


# ----------------------------------------------------------------------------------------------- helpers


def tree(root: Path, *, skip: tuple[str, ...] = ("manifest.json",)) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def run(root: Path, **kw):
    pf = root / "params" / "2024.yaml"
    params = kw.pop("params", None) or load_params(pf)
    kw.setdefault("workers", 2)
    kw.setdefault("progress", False)
    return run_sections(params, pf, notebooks_dir=root / "notebooks", **kw)


def leftovers(root: Path) -> list[Path]:
    return sorted((root / "outputs").glob(".staging-*")) + sorted((root / "outputs").glob(".old-*"))


@pytest.fixture(scope="module", autouse=True)
def frozen_rap_source(tmp_path_factory):
    """Key the cache on a snapshot of src/rap, so editing the package while the tests run cannot flake them."""
    import rap.build.runner

    snapshot = tmp_path_factory.mktemp("rap-src") / "rap"
    shutil.copytree(rap.build.runner._rap_source_dir(), snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rap.build.runner, "_rap_source_dir", lambda: snapshot)
        yield snapshot


@pytest.fixture(scope="module")
def cold(tmp_path_factory, frozen_rap_source):
    """A project after one cold run in which both sections had to be running at the same moment."""
    root = tmp_path_factory.mktemp("cold") / "proj"
    make_project(root)
    (root / "rendezvous").mkdir()
    t0 = time.perf_counter()
    result = run(root)
    wall = time.perf_counter() - t0
    shutil.rmtree(root / "rendezvous")
    return root, result, wall


@pytest.fixture
def project(cold, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(cold[0], root, symlinks=True)
    return root


# --------------------------------------------------------------------------------------------- discovery


def test_discover_sections_sorted_and_validated(tmp_path):
    nbs = tmp_path / "nb"
    make_notebook(nbs / "02_beta.ipynb", "beta", "pass")
    make_notebook(nbs / "01_alpha.ipynb", "alpha", "pass")
    make_notebook(nbs / "scratch.ipynb", "scratch", "pass")  # not NN_<name>: ignored
    found = discover_sections(nbs)
    assert [s.stem for s in found] == ["01_alpha", "02_beta"]
    assert [s.name for s in found] == ["alpha", "beta"]
    assert [s.stem for s in select_sections(found, ["2"])] == ["02_beta"]
    assert [s.stem for s in select_sections(found, ["alpha"])] == ["01_alpha"]
    with pytest.raises(SectionError, match="no section called 'gamma'"):
        select_sections(found, ["gamma"])

    make_notebook(nbs / "03_twice.ipynb", "twice", "pass", n_parameters=2)
    with pytest.raises(SectionError, match=r"03_twice\.ipynb: needs exactly one cell tagged 'parameters', found 2"):
        discover_sections(nbs)
    (nbs / "03_twice.ipynb").unlink()

    make_notebook(nbs / "03_none.ipynb", "none", "pass", n_parameters=0)
    with pytest.raises(SectionError, match=r"03_none\.ipynb: needs exactly one cell tagged 'parameters', found 0"):
        discover_sections(nbs)
    (nbs / "03_none.ipynb").unlink()

    nb = new_notebook(cells=[new_code_cell("params_file = ''\nyear = 2024", metadata={"tags": ["parameters"]})])
    nbformat.write(nb, nbs / "04_partial.ipynb")
    with pytest.raises(SectionError, match=r"04_partial\.ipynb: .*missing out_dir"):
        discover_sections(nbs)


def test_parameters_must_be_json_simple():
    validate_parameters({"params_file": "/x/params/2024.yaml", "out_dir": "/x/out", "year": 2024})
    with pytest.raises(SectionError, match="out_dir"):
        validate_parameters({"out_dir": Path("/x")})
    with pytest.raises(SectionError, match="nan"):
        validate_parameters({"rate": float("nan")})


def test_key_leaves_out_machine_specific_paths(tmp_path):
    pf = make_project(tmp_path / "a")
    d = params_for_key(load_params(pf))
    assert "project_root" not in d and "output_dir" not in d and "path" not in d["data"]
    assert d["year"] == 2024 and d["data"]["kind"] == "synthetic"


def test_normalise_strips_timestamps_and_paths():
    nb = new_notebook(
        cells=[
            new_code_cell(
                "x = 1",
                metadata={
                    "tags": ["injected-parameters"],
                    "execution": {"iopub.status.busy": "t"},
                    "papermill": {"start_time": "t", "end_time": "t", "duration": 1.0, "status": "completed"},
                },
            ),
            new_code_cell("print(1)"),
        ],
        metadata={
            "papermill": {
                "start_time": "t",
                "end_time": "t",
                "duration": 2.0,
                "input_path": "/p/in.ipynb",
                "output_path": "/p/out.ipynb",
                "parameters": {"out_dir": "/p/stage/sec/out"},
            },
            "language_info": {"name": "python", "version": "3.11.7"},
        },
    )
    nb.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="wrote /p/stage/sec/out/t.csv and /p/data/x, not /p2/y\n")
    ]
    out = normalise_notebook(nb, {"/p/stage/sec/out": "<out_dir>", "/p": "<project_root>"})
    assert out.metadata.papermill == {"parameters": {"out_dir": "<out_dir>"}}
    assert "version" not in out.metadata.language_info
    assert out.cells[0].id == "injected-parameters"
    assert "execution" not in out.cells[0].metadata
    assert out.cells[0].metadata.papermill == {"status": "completed"}
    assert out.cells[1].outputs[0].text == "wrote <out_dir>/t.csv and <project_root>/data/x, not /p2/y\n"
    assert nbformat.writes(out) == nbformat.writes(normalise_notebook(out, {}))


# ----------------------------------------------------------------------------------------------- running


def test_cold_run_is_parallel_and_writes_outputs(cold):
    root, result, wall = cold
    out = root / "outputs" / "2024"
    assert result.executed == ["01_alpha", "02_beta"] and result.cache_hits == []
    # the notebooks' rendezvous would have raised had they not been running at the same time
    assert (out / "tables" / "alpha.csv").read_text() == "1,a\n2,b\nid,value\n"
    assert (out / "beta.txt").read_text() == "HELLO\n"
    assert result["01_alpha"].outputs == [out / "tables" / "alpha.csv"]
    assert result["02_beta"].notebook == out / "notebooks" / "02_beta.ipynb"
    text = (out / "notebooks" / "02_beta.ipynb").read_text()
    assert "{'chars': 6, 'threshold': 5}" in text
    for leak in (str(root), "start_time", "end_time", '"duration"', "iopub"):
        assert leak not in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sections"]["01_alpha"]["cache_hit"] is False
    assert set(manifest["inputs"]) == {"data/synthetic/a.csv", "data/synthetic/sub/b.txt"}
    assert not leftovers(root) and not (root / "outputs" / "2024.failed").exists()
    keys = sorted(p.name for p in (root / ".cache" / "sections").iterdir())
    assert keys == sorted(s.key for s in result.sections)
    record = json.loads((root / ".cache" / "sections" / result["02_beta"].key / "key.json").read_text())
    assert record["parts"]["inputs"] == {
        "a.csv": manifest["inputs"]["data/synthetic/a.csv"],
        "sub/b.txt": manifest["inputs"]["data/synthetic/sub/b.txt"],
    }
    assert record["outputs"] == ["beta.txt"]
    print(f"cold run of 2 sections, 2 workers: {wall:.1f}s")


def test_unchanged_rerun_executes_nothing(project, cold):
    before_log = runs_log(project)
    before = tree(project / "outputs" / "2024")
    t0 = time.perf_counter()
    result = run(project)  # a copy at another path: the cache keys are portable
    wall = time.perf_counter() - t0
    assert result.executed == [] and result.cache_hits == ["01_alpha", "02_beta"]
    assert [s.state for s in result.sections] == ["cached", "cached"]
    assert runs_log(project) == before_log  # no notebook ran
    assert tree(project / "outputs" / "2024") == before
    assert not leftovers(project)
    print(f"cached run: {wall:.2f}s")


def test_editing_one_notebook_reruns_only_it(project):
    nb_path = project / "notebooks" / "02_beta.ipynb"
    make_notebook(nb_path, "beta", BETA.replace("text.upper()", "text.upper() + '!'"))
    n_before = len(runs_log(project))
    result = run(project)
    assert result.executed == ["02_beta"] and result.cache_hits == ["01_alpha"]
    assert [name for name, _, what in runs_log(project)[n_before:] if what == "start"] == ["beta"]
    assert (project / "outputs" / "2024" / "beta.txt").read_text() == "HELLO\n!"
    # outputs and metadata of the source notebook are not part of the key
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale\n")]
    nb.metadata["something"] = 1
    nbformat.write(nb, nb_path)
    assert run(project).executed == []


def test_changing_a_data_file_reruns_all(project):
    (project / "data" / "synthetic" / "a.csv").write_text("id,value\n3,c\n")
    result = run(project)
    assert result.executed == ["01_alpha", "02_beta"]
    assert (project / "outputs" / "2024" / "tables" / "alpha.csv").read_text() == "3,c\nid,value\n"


def test_no_cache_reruns_all_and_is_byte_identical(project, cold):
    cached = tree(project / "outputs" / "2024")
    first = run(project, use_cache=False)
    assert first.executed == ["01_alpha", "02_beta"] and first.cache_hits == []
    one = tree(project / "outputs" / "2024")
    second = run(project, use_cache=False)
    assert second.executed == ["01_alpha", "02_beta"]
    two = tree(project / "outputs" / "2024")
    assert one == two  # every notebook and output file, byte for byte
    assert one == cached  # and the same as the cold run in another folder
    assert set(one) == {"beta.txt", "tables/alpha.csv", "notebooks/01_alpha.ipynb", "notebooks/02_beta.ipynb"}


def test_resolved_params_reach_the_notebooks_and_selection(project):
    pf = project / "params" / "2024.yaml"
    params = load_params(pf, suppression={"threshold": 7})  # an override that is not in the params file
    result = run(project, params=params, sections=["beta"])
    # alpha was not selected, but its key changed with the parameters: executed too rather than left out
    assert [s.state for s in result.sections] == ["done", "done"]
    assert "{'chars': 6, 'threshold': 7}" in (project / "outputs/2024/notebooks/02_beta.ipynb").read_text()
    assert (project / "outputs/2024/tables/alpha.csv").exists()
    result = run(project, params=params)
    assert result.executed == [] and result.cache_hits == ["01_alpha", "02_beta"]
    # an unselected section whose key still matches comes from the cache
    result = run(project, params=params, sections=["01"])
    assert [s.state for s in result.sections] == ["cached", "cached"]


def test_running_some_sections_never_publishes_a_build_missing_one(project, capsys):
    """``rap run --sections 01`` once replaced a complete build by one without section 05: every section not
    chosen comes from the cache, or, when the cache has no result for its key, is executed too."""
    out = project / "outputs" / "2024"
    make_notebook(project / "notebooks" / "02_beta.ipynb", "beta", BETA.replace("text.upper()", "text.title()"))
    make_notebook(project / "notebooks" / "03_gamma.ipynb", "gamma", "(out / 'gamma.txt').write_text('g')\n")
    capsys.readouterr()
    result = run(project, sections=["01"])
    assert [(s.name, s.state) for s in result.sections] == [
        ("01_alpha", "cached"),  # chosen, unchanged
        ("02_beta", "done"),  # not chosen, changed since it was cached
        ("03_gamma", "done"),  # not chosen, never run
    ]
    assert "executed too (a build has every section): 02_beta, 03_gamma" in capsys.readouterr().out
    assert (out / "beta.txt").read_text() == "Hello\n" and (out / "gamma.txt").read_text() == "g"
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["01_alpha.ipynb", "02_beta.ipynb",
                                                                     "03_gamma.ipynb"]  # fmt: skip
    assert (out / "tables" / "alpha.csv").is_file()
    result = run(project, sections=["01"])  # now all in the cache: nothing else runs
    assert result.executed == [] and [s.state for s in result.sections] == ["cached"] * 3


def test_failing_notebook_keeps_previous_outputs(project):
    out = project / "outputs" / "2024"
    before = tree(out, skip=())
    make_notebook(project / "notebooks" / "03_fail.ipynb", "fail", FAIL)
    with pytest.raises(SectionFailed) as info:
        run(project)
    err = info.value
    assert isinstance(err, RapError)
    assert err.section == "03_fail" and err.ename == "ValueError" and "boom in the fail section" in err.evalue
    # source cells: markdown, parameters, set-up, then the raising one; In [n] counts the injected cell too
    assert err.cell_index == 3 and err.exec_count == 4
    assert err.notebook_path == project / "outputs" / "2024.failed" / "03_fail.ipynb"
    assert err.notebook_path.exists()
    assert "03_fail" in str(err) and "ValueError" in str(err) and "In [4]" in str(err)
    assert str(err.notebook_path) in str(err)
    assert tree(out, skip=()) == before  # untouched, manifest included
    assert not leftovers(project)
    (project / "notebooks" / "03_fail.ipynb").unlink()
    assert run(project).executed == []
    assert not (project / "outputs" / "2024.failed").exists()


def _live_group_members(pgid: int) -> list[str]:
    """Processes (not zombies) in process group ``pgid``, as "pid state cmdline"."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{stat.parent.name} {fields[0]} {cmd[:120]}")
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_sigkill_midway_keeps_previous_outputs_and_next_run_cleans_up(project):
    out = project / "outputs" / "2024"
    before = tree(out, skip=())
    make_notebook(project / "notebooks" / "03_slow.ipynb", "slow", SLOW)
    code = (
        "from rap.core.params import load_params; from rap.build.pipeline import run_sections; import sys; "
        "pf = sys.argv[1]; run_sections(load_params(pf), pf, notebooks_dir=sys.argv[2], workers=2, progress=False)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(project / "params" / "2024.yaml"), str(project / "notebooks")],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        started = None
        while time.time() < deadline and started is None:
            started = next((project / "outputs").glob(".staging-*/.work/03_slow/out/slow-started.txt"), None)
            time.sleep(0.1)
        assert started is not None, "the slow section never started"
        kernel_pid = int(started.read_text())
        worker_pid = int((started.parent.parent / "started").read_text())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert tree(out, skip=()) == before
        assert len(leftovers(project)) == 1
        # the worker dies with the run (PR_SET_PDEATHSIG) and the kernel notices its parent has gone
        deadline = time.time() + 15
        while time.time() < deadline and (_pid_alive(worker_pid) or _pid_alive(kernel_pid)):
            time.sleep(0.1)
        assert not _pid_alive(worker_pid)
        assert not _pid_alive(kernel_pid)
        assert _live_group_members(proc.pid) == []  # nothing of the killed run is left running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # never leak processes, even when an assertion failed
    (project / "notebooks" / "03_slow.ipynb").unlink()
    result = run(project)
    assert result.executed == [] and not leftovers(project)
    assert tree(out) == {k: v for k, v in before.items() if k != "manifest.json"}


def test_clean_leftovers_restores_a_half_swapped_folder(tmp_path):
    from rap.build.pipeline import clean_leftovers

    out = tmp_path / "outputs" / "2024"
    (tmp_path / "outputs" / ".old-2024-abcd").mkdir(parents=True)
    (tmp_path / "outputs" / ".old-2024-abcd" / "kept.csv").write_text("x")
    (tmp_path / "outputs" / ".staging-2024-zz" / ".work").mkdir(parents=True)
    (tmp_path / "outputs" / ".staging-2023-zz").mkdir()  # another year's run: not ours to remove
    clean_leftovers(out)
    assert (out / "kept.csv").read_text() == "x"
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == [".staging-2023-zz", "2024"]


def test_longest_section_by_last_run_starts_first(project):
    """With fewer workers than sections, the section that took longest last time is queued first."""
    timings = project / ".cache" / "section-timings.json"
    assert json.loads(timings.read_text()).keys() >= {"01_alpha", "02_beta"}, "a run records its timings"
    timings.write_text(json.dumps({"01_alpha": 1.0, "02_beta": 9.0}))
    before = len(runs_log(project))
    run(project, workers=1, use_cache=False)
    started = [name for name, _, what in runs_log(project)[before:] if what == "start"]
    assert started == ["beta", "alpha"]


def test_section_cache_keeps_the_most_recently_used_entries_of_each_section(tmp_path):
    """The cache does not grow with every edit: per section, the newest entries (by last use) stay, entries
    of other sections and those this run needs stay, half-written ones are left to their writer."""
    from rap.build.runner import prune_section_cache

    def entry(name: str, section: str, age: int) -> Path:
        e = tmp_path / name
        e.mkdir()
        (e / "key.json").write_text(json.dumps({"key": name, "parts": {"section": section}}))
        os.utime(e, (time.time() - age, time.time() - age))
        return e

    a = [entry(f"a{i}", "01_a", age=100 * i) for i in range(5)]  # a0 newest ... a4 oldest
    b = [entry(f"b{i}", "02_b", age=1000 + i) for i in range(4)]
    (tmp_path / ".tmp-a-123").mkdir()
    gone = prune_section_cache(tmp_path, "01_a", keep=2, protect=["a4"])
    assert sorted(p.name for p in gone) == ["a2", "a3"]
    assert [p.exists() for p in a] == [True, True, False, False, True]
    assert all(p.exists() for p in b) and (tmp_path / ".tmp-a-123").exists()


def test_publishing_caches_keep_the_most_recently_used(tmp_path):
    from rap.core.cache import keep_newest

    for i, name in enumerate(["k1", "k2", "k3", "k4.tmp", ".hidden"]):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1000 + i, 1000 + i))
    os.utime(tmp_path / "k1")  # used just now
    keep_newest(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "k1", "k3", "k4.tmp"]


def test_a_second_run_on_the_same_outputs_stops_at_once(project):
    """While one run holds outputs/.<year>.lock, another on the same folder fails at once, touching nothing."""
    from filelock import FileLock

    from rap.build.pipeline import RunLocked

    out = project / "outputs" / "2024"
    before = tree(out, skip=())
    with FileLock(project / "outputs" / ".2024.lock"):
        t0 = time.perf_counter()
        with pytest.raises(RunLocked, match="another run is writing"):
            run(project)
        assert time.perf_counter() - t0 < 30, "did not wait for the lock"
    assert tree(out, skip=()) == before and not leftovers(project)
    assert run(project).executed == []  # released: the next run goes ahead


def test_the_build_imports_and_shares_work_without_fcntl(tmp_path):
    """Windows has no fcntl: nothing of rap imports it (the locks are filelock's), and the shared cache still
    makes each part once."""
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "rap"
    importers = []
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if "fcntl" in names:
                importers.append(path.relative_to(src).as_posix())
    assert importers == []
    code = (
        "import sys; sys.modules['fcntl'] = None; "
        "import rap.core.cache, rap.core.processes, rap.build.runner, rap.build.pipeline, rap.build.manifest, rap.cli; "
        "from pathlib import Path; "
        f"print(rap.core.cache.shared_pickles(Path({str(tmp_path)!r}), ['a', 'b'], lambda n: n * 2))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'a': 'aa', 'b': 'bb'}"


def test_worker_processes_off_linux_spawn_and_skip_the_death_signal(monkeypatch):
    """prctl(PR_SET_PDEATHSIG) is Linux's: elsewhere die_with_parent does nothing, and workers are spawned."""
    import ctypes

    from rap.core import processes

    loaded: list[str] = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name, **kw: loaded.append(name))
    monkeypatch.setattr(sys, "platform", "win32")
    processes.die_with_parent()
    assert loaded == []
    assert processes.mp_context().get_start_method() == "spawn"
    monkeypatch.setattr(sys, "platform", "linux")
    assert processes.mp_context().get_start_method() == "fork"
