"""Care leavers: activity and accommodation at ages 17 to 21 (DfE definitions).

DfE ("Children looked after in England", care leavers; DfE's SSDA903 guidance): the SSDA903 OC3
table holds young people formerly looked after whose 17th to 21st birthday fell in the collection year. Age is
the age *at that birthday*, i.e. the age on 31 March ``Y`` computed from OC3 DOB (a birthday on or after 1 April
falls in the previous calendar year of the collection year). Rows of other ages are left out.

Measures (``breakdown`` = age group ``17 to 18`` or ``19 to 21``):

* ``care_leavers_eet``: ``number`` in education, employment or training, ACTIV in F1, P1, F2, P2, F4, P4, F5, P5;
* ``care_leavers_accommodation``: ``number`` in suitable accommodation, ACCOM ending in 1 (B1 ... Z1);

``denominator`` = *all* care leavers of the age group in the return, as DfE's percentages are: young people
not in touch (IN_TOUCH NO, REFU, ...), whose activity or accommodation is not known (code 0) or who died are in
the denominator and not in the numerator (DfE shows them as separate "information not known" categories).

* ``care_leavers_activity``: the DfE activity categories by single age as the national release publishes them
  by ethnicity (``breakdown`` "17 years: <category>", "18 years: ...", "19 to 21 years: ..."), denominator the
  age group's care leavers, so record-level figures can be set beside ``published.from_published``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rap.measures.common import KEY, Spec, age_on, finish

EET_CODES = ("F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5")
AGE_GROUPS = {"17 to 18": (17, 18), "19 to 21": (19, 20, 21)}
#: DfE activity categories (labels as in national_activity_of_care_leaver_by_placement_ethnicity.csv).
ACTIVITY = {
    "Higher education i.e. studies beyond A level": ("F1", "P1"),
    "Education other than higher education": ("F2", "P2"),
    "In training or employment": ("F4", "P4", "F5", "P5"),
    "In an apprenticeship": ("F4", "P4"),
    "In training or employment (excl. apprenticeship)": ("F5", "P5"),
    "Not in education, employment or training": ("G4", "G5", "G6"),
    "Information not known": ("0",),
}
ACTIVITY_AGES = {"17 years": (17,), "18 years": (18,), "19 to 21 years": (19, 20, 21)}
TOTAL_CARE_LEAVERS = "Total care leavers"


def activity_breakdowns() -> list[str]:
    return [f"{a}: {c}" for a in ACTIVITY_AGES for c in [*ACTIVITY, TOTAL_CARE_LEAVERS]]


def _oc3(data, years: list[int]) -> pd.DataFrame:
    oc3 = data.ssda903["OC3"]
    oc3 = oc3.loc[oc3["YEAR"].isin(years), KEY + ["DOB", "IN_TOUCH", "ACTIV", "ACCOM"]]
    oc3 = oc3.assign(age=age_on(oc3["DOB"], oc3["YEAR"]))
    return oc3.loc[oc3["age"].between(17, 21)]


def care_leavers(data, years: list[int]) -> pd.DataFrame:
    """``care_leavers_eet``, ``care_leavers_accommodation`` and ``care_leavers_activity`` stacked (see the
    module docstring). The ``measure`` column tells them apart."""
    oc3 = _oc3(data, years)
    activ = oc3["ACTIV"].fillna("").str.strip()
    accom = oc3["ACCOM"].fillna("").str.strip()
    eet = activ.isin(EET_CODES).to_numpy(dtype="int64")
    suitable = (accom.str.endswith("1") & (accom != "0")).to_numpy(dtype="int64")
    out = []
    for measure, flag in (("care_leavers_eet", eet), ("care_leavers_accommodation", suitable)):
        parts = []
        for label, ages in AGE_GROUPS.items():
            sel = oc3["age"].isin(ages).to_numpy()
            parts.append(oc3.loc[sel, KEY].assign(breakdown=label, number=flag[sel], denominator=1))
        units = pd.concat(parts, ignore_index=True)
        out.append(finish(units, Spec(measure, list(AGE_GROUPS), denominator=tuple(AGE_GROUPS)), data, years))
    parts = []
    for age_label, ages in ACTIVITY_AGES.items():
        sel = oc3["age"].isin(ages).to_numpy()
        base = oc3.loc[sel, KEY]
        a = activ[sel]
        for cat, codes_ in [*ACTIVITY.items(), (TOTAL_CARE_LEAVERS, None)]:
            num = np.ones(len(base), dtype="int64") if codes_ is None else a.isin(codes_).to_numpy(dtype="int64")
            parts.append(base.assign(breakdown=f"{age_label}: {cat}", number=num, denominator=1))
    units = pd.concat(parts, ignore_index=True)
    brk = activity_breakdowns()
    out.append(finish(units, Spec("care_leavers_activity", brk, denominator=tuple(brk)), data, years))
    return pd.concat(out, ignore_index=True)
