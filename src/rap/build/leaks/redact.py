"""The executed notebook of a failed section, made fit to keep under ``outputs/<year>.failed/``.

A failing notebook is what its author needs to see, but it ran on record-level data: a stray ``print`` of a
row, a traceback quoting a value, a chart titled with an id. Before it is kept, every identifier and every
date the leak scan would report is masked as the scan's messages mask them (``[child id]``, ``[date]``,
...), every image is removed (the scan cannot read its text) and a first cell says what was done. The result
is scanned again; if anything is still found, the outputs are dropped, and if even that is not enough the
notebook is not kept at all. When the inputs' identifiers cannot be read (the inputs may be why the section
failed), every date and everything shaped like an identifier is masked instead.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rap.build.leaks import Finding, file_findings
from rap.build.leaks.dates import date_spans
from rap.build.leaks.match import mask, strip_data_uris
from rap.build.leaks.needles import KINDS, Needles

__all__ = ["mask_text", "redact_notebook", "write_redacted"]


#: without the inputs' identifiers: anything shaped like one (letters and digits, six or more, with a
#: digit; a postcode; a UPN is such a token too)
_ID_LIKE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{6,}(?![A-Za-z0-9])")
_POSTCODE_LIKE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[\s\-_./]{0,3}[0-9][A-Za-z]{2}(?![A-Za-z0-9])"
)


def mask_text(text: str, needles: Needles | None) -> str:
    """``text`` with what the scan reports masked (ids, postcodes, dates of birth and dates in their range);
    with no needles (the inputs could not be read), every date and everything shaped like an identifier."""
    if needles is not None:
        return mask(text, needles, every_date=False)
    for s, e, _ in reversed(date_spans(text)):
        text = text[:s] + "[date]" + text[e:]
    return _ID_LIKE.sub("[identifier]", _POSTCODE_LIKE.sub("[postcode]", text))


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


def _note(found: list[Finding] | None, outputs_dropped: bool) -> dict[str, Any]:
    if found is None:
        what = (
            "the inputs' identifiers could not be read, so every date and everything shaped like an identifier "
            "was masked"
        )
    else:
        counts = Counter(f.kind for f in found)
        found_here = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]) or "nothing"
        what = f"the leak scan masked what it found ({found_here}) as `[child id]`, `[date]` and so on"
    text = (
        f"**Redacted before it was kept.** This section failed; its executed notebook ran on record-level data: "
        f"{what}, and every image was removed."
        + (" Its outputs were removed too: masking was not enough." if outputs_dropped else "")
        + " Run the notebook in Jupyter to see it whole."
    )
    return {"cell_type": "markdown", "id": "rap-redacted", "metadata": {}, "source": text}


def redact_notebook(nb: dict[str, Any], needles: Needles | None) -> tuple[dict[str, Any] | None, list[Finding]]:
    """(The notebook with identifiers masked and images removed, or None if it cannot be made clean; what
    the scan found in it before.) With no needles, everything shaped like an identifier is masked instead
    (:func:`mask_text`), and nothing can be found to check the result against."""
    found = _findings(nb, needles) if needles is not None else None

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

    if needles is None:
        return redacted(False), []
    assert found is not None
    for drop_outputs in (False, True):
        candidate = redacted(drop_outputs)
        if not _findings(candidate, needles):
            return candidate, found
    return None, found


def write_redacted(source: Path, target: Path, needles: Needles | None) -> list[Finding]:
    """Write the redacted copy of the notebook ``source`` to ``target`` (nothing if it cannot be made clean:
    ``target`` then does not exist); return what the scan found in it before."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    clean, found = redact_notebook(nb, needles)
    if clean is not None:
        target.write_text(json.dumps(clean, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return found
