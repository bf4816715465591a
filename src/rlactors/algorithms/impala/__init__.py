"""IMPALA with V-trace (Espeholt et al., 2018).

``config.py`` holds :class:`IMPALAConfig` (no torch, for the CLI); the learner step is
:class:`rlactors.learners.v_trace.VTraceLearner`; ``algorithm.py`` composes evaluators,
optimizer and learner into :class:`IMPALA`.
"""
