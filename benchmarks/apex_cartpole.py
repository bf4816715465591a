"""Ape-X on CartPole-v1: seconds to solve from a fresh process, against rlactors DQN and SB3 DQN.

Solved means a greedy evaluation's mean return over 20 episodes reaches 475 within a budget of
100,000 env steps, each contender checking with its own ``stop_reward`` mechanism (the same
20-episode greedy runner for all three):

- Ape-X: ``ApexConfig`` defaults with 2 workers, ``--backend`` (``process`` by default); every
  ``eval_interval_env_steps`` (2,048) it starts a greedy evaluation of a snapshot of its
  weights on an evaluator actor of its own and reads the answer at the end of an iteration
  (500 env steps); ``env_steps`` is the count when the answer was read, so it includes the
  steps taken while the evaluation ran.
- rlactors DQN: ``DQNConfig`` defaults (single process, inline backend), checked every 2,048 env
  steps; run by ``dqn_cartpole.run_rlactors``.
- Stable-Baselines3 DQN with RL-Zoo's CartPole-v1 hyperparameters and the greedy-evaluation
  callback of ``dqn_cartpole.run_sb3`` (every 2,048 env steps).

What counts is what a user waits for: every run is a fresh ``python`` subprocess (this script in
``--child`` mode), timed from just before it is launched until it prints its result line, so
interpreter start-up, imports, building envs, actors and networks, learning and evaluations are
all included; shutting down after the result line is not (it is reported as ``exit_s``). The
child reports its own split: ``startup_s`` (launch to the child's first line), ``import_s``,
``in_process_seconds`` (building the algorithm to solving, as ``dqn_cartpole.py`` measures it).
Every learner uses one torch thread. Systems run one at a time, interleaved seed by seed (Ape-X,
DQN, SB3 on seed 0, then seed 1, ...), so load from other processes on a shared machine falls on
all alike. Medians are over the seeds that solved (as in ``dqn_cartpole.py``).

Bars: Ape-X solves on >= 80% of the seeds (4 of 5, 16 of 20); its median seconds to solve are
<= 0.5x SB3's and <= rlactors DQN's. Seeds 0-19 by default: CartPole's time to solve spreads 4x
from seed to seed, and the same Ape-X code gave 0.26x on 5 seeds and 0.57x on another 5.

Usage: ``python benchmarks/apex_cartpole.py [--seeds 0 1 2 3 4] [--backend {process,inline,ray}]``
(``--backend`` goes to ``ApexConfig.backend``; DQN and SB3 run as always). The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

#: Prefix of the child's result line on its stdout.
RESULT_TAG = "APEX_CARTPOLE_RESULT "
SYSTEMS = ("apex", "dqn", "sb3")
BACKENDS = ("process", "inline", "ray")
NUM_WORKERS = 2
BAR_SPEEDUP_OVER_SB3 = 0.5  # Ape-X's median seconds <= this x SB3's
CHILD_TIMEOUT_S = 600.0


# -- the child: one training run in a fresh process ------------------------------------------------


def run_apex(seed: int, backend: str, report: Any) -> None:
    """Ape-X until solved or out of budget; ``report`` is called before shutting down."""
    from dqn_cartpole import BUDGET_ENV_STEPS, ENV_ID, EVAL_EPISODES, STOP_REWARD

    from rlactors.algorithms.apex.algorithm import Apex
    from rlactors.algorithms.apex.config import ApexConfig

    imported = time.time()
    start = time.perf_counter()
    config = ApexConfig(
        env=ENV_ID,
        seed=seed,
        backend=backend,  # type: ignore[arg-type]
        num_workers=NUM_WORKERS,
        max_env_steps=BUDGET_ENV_STEPS,
        stop_reward=STOP_REWARD,
        eval_episodes=EVAL_EPISODES,
    )
    with Apex(config) as apex:
        result = apex.train()
        report(
            imported,
            {
                "seed": seed,
                "solved": result["solved"],
                "env_steps": result["env_steps"],
                "seconds": round(time.perf_counter() - start, 2),
                "eval_return_mean": result["eval_return_mean"],
                "learner_steps": result["learner_steps"],
            },
        )


def reporter(launched_at: float, tag: str = RESULT_TAG) -> Callable[[float, dict[str, Any]], None]:
    """The child's ``report(imported, run)``: prints ``run`` as its result line, tagged ``tag``.

    Call it first thing in the child: it notes that moment as the child's first line, so the
    line carries ``startup_s`` (launch to here) and ``import_s`` (here to ``imported``, a
    ``time.time()``), with the run's ``seconds`` renamed ``in_process_seconds``.
    """
    first_line = time.time()

    def report(imported: float, run: dict[str, Any]) -> None:
        run = dict(run)
        run["in_process_seconds"] = run.pop("seconds")
        run["startup_s"] = round(first_line - launched_at, 2)
        run["import_s"] = round(imported - first_line, 2)
        print(tag + json.dumps(run), flush=True)

    return report


def child(system: str, seed: int, backend: str, launched_at: float) -> None:
    """Run one contender and print its result line (see the module docstring)."""
    report = reporter(launched_at)

    import torch

    torch.set_num_threads(1)  # as dqn_cartpole.py: every learner on one thread
    if system == "apex":
        run_apex(seed, backend, report)
    elif system == "dqn":
        from dqn_cartpole import run_rlactors

        imported = time.time()
        report(imported, run_rlactors(seed, "inline"))
    else:
        import stable_baselines3  # noqa: F401  (imported here so import_s includes it)
        from dqn_cartpole import run_sb3

        imported = time.time()
        report(imported, run_sb3(seed))


# -- the parent: launch, time, compare -------------------------------------------------------------


def launch(
    system: str, seed: int, backend: str, *, script: str | None = None, tag: str = RESULT_TAG
) -> dict[str, Any]:
    """One fresh-process run of ``system``; seconds from launch to its result line.

    ``script`` (this file by default) is run as ``script --child system --seeds seed --backend
    backend --launched-at t`` and must print its result line tagged ``tag`` (see
    :func:`reporter`); the other actor-critic benchmarks launch themselves through this.
    """
    launched_at = time.time()
    cmd = [
        sys.executable,
        script or os.path.abspath(__file__),
        "--child",
        system,
        "--seeds",
        str(seed),
        "--backend",
        backend,
        "--launched-at",
        repr(launched_at),
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    run: dict[str, Any] | None = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(tag):
            seconds = time.perf_counter() - start
            run = json.loads(line[len(tag) :])
            run["seconds"] = round(seconds, 2)
            break
        print(f"  [{system} {seed}] {line.rstrip()}")
    reported = time.perf_counter()
    try:
        proc.communicate(timeout=CHILD_TIMEOUT_S)  # drain and wait: runs never overlap
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    if run is None:
        return {
            "seed": seed,
            "solved": False,
            "env_steps": None,
            "seconds": round(time.perf_counter() - start, 2),
            "error": f"child exited with {proc.returncode} without a result",
        }
    run["exit_s"] = round(time.perf_counter() - reported, 2)
    # Same key order for every system: the comparison first, the splits after.
    keys = ["seed", "solved", "env_steps", "seconds", "in_process_seconds", "startup_s", "import_s"]
    return {**{k: run.pop(k) for k in keys if k in run}, **run}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def median_unsolved_as_never(runs: list[dict[str, Any]]) -> float | None:
    """Median seconds over all seeds, an unsolved seed counting as never (None if it lands there).

    The bars use ``summary``'s median over solved seeds (as ``dqn_cartpole.py``), which flatters
    a contender that fails seeds; this one is reported beside it.
    """
    import statistics

    values = sorted(r["seconds"] if r["solved"] else float("inf") for r in runs)
    median = statistics.median(values) if values else float("inf")
    return None if median == float("inf") else round(median, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
    parser.add_argument(
        "--backend",
        default="process",
        choices=BACKENDS,
        help="Ape-X's backend, passed to ApexConfig.backend (default: process)",
    )
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--launched-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seeds[0], args.backend, args.launched_at)
        return

    import stable_baselines3
    import torch
    from dqn_cartpole import (
        BAR_SEEDS,
        BUDGET_ENV_STEPS,
        EVAL_EPISODES,
        SB3_ZOO,
        STOP_REWARD,
        summary,
    )

    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
    for seed in args.seeds:
        for system in SYSTEMS:  # interleaved, so machine load falls on all alike
            runs[system].append(launch(system, seed, args.backend))
            print(f"{system:4} seed {seed}: {runs[system][-1]}", flush=True)

    apex, dqn, sb3 = (
        {**summary(runs[s]), "median_seconds_unsolved_as_never": median_unsolved_as_never(runs[s])}
        for s in SYSTEMS
    )
    apex_s = apex["median_seconds_to_solve"]
    dqn_s = dqn["median_seconds_to_solve"]
    sb3_s = sb3["median_seconds_to_solve"]
    need = math.ceil(BAR_SEEDS / 5 * len(args.seeds))  # 4 of 5, as a fraction of the seeds
    bars = {
        f"apex_solves_{need}_of_{len(args.seeds)}_seeds": apex["solved_seeds"] >= need,
        f"apex_median_seconds_le_{BAR_SPEEDUP_OVER_SB3:g}x_sb3": apex_s is not None
        and sb3_s is not None
        and apex_s <= BAR_SPEEDUP_OVER_SB3 * sb3_s,
        "apex_median_seconds_le_rlactors_dqn": apex_s is not None
        and dqn_s is not None
        and apex_s <= dqn_s,
    }
    for name, met in bars.items():
        print(f"bar {name}: {'met' if met else 'NOT met'}")
    result: dict[str, Any] = {
        "benchmark": "apex_cartpole",
        "criterion": f"greedy mean return over {EVAL_EPISODES} episodes >= {STOP_REWARD:g}, "
        f"budget {BUDGET_ENV_STEPS} env steps; seconds from launching a fresh process to its "
        "solved report",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch_threads": 1,
            "torch": torch.__version__,
        },
        "backend": args.backend,
        "apex": {"num_workers": NUM_WORKERS, **apex},
        "rlactors_dqn": dqn,
        "sb3": {"version": stable_baselines3.__version__, "hyperparameters": SB3_ZOO, **sb3},
        "median_seconds_ratio_apex_over_sb3": ratio(apex_s, sb3_s),
        "median_seconds_ratio_apex_over_rlactors_dqn": ratio(apex_s, dqn_s),
        "median_env_steps_ratio_apex_over_sb3": ratio(
            apex["median_env_steps_to_solve"], sb3["median_env_steps_to_solve"]
        ),
        "bars": bars,
        "bars_met": all(bars.values()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
