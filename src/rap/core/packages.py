"""The packages whose versions a build depends on (``rap/data/packages.yaml``): one list for the sections'
cache keys (``rap.build.runner``) and for ``manifest.json`` (``rap.build.manifest``)."""

from __future__ import annotations

from functools import cache
from importlib import metadata, resources

import yaml


@cache
def key_packages() -> tuple[str, ...]:
    """Every package named in ``packages.yaml``, group by group, in file order."""
    with resources.files("rap.data").joinpath("packages.yaml").open("r", encoding="utf-8") as fh:
        groups = yaml.safe_load(fh)
    return tuple(name for names in groups.values() for name in names)


def package_versions() -> dict[str, str | None]:
    """``{package: installed version}`` for :func:`key_packages` (None for one that is not installed)."""
    versions: dict[str, str | None] = {}
    for name in key_packages():
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
