"""Parameters: ``params/defaults.yaml`` plus one small file per year, merged and validated once.

A year file holds only what changes; everything else is inherited from ``defaults.yaml`` in the same
folder. Relative paths are resolved against the project root (the folder that holds ``params/``), so a
notebook running with another working directory sees the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rap.core.errors import ParamsError

Rate = Field(ge=0.0, le=1.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Strict):
    kind: Literal["synthetic", "record", "published"] = "synthetic"
    path: Path = Path("data/synthetic")
    #: published kind: DfE's file of children looked after on 31 March by LA and major ethnic group (section 04)
    la_ethnicity_file: Path | None = None
    #: published kind: folder with the ONS population files (mid-year estimates, Census 2021 by region)
    population_path: Path | None = None


class DefectRates(_Strict):
    """Ethnicity-quality defects the generator injects, as shares of the records they can affect."""

    ethnic_blank: float = Field(0.003, ge=0, le=1)
    ethnic_refused: float = Field(0.0016, ge=0, le=1)
    ethnic_not_obtained: float = Field(0.008, ge=0, le=1)
    ethnic_invalid: float = Field(0.001, ge=0, le=1)
    poor_recording_las: int = Field(6, ge=0, le=153)
    poor_recording_multiplier: float = Field(8.0, ge=1)
    ethnic_changed: float = Field(0.01, ge=0, le=1)
    school_disagreement: float = Field(0.03, ge=0, le=1)
    school_disagreement_by_code: dict[str, float] = Field(
        default_factory=lambda: {"WROM": 0.45, "WIRT": 0.40, "OOTH": 0.35, "MOTH": 0.30, "BOTH": 0.30, "AOTH": 0.20}
    )
    unknown_upn: float = Field(0.03, ge=0, le=1)
    duplicate_child: float = Field(0.001, ge=0, le=1)
    episode_end_before_start: float = Field(0.0005, ge=0, le=1)

    @field_validator("school_disagreement_by_code")
    @classmethod
    def _codes_and_rates(cls, v: dict[str, float]) -> dict[str, float]:
        from rap.domain.ethnicity import known_codes

        for code, rate in v.items():
            if code not in known_codes():
                raise ValueError(f"{code!r} is not a known DfE ethnicity code")
            if not 0 <= rate <= 1:
                raise ValueError(f"rate for {code} must be between 0 and 1, got {rate}")
        return v


class SynthParams(_Strict):
    seed: int = 20240331
    scale: Literal["national", "small"] = "national"
    defects: DefectRates = DefectRates()


class SuppressionParams(_Strict):
    threshold: int = Field(5, ge=1, le=100)
    rounding_base: int = Field(10, ge=1, le=1000)


class RagThreshold(_Strict):
    """A red/amber/green rule: ``green`` and ``amber`` bounds on a share, higher-is-better unless stated."""

    green: float = Field(ge=0, le=1)
    amber: float = Field(ge=0, le=1)
    higher_is_better: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> RagThreshold:
        if self.higher_is_better and self.amber > self.green:
            raise ValueError(f"amber ({self.amber}) must not be above green ({self.green}) when higher is better")
        if not self.higher_is_better and self.amber < self.green:
            raise ValueError(f"amber ({self.amber}) must not be below green ({self.green}) when lower is better")
        return self


class QualityRagParams(_Strict):
    """The project's own RAG rules for ethnicity data quality (no official thresholds exist)."""

    completeness: RagThreshold = RagThreshold(green=0.98, amber=0.95)
    validity: RagThreshold = RagThreshold(green=0.999, amber=0.99)
    consistency_over_time: RagThreshold = RagThreshold(green=0.98, amber=0.95)
    consistency_across_collections: RagThreshold = RagThreshold(green=0.95, amber=0.90)
    linkage: RagThreshold = RagThreshold(green=0.95, amber=0.90)
    funnel_level: float = Field(0.998, gt=0.5, lt=1, description="an LA is flagged only outside this limit")


class QAParams(_Strict):
    max_rejected_share: float = Field(0.01, ge=0, le=1, description="a table with more rejected rows fails")


class Params(_Strict):
    year: int = Field(ge=2015, le=2100)
    years: int = Field(5, ge=1, le=10, description="length of the time series ending at `year`")
    data: DataParams = DataParams()
    synth: SynthParams = SynthParams()
    suppression: SuppressionParams = SuppressionParams()
    qa: QAParams = QAParams()
    quality_rag: QualityRagParams = QualityRagParams()
    sections: list[str] = Field(default_factory=list)
    output_dir: Path = Path("outputs")
    project_root: Path = Path(".")

    @model_validator(mode="after")
    def _optional_inputs_exist(self) -> Params:
        for key in ("la_ethnicity_file", "population_path"):
            value = getattr(self.data, key)
            if value is not None and not _resolve(self.project_root, value).exists():
                raise ValueError(f"data.{key}: {value} does not exist")
        return self

    @property
    def series_years(self) -> list[int]:
        """Collection years covered, oldest first, ending at ``year``."""
        return list(range(self.year - self.years + 1, self.year + 1))

    @property
    def data_path(self) -> Path:
        return _resolve(self.project_root, self.data.path)

    def input_path(self, key: str) -> Path | None:
        """An optional ``data`` input (``la_ethnicity_file``, ``population_path``) resolved, or None."""
        value = getattr(self.data, key)
        return None if value is None else _resolve(self.project_root, value)

    @property
    def out_path(self) -> Path:
        return _resolve(self.project_root, self.output_dir) / str(self.year)


def _resolve(root: Path, p: Path) -> Path:
    return p if p.is_absolute() else (root / p).resolve()


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in override.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(path, "(file)", "no such parameters file") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(path, "(file)", "must be a mapping of keys to values")
    return data


def load_params(path: str | Path, **overrides: Any) -> Params:
    """Read ``defaults.yaml`` beside ``path``, overlay ``path`` and any overrides, and validate."""
    path = Path(path).resolve()
    defaults = path.parent / "defaults.yaml"
    merged: dict[str, Any] = _read_yaml(defaults) if defaults.exists() and defaults != path else {}
    merged = _deep_merge(merged, _read_yaml(path))
    merged = _deep_merge(merged, overrides)
    merged.setdefault("project_root", str(path.parent.parent))
    try:
        return Params.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if not key:  # a check across keys names its key at the start of the message ("data.x: ...")
            msg = str(err["msg"]).removeprefix("Value error, ")
            key, _, reason = msg.partition(": ")
            raise ParamsError(path, key, reason) from None
        raise ParamsError(path, key, f"{err['msg']} (got {err.get('input')!r})") from None
