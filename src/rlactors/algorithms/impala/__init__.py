"""IMPALA with V-trace (Espeholt et al., 2018).

``config.py`` holds :class:`IMPALAConfig` (no torch, for the CLI); ``learner.py`` holds the
learner step; ``algorithm.py`` composes evaluators, optimizer and learner into :class:`IMPALA`.
"""
