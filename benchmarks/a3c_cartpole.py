"""A3C on CartPole-v1: env steps and seconds to solve from a fresh process, per seed.

Solved means a greedy evaluation's mean return over 20 episodes reaches 475 within a budget of
500,000 env steps, checked by rlactors' ``stop_reward`` mechanism every 4,096 env steps once
the training mean of the latest 20 episodes reaches 237.5; see ``_cartpole_common.py`` for the
method (fresh process per run, seconds from launch to solved report, one torch thread).

- rlactors: ``A3CConfig`` defaults (2 evaluators of 4 envs, 8-step rollouts; each evaluator
  computes the A2C-loss gradient of its own rollout, the learner applies each as it arrives and
  sends fresh weights back to that evaluator only), ``--backend`` (``process`` by default).

No peer: Stable-Baselines3 has no A3C (its A2C is the synchronous variant, in
``a2c_cartpole.py``). Bar: A3C solves on >= 4 of 5 seeds.

Usage: ``python benchmarks/a3c_cartpole.py [--seeds 0 1 2 3 4] [--backend process]``. The last
line printed is one JSON object with every figure.
"""

from __future__ import annotations

import os

from _cartpole_common import main

BUDGET_ENV_STEPS = 500_000

if __name__ == "__main__":
    main("a3c", __doc__, os.path.abspath(__file__), BUDGET_ENV_STEPS)
