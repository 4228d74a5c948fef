"""rap.report.display: Markdown tables and figures that both Quarto and pandoc read."""

import base64
import re

import pandas as pd
import pytest

from rap.report import display


def test_table_markdown_formats_numbers_symbols_and_hides_index():
    df = pd.DataFrame(
        {"Group": ["White", "Mixed|Other", "Black"], "Number": [59340, "c", None], "Rate": [12.345, 3.0, "x"]},
        index=pd.Index([7, 8, 9], name="hidden_index"),
    )
    md = display.table_markdown(df, "tbl-demo", "Caption with @ sign", notes="Source: test.", decimals={"Rate": 1})
    assert "hidden_index" not in md
    assert "59,340" in md
    assert r"\[c\]" in md and r"\[x\]" in md  # symbols and missing values in brackets
    assert "12.3" in md and "3.0" in md
    assert r"Mixed\|Other" in md  # pipes escaped
    assert md.splitlines()[1] == "|:---|---:|---:|"  # numeric columns right-aligned
    assert re.search(r"^: Caption with \\@ sign \{#tbl-demo\}$", md, re.M)
    assert "Source: test." in md
    assert "Symbols:" in md and "confidential" in md and "not available" in md


def test_label_prefix_added_and_checked():
    df = pd.DataFrame({"a": [1]})
    assert "{#tbl-x}" in display.table_markdown(df, "x", "c")
    with pytest.raises(ValueError):
        display.table_markdown(df, "tbl-bad label", "c")


def test_figure_markdown_embeds_png_with_alt():
    png = b"\x89PNG\r\n\x1a\nfake"
    md = display.figure_markdown(png, "fig-demo", "Caption", 'Alt with "quotes"')
    assert md.startswith("![Caption](data:image/png;base64,")
    assert base64.b64encode(png).decode() in md
    assert md.rstrip().endswith('{#fig-demo fig-alt="Alt with \\"quotes\\""}')
    with pytest.raises(ValueError):
        display.figure_markdown(png, "fig-demo", "Caption", " ")


def test_table_and_figure_emit_markdown_display_data(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "_display_markdown", lambda md, plain: shown.append((md, plain)))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    display.table(pd.DataFrame({"a": [1000]}), "tbl-a", "A table")
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    display.figure(fig, "fig-a", "A figure", alt="A line going up")
    assert shown[0][0].startswith("| a |") and "1,000" in shown[0][0]
    assert shown[1][0].startswith("![A figure](data:image/png;base64,")
    assert not plt.get_fignums()  # closed: the inline backend will not show it again


def test_numbers_round_half_up_with_one_precision_per_column():
    import pandas as pd

    from rap.report.display import table_markdown

    md = table_markdown(pd.DataFrame({"pct": [1.0, 1.25, 2.35]}), "tbl-r", "Rounding")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "pct" not in line]
    assert rows == ["| 1.0 |", "| 1.3 |", "| 2.4 |"]
