"""The generator's fingerprint, in a module of its own: checking whether synthetic data are up to date must not
import the generator (scipy.stats and the model take over a second to import on every run)."""

from __future__ import annotations


def generator_fingerprint() -> str:
    """sha256 of the generator's code and data (this package and the calibration targets): synthetic data
    made by other code are regenerated rather than silently reused."""
    from rap.core.codehash import code_hash

    return code_hash("rap.synth.build")
