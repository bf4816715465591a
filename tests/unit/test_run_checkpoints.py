"""A run's periodic checkpoints: the schedule, the rotation, the best one, and which resumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rlactors.checkpoint import save_checkpoint
from rlactors.run_checkpoints import (
    CheckpointSchedule,
    PeriodicCheckpoints,
    latest_checkpoint,
    parse_checkpoint_every,
    periodic_checkpoints,
)


class FakeLoop:
    """Saves what a TrainingLoop would, minus the weights: the counters of its iteration."""

    def __init__(self) -> None:
        self.iteration = 0
        self.saved: list[tuple[str, bool]] = []

    def save_checkpoint(self, path: str | Path, *, include_replay: bool = False) -> Path:
        self.saved.append((Path(path).name, include_replay))
        return save_checkpoint(
            path, algorithm="fake", config={}, state={"counters": {"iteration": self.iteration}}
        )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def metrics(iteration: int, **extra: Any) -> dict[str, Any]:
    return {"iteration": iteration, "env_steps": 100 * iteration, "done": False, **extra}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50", (50, None)),
        ("30s", (None, 30.0)),
        ("5m", (None, 300.0)),
        ("5min", (None, 300.0)),
        ("1.5h", (None, 5400.0)),
        ("off", (None, None)),
        ("0", (None, None)),
    ],
)
def test_checkpoint_every_takes_iterations_or_a_time(
    text: str, expected: tuple[int | None, float | None]
) -> None:
    assert parse_checkpoint_every(text) == expected


@pytest.mark.parametrize("text", ["5x", "-3", "m", "0s", "1.5", ""])
def test_checkpoint_every_rejects_anything_else_saying_what_it_takes(text: str) -> None:
    with pytest.raises(ValueError, match=r"iterations \(50\), a time \(30s, 5m, 1h\) or off"):
        parse_checkpoint_every(text)


def test_the_schedule_checks_its_fields() -> None:
    with pytest.raises(ValueError, match=r"CheckpointSchedule\.keep must be >= 1"):
        CheckpointSchedule(keep=0)
    with pytest.raises(ValueError, match=r"CheckpointSchedule\.every_s must be > 0"):
        CheckpointSchedule(every_s=0.0)
    with pytest.raises(ValueError, match=r"CheckpointSchedule\.every_iterations must be >= 1"):
        CheckpointSchedule(every_iterations=0)


def test_every_n_iterations_keeps_the_newest_k(tmp_path: Path) -> None:
    loop = FakeLoop()
    schedule = CheckpointSchedule(every_iterations=2, every_s=None, keep=2, include_replay=True)
    checkpoints = PeriodicCheckpoints(tmp_path, schedule)
    for i in range(1, 8):
        loop.iteration = i
        checkpoints.after_iteration(loop, metrics(i))
    assert [p.name for p in periodic_checkpoints(tmp_path)] == [
        "iteration-00000004",
        "iteration-00000006",
    ]
    assert loop.saved[-1] == (".tmp-iteration-00000006", True)  # written aside, then renamed
    # No half-written directory is left beside them.
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "iteration-00000004",
        "iteration-00000006",
    ]


def test_every_t_seconds_counts_from_the_last_checkpoint(tmp_path: Path) -> None:
    loop, clock = FakeLoop(), Clock()
    checkpoints = PeriodicCheckpoints(tmp_path, CheckpointSchedule(every_s=60.0), clock=clock)
    taken = []
    for i, now in enumerate([10.0, 59.0, 61.0, 100.0, 125.0], start=1):
        clock.now = now
        if checkpoints.after_iteration(loop, metrics(i)):
            taken.append(i)
    assert taken == [3, 5]  # at 61 s, then 60 s after that


def test_the_last_iteration_is_left_to_the_final_checkpoint(tmp_path: Path) -> None:
    checkpoints = PeriodicCheckpoints(tmp_path, CheckpointSchedule(every_iterations=1))
    assert checkpoints.after_iteration(FakeLoop(), metrics(1, done=True)) == []


def test_the_best_checkpoint_follows_the_highest_evaluation_and_outlives_the_rotation(
    tmp_path: Path,
) -> None:
    loop = FakeLoop()
    schedule = CheckpointSchedule(every_iterations=1, every_s=None, keep=1)
    checkpoints = PeriodicCheckpoints(tmp_path, schedule)
    for i, eval_return in enumerate([None, 20.0, None, 15.0, 30.0, 25.0], start=1):
        loop.iteration = i
        checkpoints.after_iteration(
            loop, metrics(i, eval_return_mean=eval_return, eval_env_steps=100 * i - 50)
        )
    best = tmp_path / "checkpoints" / "best"
    assert json.loads((best / "eval.json").read_text()) == {
        "iteration": 5,
        "env_steps": 500,
        "eval_return_mean": 30.0,
        "eval_env_steps": 450,
    }
    assert ("best", False) not in loop.saved  # written aside, never with replay
    assert (".tmp-best", False) in loop.saved
    assert [p.name for p in periodic_checkpoints(tmp_path)] == ["iteration-00000006"]
    # A resumed run keeps the score to beat.
    again = PeriodicCheckpoints(tmp_path, schedule)
    assert again.best_return == 30.0
    assert again.after_iteration(loop, metrics(7, eval_return_mean=29.0)) == [
        tmp_path / "checkpoints" / "iteration-00000007"
    ]


def test_a_write_killed_half_way_is_cleaned_up_by_the_next_run(tmp_path: Path) -> None:
    root = tmp_path / "checkpoints"
    (root / ".tmp-iteration-00000009").mkdir(parents=True)  # killed while writing
    (root / ".old-best").mkdir()  # killed between moving the old best aside and the new in
    (root / ".old-best" / "eval.json").write_text('{"eval_return_mean": 12.0}')
    checkpoints = PeriodicCheckpoints(tmp_path, CheckpointSchedule())
    assert sorted(p.name for p in root.iterdir()) == ["best"]
    assert checkpoints.best_return == 12.0


def test_resume_takes_the_checkpoint_of_the_highest_iteration_final_included(
    tmp_path: Path,
) -> None:
    assert latest_checkpoint(tmp_path) is None
    loop = FakeLoop()
    checkpoints = PeriodicCheckpoints(tmp_path, CheckpointSchedule(every_iterations=5))
    for i in (5, 10):
        loop.iteration = i
        checkpoints.after_iteration(loop, metrics(i))
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "iteration-00000010"
    loop.iteration = 12  # the run ended at iteration 12
    loop.save_checkpoint(tmp_path / "checkpoint")
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint"
    loop.iteration = 15  # ... was resumed with a larger budget and killed after iteration 15
    checkpoints.after_iteration(loop, metrics(15))
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "iteration-00000015"
