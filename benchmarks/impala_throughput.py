"""IMPALA against PPO on CartPole-v1: sampling throughput with 2 evaluators while learning runs.

Each run trains one algorithm with its defaults (2 evaluators of 4 envs, ``--backend``,
``process`` by default) for a fixed budget of ``--env-steps`` env steps (60,000) with
``stop_reward`` None, so no greedy evaluation interrupts it, driving ``train_iter()`` itself.
The figures come from the metrics of its iterations:

- ``env_steps_per_s``: env steps over training seconds (``env_steps`` and ``time_s`` of the last
  iteration: the clock starts once the actors are up and stops when the last iteration ends, so
  neither spawning processes nor ``train()``'s closing evaluation count);
- ``steady_env_steps_per_s``: the same, counted from the first iteration that ends at or after
  4,096 env steps (start-up transients left out), for information;
- ``learner_steps_per_s``, and ``sample_wait_s`` / ``learn_time_s``: where the learner's time
  went (waiting for rollouts, learning), summed over the iterations.

PPO (``SyncSamplesOptimizer``) gathers a 256-step round from both evaluators, then runs 20
epochs on it while they idle; IMPALA (``AsyncSamplesOptimizer``) keeps a rollout request queued
at each evaluator, so they sample while the learner learns. That is the asynchrony the bar
measures. Runs go one at a time in this process, interleaved (each seed runs both, the order
alternating), one seed per repeat; figures are medians over the repeats.

Bar: IMPALA's median ``env_steps_per_s`` >= 1.5x PPO's.

Usage: ``python benchmarks/impala_throughput.py [--seeds 0 1 2] [--env-steps 60000]
[--backend process]``. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any

import torch
from apex_cartpole import ratio
from dqn_cartpole import ENV_ID

from rlactors.algorithms import get_algorithm

ALGORITHMS = ("impala", "ppo")
NUM_WORKERS = 2
BAR_IMPALA_OVER_PPO = 1.5
WARMUP_ENV_STEPS = 4096


def run(algo: str, seed: int, env_steps: int, backend: str) -> dict[str, Any]:
    """Train ``algo`` for ``env_steps`` env steps; its throughput figures (module docstring)."""
    entry = get_algorithm(algo)
    config = entry.config_class()(
        env=ENV_ID,
        seed=seed,
        backend=backend,
        num_workers=NUM_WORKERS,
        max_env_steps=env_steps,
        stop_reward=None,
    )
    start = time.perf_counter()
    with entry.algorithm_class()(config) as algorithm:
        metrics: list[dict[str, Any]] = []
        while not algorithm.done:
            metrics.append(algorithm.train_iter())
    wall_s = time.perf_counter() - start
    last = metrics[-1]
    # The steady window starts where the first iteration past the warm-up ends.
    first = next(m for m in metrics if m["env_steps"] >= WARMUP_ENV_STEPS)
    steady_s = last["time_s"] - first["time_s"]
    return {
        "seed": seed,
        "env_steps_per_s": round(last["env_steps"] / last["time_s"], 1),
        "steady_env_steps_per_s": round((last["env_steps"] - first["env_steps"]) / steady_s, 1)
        if steady_s > 0
        else None,
        "learner_steps_per_s": round(last["learner_steps"] / last["time_s"], 1),
        "env_steps": last["env_steps"],
        "learner_steps": last["learner_steps"],
        "iterations": last["iteration"],
        "training_s": round(last["time_s"], 2),
        "wall_s": round(wall_s, 2),
        "sample_wait_s": round(sum(m["sample_wait_s"] for m in metrics), 2),
        "learn_time_s": round(sum(m["learn_time_s"] for m in metrics), 2),
        "episode_return_mean": None
        if last["episode_return_mean"] is None
        else round(last["episode_return_mean"], 1),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the headline figures over repeats, with every repeat kept."""
    keys = ("env_steps_per_s", "steady_env_steps_per_s", "learner_steps_per_s")
    return {
        **{
            k: round(statistics.median(r[k] for r in runs), 1)
            if all(r[k] is not None for r in runs)
            else None
            for k in keys
        },
        "repeats": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="one repeat per seed"
    )
    parser.add_argument("--env-steps", type=int, default=60_000, help="budget of each run")
    parser.add_argument("--backend", default="process", help="inline, process or ray")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {a: [] for a in ALGORITHMS}
    for i, seed in enumerate(args.seeds):
        # Alternate who goes first, so slow phases of a shared machine hit both.
        for algo in ALGORITHMS if i % 2 == 0 else ALGORITHMS[::-1]:
            runs[algo].append(run(algo, seed, args.env_steps, args.backend))
            print(f"{algo:6} seed {seed}: {runs[algo][-1]}", flush=True)
    impala, ppo = (median_of(runs[a]) for a in ALGORITHMS)
    speedup = ratio(impala["env_steps_per_s"], ppo["env_steps_per_s"])
    bar_met = speedup is not None and speedup >= BAR_IMPALA_OVER_PPO
    print(
        f"bar IMPALA env steps/s >= {BAR_IMPALA_OVER_PPO:g}x PPO's (2 evaluators, learning): "
        f"{'met' if bar_met else 'NOT met'} ({speedup})"
    )
    result = {
        "benchmark": "impala_throughput",
        "env_id": ENV_ID,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
        },
        "backend": args.backend,
        "num_workers": NUM_WORKERS,
        "env_steps_per_run": args.env_steps,
        "seeds": args.seeds,
        "impala": impala,
        "ppo": ppo,
        "env_steps_per_s_ratio_impala_over_ppo": speedup,
        "steady_env_steps_per_s_ratio_impala_over_ppo": ratio(
            impala["steady_env_steps_per_s"], ppo["steady_env_steps_per_s"]
        ),
        "bar_met": bar_met,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
