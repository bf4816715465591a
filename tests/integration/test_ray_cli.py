"""``rlactors train apex --backend ray``: a local Ray instance of its own, on loopback, and no
Ray process left behind when the command ends, by itself or by Ctrl-C; ``--address`` joins a
running cluster and leaves it running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from listeners import session_processes

pytest.importorskip("ray")

TRAIN = [
    sys.executable,
    "-c",
    # A shell without job control starts background commands with SIGINT ignored, and that
    # is inherited: undo it, or the Ctrl-C below could never reach the command.
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from rlactors.cli.main import main; sys.exit(main())",
    "train",
    "apex",
    "--env",
    "CartPole-v1",
    "--workers",
    "4",
    "--backend",
    "ray",
    "--quiet",
]


def assert_nothing_left(sid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (left := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"left behind: {left}"


def start(args: list[str], run_dir: Path) -> subprocess.Popen[bytes]:
    # A session of its own, as a shell gives a command: Ctrl-C reaches its whole process
    # group, and every process it starts can be found by its session id.
    return subprocess.Popen(
        [*TRAIN, *args, "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.timeout(240)
def test_a_run_that_ends_leaves_no_ray_process(tmp_path: Path) -> None:
    proc = start(["--max-env-steps", "2000", "--iteration-env-steps", "1000"], tmp_path / "run")
    out, _ = proc.communicate(timeout=200)
    assert proc.returncode == 0, out.decode()
    assert (tmp_path / "run" / "checkpoint").is_dir()
    assert_nothing_left(proc.pid)


@pytest.mark.timeout(240)
def test_ctrl_c_stops_the_run_and_every_ray_process(tmp_path: Path) -> None:
    metrics = tmp_path / "run" / "metrics.jsonl"
    proc = start(["--max-env-steps", "1000000", "--iteration-env-steps", "500"], tmp_path / "run")
    try:
        deadline = time.monotonic() + 150
        while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
            assert proc.poll() is None, proc.communicate()[0].decode()
            assert time.monotonic() < deadline, "no training iteration within 150 s"
            time.sleep(0.2)
        assert session_processes(proc.pid)  # Ray runs: the check below can fail
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 130, out.decode()  # the CLI's "interrupted" status
    assert b"interrupted" in out
    assert (tmp_path / "run" / "checkpoint").is_dir()
    assert_nothing_left(proc.pid)


@pytest.mark.timeout(240)
def test_address_joins_a_running_cluster_and_leaves_it_running(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "ray_cluster_holder.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        address = holder.stdout.readline().decode().strip()
        assert address.startswith("127.0.0.1:"), address
        cluster_processes = session_processes(holder.pid)
        run = ["--max-env-steps", "2000", "--iteration-env-steps", "1000", "--address", address]
        proc = start(run, tmp_path / "run")
        # Its actors run in the cluster's worker processes, not in a Ray of its own.
        seen_in_cluster, deadline = False, time.monotonic() + 200
        while proc.poll() is None and time.monotonic() < deadline:
            cluster_now = session_processes(holder.pid)
            seen_in_cluster = seen_in_cluster or any("_RayHost" in c for c in cluster_now)
            time.sleep(0.2)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0, out.decode()
        assert seen_in_cluster
        assert (tmp_path / "run" / "checkpoint").is_dir()
        assert_nothing_left(proc.pid)  # the command's own processes: none, Ray runs elsewhere
        # The cluster it joined is still up: the command only disconnected.
        assert any("gcs_server" in c for c in cluster_processes)
        assert holder.poll() is None
        assert [c for c in session_processes(holder.pid) if "gcs_server" in c]
    finally:
        if holder.stdin is not None:
            holder.stdin.close()  # the holder shuts its cluster down
        try:
            holder.wait(60)
        finally:
            if holder.poll() is None:
                os.killpg(holder.pid, signal.SIGKILL)
                holder.wait(10)
    assert_nothing_left(holder.pid)
