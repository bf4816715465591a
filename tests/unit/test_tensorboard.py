"""A run's TensorBoard event files hold every scalar of its ``metrics.jsonl`` (issue #15), read
back as TensorBoard reads them, and a resumed run's hold no stale or duplicated step."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from rlactors.cli.main import main
from rlactors.metrics import MetricsWriter, TensorBoardWriter, read_metrics, scalar_tags
from rlactors.metrics.tensorboard import EVENT_FILES, MISSING_WARNING

#: Ape-X in two 200-step iterations on the inline backend, learning from the first: rows with
#: per-policy losses and per-worker epsilons (about a second).
TINY_APEX = [
    "train", "apex", "--env", "CartPole-v1", "--backend", "inline", "-q", "--workers", "2",
    "--rollout-steps", "25", "--iteration-env-steps", "200", "--max-env-steps", "400",
    "--learning-starts-transitions", "50", "--batch-size", "16", "--hidden-sizes", "16",
    "--eval-episodes", "2", "--eval-interval-env-steps", "200", "--stop-reward", "10000",
]  # fmt: skip
#: DQN in four 100-step iterations (as tests/integration/test_dqn_cli.py's).
TINY_DQN = [
    "train", "dqn", "--env", "CartPole-v1", "--backend", "inline", "-q",
    "--max-env-steps", "400", "--rollout-steps", "100", "--learning-starts-env-steps", "200",
    "--train-steps-per-sample", "4", "--batch-size", "16", "--hidden-sizes", "16",
    "--eval-episodes", "2", "--stop-reward", "10000",
]  # fmt: skip


def accumulate(logdir: Path) -> EventAccumulator:
    """The event files of ``logdir`` as TensorBoard loads them, every point kept."""
    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def scalar_points(logdir: Path) -> dict[str, dict[int, float]]:
    """``{tag: {step: value}}`` of every scalar in ``logdir``."""
    accumulator = accumulate(logdir)
    return {
        tag: {event.step: event.value for event in accumulator.Scalars(tag)}
        for tag in accumulator.Tags()["scalars"]
    }


def expected_points(rows: list[dict[str, Any]]) -> dict[str, dict[int, float]]:
    """What :func:`scalar_points` must read for ``rows``: every scalar tag at its row's
    ``env_steps``."""
    points: dict[str, dict[int, float]] = {}
    for row in rows:
        for tag, value in scalar_tags(row).items():
            points.setdefault(tag, {})[row["env_steps"]] = value
    return points


def assert_points_equal(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert sorted(actual) == sorted(expected)
    for tag, by_step in expected.items():
        assert sorted(actual[tag]) == sorted(by_step), tag
        for step, value in by_step.items():
            # Event files hold float32.
            assert actual[tag][step] == pytest.approx(value, rel=1e-6, abs=1e-30), (tag, step)


def summary_steps(logdir: Path) -> list[int]:
    """The step of every event that holds a row (its ``env_steps``), file by file in
    TensorBoard's order."""
    steps = []
    for path in sorted(logdir.glob(EVENT_FILES)):
        for event in EventFileLoader(str(path)).Load():
            if any(value.tag == "env_steps" for value in event.summary.value):
                steps.append(event.step)
    return steps


def test_scalar_tags_flatten_policies_and_workers_and_leave_out_the_rest() -> None:
    row = {
        "iteration": 3,
        "env_steps": 600,
        "loss": None,
        "solved": False,
        "episode_returns": [9.0, 10.0, 12.0],
        "policies": {"default": {"loss": 0.5, "q_mean": None}, "opponent": {"loss": 1.5}},
        "worker_epsilons": [0.4, 0.01],
        "league_results": {"snap-1": {"win": 2, "draw": 0, "loss": 1}},
        "backend": "inline",
    }
    assert scalar_tags(row) == {
        "iteration": 3.0,
        "env_steps": 600.0,
        "solved": 0.0,
        "policies/default/loss": 0.5,
        "policies/opponent/loss": 1.5,
        "worker_epsilons/0": 0.4,
        "worker_epsilons/1": 0.01,
        "league_results/snap-1/win": 2.0,
        "league_results/snap-1/draw": 0.0,
        "league_results/snap-1/loss": 1.0,
    }


@pytest.mark.timeout(60)
def test_a_runs_event_files_hold_every_scalar_of_its_metrics(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main([*TINY_APEX, "--run-dir", str(run_dir)]) == 0
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert len(rows) == 2
    actual = scalar_points(run_dir / "tensorboard")
    assert_points_equal(actual, expected_points(rows))
    # Independently of scalar_tags: every number at the top of a row is there, at its step.
    for row in rows:
        numbers = {k: float(v) for k, v in row.items() if isinstance(v, int | float)}
        assert {k: actual[k][row["env_steps"]] for k in numbers} == pytest.approx(numbers)
    # The flattening the users see: per policy, per worker, env steps as the step.
    assert {"policies/default/loss", "worker_epsilons/0", "worker_epsilons/1"} <= set(actual)
    assert actual["policies/default/loss"] and actual["eval_return_mean"]
    assert sorted(actual["env_steps"]) == [row["env_steps"] for row in rows]

    accumulator = accumulate(run_dir / "tensorboard")
    config_text = accumulator.Tensors("config/text_summary")[0].tensor_proto.string_val[0]
    assert b'"algorithm": "apex"' in config_text and b'"num_workers": 2' in config_text
    assert "_hparams_/session_start_info" in accumulator.summary_metadata


@pytest.mark.timeout(60)
def test_a_resumed_run_rewrites_its_event_files_without_stale_or_duplicate_steps(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    argv = [*TINY_DQN, "--run-dir", str(run_dir)]
    assert main([*argv, "--checkpoint-every", "2"]) == 0
    before = read_metrics(run_dir / "metrics.jsonl")
    # As if killed after iteration 4 was written, before the final checkpoint: the resumed run
    # trains iterations 3 and 4 again (with other timings, at least).
    shutil.rmtree(run_dir / "checkpoint")
    assert summary_steps(run_dir / "tensorboard") == [100, 200, 300, 400]

    assert main(["train", "--resume", str(run_dir), "-q"]) == 0
    rows = read_metrics(run_dir / "metrics.jsonl")
    assert [r["env_steps"] for r in rows] == [100, 200, 300, 400]
    assert rows[:2] == before[:2] and rows[2:] != before[2:]
    # Every step once, in one file (the old one would keep iterations 3 and 4 for a reader that
    # does not purge), and every value the resumed metrics.jsonl's.
    assert len(list((run_dir / "tensorboard").glob(EVENT_FILES))) == 1
    assert summary_steps(run_dir / "tensorboard") == [100, 200, 300, 400]
    assert_points_equal(scalar_points(run_dir / "tensorboard"), expected_points(rows))


def test_the_writer_writes_the_rows_it_is_given_first_and_replaces_old_event_files(
    tmp_path: Path,
) -> None:
    logdir = tmp_path / "tb"
    first = [{"env_steps": 10 * i, "loss": float(i), "time_s": 0.1 * i} for i in range(1, 4)]
    with TensorBoardWriter(logdir) as writer:
        writer.write_rows(first)
    assert summary_steps(logdir) == [10, 20, 30]
    # A later session that kept the first two rows and goes on from there.
    with TensorBoardWriter(logdir, rows=first[:2]) as writer:
        writer.write({"env_steps": 30, "loss": 9.0, "time_s": 0.5})
        with pytest.raises(ValueError, match="closed"):
            writer.close()
            writer.write(first[0])
    assert summary_steps(logdir) == [10, 20, 30]
    assert scalar_points(logdir)["loss"] == {10: 1.0, 20: 2.0, 30: 9.0}
    # Wall times follow the training time of the rows: the later session continues the first.
    walltimes = [event.wall_time for event in accumulate(logdir).Scalars("loss")]
    assert walltimes[2] - walltimes[1] == pytest.approx(0.3, abs=0.05)


def test_without_tensorboard_the_metrics_are_written_and_one_warning_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # None in sys.modules makes the import fail as a missing package does.
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto.summary_pb2", None)
    with (
        caplog.at_level(logging.WARNING, logger="rlactors.metrics"),
        MetricsWriter(tmp_path / "metrics.jsonl", tensorboard_dir=tmp_path / "tb") as writer,
    ):
        writer.write({"env_steps": 1, "loss": 0.5})
    assert read_metrics(tmp_path / "metrics.jsonl") == [{"env_steps": 1, "loss": 0.5}]
    assert not list(tmp_path.glob(f"tb/{EVENT_FILES}"))
    assert [r.getMessage() for r in caplog.records] == [MISSING_WARNING]
    assert "rlactors[tensorboard]" in MISSING_WARNING and "\n" not in MISSING_WARNING
