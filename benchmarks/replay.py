"""Replay throughput: rlactors' prioritized ReplayBuffer against cpprb, measured in the same run.

Two figures, for CartPole-sized transitions (obs/next_obs float32[4], int64 action, float32
reward and discount):

- insert rate: transitions per second, added in batches of 64 with initial priorities (as Ape-X
  evaluators send them), while filling the buffer to capacity;
- sample + update: median microseconds for one ``sample(512)`` (the rows, ids and IS weights)
  followed by one priority update of those 512 rows, on the full buffer, after a warm-up.

cpprb is measured twice: as constructed by default, and with ``check_for_update=True``, which
gives it the same guarantee ours always has (priority updates for rows overwritten since they were
sampled are dropped). The bar (ratio <= 0.6) is against the default, faster, configuration.

The contenders take turns call by call (in rotating order), so that load from other processes on
a shared machine falls on all of them alike and the ratios stay meaningful.

Usage: ``python benchmarks/replay.py [--capacity 1000000] [--reps 300] [--quick]``. The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlactors.replay import PrioritizedSampler, ReplayBuffer

INSERT_BATCH = 64
SAMPLE_BATCH = 512
ALPHA = 0.6
BETA = 0.4
EPS = 1e-4  # cpprb's default
BAR = 0.6

Columns = dict[str, np.ndarray]


@dataclass
class Contender:
    """One replay implementation: how to add a chunk, and one sample + update step."""

    name: str
    add: Callable[[Columns, np.ndarray], object]
    step: Callable[[np.ndarray], object]
    insert_seconds: float = 0.0
    step_us: list[float] = field(default_factory=list)


def make_transitions(n: int, seed: int) -> Columns:
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, 4), dtype=np.float32)
    return {
        "obs": obs,
        "actions": rng.integers(0, 2, n, dtype=np.int64),
        "rewards": np.ones(n, dtype=np.float32),
        "next_obs": obs + np.float32(0.01),
        "discounts": np.full(n, 0.99**3, dtype=np.float32),
    }


def ours(capacity: int) -> Contender:
    buffer = ReplayBuffer(capacity, PrioritizedSampler(alpha=ALPHA, eps=EPS))
    rng = np.random.default_rng(0)

    def step(prio: np.ndarray) -> None:
        sample = buffer.sample(SAMPLE_BATCH, rng, beta=BETA)
        buffer.update_priorities(sample.ids, prio)

    return Contender("rlactors", lambda cols, prio: buffer.add(cols, priorities=prio), step)


def theirs(capacity: int, check_for_update: bool) -> Contender:
    import cpprb

    env_dict = {
        "obs": {"shape": 4, "dtype": np.float32},
        "actions": {"dtype": np.int64},
        "rewards": {"dtype": np.float32},
        "next_obs": {"shape": 4, "dtype": np.float32},
        "discounts": {"dtype": np.float32},
    }
    buffer = cpprb.PrioritizedReplayBuffer(
        capacity, env_dict, alpha=ALPHA, eps=EPS, check_for_update=check_for_update
    )

    def step(prio: np.ndarray) -> None:
        sample = buffer.sample(SAMPLE_BATCH, beta=BETA)
        buffer.update_priorities(sample["indexes"], prio)

    name = "cpprb_check_for_update" if check_for_update else "cpprb"
    return Contender(name, lambda cols, prio: buffer.add(**cols, priorities=prio), step)


def fill(contenders: list[Contender], data: Columns, priorities: np.ndarray) -> None:
    """Fill every buffer to capacity, chunk by chunk in turn; accumulate each one's time."""
    for i in range(0, len(priorities), INSERT_BATCH):
        columns = {k: v[i : i + INSERT_BATCH] for k, v in data.items()}
        prio = priorities[i : i + INSERT_BATCH]
        for c in contenders:
            start = time.perf_counter()
            c.add(columns, prio)
            c.insert_seconds += time.perf_counter() - start


def time_steps(contenders: list[Contender], new_priorities: np.ndarray, warmup: int) -> None:
    """One sample + update per contender per rep, in rotating order; warm-up reps untimed."""
    for rep in range(warmup + len(new_priorities)):
        prio = new_priorities[rep % len(new_priorities)]
        shift = rep % len(contenders)
        for c in contenders[shift:] + contenders[:shift]:
            start = time.perf_counter()
            c.step(prio)
            if rep >= warmup:
                c.step_us.append((time.perf_counter() - start) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay insert and sample+update vs cpprb.")
    parser.add_argument("--capacity", type=int, default=1_000_000, help="transitions (full buffer)")
    parser.add_argument("--reps", type=int, default=300, help="timed sample+update reps")
    parser.add_argument("--warmup", type=int, default=30, help="untimed reps first")
    parser.add_argument("--quick", action="store_true", help="2**17 transitions, 100 reps")
    args = parser.parse_args()
    if args.quick:
        args.capacity, args.reps = 1 << 17, 100

    rng = np.random.default_rng(1)
    data = make_transitions(args.capacity, seed=0)
    priorities = rng.exponential(1.0, args.capacity)
    new_priorities = rng.exponential(1.0, (args.reps, SAMPLE_BATCH))
    print(
        f"replay benchmark: {args.capacity:,} CartPole-sized transitions, inserts of "
        f"{INSERT_BATCH}, sample {SAMPLE_BATCH} + update, {args.reps} reps "
        f"(Python {platform.python_version()}, numpy {np.__version__})"
    )

    contenders = [ours(args.capacity)]
    try:
        contenders += [theirs(args.capacity, False), theirs(args.capacity, True)]
    except ImportError:
        print("  cpprb is not installed (pip install cpprb, or the 'bench' extra): no comparison")
    fill(contenders, data, priorities)
    time_steps(contenders, new_priorities, args.warmup)

    results: dict[str, Any] = {
        "benchmark": "replay",
        "capacity": args.capacity,
        "insert_batch": INSERT_BATCH,
        "sample_batch": SAMPLE_BATCH,
        "reps": args.reps,
    }
    for c in contenders:
        figures = {
            "insert_per_s": args.capacity / c.insert_seconds,
            "sample_update_us": float(np.median(c.step_us)),
            "sample_update_p90_us": float(np.percentile(c.step_us, 90)),
        }
        results[c.name] = figures
        print(
            f"  {c.name:<24} insert {figures['insert_per_s']:>10,.0f} transitions/s   "
            f"sample+update median {figures['sample_update_us']:6.0f} us "
            f"(p90 {figures['sample_update_p90_us']:.0f})"
        )
    if "cpprb" in results:
        mine = results["rlactors"]
        ratio = mine["sample_update_us"] / results["cpprb"]["sample_update_us"]
        results["ratio_sample_update"] = ratio
        results["ratio_sample_update_vs_check_for_update"] = (
            mine["sample_update_us"] / results["cpprb_check_for_update"]["sample_update_us"]
        )
        results["ratio_insert_rate"] = mine["insert_per_s"] / results["cpprb"]["insert_per_s"]
        results["bar"] = BAR
        results["passed"] = ratio <= BAR
        verdict = "PASS" if ratio <= BAR else "FAIL"
        print(f"  sample+update time, rlactors / cpprb: {ratio:.2f} (bar <= {BAR}): {verdict}")
    else:
        results["ratio_sample_update"] = None
    print(json.dumps(results))


if __name__ == "__main__":
    main()
