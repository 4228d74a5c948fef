from pathlib import Path

import pytest
from pydantic import BaseModel

from rap.core.errors import ParamsError
from rap.core.params import Params, load_params

SHIPPED_DEFAULTS = Path(__file__).resolve().parents[1] / "params" / "defaults.yaml"


def _write(tmp_path: Path, defaults: str | None, year: str) -> Path:
    """A project whose params/ holds ``year`` as 2024.yaml and ``defaults`` (the shipped file when None)."""
    (tmp_path / "params").mkdir()
    text = SHIPPED_DEFAULTS.read_text() if defaults is None else defaults
    (tmp_path / "params" / "defaults.yaml").write_text(text)
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
    defaults = SHIPPED_DEFAULTS.read_text().replace("seed: 20240331", "seed: 1").replace("upn: 0.03", "upn: 0.05")
    f = _write(tmp_path, defaults, "year: 2024\nsynth:\n  defects:\n    ethnic_blank: 0.2\n")
    p = load_params(f)
    assert p.synth.seed == 1 and p.synth.scale == "national"
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
    f = _write(tmp_path, None, year_text)
    with pytest.raises(ParamsError) as exc:
        load_params(f)
    assert exc.value.key == key
    assert str(f) in str(exc.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match="no such parameters file"):
        load_params(tmp_path / "nope.yaml")
    f = _write(tmp_path, None, "year: [2024\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(f)


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model nested in its fields."""
    out = [model]
    for f in model.model_fields.values():
        for t in (f.annotation, *getattr(f.annotation, "__args__", ())):
            if isinstance(t, type) and issubclass(t, BaseModel) and t not in out:
                out += [m for m in _models(t) if m not in out]
    return out


def test_defaults_live_only_in_defaults_yaml(tmp_path):
    """The models carry types and ranges; params/defaults.yaml is the one place a default is written."""
    models = _models(Params)
    assert {m.__name__ for m in models} >= {"DataParams", "DefectRates", "RagThreshold", "QualityRagParams"}
    with_default = [f"{m.__name__}.{n}" for m in models for n, f in m.model_fields.items() if not f.is_required()]
    assert with_default == []
    # so a key the defaults do not give is an error naming it, not a value from code
    f = _write(tmp_path, SHIPPED_DEFAULTS.read_text().replace("  rounding_base: 10", ""), "year: 2024\n")
    with pytest.raises(ParamsError, match="not set") as exc:
        load_params(f)
    assert exc.value.key == "suppression.rounding_base"


def test_a_project_without_defaults_is_told_so(tmp_path):
    (tmp_path / "params").mkdir()
    f = tmp_path / "params" / "2024.yaml"
    f.write_text("year: 2024\n")
    with pytest.raises(ParamsError, match="no defaults.yaml beside this file") as exc:
        load_params(f)
    assert exc.value.key == "years" and str(f) in str(exc.value)


def test_rag_thresholds_load_and_reject_inverted_bounds(tmp_path, repo_root):
    shipped = load_params(repo_root / "params" / "2024.yaml").quality_rag
    assert shipped.completeness.green == 0.98 and shipped.completeness.higher_is_better
    f = _write(tmp_path, None, "year: 2024\nquality_rag:\n  completeness: {green: 0.9, amber: 0.95}\n")
    with pytest.raises(ParamsError) as exc:
        load_params(f)
    assert exc.value.key == "quality_rag.completeness"
