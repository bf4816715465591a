"""rlactors.learners.ActorCriticLearner: the A2C step, gradients across processes, any loss
through gradient_step, learning rate and checkpoints."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_policies_actor_critic import (
    SMALL,
    assert_weights_equal,
    make_batch,
    make_obs,
    make_policy,
)

from rlactors.core import Learner, SampleBatch
from rlactors.learners import ActorCriticLearner, ActorCriticLearnerConfig
from rlactors.losses import a2c_loss, ppo_loss
from rlactors.policies import ActorCriticConfig, ActorCriticPolicy

LEARNER = ActorCriticLearnerConfig()


def make_learner(
    kind: str = "discrete",
    config: ActorCriticConfig = SMALL,
    seed: int = 0,
    learning: ActorCriticLearnerConfig = LEARNER,
) -> ActorCriticLearner:
    return ActorCriticLearner(make_policy(kind, config, seed), learning)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learning_rate", 0.0),
        ("adam_epsilon", float("nan")),
        ("value_coef", -1.0),
        ("entropy_coef", -1.0),
        ("max_grad_norm", float("inf")),
    ],
)
def test_config_validation_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"ActorCriticLearnerConfig\.{field} must"):
        ActorCriticLearnerConfig(**{field: value})


def test_is_a_learner_of_its_policy() -> None:
    learner = make_learner()
    assert isinstance(learner, Learner) and isinstance(learner.policy, ActorCriticPolicy)


# -- learning --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["discrete", "box"])
@pytest.mark.parametrize("shared", [False, True])
def test_learn_reduces_the_loss_on_a_fixed_batch(kind: str, shared: bool) -> None:
    config = dataclasses.replace(SMALL, shared_torso=shared)
    learner = make_learner(kind, config, learning=ActorCriticLearnerConfig(learning_rate=1e-2))
    batch = make_batch(learner.policy)
    first = learner.learn(batch)
    assert learner._adam is not None
    for _ in range(20):
        last = learner.learn(batch)
    assert last["loss"] < first["loss"]
    assert last["value_loss"] < first["value_loss"]
    assert last["learner_steps"] == 21 == learner.learner_steps
    assert set(first) == {
        "loss",
        "policy_loss",
        "value_loss",
        "entropy",
        "grad_norm",
        "learner_steps",
    }


def test_learning_does_not_import_torch_dynamo() -> None:
    # Any torch.optim optimizer imports torch._dynamo (~1 s of every learner's start-up);
    # FlatAdam does not. A fresh interpreter, since this one may have imported it already.
    code = (
        "import sys, gymnasium as gym\n"
        "from rlactors.policies import ActorCriticConfig, ActorCriticPolicy\n"
        "from rlactors.learners import ActorCriticLearner, ActorCriticLearnerConfig\n"
        "from rlactors.core import SampleBatch\n"
        "import numpy as np\n"
        "env = gym.make('CartPole-v1')\n"
        "spaces = env.observation_space, env.action_space\n"
        "policy = ActorCriticPolicy(*spaces, ActorCriticConfig(), 0)\n"
        "p = ActorCriticLearner(policy, ActorCriticLearnerConfig())\n"
        "obs = np.zeros((4, 4), np.float32)\n"
        "z = np.zeros(4, np.float32)\n"
        "p.learn(SampleBatch(obs=obs, actions=p.policy.act(obs), advantages=z, returns=z))\n"
        "p.load_state_dict(p.state_dict())\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_learn_steps_like_torch_adam() -> None:
    # FlatAdam replaced torch.optim.Adam: same update, with the gradient clipped as
    # clip_grad_norm_ clips it.
    policy, reference = make_learner(), make_learner()
    batch = make_batch(policy.policy)
    adam = torch.optim.Adam(reference.policy.network.parameters(), lr=7e-4, eps=1e-5)
    for _ in range(3):
        policy.learn(batch)
        reference.policy.network.zero_grad()
        log_probs, entropy, values = reference.policy.evaluate_actions(
            batch["obs"], batch["actions"]
        )
        advantages = torch.as_tensor(batch["advantages"])
        returns = torch.as_tensor(batch["returns"])
        loss = a2c_loss(
            log_probs, advantages, values, returns, entropy, value_coef=0.5, entropy_coef=0.01
        ).loss
        loss.mean().backward()
        torch.nn.utils.clip_grad_norm_(reference.policy.network.parameters(), 0.5)
        adam.step()
    for name, value in policy.get_weights().items():
        np.testing.assert_allclose(value, reference.get_weights()[name], atol=1e-6, err_msg=name)


def test_learn_names_missing_columns_and_bad_shapes() -> None:
    learner = make_learner()
    batch = make_batch(learner.policy)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['returns'\]"):
        learner.learn(SampleBatch({k: v for k, v in batch.items() if k != "returns"}))
    with pytest.raises(ValueError, match="'advantages' must be"):
        learner.learn(SampleBatch({**batch.columns, "advantages": np.zeros((16, 2))}))


def test_compute_and_apply_gradients_equal_learn() -> None:
    worker, learner, reference = make_learner(), make_learner(), make_learner()
    batch = make_batch(reference.policy)
    gradients, stats = worker.compute_gradients(batch)
    assert set(gradients) == set(worker.get_weights())
    learner.apply_gradients(gradients)
    expected = reference.learn(batch)
    assert stats["loss"] == pytest.approx(expected["loss"])
    assert_weights_equal(learner.get_weights(), reference.get_weights())
    with pytest.raises(ValueError, match="missing keys"):
        learner.apply_gradients({k: v for k, v in gradients.items() if k != "value_head.bias"})
    bad = {**gradients, "value_head.bias": np.zeros(3, np.float32)}
    with pytest.raises(ValueError, match=r"'value_head\.bias' has shape"):
        learner.apply_gradients(bad)


def test_gradient_step_with_ppo_loss() -> None:
    learner = make_learner("box", learning=ActorCriticLearnerConfig(learning_rate=1e-2))
    obs = make_obs(32)
    info = learner.policy.act_with_info(obs)
    advantages = torch.as_tensor(np.where(info.actions[:, 0] > 0, 1.0, -1.0), dtype=torch.float32)
    returns = torch.ones(32)
    losses = []
    for _ in range(5):
        log_probs, entropy, values = learner.policy.evaluate_actions(obs, info.actions)
        out = ppo_loss(
            log_probs,
            torch.as_tensor(info.log_probs),
            advantages,
            values,
            torch.as_tensor(info.values),
            returns,
            entropy,
        )
        losses.append(float(out.loss.detach().mean()))
        grad_norm = learner.gradient_step(out.loss.mean())
        assert grad_norm > 0.0
    assert losses[-1] < losses[0]
    assert learner.learner_steps == 5
    with pytest.raises(ValueError, match="scalar"):
        learner.gradient_step(out.loss)


def test_state_dict_round_trip_through_torch_save(tmp_path: Any) -> None:
    learner = make_learner("box")
    batch = make_batch(learner.policy)
    for _ in range(3):
        learner.learn(batch)
    path = tmp_path / "policy.pt"
    torch.save(learner.state_dict(), path)
    restored = make_learner("box", seed=99)
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert restored.learner_steps == 3
    assert_weights_equal(restored.get_weights(), learner.get_weights())
    # Same Adam moments: the next step is identical.
    learner.learn(batch)
    restored.learn(batch)
    assert_weights_equal(restored.get_weights(), learner.get_weights())
    with pytest.raises(ValueError, match=r"missing keys \['learner_steps'"):
        restored.load_state_dict({"network": {}, "optimizer": {}})


def test_observation_normalization_uses_merged_stats_and_travels_with_weights(
    tmp_path: Any,
) -> None:
    from rlactors.policies import RunningMeanStd

    space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
    config = ActorCriticConfig(normalize_observations=True)
    discrete = gym.spaces.Discrete(2)
    learner = ActorCriticLearner(ActorCriticPolicy(space, discrete, config, seed=0), LEARNER)
    actor = ActorCriticLearner(ActorCriticPolicy(space, discrete, config, seed=1), LEARNER)
    obs = np.array([[10.0, -4.0, 2.0], [12.0, -2.0, 4.0]], np.float32)
    seen = RunningMeanStd((3,))
    seen.update(obs)
    actor.merge_obs_stats(seen.get_state())  # an acting copy: replaced by the learner's below
    learner.merge_obs_stats(seen.get_state())
    assert learner.policy.obs_stats is not None
    np.testing.assert_allclose(learner.policy.obs_stats.mean, [11.0, -3.0, 3.0])
    # The network sees normalized inputs: raw obs and their normalized version act alike.
    plain = ActorCriticPolicy(space, gym.spaces.Discrete(2), ActorCriticConfig(), seed=0)
    np.testing.assert_allclose(
        learner.policy.value(obs),
        plain.value(learner.policy.obs_stats.normalize(obs)),
        rtol=1e-5,
    )
    actor.set_weights(learner.get_weights())
    np.testing.assert_allclose(actor.policy.value(obs), learner.policy.value(obs), rtol=1e-6)
    with pytest.raises(ValueError, match="obs_stats"):
        plain.set_weights(learner.get_weights())
    path = tmp_path / "policy.pt"
    torch.save(learner.state_dict(), path)
    restored = ActorCriticLearner(ActorCriticPolicy(space, discrete, config, seed=5), LEARNER)
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert restored.policy.obs_stats is not None
    np.testing.assert_allclose(restored.policy.obs_stats.var, learner.policy.obs_stats.var)


def test_set_learning_rate_changes_adam_and_rejects_negative() -> None:
    learner = make_learner("discrete")
    batch = make_batch(learner.policy)
    learner.learn(batch)
    learner.set_learning_rate(0.0)
    before = learner.get_weights()
    learner.learn(batch)  # lr 0: Adam moves nothing
    assert_weights_equal(learner.get_weights(), before)
    assert learner.learning_rate == 0.0
    with pytest.raises(ValueError, match="learning_rate"):
        learner.set_learning_rate(-1.0)
