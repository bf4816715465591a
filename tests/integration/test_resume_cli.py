"""A run killed with kill -9 continues with ``rlactors train --resume`` (issue #14).

The CLI runs as a user runs it, in a process of its own on the process backend; once its first
periodic checkpoint is in place it is killed with SIGKILL (no handler runs, no final
checkpoint), and the resumed run must take up its counters, its replay and its metrics file
from that checkpoint: one row per iteration, env steps strictly increasing, no duplicates.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rlactors.checkpoint import load_checkpoint
from rlactors.cli.main import main
from rlactors.metrics import read_metrics
from rlactors.run_checkpoints import periodic_checkpoints

RLACTORS = [sys.executable, "-m", "rlactors.cli.main"]

#: Ape-X in 200-step iterations, learning little (a few seconds); the checkpoints hold its
#: replay.
APEX = [
    "apex", "--workers", "2", "--num-envs-per-worker", "2", "--rollout-steps", "25",
    "--max-env-steps", "2400", "--iteration-env-steps", "200",
    "--learning-starts-transitions", "300", "--batch-size", "32", "--hidden-sizes", "16",
    "--replay-ratio", "0.5", "--eval-episodes", "2", "--eval-interval-env-steps", "1000",
    "--stop-reward", "10000", "--checkpoint-replay",
]  # fmt: skip
#: PPO in 64-step iterations (2 workers x 2 envs x 16 steps).
PPO = [
    "ppo", "--workers", "2", "--num-envs-per-worker", "2", "--rollout-steps", "16",
    "--max-env-steps", "2560", "--num-epochs", "2", "--minibatch-size", "32",
    "--hidden-sizes", "16", "--eval-episodes", "2", "--eval-interval-env-steps", "640",
    "--stop-reward", "10000",
]  # fmt: skip


def start_and_kill_after_first_checkpoint(run_dir: Path, argv: list[str]) -> None:
    """Start ``rlactors train`` in a process of its own; SIGKILL it once a periodic checkpoint
    is in place, and wait until every process it started is gone."""
    command = [*RLACTORS, "train", *argv, "--backend", "process", "--run-dir", str(run_dir)]
    proc = subprocess.Popen(
        [*command, "--checkpoint-every", "3", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its actors share its process group: we can see them go
    )
    try:
        deadline = time.monotonic() + 60.0
        while not periodic_checkpoints(run_dir):
            if proc.poll() is not None:
                assert proc.stderr is not None
                pytest.fail(f"the run ended before its first checkpoint: {proc.stderr.read()!r}")
            if time.monotonic() > deadline:
                pytest.fail("no periodic checkpoint within 60 s")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10.0) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10.0)
        assert proc.stderr is not None
        proc.stderr.close()
    # No actor process (nor the fork server) outlives the killed driver.
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the killed run were still alive 10 s after it")
    assert not (run_dir / "checkpoint").exists(), "killed too late: the run had ended"


def resume_and_check(
    run_dir: Path, capsys: pytest.CaptureFixture[str], budget: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Resume the run to its budget; check its metrics file; return the checkpoint's counters
    and the rows."""
    (checkpoint,) = periodic_checkpoints(run_dir)  # killed before a second one: see above
    counters = load_checkpoint(checkpoint, arrays=False).state["counters"]
    written = len(read_metrics(run_dir / "metrics.jsonl"))
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "-q"]) == 0
    out = capsys.readouterr().out
    dropped = written - counters["iteration"]
    assert out.startswith(
        f"resumed from {checkpoint} at iteration {counters['iteration']}, "
        f"{counters['env_steps']} env steps"
        + (f"; dropped {dropped} metrics rows past it\n" if dropped else "\n")
    )
    records = read_metrics(run_dir / "metrics.jsonl")
    iterations = [r["iteration"] for r in records]
    steps = [r["env_steps"] for r in records]
    assert iterations == list(range(1, len(records) + 1))  # no duplicate, no gap
    assert all(a < b for a, b in itertools.pairwise(steps))
    assert records[-1]["done"] and steps[-1] <= budget
    resumed = records[counters["iteration"]]  # the first row of the resumed run
    assert resumed["env_steps"] > counters["env_steps"]
    assert resumed["learner_steps"] > counters["learner_steps"]
    assert resumed["time_s"] > counters["time_s"]
    final = load_checkpoint(run_dir / "checkpoint", arrays=False).state["counters"]
    assert final["env_steps"] == steps[-1] and final["iteration"] == iterations[-1]
    return counters, records


@pytest.mark.timeout(120)
def test_apex_killed_with_sigkill_resumes_with_its_counters_and_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "apex"
    start_and_kill_after_first_checkpoint(run_dir, APEX)
    counters, records = resume_and_check(run_dir, capsys, budget=2400)
    assert counters["iteration"] == 3 and counters["env_steps"] >= 600  # whole rounds of 25
    # The replay came back with the checkpoint: the shards did not start empty.
    at_checkpoint = records[counters["iteration"] - 1]["replay_size"]
    assert at_checkpoint > 0 and records[counters["iteration"]]["replay_size"] > at_checkpoint


@pytest.mark.timeout(120)
def test_ppo_killed_with_sigkill_resumes_with_its_counters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "ppo"
    start_and_kill_after_first_checkpoint(run_dir, PPO)
    counters, _ = resume_and_check(run_dir, capsys, budget=2560)
    assert counters["iteration"] == 3 and counters["env_steps"] == 3 * 64
