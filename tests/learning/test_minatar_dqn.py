"""DQN learns MinAtar Breakout from its pixels: issue #12's learning test in CI.

A fixed seed, the default config (the small CNN ``encoder: auto`` picks for MinAtar's 10x10xC
bool frames) and a budget that takes about a minute here; the greedy policy must beat uniformly
random play by a clear margin on 30 fresh episodes (random scores about 0.4 a game). The
learning bars (Ape-X against SB3 at 1M env steps) are benchmarks, not tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlactors.algorithms.dqn import DQN, DQNConfig
from rlactors.core import DEFAULT_ROLE
from rlactors.envs import EnvSpec

pytest.importorskip("minatar")

ENV_ID = "MinAtar/Breakout-v1"
BUDGET_ENV_STEPS = 10_000
EPISODES = 30


def random_play(episodes: int, seed: int) -> float:
    """Mean return of uniformly random actions over ``episodes`` games."""
    env = EnvSpec.of(ENV_ID).make()
    space = env.action_space(DEFAULT_ROLE)
    space.seed(seed)
    returns = []
    for episode in range(episodes):
        env.reset(seed + episode)
        total, obs = 0.0, env.observe(DEFAULT_ROLE)
        while not obs.done:
            env.interact({DEFAULT_ROLE: space.sample()})
            obs = env.observe(DEFAULT_ROLE)
            total += obs.reward
        returns.append(total)
    env.close()
    return float(np.mean(returns))


@pytest.mark.learning
@pytest.mark.timeout(400)
def test_dqn_beats_random_play_on_minatar_breakout() -> None:
    config = DQNConfig(env=ENV_ID, seed=0, backend="inline", max_env_steps=BUDGET_ENV_STEPS)
    with DQN(config) as dqn:
        dqn.train()
        ours = dqn.evaluate(EPISODES)["eval_return_mean"]
    random = random_play(EPISODES, seed=1)
    print(f"\nDQN {ENV_ID} seed 0, {BUDGET_ENV_STEPS} env steps: greedy {ours}, random {random}")
    assert ours >= max(2.0, 4 * random), (ours, random)
