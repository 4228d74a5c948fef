"""The school extract reader: schema checks, quarantine, KS1 only up to 2023."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rap.core.errors import InputError
from rap.inputs.readers.school import read_school, upn_check_letter_ok, upn_check_letters_ok

COLS = "UPN,LA,ETHNIC,NCYEAR,SCHOOL_MOVES,MIDYEAR_MOVES,KS1_RWM_EXP,KS2_READ_EXP,KS2_WRIT_EXP,KS2_MAT_EXP,KS4_ATT8,KS4_EM_94"
# Check letter by hand: digits 805200012345 x weights 2..13 = 16+0+20+10+0+0+0+9+20+33+48+65 = 221;
# 221 mod 23 = 14 -> the 15th letter of ABCDEFGHJKLMNPQRTUVWXYZ = Q
GOOD = "Q805200012345"


def test_check_letter():
    assert upn_check_letter_ok(GOOD)
    assert not upn_check_letter_ok("B" + GOOD[1:])
    assert upn_check_letter_ok("UN3") and not upn_check_letter_ok("UN9")


def test_only_unknown_codes_and_dfe_shaped_upns_pass():
    """The unknown-UPN codes (UN1-UN5, the SSDA903 spec's code group) pass; any other UPN needs DfE's shape,
    digits from the 2nd to the 12th character, whatever its check letter."""
    from rap.domain.ssda903 import code_group

    assert all(upn_check_letter_ok(c) for c in code_group("upn_unknown"))
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    body = "805A00012345"  # a letter among the digits: one first letter would match its check sum
    assert not any(upn_check_letter_ok(c + body) for c in letters)
    assert not upn_check_letters_ok([c + body for c in letters]).any()


def test_vectorised_check_letters_agree_with_the_rule():
    """The reader's numpy version gives the scalar rule's answer on valid, mistyped and odd UPNs."""
    import random

    rng = random.Random(7)
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    upns = [
        GOOD,
        "B" + GOOD[1:],
        "UN1",
        "UN5",
        "UN6",
        "UN",
        "UN12345678901",
        "",
        "Q80520001234",
        "Q8052000123456",
        "Q80520001234é",
        "q805200012345",
        "Q80520001234I",
        "IO0000000000A",
    ]
    for _ in range(3000):
        body = "".join(rng.choice("0123456789") for _ in range(11))
        last = rng.choice("0123456789" + letters + "IOS?")
        first = rng.choice(letters + "ISO1")
        upns.append(first + body + last)
        # a valid one: the right check letter for the body
        fixed = (
            next(c + body + last for c in letters if upn_check_letter_ok(c + body + last))
            if all(ch in "0123456789" + letters for ch in last)
            else first + body + last
        )
        upns.append(fixed)
    got = upn_check_letters_ok(upns)
    want = [upn_check_letter_ok(u) for u in upns]
    assert got.tolist() == want
    assert 0.3 < sum(want) / len(want) < 0.7, "the sample holds both good and bad UPNs"
    assert upn_check_letters_ok([]).tolist() == []


def write(tmp_path: Path, rows: list[str], cols: str = COLS, name: str = "2023.csv") -> Path:
    p = tmp_path / name
    p.write_text(cols + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def test_good_rows_are_typed(tmp_path):
    p = write(tmp_path, [f"{GOOD},805,WBRI,6,1,0,,1,0,1,,", "UN1,806,REFU,11,0,0,,,,,45.5,1"])
    r = read_school(p, 2023)
    s = r["School"]
    assert r.rejected.empty and len(s) == 2
    assert s["KS2_READ_EXP"].tolist()[0] == 1 and pd.isna(s["KS2_READ_EXP"].iloc[1])
    assert s["KS4_ATT8"].iloc[1] == 45.5 and s["SCHOOL_MOVES"].tolist() == [1, 0]
    assert s["ethnic_quality"].tolist() == ["known", "refused"]
    assert str(s["KS4_EM_94"].dtype) == "Int8"


@pytest.mark.parametrize(
    "row, column, value",
    [
        ("B805200012345,805,WBRI,6,1,0,,1,0,1,,", "UPN", "B805200012345"),  # wrong check letter
        ("12345,805,WBRI,6,1,0,,1,0,1,,", "UPN", "12345"),
        (f"{GOOD},999,WBRI,6,1,0,,1,0,1,,", "LA", "999"),
        (f"{GOOD},805,WBRI,14,1,0,,1,0,1,,", "NCYEAR", "14"),
        (f"{GOOD},805,WBRI,6,-1,0,,1,0,1,,", "SCHOOL_MOVES", "-1"),
        (f"{GOOD},805,WBRI,6,1,0,,2,0,1,,", "KS2_READ_EXP", "2"),
        (f"{GOOD},805,WBRI,11,1,0,,,,,95,1", "KS4_ATT8", "95"),
        (",805,WBRI,6,1,0,,1,0,1,,", "UPN", ""),
    ],
)
def test_bad_cells_reject_the_row_with_file_line_column_value(tmp_path, row, column, value):
    p = write(tmp_path, [f"{GOOD},805,WBRI,6,1,0,,1,0,1,,", row])
    r = read_school(p, 2023)
    rej = r.rejected
    assert rej[["file", "line", "column", "value"]].values.tolist() == [[str(p), 3, column, value]]
    assert len(r["School"]) == 1


def test_ethnic_disagreement_values_are_never_rejected(tmp_path):
    p = write(tmp_path, [f"{GOOD},805,,6,1,0,,1,0,1,,", "V805123456789,805,XYZ,6,1,0,,1,0,1,,"])
    r = read_school(p, 2023)
    assert r.rejected.empty
    assert r["School"]["ethnic_quality"].tolist() == ["blank", "invalid"]


def test_ks1_absent_from_2024_is_fine_but_required_before(tmp_path):
    cols = COLS.replace("KS1_RWM_EXP,", "")
    p = write(tmp_path, [f"{GOOD},805,WBRI,6,1,0,1,0,1,,"], cols=cols)
    s = read_school(p, 2024)["School"]
    assert s["KS1_RWM_EXP"].isna().all() and len(s) == 1
    with pytest.raises(InputError) as exc:
        read_school(p, 2023)
    assert exc.value.column == "KS1_RWM_EXP" and exc.value.file == str(p)


def test_ks1_values_after_2023_are_reported_and_dropped(tmp_path):
    p = write(tmp_path, [f"{GOOD},805,WBRI,2,1,0,1,,,,,"])
    r = read_school(p, 2024)
    assert r.rejected.empty and r["School"]["KS1_RWM_EXP"].isna().all()
    assert r.reported["column"].tolist() == ["KS1_RWM_EXP"]


def test_missing_file_and_missing_column(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_school(tmp_path / "nope.csv", 2023)
    p = write(tmp_path, [f"{GOOD},805,6,1,0,,1,0,1,,"], cols=COLS.replace("ETHNIC,", ""))
    with pytest.raises(InputError) as exc:
        read_school(p, 2023)
    assert exc.value.column == "ETHNIC"
