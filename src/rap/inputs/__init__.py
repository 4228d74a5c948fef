"""The inputs layer: everything a run reads, validated, behind one front door.

``rap.inputs.front.load_inputs(params)`` returns the :class:`~rap.inputs.front.Inputs` every section
receives, whatever the kind of input; :mod:`rap.inputs.kinds` says what each kind means, and only this layer
asks which kind a run has. Underneath: :mod:`~rap.inputs.load` (record-level frames, cached),
:mod:`~rap.inputs.published` (DfE's release, LA file and ONS population files), :mod:`~rap.inputs.coverage`
(what the inputs hold), :mod:`~rap.inputs.la_inputs` and :mod:`~rap.inputs.neighbours` (LA counts and
DfE's statistical neighbours shared by the LA and dashboard chapters), :mod:`~rap.inputs.check` (``rap check``) and
``readers/`` (one reader per file format).

May import from ``rap.core``, ``rap.domain`` and ``rap.synth`` only. This file imports nothing: the cache keys
of the inputs follow the import graph (:mod:`rap.core.codehash`), so a package-level import here would make
every module of the layer part of every key.
"""
