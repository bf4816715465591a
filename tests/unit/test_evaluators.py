"""DQNEvaluator and its helpers: n-step batches, exact env-step counts, priorities, epsilon,
greedy episodes, seeds, and running as an actor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rlactors.actors import Runtime, spawn
from rlactors.core import DEFAULT_POLICY_ID, EpisodeStats
from rlactors.envs import CorridorEnv, EnvBatch, UnknownEnvError
from rlactors.evaluators import (
    PRIORITIES,
    DQNEvaluator,
    EvaluatorConfig,
    make_env_batch,
    run_episodes,
)
from rlactors.policies import DQNPolicyConfig

SMALL_NET = DQNPolicyConfig(hidden_sizes=(16,))
COLUMNS = {"obs", "actions", "rewards", "next_obs", "discounts"}


def config(**overrides: object) -> EvaluatorConfig:
    fields: dict[str, object] = {
        "env": "CartPole-v1",
        "rollout_steps": 50,
        "n_step": 3,
        "epsilon": 1.0,
        "policy": SMALL_NET,
        **overrides,
    }
    return EvaluatorConfig(**fields)  # type: ignore[arg-type]


def test_sample_returns_n_step_transitions_and_finished_episodes() -> None:
    evaluator = DQNEvaluator(config(num_envs=2))
    batch, episodes = evaluator.sample()
    assert set(batch) == COLUMNS
    n = len(batch)
    # 100 env steps; up to (n - 1) steps per env wait for their n-step return.
    assert 100 - 2 * 2 <= n <= 100
    assert batch["obs"].shape == (n, 4) and batch["obs"].dtype == np.float32
    assert batch["next_obs"].shape == (n, 4)
    assert batch["actions"].dtype == np.int64 and set(np.unique(batch["actions"])) <= {0, 1}
    gamma = 0.99
    allowed = {0.0, np.float32(gamma), np.float32(gamma**2), np.float32(gamma**3)}
    assert set(np.unique(batch["discounts"]).tolist()) <= {float(a) for a in allowed}
    # CartPole pays 1 per step: an m-step return is 1 + g + ... + g^(m-1) <= 1 + g + g^2.
    rewards = batch["rewards"]
    assert np.all(rewards >= 1.0) and np.all(rewards <= 1 + gamma + gamma**2 + 1e-5)
    # With uniformly random actions CartPole episodes last ~20 steps: several ended.
    assert episodes and all(e.length >= 8 and e.episode_return == e.length for e in episodes)


def test_env_steps_are_counted_exactly_and_carried_across_calls() -> None:
    evaluator = DQNEvaluator(config(num_envs=3, rollout_steps=40))
    assert evaluator.env_steps_per_sample() == 120
    total_rows = 0
    for _ in range(5):
        batch, _ = evaluator.sample()
        total_rows += len(batch)
    metrics = evaluator.get_metrics()
    assert metrics["env_steps"] == 600
    assert metrics["env_steps_per_s"] > 0 and metrics["epsilon"] == 1.0
    # No step is lost between calls: all but the pending (< n per env) became transitions.
    assert 600 - 3 * 2 <= total_rows <= 600


def test_priorities_are_abs_td_errors_of_the_evaluators_policy() -> None:
    evaluator = DQNEvaluator(config(compute_priorities=True))
    batch, _ = evaluator.sample()
    assert set(batch) == COLUMNS | {PRIORITIES}
    priorities = batch[PRIORITIES]
    assert priorities.shape == (len(batch),) and priorities.dtype == np.float32
    assert np.all(priorities >= 0) and np.all(np.isfinite(priorities))
    expected = np.abs(evaluator._policy.compute_td_error(batch))
    np.testing.assert_allclose(priorities, expected, rtol=1e-6)


def test_same_config_gives_the_same_samples_and_indices_differ() -> None:
    a, b = DQNEvaluator(config()), DQNEvaluator(config())
    other = DQNEvaluator(config(), index=1)
    b.set_weights({DEFAULT_POLICY_ID: a.get_weights()})
    other.set_weights({DEFAULT_POLICY_ID: a.get_weights()})
    batch_a, _ = a.sample()
    batch_b, _ = b.sample()
    batch_other, _ = other.sample()
    for key in COLUMNS:
        np.testing.assert_array_equal(batch_a[key], batch_b[key])
    assert not np.array_equal(batch_a["obs"][:10], batch_other["obs"][:10])


def test_epsilon_zero_acts_greedily_and_bad_epsilon_is_rejected() -> None:
    evaluator = DQNEvaluator(config(epsilon=0.3))
    evaluator.set_epsilon(0.0)
    batch, _ = evaluator.sample()
    greedy = evaluator._policy.act(batch["obs"], explore=False)
    np.testing.assert_array_equal(batch["actions"], greedy)
    with pytest.raises(ValueError, match="epsilon"):
        evaluator.set_epsilon(1.5)


def test_set_weights_loads_the_learners_weights() -> None:
    a, b = DQNEvaluator(config()), DQNEvaluator(config(), index=1)
    b.set_weights({DEFAULT_POLICY_ID: a.get_weights()})
    for key, value in a.get_weights().items():
        np.testing.assert_array_equal(b.get_weights()[key], value)


def test_evaluate_runs_one_greedy_episode_per_env_with_fresh_seeds() -> None:
    evaluator = DQNEvaluator(config())
    first = evaluator.evaluate(5)
    second = evaluator.evaluate(5)
    assert len(first) == 5 and all(e.length >= 8 for e in first)
    assert first != second  # each call draws new env seeds
    assert DQNEvaluator(config()).evaluate(5) == first  # ...from the evaluator's seed
    assert evaluator.get_metrics()["env_steps"] == 0  # training envs untouched
    evaluator.close()


def test_evaluate_with_a_seed_runs_the_episodes_of_that_seed() -> None:
    evaluator = DQNEvaluator(config())
    envs = make_env_batch("CartPole-v1", 5)
    expected = run_episodes(envs, lambda obs: evaluator._policy.act(obs, explore=False), seed=11)
    assert evaluator.evaluate(5, seed=11) == expected
    assert evaluator.evaluate(5, seed=11) == expected  # not a fresh draw: the seed decides
    assert evaluator.evaluate(5, seed=12) != expected
    evaluator.close()


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        config(num_envs=0)
    with pytest.raises(ValueError, match="gamma"):
        config(gamma=1.5)
    with pytest.raises(ValueError, match=r"EvaluatorConfig\.env must be"):
        config(env="")
    assert config(num_envs=4, rollout_steps=10).env_steps_per_sample == 40


def test_unknown_env_id_is_reported_with_close_matches() -> None:
    with pytest.raises(UnknownEnvError, match="CartPole-v1"):
        DQNEvaluator(config(env="CartPol-v1"))


def test_run_episodes_runs_exactly_one_episode_per_env() -> None:
    envs = make_env_batch("CartPole-v1", 4)
    stats = run_episodes(envs, lambda obs: np.zeros(len(obs), dtype=np.int64), seed=3)
    # Always pushing left ends a CartPole episode within a few dozen steps.
    assert len(stats) == 4 and all(8 <= s.length <= 60 for s in stats)
    assert all(s.episode_return == s.length for s in stats)
    again = run_episodes(envs, lambda obs: np.zeros(len(obs), dtype=np.int64), seed=3)
    assert again == stats


def test_run_episodes_steps_only_envs_whose_episode_is_running() -> None:
    # Env 0's episodes are cut after 2 steps, env 1 walks 6 to its goal: stepping every env
    # until the slower episode ended would take env 0 through two more episodes.
    envs = EnvBatch([CorridorEnv(7, max_steps=2), CorridorEnv(7)])
    steps = [0, 0]

    def count(env: CorridorEnv, i: int) -> None:
        interact = env.interact

        def counted(actions: Any) -> None:
            steps[i] += 1
            interact(actions)

        env.interact = counted  # type: ignore[method-assign]

    for i, env in enumerate(envs.envs):
        assert isinstance(env, CorridorEnv)
        count(env, i)
    stats = run_episodes(envs, lambda obs: np.ones(len(obs), dtype=np.int64), seed=0)
    assert stats == [EpisodeStats(0.0, 2), EpisodeStats(1.0, 6)]
    assert steps == [2, 6]


def test_run_episodes_gives_up_after_max_steps() -> None:
    envs = make_env_batch("CartPole-v1", 2)
    with pytest.raises(RuntimeError, match="still running after 3 steps"):
        run_episodes(envs, lambda obs: np.zeros(len(obs), dtype=np.int64), seed=0, max_steps=3)


def test_evaluator_runs_as_an_inline_actor() -> None:
    with Runtime("inline"):
        ref = spawn(DQNEvaluator, config(), index=0)
        ref.tell("set_epsilon", 0.5)
        batch, episodes = ref.ask(DQNEvaluator.sample).result(timeout=30)
        assert len(batch) >= 48 and isinstance(episodes, list)
        assert ref.ask("get_metrics").result(timeout=10)["epsilon"] == 0.5


class AlwaysRight:
    """A scripted acting policy: action 1, whatever it sees (what a frozen opponent or a
    policy server's client would be to an evaluator)."""

    def __init__(self) -> None:
        self.epsilon = 0.0
        self.weights: dict[str, np.ndarray] = {}
        self.calls = 0

    def set_epsilon(self, epsilon: float) -> None:
        self.epsilon = epsilon

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        self.calls += 1
        return np.ones(len(obs), dtype=np.int64)

    def compute_td_error(self, batch: Any) -> np.ndarray:
        return np.full(len(batch), 0.5, np.float32)

    def get_weights(self) -> dict[str, np.ndarray]:
        return self.weights

    def set_weights(self, weights: Any) -> None:
        self.weights = dict(weights)


@pytest.mark.parametrize("backend", ["inline", "process"])
def test_an_injected_policy_is_what_the_evaluator_acts_through(backend: str) -> None:
    from rlactors.evaluators import QActing

    assert isinstance(AlwaysRight(), QActing)
    with Runtime(backend):
        ref = spawn(DQNEvaluator, config(compute_priorities=True), index=0, policy=AlwaysRight())
        ref.tell("set_weights", {DEFAULT_POLICY_ID: {"w": np.arange(3.0)}})
        batch, _ = ref.ask(DQNEvaluator.sample).result(timeout=60)
        weights = ref.ask("get_weights").result(timeout=10)
        metrics = ref.ask("get_metrics").result(timeout=10)
    assert len(batch) >= 48 and set(np.unique(batch["actions"])) == {1}
    np.testing.assert_array_equal(batch[PRIORITIES], 0.5)  # its TD errors, not a Q-network's
    np.testing.assert_array_equal(weights["w"], np.arange(3.0))
    assert metrics["epsilon"] == 1.0  # config.epsilon, set on the injected policy
