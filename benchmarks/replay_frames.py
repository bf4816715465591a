"""Frugal replay: bytes per Atari transition and add/sample throughput, frames stored once vs
whole stacks (issue #12's bar: 1M Atari transitions in <= 8 GB).

Transitions are made as DQNEvaluator makes them: K envs stepped in lockstep with random
actions, each feeding its own 3-step accumulator, rows of the envs interleaved per step, one
batch per rollout of 64 steps. The frames are

- ``ale`` (the default): real ones, ``ALE/Pong-v5`` with rlactors' standard preprocessing
  (``[4, 84, 84]`` uint8, frame skip 4, episodic life, FrameStackObservation's padding);
- ``synthetic``: random 84x84 uint8 frames (every frame distinct, so no luck from repeated
  screens) in episodes of 200 to 2000 steps, through the same FrameStackObservation(4).

The frugal buffer is filled to ``--transitions`` (100K by default) and then wrapped around
once more by a quarter, so that eviction and frame reuse are in the figure; bytes per
transition is its storage's ``nbytes`` (the frames written, the rows' columns and frame slots,
the per-frame counts and the fingerprint index) over the rows held, and the 1M figure is that
times 1M: a 1M buffer is *not* filled here (it needs ~7 GB, and the naive one ~56 GB). The
naive buffer is measured at ``--naive-capacity`` (20K: 1.1 GB) because its layout is fixed:
its bytes per transition does not depend on how many rows it holds. Both get the same batches;
add throughput is rows per second inside ``add``, sample throughput the median of
``sample(512)`` (prioritized, as Ape-X samples) taken in turns.

Usage: ``nice -n 10 python benchmarks/replay_frames.py [--source ale|synthetic]
[--transitions 100000] [--quick]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FrameStackObservation

from rlactors.core import SampleBatch
from rlactors.replay import NStepAccumulator, PrioritizedSampler, ReplayBuffer
from rlactors.replay.frame_storage import FrameStackStorage

NUM_ENVS = 4
ROLLOUT_STEPS = 64
N_STEP = 3
SAMPLE_BATCH = 512
BAR_BYTES_1M = 8e9


class SyntheticFrames(gym.Env[np.ndarray, int]):
    """Random 84x84 uint8 frames in episodes of 200 to 2000 steps."""

    observation_space = gym.spaces.Box(0, 255, (84, 84), dtype=np.uint8)
    action_space = gym.spaces.Discrete(6)

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._left = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._left = int(self._rng.integers(200, 2001))
        return self._rng.integers(0, 256, (84, 84), dtype=np.uint8), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._left -= 1
        frame = self._rng.integers(0, 256, (84, 84), dtype=np.uint8)
        return frame, float(self._rng.random() < 0.01), self._left <= 0, False, {}


def make_envs(source: str) -> list[gym.Env[Any, Any]]:
    if source == "synthetic":
        return [FrameStackObservation(SyntheticFrames(i), 4) for i in range(NUM_ENVS)]
    import ale_py  # noqa: F401  (registers the ALE/ ids)

    from rlactors.envs.atari import make_atari

    return [make_atari(gym.spec("ALE/Pong-v5"), {}) for _ in range(NUM_ENVS)]


def rollouts(source: str, seed: int) -> Iterator[tuple[SampleBatch, float]]:
    """``(batch, seconds the envs took)`` per rollout, forever."""
    envs = make_envs(source)
    rng = np.random.default_rng(seed)
    accumulators = [NStepAccumulator(N_STEP, 0.99) for _ in envs]
    states = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    while True:
        start = time.perf_counter()
        pieces = []
        for _ in range(ROLLOUT_STEPS):
            for i, (env, acc) in enumerate(zip(envs, accumulators, strict=True)):
                action = int(rng.integers(env.action_space.n))  # type: ignore[attr-defined]
                next_state, reward, terminated, truncated, _ = env.step(action)
                out = acc.add(states[i], action, float(reward), next_state, terminated, truncated)
                if terminated or truncated:
                    next_state, _ = env.reset()
                states[i] = next_state
                if len(out):
                    pieces.append(out)
        yield SampleBatch.concat(pieces), time.perf_counter() - start


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("ale", "synthetic"), default="ale")
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--naive-capacity", type=int, default=20_000)
    parser.add_argument("--sample-reps", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="5K transitions, a smoke run")
    args = parser.parse_args()
    capacity = 5_000 if args.quick else args.transitions
    naive_capacity = min(capacity, 2_000 if args.quick else args.naive_capacity)

    rss0 = rss_bytes()
    frugal = ReplayBuffer(capacity, PrioritizedSampler(alpha=0.6))
    naive = ReplayBuffer(naive_capacity, PrioritizedSampler(alpha=0.6), store_frames_once=False)
    add_s = {"frugal": 0.0, "naive": 0.0}
    env_s = 0.0
    added = 0
    target = capacity + capacity // 4  # full, then wrapped around by a quarter
    rng = np.random.default_rng(0)
    for batch, seconds in rollouts(args.source, seed=0):
        env_s += seconds
        priorities = rng.random(len(batch))
        for name, buffer in (("frugal", frugal), ("naive", naive)):
            start = time.perf_counter()
            buffer.add(batch, priorities)
            add_s[name] += time.perf_counter() - start
        added += len(batch)
        if added >= target:
            break
    storage = frugal.storage
    assert isinstance(storage, FrameStackStorage), type(storage)
    frugal_bytes = storage.nbytes / len(frugal)
    naive_bytes = naive.storage.nbytes / len(naive)
    frames_per_row = len(storage.pool) / len(frugal)
    rss_after = rss_bytes()

    sample_us: dict[str, list[float]] = {"frugal": [], "naive": []}
    sample_rng = np.random.default_rng(1)
    for rep in range(args.sample_reps):
        order = (("frugal", frugal), ("naive", naive))
        for name, buffer in order if rep % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            buffer.sample(SAMPLE_BATCH, sample_rng, beta=0.4)
            sample_us[name].append((time.perf_counter() - start) * 1e6)

    result = {
        "benchmark": "replay_frames",
        "source": args.source,
        "obs_shape": list(frugal.storage.spec["obs"][0]),
        "transitions_added": added,
        "frugal_capacity": capacity,
        "naive_capacity": naive_capacity,
        "naive_bytes_per_transition": round(naive_bytes, 1),
        "frugal_bytes_per_transition": round(frugal_bytes, 1),
        "frames_per_transition": round(frames_per_row, 4),
        "ratio": round(naive_bytes / frugal_bytes, 2),
        "naive_1m_gb": round(naive_bytes * 1e6 / 1e9, 2),
        "frugal_1m_gb": round(frugal_bytes * 1e6 / 1e9, 2),
        "bar_1m_gb": BAR_BYTES_1M / 1e9,
        "meets_bar": frugal_bytes * 1e6 <= BAR_BYTES_1M,
        "rss_delta_gb": round((rss_after - rss0) / 1e9, 2),
        "frugal_add_rows_per_s": round(added / add_s["frugal"]),
        "naive_add_rows_per_s": round(added / add_s["naive"]),
        "env_rows_per_s": round(added / env_s),
        "frugal_sample512_us": round(float(np.median(sample_us["frugal"]))),
        "naive_sample512_us": round(float(np.median(sample_us["naive"]))),
        "machine": platform.machine(),
    }
    print(
        f"{args.source} frames {result['obs_shape']}: {added} transitions added "
        f"(frugal buffer of {capacity}, naive of {naive_capacity})"
    )
    print(
        f"bytes/transition: naive {naive_bytes:,.0f}, frugal {frugal_bytes:,.0f} "
        f"({frames_per_row:.3f} frames a row) -> 1M transitions: naive "
        f"{result['naive_1m_gb']} GB, frugal {result['frugal_1m_gb']} GB (bar 8 GB)"
    )
    print(
        f"add rows/s: frugal {result['frugal_add_rows_per_s']:,}, naive "
        f"{result['naive_add_rows_per_s']:,} (the envs made {result['env_rows_per_s']:,}/s); "
        f"sample(512) median: frugal {result['frugal_sample512_us']} us, naive "
        f"{result['naive_sample512_us']} us"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
