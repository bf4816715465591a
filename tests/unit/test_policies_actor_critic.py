"""rlactors.policies.ActorCriticPolicy: acting, log-probs and weights (learning:
test_learners_actor_critic)."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlactors.core import Policy, SampleBatch
from rlactors.errors import SpaceError
from rlactors.policies import ActorCriticConfig, ActorCriticPolicy

OBS_SPACE = gym.spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
DISCRETE = gym.spaces.Discrete(3, start=1)
BOX = gym.spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 2.0], np.float32))
SPACES = {"discrete": DISCRETE, "box": BOX}
SMALL = ActorCriticConfig(hidden_sizes=(16, 16))


def make_policy(
    kind: str = "discrete", config: ActorCriticConfig = SMALL, seed: int = 0
) -> ActorCriticPolicy:
    return ActorCriticPolicy(OBS_SPACE, SPACES[kind], config, seed=seed)


def make_obs(size: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (size, 4)).astype(np.float32)


def make_batch(policy: ActorCriticPolicy, size: int = 16, seed: int = 0) -> SampleBatch:
    rng = np.random.default_rng(seed)
    obs = make_obs(size, seed)
    return SampleBatch(
        obs=obs,
        actions=policy.act_with_info(obs).actions,
        advantages=rng.normal(size=size).astype(np.float32),
        returns=rng.normal(size=size).astype(np.float32),
    )


def assert_weights_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# -- construction ----------------------------------------------------------------------------


def test_is_a_policy() -> None:
    assert isinstance(make_policy(), Policy)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hidden_sizes", (16, 0)),
        ("activation", "gelu"),
        ("initial_log_std", float("nan")),
        ("encoder", "mlp"),
        ("action_mask_key", ""),
    ],
)
def test_config_validation(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        ActorCriticConfig(**{field: value})


def test_unsupported_spaces_are_named() -> None:
    with pytest.raises(SpaceError, match="needs Discrete or Box actions, got MultiBinary"):
        ActorCriticPolicy(OBS_SPACE, gym.spaces.MultiBinary(3), SMALL, seed=0)
    with pytest.raises(SpaceError, match=r"Text.*no fixed-size layout"):
        ActorCriticPolicy(gym.spaces.Text(3), DISCRETE, SMALL, seed=0)
    dict_space = gym.spaces.Dict({"x": OBS_SPACE})
    normalizing = dataclasses.replace(SMALL, normalize_observations=True)
    with pytest.raises(SpaceError, match="normalize_observations needs a flat Box"):
        ActorCriticPolicy(dict_space, DISCRETE, normalizing, seed=0)


@pytest.mark.parametrize("shared", [False, True])
def test_shared_and_separate_torsos(shared: bool) -> None:
    policy = make_policy(config=dataclasses.replace(SMALL, shared_torso=shared))
    keys = set(policy.get_weights())
    assert any(k.startswith("value_torso.") for k in keys) is not shared
    assert any(k.startswith("policy_torso.") for k in keys)


# -- acting ----------------------------------------------------------------------------------


def test_discrete_shapes_and_range() -> None:
    policy = make_policy("discrete")
    obs = make_obs(200)
    actions = policy.act(obs)
    assert actions.shape == (200,) and actions.dtype == np.int64
    assert set(np.unique(actions)) == {1, 2, 3}  # start=1; near-uniform initial policy
    info = policy.act_with_info(obs)
    assert info.actions.shape == (200,) and info.actions.dtype == np.int64
    assert info.log_probs.shape == (200,) and info.log_probs.dtype == np.float32
    assert info.values.shape == (200,) and info.values.dtype == np.float32
    assert policy.value(obs).shape == (200,)


def test_box_shapes_and_clipping() -> None:
    config = dataclasses.replace(SMALL, initial_log_std=1.0)  # std e: many samples land outside
    policy = make_policy("box", config)
    obs = make_obs(200)
    actions = policy.act(obs)
    assert actions.shape == (200, 2) and actions.dtype == np.float32
    assert BOX.contains(actions[0]) and np.all(actions >= BOX.low) and np.all(actions <= BOX.high)
    info = policy.act_with_info(obs)
    assert info.actions.shape == (200, 2)
    assert np.any(info.actions < BOX.low) or np.any(info.actions > BOX.high)  # unclipped
    np.testing.assert_array_equal(
        policy.clip_actions(info.actions), np.clip(info.actions, BOX.low, BOX.high)
    )


def test_box_action_space_of_any_shape() -> None:
    space = gym.spaces.Box(-1.0, 1.0, shape=(2, 3), dtype=np.float32)
    policy = ActorCriticPolicy(OBS_SPACE, space, SMALL, seed=0)
    obs = make_obs(5)
    info = policy.act_with_info(obs)
    assert info.actions.shape == (5, 2, 3)
    log_probs, entropy, values = policy.evaluate_actions(obs, info.actions)
    assert log_probs.shape == entropy.shape == values.shape == (5,)
    np.testing.assert_allclose(log_probs.detach().numpy(), info.log_probs, rtol=1e-5)


def test_discrete_log_probs_match_torch_distributions() -> None:
    policy = make_policy("discrete")
    obs = make_obs()
    info = policy.act_with_info(obs)
    log_probs, entropy, values = policy.evaluate_actions(obs, info.actions)
    with torch.no_grad():
        logits, expected_values = policy.network(torch.as_tensor(obs))
    dist = torch.distributions.Categorical(logits=logits)
    expected = dist.log_prob(torch.as_tensor(info.actions) - DISCRETE.start)
    torch.testing.assert_close(log_probs.detach(), expected)
    torch.testing.assert_close(entropy.detach(), dist.entropy())
    torch.testing.assert_close(values.detach(), expected_values)
    np.testing.assert_allclose(info.log_probs, expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(info.values, expected_values.numpy(), rtol=1e-6)


def test_box_log_probs_match_torch_distributions() -> None:
    policy = make_policy("box", dataclasses.replace(SMALL, initial_log_std=-0.5))
    obs = make_obs()
    info = policy.act_with_info(obs)
    log_probs, entropy, _ = policy.evaluate_actions(obs, info.actions)
    with torch.no_grad():
        means, _ = policy.network(torch.as_tensor(obs))
    std = torch.full_like(means, float(np.exp(-0.5)))
    dist = torch.distributions.Independent(torch.distributions.Normal(means, std), 1)
    expected = dist.log_prob(torch.as_tensor(info.actions))
    torch.testing.assert_close(log_probs.detach(), expected)
    torch.testing.assert_close(entropy.detach(), dist.entropy())
    np.testing.assert_allclose(info.log_probs, expected.numpy(), rtol=1e-5)


def test_evaluate_actions_has_gradient_and_checks_shapes() -> None:
    policy = make_policy("box")
    obs = make_obs(4)
    log_probs, entropy, values = policy.evaluate_actions(obs, np.zeros((4, 2), np.float32))
    assert log_probs.requires_grad and entropy.requires_grad and values.requires_grad
    with pytest.raises(ValueError, match=r"actions must be \[B, \*\(2,\)\]"):
        policy.evaluate_actions(obs, np.zeros((4,), np.float32))
    with pytest.raises(ValueError, match=r"obs must be \[B, \*\(4,\)\]"):
        policy.act(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="integers"):
        make_policy("discrete").evaluate_actions(obs, np.ones(4, np.float32))


def test_deterministic_mode() -> None:
    for kind in ("discrete", "box"):
        policy = make_policy(kind)
        obs = make_obs()
        with torch.no_grad():
            out, _ = policy.network(torch.as_tensor(obs))
        greedy = policy.act(obs, explore=False)
        if kind == "discrete":
            np.testing.assert_array_equal(greedy, out.argmax(dim=1).numpy() + DISCRETE.start)
        else:
            np.testing.assert_array_equal(greedy, np.clip(out.numpy(), BOX.low, BOX.high))
        np.testing.assert_array_equal(greedy, policy.act(obs, explore=False))


def test_seeding_is_reproducible_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a, b, c = make_policy("box", seed=7), make_policy("box", seed=7), make_policy("box", seed=8)
    torch.testing.assert_close(torch.rand(3), before)  # neither init nor sampling touched it
    assert_weights_equal(a.get_weights(), b.get_weights())
    assert any(not np.array_equal(a.get_weights()[k], c.get_weights()[k]) for k in a.get_weights())
    obs = make_obs()
    np.testing.assert_array_equal(a.act(obs), b.act(obs))
    np.testing.assert_array_equal(a.act(obs), b.act(obs))  # the streams advance together
    assert not np.array_equal(a.act(obs), c.act(obs))


# -- weights and checkpoints -----------------------------------------------------------------


def test_weights_round_trip_and_are_copies() -> None:
    source, target = make_policy("box", seed=1), make_policy("box", seed=2)
    weights = source.get_weights()
    assert "log_std" in weights and all(v.dtype == np.float32 for v in weights.values())
    target.set_weights(weights)
    assert_weights_equal(target.get_weights(), weights)
    obs = make_obs()
    np.testing.assert_array_equal(target.act(obs, explore=False), source.act(obs, explore=False))
    weights["log_std"][:] = 5.0  # a copy: the policy is unaffected
    assert not np.any(source.get_weights()["log_std"] == 5.0)


def test_set_weights_names_bad_keys_and_shapes_and_changes_nothing() -> None:
    policy = make_policy("box")
    before = policy.get_weights()
    with pytest.raises(ValueError, match=r"missing keys \['log_std'\], unexpected keys \['x'\]"):
        policy.set_weights({**{k: v for k, v in before.items() if k != "log_std"}, "x": 0})
    bad = {k: v + 1.0 for k, v in before.items()}
    bad["value_head.weight"] = np.zeros((1, 3), np.float32)
    with pytest.raises(ValueError, match=r"'value_head\.weight' has shape"):
        policy.set_weights(bad)
    assert_weights_equal(policy.get_weights(), before)
    with pytest.raises(ValueError, match="missing keys"):
        make_policy("discrete").set_weights(before)  # a Gaussian's weights: log_std unexpected


def test_initial_weights_do_not_depend_on_torch_threads() -> None:
    """Regression: orthogonal init (a QR decomposition) gave other last bits with 2 threads
    than with 1, so a seeded run drifted with the thread count it was built under."""
    threads = torch.get_num_threads()
    weights = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            weights.append(make_policy("discrete", ActorCriticConfig(), seed=0).get_weights())
    finally:
        torch.set_num_threads(threads)
    assert_weights_equal(weights[0], weights[1])
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize(
    "space",
    [gym.spaces.Discrete(5), gym.spaces.Box(0, 255, (10, 10, 4), np.uint8)],
    ids=["discrete", "image"],
)
def test_observation_normalization_is_refused_where_it_would_corrupt_the_input(
    space: gym.Space[Any],
) -> None:
    """Regression: normalized Discrete indices were one-hot encoded as garbage (negative ones
    wrapped), and normalized pixels were scaled by 1/255 once more."""
    config = dataclasses.replace(SMALL, normalize_observations=True)
    with pytest.raises(SpaceError, match="normalize_observations needs a flat Box"):
        ActorCriticPolicy(space, DISCRETE, config, seed=0)
