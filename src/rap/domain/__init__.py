"""The domain layer: what the statistics are about, as small tables read once from ``rap/data/`` and the
methods applied to them. ``ethnicity`` (DfE codes and groups, ONS 2021, EES labels), ``geography`` (LAs,
regions, postcodes), ``ssda903`` (the return's tables, code lists and code groups), ``input_files`` (the names
of inputs found by name), ``stats`` (intervals, funnels, standardisation), ``disclosure`` (suppression, rounding,
EES symbols) and ``ees`` (writing EES open-data files).

Modules here import only ``rap.core`` and each other: every later layer (synth, inputs, measures, sections, ...)
may use them.
"""
