"""rlactors.policies.DQNPolicy: construction, config and acting (learning: test_learners_dqn)."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlactors.core import Policy, SampleBatch
from rlactors.errors import SpaceError
from rlactors.policies import DQNPolicy, DQNPolicyConfig

OBS_SPACE = gym.spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
ACT_SPACE = gym.spaces.Discrete(3)
SMALL = DQNPolicyConfig(hidden_sizes=(16, 16))


def make_policy(config: DQNPolicyConfig = SMALL, seed: int = 0, **kwargs: Any) -> DQNPolicy:
    return DQNPolicy(OBS_SPACE, kwargs.get("action_space", ACT_SPACE), config, seed=seed)


def make_batch(size: int = 8, seed: int = 0, **columns: np.ndarray) -> SampleBatch:
    rng = np.random.default_rng(seed)
    base = {
        "obs": rng.uniform(-1, 1, (size, 4)).astype(np.float32),
        "actions": rng.integers(3, size=size),
        "rewards": rng.normal(size=size).astype(np.float32),
        "next_obs": rng.uniform(-1, 1, (size, 4)).astype(np.float32),
        "discounts": np.full(size, 0.9, dtype=np.float32),
    }
    return SampleBatch({**base, **columns})


def assert_weights_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def to_numpy(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in tensors.items()}


# -- construction and config -------------------------------------------------------------------


def test_is_a_policy() -> None:
    assert isinstance(make_policy(), Policy)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("hidden_sizes", (64, 0), "hidden_sizes"),
        ("initial_epsilon", 1.1, "initial_epsilon"),
        ("encoder", "mlp", "encoder"),
        ("action_mask_key", "", "action_mask_key"),
    ],
)
def test_config_validation(field: str, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DQNPolicyConfig(**{field: value})


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.hidden_sizes = (1,)  # type: ignore[misc]


def test_unsupported_spaces_are_named() -> None:
    with pytest.raises(SpaceError, match=r"DQNPolicy needs Discrete actions, got Box"):
        DQNPolicy(OBS_SPACE, gym.spaces.Box(-1, 1, (2,)), SMALL, seed=0)
    with pytest.raises(SpaceError, match=r"Text.*no fixed-size layout"):
        DQNPolicy(gym.spaces.Text(5), ACT_SPACE, SMALL, seed=0)


def test_seed_determines_the_initial_weights_without_touching_global_rng() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = make_policy(seed=7), make_policy(seed=7), make_policy(seed=8)
    assert torch.rand(1) == expected_next  # the global torch generator did not move
    assert_weights_equal(a.get_weights(), b.get_weights())
    assert not np.array_equal(a.get_weights()["torso.0.weight"], c.get_weights()["torso.0.weight"])


# -- acting ------------------------------------------------------------------------------------


def test_act_shapes_and_dtype() -> None:
    policy = make_policy()
    obs = np.zeros((5, 4), dtype=np.float64)  # float64 observations are converted
    for explore in (True, False):
        actions = policy.act(obs, explore=explore)
        assert actions.shape == (5,)
        assert actions.dtype == np.int64
    assert policy.q_values(obs).shape == (5, 3)


def test_act_rejects_unbatched_observations() -> None:
    with pytest.raises(ValueError, match=r"obs must be \[B, \*\(4,\)\]"):
        make_policy().act(np.zeros(4))


def test_act_honours_discrete_start() -> None:
    policy = make_policy(action_space=gym.spaces.Discrete(3, start=-1))
    policy.epsilon = 1.0
    actions = policy.act(np.zeros((300, 4)))
    assert set(actions.tolist()) == {-1, 0, 1}


def test_greedy_ignores_epsilon() -> None:
    policy = make_policy()
    obs = np.random.default_rng(0).uniform(-1, 1, (200, 4))
    greedy = policy.q_values(obs).argmax(axis=1)
    policy.set_epsilon(1.0)
    np.testing.assert_array_equal(policy.act(obs, explore=False), greedy)
    policy.epsilon = 0.0
    np.testing.assert_array_equal(policy.act(obs, explore=True), greedy)


def test_epsilon_one_is_uniform_and_epsilon_half_mixes() -> None:
    policy = make_policy()
    obs = np.zeros((3000, 4))  # one state: the greedy action is the same for every row
    greedy = int(policy.act(obs[:1], explore=False)[0])
    policy.set_epsilon(1.0)
    counts = np.bincount(policy.act(obs), minlength=3) / len(obs)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.03)
    # epsilon 0.5: greedy w.p. 0.5 + 0.5/3 = 2/3.
    policy.set_epsilon(0.5)
    assert np.mean(policy.act(obs) == greedy) == pytest.approx(2 / 3, abs=0.03)


def test_exploration_is_seeded() -> None:
    a, b = make_policy(seed=3), make_policy(seed=3)
    a.epsilon = b.epsilon = 0.5
    obs = np.zeros((100, 4))
    np.testing.assert_array_equal(a.act(obs), b.act(obs))


@pytest.mark.parametrize("epsilon", [-0.1, 1.01])
def test_epsilon_is_validated(epsilon: float) -> None:
    with pytest.raises(ValueError, match="epsilon"):
        make_policy().set_epsilon(epsilon)
