"""Charts in the Government Analysis Function style (afcharts palette and matplotlib style) with seaborn.

Every chart function returns a :class:`Chart`: the figure, a title that states the finding, alt text that
describes it for people who cannot see it, and the data behind it (published beside the chart as a table).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from afcharts.af_colours import get_af_colours  # noqa: E402

plt.style.use("afcharts.afcharts")


@dataclass(frozen=True)
class Chart:
    figure: plt.Figure
    title: str
    alt: str
    data: pd.DataFrame


def palette(n: int) -> list[str]:
    """The Analysis Function categorical palette, in its order, for ``n`` categories (at most 6)."""
    if n == 1:
        return get_af_colours("categorical", number_of_colours=2)[:1]
    if n == 2:
        return get_af_colours("duo")
    return get_af_colours("categorical", number_of_colours=min(n, 6))


def availability_heatmap(grid: pd.DataFrame, title: str, alt: str, value_label: str) -> Chart:
    """A heatmap of availability (rows: collections, columns: years) on the sequential palette.

    ``grid`` holds shares 0-1 (e.g. share of LAs with data); cells are annotated with whole percentages so
    the chart does not rely on colour alone.
    """
    seq = get_af_colours("sequential", number_of_colours=3)
    cmap = matplotlib.colors.LinearSegmentedColormap.from_list("af_seq", ["#FFFFFF", *seq[::-1]])
    height = 0.45 * len(grid) + 1.6
    fig, ax = plt.subplots(figsize=(11, height))
    sns.heatmap(
        grid.astype(float),
        ax=ax,
        cmap=cmap,
        vmin=0,
        vmax=1,
        annot=grid.map(lambda v: "" if pd.isna(v) else f"{v:.0%}"),
        fmt="",
        annot_kws={"fontsize": 8},
        linewidths=0.5,
        linecolor="#BFBFBF",
        cbar_kws={"label": value_label, "format": matplotlib.ticker.PercentFormatter(1.0)},
    )
    ax.set_title(title, loc="left", wrap=True)
    ax.set_xlabel("Collection year (ending 31 March)")
    ax.set_ylabel("")
    fig.tight_layout()
    return Chart(fig, title, alt, grid.reset_index())
