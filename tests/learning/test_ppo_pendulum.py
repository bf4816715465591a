"""PPO learns Pendulum-v1 (continuous actions): greedy mean return >= -400 within 300,000 env
steps, on a fixed seed, with the settings docs/algorithms.md gives for continuous control
(RL-Zoo's: a short horizon, normalized observations, scaled rewards)."""

from __future__ import annotations

import time

import pytest

from rlactors.algorithms.ppo.algorithm import PPO
from rlactors.algorithms.ppo.config import PPOConfig

STOP_REWARD = -400.0
BUDGET_ENV_STEPS = 300_000


@pytest.mark.learning
@pytest.mark.timeout(600)
def test_ppo_learns_pendulum() -> None:
    config = PPOConfig(
        env="Pendulum-v1",
        seed=0,
        max_env_steps=BUDGET_ENV_STEPS,
        stop_reward=STOP_REWARD,
        eval_interval_env_steps=8192,
        gamma=0.9,
        gae_lambda=0.95,
        num_epochs=10,
        minibatch_size=64,
        rollout_steps=256,
        normalize_observations=True,
        scale_rewards=True,
        clip_schedule="constant",
    )
    start = time.perf_counter()
    with PPO(config) as ppo:
        result = ppo.train()
    print(f"\nPPO Pendulum-v1 seed 0: {result} (wall {time.perf_counter() - start:.1f} s)")
    assert result["solved"], result
    assert result["eval_return_mean"] >= STOP_REWARD
    assert result["env_steps"] <= BUDGET_ENV_STEPS
