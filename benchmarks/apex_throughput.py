"""Ape-X throughput on CartPole-v1: env steps/s and learner updates/s with 1, 2 and 4 workers.

Each run is an ``Apex`` (``ApexConfig`` defaults, ``stop_reward`` None, ``--backend``) that first
iterates until the learner has started (replay holds ``learning_starts_transitions``), then runs
a fixed number of iterations of 2,000 env steps with learning running: ``--iterations`` (10,
so 20,000 env steps) at the default replay ratio, ``--ungated-iterations`` (30: these run ~5x
faster, and 20,000 env steps in ~1.5 s were too short to measure on a noisy machine) at the low
one. Figures come from the metrics ``Apex.train_iter()`` returns over those iterations:

- ``env_steps_per_s`` and ``learner_updates_per_s``: env steps and learner steps gained over the
  measured iterations divided by the training time they took (``env_steps``, ``learner_steps``
  and ``time_s`` of the first and last; ``train_iter``'s own ``env_steps_per_s`` averages over
  the whole session, warm-up included, and is reported as ``session_env_steps_per_s``);
- ``iteration_learner_updates_per_s``: the median of the iterations' ``learner_updates_per_s``;
- ``worker_env_steps_per_s``: each worker's own sampling speed (time inside its rollouts) at the
  end.

Ape-X's replay-ratio control holds sampling back whenever the learner lags (default 32 learner
samples per inserted transition), so with the default ratio the env steps/s are the learner's
pace. To measure *sampling* throughput every worker count also runs with ``replay_ratio`` 0.25,
where the learner keeps up with one 128-transition batch per 512 new transitions and
sampling is not gated. Runs go one at a time, interleaved (1, 2, 4 workers, each ratio) and
repeated ``--repeats`` times; figures are medians over the repeats.

Bar: sampling throughput (``replay_ratio`` 0.25, learning running) with 2 workers >= 1.5x that
with 1 worker. The same ratio at the default replay ratio is reported for information.

Usage: ``python benchmarks/apex_throughput.py [--workers 1 2 4] [--iterations 10]
[--ungated-iterations 30] [--repeats 5] [--backend process]``. The last line printed is one
JSON object with every figure.
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

from rlactors.algorithms.apex.algorithm import Apex
from rlactors.algorithms.apex.config import ApexConfig

DEFAULT_REPLAY_RATIO = ApexConfig.replay_ratio
UNGATED_REPLAY_RATIO = 0.25
BAR_TWO_OVER_ONE = 1.5
MAX_WARMUP_ITERATIONS = 10
#: Env steps per measured iteration (kept at 2,000 when ApexConfig's default became 1,000).
ITERATION_ENV_STEPS = 2000


def run(num_workers: int, replay_ratio: float, iterations: int, backend: str) -> dict[str, Any]:
    """One Ape-X run: warm up until learning runs, then measure ``iterations`` iterations."""
    config = ApexConfig(
        env=ENV_ID,
        seed=0,
        backend=backend,  # type: ignore[arg-type]
        num_workers=num_workers,
        replay_ratio=replay_ratio,
        stop_reward=None,
        iteration_env_steps=ITERATION_ENV_STEPS,
        max_env_steps=ITERATION_ENV_STEPS * (iterations + MAX_WARMUP_ITERATIONS + 2),
    )
    with Apex(config) as apex:
        first = apex.train_iter()
        warmup = 1
        while first["learner_steps"] == 0:
            if warmup >= MAX_WARMUP_ITERATIONS:
                raise RuntimeError(f"learning has not started after {warmup} iterations")
            first = apex.train_iter()
            warmup += 1
        measured = [apex.train_iter() for _ in range(iterations)]
    last = measured[-1]
    seconds = last["time_s"] - first["time_s"]
    return {
        "env_steps_per_s": round((last["env_steps"] - first["env_steps"]) / seconds, 1),
        "learner_updates_per_s": round(
            (last["learner_steps"] - first["learner_steps"]) / seconds, 1
        ),
        "iteration_learner_updates_per_s": round(
            statistics.median(m["learner_updates_per_s"] for m in measured), 1
        ),
        "session_env_steps_per_s": round(last["env_steps_per_s"], 1),
        "worker_env_steps_per_s": [round(x, 1) for x in last["worker_env_steps_per_s"]],
        "replay_ratio_achieved": round(last["replay_ratio"], 2),
        "measured_env_steps": last["env_steps"] - first["env_steps"],
        "measured_seconds": round(seconds, 2),
        "warmup_iterations": warmup,
        "sample_wait_s": round(sum(m["sample_wait_s"] for m in measured), 2),
        "learn_time_s": round(sum(m["learn_time_s"] for m in measured), 2),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the headline figures over repeats, with every repeat kept."""
    keys = ("env_steps_per_s", "learner_updates_per_s", "iteration_learner_updates_per_s")
    return {
        **{k: round(statistics.median(r[k] for r in runs), 1) for k in keys},
        "repeats": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--iterations", type=int, default=10, help="measured, 2,000 env steps each")
    parser.add_argument(
        "--ungated-iterations", type=int, default=30, help="the same at replay_ratio 0.25"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backend", default="process", help="Ape-X's backend")
    args = parser.parse_args()
    ratios = {"default": DEFAULT_REPLAY_RATIO, "ungated": UNGATED_REPLAY_RATIO}
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {
        name: {n: [] for n in args.workers} for name in ratios
    }
    for repeat in range(args.repeats):
        for name, replay_ratio in ratios.items():
            for n in args.workers:
                start = time.perf_counter()
                iterations = args.iterations if name == "default" else args.ungated_iterations
                figures = run(n, replay_ratio, iterations, args.backend)
                runs[name][n].append(figures)
                print(
                    f"repeat {repeat} replay_ratio {replay_ratio:g} workers {n}: {figures} "
                    f"({time.perf_counter() - start:.1f} s)",
                    flush=True,
                )
    results = {
        name: {
            "replay_ratio": ratios[name],
            **{f"workers_{n}": median_of(r) for n, r in by.items()},
        }
        for name, by in runs.items()
    }

    def two_over_one(name: str) -> float | None:
        table = results[name]
        if "workers_1" not in table or "workers_2" not in table:
            return None
        return ratio(table["workers_2"]["env_steps_per_s"], table["workers_1"]["env_steps_per_s"])

    ungated, gated = two_over_one("ungated"), two_over_one("default")
    bar_met = ungated is not None and ungated >= BAR_TWO_OVER_ONE
    print(
        f"bar sampling env steps/s, 2 workers >= {BAR_TWO_OVER_ONE:g}x 1 worker "
        f"(replay_ratio {UNGATED_REPLAY_RATIO:g}): {'met' if bar_met else 'NOT met'} ({ungated})"
    )
    print(f"(for information, at the default replay_ratio {DEFAULT_REPLAY_RATIO:g}: {gated})")
    result = {
        "benchmark": "apex_throughput",
        "env_id": ENV_ID,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
        },
        "backend": args.backend,
        "iteration_env_steps": ITERATION_ENV_STEPS,
        "measured_iterations": {"default": args.iterations, "ungated": args.ungated_iterations},
        "repeats": args.repeats,
        "ungated_sampling": results["ungated"],
        "default_replay_ratio": results["default"],
        "env_steps_per_s_ratio_2_over_1_workers_ungated": ungated,
        "env_steps_per_s_ratio_2_over_1_workers_default_replay_ratio": gated,
        "bar_met": bar_met,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
