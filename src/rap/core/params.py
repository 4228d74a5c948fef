"""Parameters: ``params/defaults.yaml`` plus one small file per year, merged and validated once.

A year file holds only what changes; everything else is inherited from ``defaults.yaml`` in the same
folder. Relative paths are resolved against the project root (the folder that holds ``params/``), so a
notebook running with another working directory sees the same files.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rap.core.errors import ParamsError

#: A share of records or a rate: from 0 to 1.
Share = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    """Every field required (its default is in ``params/defaults.yaml``), no unknown keys, read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Strict):
    kind: Literal["synthetic", "record", "published"]
    path: Path
    #: published kind: DfE's file of children looked after on 31 March by LA and major ethnic group (section 04)
    la_ethnicity_file: Path | None
    #: published kind: folder with the ONS population files (mid-year estimates, Census 2021 by region)
    population_path: Path | None


class DefectRates(_Strict):
    """Ethnicity-quality defects the generator injects, as shares of the records they can affect."""

    ethnic_blank: Share
    ethnic_refused: Share
    ethnic_not_obtained: Share
    ethnic_invalid: Share
    poor_recording_las: int = Field(ge=0, le=153)
    poor_recording_multiplier: float = Field(ge=1)
    ethnic_changed: Share
    school_disagreement: Share
    school_disagreement_by_code: dict[str, float]
    unknown_upn: Share
    duplicate_child: Share
    episode_end_before_start: Share

    @field_validator("school_disagreement_by_code")
    @classmethod
    def _codes_and_rates(cls, v: dict[str, float]) -> dict[str, float]:
        for code, rate in v.items():
            if code not in _known_ethnicity_codes():
                raise ValueError(f"{code!r} is not a known DfE ethnicity code")
            if not 0 <= rate <= 1:
                raise ValueError(f"rate for {code} must be between 0 and 1, got {rate}")
        return v


@cache
def _known_ethnicity_codes() -> frozenset[str]:
    """The DfE ETHNIC codes that state a group, from the package's code list (``rap/data/ethnicity/codes.csv``),
    read here with the csv module: core imports no other layer, and validating parameters needs no pandas."""
    with resources.files("rap.data.ethnicity").joinpath("codes.csv").open("r", encoding="utf-8") as fh:
        return frozenset(row["code"] for row in csv.DictReader(fh) if row["known"] == "true")


class SynthParams(_Strict):
    seed: int
    scale: Literal["national", "small"]
    defects: DefectRates


class SuppressionParams(_Strict):
    threshold: int = Field(ge=1, le=100)
    rounding_base: int = Field(le=1000)

    @field_validator("rounding_base")
    @classmethod
    def _rounds(cls, v: int) -> int:
        if v < 2:
            raise ValueError(
                f"must be 2 or more (got {v}): national and regional counts are published rounded to it "
                "(DfE rounds to the nearest 10); 1 would publish them unrounded"
            )
        return v


class RagThreshold(_Strict):
    """A red/amber/green rule: ``green`` and ``amber`` bounds on a share, higher or lower is better."""

    green: Share
    amber: Share
    higher_is_better: bool

    @model_validator(mode="after")
    def _ordered(self) -> RagThreshold:
        if self.higher_is_better and self.amber > self.green:
            raise ValueError(f"amber ({self.amber}) must not be above green ({self.green}) when higher is better")
        if not self.higher_is_better and self.amber < self.green:
            raise ValueError(f"amber ({self.amber}) must not be below green ({self.green}) when lower is better")
        return self


class QualityRagParams(_Strict):
    """The project's own RAG rules for ethnicity data quality (no official thresholds exist)."""

    completeness: RagThreshold
    validity: RagThreshold
    consistency_over_time: RagThreshold
    consistency_across_collections: RagThreshold
    linkage: RagThreshold
    funnel_level: float = Field(gt=0.5, lt=1, description="an LA is flagged only outside this limit")


class QAParams(_Strict):
    max_rejected_share: float = Field(description="a table with more rejected rows fails")

    @field_validator("max_rejected_share")
    @classmethod
    def _below_one(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError(
                f"must be at least 0 and below 1 (got {v}): the share of a table's rows that may be rejected "
                "before a run stops; at 1 a run would go on with every row rejected and describe no child"
            )
        return v


class Params(_Strict):
    year: int = Field(ge=2015, le=2100)
    years: int = Field(ge=1, le=10, description="length of the time series ending at `year`")
    data: DataParams
    synth: SynthParams
    suppression: SuppressionParams
    qa: QAParams
    quality_rag: QualityRagParams
    sections: list[str]
    output_dir: Path
    #: the folder that holds ``params/``: set by :func:`load_params`
    project_root: Path

    @model_validator(mode="after")
    def _optional_inputs_exist(self) -> Params:
        for key in ("la_ethnicity_file", "population_path"):
            value = getattr(self.data, key)
            if value is not None and not _resolve(self.project_root, value).exists():
                raise ValueError(f"data.{key}: {value} does not exist")
        return self

    @model_validator(mode="after")
    def _outputs_apart_from_inputs(self) -> Params:
        clash = overlap_error(self.written_folders(), self.input_locations())
        if clash is not None:
            raise ValueError(f"{clash[0]}: {clash[1]}")
        return self

    def input_locations(self) -> dict[str, Path]:
        """The inputs the parameters name (``data.path`` and the optional ``data`` inputs), resolved."""
        found = {"data.path": self.data_path}
        for key in ("la_ethnicity_file", "population_path"):
            if (path := self.input_path(key)) is not None:
                found[f"data.{key}"] = path
        return found

    def written_folders(self) -> dict[str, Path]:
        """The folders a run writes into: ``output_dir`` (``<year>/``, its staging and failed folders beside
        it) and the project's cache."""
        return {"output_dir": _resolve(self.project_root, self.output_dir), "cache": self.cache_path}

    @property
    def cache_path(self) -> Path:
        """``.cache`` in the project root: every cache a run keeps."""
        return _resolve(self.project_root, Path(".cache"))

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


_NEVER = "the pipeline writes there and must never write into its inputs"
_HOW = {"same": "is the same place as", "inside": "is inside", "contains": "contains"}


def _within(a: Path, b: Path) -> bool:
    """``a`` is ``b`` or below it, symbolic links resolved; for folders that exist, by identity (device and
    inode), so a bind mount or a case-insensitive file system does not hide it."""
    a, b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    if a == b or b in a.parents:
        return True
    try:
        target = b.stat()
    except OSError:
        return False
    for x in (a, *a.parents):
        try:
            if os.path.samestat(x.stat(), target):
                return True
        except OSError:
            continue  # not made yet: its parents may be
    return False


def overlap(written: Path, read: Path) -> str | None:
    """``same``, ``inside`` (``written`` is below ``read``), ``contains`` (``read`` is below ``written``),
    or None when the two are apart."""
    inside, contains = _within(written, read), _within(read, written)
    if inside and contains:
        return "same"
    return "inside" if inside else "contains" if contains else None


def overlap_error(written: Mapping[str, Path], inputs: Mapping[str, Path]) -> tuple[str, str] | None:
    """The first folder a run writes into (``written``: name -> path) that is, is inside or contains an input
    (``inputs``: parameter -> path), as (the key to name, a reason naming both paths); None when all are apart.
    A run replaces and deletes folders where it writes: it must never do so among its inputs."""
    for what, folder in written.items():
        for key, path in inputs.items():
            how = overlap(folder, path)
            if how is None:
                continue
            if what == "cache":
                return key, f"the cache folder {folder} {_HOW[how]} {key} {path}: {_NEVER}; move {key} apart from it"
            return what, f"{folder} {_HOW[how]} {key} {path}: {_NEVER}; choose {what} apart from every input"
    return None


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in override.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error, not "the last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_text(path: Path) -> str:
    """A parameters file's text; a ParamsError naming it when it is missing, a folder, unreadable or not UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ParamsError(path, "(file)", "no such parameters file") from None
    except IsADirectoryError:
        raise ParamsError(path, "(file)", "is a folder: give a parameters file, e.g. params/2024.yaml") from None
    except OSError as exc:
        raise ParamsError(path, "(file)", f"cannot be read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ParamsError(
            path, "(file)", f"not UTF-8: byte 0x{raw[exc.start]:02x} on line {line}; save the file as UTF-8"
        ) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) or {}  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ParamsError(path, "(file)", f"not valid YAML{at}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(path, "(file)", "must be a mapping of keys to values")
    return data


def load_params(path: str | Path, **overrides: Any) -> Params:
    """Read ``defaults.yaml`` beside ``path``, overlay ``path`` and any overrides, and validate.

    Every parameter must end up with a value: the models hold types and ranges, ``defaults.yaml`` the defaults.
    """
    path = Path(path).resolve()
    defaults = path.parent / "defaults.yaml"
    has_defaults = defaults.exists() and defaults != path
    merged: dict[str, Any] = _read_yaml(defaults) if has_defaults else {}
    merged = _deep_merge(merged, _read_yaml(path))
    merged = _deep_merge(merged, overrides)
    merged.setdefault("project_root", str(path.parent.parent))
    try:
        return Params.model_validate(merged)
    except ValidationError as exc:
        raise _params_error(path, exc.errors()[0], has_defaults) from None


def _params_error(path: Path, err: Any, has_defaults: bool) -> ParamsError:
    """The first validation error as a :class:`ParamsError` naming the file and the dotted key."""
    key = ".".join(str(p) for p in err["loc"])
    if not key:  # a check across keys names its key at the start of the message ("data.x: ...")
        msg = str(err["msg"]).removeprefix("Value error, ")
        key, _, reason = msg.partition(": ")
        return ParamsError(path, key, reason)
    if err["type"] == "missing":
        if has_defaults:
            return ParamsError(path, key, "not set: give it a value here or in defaults.yaml beside this file")
        return ParamsError(path, key, "not set, and there is no defaults.yaml beside this file to give its default")
    if err["type"] == "value_error":  # the project's own validators say what they got and why
        return ParamsError(path, key, str(err["msg"]).removeprefix("Value error, "))
    return ParamsError(path, key, f"{err['msg']} (got {err.get('input')!r})")
