"""Row labels for matching rows: the values of some columns joined into one string, vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEP = "\x1f"  # never in published text


def labels(frame: pd.DataFrame, columns: list[str], extra: pd.Series | np.ndarray | None = None) -> np.ndarray:
    """One label per row: ``columns`` (and ``extra``) joined with an invisible separator."""
    out = np.full(len(frame), "", dtype=object)
    for c in columns:
        out = out + SEP + frame[c].astype(str).to_numpy(dtype=object)
    if extra is not None:
        out = out + SEP + np.asarray(extra, dtype=object).astype(str).astype(object)
    return out


def isin(values: np.ndarray, pool: object) -> np.ndarray:
    """``np.isin`` by hashing (numpy's is quadratic on text)."""
    return pd.Series(np.asarray(values, dtype=object)).isin(pd.unique(pd.Series(list(pool), dtype=object))).to_numpy()
