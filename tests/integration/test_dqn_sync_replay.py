"""SyncReplayOptimizer over evaluator actors: rounds, prefetch, schedules, priorities, stop."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from rlactors.actors import Runtime
from rlactors.core import DEFAULT_POLICY_ID
from rlactors.evaluators import DQNEvaluator, EvaluatorConfig, make_env_batch
from rlactors.learners import DQNLearner, DQNLearnerConfig
from rlactors.optimizers import LinearSchedule, SyncReplayConfig, SyncReplayOptimizer
from rlactors.optimizers.worker_group import WorkerGroup, evaluator_group
from rlactors.policies import DQNPolicy, DQNPolicyConfig

POLICY = DQNPolicyConfig(hidden_sizes=(16,))


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    with Runtime("inline") as rt:
        yield rt


def evaluators(count: int, learner: DQNLearner, **overrides: object) -> WorkerGroup[DQNEvaluator]:
    fields: dict[str, object] = {
        "env": "CartPole-v1",
        "rollout_steps": 50,
        "n_step": 2,
        "policy": POLICY,
        **overrides,
    }
    config = EvaluatorConfig(**fields)  # type: ignore[arg-type]
    return evaluator_group(DQNEvaluator, config, learner, count)


def learner() -> DQNLearner:
    envs = make_env_batch("CartPole-v1", 1)
    policy = DQNPolicy(envs.observation_space, envs.action_space, POLICY, seed=0)
    return DQNLearner(policy, DQNLearnerConfig())


def test_rounds_add_samples_learn_and_report(runtime: Runtime) -> None:
    policy = learner()
    optimizer = SyncReplayOptimizer(
        evaluators(2, policy),
        policy,
        SyncReplayConfig(batch_size=8, train_steps_per_sample=3, learning_starts_env_steps=150),
        seed=0,
        epsilon_schedule=LinearSchedule(1.0, 0.0, 200),
    )
    assert optimizer.env_steps_per_round == 100
    first = optimizer.step()
    learned = first["learners"][DEFAULT_POLICY_ID]
    assert first["env_steps"] == 100 and first["learner_steps"] == 0 and learned["loss"] is None
    assert first["metrics"]["epsilon"] == 1.0 and first["metrics"]["replay_size"] >= 96
    second = optimizer.step()
    learned = second["learners"][DEFAULT_POLICY_ID]
    assert second["env_steps"] == 200 and learned["learner_steps_this_step"] == 3
    assert learned["loss"] is not None and np.isfinite(learned["loss"])
    # The second round's samples were asked for after the first round: epsilon at 100 steps.
    assert second["metrics"]["epsilon"] == 0.5
    assert all(r > 0 for r in first["episode_returns"] + second["episode_returns"])
    optimizer.stop()
    optimizer.stop()  # idempotent


def test_evaluators_get_the_learners_weights(runtime: Runtime) -> None:
    policy = learner()
    group = evaluators(1, policy)
    optimizer = SyncReplayOptimizer(
        group, policy, SyncReplayConfig(batch_size=8, learning_starts_env_steps=0), seed=0
    )
    optimizer.step(last=True)
    weights = group.refs[0].ask("get_weights").result(timeout=10)
    for key, value in policy.get_weights().items():
        np.testing.assert_array_equal(weights[key], value)
    optimizer.stop()


def test_prioritized_replay_takes_the_evaluators_priorities(runtime: Runtime) -> None:
    policy = learner()
    optimizer = SyncReplayOptimizer(
        evaluators(1, policy, compute_priorities=True),
        policy,
        SyncReplayConfig(
            batch_size=8,
            train_steps_per_sample=0,
            prioritized_replay=True,
            prioritized_replay_alpha=1.0,
        ),
        seed=0,
    )
    stats = optimizer.step(last=True)
    size = stats["metrics"]["replay_size"]
    leaves = optimizer.replay.sampler.state_dict(size)["leaves"]  # (priority + eps) ** alpha
    assert np.all(leaves > 0) and len(np.unique(leaves)) > 1  # not all the default max
    assert "beta" in stats["metrics"]
    optimizer.stop()


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        SyncReplayConfig(batch_size=0)
    with pytest.raises(ValueError, match="learning_starts_env_steps"):
        SyncReplayConfig(learning_starts_env_steps=-1)


def test_needs_an_evaluator(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="num_workers must be >= 1"):
        evaluators(0, learner())


def test_linear_schedule() -> None:
    schedule = LinearSchedule(1.0, 0.1, 10)
    assert schedule(0) == 1.0 and schedule(5) == pytest.approx(0.55) and schedule(10) == 0.1
    assert schedule(1000) == 0.1 and LinearSchedule(1.0, 0.5, 0)(0) == 0.5
    with pytest.raises(ValueError, match="duration"):
        LinearSchedule(1.0, 0.0, -1)


class BrokenEvaluator(DQNEvaluator):
    """Its env fails on every sample."""

    def sample(self) -> tuple[object, list[object]]:  # type: ignore[override]
        raise RuntimeError("env exploded")


def test_an_evaluator_error_reaches_the_caller_and_stop_still_works(runtime: Runtime) -> None:
    config = EvaluatorConfig("CartPole-v1", rollout_steps=10, policy=POLICY)
    policy = learner()
    group = WorkerGroup(
        BrokenEvaluator,
        lambda _i: (config,),
        1,
        weights=lambda: {DEFAULT_POLICY_ID: policy.get_weights()},
    )
    optimizer = SyncReplayOptimizer(group, policy, SyncReplayConfig(), seed=0)
    for _ in range(2):  # the failed round is not waited on again: a new one is asked for
        with pytest.raises(RuntimeError, match="env exploded"):
            optimizer.step()
    optimizer.stop()


def test_weights_travel_keyed_by_policy_id(runtime: Runtime) -> None:
    """An evaluator takes ``{policy id: weights}``; a broadcast for another policy, or plain
    weights not keyed by id, is an error that names both."""
    policy = learner()
    config = EvaluatorConfig("CartPole-v1", rollout_steps=10, policy=POLICY, policy_id="red")
    evaluator = DQNEvaluator(config)
    evaluator.set_weights({"red": policy.get_weights()})
    for key, value in policy.get_weights().items():
        np.testing.assert_array_equal(evaluator.get_weights()[key], value)
    evaluator.set_weights({})  # nothing for it: keeps its weights
    with pytest.raises(ValueError, match=r"acts with policy 'red' and was sent weights for"):
        evaluator.set_weights({"blue": policy.get_weights()})
    with pytest.raises(ValueError, match="keyed by policy id"):
        evaluator.set_weights(policy.get_weights())  # type: ignore[arg-type]
