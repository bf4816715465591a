"""Sample batches between processes: the process backend's pickled messages against shared memory.

Issue #13 asks for shared memory for observation and transition batches between processes
"where it pays (measure it)". This measures, in one run, what moving one batch from an actor to
the driver costs:

* **message**: ``ref.ask("batch")`` on the process backend: the batch is pickled (protocol 5)
  into the actor's socket and unpickled in the driver, as every ``sample()`` result travels;
* **shared memory**: what a shared-memory path would cost at best: the actor copies the batch
  into a ``multiprocessing.shared_memory`` block it made once and answers with a small message
  (the block's name is known), and the driver copies the columns out (a replay buffer or a
  learner keeps its own copy, so one copy out is the least it needs);
* **memcpy**: one copy of the batch in one process: the floor.

Batches (obs and next_obs of the env's shape, plus actions and rewards): CartPole-v1's (2,048
rows of ``[4]`` float32: a rollout of 8 envs x 256 steps), MinAtar's (2,048 rows of
``[10, 10, 4]`` bool) and Atari's (512 and 2,048 rows of ``[4, 84, 84]`` uint8, frame stacks as
a naive sampler sends them). Per batch: the median milliseconds of ``--repeats`` round trips,
interleaved, MB/s, and shared memory's saving per batch.

No bar: the figures say where shared memory pays (the answer on this 2-core machine is in
docs/envs.md). Last line: one JSON object.

    python benchmarks/transfer.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from rlactors.actors import ActorRef, Runtime, spawn
from rlactors.core import SampleBatch

#: (name, rows, observation shape, dtype)
BATCHES: list[tuple[str, int, tuple[int, ...], Any]] = [
    ("cartpole", 2048, (4,), np.float32),
    ("minatar", 2048, (10, 10, 4), np.bool_),
    ("atari", 512, (4, 84, 84), np.uint8),
    ("atari", 2048, (4, 84, 84), np.uint8),
]


def make_batch(rows: int, shape: tuple[int, ...], dtype: Any) -> SampleBatch:
    rng = np.random.default_rng(0)
    obs = (rng.random((rows, *shape)) * 255).astype(dtype)
    return SampleBatch(
        obs=obs,
        next_obs=obs.copy(),
        actions=rng.integers(0, 4, rows),
        rewards=rng.random(rows).astype(np.float32),
    )


class BatchSource:
    """An actor holding one batch, which it sends as a message or writes to shared memory."""

    def __init__(self, rows: int, shape: tuple[int, ...], dtype: Any) -> None:
        self.batch = make_batch(rows, shape, dtype)
        size = sum(column.nbytes for column in self.batch.columns.values())
        self.block = shared_memory.SharedMemory(create=True, size=size)

    def layout(self) -> tuple[str, list[tuple[str, tuple[int, ...], str, int]]]:
        """The block's name and each column's (key, shape, dtype, offset)."""
        offset, columns = 0, []
        for key, column in self.batch.columns.items():
            columns.append((key, column.shape, column.dtype.str, offset))
            offset += column.nbytes
        return self.block.name, columns

    def message(self) -> SampleBatch:
        return self.batch

    def write(self) -> int:
        """Copy the batch into the block; the answer is its size (a small message)."""
        offset = 0
        for column in self.batch.columns.values():
            view = np.ndarray(column.shape, column.dtype, self.block.buf, offset)
            view[...] = column
            offset += column.nbytes
        return offset

    def on_stop(self) -> None:
        self.block.close()
        self.block.unlink()


def ask(ref: ActorRef[Any], method: str) -> Any:
    return ref.ask(method).result(120)


def by_shared_memory(
    ref: ActorRef[Any], block: shared_memory.SharedMemory, layout: list[tuple[str, Any, str, int]]
) -> dict[str, np.ndarray]:
    """The actor writes the block; the driver copies each column out of it."""
    assert ask(ref, "write") <= block.size
    return {
        key: np.ndarray(shape, np.dtype(dtype), block.buf, offset).copy()
        for key, shape, dtype, offset in layout
    }


def copy_columns(batch: SampleBatch) -> dict[str, np.ndarray]:
    return {key: column.copy() for key, column in batch.columns.items()}


def measure(repeats: int) -> list[dict[str, Any]]:
    rows_out = []
    with Runtime("process"):
        for name, rows, shape, dtype in BATCHES:
            ref = spawn(BatchSource, rows, shape, dtype)
            block_name, layout = ref.ask("layout").result(60)
            block = shared_memory.SharedMemory(name=block_name)
            local = make_batch(rows, shape, dtype)
            nbytes = sum(column.nbytes for column in local.columns.values())

            ways: dict[str, Callable[[], object]] = {
                "message": partial(ask, ref, "message"),
                "shared_memory": partial(by_shared_memory, ref, block, layout),
                "memcpy": partial(copy_columns, local),
            }
            times: dict[str, list[float]] = {way: [] for way in ways}
            for warm_up in ways.values():
                warm_up()
            for _ in range(repeats):
                for way, run in ways.items():
                    start = time.perf_counter()
                    run()
                    times[way].append(time.perf_counter() - start)
            del block  # its buffer's views are gone; the actor unlinks it
            ref.stop(timeout=10.0)
            medians = {way: statistics.median(t) for way, t in times.items()}
            rows_out.append(
                {
                    "batch": name,
                    "rows": rows,
                    "bytes": nbytes,
                    "ms": {way: m * 1e3 for way, m in medians.items()},
                    "mb_per_s": {way: nbytes / m / 1e6 for way, m in medians.items()},
                    "shared_memory_saves_ms": (medians["message"] - medians["shared_memory"]) * 1e3,
                }
            )
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="round trips per way")
    args = parser.parse_args()
    results = measure(args.repeats)
    print(f"one batch, actor -> driver, median of {args.repeats} (ms; MB/s)")
    print(f"{'batch':>16} {'MB':>7} {'message':>18} {'shared memory':>18} {'memcpy':>18}")
    for row in results:
        cells = "".join(
            f"{row['ms'][way]:>9.2f} ({row['mb_per_s'][way]:>6,.0f})"
            for way in ("message", "shared_memory", "memcpy")
        )
        print(f"{row['batch']:>9} {row['rows']:>6} {row['bytes'] / 1e6:>7.1f} {cells}")
    print(
        json.dumps(
            {
                "benchmark": "transfer",
                "repeats": args.repeats,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
