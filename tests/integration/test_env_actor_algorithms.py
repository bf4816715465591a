"""Algorithms whose evaluators hold their envs as actors (``env_actors``), for a few hundred
env steps; a multi-role env is refused before any actor starts."""

from __future__ import annotations

from typing import Any

import pytest

from rlactors.algorithms import get_algorithm
from rlactors.envs.toy import NimEnv

TINY: dict[str, dict[str, Any]] = {
    "apex": {
        "max_env_steps": 600,
        "iteration_env_steps": 300,
        "num_envs_per_worker": 2,
        "rollout_steps": 25,
        "learning_starts_transitions": 100,
        "batch_size": 32,
        "hidden_sizes": (16,),
    },
    "ppo": {
        "max_env_steps": 256,
        "num_envs_per_worker": 2,
        "rollout_steps": 16,
        "num_epochs": 1,
        "minibatch_size": 32,
        "hidden_sizes": (16,),
    },
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("name", "backend", "mode", "stepping"),
    [
        ("apex", "process", "process", "lockstep"),
        ("ppo", "inline", "colocated", "lockstep"),
        ("apex", "process", "process", "ready"),
        ("ppo", "process", "process", "ready"),
    ],
)
def test_trains_with_env_actors(name: str, backend: str, mode: str, stepping: str) -> None:
    entry = get_algorithm(name)
    config = entry.config_class()(
        env="CartPole-v1", seed=0, backend=backend, env_actors=mode, env_stepping=stepping,
        **TINY[name],
    )  # fmt: skip
    iterations: list[dict[str, Any]] = []
    with entry.algorithm_class()(config) as algorithm:
        algorithm.train(callback=iterations.append)
    assert iterations[-1]["env_steps"] >= 256 and iterations[-1]["env_crashes"] == 0


def test_a_multi_role_env_is_refused_before_any_actor_starts() -> None:
    entry = get_algorithm("ppo")
    config = entry.config_class()(env=NimEnv, backend="inline", env_actors="process")
    with pytest.raises(ValueError, match="env_actors='process' is for single-role envs"):
        entry.algorithm_class()(config)


@pytest.mark.timeout(180)
def test_evaluations_in_the_driver_step_env_actors_in_waves() -> None:
    from rlactors.algorithms.dqn import DQN, DQNConfig
    from rlactors.algorithms.greedy_evaluation import DRIVER_EVAL_ENV_ACTORS
    from rlactors.evaluators import make_env_batch
    from rlactors.evaluators.env_actors import EnvActor

    config = DQNConfig(
        env="CartPole-v1", backend="inline", env_actors="process", max_env_steps=512,
        learning_starts_env_steps=100, hidden_sizes=(16,), eval_episodes=3,
    )  # fmt: skip
    with DQN(config) as dqn:
        plain = dqn.evaluate(4)  # no session yet: plain envs in this process
        assert dqn._actor_eval_envs == {}
        dqn.train()  # the session (its runtime) stays up until stop()
        assert set(dqn._actor_eval_envs) == {3}  # train()'s final evaluation ran on them
        count = DRIVER_EVAL_ENV_ACTORS + 5  # two waves
        waves = dqn.evaluate(count)
        assert waves["episodes"] == count and waves["eval_length_mean"] > 0
        envs = dqn._actor_eval_envs[DRIVER_EVAL_ENV_ACTORS]
        assert all(isinstance(env, EnvActor) for env in envs.envs)
        # One wave plays the episodes plain envs play from the same seed.
        plain_envs = make_env_batch(dqn.env_spec, 3)
        assert dqn._greedy_on_env_actors(3, 7) == dqn.greedy_episodes(plain_envs, 7)
    assert plain["episodes"] == 4
    assert dqn._actor_eval_envs == {}  # stop() closed them


def test_env_actors_on_the_inline_backend_say_they_change_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from rlactors.algorithms.dqn import DQN, DQNConfig

    with DQN(DQNConfig(env="CartPole-v1", backend="inline", env_actors="process")):
        pass
    assert "runs every env actor in this one thread" in caplog.text
    assert "use --backend process" in caplog.text
