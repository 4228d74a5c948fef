"""The generator's fingerprint, in a module of its own: checking whether synthetic data are up to date must not
import the generator (scipy.stats and the model take over a second to import on every run)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def generator_fingerprint() -> str:
    """sha256 of the generator's code and data (this package and the calibration targets): synthetic data
    made by other code are regenerated rather than silently reused."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    files = sorted(p for p in here.iterdir() if p.suffix in {".py", ".csv"})
    files.append(here.parent / "data" / "synth_targets.yaml")
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()
