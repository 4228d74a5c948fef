"""Worker processes a build starts: how they are started, and that they die with the process that started them.

Used by the section runner (``rap.build.runner``: one worker per notebook) and the pipeline
(``rap.build.pipeline``: the spreadsheet written beside the report). Imports nothing of ``rap``. Importable on
every platform: the Linux-only parts are looked up when called, not at import.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from multiprocessing.context import BaseContext

#: ``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``: "send me this signal when my parent dies".
_PR_SET_PDEATHSIG = 1


def mp_context() -> BaseContext:
    """fork on Linux: workers inherit the imported papermill/nbformat (nbformat alone takes ~1.5 s to import),
    and do not re-run ``__main__`` (spawn cannot start workers from ``python -`` or some notebook set-ups).
    spawn elsewhere (macOS, Windows), where fork is unsafe or missing."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def die_with_parent() -> None:
    """Worker initializer: on Linux, get SIGKILLed when the parent process dies (so a killed run stops instead
    of writing on into a staging folder nobody will swap in). Does nothing on other platforms, where a
    killed run leaves its workers to finish (the next run removes what they wrote)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # parent already gone before prctl took effect
            os._exit(1)
