"""display.table / display.figure in a real kernel, then through the pandoc backend."""

from __future__ import annotations

import nbformat
import pytest

from rap.report import build_project, render

nbclient = pytest.importorskip("nbclient")

CELLS = [
    ("markdown", "# Kernel chapter\n\nSee @tbl-kernel and @fig-kernel."),
    (
        "code",
        "import pandas as pd\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nfrom rap.present import display",
    ),
    (
        "code",
        "#| label: tbl-kernel\n#| tbl-cap: ignored\n"
        "display.table(pd.DataFrame({'Group': ['A', 'B'], 'Number': [1234, 'c']}), 'tbl-kernel', 'Kernel table')",
    ),
    (
        "code",
        "#| label: fig-kernel\nfig, ax = plt.subplots(figsize=(3, 2))\nax.bar(['A', 'B'], [1, 2])\n"
        "display.figure(fig, 'fig-kernel', 'Kernel figure', alt='Two bars, B twice A')",
    ),
]


def test_kernel_outputs_render(tmp_path):
    nb = nbformat.v4.new_notebook()
    for kind, src in CELLS:
        nb.cells.append(nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src))
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outs = nb.cells[2].outputs
    assert [o.output_type for o in outs] == ["display_data"] and "text/markdown" in outs[0].data
    fig_outs = nb.cells[3].outputs
    assert len(fig_outs) == 1, "the figure must be shown once (closed after display)"
    path = tmp_path / "stage" / "01_kernel.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    build_project([path], tmp_path / "r", title="T", subtitle="S", summary_md="x", year=2024, formats=("html",))
    html = render(tmp_path / "r", renderer="pandoc")["html"].read_text()
    assert "<caption>Table 1.1: Kernel table</caption>" in html and "1,234" in html and "[c]" in html
    assert 'alt="Two bars, B twice A"' in html and "Figure 1.1: Kernel figure" in html
    assert "display.table" not in html
