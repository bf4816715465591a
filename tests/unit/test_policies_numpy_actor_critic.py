"""NumpyActorCriticPolicy: ActorCriticPolicy's acting half in numpy, on ActorCriticPolicy's
weights."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlactors.errors import SpaceError
from rlactors.policies import ActorCriticConfig, ActorCriticPolicy, NumpyActorCriticPolicy

OBS_SPACE = gym.spaces.Box(-5.0, 5.0, shape=(2, 3), dtype=np.float32)  # flattened to 6
DISCRETE = gym.spaces.Discrete(3, start=1)
BOX = gym.spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 2.0], np.float32))

CONFIGS = {
    "separate-tanh": ActorCriticConfig(hidden_sizes=(16, 8)),
    "shared-relu": ActorCriticConfig(hidden_sizes=(16,), shared_torso=True, activation="relu"),
    "linear": ActorCriticConfig(hidden_sizes=()),
    "normalized": ActorCriticConfig(hidden_sizes=(8,), normalize_observations=True),
}


def observations(size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3, 3, (size, 2, 3)).astype(np.float32)


def pair(
    space: gym.Space[np.ndarray], config: ActorCriticConfig
) -> tuple[ActorCriticPolicy, NumpyActorCriticPolicy]:
    learner = ActorCriticPolicy(OBS_SPACE, space, config, seed=0)
    if learner.obs_stats is not None:
        learner.obs_stats.update(observations(100, seed=5) * 2.0 + 1.0)
    copy = NumpyActorCriticPolicy(OBS_SPACE, space, config, seed=1)
    copy.set_weights(learner.get_weights())
    return learner, copy


@pytest.mark.parametrize("space", [DISCRETE, BOX], ids=["discrete", "box"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_log_probs_values_and_modes_as_the_torch_policy(
    space: gym.Space[np.ndarray], name: str
) -> None:
    learner, copy = pair(space, CONFIGS[name])
    obs = observations()
    info = copy.act_with_info(obs)
    # What PPO relies on: the learner's log-prob of the copy's action is the recorded one, so
    # the first epoch's probability ratio is 1.
    log_probs, _, values = learner.evaluate_actions(obs, info.actions)
    np.testing.assert_allclose(info.log_probs, log_probs.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(info.values, values.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(copy.value(obs), learner.value(obs), atol=1e-5)
    np.testing.assert_allclose(
        copy.act(obs, explore=False), learner.act(obs, explore=False), atol=1e-5
    )
    assert info.log_probs.dtype == np.float32 and info.values.dtype == np.float32
    assert info.actions.shape == (32, *space.shape)
    if isinstance(space, gym.spaces.Discrete):
        assert info.actions.dtype == np.int64
        assert set(np.unique(info.actions)) <= {1, 2, 3}


@pytest.mark.parametrize("space", [DISCRETE, BOX], ids=["discrete", "box"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_initial_weights_have_the_torch_policy_keys_and_orthogonal_layers(
    space: gym.Space[np.ndarray], name: str
) -> None:
    config = CONFIGS[name]
    torch_weights = ActorCriticPolicy(OBS_SPACE, space, config, seed=0).get_weights()
    weights = NumpyActorCriticPolicy(OBS_SPACE, space, config, seed=0).get_weights()
    assert {k: v.shape for k, v in weights.items()} == {
        k: v.shape for k, v in torch_weights.items()
    }
    head = weights["policy_head.weight"]  # gain 0.01, [A, features], rows orthogonal
    np.testing.assert_allclose(head @ head.T, 1e-4 * np.eye(len(head)), atol=1e-8)
    if config.hidden_sizes:
        first = weights["policy_torso.0.weight"]  # [16 or 8, 6]: orthonormal columns x sqrt 2
        np.testing.assert_allclose(first.T @ first, 2.0 * np.eye(6), atol=1e-5)


def test_categorical_samples_follow_the_softmax() -> None:
    learner, copy = pair(DISCRETE, ActorCriticConfig(hidden_sizes=()))
    with torch.no_grad():
        learner.network.policy_head.weight.zero_()
        learner.network.policy_head.bias.copy_(torch.tensor([0.0, 1.0, 2.0]))
    copy.set_weights(learner.get_weights())
    obs = np.zeros((20_000, 2, 3), np.float32)
    counts = np.bincount(copy.act(obs) - 1, minlength=3) / len(obs)
    expected = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(counts, expected, atol=0.015)


def test_gaussian_samples_have_the_mean_and_log_std() -> None:
    config = ActorCriticConfig(hidden_sizes=(), initial_log_std=-1.0)
    _, copy = pair(BOX, config)
    obs = np.zeros((20_000, 2, 3), np.float32)
    actions = copy.act_with_info(obs).actions  # unclipped; zero obs give the head's bias, 0
    np.testing.assert_allclose(actions.mean(axis=0), 0.0, atol=0.01)
    np.testing.assert_allclose(actions.std(axis=0), np.exp(-1.0), rtol=0.03)
    clipped = copy.clip_actions(actions)
    assert clipped.min() >= -1.0 and clipped[:, 1].min() >= 0.0


def test_a_seed_gives_the_same_actions() -> None:
    obs = observations()
    a = NumpyActorCriticPolicy(OBS_SPACE, DISCRETE, ActorCriticConfig(), seed=3)
    b = NumpyActorCriticPolicy(OBS_SPACE, DISCRETE, ActorCriticConfig(), seed=3)
    np.testing.assert_array_equal(a.act(obs), b.act(obs))
    np.testing.assert_array_equal(a.act(obs), b.act(obs))


def test_bad_weights_are_refused_and_change_nothing() -> None:
    learner, copy = pair(DISCRETE, CONFIGS["separate-tanh"])
    before = copy.get_weights()
    weights = learner.get_weights()
    with pytest.raises(ValueError, match=r"missing keys \['value_head.bias'\]"):
        copy.set_weights({k: v for k, v in weights.items() if k != "value_head.bias"})
    with pytest.raises(ValueError, match=r"'policy_head\.weight' has shape"):
        copy.set_weights({**weights, "policy_head.weight": np.zeros((2, 8), np.float32)})
    with pytest.raises(ValueError, match="expected weights without obs_stats"):
        copy.set_weights({**weights, "obs_stats/mean": np.zeros(6)})
    for key, value in before.items():
        np.testing.assert_array_equal(copy.get_weights()[key], value)


def test_bad_spaces_and_observations_say_what_is_wrong() -> None:
    with pytest.raises(SpaceError, match=r"Text.*no fixed-size layout"):
        NumpyActorCriticPolicy(gym.spaces.Text(4), DISCRETE, ActorCriticConfig(), seed=0)
    with pytest.raises(SpaceError, match="Discrete or Box actions"):
        NumpyActorCriticPolicy(OBS_SPACE, gym.spaces.MultiBinary(2), ActorCriticConfig(), seed=0)
    policy = NumpyActorCriticPolicy(OBS_SPACE, DISCRETE, ActorCriticConfig(), seed=0)
    with pytest.raises(ValueError, match=r"obs must be \[B, \*\(2, 3\)\], got shape \(4, 6\)"):
        policy.act(np.zeros((4, 6), np.float32))
