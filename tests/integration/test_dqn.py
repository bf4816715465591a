"""DQN end to end on each backend, for a few hundred env steps: train, save, restore, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlactors.algorithms.dqn import DQN, DQNConfig

BACKENDS = ["inline", "process"]


def tiny(**overrides: Any) -> DQNConfig:
    """A DQN that does every part of its loop within a few hundred env steps."""
    fields: dict[str, Any] = {
        "env": "CartPole-v1",
        "seed": 0,
        "max_env_steps": 600,
        "rollout_steps": 100,
        "learning_starts_env_steps": 200,
        "train_steps_per_sample": 8,
        "batch_size": 16,
        "hidden_sizes": (16,),
        "eval_episodes": 3,
        "eval_interval_env_steps": 300,
        "target_update_period_learner_steps": 8,
        **overrides,
    }
    return DQNConfig(**fields)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_dqn_trains_saves_restores_and_evaluates(backend: str, tmp_path: Path) -> None:
    iterations: list[dict[str, Any]] = []
    with DQN(tiny(backend=backend, stop_reward=10_000.0)) as dqn:
        result = dqn.train(callback=iterations.append)
        saved = dqn.save(tmp_path / "ckpt", include_replay=True)
        weights = dqn.policy.get_weights()
    assert result["env_steps"] == 600 and len(iterations) == 6
    # Learning starts at 200 env steps: rounds 2..6 learn 8 steps each.
    assert result["learner_steps"] == 5 * 8
    assert result["episodes"] > 0 and result["episode_return_mean"] is not None
    assert result["eval_return_mean"] is not None and not result["solved"]
    assert result["env_steps_per_s"] > 0 and result["time_s"] > 0
    assert [m["env_steps"] for m in iterations] == [100, 200, 300, 400, 500, 600]
    assert iterations[0]["epsilon"] == 1.0 and iterations[-1]["epsilon"] < 1.0
    assert iterations[0]["loss"] is None and iterations[-1]["loss"] is not None
    assert iterations[-1]["done"] and not iterations[-2]["done"]
    # eval_interval 300 with stop_reward set (trigger fraction 0): evaluations at 300 and 600.
    assert [m["eval_return_mean"] is not None for m in iterations] == [
        False,
        False,
        True,
        False,
        False,
        True,
    ]

    restored = DQN.from_checkpoint(saved)
    with restored:
        for key, value in restored.policy.get_weights().items():
            np.testing.assert_array_equal(value, weights[key])
        assert restored.env_steps == 600 and restored.learner_steps == 40
        assert restored.episodes == result["episodes"]
        stats = restored.evaluate(episodes=2)
        assert stats["episodes"] == 2 and stats["eval_return_mean"] > 0
        assert restored.done  # the budget is spent


@pytest.mark.timeout(60)
def test_restored_run_continues_counters_and_replay(tmp_path: Path) -> None:
    with DQN(tiny(max_env_steps=300)) as dqn:
        dqn.train()
        dqn.save(tmp_path / "ckpt", include_replay=True)
    with DQN(tiny(max_env_steps=500)) as longer:
        longer.restore(tmp_path / "ckpt")
        assert longer.env_steps == 300
        metrics = longer.train_iter()
        assert metrics["env_steps"] == 400
        assert metrics["learner_steps"] == 2 * 8 + 8
        # Replay came back: 300 restored transitions (minus n-step tails) plus this round's.
        assert metrics["replay_size"] > 350
        assert metrics["epsilon"] == longer.builder.epsilon_schedule()(300)


@pytest.mark.timeout(60)
def test_inline_and_process_backends_learn_the_same_thing() -> None:
    """Same seed, same message order: the process backend reproduces the inline run bit for bit
    (one torch thread in the learner and in the evaluator process)."""
    weights = {}
    for backend in BACKENDS:
        with DQN(tiny(backend=backend, max_env_steps=400)) as dqn:
            dqn.train()
            weights[backend] = dqn.policy.get_weights()
    for key, value in weights["inline"].items():
        np.testing.assert_array_equal(weights["process"][key], value)


@pytest.mark.timeout(60)
def test_stop_reward_ends_training_early() -> None:
    with DQN(tiny(stop_reward=5.0, eval_interval_env_steps=100)) as dqn:
        result = dqn.train()
    # Any CartPole episode lasts more than 5 steps: the first evaluation solves it.
    assert result["solved"] and result["env_steps"] == 100
    assert result["eval_return_mean"] >= 5.0


@pytest.mark.timeout(60)
def test_prioritized_replay_with_several_evaluators_and_envs() -> None:
    config = tiny(
        prioritized_replay=True,
        num_evaluators=2,
        num_envs_per_evaluator=2,
        rollout_steps=25,
        max_env_steps=400,
    )
    with DQN(config) as dqn:
        metrics = [dqn.train_iter() for _ in range(4)]
    assert [m["env_steps"] for m in metrics] == [100, 200, 300, 400]
    assert metrics[-1]["learner_steps"] == 3 * 8 and metrics[-1]["loss"] is not None


def test_training_past_the_budget_is_refused() -> None:
    with DQN(tiny(max_env_steps=100)) as dqn:
        dqn.train_iter()
        with pytest.raises(RuntimeError, match="budget spent"):
            dqn.train_iter()


@pytest.mark.timeout(120)
def test_an_evaluator_killed_mid_run_is_restarted_and_the_run_goes_on() -> None:
    """DQN's evaluators are a supervised WorkerGroup, as every optimizer's are: before, one
    killed process ended the run with ActorDiedError."""
    import time

    from rlactors.actors import kill

    with DQN(tiny(backend="process", num_evaluators=2, max_env_steps=100_000)) as dqn:
        dqn.train_iter()
        group = dqn._optimizer.group  # type: ignore[union-attr]
        kill(group.refs[0])
        deadline = time.monotonic() + 60.0
        rows = []
        while group.restarts < 1 or len(rows) < 3:
            assert time.monotonic() < deadline, "the killed evaluator was not restarted"
            rows.append(dqn.train_iter())
    assert group.restarts == 1 and rows[-1]["worker_restarts"] == 1
    assert rows[-1]["env_steps"] > rows[0]["env_steps"]
