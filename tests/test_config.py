from pathlib import Path

import pytest

from rap.core.errors import ParamsError
from rap.core.params import load_params


def _write(tmp_path: Path, defaults: str, year: str) -> Path:
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "defaults.yaml").write_text(defaults)
    f = tmp_path / "params" / "2024.yaml"
    f.write_text(year)
    return f


def test_shipped_params_load(repo_root):
    for year in (2023, 2024):
        p = load_params(repo_root / "params" / f"{year}.yaml")
        assert p.year == year
        assert p.series_years == list(range(year - 4, year + 1))
        assert p.data_path == (repo_root / "data" / "synthetic").resolve()
        assert p.out_path == (repo_root / "outputs" / str(year)).resolve()


def test_year_file_inherits_and_overrides_nested_keys(tmp_path):
    f = _write(
        tmp_path,
        "synth:\n  seed: 1\n  defects:\n    ethnic_blank: 0.01\n    unknown_upn: 0.05\n",
        "year: 2024\nsynth:\n  defects:\n    ethnic_blank: 0.2\n",
    )
    p = load_params(f)
    assert p.synth.seed == 1
    assert p.synth.defects.ethnic_blank == 0.2
    assert p.synth.defects.unknown_upn == 0.05


@pytest.mark.parametrize(
    "year_text, key",
    [
        ("year: 2024\nsynth:\n  defects:\n    ethnic_blank: 1.5\n", "synth.defects.ethnic_blank"),
        ("year: 2024\ndata:\n  kind: spreadsheet\n", "data.kind"),
        ("year: 2024\nsuppresion:\n  threshold: 5\n", "suppresion"),
        ("year: twenty\n", "year"),
        (
            "year: 2024\nsynth:\n  defects:\n    school_disagreement_by_code: {WXYZ: 0.1}\n",
            "synth.defects.school_disagreement_by_code",
        ),
        ("year: 2024\ndata:\n  la_ethnicity_file: no/such/file.csv\n", "data.la_ethnicity_file"),
        ("year: 2024\ndata:\n  population_path: no/such/folder\n", "data.population_path"),
    ],
)
def test_bad_params_name_file_and_key(tmp_path, year_text, key):
    f = _write(tmp_path, "", year_text)
    with pytest.raises(ParamsError) as exc:
        load_params(f)
    assert exc.value.key == key
    assert str(f) in str(exc.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="no such parameters file"):
        load_params(tmp_path / "nope.yaml")
    f = _write(tmp_path, "", "year: [2024\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(f)


def test_model_defaults_agree_with_defaults_yaml(repo_root):
    """Code that builds Params directly must get what params/defaults.yaml says, not something else."""
    import yaml

    from rap.core.params import DefectRates, SuppressionParams

    shipped = yaml.safe_load((repo_root / "params" / "defaults.yaml").read_text())
    assert DefectRates().model_dump() == DefectRates.model_validate(shipped["synth"]["defects"]).model_dump()
    assert SuppressionParams().model_dump() == shipped["suppression"]


def test_rag_thresholds_load_and_reject_inverted_bounds(tmp_path, repo_root):
    from rap.core.params import QualityRagParams

    shipped = load_params(repo_root / "params" / "2024.yaml").quality_rag
    assert shipped == QualityRagParams()
    f = _write(tmp_path, "", "year: 2024\nquality_rag:\n  completeness: {green: 0.9, amber: 0.95}\n")
    with pytest.raises(ParamsError) as exc:
        load_params(f)
    assert exc.value.key == "quality_rag.completeness"
