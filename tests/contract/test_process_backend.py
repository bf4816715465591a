"""Process-backend guarantees that have no inline counterpart: real processes and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from actor_fixtures import Counter

from rlactors.actors import ActorDiedError, ActorOptions, Runtime, spawn, spawn_with

HERE = Path(__file__).parent


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next(line for line in f if line.startswith("State:"))
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "zombie" not in state and "(Z)" not in state


class TorchUser:
    def threads(self) -> int:
        import torch

        return torch.get_num_threads()


class BlasUser:
    def native_threads_after_a_product(self) -> int:
        import numpy as np

        a = np.ones((256, 256), dtype=np.float32)
        a @ a  # big enough for OpenBLAS to use its thread pool, if it has one
        return len(os.listdir("/proc/self/task")) - threading.active_count()


def test_sigkill_in_the_middle_of_a_call_fails_it_at_once() -> None:
    with Runtime("process"):
        counter = spawn(Counter)
        pid = counter.ask("pid").result(30)
        slow = counter.ask("sleep", 30.0)
        time.sleep(0.3)
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ActorDiedError, match="SIGKILL"):
            slow.result(timeout=10)
        assert time.monotonic() - t0 < 5.0


def test_torch_uses_one_thread_per_actor_process() -> None:
    with Runtime("process"):
        assert spawn(TorchUser).ask("threads").result(60) == 1


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_numpy_blas_uses_one_thread_per_actor_process(start_method: str) -> None:
    # numpy reads its thread count when it is imported, which can be before the actor's code
    # runs (the fork server's preload, the driver script run again as __mp_main__). OpenBLAS
    # threads competing for 2 busy cores made a small product 100x slower.
    with Runtime("process", start_method=start_method, preload=("numpy",)):
        assert spawn(BlasUser).ask("native_threads_after_a_product").result(60) == 0


class PidReporter:
    def pid(self) -> int:
        return os.getpid()


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_ps_shows_each_actor_process_by_name_and_class(start_method: str) -> None:
    with Runtime("process", start_method=start_method, preload=("json",)):
        ref = spawn_with(ActorOptions(name="worker-3"), PidReporter)
        pid = ref.ask("pid").result(60)
        assert _cmdline(pid) == "rlactors: worker-3 (PidReporter)"
        if start_method == "forkserver":  # and the server the actors are forked from
            status = Path(f"/proc/{pid}/status").read_text()
            server = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
            assert _cmdline(server) == "rlactors: fork server"


@pytest.mark.parametrize("mode", ["exit", "raise", "kill"])
def test_no_actor_process_outlives_its_owner(mode: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    driver = subprocess.Popen(
        [sys.executable, str(HERE / "orphan_driver.py"), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert driver.stdout is not None
    pids = [int(p) for p in driver.stdout.readline().split()]
    assert len(pids) == 3 and all(_alive(p) for p in pids)
    if mode == "kill":
        driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    deadline = time.monotonic() + 5.0
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if _alive(p)], f"orphans left after the driver's {mode}"


@pytest.mark.timeout(120)
def test_the_fork_server_dying_is_survived_by_every_supervised_actor() -> None:
    """SIGKILL of the fork server: the actors forked from it lose their exit-status pipe and
    are handled as dead; each must come back (from a new fork server), none may stay lost."""
    from rlactors.actors import RestartPolicy

    restarted: list[str] = []
    with Runtime("process", start_method="forkserver", preload=("json",)):
        refs = [
            spawn_with(
                ActorOptions(
                    name=f"worker-{i}",
                    restart=RestartPolicy.on_failure(max_restarts=3),
                    on_restart=lambda ref: restarted.append(ref.name),
                ),
                PidReporter,
            )
            for i in range(4)
        ]
        pids = [ref.ask("pid").result(60) for ref in refs]
        status = Path(f"/proc/{pids[0]}/status").read_text()
        server = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
        assert _cmdline(server) == "rlactors: fork server"
        os.kill(server, signal.SIGKILL)
        deadline = time.monotonic() + 60.0
        while len(restarted) < len(refs):
            assert time.monotonic() < deadline, f"restarted only {restarted}"
            time.sleep(0.05)
        new_pids = [ref.ask("pid").result(60) for ref in refs]
        assert not set(new_pids) & set(pids)
        assert all(not _alive(pid) for pid in pids)  # the orphans of the old server are gone


def test_a_connection_above_descriptor_1023_is_read() -> None:
    # Regression: select() refuses descriptors above 1023, and Ape-X with 256 workers held
    # more: its driver failed with "filedescriptor out of range in select()".
    import socket

    from rlactors.actors.backends.channel import readable

    near, far = socket.socketpair()
    high = socket.socket(fileno=os.dup2(far.fileno(), 1500))
    try:
        assert readable([high], 0.0) == []
        near.send(b"x")
        assert readable([high], 5.0) == [high]
    finally:
        for sock in (near, far, high):
            sock.close()


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_a_script_without_a_main_guard_is_told_to_add_one(
    tmp_path: Path, start_method: str
) -> None:
    """Actor processes re-import the driver's script; one that starts a backend as it is
    imported used to fail with multiprocessing's 30-line RuntimeError, retried."""
    script = tmp_path / "train.py"
    script.write_text(
        "from rlactors.actors import Runtime, spawn\n"
        "from rlactors.envs.toy import CorridorEnv\n"
        f"with Runtime('process', start_method={start_method!r}):\n"
        "    spawn(CorridorEnv, 3).ask('reset', 0).result(60)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode != 0
    assert 'put the code that trains under `if __name__ == "__main__":`' in done.stderr
    assert "bootstrapping phase" not in done.stderr and "trying again" not in done.stderr


def test_a_runtime_made_at_import_time_with_guarded_spawns_still_works(tmp_path: Path) -> None:
    """Only starting processes while a script is being re-imported is refused, not making a
    backend then (regression: the check once ran when the backend was made)."""
    script = tmp_path / "train.py"
    script.write_text(
        "from rlactors.actors import Runtime, spawn\n"
        "from rlactors.envs.toy import CorridorEnv\n"
        "runtime = Runtime('process')\n"
        "if __name__ == '__main__':\n"
        "    with runtime:\n"
        "        print(spawn(CorridorEnv, 3).ask('reset', 0).result(60), 'ok')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "ok"]
