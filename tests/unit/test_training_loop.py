"""TrainingLoop runs whatever a builder makes through the Optimizer interface alone.

A scripted optimizer (no actors) under DQN's policies: the loop's metrics, checkpoints and
session hand-over go through ``core.Optimizer``'s methods and nothing else, and policies are
kept by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from rlactors.algorithms.builder import PolicyEntry, PolicyMap
from rlactors.algorithms.dqn.algorithm import DQNBuilder
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlactors.core import DEFAULT_POLICY_ID, Optimizer


class ScriptedOptimizer(Optimizer):
    """100 env steps and one learner step a round; a replay of one array; its own counter."""

    made: ClassVar[list[ScriptedOptimizer]] = []

    def __init__(self) -> None:
        self.env_steps = self.learner_steps = self.rounds = 0
        self.loaded_state: dict[str, int] = {}
        self.loaded_replay: dict[str, np.ndarray] | None = None
        self.stopped = False
        self.limits: list[int | None] = []  # env_step_limit at each step
        ScriptedOptimizer.made.append(self)

    def step(self, *, last: bool = False) -> dict[str, Any]:
        self.limits.append(self.env_step_limit)
        # As an asynchronous optimizer's round: whole rollouts of 100 env steps that fit.
        room = 100 if self.env_step_limit is None else self.env_step_limit - self.env_steps
        steps = min(100, room) // 100 * 100
        self.env_steps += steps
        self.learner_steps += 1
        self.rounds += 1
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": steps,
            "env_step_limit_met": steps < 100,
            "learner_steps": self.learner_steps,
            "episode_returns": [10.0],
            "episode_lengths": [10],
            "sample_wait_s": 0.0,
            "learn_time_s": 0.0,
            "learners": {DEFAULT_POLICY_ID: {"loss": 0.5}},
            "metrics": {"rounds": self.rounds, "last": last},
        }

    def broadcast_weights(self) -> None:
        pass

    def state_dict(self) -> dict[str, int]:
        return {"env_steps": self.env_steps, "learner_steps": self.learner_steps,
                "rounds": self.rounds}  # fmt: skip

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.loaded_state = dict(state)
        self.env_steps = state.get("env_steps", 0)
        self.learner_steps = state.get("learner_steps", 0)
        self.rounds = state.get("rounds", 0)

    def replay_state(self) -> dict[str, np.ndarray]:
        return {"obs": np.arange(self.rounds, dtype=np.float32)}

    def load_replay_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.loaded_replay = dict(arrays)

    def stop(self) -> None:
        self.stopped = True


class ScriptedBuilder(DQNBuilder):
    """DQN's policies, the scripted optimizer."""

    def optimizer(self, policies: PolicyMap, env_steps: int) -> Optimizer:
        return ScriptedOptimizer()


class Scripted(TrainingLoop):
    name = "dqn"  # DQN's registry entry: its action spaces
    config_class = DQNConfig
    builder_class = ScriptedBuilder


def config(**overrides: Any) -> DQNConfig:
    fields: dict[str, Any] = {"hidden_sizes": (8,), "max_env_steps": 300, "eval_episodes": 2,
                              "num_envs_per_evaluator": 1, "rollout_steps": 100}  # fmt: skip
    return DQNConfig(**{**fields, **overrides})


def test_the_loop_reads_only_the_optimizer_interface() -> None:
    with Scripted(config()) as loop:
        rows = [loop.train_iter() for _ in range(3)]
    assert [r["env_steps"] for r in rows] == [100, 200, 300]
    assert rows[-1]["done"] and rows[-1]["last"] and not rows[0]["last"]
    # A learner's statistics by policy id, and at the top level for a single-policy run.
    assert rows[0]["policies"] == {DEFAULT_POLICY_ID: {"loss": 0.5}} and rows[0]["loss"] == 0.5
    assert rows[-1]["rounds"] == 3 and rows[-1]["episodes"] == 3
    assert ScriptedOptimizer.made[-1].stopped


def test_a_round_cut_short_by_the_env_step_limit_ends_training() -> None:
    # Rounds of 50 (so the loop's own check would start a fourth at 150 + 50 <= 199) of
    # which the optimizer can do only whole rollouts of 100 within the limit.
    with Scripted(config(max_env_steps=199, rollout_steps=50)) as loop:
        result = loop.train()
        assert loop.done
    optimizer = ScriptedOptimizer.made[-1]
    assert optimizer.limits == [199, 199]  # the loop hands the optimizer its budget
    assert result["env_steps"] == 100


def test_counters_and_replay_pass_from_a_checkpoint_to_the_next_sessions_optimizer(
    tmp_path: Path,
) -> None:
    with Scripted(config()) as loop:
        loop.train_iter()
        loop.train_iter()
        path = loop.save_checkpoint(tmp_path / "ckpt", include_replay=True)
    state = load_checkpoint(path).state
    assert set(state["policies"]) == {DEFAULT_POLICY_ID}
    assert state["optimizer"]["rounds"] == 2
    with Scripted(config(max_env_steps=1000)) as restored:
        restored.restore(path)
        row = restored.train_iter()
        optimizer = ScriptedOptimizer.made[-1]
    assert optimizer.loaded_state == {"env_steps": 200, "learner_steps": 2, "rounds": 2}
    assert optimizer.loaded_replay is not None
    np.testing.assert_array_equal(optimizer.loaded_replay["obs"], [0.0, 1.0])
    assert row["env_steps"] == 300 and row["rounds"] == 3


def test_replay_kept_at_stop_goes_to_the_next_session() -> None:
    with Scripted(config(max_env_steps=1000)) as loop:
        loop.train_iter()
        loop.stop()  # the session ends; the loop keeps the optimizer's counters and replay
        loop.train_iter()
        second = ScriptedOptimizer.made[-1]
    assert second.loaded_state["rounds"] == 1
    assert second.loaded_replay is not None and len(second.loaded_replay["obs"]) == 1


def test_a_checkpoint_from_before_policy_ids_loads(tmp_path: Path) -> None:
    with Scripted(config()) as loop:
        loop.train_iter()
        path = loop.save_checkpoint(tmp_path / "new")
        state = load_checkpoint(path).state
        weights = loop.policy.get_weights()
    # The layout of earlier checkpoints: one learner under "policy", no optimizer counters.
    old = {k: v for k, v in state.items() if k not in ("policies", "optimizer")}
    old["policy"] = state["policies"][DEFAULT_POLICY_ID]
    legacy = save_checkpoint(tmp_path / "old", algorithm="dqn", config=load_checkpoint(path).config,
                             state=old)  # fmt: skip
    with Scripted(config()) as restored:
        restored.restore(legacy)
        assert restored.env_steps == 100
        for key, value in weights.items():
            np.testing.assert_array_equal(restored.policy.get_weights()[key], value)


def test_a_checkpoint_of_other_policy_ids_is_refused(tmp_path: Path) -> None:
    with Scripted(config()) as loop:
        path = loop.save_checkpoint(tmp_path / "ckpt")
    with Scripted(config()) as other:
        other.policies = {"red": other.policies[DEFAULT_POLICY_ID]}
        with pytest.raises(CheckpointError, match=r"holds the policies \['default'\].*\['red'\]"):
            other.restore(path)


def test_policy_and_learner_name_the_ids_of_a_run_with_several() -> None:
    with Scripted(config()) as loop:
        entry = loop.policies[DEFAULT_POLICY_ID]
        assert loop.policy is entry.policy and loop.learner is entry.learner
        loop.policies = {"red": entry, "blue": PolicyEntry(entry.policy, entry.learner)}
        with pytest.raises(ValueError, match=r"\['blue', 'red'\]; pick one"):
            _ = loop.policy


def test_train_reports_each_iteration_and_each_evaluation() -> None:
    """Issue #15: from Python, train() told nothing; it takes per-iteration and
    per-evaluation callbacks (and the final evaluation of an unsolved run reaches the latter)."""
    iterations: list[dict[str, Any]] = []
    evaluations: list[dict[str, Any]] = []
    cfg = config(backend="inline", stop_reward=1e6, eval_interval_env_steps=200)
    with Scripted(cfg) as loop:
        result = loop.train(iterations.append, on_evaluation=evaluations.append)
    assert [m["env_steps"] for m in iterations] == [100, 200, 300]
    assert set(evaluations[0]) == {
        "iteration", "env_steps", "eval_return_mean", "eval_env_steps", "solved"
    }  # fmt: skip
    # The one due at 200 env steps, collected; then the final policy's, which result() reports.
    assert [e["eval_env_steps"] for e in evaluations] == [200, 300]
    assert evaluations[-1]["eval_return_mean"] == result["eval_return_mean"]
    assert not any(e["solved"] for e in evaluations)


def test_train_shows_progress_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    with Scripted(config(backend="inline")) as loop:
        loop.train()
    assert capsys.readouterr().out == ""  # a library prints nothing of its own accord
    with Scripted(config(backend="inline")) as loop:
        loop.train(progress=True)
    out = capsys.readouterr().out.splitlines()  # not a terminal: the plain lines
    assert out[0] == "training dqn CartPole-v1: budget 300 env steps"
    assert out[-2].startswith("env steps 300/300 (100%) | return 10.0 |")
    # The last iteration's line, then the evaluation of the final policy that result() reports.
    assert out[-1].startswith("greedy eval of the final policy (300 env steps): ")


def test_train_writes_the_run_directory_the_cli_writes(tmp_path: Path) -> None:
    """Issue #15: from Python, no metrics or curve were written; train(run_dir=) writes what
    `rlactors train` does, through the same RunRecorder, and `rlactors evaluate` reads it."""
    import json

    from rlactors.cli.commands import _load_run
    from rlactors.metrics import read_metrics
    from rlactors.run_checkpoints import CheckpointSchedule

    run = tmp_path / "run"
    schedule = CheckpointSchedule(every_iterations=1, every_s=None, keep=1)
    with Scripted(config(backend="inline")) as loop:
        loop.train(run_dir=run, checkpoints=schedule)
    header = json.loads((run / "config.json").read_text())
    assert header["algorithm"] == "dqn" and header["config"]["max_env_steps"] == 300
    assert header["checkpoints"]["every_iterations"] == 1
    assert [row["env_steps"] for row in read_metrics(run / "metrics.jsonl")] == [100, 200, 300]
    assert (run / "learning_curve.png").stat().st_size > 0
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["iteration-00000002"]
    restored = _load_run(str(run))  # what `rlactors evaluate RUN_DIR` loads
    assert isinstance(restored, TrainingLoop) and restored.env_steps == 300
    # A run directory is never reused silently.
    with Scripted(config(backend="inline")) as again:
        with pytest.raises(ValueError, match="holds a run already"):
            again.train(run_dir=run)
        with pytest.raises(ValueError, match="checkpoints= schedules run_dir"):
            again.train(checkpoints=schedule)


def test_save_writes_the_run_directory_that_restore_and_the_cli_read(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rlactors.metrics import read_metrics

    with Scripted(config(max_env_steps=1000)) as loop:
        rows = [loop.train_iter() for _ in range(3)]
        run = loop.save(tmp_path / "run")
    assert run == tmp_path / "run"
    saved = read_metrics(run / "metrics.jsonl")
    assert [r["env_steps"] for r in saved] == [r["env_steps"] for r in rows] == [100, 200, 300]
    assert (run / "learning_curve.png").stat().st_size > 0
    assert (run / "config.json").is_file() and load_checkpoint(run / "checkpoint").state
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("episode_return_mean")] == [100, 200, 300]
    # A run restored from it carries its rows on; saving again replaces the directory whole.
    with Scripted.from_checkpoint(run) as restored:
        assert restored.env_steps == 300 and len(restored.history) == 3
        restored.train_iter()
        restored.save(run)
    assert [r["env_steps"] for r in read_metrics(run / "metrics.jsonl")] == [100, 200, 300, 400]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left behind


def test_save_refuses_a_directory_of_other_files_and_leaves_them(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with Scripted(config()) as loop:
        loop.train_iter()
        with pytest.raises(ValueError, match=r"holds files no run wrote \(notes.txt\)"):
            loop.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_restore_from_a_bare_checkpoint_starts_an_empty_history(tmp_path: Path) -> None:
    with Scripted(config(max_env_steps=1000)) as loop:
        loop.train_iter()
        path = loop.save_checkpoint(tmp_path / "ckpt")
        loop.train_iter()
        loop.restore(path)
        assert len(loop.history) == 0
