"""rlactors.learners.DQNLearner: learning, target updates, weights and checkpoints."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
import pytest
import torch
from test_policies_dqn import (
    SMALL,
    assert_weights_equal,
    make_batch,
    make_policy,
    to_numpy,
)

from rlactors.core import Learner, SampleBatch
from rlactors.learners import DQNLearner, DQNLearnerConfig
from rlactors.policies import DQNPolicyConfig

LEARNER = DQNLearnerConfig()


def make_learner(
    config: DQNPolicyConfig = SMALL,
    seed: int = 0,
    learning: DQNLearnerConfig = LEARNER,
    **kwargs: Any,
) -> DQNLearner:
    return DQNLearner(make_policy(config, seed, **kwargs), learning)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("adam_epsilon", 0.0),
        ("huber_delta", -1.0),
        ("max_grad_norm", 0.0),
        ("target_update_period_learner_steps", 0),
        ("target_update_tau", 0.0),
        ("target_update_tau", 1.5),
    ],
)
def test_config_validation_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"DQNLearnerConfig\.{field} must"):
        DQNLearnerConfig(**{field: value})


def test_is_a_learner_of_its_policy() -> None:
    learner = make_learner()
    assert isinstance(learner, Learner)
    assert learner.policy.network is learner._online


# -- learning ----------------------------------------------------------------------------------


def test_learn_stats() -> None:
    learner = make_learner()
    batch = make_batch()
    before = learner.compute_td_error(batch)
    stats = learner.learn(batch)
    assert {"loss", "q_mean", "grad_norm", "learner_steps", "td_error"} <= stats.keys()
    for key in ("loss", "q_mean", "grad_norm"):
        assert isinstance(stats[key], float) and np.isfinite(stats[key]), key
    assert stats["grad_norm"] > 0
    assert stats["learner_steps"] == 1 == learner.learner_steps
    # The TD errors are those before the step (what prioritized replay stores).
    assert stats["td_error"].dtype == np.float32 and stats["td_error"].shape == (8,)
    np.testing.assert_allclose(stats["td_error"], before, rtol=1e-6)
    assert not np.allclose(learner.compute_td_error(batch), before)


def test_learn_names_missing_columns() -> None:
    batch = SampleBatch({k: v for k, v in make_batch().items() if k != "discounts"})
    with pytest.raises(ValueError, match="discounts"):
        make_learner().learn(batch)


@pytest.mark.parametrize("double_q", [True, False])
@pytest.mark.parametrize("dueling", [True, False])
def test_learn_reduces_td_error_on_a_fixed_batch(double_q: bool, dueling: bool) -> None:
    learning = DQNLearnerConfig(
        double_q=double_q,
        learning_rate=1e-2,
        target_update_period_learner_steps=10**6,  # fixed target: plain regression
    )
    learner = make_learner(dataclasses.replace(SMALL, dueling=dueling), learning=learning)
    batch = make_batch(size=16)
    start = np.abs(learner.compute_td_error(batch)).mean()
    for _ in range(150):
        learner.learn(batch)
    assert np.abs(learner.compute_td_error(batch)).mean() < 0.1 * start


def test_terminal_rows_target_the_reward() -> None:
    learner = make_learner()
    batch = make_batch(discounts=np.zeros(8, dtype=np.float32))
    q_taken = learner.policy.q_values(batch["obs"])[np.arange(8), batch["actions"]]
    np.testing.assert_allclose(
        learner.compute_td_error(batch), batch["rewards"] - q_taken, rtol=1e-5, atol=1e-6
    )


def test_importance_weights_multiply_the_loss() -> None:
    batch = make_batch()
    plain = make_learner().learn(batch)["loss"]
    doubled = make_learner().learn(make_batch(weights=np.full(8, 2.0, np.float32)))["loss"]
    assert doubled == pytest.approx(2 * plain, rel=1e-5)


def test_rows_with_zero_weight_give_no_gradient() -> None:
    weights = np.array([1, 0, 1, 0, 1, 1, 1, 1], dtype=np.float32)
    rewards = make_batch()["rewards"].copy()
    wild = rewards.copy()
    wild[weights == 0] = 1e6  # a huge TD error on the zero-weight rows
    a, b = make_learner(), make_learner()
    a.learn(make_batch(rewards=rewards, weights=weights))
    b.learn(make_batch(rewards=wild, weights=weights))
    assert_weights_equal(a.get_weights(), b.get_weights())


def test_gradient_clipping_reports_the_unclipped_norm() -> None:
    batch = make_batch()
    unclipped = make_learner(learning=DQNLearnerConfig(max_grad_norm=None)).learn(batch)
    clipped = make_learner(learning=DQNLearnerConfig(max_grad_norm=1e-3)).learn(batch)
    assert clipped["grad_norm"] == pytest.approx(unclipped["grad_norm"], rel=1e-5)


@pytest.mark.parametrize("max_grad_norm", [None, 0.05])
def test_learn_matches_adam_with_clip_grad_norm_step_by_step(max_grad_norm: float | None) -> None:
    # learn() keeps every gradient in one buffer and clips and steps it with fused kernels;
    # it must take exactly the steps of plain Adam after clip_grad_norm_ on the same loss
    # (0.05 clips every step, None never does). A missed zeroing would accumulate gradients.
    learning = DQNLearnerConfig(max_grad_norm=max_grad_norm, learning_rate=1e-2)
    learner = make_learner(learning=learning)
    reference = make_learner(learning=learning)
    params = list(reference.policy.network.parameters())
    adam = torch.optim.Adam(params, lr=learning.learning_rate, eps=learning.adam_epsilon)
    for step in range(5):
        batch = make_batch(seed=step, weights=np.linspace(0.5, 1.5, 8, dtype=np.float32))
        stats = learner.learn(batch)
        tensors = reference._batch_tensors(batch)
        loss = (reference._loss_output(tensors).loss * tensors["weights"]).mean()
        adam.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm or float("inf"))
        adam.step()
        assert stats["grad_norm"] == pytest.approx(float(norm), rel=1e-5)
        for key, value in reference.get_weights().items():
            np.testing.assert_allclose(learner.get_weights()[key], value, rtol=1e-5, atol=1e-6)


def test_hard_target_update_every_period() -> None:
    learner = make_learner(learning=DQNLearnerConfig(target_update_period_learner_steps=3))
    initial = to_numpy(learner.state_dict()["target"])
    batch = make_batch()
    for _ in range(2):
        learner.learn(batch)
        assert_weights_equal(to_numpy(learner.state_dict()["target"]), initial)
    learner.learn(batch)  # learner step 3: target <- online
    assert_weights_equal(to_numpy(learner.state_dict()["target"]), learner.get_weights())
    learner.learn(batch)  # step 4: the target keeps the step-3 copy
    target = to_numpy(learner.state_dict()["target"])
    assert not np.array_equal(target["torso.0.weight"], learner.get_weights()["torso.0.weight"])


def test_soft_target_update() -> None:
    learning = DQNLearnerConfig(target_update_period_learner_steps=1, target_update_tau=0.25)
    learner = make_learner(learning=learning)
    initial = learner.get_weights()
    learner.learn(make_batch())
    online, target = learner.get_weights(), to_numpy(learner.state_dict()["target"])
    for key in online:
        np.testing.assert_allclose(
            target[key], 0.25 * online[key] + 0.75 * initial[key], rtol=1e-5, atol=1e-7
        )


# -- weights and checkpoints -------------------------------------------------------------------


def test_weights_round_trip_and_are_copies() -> None:
    source, dest = make_learner(seed=1), make_learner(seed=2)
    source.learn(make_batch())
    weights = source.get_weights()
    assert all(isinstance(v, np.ndarray) for v in weights.values())
    dest.set_weights(weights)
    assert_weights_equal(dest.get_weights(), weights)
    obs = np.random.default_rng(0).uniform(-1, 1, (20, 4))
    np.testing.assert_array_equal(
        dest.policy.act(obs, explore=False), source.policy.act(obs, explore=False)
    )
    # set_weights also syncs the target network.
    assert_weights_equal(to_numpy(dest.state_dict()["target"]), weights)
    # Mutating the arrays afterwards changes neither learner.
    weights["torso.0.weight"][:] = 0.0
    assert not np.all(source.get_weights()["torso.0.weight"] == 0.0)
    assert not np.all(dest.get_weights()["torso.0.weight"] == 0.0)


def test_set_weights_names_missing_and_unexpected_keys() -> None:
    learner = make_learner()
    weights = learner.get_weights()
    del weights["torso.0.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['torso.0.bias'\]"):
        learner.set_weights(weights)
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        learner.set_weights({**learner.get_weights(), "extra": np.zeros(1)})


def test_set_weights_names_shape_mismatch() -> None:
    learner = make_learner()
    other = make_learner(dataclasses.replace(SMALL, hidden_sizes=(16, 8)))
    with pytest.raises(ValueError, match=r"'torso.2.weight' has shape \(8, 16\), expected"):
        learner.set_weights(other.get_weights())
    # Nothing was half-loaded: shapes are checked before any copy.
    assert_weights_equal(learner.get_weights(), make_learner().get_weights())


def test_state_dict_round_trip_through_torch_save(tmp_path: Any) -> None:
    learning = DQNLearnerConfig(target_update_period_learner_steps=2)
    trained = make_learner(seed=1, learning=learning)
    trained.policy.set_epsilon(0.3)
    batch = make_batch()
    for _ in range(3):
        trained.learn(batch)
    path = tmp_path / "learner.pt"
    torch.save(trained.state_dict(), path)
    restored = make_learner(seed=2, learning=learning)
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert restored.learner_steps == 3 and restored.policy.epsilon == 0.3
    # Identical next step: same online, target and Adam moments, same step counter.
    next_a, next_b = trained.learn(batch), restored.learn(batch)
    assert next_a["loss"] == next_b["loss"]
    assert next_b["learner_steps"] == 4
    assert_weights_equal(trained.get_weights(), restored.get_weights())
    assert_weights_equal(
        to_numpy(trained.state_dict()["target"]), to_numpy(restored.state_dict()["target"])
    )


def test_state_dict_is_a_snapshot() -> None:
    learner = make_learner()
    state = learner.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    learner.learn(make_batch())
    assert not torch.equal(
        state["online"]["torso.0.weight"], learner.state_dict()["online"]["torso.0.weight"]
    )


def test_load_state_dict_names_missing_keys() -> None:
    learner = make_learner()
    state = learner.state_dict()
    del state["optimizer"]
    with pytest.raises(ValueError, match="optimizer"):
        learner.load_state_dict(state)


def test_a_next_state_with_no_legal_action_bootstraps_nothing() -> None:
    """Regression: a truncated (or n-step) transition into a state whose action mask is empty
    kept its discount, so the all-MASKED bootstrap put about -1e9 into the target and into
    Ape-X's priorities."""
    import gymnasium as gym

    from rlactors.envs.observations import ObservationLayout
    from rlactors.policies import DQNPolicy, NumpyQPolicy

    box = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    space = gym.spaces.Dict({"x": box, "action_mask": gym.spaces.MultiBinary(3)})
    layout = ObservationLayout.of(space)

    def pack(*masks: list[int]) -> np.ndarray:
        x = np.zeros(2, np.float32)
        return layout.pack_many([{"x": x, "action_mask": np.array(m)} for m in masks])

    rows = pack([1, 1, 1], [1, 1, 1], [1, 1, 1])
    next_rows = pack([1, 1, 0], [0, 0, 0], [0, 1, 1])  # row 1: no legal next action
    batch = SampleBatch(
        obs=rows,
        actions=np.array([0, 1, 2]),
        rewards=np.array([1.0, 2.0, 3.0], np.float32),
        next_obs=next_rows,
        discounts=np.full(3, 0.99, np.float32),
    )
    for double_q in (True, False):
        config = DQNPolicyConfig(hidden_sizes=(8,))
        learner = DQNLearner(
            DQNPolicy(space, gym.spaces.Discrete(3), config, seed=0),
            DQNLearnerConfig(double_q=double_q),
        )
        td = learner.compute_td_error(batch)
        q_taken = learner.policy.q_values(rows)[np.arange(3), [0, 1, 2]]
        assert np.all(np.abs(td) < 100), td
        assert td[1] == pytest.approx(2.0 - q_taken[1], abs=1e-5)  # the reward alone
        copy = NumpyQPolicy(space, gym.spaces.Discrete(3), config, seed=1)
        copy.set_weights(learner.get_weights())
        np.testing.assert_allclose(copy.compute_td_error(batch), td, rtol=1e-4, atol=1e-4)
        assert np.isfinite(learner.learn(batch)["loss"])
