"""Vectorised sampling helpers of the generator: weights to probabilities, per-row inverse CDFs, repeats."""

from __future__ import annotations

import numpy as np


def norm(a: np.ndarray) -> np.ndarray:
    """Non-negative weights scaled to sum to 1 (negative weights count as 0)."""
    a = np.clip(np.asarray(a, dtype=float), 0, None)
    return a / a.sum()


def sample_rows(cum: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category index for each item: inverse CDF of row ``row[k]`` of ``cum`` at ``u[k]`` (no N x K matrix)."""
    out = np.empty(len(row), dtype=np.int64)
    order = np.argsort(row, kind="stable")
    rs = row[order]
    bounds = np.flatnonzero(np.r_[True, rs[1:] != rs[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = order[a:b]
        out[idx] = np.searchsorted(cum[rs[a]], u[idx], side="right")
    return np.minimum(out, cum.shape[1] - 1)


def repeat_offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts [2, 0, 3] return owners [0, 0, 2, 2, 2] and positions [0, 1, 0, 1, 2]."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    pos = np.arange(len(owner)) - first[owner]
    return owner, pos
