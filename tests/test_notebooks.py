"""The section notebooks as committed: one parameters cell, no outputs, cross-reference labels unique across
the report (Quarto and Typst reject a label used twice, and only a full render would otherwise tell)."""

from __future__ import annotations

import re
from collections import Counter

import nbformat
import pytest

from rap.core.errors import ParamsError
from rap.sections.common import setup

LABEL = re.compile(r"""["'](?P<label>(?:tbl|fig)-[a-z0-9-]+)["']""")


def _notebooks(repo_root):
    return sorted((repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_sections_have_one_parameters_cell_and_no_outputs(repo_root):
    assert len(_notebooks(repo_root)) >= 5
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


def test_literal_labels_are_unique_across_sections(repo_root):
    seen: Counter[str] = Counter()
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                seen.update(m.group("label") for m in LABEL.finditer(cell.source))
    assert seen, "no labels found"
    assert [k for k, n in seen.items() if n > 1] == []


#: The suppression threshold written out as a number in prose: it is a parameter, so the text must take it from
#: ``params.suppression.threshold`` ("1 to {threshold}"), or a run with another threshold would say the wrong thing.
FIXED_THRESHOLD = re.compile(r"\b1 to \d+ child|\bnot only 1 to \d|rests on 1 to \d")


def test_no_notebook_writes_the_suppression_threshold_as_a_number(repo_root):
    found = []
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        found += [f"{path.name}: {m.group(0)!r}" for c in nb.cells for m in FIXED_THRESHOLD.finditer(c.source)]
    assert found == []


#: A branch on the kind's name (``params.data.kind == "published"``): only the inputs layer may ask it.
KIND_NAME = re.compile(r"\bdata\.kind\b|\.kind\s*[!=]=")


def test_notebooks_and_sections_ask_the_inputs_not_the_kind_name(repo_root):
    found = []
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and KIND_NAME.search(cell.source):
                found.append(f"{path.name} cell {i}")
    for path in sorted((repo_root / "src" / "rap" / "sections").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if KIND_NAME.search(line):
                found.append(f"{path.relative_to(repo_root)}:{n}")
    assert found == []


def test_each_notebook_starts_with_the_one_setup_line(repo_root):
    for path in _notebooks(repo_root):
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert code.count("params, data, out = setup(params_file, out_dir, year)") == 1, path.name
        assert "load_params" not in code and "section_output" not in code, path.name


def test_setup_refuses_a_year_that_differs_from_the_params_file(repo_root, tmp_path):
    params_file = repo_root / "params" / "2024.yaml"
    with pytest.raises(ParamsError, match="year parameter 2023 differs"):
        setup(params_file, tmp_path / "out", 2023)
    params, data, out = setup(params_file, tmp_path / "out", "2024")
    assert params.year == 2024 and data.params is params and out.is_dir()
