"""rlactors.policies.DQNPolicy: acting, learning, weights and checkpoints."""

from __future__ import annotations

import dataclasses
import io
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
        ("learning_rate", 0.0, "learning_rate"),
        ("learning_rate", float("nan"), "learning_rate"),
        ("hidden_sizes", (64, 0), "hidden_sizes"),
        ("huber_delta", -1.0, "huber_delta"),
        ("max_grad_norm", 0.0, "max_grad_norm"),
        ("target_update_period_learner_steps", 0, "target_update_period_learner_steps"),
        ("target_update_tau", 0.0, "target_update_tau"),
        ("target_update_tau", 1.5, "target_update_tau"),
        ("initial_epsilon", 1.1, "initial_epsilon"),
    ],
)
def test_config_validation(field: str, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DQNPolicyConfig(**{field: value})


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.learning_rate = 1.0  # type: ignore[misc]


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


# -- learning ----------------------------------------------------------------------------------


def test_learn_stats() -> None:
    policy = make_policy()
    batch = make_batch()
    before = policy.compute_td_error(batch)
    stats = policy.learn(batch)
    assert {"loss", "q_mean", "grad_norm", "learner_steps", "td_error"} <= stats.keys()
    for key in ("loss", "q_mean", "grad_norm"):
        assert isinstance(stats[key], float) and np.isfinite(stats[key]), key
    assert stats["grad_norm"] > 0
    assert stats["learner_steps"] == 1 == policy.learner_steps
    # The TD errors are those before the step (what prioritized replay stores).
    assert stats["td_error"].dtype == np.float32 and stats["td_error"].shape == (8,)
    np.testing.assert_allclose(stats["td_error"], before, rtol=1e-6)
    assert not np.allclose(policy.compute_td_error(batch), before)


def test_learn_names_missing_columns() -> None:
    batch = SampleBatch({k: v for k, v in make_batch().items() if k != "discounts"})
    with pytest.raises(ValueError, match="discounts"):
        make_policy().learn(batch)


@pytest.mark.parametrize("double_q", [True, False])
@pytest.mark.parametrize("dueling", [True, False])
def test_learn_reduces_td_error_on_a_fixed_batch(double_q: bool, dueling: bool) -> None:
    config = dataclasses.replace(
        SMALL,
        double_q=double_q,
        dueling=dueling,
        learning_rate=1e-2,
        target_update_period_learner_steps=10**6,  # fixed target: plain regression
    )
    policy = make_policy(config)
    batch = make_batch(size=16)
    start = np.abs(policy.compute_td_error(batch)).mean()
    for _ in range(150):
        policy.learn(batch)
    assert np.abs(policy.compute_td_error(batch)).mean() < 0.1 * start


def test_terminal_rows_target_the_reward() -> None:
    policy = make_policy()
    batch = make_batch(discounts=np.zeros(8, dtype=np.float32))
    q_taken = policy.q_values(batch["obs"])[np.arange(8), batch["actions"]]
    np.testing.assert_allclose(
        policy.compute_td_error(batch), batch["rewards"] - q_taken, rtol=1e-5, atol=1e-6
    )


def test_importance_weights_multiply_the_loss() -> None:
    batch = make_batch()
    plain = make_policy().learn(batch)["loss"]
    doubled = make_policy().learn(make_batch(weights=np.full(8, 2.0, np.float32)))["loss"]
    assert doubled == pytest.approx(2 * plain, rel=1e-5)


def test_rows_with_zero_weight_give_no_gradient() -> None:
    weights = np.array([1, 0, 1, 0, 1, 1, 1, 1], dtype=np.float32)
    rewards = make_batch()["rewards"].copy()
    wild = rewards.copy()
    wild[weights == 0] = 1e6  # a huge TD error on the zero-weight rows
    a, b = make_policy(), make_policy()
    a.learn(make_batch(rewards=rewards, weights=weights))
    b.learn(make_batch(rewards=wild, weights=weights))
    assert_weights_equal(a.get_weights(), b.get_weights())


def test_gradient_clipping_reports_the_unclipped_norm() -> None:
    batch = make_batch()
    unclipped = make_policy(dataclasses.replace(SMALL, max_grad_norm=None)).learn(batch)
    clipped = make_policy(dataclasses.replace(SMALL, max_grad_norm=1e-3)).learn(batch)
    assert clipped["grad_norm"] == pytest.approx(unclipped["grad_norm"], rel=1e-5)


@pytest.mark.parametrize("max_grad_norm", [None, 0.05])
def test_learn_matches_adam_with_clip_grad_norm_step_by_step(max_grad_norm: float | None) -> None:
    # learn() keeps every gradient in one buffer and clips and steps it with fused kernels;
    # it must take exactly the steps of plain Adam after clip_grad_norm_ on the same loss
    # (0.05 clips every step, None never does). A missed zeroing would accumulate gradients.
    config = dataclasses.replace(SMALL, max_grad_norm=max_grad_norm, learning_rate=1e-2)
    policy = make_policy(config)
    reference = make_policy(config)
    params = list(reference._online.parameters())
    adam = torch.optim.Adam(params, lr=config.learning_rate, eps=config.adam_epsilon)
    for step in range(5):
        batch = make_batch(seed=step, weights=np.linspace(0.5, 1.5, 8, dtype=np.float32))
        stats = policy.learn(batch)
        tensors = reference._batch_tensors(batch)
        loss = (reference._loss_output(tensors).loss * tensors["weights"]).mean()
        adam.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm or float("inf"))
        adam.step()
        assert stats["grad_norm"] == pytest.approx(float(norm), rel=1e-5)
        for key, value in reference.get_weights().items():
            np.testing.assert_allclose(policy.get_weights()[key], value, rtol=1e-5, atol=1e-6)


def test_hard_target_update_every_period() -> None:
    policy = make_policy(dataclasses.replace(SMALL, target_update_period_learner_steps=3))
    initial = to_numpy(policy.state_dict()["target"])
    batch = make_batch()
    for _ in range(2):
        policy.learn(batch)
        assert_weights_equal(to_numpy(policy.state_dict()["target"]), initial)
    policy.learn(batch)  # learner step 3: target <- online
    assert_weights_equal(to_numpy(policy.state_dict()["target"]), policy.get_weights())
    policy.learn(batch)  # step 4: the target keeps the step-3 copy
    target = to_numpy(policy.state_dict()["target"])
    assert not np.array_equal(target["torso.0.weight"], policy.get_weights()["torso.0.weight"])


def test_soft_target_update() -> None:
    config = dataclasses.replace(
        SMALL, target_update_period_learner_steps=1, target_update_tau=0.25
    )
    policy = make_policy(config)
    initial = policy.get_weights()
    policy.learn(make_batch())
    online, target = policy.get_weights(), to_numpy(policy.state_dict()["target"])
    for key in online:
        np.testing.assert_allclose(
            target[key], 0.25 * online[key] + 0.75 * initial[key], rtol=1e-5, atol=1e-7
        )


# -- weights and checkpoints -------------------------------------------------------------------


def test_weights_round_trip_and_are_copies() -> None:
    source, dest = make_policy(seed=1), make_policy(seed=2)
    source.learn(make_batch())
    weights = source.get_weights()
    assert all(isinstance(v, np.ndarray) for v in weights.values())
    dest.set_weights(weights)
    assert_weights_equal(dest.get_weights(), weights)
    obs = np.random.default_rng(0).uniform(-1, 1, (20, 4))
    np.testing.assert_array_equal(dest.act(obs, explore=False), source.act(obs, explore=False))
    # set_weights also syncs the target network.
    assert_weights_equal(to_numpy(dest.state_dict()["target"]), weights)
    # Mutating the arrays afterwards changes neither policy.
    weights["torso.0.weight"][:] = 0.0
    assert not np.all(source.get_weights()["torso.0.weight"] == 0.0)
    assert not np.all(dest.get_weights()["torso.0.weight"] == 0.0)


def test_set_weights_names_missing_and_unexpected_keys() -> None:
    policy = make_policy()
    weights = policy.get_weights()
    del weights["torso.0.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['torso.0.bias'\]"):
        policy.set_weights(weights)
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        policy.set_weights({**policy.get_weights(), "extra": np.zeros(1)})


def test_set_weights_names_shape_mismatch() -> None:
    policy = make_policy()
    other = make_policy(dataclasses.replace(SMALL, hidden_sizes=(16, 8)))
    with pytest.raises(ValueError, match=r"'torso.2.weight' has shape \(8, 16\), expected"):
        policy.set_weights(other.get_weights())
    # Nothing was half-loaded: shapes are checked before any copy.
    assert_weights_equal(policy.get_weights(), make_policy().get_weights())


def test_state_dict_round_trip_through_torch_save(tmp_path: Any) -> None:
    config = dataclasses.replace(SMALL, target_update_period_learner_steps=2)
    trained = make_policy(config, seed=1)
    trained.set_epsilon(0.3)
    batch = make_batch()
    for _ in range(3):
        trained.learn(batch)
    path = tmp_path / "policy.pt"
    torch.save(trained.state_dict(), path)
    restored = make_policy(config, seed=2)
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert restored.learner_steps == 3 and restored.epsilon == 0.3
    # Identical next step: same online, target and Adam moments, same step counter.
    next_a, next_b = trained.learn(batch), restored.learn(batch)
    assert next_a["loss"] == next_b["loss"]
    assert next_b["learner_steps"] == 4
    assert_weights_equal(trained.get_weights(), restored.get_weights())
    assert_weights_equal(
        to_numpy(trained.state_dict()["target"]), to_numpy(restored.state_dict()["target"])
    )


def test_state_dict_is_a_snapshot() -> None:
    policy = make_policy()
    state = policy.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    policy.learn(make_batch())
    assert not torch.equal(
        state["online"]["torso.0.weight"], policy.state_dict()["online"]["torso.0.weight"]
    )


def test_load_state_dict_names_missing_keys() -> None:
    policy = make_policy()
    state = policy.state_dict()
    del state["optimizer"]
    with pytest.raises(ValueError, match="optimizer"):
        policy.load_state_dict(state)
