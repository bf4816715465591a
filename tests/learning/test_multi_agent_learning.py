"""PPO learns multi-role games: the bars of issue #11 on one fixed seed each, within the
suite's time (``benchmarks/multi_agent.py`` runs them with their full budgets).

* rock-paper-scissors against a player that plays rock 2/3 of the time: a mean reward per
  round >= 0.4 (the best response, always paper, earns 0.5);
"""

from __future__ import annotations

import pytest

from rlactors.algorithms.ppo.algorithm import PPO
from rlactors.algorithms.ppo.config import PPOConfig
from rlactors.envs.toy import RockPaperScissorsEnv

pytestmark = pytest.mark.learning


@pytest.mark.timeout(120)
def test_rock_paper_scissors_against_a_rock_biased_player() -> None:
    config = PPOConfig(
        env=RockPaperScissorsEnv,
        policy_mapping="independent",
        opponents={"player_1": "rock"},
        max_env_steps=20_000,
        stop_reward=1.35,  # 0.45 per round
        eval_episodes=100,
        seed=0,
    )
    with PPO(config) as ppo:
        result = ppo.train()
        per_round = ppo.evaluate(300)["role_returns"]["player_0"] / 3
    assert result["solved"], result
    assert per_round >= 0.4, per_round
