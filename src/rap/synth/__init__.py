"""Synthetic record-level data for the pipeline: SSDA903 returns, school extract, population, ground truth.

``generate(params, out_dir=None) -> Path`` writes the layout of ``docs/data-contract.md``. The model and its
calibration are described in ``rap.synth.journeys``; defects in ``rap.synth.defects``; targets (extracted from
published DfE and ONS files) in ``rap/data/synth_targets.yaml``, rebuilt by ``python -m rap.synth.targets``.

Postcodes: HOME_POST and PL_POST are left blank (made-up postcodes trip the DfE validator's distance rules; real
ones would need the ONS postcode directory). URN is ``XXXXXXX`` (not known) for K1, K2, R1, R2, R5 and S1
placements and blank otherwise.
"""

from .build import generate, simulate
from .upn import check_letter, is_valid

__all__ = ["generate", "simulate", "check_letter", "is_valid"]
