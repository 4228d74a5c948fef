"""Charts in the Government Analysis Function style (afcharts palette and matplotlib style) with seaborn.

Every chart function returns a :class:`Chart`: the figure, a title that states the finding, alt text that
describes it for people who cannot see it, and the data behind it (published beside the chart as a table).
The title is the figure's caption in every format, not drawn in the image (drawn, it appeared twice and took a
third of the chart's height); figures are about as wide as a printed page's text (7.5 inches) with labels
of 10 points, so the PDF shows them near their true size.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


#: What a chart writes where a group has no value: the published symbol, in words.
_NOT_SHOWN = {"c": "[c] suppressed", "x": "[x] not available", "low": "[low] fewer than 5"}


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
    fig, ax = plt.subplots(figsize=(9, height))
    sns.heatmap(
        grid.astype(float),
        ax=ax,
        cmap=cmap,
        vmin=0,
        vmax=1,
        annot=grid.map(lambda v: "" if pd.isna(v) else f"{v:.0%}"),
        fmt="",
        annot_kws={"fontsize": 10},
        linewidths=0.5,
        linecolor="#BFBFBF",
        cbar_kws={"label": value_label, "format": matplotlib.ticker.PercentFormatter(1.0)},
    )
    ax.set_xlabel("Collection year (ending 31 March)")
    ax.set_ylabel("")
    fig.tight_layout()
    return Chart(fig, title, alt, grid.reset_index())


def funnel_plot(funnel: pd.DataFrame, title: str, alt: str, level_label: str = "99.8%") -> Chart:
    """Each LA's known-ethnicity share against its number of children, with England's value and 95% and
    99.8% limits (overdispersion-adjusted); flagged LAs drawn in the contrast colour and named."""
    f = funnel.sort_values("children")
    dark, orange = get_af_colours("duo")
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.plot(f["children"], f["adj_lower_95"], color="#3D3D3D", lw=1, ls="--", label="95% limits")
    ax.plot(f["children"], f["adj_upper_95"].clip(upper=1), color="#3D3D3D", lw=1, ls="--")
    ax.plot(f["children"], f["adj_lower_99_8"], color="#3D3D3D", lw=1.2, label=f"{level_label} limits")
    ax.plot(f["children"], f["adj_upper_99_8"].clip(upper=1), color="#3D3D3D", lw=1.2)
    ax.axhline(f["target"].iloc[0], color=dark, lw=1, label="England")
    normal = f[~f["flagged"]]
    flagged = f[f["flagged"]]
    ax.scatter(normal["children"], normal["known_share"], s=14, color=dark, alpha=0.7, label="Local authority")
    ax.scatter(flagged["children"], flagged["known_share"], s=40, color=orange, marker="D", label="Below the limit")
    for r in flagged.itertuples():
        ax.annotate(r.la_name, (r.children, r.known_share), textcoords="offset points", xytext=(5, -3), fontsize=10)
    ax.set_xlabel("Children in the return (number)")
    ax.set_ylabel("Ethnicity known (%)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower right", frameon=False, fontsize=10)
    fig.tight_layout()
    data = f[["la_name", "children", "known_share", "adj_lower_99_8", "flagged"]].reset_index(drop=True)
    return Chart(fig, title, alt, data)


def ratio_funnel_plot(
    points: pd.DataFrame, limits: pd.DataFrame, title: str, alt: str, level_label: str = "99.8%"
) -> Chart:
    """Observed/expected ratios against expected count (log scale), with the target 1 and overdispersion-
    adjusted 95% and ``level_label`` limits; LAs outside the outer limits in the contrast colour and named.

    ``points``: la_name, expected, ratio, flagged (bool). ``limits``: expected, lower_95, upper_95, lower_outer,
    upper_outer (a smooth grid)."""
    dark, orange = get_af_colours("duo")
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    lim = limits.sort_values("expected")
    ax.plot(lim["expected"], lim["lower_95"], color="#3D3D3D", lw=1, ls="--", label="95% limits")
    ax.plot(lim["expected"], lim["upper_95"], color="#3D3D3D", lw=1, ls="--")
    ax.plot(lim["expected"], lim["lower_outer"], color="#3D3D3D", lw=1.2, label=f"{level_label} limits")
    ax.plot(lim["expected"], lim["upper_outer"], color="#3D3D3D", lw=1.2)
    ax.axhline(1.0, color=dark, lw=1, label="As England's rates predict")
    normal = points[~points["flagged"]]
    flagged = points[points["flagged"]]
    ax.scatter(normal["expected"], normal["ratio"], s=14, color=dark, alpha=0.7, label="Local authority")
    ax.scatter(
        flagged["expected"], flagged["ratio"], s=40, color=orange, marker="D", label=f"Outside the {level_label} limits"
    )
    for r in flagged.itertuples():
        ax.annotate(r.la_name, (r.expected, r.ratio), textcoords="offset points", xytext=(5, -3), fontsize=10)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("Expected children looked after (number, log scale)")
    ax.set_ylabel("Observed / expected")
    ax.legend(loc="upper right", frameon=False, fontsize=10)
    fig.tight_layout()
    data = points[["la_name", "expected", "ratio", "flagged"]].reset_index(drop=True)
    return Chart(fig, title, alt, data)


def group_lines(frame: pd.DataFrame, title: str, alt: str, ylabel: str) -> Chart:
    """One line per group over the years (Analysis Function categorical palette), each labelled at its end so
    the legend is not needed to tell them apart."""
    groups = list(dict.fromkeys(frame["group"]))
    colours = dict(zip(groups, palette(len(groups)) if len(groups) <= 6 else palette(6) * 2))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sns.lineplot(data=frame, x="year", y="value", hue="group", palette=colours, marker="o", ax=ax, legend=False)
    last = frame[frame["year"] == frame["year"].max()].dropna()
    for r in last.itertuples():
        ax.annotate(
            f"{r.group} ({r.value:,.0f})",
            (r.year, r.value),
            textcoords="offset points",
            xytext=(6, -3),
            fontsize=10,
            color=colours[r.group],
        )
    ax.set_xticks(sorted(frame["year"].unique()))
    ax.set_xlim(frame["year"].min() - 0.2, frame["year"].max() + 1.6)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Year ending 31 March")
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return Chart(fig, title, alt, frame.reset_index(drop=True))


def share_bars(
    labels: pd.Series, shares: pd.Series, title: str, alt: str, xlabel: str, highlight: pd.Series | None = None
) -> Chart:
    """Horizontal bars of shares (0-1) with the value written at the end of each bar (no legend needed)."""
    dark, orange = get_af_colours("duo")
    colours = [orange if h else dark for h in (highlight if highlight is not None else [False] * len(labels))]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(labels) + 1.4))
    frame = pd.DataFrame({"label": labels.astype(str).to_numpy(), "share": shares.to_numpy(dtype=float)})
    sns.barplot(
        data=frame,
        x="share",
        y="label",
        hue="label",
        palette=dict(zip(frame["label"], colours)),
        legend=False,
        ax=ax,
        orient="h",
    )
    ax.set_ylabel("")
    for i, v in enumerate(shares.to_numpy()):
        ax.text(v + 0.01, i, f"{v:.0%}", va="center", fontsize=10)
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    return Chart(fig, title, alt, pd.DataFrame({"label": labels.to_numpy(), "share": shares.to_numpy()}))


def interval_dots(
    labels: pd.Series,
    values: pd.Series,
    lower: pd.Series,
    upper: pd.Series,
    title: str,
    alt: str,
    xlabel: str,
    reference: float | None = None,
    reference_label: str = "",
) -> Chart:
    """Each group's value as a dot with its 95% interval as a line (Analysis Function dark blue), an optional
    reference line (e.g. all children), and the value written beside each dot so colour is not needed."""
    dark = get_af_colours("duo")[0]
    v, lo, hi = (pd.to_numeric(s, errors="coerce").to_numpy(dtype=float) for s in (values, lower, upper))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(labels) + 1.5))
    y = list(range(len(labels)))
    ax.hlines(y, lo, hi, color=dark, lw=2)
    sns.scatterplot(x=v, y=y, color=dark, s=55, ax=ax, zorder=3)
    places = 1 if np.nanmax(np.append(v, 0)) < 10 else 0  # a rare event's rates (adoptions) need the decimal
    for i, (val, shown) in enumerate(zip(v, values.astype(str))):
        if val != val and shown in _NOT_SHOWN:  # a group with no dot says why
            ax.annotate(_NOT_SHOWN[shown], (0, i), textcoords="offset points", xytext=(4, -3), fontsize=10)
        if val == val:  # not NaN
            ax.annotate(
                f"{val:,.{places}f}",
                (hi[i] if hi[i] == hi[i] else val, i),
                textcoords="offset points",
                xytext=(6, -3),
                fontsize=10,
            )
    if reference is not None:
        ax.axvline(reference, color="#3D3D3D", lw=1, ls="--")
        ax.annotate(
            reference_label,
            (reference, len(labels) - 0.5),
            textcoords="offset points",
            xytext=(4, 0),
            fontsize=10,
            color="#3D3D3D",
        )
    ax.set_yticks(y, labels.tolist())
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_xlim(left=0)
    fig.tight_layout()
    data = pd.DataFrame({"group": labels.to_numpy(), "value": v, "lower": lo, "upper": hi})
    return Chart(fig, title, alt, data)
