"""Ape-X and PPO solve CartPole-v1 with ``inference="server"``: every evaluator acts through one
policy server actor (issue #13's learning bar, one fixed seed; ``benchmarks/inference.py``
measures the server against local copies on more).

Each run's default config, as ``rlactors train apex|ppo --env CartPole-v1 --workers 2
--stop-reward 475 --inference server`` runs it, on the default process backend; the
iteration metrics report the batches the server formed.
"""

from __future__ import annotations

import time

import pytest

from rlactors.algorithms import get_algorithm

STOP_REWARD = 475.0
BUDGETS = {"apex": 100_000, "ppo": 200_000}


@pytest.mark.learning
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_solves_cartpole_acting_through_a_policy_server(name: str) -> None:
    entry = get_algorithm(name)
    config = entry.config_class()(
        env="CartPole-v1",
        seed=0,
        num_workers=2,
        max_env_steps=BUDGETS[name],
        stop_reward=STOP_REWARD,
        inference="server",
    )
    start = time.perf_counter()
    with entry.algorithm_class()(config) as algorithm:
        result = algorithm.train()
        inference = list(algorithm.history)[-1]["inference"]
    wall_s = time.perf_counter() - start
    print(f"\n{name} CartPole-v1 seed 0, inference=server: {result} {inference} ({wall_s:.1f} s)")
    assert result["solved"], result
    assert result["env_steps"] <= BUDGETS[name]
    # Every step went through the server (2 x 4 envs a batch at most), which never failed.
    assert inference["batches"] > 0 and 4 <= inference["largest_batch_rows"] <= 8
    assert inference["restarts"] == 0
