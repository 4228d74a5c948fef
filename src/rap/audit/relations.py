"""The attacker's knowledge of how published tables are made, read from ``relations.yaml`` (data, not code).

Each section of the YAML becomes a small frozen dataclass so the attacks read fields, not nested dicts, and a
mistake in the YAML is reported once, naming the entry, when the relations are loaded.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rap.core.errors import InputError

Where = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class CountRule:
    column: str
    where: Where = field(default_factory=dict)
    rounding: str = "levels"  # levels | always | none
    base: int | None = None  # None: the audit's rounding_base
    sensitive: bool = True
    integer: bool = True
    additive: bool = True


@dataclass(frozen=True)
class Derived:
    name: str
    numerator: tuple[tuple[int, str], ...]  # (sign, column) terms
    denominator: str
    scale: float
    figures: dict[str, str]  # value / lower / upper -> column
    interval: str | None = None  # wilson | poisson
    hidden_when_small: tuple[str, ...] = ()
    where: Where = field(default_factory=dict)
    proportion: bool = False


@dataclass(frozen=True)
class Total:
    filter: str
    total: str
    at: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Breakdown:
    parts: tuple[str, ...]
    filter: str = "breakdown"
    column: str = "number"  # the count the items add up in
    total: str | None = None
    total_column: str | None = None
    prefix_separator: str | None = None
    same_denominator: bool = False


@dataclass(frozen=True)
class Term:
    table: str
    column: str
    where: Where = field(default_factory=dict)


@dataclass(frozen=True)
class SameQuantity:
    name: str
    left: tuple[Term, ...]
    right: tuple[Term, ...]


@dataclass(frozen=True)
class Pooled:
    name: str
    figure: str
    numerator: str
    denominator: str
    scale: float
    pool: str  # neighbours | region | england
    counts_from: str | None = None
    hidden_when_small: tuple[str, ...] = ()
    where: Where = field(default_factory=dict)


@dataclass(frozen=True)
class Complement:
    part: str
    whole: str
    where: Where = field(default_factory=dict)
    unless: Where = field(default_factory=dict)


@dataclass(frozen=True)
class Relations:
    """Everything in ``relations.yaml``."""

    suppressed: tuple[str, ...]
    low: tuple[str, ...]
    below_half: tuple[str, ...]
    level_column: str
    rounded_levels: tuple[str, ...]
    primary_only_levels: tuple[str, ...]
    levels: dict[str, dict[str, str]]
    period: tuple[str, ...]
    kind_column: str
    kind_rules: tuple[tuple[str, str], ...]
    counts: tuple[CountRule, ...]
    derived: tuple[Derived, ...]
    totals: tuple[Total, ...]
    breakdowns: tuple[Breakdown, ...]
    same_quantity: tuple[SameQuantity, ...]
    pooled: tuple[Pooled, ...]
    neighbours: dict[str, str]
    complements: tuple[Complement, ...]


def bottom_level(rel: Relations) -> tuple[str, str]:
    """The level no other level sums to (local authorities) and the column naming the area it sums to."""
    parents = {spec.get("parent") for spec in rel.levels.values()}
    for name, spec in rel.levels.items():
        if name not in parents and spec.get("parent"):
            return name, spec.get("parent_code", "")
    return "", ""


def _where(spec: dict | None) -> Where:
    """{column: pattern or [patterns]} with every pattern as text (YAML may read ``2024`` as a number)."""
    out: Where = {}
    for col, pats in (spec or {}).items():
        pats = pats if isinstance(pats, list) else [pats]
        out[str(col)] = tuple(str(p) for p in pats)
    return out


def _terms(expr: str) -> tuple[tuple[int, str], ...]:
    """``"children - children_unknown"`` -> ((1, "children"), (-1, "children_unknown"))."""
    toks = re.findall(r"[+-]|[^\s+-]+", expr)
    out, sign = [], 1
    for t in toks:
        if t in "+-":
            sign = 1 if t == "+" else -1
        else:
            out.append((sign, t))
            sign = 1
    return tuple(out)


def parse(doc: dict, source: str = "relations.yaml") -> Relations:
    """The YAML document as :class:`Relations`; a missing key names the section and entry."""
    try:
        return _parse(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(source, f"the disclosure attack relations are malformed: {exc!r}") from exc


def _pooled(p: dict) -> Pooled:
    return Pooled(
        **{k: v for k, v in p.items() if k not in ("where", "hidden_when_small", "scale")},
        scale=float(p["scale"]),
        hidden_when_small=tuple(p.get("hidden_when_small") or ()),
        where=_where(p.get("where")),
    )


def _parse(doc: dict) -> Relations:
    sym, geo, kinds = doc["symbols"], doc["geography"], doc.get("indicator_kinds") or {}
    derived = tuple(
        Derived(
            name=d["name"],
            numerator=_terms(str(d["numerator"])),
            denominator=d["denominator"],
            scale=float(d["scale"]),
            figures=dict(d["figures"]),
            interval=d.get("interval"),
            hidden_when_small=tuple(d.get("hidden_when_small") or ()),
            where=_where(d.get("where")),
            proportion=bool(d.get("proportion", False)),
        )
        for d in doc.get("derived") or []
    )
    same = tuple(
        SameQuantity(
            name=s["name"],
            left=tuple(Term(t["table"], t["column"], _where(t.get("where"))) for t in s["left"]),
            right=tuple(Term(t["table"], t["column"], _where(t.get("where"))) for t in s["right"]),
        )
        for s in doc.get("same_quantity") or []
    )
    pooled = tuple(_pooled(p) for p in doc.get("pooled") or [])
    return Relations(
        suppressed=tuple(sym.get("suppressed") or ()),
        low=tuple(sym.get("low") or ()),
        below_half=tuple(sym.get("below_half") or ()),
        level_column=geo["level_column"],
        rounded_levels=tuple(geo.get("rounded_levels") or ()),
        primary_only_levels=tuple(geo.get("primary_only_levels") or ()),
        levels={str(k): dict(v) for k, v in geo["levels"].items()},
        period=tuple(doc.get("period") or ()),
        kind_column=kinds.get("column", ""),
        kind_rules=tuple((str(r["match"]), str(r["kind"])) for r in kinds.get("rules") or []),
        counts=tuple(
            CountRule(**{k: v for k, v in c.items() if k != "where"}, where=_where(c.get("where")))
            for c in doc["counts"]
        ),
        derived=derived,
        totals=tuple(Total(t["filter"], str(t["total"]), dict(t.get("at") or {})) for t in doc.get("totals") or []),
        breakdowns=tuple(
            Breakdown(**{k: v for k, v in b.items() if k != "parts"}, parts=tuple(b["parts"]))
            for b in doc.get("breakdowns") or []
        ),
        same_quantity=same,
        pooled=pooled,
        neighbours=dict(doc.get("neighbours") or {}),
        complements=tuple(
            Complement(c["part"], c["whole"], _where(c.get("where")), _where(c.get("unless")))
            for c in doc.get("complements") or []
        ),
    )


@cache
def default_relations() -> Relations:
    """The package's own ``relations.yaml``."""
    text = resources.files("rap.audit").joinpath("relations.yaml").read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))


def load_relations(path: str | Path | None = None) -> Relations:
    """Relations from ``path`` (a YAML file in the same shape), or the package's own when ``path`` is None."""
    if path is None:
        return default_relations()
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(p, f"cannot read the attack relations: {exc}") from exc
    return parse(doc, str(p))


@cache
def _regex(pattern: str) -> re.Pattern:
    return re.compile(fnmatch.translate(pattern))


def _hits(values: pd.Series, patterns: tuple[str, ...]) -> np.ndarray:
    """Which values match any pattern, tested once per distinct value (columns repeat a few labels)."""
    codes, uniq = pd.factorize(values.astype(str))
    rx = [_regex(p) for p in patterns]
    hit = np.array([any(r.match(v) for r in rx) for v in uniq], dtype=bool)
    return hit[codes] if len(uniq) else np.zeros(len(values), dtype=bool)


def matches(frame: pd.DataFrame, where: Where) -> np.ndarray:
    """Rows of ``frame`` (published text) that every ``where`` column matches; all False when a column is missing."""
    ok = np.ones(len(frame), dtype=bool)
    for col, pats in where.items():
        if col not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        ok &= _hits(frame[col], pats)
    return ok


def excluded(frame: pd.DataFrame, unless: Where) -> np.ndarray:
    """Rows any ``unless`` column matches (none when ``unless`` is empty)."""
    out = np.zeros(len(frame), dtype=bool)
    for col, pats in unless.items():
        out |= matches(frame, {col: pats})
    return out
