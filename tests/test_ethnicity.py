import pandas as pd
import pytest

from rap import ethnicity as eth


def test_twenty_codes_in_five_groups_plus_unknown():
    c = eth.codes()
    assert len(c) == 20
    assert c["major"].value_counts().to_dict() == {
        "white": 5, "mixed": 4, "asian": 5, "black": 3, "other": 1, "unknown": 2,
    }
    # DfE CLA tables put Chinese under Asian, not Other.
    assert c.at["CHNE", "major"] == "asian"
    assert set(eth.known_codes()) == set(c.index) - {"REFU", "NOBT"}


def test_orders_are_complete_and_distinct():
    assert eth.major_order("dfe") == ["white", "mixed", "asian", "black", "other", "unknown"]
    # Style guide: alphabetical within the aggregate, Other and Unknown last.
    assert eth.major_order("gov") == ["asian", "black", "mixed", "white", "other", "unknown"]
    assert eth.valid_codes()[:2] == ["WBRI", "WIRI"] and eth.valid_codes()[-2:] == ["REFU", "NOBT"]


def test_quality_category_is_case_sensitive_and_counts_every_value():
    raw = pd.Series(["WBRI", "wbri", "", None, " REFU ", "NOBT", "WHIT", "CHNE"])
    got = eth.quality_category(raw).tolist()
    assert got == ["known", "invalid", "blank", "blank", "refused", "not_obtained", "invalid", "known"]


def test_classify_keeps_blank_and_invalid_in_unknown_group():
    out = eth.classify(pd.Series(["MWBC", "", "XXXX", "NOBT"]))
    assert out["ethnicity_major"].tolist() == [
        "Mixed or Multiple ethnic groups",
        "Refused or information not yet available",
        "Refused or information not yet available",
        "Refused or information not yet available",
    ]
    assert out["ethnicity_minor"].tolist() == [
        "White and Black Caribbean", "Not recorded", "Invalid code", "Information not yet obtained",
    ]
    ees = eth.classify(pd.Series(["BAFR"]), style="ees")
    assert ees.at[0, "ethnicity_major"] == "Black / African / Caribbean / Black British"


def test_ees_labels_from_both_releases_map(shared_dir):
    for release in ("ees-cla-2023-release", "ees-cla-2024-release"):
        f = shared_dir / "reference-data" / release / "national_cla_on_31_march_by_characteristics.csv"
        df = pd.read_csv(f, encoding="utf-8-sig", dtype=str)
        labels = df.loc[df["cla_group"] == "Ethnicity", "characteristic"].drop_duplicates()
        mapped = eth.map_ees_labels(labels, source=f.name)
        assert set(mapped.loc[mapped["level"] == "minor", "value"]) == set(eth.valid_codes()) - {"OOTH"}
        assert set(mapped.loc[mapped["level"] == "major", "value"]) == set(eth.major_order())


def test_ees_label_mapping_is_whitespace_and_case_tolerant_but_rejects_unknown():
    got = eth.map_ees_labels(pd.Series(["  1a.  white british", "TOTAL"]))
    assert got["value"].tolist() == ["WBRI", ""]
    with pytest.raises(KeyError, match="Black Welsh"):
        eth.map_ees_labels(pd.Series(["1a. White British", "Black Welsh"]), source="x.csv")


def test_ons2021_lookup_leaves_gypsy_roma_unmapped():
    ons = eth.ons2021_lookup()
    assert "WROM" not in ons.index
    assert ons.at["WBRI", "ons2021_code"] == 13
    assert ons["ons2021_code"].is_unique
