"""Every algorithm with ``inference="server"``: its evaluators act through one policy server.

A few hundred env steps each on the inline backend (and Ape-X and IMPALA, whose workers run
asynchronously, on the process one; A3C refuses a server); the
iteration metrics carry the server's batches; a multi-role env is refused before any actor
starts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rlactors.algorithms import get_algorithm
from rlactors.algorithms.loop import TrainingLoop
from rlactors.envs.toy import NimEnv

_Q: dict[str, Any] = {
    "rollout_steps": 25,
    "batch_size": 32,
    "hidden_sizes": (16,),
}
_ACTOR_CRITIC: dict[str, Any] = {
    "num_workers": 2,
    "num_envs_per_worker": 2,
    "rollout_steps": 16,
    "hidden_sizes": (16,),
}
TINY: dict[str, dict[str, Any]] = {
    "dqn": {**_Q, "max_env_steps": 600, "learning_starts_env_steps": 200},
    "apex": {
        **_Q,
        "max_env_steps": 1200,
        "iteration_env_steps": 400,
        "num_envs_per_worker": 2,
        "learning_starts_transitions": 200,
    },
    "a2c": {**_ACTOR_CRITIC, "max_env_steps": 256},
    "ppo": {**_ACTOR_CRITIC, "max_env_steps": 256, "num_epochs": 1, "minibatch_size": 32},
    "impala": {**_ACTOR_CRITIC, "max_env_steps": 256, "iteration_env_steps": 128},
}


def run(name: str, **overrides: Any) -> tuple[TrainingLoop, list[dict[str, Any]]]:
    fields = {"env": "CartPole-v1", "seed": 0, **TINY[name], **overrides}
    algorithm = get_algorithm(name).algorithm_class()(get_algorithm(name).config_class()(**fields))
    assert isinstance(algorithm, TrainingLoop)
    iterations: list[dict[str, Any]] = []
    with algorithm:
        algorithm.train(callback=iterations.append)
    return algorithm, iterations


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(TINY))
def test_trains_through_a_policy_server_inline(name: str) -> None:
    _, iterations = run(name, backend="inline", inference="server")
    last = iterations[-1]
    assert last["env_steps"] >= 128
    served = last["inference"]
    assert served["batches"] > 0 and served["rows_per_batch"] >= 1 and served["restarts"] == 0


@pytest.mark.timeout(120)
def test_a_served_run_is_reproducible_inline() -> None:
    # Not the same run as with local copies: the server loads new weights when they arrive,
    # so a sample asked before the learner's step may act with its weights (a local copy
    # loads them after that sample). But inline, the same run twice.
    first, _ = run("dqn", backend="inline", inference="server")
    second, _ = run("dqn", backend="inline", inference="server")
    _, iterations = run("dqn", backend="inline")
    assert "inference" not in iterations[-1]  # no server, no server metrics
    for key, value in first.policy.get_weights().items():
        np.testing.assert_array_equal(second.policy.get_weights()[key], value, err_msg=key)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["apex", "impala"])
def test_trains_through_a_policy_server_on_processes(name: str) -> None:
    _, iterations = run(name, backend="process", inference="server")
    served = iterations[-1]["inference"]
    assert served["batches"] > 0 and served["largest_batch_rows"] >= 2


def test_a3c_refuses_a_policy_server() -> None:
    # Its workers' gradients are taken at the weights their rollouts acted with.
    entry = get_algorithm("a3c")
    with pytest.raises(ValueError, match=r"A3CConfig\.inference must be 'local'"):
        entry.config_class()(env="CartPole-v1", inference="server")


def test_a_multi_role_env_is_refused_before_any_actor_starts() -> None:
    entry = get_algorithm("ppo")
    config = entry.config_class()(env=NimEnv, backend="inline", inference="server")
    with pytest.raises(ValueError, match="inference='server' acts for single-role envs"):
        entry.algorithm_class()(config)
