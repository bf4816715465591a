"""Env actors: an evaluator's envs as actors, the same assertions on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from actor_fixtures import DyingCorridorEnv

from rlactors.actors import Runtime, spawn
from rlactors.envs import EnvSpec
from rlactors.evaluators import DQNEvaluator, EnvActorsConfig, EvaluatorConfig
from rlactors.policies import DQNPolicyConfig

TIMEOUT = 60.0
NET = DQNPolicyConfig(hidden_sizes=(8,))


def _config(env: object = "CartPole-v1", **fields: object) -> EvaluatorConfig:
    base: dict[str, object] = {
        "num_envs": 3, "rollout_steps": 12, "n_step": 2, "epsilon": 0.5, "policy": NET, "seed": 4,
    }  # fmt: skip
    return EvaluatorConfig(EnvSpec.of(env), **{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["colocated", "process"])
def test_env_actors_give_the_transitions_of_plain_envs(runtime: Runtime, mode: str) -> None:
    plain = spawn(DQNEvaluator, _config(), index=1)
    actors = spawn(DQNEvaluator, _config(env_actors=EnvActorsConfig(mode)), index=1)
    for _ in range(2):  # a second call continues the episodes of the first
        want, want_episodes = plain.ask("sample").result(TIMEOUT)
        got, got_episodes = actors.ask("sample").result(TIMEOUT)
        for column in ("obs", "actions", "rewards", "next_obs", "discounts"):
            np.testing.assert_array_equal(got[column], want[column], err_msg=column)
        assert got_episodes == want_episodes
    plain.stop()
    actors.stop()


def test_an_env_actor_that_dies_is_replaced_and_its_episode_dropped(runtime: Runtime) -> None:
    config = _config(
        DyingCorridorEnv, num_envs=2, epsilon=1.0, env_actors=EnvActorsConfig("process")
    )
    evaluator = spawn(DQNEvaluator, config)
    batch, episodes = evaluator.ask("sample").result(TIMEOUT)
    metrics = evaluator.ask("get_metrics").result(TIMEOUT)
    # Each env dies in its 5th interact (and each replacement in its 5th): 12 steps, 2 each.
    assert metrics["env_crashes"] == 4
    assert len(batch) > 0 and metrics["env_steps"] == 2 * 12
    assert all(e.length < 5 for e in episodes)  # no episode spans a death
    evaluator.stop()


def test_an_env_actor_that_hangs_is_killed_and_replaced(runtime: Runtime) -> None:
    if runtime.backend_name == "inline":
        pytest.skip("inline runs every actor in the test's thread: a hung env hangs it")
    config = _config(
        EnvSpec.of(DyingCorridorEnv, {"hang": True}), num_envs=2, rollout_steps=6, epsilon=1.0,
        env_actors=EnvActorsConfig("process", step_timeout_s=1.0),
    )  # fmt: skip
    evaluator = spawn(DQNEvaluator, config)
    _, _ = evaluator.ask("sample").result(TIMEOUT)
    assert evaluator.ask("get_metrics").result(TIMEOUT)["env_crashes"] == 2
    evaluator.stop()


def test_env_actors_config_is_checked() -> None:
    with pytest.raises(ValueError, match=r"EnvActorsConfig\.mode must be one of none"):
        EnvActorsConfig("threads")
    with pytest.raises(ValueError, match=r"EnvActorsConfig\.step_timeout_s must be"):
        EnvActorsConfig("process", step_timeout_s=0)


def test_an_env_batch_of_env_actors_holds_actors_and_stops_them() -> None:
    from rlactors.evaluators import make_env_batch
    from rlactors.evaluators.env_actors import EnvActor

    with Runtime("inline"):
        batch = make_env_batch("CartPole-v1", 2, env_actors=EnvActorsConfig("process"))
        assert all(isinstance(env, EnvActor) for env in batch.envs)
        batch.reset(seed=0)
        batch.interact(np.zeros(2, np.int64))
        assert batch.observe().states.shape == (2, 4)
        refs = [env.ref for env in batch.envs]  # type: ignore[attr-defined]
        batch.close()
        with pytest.raises(Exception, match=r"stopped|died|gone"):
            refs[0].ask("describe").result(TIMEOUT)
