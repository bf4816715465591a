"""Run directories, the JSON Lines writer and reader, and the learning-curve PNG."""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rlactors.metrics import (
    LearningCurve,
    MetricsWriter,
    clear_run,
    make_run_dir,
    plot_learning_curve,
    read_metrics,
    run_dir_name,
    run_entries,
    to_jsonable,
    truncate_metrics,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_run_dir_name_is_algo_env_timestamp_and_file_name_safe() -> None:
    stamp = time.mktime((2025, 1, 2, 3, 4, 5, 0, 0, -1))
    assert run_dir_name("dqn", "CartPole-v1", stamp) == "dqn-CartPole-v1-20250102-030405"
    assert run_dir_name("dqn", "ALE/Pong-v5", stamp).startswith("dqn-ALE_Pong-v5-")


def test_make_run_dir_never_reuses_a_directory(tmp_path: Path) -> None:
    first = make_run_dir("dqn", "CartPole-v1", root=tmp_path, timestamp=0.0)
    second = make_run_dir("dqn", "CartPole-v1", root=tmp_path, timestamp=0.0)
    assert first.is_dir() and second.is_dir() and first != second
    assert second.name == first.name + "-2"


def test_make_run_dir_with_an_explicit_path(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b"
    assert make_run_dir("dqn", "x", path=path) == path and path.is_dir()
    assert make_run_dir("dqn", "x", path=path) == path  # existing is fine


def test_writer_writes_one_strict_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "m" / "metrics.jsonl"
    with MetricsWriter(path) as writer:
        writer.write({"env_steps": np.int64(5), "loss": np.float32(0.5), "returns": [1.0, 2.0]})
        writer.write({"env_steps": 10, "loss": math.nan, "q": math.inf, "a": np.arange(2)})
        # Flushed at once: a reader sees it while the run goes on.
        assert len(path.read_text().splitlines()) == 2
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"env_steps": 5, "loss": 0.5, "returns": [1.0, 2.0]}
    assert json.loads(lines[1]) == {"env_steps": 10, "loss": None, "q": None, "a": [0, 1]}
    assert "NaN" not in lines[1] and "Infinity" not in lines[1]
    with pytest.raises(ValueError, match="closed"):
        writer.write({})


def test_writer_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    for i in range(2):
        with MetricsWriter(path) as writer:
            writer.write({"i": i})
    assert read_metrics(path) == [{"i": 0}, {"i": 1}]


def test_read_metrics_skips_a_truncated_last_line_only(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": ')
    assert read_metrics(path) == [{"a": 1}, {"a": 2}]
    path.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_metrics(path)


def test_to_jsonable_handles_nested_numpy_and_unknown_objects() -> None:
    value = {"a": (np.float64(1.5), {"b": np.bool_(True)}), 3: Path("x")}
    assert to_jsonable(value) == {"a": [1.5, {"b": True}], "3": "x"}


def test_learning_curve_is_a_png(tmp_path: Path) -> None:
    records = [
        {"env_steps": 100 * i, "episode_return_mean": float(i), "eval_return_mean": None}
        for i in range(1, 20)
    ]
    records[-1]["eval_return_mean"] = 30.0
    records[0]["episode_return_mean"] = None  # no episode finished yet
    path = plot_learning_curve(records, tmp_path / "curve.png", title="t", stop_reward=25.0)
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_learning_curve_of_an_empty_run_is_still_a_png(tmp_path: Path) -> None:
    path = plot_learning_curve([], tmp_path / "curve.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_learning_curve_points_stay_bounded_and_evenly_spaced() -> None:
    """Regression (issue #14's soak): `rlactors train` kept every metrics row in memory for
    the curve, ~4 KB an iteration for as long as the run lasts; it keeps these points now."""
    curve = LearningCurve(max_points=64)
    for i in range(100_000):
        curve.add(
            {
                "env_steps": 500 * i,
                "episode_return_mean": None if i == 0 else float(i),
                "eval_return_mean": float(i) if i % 10 == 0 else None,
                "episode_returns": [1.0] * 10,  # not kept
            }
        )
    train = [r for r in curve.records() if "episode_return_mean" in r]
    evals = [r for r in curve.records() if "eval_return_mean" in r]
    assert len(curve) <= 2 * 64 and len(train) <= 65 and len(evals) <= 65
    assert len(train) >= 32 and len(evals) >= 32  # halved at most once past the limit
    xs = [r["env_steps"] for r in train]
    assert xs[0] == 500 and xs[-1] == 500 * 99_999  # the first and the latest
    steps = {b - a for a, b in itertools.pairwise(xs[:-1])}
    assert len(steps) == 1  # evenly spaced (but for the latest, always drawn)
    assert evals[0]["env_steps"] == 0 and evals[-1]["env_steps"] == 500 * 99_990
    assert set(train[0]) == {"env_steps", "episode_return_mean"}


def test_learning_curve_below_its_limit_keeps_every_point(tmp_path: Path) -> None:
    rows = [{"env_steps": i, "episode_return_mean": float(i)} for i in range(10)]
    curve = LearningCurve()
    curve.extend(rows)
    assert curve.records() == rows
    plot_learning_curve(curve.records(), tmp_path / "curve.png")
    with pytest.raises(ValueError, match="max_points"):
        LearningCurve(max_points=1)


def test_plotting_leaves_pyplot_alone(tmp_path: Path) -> None:
    """The plot uses an Agg canvas directly, so a program's pyplot backend is its own."""
    had_pyplot = "matplotlib.pyplot" in sys.modules
    plot_learning_curve([{"env_steps": 1, "episode_return_mean": 1.0}], tmp_path / "c.png")
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def test_truncate_metrics_keeps_the_rows_up_to_a_checkpoint_atomically(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    with MetricsWriter(path) as writer:
        for i in range(1, 6):
            writer.write({"iteration": i, "env_steps": 10 * i})
    with path.open("a") as f:
        f.write('{"iteration": 6, "env_st')  # killed mid-write
    kept, dropped = truncate_metrics(path, 3)
    assert [r["iteration"] for r in kept] == [1, 2, 3] and dropped == 2
    assert [r["iteration"] for r in read_metrics(path)] == [1, 2, 3]
    assert path.read_text().endswith("}\n")  # whole lines: the next row starts on its own
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]  # no temp file left
    assert truncate_metrics(tmp_path / "missing.jsonl", 3) == ([], 0)


def test_run_entries_and_clear_run_touch_only_what_a_run_wrote(tmp_path: Path) -> None:
    assert run_entries(tmp_path) == [] and run_entries(tmp_path / "missing") == []
    (tmp_path / "notes.txt").write_text("mine")
    assert run_entries(tmp_path) == []
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "metrics.jsonl").write_text("")
    (tmp_path / "checkpoints" / "best").mkdir(parents=True)
    assert run_entries(tmp_path) == ["config.json", "metrics.jsonl", "checkpoints"]
    assert clear_run(tmp_path) == ["config.json", "metrics.jsonl", "checkpoints"]
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_self_play_runs_league_rating_is_kept_and_drawn(tmp_path: Path) -> None:
    curve = LearningCurve(max_points=8)
    for i in range(20):
        curve.add({"env_steps": i, "episode_return_mean": 0.0, "league_rating": 1000.0 + i})
    ratings = [r["league_rating"] for r in curve.records() if "league_rating" in r]
    assert ratings[-1] == 1019.0 and len(ratings) <= 9
    plain, rated = tmp_path / "plain.png", tmp_path / "rated.png"
    rows = [{"env_steps": i, "episode_return_mean": 0.0} for i in range(5)]
    plot_learning_curve(rows, plain)
    plot_learning_curve([{**r, "league_rating": 1000.0 + r["env_steps"]} for r in rows], rated)
    # The rating adds a second axis and a line: a different, larger picture.
    assert rated.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rated.stat().st_size > plain.stat().st_size
