"""The section notebooks as committed: one parameters cell, no outputs, cross-reference labels unique across
the report (Quarto and Typst reject a label used twice, and only a full render would otherwise tell)."""

from __future__ import annotations

import re
from collections import Counter

import nbformat

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
