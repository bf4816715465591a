"""A2C, the synchronous advantage actor-critic (Mnih et al., 2016; OpenAI Baselines).

``config.py`` holds :class:`A2CConfig` (no torch, for the CLI); ``algorithm.py`` composes
the evaluators, the optimizer and the learner into :class:`A2C`.
"""
