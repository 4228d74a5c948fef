"""Validate ``_quarto.yml`` and front matter against Quarto's compiled schema, offline.

Quarto ships its option schema compiled to JSON (``all-schema-definitions.json``,
copied into this package from quarto-cli's ``src/resources/editor/tools/yaml/``,
MIT licence, Posit Software, PBC; see ``quarto-schema/SOURCE.md``). It is written
in Quarto's own schema dialect, not JSON Schema. Every node has a ``type``:

* ``string`` (optional ``pattern``, searched like JavaScript's ``String.match``),
  ``number``, ``boolean``, ``null``;
* ``enum`` (``enum``: allowed values);
* ``array`` (``items``: schema of every element);
* ``object`` (``properties``, ``patternProperties``, ``required``, ``closed``:
  no keys beyond the properties/patterns, ``additionalProperties``: ``false`` or
  a schema for the remaining keys, ``propertyNames``: a string schema every key
  must satisfy; Quarto uses it for its case-convention checks);
* ``anyOf`` / ``allOf``;
* ``ref`` (``$ref``: the ``$id`` of a top-level definition).

The entry for a project's ``_quarto.yml`` is ``project-config``; a document's
front matter is ``front-matter``. Like Quarto's own validator, this one reports
schema errors only: for instance ``project.type`` is a free string in the schema
(the allowed values are completions, not an enum), so ``validate_quarto_yaml``
adds one semantic check of its own for it, marked as such in the message.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["load_schema", "validate", "validate_quarto_yaml", "validate_front_matter", "PROJECT_TYPES"]

SCHEMA_RESOURCE = ("quarto-schema", "all-schema-definitions.json")
PROJECT_TYPES = ("default", "website", "book", "manuscript")


@lru_cache(maxsize=4)
def load_schema(path: str | None = None) -> dict[str, Any]:
    """Load the compiled schema (the package copy unless ``path`` is given)."""
    if path is not None:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    ref = resources.files("rap.report").joinpath(*SCHEMA_RESOURCE)
    return json.loads(ref.read_text(encoding="utf-8"))


@lru_cache(maxsize=2048)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(path: tuple) -> str:
    if not path:
        return "(top level)"
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class _Validator:
    def __init__(self, defs: dict[str, Any]):
        self.defs = defs

    def check(self, value: Any, schema: dict[str, Any], path: tuple) -> list[tuple]:
        t = schema.get("type")
        method = getattr(self, "_" + str(t).replace("Of", "_of"), None)
        if method is None:
            return [(path, f"schema type {t!r} not supported by this validator")]
        return method(value, schema, path)

    # -- scalar types --------------------------------------------------
    def _expect(self, schema, path, value) -> list[tuple]:
        return [(path, f"{_short(value)} should {schema.get('description', 'match ' + str(schema.get('type')))}")]

    def _string(self, value, schema, path):
        if not isinstance(value, str):
            return self._expect(schema, path, value)
        pattern = schema.get("pattern")
        # Case-convention checks (tags.case-detection) are negative lookaheads such as
        # "(?!(^code_fold$|...))": searched anywhere they always match (an empty match at
        # position 1), so they are applied at the start of the key, which is their intent.
        anchored = bool((schema.get("tags") or {}).get("case-detection"))
        if pattern is not None and not (
            _compiled(pattern).match(value) if anchored else _compiled(pattern).search(value)
        ):
            msg = schema.get("errorMessage")
            if msg:
                return [(path, msg.replace("${value}", value))]
            return self._expect(schema, path, value)
        return []

    def _number(self, value, schema, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self._expect(schema, path, value)
        return []

    def _boolean(self, value, schema, path):
        return [] if isinstance(value, bool) else self._expect(schema, path, value)

    def _null(self, value, schema, path):
        return [] if value is None else self._expect(schema, path, value)

    def _any(self, value, schema, path):
        return []

    def _enum(self, value, schema, path):
        for allowed in schema["enum"]:
            if type(allowed) is type(value) and allowed == value:
                return []
            if (
                isinstance(allowed, (int, float))
                and not isinstance(allowed, bool)
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
                and allowed == value
            ):
                return []
        return self._expect(schema, path, value)

    # -- combinators ---------------------------------------------------
    def _ref(self, value, schema, path):
        target = self.defs.get(schema["$ref"])
        if target is None:
            return [(path, f"schema reference {schema['$ref']!r} not found")]
        return self.check(value, target, path)

    def _all_of(self, value, schema, path):
        errors: list[tuple] = []
        for sub in schema["allOf"]:
            for e in self.check(value, sub, path):
                if e not in errors:
                    errors.append(e)
        return errors

    def _any_of(self, value, schema, path):
        best: tuple | None = None
        for sub in schema["anyOf"]:
            errs = self.check(value, sub, path)
            if not errs:
                return []
            # prefer the branch whose errors are deepest (it got furthest), then fewest
            key = (-max(len(e[0]) for e in errs), len(errs))
            if best is None or key < best[0]:
                best = (key, errs)
        assert best is not None
        errs = best[1]
        if isinstance(value, (dict, list)):
            return errs
        return [(path, f"{_short(value)} should {schema.get('description', 'match one of the alternatives')}")]

    # -- containers ----------------------------------------------------
    def _array(self, value, schema, path):
        if not isinstance(value, list):
            return self._expect(schema, path, value)
        errors: list[tuple] = []
        items = schema.get("items")
        if items:
            for i, v in enumerate(value):
                errors.extend(self.check(v, items, path + (i,)))
        return errors

    def _object(self, value, schema, path):
        if not isinstance(value, dict):
            return self._expect(schema, path, value)
        errors: list[tuple] = []
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for req in schema.get("required", []):
            if req not in value:
                errors.append((path, f"missing required property {req!r}"))
        names = schema.get("propertyNames")
        additional = schema.get("additionalProperties", None)
        for key, v in value.items():
            if not isinstance(key, str):
                errors.append((path, f"property name {key!r} should be a string"))
                continue
            sub_path = path + (key,)
            matched = False
            if key in props:
                matched = True
                errors.extend(self.check(v, props[key], sub_path))
            for pat, sub in patterns.items():
                if _compiled(pat).search(key):
                    matched = True
                    errors.extend(self.check(v, sub, sub_path))
            if names is not None:
                errors.extend(self.check(key, names, sub_path))
            if not matched:
                if schema.get("closed") or additional is False:
                    known = ", ".join(sorted(props)) if props else "none"
                    if len(known) > 200:
                        known = known[:200] + ", ..."
                    errors.append((sub_path, f"unknown property {key!r} (allowed: {known})"))
                elif isinstance(additional, dict):
                    errors.extend(self.check(v, additional, sub_path))
        return errors


def validate(value: Any, entry: str, schema: dict[str, Any] | None = None) -> list[str]:
    """Validate ``value`` against the top-level definition ``entry`` (its ``$id``)."""
    defs = schema if schema is not None else load_schema()
    if entry not in defs:
        raise KeyError(f"no schema definition {entry!r}")
    errors = _Validator(defs).check(value, defs[entry], ())
    seen: list[str] = []
    for path, msg in errors:
        e = f"{_fmt(path)}: {msg}"
        if e not in seen:
            seen.append(e)
    return seen


def validate_quarto_yaml(config: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """Errors for a parsed ``_quarto.yml`` (empty list when valid)."""
    errors = validate(config, "project-config", schema)
    project = config.get("project") if isinstance(config, dict) else None
    if isinstance(project, dict) and isinstance(project.get("type"), str):
        if project["type"] not in PROJECT_TYPES:
            errors.append(
                f"project.type: {project['type']!r} is not a Quarto project type "
                f"({', '.join(PROJECT_TYPES)}) [semantic check, not in the schema]"
            )
    return errors


def validate_front_matter(front_matter: dict[str, Any] | None, schema: dict[str, Any] | None = None) -> list[str]:
    """Errors for a document's YAML front matter."""
    return validate(front_matter, "front-matter", schema)
