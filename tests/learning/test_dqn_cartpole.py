"""DQN solves CartPole-v1: greedy mean return >= 475 over 20 episodes within 100,000 env steps.

The bar of the DQN issue, on one fixed seed, with the default config: what a user gets from
``rlactors train dqn --env CartPole-v1 --stop-reward 475``. The inline backend keeps the run
bit-for-bit reproducible (and on two cores it is as fast as the process backend here). The
benchmark (``benchmarks/dqn_cartpole.py``) runs five seeds against Stable-Baselines3.
"""

from __future__ import annotations

import time

import pytest

from rlactors.algorithms.dqn import DQN, DQNConfig

STOP_REWARD = 475.0
BUDGET_ENV_STEPS = 100_000


@pytest.mark.learning
@pytest.mark.timeout(300)
def test_dqn_solves_cartpole_within_budget() -> None:
    config = DQNConfig(
        env="CartPole-v1",
        seed=0,
        backend="inline",
        max_env_steps=BUDGET_ENV_STEPS,
        stop_reward=STOP_REWARD,
        eval_episodes=20,
    )
    start = time.perf_counter()
    with DQN(config) as dqn:
        result = dqn.train()
    wall_s = time.perf_counter() - start
    print(f"\nDQN CartPole-v1 seed 0: {result} (wall {wall_s:.1f} s)")
    assert result["solved"], result
    assert result["eval_return_mean"] >= STOP_REWARD
    assert result["env_steps"] <= BUDGET_ENV_STEPS
