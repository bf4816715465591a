"""PPO's and IMPALA's learner steps, and the asynchronous optimizers' bounds."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlactors.actors import Runtime
from rlactors.core import SampleBatch
from rlactors.evaluators import ActorCriticEvaluator, RolloutConfig
from rlactors.learners import ActorCriticLearner, ActorCriticLearnerConfig
from rlactors.learners.ppo import PPOLearner, PPOLearnerConfig
from rlactors.learners.v_trace import VTraceLearner, VTraceLearnerConfig
from rlactors.losses import normalize_advantages, ppo_loss
from rlactors.optimizers.async_samples import AsyncSamplesConfig, AsyncSamplesOptimizer
from rlactors.optimizers.worker_group import evaluator_group
from rlactors.policies import ActorCriticConfig, ActorCriticPolicy

T, K = 8, 2


def rollout_config(**overrides: Any) -> RolloutConfig:
    fields: dict[str, Any] = {
        "env": "CartPole-v1",
        "num_envs": K,
        "rollout_steps": T,
        "seed": 1,
        "policy": ActorCriticConfig(hidden_sizes=(8,)),
        **overrides,
    }
    return RolloutConfig(**fields)


def learner_and_batch(gae: bool) -> tuple[ActorCriticLearner, SampleBatch]:
    config = rollout_config(gae_lambda=0.95 if gae else None)
    evaluator = ActorCriticEvaluator(config)
    # A learner with the behaviour policy's weights: learning on-policy.
    policy = ActorCriticPolicy(
        gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2), config.policy, 0
    )
    policy.set_weights(evaluator.get_weights())
    return ActorCriticLearner(policy, config.learner), evaluator.rollout().batch


def test_ppo_runs_every_epoch_over_every_minibatch() -> None:
    policy, batch = learner_and_batch(gae=True)
    learner = PPOLearner(policy, PPOLearnerConfig(num_epochs=3, minibatch_size=6), seed=0)
    stats = learner(batch)
    assert policy.learner_steps == 3 * math.ceil(T * K / 6)
    assert set(stats) == {
        "loss", "policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "grad_norm"
    }  # fmt: skip
    assert all(math.isfinite(v) for v in stats.values())
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['advantages'"):
        learner(SampleBatch({k: v for k, v in batch.items() if k != "advantages"}))


@pytest.mark.parametrize("minibatch_size", [T * K, 6])
def test_ppo_steps_are_the_clipped_objective_on_each_minibatch(minibatch_size: int) -> None:
    # The learner's shortcuts (converting once, one whole-batch minibatch without a shuffle,
    # its advantages normalized once) must not change the steps: replay them by hand.
    policy, batch = learner_and_batch(gae=True)
    reference, _ = learner_and_batch(gae=True)  # the same weights, its own Adam
    config = PPOLearnerConfig(num_epochs=3, minibatch_size=minibatch_size, entropy_coef=0.01)
    PPOLearner(policy, config, seed=7)(batch)
    rng = np.random.default_rng(7)
    for _ in range(3):
        order = rng.permutation(T * K) if minibatch_size < T * K else np.arange(T * K)
        for begin in range(0, T * K, minibatch_size):
            rows = {
                k: torch.as_tensor(v[order[begin : begin + minibatch_size]])
                for k, v in batch.items()
            }
            log_probs, entropy, values = reference.policy.evaluate_actions(
                rows["obs"], rows["actions"]
            )
            out = ppo_loss(
                log_probs,
                rows["log_probs"],
                normalize_advantages(rows["advantages"]),
                values,
                rows["values"],
                rows["returns"],
                entropy,
                value_coef=0.5,
                entropy_coef=0.01,
            )
            reference.gradient_step(out.loss.mean())
    for key, value in reference.get_weights().items():
        np.testing.assert_allclose(policy.get_weights()[key], value, atol=1e-6, err_msg=key)


def test_vtrace_learner_is_on_policy_for_its_own_rollouts_and_checks_its_input() -> None:
    policy, batch = learner_and_batch(gae=False)
    learner = VTraceLearner(policy, VTraceLearnerConfig(rollout_steps=T))
    stats = learner([batch, batch])  # two rollouts side by side: [T, 2K]
    assert stats["rho_mean"] == pytest.approx(1.0, abs=1e-5)  # pi == mu before the step
    assert policy.learner_steps == 1 and math.isfinite(stats["loss"])
    with pytest.raises(ValueError, match="not a whole number of rollout_steps=5"):
        VTraceLearner(policy, VTraceLearnerConfig(rollout_steps=5))([batch])
    with pytest.raises(ValueError, match="lacks column 'next_obs'"):
        learner([SampleBatch({k: v for k, v in batch.items() if k != "next_obs"})])


@pytest.mark.timeout(60)
def test_async_samples_never_holds_more_rollouts_than_its_bound() -> None:
    config = AsyncSamplesConfig(
        rollouts_per_batch=2, max_inflight_per_worker=2, max_queued_rollouts=3,
        iteration_env_steps=T * K * 12,
    )  # fmt: skip
    learner = ActorCriticLearner(
        ActorCriticPolicy(*spaces(), ActorCriticConfig(hidden_sizes=(8,)), seed=0),
        ActorCriticLearnerConfig(),
    )
    held: list[int] = []
    with Runtime("process"):
        group = evaluator_group(ActorCriticEvaluator, rollout_config(gae_lambda=None), learner, 2)
        optimizer: AsyncSamplesOptimizer

        def learn(batches: list[SampleBatch]) -> dict[str, float]:
            held.append(len(optimizer.queued) + len(optimizer._inflight) + len(batches))
            return {"loss": 0.0}

        optimizer = AsyncSamplesOptimizer(group, learner, learn, config)
        try:
            stats = optimizer.step()
        finally:
            optimizer.stop()
    assert stats["env_steps"] >= T * K * 12 and held
    assert max(held) <= config.max_queued_rollouts  # received or asked for, not learned on


def spaces() -> tuple[Any, Any]:
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    return env.observation_space, env.action_space


def test_async_samples_config_rejects_a_queue_smaller_than_a_batch() -> None:
    with pytest.raises(ValueError, match="max_queued_rollouts"):
        AsyncSamplesConfig(rollouts_per_batch=4, max_queued_rollouts=2)
    with pytest.raises(ValueError, match="iteration_env_steps"):
        AsyncSamplesConfig(iteration_env_steps=0)


@pytest.mark.timeout(60)
def test_weights_sent_to_a_dead_evaluator_wait_for_its_restart() -> None:
    """Regression: broadcasting to an evaluator killed a moment before raised ActorDiedError
    out of the optimizer's step; the restart hook hands the new instance the weights instead."""
    import time

    from rlactors.actors import kill

    learner = ActorCriticLearner(
        ActorCriticPolicy(*spaces(), ActorCriticConfig(hidden_sizes=(8,)), seed=0),
        ActorCriticLearnerConfig(),
    )
    with Runtime("process"):
        group = evaluator_group(ActorCriticEvaluator, rollout_config(), learner, 1)
        try:
            kill(group.refs[0])
            deadline = time.monotonic() + 30.0
            while group.restarts < 1:
                assert time.monotonic() < deadline, "the evaluator was not restarted"
                group.broadcast()  # never raises, dead or restarted (tight: hit the window)
            rollout = group.refs[0].ask("rollout").result(30)
        finally:
            group.stop()
    assert rollout.env_steps == T * K
