"""Chaos: SIGKILL a random actor process every ~0.3 s while Ape-X, IMPALA and PPO train.

Each run is ``rlactors train ALGO --env CartPole-v1 --stop-reward 475`` (Ape-X with 3 workers
and 2 replay shards, as in the report that found replay shards unsupervised), a driver process
of its own on the process backend. While it trains, this script picks a process at random among
the driver's actor processes, its descendants titled ``rlactors: <name> (<class>)`` in ``ps``
(workers, evaluators, replay shards, the greedy evaluator) older than half a second (not one
still starting), and SIGKILLs it; then it waits ``--kill-every`` seconds (times 0.5-1.5, drawn
from the run's seed), and again, until the driver exits. The default interval is 0.3 s (0.15 s
for IMPALA, 0.2 s for PPO): runs solve in ~6-20 s on a quiet machine (IMPALA and PPO in ~6-12 s,
~3 of them starting up), and every run must see 10 kills. The interval is in seconds, not in
the run's progress: on a loaded machine, where runs take 3-4x longer, it can push an actor
past the run's limit of 100 restarts a minute (pass ``--kill-every 1`` there). Restart limits
are raised for the run (``--max-worker-restarts``, ``--max-replay-restarts``): at one kill
every ~0.3 s an actor may die more than three times a minute, the default limit. Besides,
``--fork-server-kills`` (1) times per run, 3 s in or later, the kill goes to the fork server
the actors are forked from, which every actor then dies with (their exit-status pipes close)
and is restarted from a new one; those kills are reported apart and not counted toward
``--min-kills``.

Per run it reports whether CartPole was solved (a greedy mean return of 475 over 20 episodes),
the kills by kind of actor, what the metrics counted (``worker_restarts``,
``replay_restarts``, ``greedy_evaluator_restarts``, ``lost_transitions`` for Ape-X,
``lost_rollouts`` for the actor-critics) and the processes still alive 5 s after the driver
exited. A kill counts against the metrics only if a metrics row was written at least a second
after it (its restart must have happened before the row's counters were read); a kill of the
fork server restarts every actor forked from it, so restarts may exceed kills.

Bars: for each algorithm, every seed solves with at least ``--min-kills`` (10) kills; no
process outlives its driver by 5 s; the metrics count at least as many restarts of each kind
as there were counted kills of that kind.

Usage: ``python benchmarks/chaos.py [--algorithms apex impala ppo] [--seeds 3]
[--kill-every S] [--min-kills 10] [--fork-server-kills 1] [--timeout 600]``. The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak import parent_pids

ENV_ID = "CartPole-v1"
STOP_REWARD = 475.0

#: Per algorithm: the flags of its run, beyond the env, seed, stop reward and run dir.
ALGORITHM_FLAGS: dict[str, list[str]] = {
    "apex": ["--workers", "3", "--num-replay-shards", "2", "--max-replay-restarts", "100"],
    "impala": [],
    "ppo": [],
}

#: Seconds between kills where the default 0.3 s would give fewer than 10 kills before a solve.
KILL_EVERY_S = {"impala": 0.15, "ppo": 0.2}

#: Only processes this old are killed (seconds): an actor is ready well within it (its
#: constructor ran), and a kill before that is a failed start, which is retried, not a restart.
MIN_AGE_S = 0.5

#: Which metrics counter a kill of each kind of actor must show up in.
COUNTERS = {
    "worker": "worker_restarts",
    "evaluator": "worker_restarts",
    "replay": "replay_restarts",
    "greedy-evaluator": "greedy_evaluator_restarts",
}


@functools.cache
def clock_ticks_per_s() -> int:
    return os.sysconf("SC_CLK_TCK")


@functools.cache
def boot_time_s() -> float:
    with open("/proc/stat") as f:
        return float(next(line for line in f if line.startswith("btime")).split()[1])


@dataclass(frozen=True)
class Proc:
    """A process as /proc shows it: ``start_s`` (since the epoch) tells a reused pid apart."""

    pid: int
    ppid: int
    start_s: float
    title: str


def read_proc(pid: int) -> Proc | None:
    """``pid`` as /proc shows it, or None once it is gone (or a zombie: it has exited, only
    its parent's wait is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    start_s = boot_time_s() + int(fields[19]) / clock_ticks_per_s()
    return Proc(pid, int(fields[1]), start_s, title)


def descendants(root: int) -> list[Proc]:
    """Every live descendant of ``root`` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_pids().items():
        children.setdefault(ppid, []).append(pid)
    out: list[Proc] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            proc = read_proc(child)
            if proc is not None:
                out.append(proc)
                todo.append(child)
    return out


def kind_of(title: str) -> str:
    """``"worker"``, ``"replay"``, ``"evaluator"``, ``"greedy-evaluator"`` or ``"fork server"``
    from a title such as ``rlactors: worker-3 (ApexWorker)``."""
    name = title.removeprefix("rlactors: ").split(" (")[0]
    if name == "fork server":
        return name
    if name.endswith("greedy-evaluator"):
        return "greedy-evaluator"
    return name.rsplit("-", 1)[0]


@dataclass
class Kill:
    at_s: float  # time.time()
    pid: int
    title: str
    kind: str


@dataclass
class Chaos:
    """Kills a random titled descendant of ``driver`` every ``every_s`` (jittered) seconds."""

    driver: subprocess.Popen[bytes]
    every_s: float
    rng: random.Random
    fork_server_kills: int
    kills: list[Kill] = field(default_factory=list)
    seen: dict[int, Proc] = field(default_factory=dict)

    def run(self) -> None:
        started = time.time()
        while self.driver.poll() is None:
            time.sleep(self.every_s * self.rng.uniform(0.5, 1.5))
            now = time.time()
            family = descendants(self.driver.pid)
            for proc in family:
                self.seen.setdefault(proc.pid, proc)
            titled = [
                p for p in family if p.title.startswith("rlactors:") and now - p.start_s > MIN_AGE_S
            ]
            servers = [p for p in titled if kind_of(p.title) == "fork server"]
            targets = [p for p in titled if kind_of(p.title) != "fork server"]
            server_kills = sum(k.kind == "fork server" for k in self.kills)
            if (
                servers
                and server_kills < self.fork_server_kills
                and now - started > 3.0
                and self.rng.random() < 0.2
            ):
                targets = servers
            if not targets or self.driver.poll() is not None:
                continue
            victim = self.rng.choice(targets)
            try:
                os.kill(victim.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills.append(Kill(now, victim.pid, victim.title, kind_of(victim.title)))

    def survivors(self, grace_s: float = 5.0) -> list[str]:
        """Processes of the run still alive ``grace_s`` after the driver exited."""
        deadline = time.monotonic() + grace_s
        while True:
            now = {pid: read_proc(pid) for pid in self.seen}
            left = [
                p
                for pid, p in self.seen.items()
                if (q := now[pid]) is not None and abs(q.start_s - p.start_s) < 0.05
            ]
            if not left or time.monotonic() >= deadline:
                return [f"{p.pid} {p.title[:60]}" for p in left]
            time.sleep(0.1)


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kill_interval(algorithm: str, args: argparse.Namespace) -> float:
    """Seconds between kills (before the jitter): ``--kill-every``, or the algorithm's."""
    return float(args.kill_every or KILL_EVERY_S.get(algorithm, 0.3))


def one_run(algorithm: str, seed: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    every_s = kill_interval(algorithm, args)
    run_dir = root / f"{algorithm}-{seed}"
    command = [
        sys.executable,
        "-m",
        "rlactors.cli.main",
        "train",
        algorithm,
        "--env",
        ENV_ID,
        "--seed",
        str(seed),
        "--stop-reward",
        str(STOP_REWARD),
        "--run-dir",
        str(run_dir),
        "--quiet",
        "--max-worker-restarts",
        "100",
        *ALGORITHM_FLAGS[algorithm],
    ]
    start = time.perf_counter()
    log_path = root / f"{algorithm}-{seed}.log"
    with open(log_path, "wb") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        chaos = Chaos(
            driver,
            every_s,
            random.Random(f"chaos-{algorithm}-{seed}"),
            args.fork_server_kills,
        )
        killer = threading.Thread(target=chaos.run, daemon=True)
        killer.start()
        try:
            code = driver.wait(args.timeout)
        except subprocess.TimeoutExpired:
            driver.kill()
            code = driver.wait()
        killer.join(timeout=every_s * 2 + 5)
    seconds = time.perf_counter() - start
    survivors = chaos.survivors()
    metrics_path = run_dir / "metrics.jsonl"
    rows = read_rows(metrics_path)
    last = rows[-1] if rows else {}
    written_s = metrics_path.stat().st_mtime if metrics_path.is_file() else 0.0
    counted = [k for k in chaos.kills if k.at_s < written_s - 1.0]
    kills_by_kind: dict[str, int] = {}
    for k in chaos.kills:
        kills_by_kind[k.kind] = kills_by_kind.get(k.kind, 0) + 1
    counted_by_counter: dict[str, int] = {}
    for k in counted:
        if k.kind in COUNTERS:
            counted_by_counter[COUNTERS[k.kind]] = counted_by_counter.get(COUNTERS[k.kind], 0) + 1
    restarts = {
        key: last.get(key)
        for key in ("worker_restarts", "replay_restarts", "greedy_evaluator_restarts")
        if key in last
    }
    accounted = all((restarts.get(counter) or 0) >= n for counter, n in counted_by_counter.items())
    tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
    return {
        "algorithm": algorithm,
        "seed": seed,
        "exit_code": code,
        "solved": bool(last.get("solved")),
        "env_steps": last.get("env_steps"),
        "seconds": round(seconds, 1),
        "kills": sum(k.kind != "fork server" for k in chaos.kills),
        "fork_server_kills": sum(k.kind == "fork server" for k in chaos.kills),
        "kills_by_kind": kills_by_kind,
        "kills_before_last_row": len(counted),
        "restarts_counted": restarts,
        "restarts_account_for_kills": accounted,
        "lost_transitions": last.get("lost_transitions"),
        "lost_rollouts": last.get("lost_rollouts"),
        "survivors_after_5s": survivors,
        "last_lines": tail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=["apex", "impala", "ppo"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--kill-every", type=float, default=None, help="seconds between kills (see above)"
    )
    parser.add_argument("--min-kills", type=int, default=10, help="actor kills per run")
    parser.add_argument("--fork-server-kills", type=int, default=1, help="per run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    args = parser.parse_args()
    unknown = set(args.algorithms) - set(ALGORITHM_FLAGS)
    if unknown:
        parser.error(f"unknown algorithms {sorted(unknown)}; choose from {list(ALGORITHM_FLAGS)}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="rlactors-chaos-") as tmp:
        for seed in range(args.seeds):
            for algorithm in args.algorithms:
                run = one_run(algorithm, seed, args, Path(tmp))
                runs.append(run)
                print(
                    f"{algorithm} seed {seed}: solved {run['solved']} in {run['seconds']} s, "
                    f"{run['kills']} kills {run['kills_by_kind']}, restarts "
                    f"{run['restarts_counted']}, lost transitions {run['lost_transitions']}, "
                    f"lost rollouts {run['lost_rollouts']}, survivors "
                    f"{run['survivors_after_5s']}",
                    file=sys.stderr,
                    flush=True,
                )
                if not run["solved"]:
                    print("  " + "\n  ".join(run["last_lines"]), file=sys.stderr, flush=True)

    def ok(run: dict[str, Any]) -> bool:
        return (
            run["solved"]
            and run["kills"] >= args.min_kills
            and not run["survivors_after_5s"]
            and run["restarts_account_for_kills"]
        )

    per_algorithm = {
        algorithm: {
            "runs_meeting_the_bar": sum(ok(r) for r in runs if r["algorithm"] == algorithm),
            "runs": sum(r["algorithm"] == algorithm for r in runs),
            "solved": sum(r["solved"] for r in runs if r["algorithm"] == algorithm),
            "min_kills": min(r["kills"] for r in runs if r["algorithm"] == algorithm),
        }
        for algorithm in args.algorithms
    }
    print(
        json.dumps(
            {
                "benchmark": "chaos",
                "env_id": ENV_ID,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "kill_every_s": {a: kill_interval(a, args) for a in args.algorithms},
                "min_kills": args.min_kills,
                "per_algorithm": per_algorithm,
                "runs": runs,
                "bar_met": all(ok(r) for r in runs),
            }
        )
    )


if __name__ == "__main__":
    main()
