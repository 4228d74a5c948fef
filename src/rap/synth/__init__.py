"""Synthetic record-level data for the pipeline: SSDA903 returns, school extract, population, ground truth.

``generate(params, out_dir=None) -> Path`` writes the layout of ``docs/data-contract.md``. The model and its
calibration are described in ``rap.synth.journeys``; defects in ``rap.synth.defects``; targets (extracted from
published DfE and ONS files) in ``rap/data/synth_targets.yaml``, rebuilt by ``python -m rap.synth.targets``.

Modules, in the order the data are made: ``targets`` (calibration figures), ``journeys`` (inputs, calibration,
periods of care), ``episodes``, ``during_care`` (missing incidents, reviews, social workers), ``leavers`` (OC3),
``postcodes``, ``upn``, ``defects``, ``returns`` (one year's SSDA903 tables), ``school``, ``population``;
``build`` runs them and writes the data set; ``writers``, ``dates`` and ``sampling`` are helpers.
The package imports only ``rap.core`` and ``rap.domain`` (and its own modules).

Postcodes: HOME_POST and PL_POST are real postcodes drawn from a committed extract of the ONS Postcode
Directory (``rap.synth.postcodes``). URN is blank for P1, P2 and Z1, a 7-digit number for supported
accommodation (H5) from 28/10/2023 (blank before), and ``XXXXXXX`` (not known) for other placements
(``rap.synth.episodes``).
"""

from typing import Any

from rap.synth.upn import check_letter, is_valid


def __getattr__(name: str) -> Any:
    """``generate`` and ``simulate`` are imported on first use: the model pulls in scipy.stats (about a second),
    which a run that finds its synthetic data up to date never needs."""
    if name in {"generate", "simulate"}:
        from rap.synth import build

        return getattr(build, name)
    raise AttributeError(name)


__all__ = ["generate", "simulate", "check_letter", "is_valid"]
