"""The report: a Quarto book built from executed section notebooks, and its renderers.

- :func:`build_project` writes the Quarto book project (``_quarto.yml`` checked against
  Quarto's own schema, ``index.qmd``, sanitised notebook chapters, CSS).
- :func:`render` renders it with Quarto when installed, else with pandoc + Typst.
- :func:`validate_quarto_yaml` checks a ``_quarto.yml`` mapping offline.
"""

from rap.report.project import build_project
from rap.report.render import ReportRenderError, render
from rap.report.schema import validate_front_matter, validate_quarto_yaml

__all__ = [
    "build_project",
    "render",
    "ReportRenderError",
    "validate_quarto_yaml",
    "validate_front_matter",
]
