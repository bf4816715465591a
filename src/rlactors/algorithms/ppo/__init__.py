"""PPO, proximal policy optimization with the clipped objective (Schulman et al., 2017).

``config.py`` holds :class:`PPOConfig` (no torch, for the CLI); ``learner.py`` holds the
learner step; ``algorithm.py`` composes evaluators, optimizer and learner into :class:`PPO`.
"""
