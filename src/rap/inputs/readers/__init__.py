"""Readers of every input: SSDA903 returns, the school extract, published EES files and populations.

Each record-level reader returns a :class:`ReadResult` (validated frames by table plus problems with file,
line, column, value and reason); structural problems raise :class:`rap.core.errors.InputError`.

The readers import ``rap.core`` and ``rap.domain`` (the SSDA903 spec, code lists, LA codes) and each other; the
front door that decides which to call for a ``data.kind`` is ``rap.inputs.load``.
"""

from rap.inputs.readers.quarantine import ReadResult, Rule, rejected_share, write_rejected

__all__ = ["ReadResult", "Rule", "rejected_share", "write_rejected"]
