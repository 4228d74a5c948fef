"""The SSDA903 return as data (``rap/data/ssda903/spec.yaml``): tables, code lists by year, code groups.

Readers validate against it, the generator writes its layouts and the measures take their code groups from
it, so a code list is written once. Source: DfE's "Children looked after return: guide" for each year.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml


class _CodeLoader(yaml.SafeLoader):
    """YAML's safe loader, except that only true/false are booleans: codes such as YES and NO stay text."""


_CodeLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CodeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@cache
def spec() -> dict:
    """The whole specification (tables, columns, code lists by year, code groups), parsed once."""
    with resources.files("rap.data.ssda903").joinpath("spec.yaml").open("r", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CodeLoader)  # noqa: S506 - a SafeLoader subclass


def code_group(name: str) -> tuple[str, ...]:
    """A named group of codes (``code_groups`` in the spec), e.g. ``upn_unknown`` -> UN1 to UN5."""
    return tuple(spec()["code_groups"][name])


def record_key() -> list[str]:
    """The columns that identify one child in one LA's return for one year: ``YEAR, LA, CHILD``."""
    return list(spec()["record_key"])
