"""Env actors at scale: env steps/s of N slow envs stepped in parallel, rlactors vs its peers.

Issue #13's scaling bar: a 2 ms env (``rlactors.envs.toy:SlowEnv``: each step sleeps
``step_ms``, as a remote simulator would make its caller wait), N = 1, 4, 16, 64 (256 with
``--n``) envs, each in a process of its own, random actions, no learning. For every N, in the
same run:

* **rlactors**: an ``EnvBatch`` of N env actors (``env_actors="process"``: what an evaluator
  holds; the process backend), stepped as an evaluator steps it;
* **gymnasium**: ``gymnasium.vector.AsyncVectorEnv`` of the same env (``to_gymnasium``);
* **sb3**: Stable-Baselines3's ``SubprocVecEnv`` (if installed: ``pip install -e '.[bench]'``);
* **rllib** (with ``--rllib``, for N up to ``--rllib-max-n``, 16 by default: each env runner is
  a Ray actor holding torch and RLlib, ~0.3 GB): RLlib's env runners, one env each, sampling
  random actions at once (``benchmarks/_rllib_fleet_child.py``). ``ray[rllib]`` 2.60 pins
  gymnasium 1.2.2, older than ours, so it runs in an environment of its own,
  ``.venv-rllib`` (``--rllib-venv``), which this script creates the first time (``ray[rllib]``
  and the pinned CPU torch from PyPI, about a minute) rather than downgrading ours.

Printed per N: env steps/s of each system, its scaling (steps/s over ``N x`` its N = 1 figure;
the bar is >= 0.8 up to 64) and rlactors' ratio to each peer; start-up seconds.

``--apex-workers W`` instead runs Ape-X with W workers on CartPole-v1 (the process backend,
``stop_reward`` 475, a budget of ``--max-env-steps``, 200K by default) and prints whether it
solved, its env steps and wall time, and the peak memory of the whole process tree (RSS
summed, and PSS: shared pages split among their sharers; the goal is <= 4 GB at 256
workers), sampled every 0.5 s.

``--ray-nodes M`` (with ``--apex-workers W``, default 64) runs that Ape-X on the Ray backend,
on a simulated cluster of M nodes on this machine (``ray.cluster_utils.Cluster``, every node on
loopback, 2 CPUs each): worker i asks for node ``i mod M`` (soft affinity, so a restart lands
wherever there is room), replay shards and the learner stay on the head. After
``--remove-after`` training iterations the last node is removed, with its raylet and every
worker on it; the run must restart those workers elsewhere and still solve. Printed: solved,
env steps and wall time, workers per node before and after the removal, worker restarts, and
the tree's peak memory (Ray's processes are this process's descendants).

Last line: one JSON object.

    python benchmarks/fleet.py [--n 1 4 16 64] [--step-ms 2] [--seconds 3] [--rllib]
    python benchmarks/fleet.py --apex-workers 256 [--seed 0] [--max-env-steps 200000]
    python benchmarks/fleet.py --ray-nodes 4 [--apex-workers 64] [--remove-after 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rlactors.actors import Runtime
from rlactors.envs import EnvSpec
from rlactors.envs.to_gymnasium import to_gymnasium
from rlactors.envs.toy import SlowEnv
from rlactors.evaluators import EnvActorsConfig, make_env_batch


def _gym_slow_env(step_ms: float) -> Callable[[], Any]:
    def make() -> Any:
        return to_gymnasium(SlowEnv(step_ms=step_ms))

    return make


def _timed(step: Callable[[], None], seconds: float, n: int) -> float:
    """Env steps/s of ``step`` (one step of ``n`` envs), run for about ``seconds``."""
    step()  # warm-up: the first step of every env
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += n
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and steps >= 10 * n:
            return steps / elapsed


def rlactors_rate(n: int, step_ms: float, seconds: float) -> tuple[float, float]:
    """(env steps/s, start-up s) of N env actors in an EnvBatch."""
    start = time.perf_counter()
    with Runtime("process"):
        spec = EnvSpec.of(SlowEnv, {"step_ms": step_ms})
        batch = make_env_batch(spec, n, check=False, env_actors=EnvActorsConfig("process"))
        batch.reset(seed=0)
        startup_s = time.perf_counter() - start
        rng = np.random.default_rng(0)

        def step() -> None:
            batch.interact(rng.integers(0, 2, n))
            batch.observe()

        rate = _timed(step, seconds, n)
        batch.close()
    return rate, startup_s


def gymnasium_rate(n: int, step_ms: float, seconds: float) -> tuple[float, float]:
    """(env steps/s, start-up s) of gymnasium's AsyncVectorEnv."""
    import gymnasium as gym

    start = time.perf_counter()
    envs = gym.vector.AsyncVectorEnv([_gym_slow_env(step_ms) for _ in range(n)])
    envs.reset(seed=0)
    startup_s = time.perf_counter() - start
    try:
        rate = _timed(lambda: envs.step(envs.action_space.sample()), seconds, n)
    finally:
        envs.close()
    return rate, startup_s


def sb3_rate(n: int, step_ms: float, seconds: float) -> tuple[float, float] | None:
    """(env steps/s, start-up s) of SB3's SubprocVecEnv, or None without SB3."""
    try:
        from stable_baselines3.common.vec_env import SubprocVecEnv
    except ImportError:
        return None
    start = time.perf_counter()
    envs = SubprocVecEnv([_gym_slow_env(step_ms) for _ in range(n)], start_method="forkserver")
    envs.seed(0)
    envs.reset()
    startup_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    try:
        rate = _timed(lambda: envs.step(rng.integers(0, 2, n)), seconds, n)
    finally:
        envs.close()
    return rate, startup_s


ROOT = Path(__file__).resolve().parents[1]
RLLIB_CHILD = Path(__file__).with_name("_rllib_fleet_child.py")


def ensure_rllib_venv(venv: Path) -> Path:
    """The python of ``venv``, an environment with ``ray[rllib]`` 2.60; made if missing."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    print(f"setting up {venv} for RLlib (ray[rllib]==2.60.0, torch pinned by constraints.txt)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_CONSTRAINT": str(ROOT / "constraints.txt")}
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "ray[rllib]==2.60.0", "torch"],
        check=True,
        env=env,
    )
    return python


def rllib_rate(python: Path, n: int, step_ms: float, seconds: float) -> tuple[float, float]:
    """(env steps/s, start-up s) of RLlib's env runners, from the child in its own venv."""
    done = subprocess.run(
        [str(python), str(RLLIB_CHILD), str(n), str(step_ms), str(seconds)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the RLlib child failed (N={n}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["env_steps_per_s"]), float(result["startup_s"])


def apex_fleet(workers: int, seed: int, max_env_steps: int) -> dict[str, Any]:
    """Ape-X with ``workers`` workers on CartPole-v1, with the tree's peak memory."""
    from _proc_memory import PeakMemory

    from rlactors.algorithms.apex.algorithm import Apex
    from rlactors.algorithms.apex.config import ApexConfig

    config = ApexConfig(
        env="CartPole-v1",
        seed=seed,
        num_workers=workers,
        max_env_steps=max_env_steps,
        stop_reward=475.0,
    )
    start = time.perf_counter()
    with PeakMemory() as memory, Apex(config) as apex:
        result = apex.train(progress=True)
    wall_s = time.perf_counter() - start
    return {
        "workers": workers,
        "seed": seed,
        "solved": bool(result["solved"]),
        "env_steps": result["env_steps"],
        "eval_return_mean": result.get("eval_return_mean"),
        "wall_s": wall_s,
        "peak_processes": memory.peak_processes,
        "peak_rss_bytes": memory.peak_rss,
        "peak_pss_bytes": memory.peak_pss,
    }


def apex_on_ray_cluster(workers: int, nodes: int, remove_after: int, seed: int) -> dict[str, Any]:
    """Ape-X with ``workers`` workers on a simulated ``nodes``-node Ray cluster, the last node
    removed after ``remove_after`` iterations; solved or not, with node placement and memory."""
    import ray
    from _proc_memory import PeakMemory
    from ray.cluster_utils import Cluster
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from rlactors.algorithms.apex.algorithm import Apex
    from rlactors.algorithms.apex.config import ApexConfig

    def node_of(ref: Any) -> str:
        return str(ray.get(ref._handle.ray_actor.node_id.remote(), timeout=120))

    start = time.perf_counter()
    report: dict[str, Any] = {"workers": workers, "nodes": nodes, "seed": seed}
    with PeakMemory() as memory:
        # Each node gives its own address, 127.0.0.1, so every service listens on loopback.
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "node_ip_address": "127.0.0.1", "num_cpus": 2, "include_dashboard": False,
            },
        )  # fmt: skip
        added = [
            cluster.add_node(
                node_ip_address="127.0.0.1", num_cpus=2, resources={f"fleet_node{i}": 1}
            )
            for i in range(1, nodes)
        ]
        try:
            with Runtime("ray", address=cluster.address):
                alive = [n for n in ray.nodes() if n["Alive"]]
                by_index = {
                    0: next(
                        n
                        for n in alive
                        if not any(k.startswith("fleet_node") for k in n["Resources"])
                    )
                }
                for i in range(1, nodes):
                    by_index[i] = next(n for n in alive if f"fleet_node{i}" in n["Resources"])
                ids = {i: n["NodeID"] for i, n in by_index.items()}
                names = {node_id: i for i, node_id in ids.items()}
                # Soft affinity is honoured only for actors that ask for some resource, hence
                # the 0.01 CPU; replay shards are not restarted (their memory is the run), so
                # they stay on the head with the learner.
                placement: dict[str, dict[str, Any]] = {
                    f"worker-{i}": {
                        "num_cpus": 0.01,
                        "scheduling_strategy": NodeAffinitySchedulingStrategy(
                            ids[i % nodes], soft=True
                        ),
                    }
                    for i in range(workers)
                }
                placement["replay-*"] = {
                    "scheduling_strategy": NodeAffinitySchedulingStrategy(ids[0], soft=False)
                }

                class ClusterApex(Apex):
                    def _runtime_options(self) -> dict[str, Any]:
                        return {"actor_options": placement}

                def per_node(refs: list[Any]) -> dict[str, int]:
                    counts: dict[str, int] = {}
                    for ref in refs:
                        node = f"node{names.get(node_of(ref), '?')}"
                        counts[node] = counts.get(node, 0) + 1
                    return dict(sorted(counts.items()))

                config = ApexConfig(
                    env="CartPole-v1",
                    seed=seed,
                    backend="ray",
                    num_workers=workers,
                    max_env_steps=200_000,
                    stop_reward=475.0,
                )
                iterations = 0
                with ClusterApex(config) as started:
                    apex: Any = started  # its optimizer's workers are read below

                    def on_iteration(metrics: dict[str, Any]) -> None:
                        nonlocal iterations
                        iterations += 1
                        if iterations == remove_after:
                            report["workers_per_node_before"] = per_node(
                                apex._optimizer.workers.refs
                            )
                            report["removed_at_env_steps"] = metrics["env_steps"]
                            cluster.remove_node(added[-1])  # its raylet and its workers

                    result = apex.train(callback=on_iteration, progress=True)
                    report["workers_per_node_after"] = per_node(apex._optimizer.workers.refs)
                    report["worker_restarts"] = apex._optimizer.workers.restarts
        finally:
            cluster.shutdown()
    report.update(
        solved=bool(result["solved"]),
        env_steps=result["env_steps"],
        eval_return_mean=result.get("eval_return_mean"),
        iterations=iterations,
        wall_s=time.perf_counter() - start,
        peak_processes=memory.peak_processes,
        peak_rss_bytes=memory.peak_rss,
        peak_pss_bytes=memory.peak_pss,
    )
    return report


def _outcome(run: dict[str, Any]) -> str:
    solved = "solved" if run["solved"] else "NOT solved"
    return f"{solved} in {run['env_steps']:,} env steps, {run['wall_s']:.0f} s"


def _peak(run: dict[str, Any]) -> str:
    gb = 1024**3
    return (
        f"peak {run['peak_processes']} processes, RSS {run['peak_rss_bytes'] / gb:.2f} GiB "
        f"summed, PSS {run['peak_pss_bytes'] / gb:.2f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 4, 16, 64], help="env counts")
    parser.add_argument("--step-ms", type=float, default=2.0, help="each env step's sleep")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per run")
    parser.add_argument("--apex-workers", type=int, help="run Ape-X with this many workers")
    parser.add_argument("--seed", type=int, default=0, help="Ape-X's seed")
    parser.add_argument(
        "--max-env-steps", type=int, default=200_000, help="--apex-workers: Ape-X's budget"
    )
    parser.add_argument("--rllib", action="store_true", help="add RLlib's env runners")
    parser.add_argument("--rllib-max-n", type=int, default=16, help="--rllib: largest N")
    parser.add_argument(
        "--rllib-venv", type=Path, default=ROOT / ".venv-rllib", help="--rllib: its environment"
    )
    parser.add_argument("--ray-nodes", type=int, help="Ape-X on a simulated Ray cluster")
    parser.add_argument(
        "--remove-after", type=int, default=10, help="--ray-nodes: iterations before a removal"
    )
    args = parser.parse_args()
    if args.ray_nodes is not None:
        if args.ray_nodes < 2:
            parser.error("--ray-nodes needs at least 2 nodes (one is removed)")
        run = apex_on_ray_cluster(
            args.apex_workers or 64, args.ray_nodes, args.remove_after, args.seed
        )
        print(
            f"Ape-X, {run['workers']} workers on {run['nodes']} Ray nodes, CartPole-v1 seed "
            f"{run['seed']}: {_outcome(run)}; workers per node "
            f"{run.get('workers_per_node_before')} -> {run.get('workers_per_node_after')} "
            f"(a node removed at {run.get('removed_at_env_steps')} env steps, "
            f"{run.get('worker_restarts')} worker restarts); {_peak(run)}"
        )
        print(json.dumps({"benchmark": "fleet_ray_cluster", **run}))
        return
    if args.apex_workers is not None:
        fleet = apex_fleet(args.apex_workers, args.seed, args.max_env_steps)
        print(
            f"Ape-X, {fleet['workers']} workers, CartPole-v1 seed {fleet['seed']}: "
            f"{_outcome(fleet)}; {_peak(fleet)}"
        )
        print(json.dumps({"benchmark": "fleet_apex", **fleet}))
        return
    systems: dict[str, Callable[[int, float, float], tuple[float, float] | None]] = {
        "rlactors": rlactors_rate,
        "gymnasium": gymnasium_rate,
        "sb3": sb3_rate,
    }
    if args.rllib:
        python = ensure_rllib_venv(args.rllib_venv)
        systems["rllib"] = lambda n, step_ms, seconds: (
            rllib_rate(python, n, step_ms, seconds) if n <= args.rllib_max_n else None
        )
    results: dict[str, dict[str, Any]] = {name: {} for name in systems}
    for n in args.n:
        for name, measure in systems.items():
            measured = measure(n, args.step_ms, args.seconds)
            if measured is not None:
                rate, startup_s = measured
                results[name][str(n)] = {"env_steps_per_s": rate, "startup_s": startup_s}
    base = {name: r.get(str(args.n[0]), {}).get("env_steps_per_s") for name, r in results.items()}
    first = args.n[0]
    header = f"{'N':>4}  " + "  ".join(f"{name:>22}" for name in systems) + "  rlactors/peer"
    print(f"{args.step_ms} ms env, random actions; env steps/s (scaling vs N={first})")
    print(header)
    for n in args.n:
        cells = []
        for name in systems:
            entry = results[name].get(str(n))
            if entry is None or base[name] is None:
                cells.append(f"{'-':>22}")
                continue
            scaling = entry["env_steps_per_s"] / (base[name] * n / first)
            entry["scaling"] = scaling
            cells.append(f"{entry['env_steps_per_s']:>12,.0f} ({scaling:4.2f}x)")
        ours = results["rlactors"][str(n)]["env_steps_per_s"]
        ratios = {
            peer: ours / results[peer][str(n)]["env_steps_per_s"]
            for peer in ("gymnasium", "sb3", "rllib")
            if peer in results and str(n) in results[peer]
        }
        results["rlactors"][str(n)]["ratio_to"] = ratios
        print(
            f"{n:>4}  "
            + "  ".join(cells)
            + "  "
            + ", ".join(f"{p} {r:.2f}" for p, r in ratios.items())
        )
    print(
        json.dumps(
            {
                "benchmark": "fleet",
                "step_ms": args.step_ms,
                "n": args.n,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "rllib": {"measured": args.rllib, "max_n": args.rllib_max_n},
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
