"""A3C, the asynchronous advantage actor-critic (Mnih et al., 2016).

``config.py`` holds :class:`A3CConfig` (no torch, for the CLI); ``algorithm.py`` composes
the evaluators, the optimizer and the learner into :class:`A3C`.
"""
