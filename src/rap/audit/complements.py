"""Attack 6: a part and its whole both shown exactly give their difference, a count that was never shown.

"6 of 7 children in foster care" says 1 child is not: a small count (1 to the threshold) published by
subtraction. Only cells known exactly count: published exactly alone, and also pinned by the other attacks when
the combined attacker runs it again on its final bounds (a rounded pair's difference is uncertain; the linear
attacks handle those).
"""

from __future__ import annotations

import numpy as np

from rap.audit.knowledge import Disclosed, Evidence, Knowledge
from rap.audit.relations import excluded, matches


def small_complements(ev: Evidence, lo: np.ndarray, hi: np.ndarray) -> Knowledge:
    """Rows where whole - part is 1 to the threshold, both known exactly (``lo == hi``)."""
    k = Knowledge.start(lo, hi)
    cells = ev.cells
    rows_seen = 0
    for spec in ev.rel.complements:
        for t in ev.tables.values():
            part, whole = cells.of(t.name, spec.part), cells.of(t.name, spec.whole)
            if part is None or whole is None:
                continue
            ok = (part >= 0) & (whole >= 0)
            if spec.where:
                ok &= matches(t.frame, spec.where)
            if spec.unless:
                ok &= ~excluded(t.frame, spec.unless)
            p, w = np.where(ok, part, 0), np.where(ok, whole, 0)
            ok &= (hi[p] - lo[p] < 0.5) & (hi[w] - lo[w] < 0.5) & cells.sensitive[p] & cells.sensitive[w]
            rows = np.flatnonzero(ok)
            rows_seen += len(rows)
            k.examined[part[rows]] = True
            k.examined[whole[rows]] = True
            diff = lo[whole[rows]] - lo[part[rows]]
            for r, dv in zip(rows[(diff >= 1) & (diff <= ev.threshold)], diff[(diff >= 1) & (diff <= ev.threshold)]):
                k.disclosed.append(Disclosed(t.name, int(r), (spec.part, spec.whole), int(dv)))
    k.stats = {"rows": rows_seen}
    return k
