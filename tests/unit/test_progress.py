"""The training progress display (issue #15): fields dropped whole to fit the terminal, a time
left from the recent rate, and the real display at 80 and 160 columns in tmux."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rich.console import Console

import rlactors
from rlactors.progress import RecentRate, TrainingProgress, _Line

#: One field of the live line, whole: a number always with its label or unit.
_NUMBER = r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?"
_TIME = r"\d+:\d\d:\d\d"
FIELD = (
    rf"(?:dqn CartPole-v1|━+|{_NUMBER}/{_NUMBER}(?: env steps)?|return (?:-|{_NUMBER})"
    rf"|(?:greedy )?eval (?:-|{_NUMBER})|(?:-|{_NUMBER}) (?:env )?steps/s"
    rf"|(?:elapsed )?{_TIME}|left (?:-|{_TIME}))"
)
LINE = re.compile(rf"{FIELD}(?: {FIELD})*")


def fields_of(line: str) -> list[str]:
    """The fields of a live line, each whole (the line is nothing but whole fields)."""
    assert "…" not in line
    assert LINE.fullmatch(line), f"not whole fields: {line!r}"
    return [m.group(0) for m in re.finditer(FIELD, line)]


def display_at(width: int, steps: int) -> list[str]:
    """The live line at ``width`` columns, as rich renders it."""
    progress = TrainingProgress(50_000, "dqn CartPole-v1", quiet=True)
    progress.update({"env_steps": steps, "episode_return_mean": 123.4, "time_s": 12.0,
                     "eval_return_mean": 500.0})  # fmt: skip
    console = Console(width=width, color_system=None)
    with console.capture() as capture:
        console.print(_Line(progress))
    return capture.get().rstrip("\n").splitlines()


@pytest.mark.parametrize("width", [40, 60, 80, 100, 160])
def test_fields_are_dropped_whole_by_priority(width: int) -> None:
    (line,) = display_at(width, 12_345)
    assert len(line) <= width
    shown = fields_of(line)
    assert next(f for f in shown if f[0].isdigit()).startswith("12,345/50,000")
    assert "return 123.4" in shown
    if width >= 60:
        assert any(f.endswith("eval 500.0") for f in shown)
    if width >= 80:  # the bar, the speed and the time left stay at 80 columns
        assert any(f[0] == "━" for f in shown) and any(f.startswith("left ") for f in shown)
        assert any(f.endswith("steps/s") for f in shown)
    if width >= 160:
        assert shown[0] == "dqn CartPole-v1" and "12,345/50,000 env steps" in shown


def test_the_rate_is_the_recent_one_and_one_slow_iteration_moves_it_little() -> None:
    rate = RecentRate(window_s=30.0)
    now, steps = 0.0, 0
    for _ in range(10):  # the first seconds: actors starting, 100 env steps/s
        now, steps = now + 1.0, steps + 100
        rate.add(now, steps)
    for _ in range(600):  # then 1000 env steps/s, iterations of 0.1 s
        now, steps = now + 0.1, steps + 100
        rate.add(now, steps)
    assert rate.rate == pytest.approx(1000.0, rel=0.01)  # not the first seconds' rate
    now += 2.0  # one iteration that waited 2 s (an evaluation, a slow worker)
    rate.add(now, steps + 100)
    assert rate.rate == pytest.approx(1000.0 * 30 / 32, rel=0.02)  # its share, not 50/s


def test_the_time_left_counts_down_between_iterations() -> None:
    progress = TrainingProgress(10_000, "t")
    assert progress.time_left_s(0.0) is None
    progress._rate.add(0.0, 0)  # the first iteration's end
    progress.update({"env_steps": 1000})
    t = progress._updated_at
    assert t is not None and progress.rate is not None
    left = progress.time_left_s(t)
    assert left == pytest.approx(9000 / progress.rate)
    assert progress.time_left_s(t + 1.0) == pytest.approx(left - 1.0)


def test_plain_lines_when_stdout_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with TrainingProgress(1000, "dqn CartPole-v1", interval_s=3600) as progress:
        progress.update({"env_steps": 100, "episode_return_mean": 20.0})
        progress.update({"env_steps": 200, "episode_return_mean": 21.0})  # within interval_s
        progress.update({"env_steps": 1000, "episode_return_mean": 30.0, "done": True})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "training dqn CartPole-v1: budget 1000 env steps"
    assert [line.split(" | ")[0] for line in lines[1:]] == [
        "env steps 100/1000 (10%)",
        "env steps 1000/1000 (100%)",
    ]


def test_plain_lines_show_the_confirming_and_the_final_evaluation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with TrainingProgress(1000, "dqn CartPole-v1", interval_s=3600) as progress:
        confirmed = {"final_eval_return_mean": 470.5, "final_eval_episodes": 100}
        progress.update({"env_steps": 100, "eval_return_mean": 480.0, **confirmed})
        progress.update({"env_steps": 1000, "episode_return_mean": 30.0, "done": True})
        progress.show_evaluation({"env_steps": 1000, "eval_return_mean": 450.25})
    lines = capsys.readouterr().out.splitlines()
    assert "greedy eval 480.0 | confirmed 470.5 over 100 episodes" in lines[1]
    assert lines[-1] == "greedy eval of the final policy (1000 env steps): 450.2"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.timeout(120)
@pytest.mark.parametrize("width", [80, 160])
def test_the_live_display_in_a_real_terminal_shows_whole_fields(width: int, tmp_path: Path) -> None:
    """Issue #15: at 80 columns the bar disappeared and fields were cut (``eval 500…``)."""
    socket = f"rlactors-test-{uuid.uuid4().hex[:8]}"
    src = Path(rlactors.__file__).resolve().parents[1]
    command = (
        f"cd {tmp_path} && env -u COLUMNS -u LINES PYTHONPATH={src} {sys.executable} -m "
        "rlactors.cli.main train dqn --env CartPole-v1 --max-env-steps 1500 --backend inline "
        "--no-preset "  # the display alone: no preset line above it
        f"--run-dir {tmp_path / 'run'}; tmux -L {socket} wait-for -S done; sleep 60"
    )
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    try:
        subprocess.run(
            [*tmux, "new-session", "-d", "-x", str(width), "-y", "24", command],
            check=True,
            timeout=10,
        )
        subprocess.run([*tmux, "wait-for", "done"], check=True, timeout=100)
        pane = subprocess.run(
            [*tmux, "capture-pane", "-p"], check=True, timeout=10, capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], timeout=10, check=False, capture_output=True)
    line = pane.splitlines()[0].rstrip()
    assert len(line) <= width, pane
    shown = fields_of(line)
    assert any(f[0] == "━" for f in shown)  # the bar, at 80 columns too
    assert any(f.startswith("return ") for f in shown) and any("eval " in f for f in shown)
    assert any(f.endswith("steps/s") for f in shown) and shown[-1].startswith("left ")
    if width == 160:
        assert shown[0] == "dqn CartPole-v1" and any(f.startswith("elapsed ") for f in shown)
    assert "not solved after" in pane  # the run ended, and its summary follows the line
