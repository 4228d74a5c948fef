"""Educational outcomes of children looked after for 12 months (DfE "Outcomes for children in need, including
children looked after"; DfE's SSDA903 guidance).

Cohort: children looked after continuously for at least 12 months at 31 March ``Y``. We use **OC2 presence**:
the SSDA903 OC2 table is, by DfE's definition of the return, exactly the children looked after continuously
for 12 months or more at 31 March, so a child with an OC2 row in year ``Y``'s return is in the cohort. Each is
linked by UPN (Header of the same return; UN1-UN5 and blank do not link) to the school extract of the same
year ``Y`` (academic year ``Y-1``/``Y``, results of summer ``Y``); a UPN twice in the extract uses its first row.

Measures (``breakdown = "Total"``; ``denominator`` = cohort pupils with a result for the measure):

* ``ks1_rwm_expected``: KS1 reading, writing and maths at the expected standard (KS1_RWM_EXP = 1); years up to
  2023 only (KS1 teacher assessment became non-statutory after 2022/23);
* ``ks2_reading_expected``, ``ks2_writing_expected``, ``ks2_maths_expected``: each subject at the expected
  standard; denominator pupils with a result in that subject;
* ``ks2_rwm_expected``: all three at the expected standard; denominator pupils with a result in at least one of
  the three (a missing subject counts as not expected: DfE's RWM measure counts pupils without a result in a
  subject as not reaching it);
* ``ks4_em_94``: English and maths at grade 4 or above (KS4_EM_94 = 1);
* ``ks4_attainment8``: ``points_total`` (sum of Attainment 8 scores) and ``pupils`` (pupils with a score), so an
  average (points_total / pupils) can be formed and suppressed later; ``number``/``denominator`` NA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.measures.common import KEY, Spec, child_ethnicity, empty_tidy, finish, merge_on_child, with_linkable_upn

KS1_LAST_YEAR = 2023
TOTAL = "Total"

#: measure id -> (flag columns that must all be 1, first year, last year)
FLAG_MEASURES = {
    "ks1_rwm_expected": (("KS1_RWM_EXP",), None, KS1_LAST_YEAR),
    "ks2_reading_expected": (("KS2_READ_EXP",), None, None),
    "ks2_writing_expected": (("KS2_WRIT_EXP",), None, None),
    "ks2_maths_expected": (("KS2_MAT_EXP",), None, None),
    "ks2_rwm_expected": (("KS2_READ_EXP", "KS2_WRIT_EXP", "KS2_MAT_EXP"), None, None),
    "ks4_em_94": (("KS4_EM_94",), None, None),
}


def cohort_linked(data, years: list[int], eth: pd.DataFrame) -> pd.DataFrame:
    """Children in OC2 of each year's return, with their ethnicity cell and their school row (by UPN)."""
    oc2 = data.ssda903["OC2"]
    oc2 = oc2.loc[oc2["YEAR"].isin(years), KEY].drop_duplicates()
    c = with_linkable_upn(merge_on_child(oc2, eth[KEY + ["_k", "UPN", "cell"]], list(KEY), "inner"))
    sch = data.school["School"]
    if len(sch) == 0:
        return c.iloc[0:0]
    sch = sch.loc[sch["YEAR"].isin(years)]
    sch = sch.loc[~sch.duplicated(["YEAR", "UPN"], keep="first")].drop(columns=["LA", "ETHNIC"], errors="ignore")
    return c.merge(sch, on=["YEAR", "UPN"], how="inner")


def outcomes(data, years: list[int]) -> pd.DataFrame:
    """All outcome measures stacked (``measure`` tells them apart); see the module docstring."""
    eth = child_ethnicity(data)
    linked = cohort_linked(data, years, eth)
    out = []
    for measure, (cols, first, last) in FLAG_MEASURES.items():
        ys = [y for y in years if (first is None or y >= first) and (last is None or y <= last)]
        if not ys:
            continue
        sub = linked.loc[linked["YEAR"].isin(ys)]
        vals = (
            np.stack([pd.to_numeric(sub[c]).to_numpy(dtype="float64", na_value=np.nan) for c in cols])
            if len(sub)
            else np.zeros((len(cols), 0))
        )
        has = (~np.isnan(vals)).any(axis=0)
        ok = (np.nan_to_num(vals, nan=0.0) == 1).all(axis=0)
        units = sub.loc[has, KEY + ["cell"]].assign(breakdown=TOTAL, number=ok[has].astype("int64"), denominator=1)
        out.append(finish(units, Spec(measure, [TOTAL], denominator=(TOTAL,)), data, ys, eth=eth))
    att8 = pd.to_numeric(linked["KS4_ATT8"]) if len(linked) else pd.Series(dtype="float64")
    has = att8.notna().to_numpy()
    units = linked.loc[has, KEY + ["cell"]].assign(breakdown=TOTAL, points_total=att8[has].to_numpy(), pupils=1)
    out.append(finish(units, Spec("ks4_attainment8", [TOTAL], attainment=(TOTAL,)), data, years, eth=eth))
    return pd.concat(out, ignore_index=True) if out else empty_tidy()
