"""ActorCriticEvaluator: time-major rollouts, GAE with time-limit bootstrapping, statistics."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlactors.envs import EnvSpec
from rlactors.evaluators import ActorCriticEvaluator, RolloutConfig
from rlactors.policies import ActionInfo, ActorCriticConfig

T, K = 6, 2


def config(**overrides: Any) -> RolloutConfig:
    fields: dict[str, Any] = {
        # Episodes of 5 steps: every rollout holds time-limit truncations.
        "env": EnvSpec("CartPole-v1", kwargs={"max_episode_steps": 5}),
        "num_envs": K,
        "rollout_steps": T,
        "gamma": 0.9,
        "seed": 3,
        "policy": ActorCriticConfig(hidden_sizes=(8,)),
        **overrides,
    }
    return RolloutConfig(**fields)


def test_trajectory_rows_are_time_major_and_chain_within_episodes() -> None:
    rollout = ActorCriticEvaluator(config(gae_lambda=None)).rollout()
    batch = rollout.batch
    assert rollout.env_steps == len(batch) == T * K
    assert set(batch) == {
        "obs", "actions", "log_probs", "values", "rewards", "discounts", "truncated", "next_obs",
        "crashed",
    }  # fmt: skip
    assert not batch["crashed"].any()
    obs = batch["obs"].reshape(T, K, 4)
    next_obs = batch["next_obs"].reshape(T, K, 4)
    ended = (batch["discounts"] == 0).reshape(T, K)
    truncated = batch["truncated"].reshape(T, K)
    assert truncated[4].all() and not truncated[:4].any()  # step 5 of each episode
    for t in range(T - 1):
        for k in range(K):
            if not ended[t, k]:  # the next row of the same env continues from next_obs
                np.testing.assert_array_equal(obs[t + 1, k], next_obs[t, k])
    np.testing.assert_allclose(batch["discounts"][~ended.reshape(-1)], 0.9)
    assert [e.length for e in rollout.episodes] == [5, 5]


def test_gae_bootstraps_truncated_episodes_from_their_final_state() -> None:
    """With lambda 0, A_t = r_t + gamma (1 - terminated) V(s_{t+1}) - V(s_t), where s_{t+1} is
    the true final state at a truncation (not the next episode's first) and V(s_T) after the
    rollout's last row."""
    with_gae = ActorCriticEvaluator(config(gae_lambda=0.0))
    raw = ActorCriticEvaluator(config(gae_lambda=None))  # same seeds: the same trajectory
    gae, trajectory = with_gae.rollout().batch, raw.rollout().batch
    np.testing.assert_array_equal(gae["obs"], trajectory["obs"])
    policy = with_gae._policy
    terminated = (trajectory["discounts"] == 0) & ~trajectory["truncated"]
    expected = (
        trajectory["rewards"]
        + 0.9 * ~terminated * policy.value(trajectory["next_obs"])
        - policy.value(trajectory["obs"])
    )
    np.testing.assert_allclose(gae["advantages"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gae["returns"], gae["advantages"] + gae["values"], rtol=1e-6)


def test_observation_statistics_cover_each_rollout_once() -> None:
    policy = ActorCriticConfig(hidden_sizes=(8,), normalize_observations=True)
    evaluator = ActorCriticEvaluator(config(policy=policy))
    first, second = evaluator.rollout(), evaluator.rollout()
    assert first.obs_stats is not None and second.obs_stats is not None
    assert float(first.obs_stats["count"]) == float(second.obs_stats["count"]) == T * K
    np.testing.assert_allclose(
        second.obs_stats["mean"], second.batch["obs"].mean(axis=0), rtol=1e-5, atol=1e-7
    )
    assert ActorCriticEvaluator(config()).rollout().obs_stats is None


def test_scaled_rewards_leave_episode_returns_raw() -> None:
    rollout = ActorCriticEvaluator(config(scale_rewards=True, gae_lambda=None)).rollout()
    assert not np.allclose(rollout.batch["rewards"], 1.0)  # CartPole pays 1 per step
    assert [e.episode_return for e in rollout.episodes] == [5.0, 5.0]


def test_compute_gradients_returns_one_array_per_weight() -> None:
    evaluator = ActorCriticEvaluator(config())
    result = evaluator.compute_gradients()
    weights = evaluator.get_weights()
    assert set(result.gradients) == set(weights)
    for name, gradient in result.gradients.items():
        assert gradient.shape == weights[name].shape and gradient.dtype == np.float32
    assert result.env_steps == T * K and result.stats["grad_norm"] >= 0.0
    with pytest.raises(ValueError, match="gae_lambda"):
        ActorCriticEvaluator(config(gae_lambda=None)).compute_gradients()


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_envs", 0), ("rollout_steps", 0), ("gamma", 1.5), ("gae_lambda", -0.1), ("env", "")],
)
def test_bad_config_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"RolloutConfig\.{field}"):
        config(**{field: value})


def test_an_injected_policy_is_what_the_evaluator_acts_through() -> None:
    from rlactors.evaluators import ActorCriticActing
    from rlactors.policies import NumpyActorCriticPolicy

    class Recording(NumpyActorCriticPolicy):
        """A numpy copy that counts its calls: the evaluator must use it, not its own."""

        calls = 0

        def act_with_info(self, obs: np.ndarray, *, explore: bool = True) -> ActionInfo:
            Recording.calls += 1
            return super().act_with_info(obs, explore=explore)

    cfg = config()
    env = gym.make("CartPole-v1")
    policy = Recording(env.observation_space, env.action_space, cfg.policy, seed=5)
    assert isinstance(policy, ActorCriticActing)
    rollout = ActorCriticEvaluator(cfg, policy=policy).rollout()
    assert Recording.calls == T and len(rollout.batch) == T * K
