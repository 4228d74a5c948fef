import pandas as pd
import pytest

from rap.domain import ethnicity as eth


def test_twenty_codes_in_five_groups_plus_unknown():
    c = eth.codes()
    assert len(c) == 20
    assert c["major"].value_counts().to_dict() == {
        "white": 5,
        "mixed": 4,
        "asian": 5,
        "black": 3,
        "other": 1,
        "unknown": 2,
    }
    # DfE CLA tables put Chinese under Asian, not Other.
    assert c.at["CHNE", "major"] == "asian"
    assert set(eth.known_codes()) == set(c.index) - {"REFU", "NOBT"}
    # read without pandas, yet the same codes in the same order as the frame's "known" flag gives
    assert eth.known_codes() == c.index[c["known"]].tolist()


def test_params_validate_without_importing_pandas(repo_root):
    """An unchanged re-run only validates parameters and finds its caches: pandas (half a second to import)
    is not needed for that."""
    import subprocess
    import sys

    code = (
        "import sys; from rap.core.params import load_params; "
        f"load_params({str(repo_root / 'params' / '2024.yaml')!r}); "
        "import rap.inputs.load, rap.build.leaks, rap.build.pipeline, rap.build.runner, rap.build.manifest; print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


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
        "White and Black Caribbean",
        "Not recorded",
        "Invalid code",
        "Information not yet obtained",
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


def test_ons2021_groups_agree_with_the_dfe_codes_and_the_census_file():
    """The ONS 2021 classification file is the one place its groups are mapped to major groups: each DfE code
    mapped to an ONS group sits in the same major group and carries the same label, and the labels are
    those of the Census 2021 file the synthetic population is calibrated to."""
    from rap.synth.targets import load_targets

    ons = eth.ons2021_groups()
    assert ons.index.tolist() == list(range(1, 20))
    assert set(ons["major"]) == set(eth.major_groups().index) - {"unknown"}
    lookup = eth.ons2021_lookup().join(eth.codes()[["major"]])
    for code, row in lookup.iterrows():
        assert ons.at[row["ons2021_code"], "major"] == row["major"], code
        assert ons.at[row["ons2021_code"], "label"] == row["ons2021_label"], code
    assert ons["label"].to_dict() == load_targets()["census2021_region_all_ages"]["labels"]
    assert eth.ons2021_major()[16] == "white"  # Roma: no DfE code of its own
