"""rap.present.display: Markdown tables and figures that both Quarto and pandoc read."""

import base64
import re

import pandas as pd
import pytest

from rap.present import display


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
    assert re.fullmatch(r"\|:-+\|-+:\|-+:\|", md.splitlines()[1])  # numeric columns right-aligned
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
    monkeypatch.setattr(display, "_display_markdown", lambda md, plain, metadata=None: shown.append((md, plain)))
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

    from rap.present.display import table_markdown

    md = table_markdown(pd.DataFrame({"pct": [1.0, 1.25, 2.35]}), "tbl-r", "Rounding")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "pct" not in line]
    assert rows == ["| 1.0 |", "| 1.3 |", "| 2.4 |"]


def test_table_columns_are_sized_by_their_content():
    """Pandoc sizes a long table's columns by the separator's dashes: every column gets at least its longest
    word (so no word runs into the next column), and long text gets the room that is left."""
    names = ["Kingston upon Hull, City of", "York"]
    df = pd.DataFrame(
        {
            "Local authority name": names,
            "Children (latest year)": [162446, 2],
            "Notes": ["a long note that will have to wrap " * 3, "short"],
        }
    )
    sep = display.table_markdown(df, "tbl-w", "c").splitlines()[1]
    widths = [len(c.strip(":")) for c in sep.strip("|").split("|")]
    pad = display.CELL_PADDING
    assert widths[1] >= len("162,446") + pad and widths[1] >= round(len("(latest") * display.BOLD) + pad
    assert widths[0] >= len("Kingston") + pad
    assert widths[2] > widths[0] > widths[1]  # the longest text gets the most room
    assert abs(sum(widths) - display.TABLE_CHARS) <= len(widths)
    # a table that fits: each column as wide as its content ("Group" in bold: 6; "n": 2), plus padding
    short = pd.DataFrame({"Group": ["White", "Mixed"], "n": [1, 2]})
    assert (
        display.table_markdown(short, "tbl-s", "c").splitlines()[1]
        == "|:" + "-" * (6 + pad) + "|" + "-" * (2 + pad) + ":|"
    )
    assert display.BOLD * len("Group") <= 6


def test_one_long_word_does_not_take_the_table():
    """An unbreakable id gets no more than LONGEST_WORD characters as its minimum, so the other columns keep
    room for their own words."""
    df = pd.DataFrame(
        {
            "Figure": ["care_leavers_accommodation_17_18, Other ethnic group"] * 2,
            "Indicator": ["percentage", "value"],
            "2023": [57, 19],
            "2024": [37, 0],
            "Change": ["-20.0", "+1.0"],
        }
    )
    sep = display.table_markdown(df, "tbl-l", "c").splitlines()[1]
    widths = [len(c.strip(":")) for c in sep.strip("|").split("|")]
    assert widths[1] >= round(len("Indicator") * display.BOLD) + display.CELL_PADDING
    assert widths[4] >= round(len("Change") * display.BOLD) + display.CELL_PADDING
