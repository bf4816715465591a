"""The evaluators on a crashing env: the lost step teaches nothing, the steps before it end as a
truncation at the last good state, and the crash is counted."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlactors.core import SampleBatch
from rlactors.envs import CrashingCorridorEnv, EnvCrashError, EnvCrashPolicy, EnvSpec
from rlactors.evaluators import (
    ActorCriticEvaluator,
    DQNEvaluator,
    EvaluatorConfig,
    RolloutConfig,
)
from rlactors.policies import ActorCriticConfig, NumpyActorCriticPolicy

LENGTH = 8  # no goal within the tests' steps: every reward is 0 unless a crash says otherwise
OBS_SPACE = gym.spaces.Box(0.0, 1.0, (LENGTH,), np.float32)


def crashing(**schedule: Any) -> EnvSpec:
    return EnvSpec(CrashingCorridorEnv, kwargs={"length": LENGTH, **schedule})


def positions(obs: np.ndarray) -> list[int]:
    return [int(p) for p in np.asarray(obs).argmax(axis=-1)]


class AlwaysRight:
    """A Q-acting policy that always steps right, so the states are known in advance."""

    def __init__(self) -> None:
        self.epsilon = 0.0

    def set_epsilon(self, epsilon: float) -> None:
        self.epsilon = epsilon

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        return np.ones(len(obs), dtype=np.int64)

    def compute_td_error(self, batch: Any) -> np.ndarray:
        return np.zeros(len(batch), np.float32)

    def get_weights(self) -> dict[str, np.ndarray]:
        return {}

    def set_weights(self, weights: Any) -> None:
        pass


def test_dqn_transitions_never_span_a_crash_and_the_pending_ones_are_truncated() -> None:
    # Cells 0, 1, 2, 3, then interact #4 (taken in cell 3) crashes; the rebuilt env (the same
    # schedule) steps to cells 1 and 2 in the last two of the 6 steps.
    config = EvaluatorConfig(
        crashing(crash_interacts=(4,)), rollout_steps=6, n_step=3, gamma=0.5, epsilon=0.0
    )
    evaluator = DQNEvaluator(config, policy=AlwaysRight())
    batch, episodes = evaluator.sample()
    # s_0 -> s_3 is a whole 3-step transition; s_1 and s_2 end as a truncation at s_3, the
    # state the lost action was taken in. Nothing starts in s_3 or reaches the fresh env.
    assert positions(batch["obs"]) == [0, 1, 2]
    assert positions(batch["next_obs"]) == [3, 3, 3]
    np.testing.assert_allclose(batch["discounts"], [0.125, 0.25, 0.5])
    np.testing.assert_array_equal(batch["rewards"], [0.0, 0.0, 0.0])
    assert episodes == []  # the crashed episode did not end: it is not reported
    metrics = evaluator.get_metrics()
    assert metrics["env_crashes"] == 1 and metrics["env_steps"] == 6
    # The fresh env's 2 pending steps carry over, as any others would.
    batch, _ = evaluator.sample()
    # Steps 7-8: the first rebuilt env's #3 and its crash in #4; steps 9-12: the second's.
    assert positions(batch["obs"]) == [0, 1, 2, 0, 1, 2]
    assert positions(batch["next_obs"]) == [3, 3, 3, 3, 3, 3]
    assert evaluator.get_metrics()["env_crashes"] == 3


def test_dqn_evaluator_ends_with_the_crash_error_past_its_policy() -> None:
    config = EvaluatorConfig(
        crashing(crash_every_interacts=1),
        rollout_steps=4,
        env_crash_policy=EnvCrashPolicy(max_crashes=2, within_s=3600.0),
    )
    with pytest.raises(EnvCrashError, match=r"^env CrashingCorridorEnv crashed 3 times"):
        DQNEvaluator(config, policy=AlwaysRight()).sample()


def actor_critic(gae_lambda: float | None) -> tuple[ActorCriticEvaluator, NumpyActorCriticPolicy]:
    config = RolloutConfig(
        crashing(crash_interacts=(3,)),  # step t = 2 of the rollout is lost
        rollout_steps=5,
        gamma=0.5,
        gae_lambda=gae_lambda,
        policy=ActorCriticConfig(hidden_sizes=(8,)),
    )
    policy = NumpyActorCriticPolicy(OBS_SPACE, gym.spaces.Discrete(2), config.policy, seed=4)
    return ActorCriticEvaluator(config, policy=policy), policy


def moved(position: int, action: int) -> int:
    return max(0, position + (1 if action == 1 else -1))


def test_gae_gives_the_crashed_step_no_row_and_truncates_the_steps_before_it() -> None:
    evaluator, policy = actor_critic(gae_lambda=0.9)
    rollout = evaluator.rollout()
    batch = rollout.batch
    assert rollout.env_steps == 5 and rollout.env_crashes == 1 and len(batch) == 4
    obs, actions = batch["obs"], batch["actions"]
    p0, p1, fresh0, fresh1 = positions(obs)
    assert p0 == 0 and fresh0 == 0 and p1 == moved(p0, actions[0])  # rows t = 0, 1, 3, 4
    s2 = np.eye(LENGTH, dtype=np.float32)[moved(p1, actions[1])]  # where t = 2 was lost
    last = np.eye(LENGTH, dtype=np.float32)[moved(fresh1, actions[3])]
    v = policy.value(np.stack([obs[0], obs[1], s2, obs[2], obs[3], last])).astype(np.float64)
    g, lam = 0.5, 0.9
    # Rewards are 0. The first episode is truncated at s_2 (bootstrap V(s_2), nothing after
    # it); the second is cut by the rollout's end (bootstrap V of the last state).
    a1 = g * v[2] - v[1]
    a0 = g * v[1] - v[0] + g * lam * a1
    a4 = g * v[5] - v[4]
    a3 = g * v[4] - v[3] + g * lam * a4
    np.testing.assert_allclose(batch["advantages"], [a0, a1, a3, a4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batch["returns"], [a0 + v[0], a1 + v[1], a3 + v[3], a4 + v[4]],
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    assert evaluator.get_metrics()["env_crashes"] == 1
    # The rebuilt envs crash in their 3rd interact as well: at steps 6 and 9 of 10.
    assert evaluator.rollout().env_crashes == 2  # a count since the last rollout
    assert evaluator.get_metrics()["env_crashes"] == 3


def test_trajectories_keep_the_crashed_step_in_place_and_mark_it() -> None:
    evaluator, _ = actor_critic(gae_lambda=None)
    batch = evaluator.rollout().batch
    assert len(batch) == 5
    assert batch["crashed"].tolist() == [False, False, True, False, False]
    assert batch["truncated"].tolist() == [False, False, True, False, False]
    assert batch["rewards"][2] == 0.0 and batch["discounts"][2] == 0.0
    np.testing.assert_array_equal(batch["next_obs"][2], batch["obs"][2])  # the last good state
    assert positions(batch["obs"])[3] == 0  # the rebuilt env's first state


def test_vtrace_learns_nothing_from_a_crashed_step() -> None:
    torch = pytest.importorskip("torch")
    from rlactors.learners import ActorCriticLearner, ActorCriticLearnerConfig
    from rlactors.learners.v_trace import VTraceLearner, VTraceLearnerConfig
    from rlactors.policies import ActorCriticPolicy

    evaluator, _ = actor_critic(gae_lambda=None)
    batch = evaluator.rollout().batch
    # What the lost step recorded is meaningless: change all of it but the state it was in.
    columns = batch.columns
    lost = columns["crashed"]
    columns["actions"] = np.where(lost, 1 - columns["actions"], columns["actions"])
    columns["log_probs"] = np.where(lost, -5.0, columns["log_probs"]).astype(np.float32)
    columns["rewards"] = np.where(lost, 7.0, columns["rewards"]).astype(np.float32)
    columns["next_obs"] = np.where(lost[:, None], 1.0, columns["next_obs"]).astype(np.float32)
    perturbed = SampleBatch(columns)

    def learned(batch: SampleBatch) -> dict[str, np.ndarray]:
        torch.manual_seed(0)
        config = ActorCriticConfig(hidden_sizes=(8,))
        policy = ActorCriticPolicy(OBS_SPACE, gym.spaces.Discrete(2), config, 0)
        policy.set_weights(evaluator.get_weights())
        learner = ActorCriticLearner(policy, ActorCriticLearnerConfig())
        VTraceLearner(learner, VTraceLearnerConfig(rollout_steps=5, gamma=0.5))([batch])
        return learner.get_weights()

    def without_mark(batch: SampleBatch) -> SampleBatch:
        return SampleBatch({k: v for k, v in batch.items() if k != "crashed"})

    before = evaluator.get_weights()
    a, b = learned(batch), learned(perturbed)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert any(not np.array_equal(a[key], before[key]) for key in before if key in a)
    # The control: unmarked, the same change does move the update (so the test can fail).
    c, d = learned(without_mark(batch)), learned(without_mark(perturbed))
    assert any(not np.array_equal(c[key], d[key]) for key in c)
