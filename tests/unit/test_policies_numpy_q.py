"""NumpyQPolicy: DQNPolicy's acting half in numpy, on DQNPolicy's weights."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from rlactors.core import SampleBatch
from rlactors.errors import SpaceError
from rlactors.learners import DQNLearner, DQNLearnerConfig
from rlactors.policies import DQNPolicy, DQNPolicyConfig, NumpyQPolicy

OBS_SPACE = gym.spaces.Box(-1.0, 1.0, shape=(2, 3), dtype=np.float32)  # flattened to 6
ACT_SPACE = gym.spaces.Discrete(3, start=1)


def batch(size: int = 16, seed: int = 0) -> SampleBatch:
    rng = np.random.default_rng(seed)
    return SampleBatch(
        obs=rng.uniform(-1, 1, (size, 2, 3)).astype(np.float32),
        actions=rng.integers(1, 4, size=size),
        rewards=rng.normal(size=size).astype(np.float32),
        next_obs=rng.uniform(-1, 1, (size, 2, 3)).astype(np.float32),
        discounts=np.where(rng.random(size) < 0.2, 0.0, 0.97).astype(np.float32),
    )


@pytest.mark.parametrize(
    "config",
    [
        DQNPolicyConfig(hidden_sizes=(16, 8)),
        DQNPolicyConfig(hidden_sizes=(16,), dueling=False),
        DQNPolicyConfig(hidden_sizes=(), dueling=True),
    ],
)
def test_same_q_values_actions_and_td_errors_as_dqn_policy(config: DQNPolicyConfig) -> None:
    learner = DQNLearner(DQNPolicy(OBS_SPACE, ACT_SPACE, config, seed=0), DQNLearnerConfig())
    copy = NumpyQPolicy(OBS_SPACE, ACT_SPACE, config, seed=1)
    assert {k: v.shape for k, v in copy.get_weights().items()} == {
        k: v.shape for k, v in learner.get_weights().items()
    }
    copy.set_weights(learner.get_weights())
    data = batch()
    policy = learner.policy
    np.testing.assert_allclose(copy.q_values(data["obs"]), policy.q_values(data["obs"]), atol=1e-5)
    np.testing.assert_array_equal(
        copy.act(data["obs"], explore=False), policy.act(data["obs"], explore=False)
    )
    # A DQNLearner given weights has its target equal to them, as the copy's single network.
    np.testing.assert_allclose(
        copy.compute_td_error(data), learner.compute_td_error(data), rtol=1e-5, atol=1e-5
    )
    assert copy.compute_td_error(data).dtype == np.float32


def test_initial_weights_are_seeded_and_scaled_like_torch_linear() -> None:
    config = DQNPolicyConfig(hidden_sizes=(64,))
    a = NumpyQPolicy(OBS_SPACE, ACT_SPACE, config, seed=3).get_weights()
    b = NumpyQPolicy(OBS_SPACE, ACT_SPACE, config, seed=3).get_weights()
    c = NumpyQPolicy(OBS_SPACE, ACT_SPACE, config, seed=4).get_weights()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        assert a[key].dtype == np.float32
    assert not np.array_equal(a["torso.0.weight"], c["torso.0.weight"])
    # uniform in +-1/sqrt(fan_in): fan_in 6 for the first layer, 64 for the head
    assert np.abs(a["torso.0.weight"]).max() <= 1 / np.sqrt(6)
    assert np.abs(a["head.advantage.weight"]).max() <= 1 / np.sqrt(64)
    assert np.abs(a["torso.0.weight"]).max() > 0.8 / np.sqrt(6)


def test_epsilon_greedy_acting() -> None:
    config = dataclasses.replace(DQNPolicyConfig(hidden_sizes=(8,)), initial_epsilon=1.0)
    policy = NumpyQPolicy(OBS_SPACE, ACT_SPACE, config, seed=0)
    obs = batch(size=3000)["obs"]
    actions = policy.act(obs)
    assert actions.dtype == np.int64 and set(np.unique(actions)) == {1, 2, 3}
    greedy = policy.act(obs, explore=False)
    policy.set_epsilon(0.0)
    np.testing.assert_array_equal(policy.act(obs), greedy)
    policy.set_epsilon(0.5)
    assert 0.25 < np.mean(policy.act(obs) != greedy) < 0.45  # half random, a third of those agree
    with pytest.raises(ValueError, match="epsilon"):
        policy.set_epsilon(1.5)


def test_bad_weights_observations_and_batches_are_named() -> None:
    policy = NumpyQPolicy(OBS_SPACE, ACT_SPACE, DQNPolicyConfig(hidden_sizes=(8,)), seed=0)
    weights = policy.get_weights()
    with pytest.raises(ValueError, match=r"missing keys \['head.value.bias'\]"):
        policy.set_weights({k: v for k, v in weights.items() if k != "head.value.bias"})
    with pytest.raises(ValueError, match=r"'torso\.0\.weight' has shape"):
        policy.set_weights({**weights, "torso.0.weight": np.zeros((8, 5), np.float32)})
    with pytest.raises(ValueError, match="observations must be"):
        policy.act(np.zeros((4, 6), np.float32))
    with pytest.raises(ValueError, match="discounts"):
        policy.compute_td_error(SampleBatch({k: v for k, v in batch().items() if k != "discounts"}))
    with pytest.raises(SpaceError, match="Discrete"):
        NumpyQPolicy(OBS_SPACE, gym.spaces.Box(-1, 1, (2,)), DQNPolicyConfig(), seed=0)
