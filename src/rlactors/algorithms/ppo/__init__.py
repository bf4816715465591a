"""PPO, proximal policy optimization with the clipped objective (Schulman et al., 2017).

``config.py`` holds :class:`PPOConfig` (no torch, for the CLI); the learner step is
:class:`rlactors.learners.ppo.PPOLearner`; ``algorithm.py`` composes evaluators, optimizer and
learner into :class:`PPO`.
"""
