"""The algorithms split their config into the policy's (the network, acting) and the learner's
(the step): every learner field reaches the learner, and A3C's workers, which take the
learner's gradients, get the same learner config."""

from __future__ import annotations

import dataclasses

import pytest

from rlactors.algorithms import get_algorithm
from rlactors.algorithms.a3c.algorithm import A3C
from rlactors.algorithms.a3c.config import A3CConfig
from rlactors.learners import ActorCriticLearnerConfig, DQNLearnerConfig
from rlactors.policies import ActorCriticConfig, DQNPolicyConfig

DQN_OVERRIDES = {
    "double_q": False,
    "learning_rate": 1e-4,
    "huber_delta": None,
    "max_grad_norm": 3.0,
    "target_update_period_learner_steps": 7,
}
ACTOR_CRITIC_OVERRIDES = {
    "learning_rate": 1e-4,
    "value_coef": 0.25,
    "entropy_coef": 0.02,
    "max_grad_norm": None,
    "normalize_advantages": True,
}


def _names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_policy_configs_hold_no_learner_field() -> None:
    assert _names(DQNPolicyConfig).isdisjoint(_names(DQNLearnerConfig))
    assert _names(ActorCriticConfig).isdisjoint(_names(ActorCriticLearnerConfig))


@pytest.mark.parametrize(
    ("name", "overrides"),
    [("dqn", DQN_OVERRIDES), ("apex", DQN_OVERRIDES)]
    + [(n, ACTOR_CRITIC_OVERRIDES) for n in ("a2c", "a3c", "ppo", "impala")],
)
def test_the_learner_gets_every_learner_field(name: str, overrides: dict[str, object]) -> None:
    entry = get_algorithm(name)
    config = entry.config_class()(backend="inline", **overrides)
    with entry.algorithm_class()(config) as algorithm:
        learner_config = algorithm.learner.config
        assert learner_config == algorithm.builder.learner_config()
        for field, value in overrides.items():
            assert getattr(learner_config, field) == value, field


def test_a3c_workers_take_gradients_with_the_learners_config() -> None:
    config = A3CConfig(backend="inline", entropy_coef=0.02, value_coef=0.25)
    with A3C(config) as a3c:
        assert a3c.builder.rollout_config(0).learner == a3c.learner.config
