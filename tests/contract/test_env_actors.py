"""Env actors: an evaluator's envs as actors, the same assertions on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from actor_fixtures import DyingCorridorEnv

from rlactors.actors import Runtime, spawn
from rlactors.core import SampleBatch
from rlactors.envs import EnvSpec
from rlactors.envs.toy import SlowEnv
from rlactors.evaluators import DQNEvaluator, EnvActorsConfig, EvaluatorConfig
from rlactors.evaluators.actor_critic import ActorCriticEvaluator, RolloutConfig
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


# -- acting on whichever env actors are ready (env_stepping="ready") --------------------------

#: Steps of 0-6 ms drawn per step: env actors answer out of order. The observations do not
#: depend on the actions (SlowEnv draws them from its seed), so each env's observation stream
#: is the same however it is stepped; the reward is 1 where the action hit the target.
UNEVEN = EnvSpec.of(
    SlowEnv, {"step_ms": 0.0, "step_ms_max": 6.0, "obs_size": 3, "episode_steps": 7}
)


def _by_env(column: np.ndarray, steps: int, k: int) -> np.ndarray:
    return column.reshape(steps, k, *column.shape[1:])


@pytest.mark.parametrize("stepping", ["ready", "double_buffer"])
def test_stepping_out_of_lockstep_keeps_each_envs_own_trajectory(
    runtime: Runtime, stepping: str
) -> None:
    steps, k = 10, 4
    ready = EnvActorsConfig("process", stepping=stepping)  # type: ignore[arg-type]
    configs = {
        stepping: RolloutConfig(
            UNEVEN, num_envs=k, rollout_steps=steps, gae_lambda=None, seed=2, env_actors=actors
        )
        for stepping, actors in (("lockstep", EnvActorsConfig("process")), ("ready", ready))
    }
    evaluators = {name: spawn(ActorCriticEvaluator, c, index=1) for name, c in configs.items()}
    for _ in range(2):  # the second rollout goes on from where each env stopped
        want, got = (evaluators[n].ask("rollout").result(TIMEOUT) for n in ("lockstep", "ready"))
        assert len(got.batch) == len(want.batch) == steps * k
        for column in ("obs", "next_obs", "truncated", "discounts"):
            np.testing.assert_array_equal(
                _by_env(got.batch[column], steps, k),
                _by_env(want.batch[column], steps, k),
                err_msg=column,
            )
        # Row [t, k] holds env k's own action at its t-th step and the reward that action got.
        obs, actions = got.batch["obs"], got.batch["actions"]
        target = np.minimum((obs[:, 0] * 2).astype(np.int64), 1)
        np.testing.assert_array_equal(got.batch["rewards"], (actions == target).astype(np.float32))
        assert sorted(e.length for e in got.episodes) == sorted(e.length for e in want.episodes)
    for evaluator in evaluators.values():
        evaluator.stop()


@pytest.mark.parametrize("stepping", ["ready", "double_buffer"])
def test_a_dqn_evaluator_out_of_lockstep_makes_the_same_transitions(
    runtime: Runtime, stepping: str
) -> None:
    def rows(batch: SampleBatch) -> list[tuple[bytes, bytes, float]]:
        return sorted(
            (o.tobytes(), n.tobytes(), float(d))
            for o, n, d in zip(batch["obs"], batch["next_obs"], batch["discounts"], strict=True)
        )

    base = {
        "num_envs": 3,
        "rollout_steps": 9,
        "n_step": 3,
        "epsilon": 0.5,
        "compute_priorities": True,
    }
    lockstep = spawn(DQNEvaluator, _config(UNEVEN, **base, env_actors=EnvActorsConfig("process")))
    ready = spawn(
        DQNEvaluator,
        _config(UNEVEN, **base, env_actors=EnvActorsConfig("process", stepping=stepping)),  # type: ignore[arg-type]
    )
    for _ in range(2):
        want, _ = lockstep.ask("sample").result(TIMEOUT)
        got, _ = ready.ask("sample").result(TIMEOUT)
        assert rows(got) == rows(want)  # the same n-step transitions, in another order
        assert got["priorities"].shape == (len(got),)
        # A row's n-step return includes its first step's reward: 1 where its action hit.
        target = np.minimum((got["obs"][:, 0] * 2).astype(np.int64), 1)
        assert len(got) > 0 and np.all(got["rewards"] >= (got["actions"] == target) - 1e-6)
    lockstep.stop()
    ready.stop()


def test_double_buffering_is_repeatable_from_the_seed(runtime: Runtime) -> None:
    config = RolloutConfig(
        UNEVEN, num_envs=5, rollout_steps=6, seed=3,
        env_actors=EnvActorsConfig("process", stepping="double_buffer"),
    )  # fmt: skip
    runs = [spawn(ActorCriticEvaluator, config, index=0) for _ in range(2)]
    for _ in range(2):
        first, second = (run.ask("rollout").result(TIMEOUT).batch for run in runs)
        for column in ("obs", "actions", "log_probs", "advantages", "returns"):
            np.testing.assert_array_equal(first[column], second[column], err_msg=column)
    for run in runs:
        run.stop()


def test_answered_returns_the_env_actors_whose_step_is_in() -> None:
    from rlactors.evaluators.env_actors import EnvActor, answered

    with Runtime("process"):
        fast = EnvActor(EnvSpec.of(SlowEnv, {"step_ms": 0.0}))
        slow = EnvActor(EnvSpec.of(SlowEnv, {"step_ms": 1500.0}))
        envs = [slow, fast]
        try:
            for env in envs:
                env.reset(0)
                env.interact({"agent": 0})
            assert answered(envs, [0, 1]) == [1]  # the fast one, without waiting for the slow
            envs[1].observe("agent")
            assert answered(envs, [0]) == [0]  # waits for the slow one (1.5 s)
            assert envs[0].observe("agent").info["step"] == 1
        finally:
            for env in envs:
                env.close()


def test_env_stepping_ready_needs_env_actors() -> None:
    from typing import get_args

    from rlactors.algorithms.ppo.config import PPOConfig
    from rlactors.algorithms.run_config import EnvStepping
    from rlactors.evaluators.config import ENV_STEPPINGS

    assert get_args(EnvStepping) == ENV_STEPPINGS  # the CLI's choices are the evaluators'
    for stepping in ("ready", "double_buffer"):
        with pytest.raises(ValueError, match=rf"stepping='{stepping}' .* set mode to 'process'"):
            EnvActorsConfig("none", stepping=stepping)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"EnvActorsConfig\.stepping must be one of lockstep"):
        EnvActorsConfig("process", stepping="async")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"PPOConfig\.env_stepping='ready' overlaps .* env_actors="
    ):
        PPOConfig(env_stepping="ready")
