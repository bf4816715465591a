"""A run whose actor dies past its restart limit ends with one line that says why and how to
go on, its state saved; ``--resume`` then continues it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from listeners import process_tree


def _find(title: str, driver: int) -> int | None:
    """The pid of the process of ``driver``'s tree titled ``title`` in ``ps``, if any."""
    for pid in process_tree(driver):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cmdline == title:
            return pid
    return None


def _rows(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(300)
def test_a_replay_shard_past_its_restart_limit_ends_the_run_in_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train = [sys.executable, "-m", "rlactors.cli.main", "train"]
    driver = subprocess.Popen(
        [
            *train,
            "apex",
            "--env",
            "CartPole-v1",
            "--stop-reward",
            "none",
            "--max-env-steps",
            "1000000",
            "--max-replay-restarts",
            "0",
            "--run-dir",
            str(run_dir),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120.0
        while len(_rows(run_dir / "metrics.jsonl")) < 3:  # learning is under way
            assert driver.poll() is None and time.monotonic() < deadline, "the run did not start"
            time.sleep(0.1)
        shard = _find("rlactors: replay-0 (ReplayShard)", driver.pid)
        assert shard is not None
        os.kill(shard, signal.SIGKILL)
        _, stderr = driver.communicate(timeout=120)
    finally:
        driver.kill()
    assert driver.returncode == 1
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("rlactors: error: the run stopped: ")
    assert "replay-0" in last and "SIGKILL" in last
    assert f"rlactors train --resume {run_dir}" in last
    # Its state was saved: the run goes on from there (with a budget it can finish).
    rows = _rows(run_dir / "metrics.jsonl")
    budget = str(int(rows[-1]["env_steps"]) + 2000)  # type: ignore[call-overload]
    resumed = subprocess.run(
        [*train, "--resume", str(run_dir), "--max-env-steps", budget, "--quiet"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert resumed.returncode == 0, resumed.stderr
    env_steps = [int(row["env_steps"]) for row in _rows(run_dir / "metrics.jsonl")]  # type: ignore[call-overload]
    assert env_steps == sorted(set(env_steps)) and len(env_steps) > len(rows)
