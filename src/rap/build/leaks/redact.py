"""The executed notebook of a failed section, made fit to keep under ``outputs/<year>.failed/``.

A failing notebook is what its author needs to see, but it ran on record-level data: a stray ``print`` of a
row, a traceback quoting a value, a chart titled with an id. Before it is kept, every identifier and every
date the leak scan would report is masked as the scan's messages mask them (``[child id]``, ``[date]``,
...), every image is removed (the scan cannot read its text) and a first cell says what was done. The result
is scanned again; if anything is still found, the outputs are dropped, and if even that is not enough the
notebook is not kept at all.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rap.build.leaks import Finding, file_findings
from rap.build.leaks.match import mask, strip_data_uris
from rap.build.leaks.needles import KINDS, Needles

__all__ = ["mask_text", "redact_notebook", "write_redacted"]


def mask_text(text: str, needles: Needles) -> str:
    """``text`` with what the scan reports masked (ids, postcodes, dates of birth and dates in their range)."""
    return mask(text, needles, every_date=False)


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` (JSON) with ``fn`` applied to every string in it."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    return value


def _redacted_output(out: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    out = dict(out)
    if isinstance(out.get("data"), dict):
        out["data"] = {k: v for k, v in out["data"].items() if not k.startswith("image/")}
    return _walk(out, lambda s: fn(strip_data_uris(s)))


def _findings(nb: dict[str, Any], needles: Needles) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="rap-redact-") as tmp:
        path = Path(tmp) / "notebook.ipynb"
        path.write_text(json.dumps(nb), encoding="utf-8")
        return file_findings(path, "notebook.ipynb", needles, 0, 1)[0]


def _note(found: list[Finding], outputs_dropped: bool) -> dict[str, Any]:
    counts = Counter(f.kind for f in found)
    what = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]) or "nothing"
    text = (
        "**Redacted before it was kept.** This section failed; its executed notebook ran on record-level data, "
        f"so the leak scan masked what it found ({what}) as `[child id]`, `[date]` and so on, and removed "
        "every image."
        + (" Its outputs were removed too: masking was not enough." if outputs_dropped else "")
        + " Run the notebook in Jupyter to see it whole."
    )
    return {"cell_type": "markdown", "id": "rap-redacted", "metadata": {}, "source": text}


def redact_notebook(nb: dict[str, Any], needles: Needles) -> tuple[dict[str, Any] | None, list[Finding]]:
    """(The notebook with identifiers masked and images removed, or None if it cannot be made clean; what
    the scan found in it before.)"""
    found = _findings(nb, needles)

    def fn(s: str) -> str:
        return mask_text(s, needles)

    def redacted(drop_outputs: bool) -> dict[str, Any]:
        cells = []
        for cell in nb.get("cells", []):
            cell = {k: _walk(v, fn) if k == "metadata" else v for k, v in cell.items() if k != "attachments"}
            cell["source"] = _walk(cell.get("source", ""), lambda s: fn(strip_data_uris(s)))
            if "outputs" in cell:
                cell["outputs"] = [] if drop_outputs else [_redacted_output(o, fn) for o in cell["outputs"]]
            cells.append(cell)
        # the notebook's and cells' metadata too: the scan does not read them (papermill's timestamps), but
        # what is kept must hold nothing of the data
        return {**nb, "metadata": _walk(nb.get("metadata", {}), fn), "cells": [_note(found, drop_outputs), *cells]}

    for drop_outputs in (False, True):
        candidate = redacted(drop_outputs)
        if not _findings(candidate, needles):
            return candidate, found
    return None, found


def write_redacted(source: Path, target: Path, needles: Needles) -> list[Finding]:
    """Write the redacted copy of the notebook ``source`` to ``target`` (nothing if it cannot be made clean:
    ``target`` then does not exist); return what the scan found in it before."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    clean, found = redact_notebook(nb, needles)
    if clean is not None:
        target.write_text(json.dumps(clean, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return found
