"""Reproducible analytical pipeline: the ethnicity of children looked after in England."""

__version__ = "0.1.0"
