"""Actor call overhead: rlactors against a raw multiprocessing.Pipe and raw Ray actors.

Measures, in one run on this machine:
  * sequential round trip of a no-op call (median and p99, microseconds);
  * pipelined throughput: 10,000 calls in flight, then gathered (calls per second);
  * round trip of a 1 MiB float32 numpy array (median, microseconds).

Systems: the process backend and a raw Pipe to an echo process; where Ray is installed, the
Ray backend and raw Ray actors (a plain one and an async one) in the same local Ray instance.

Bars (ratios from this run): median round trip <= 1.5x the raw Pipe's; pipelined throughput
>= 0.7x the raw Pipe's; >= 8x faster than a Ray actor call; the Ray backend's median round
trip <= 1.1x a raw Ray actor call's (its overhead on top of Ray).
The last line printed is one JSON object with every figure and ratio.

Usage: python benchmarks/actor_calls.py [--calls 3000] [--pipelined 10000]
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rlactors.actors import Runtime, gather, spawn


class Echo:
    """The actor under test: a no-op and an echo."""

    def noop(self) -> None:
        return None

    def echo(self, x: Any) -> Any:
        return x


def _pipe_server(conn: Any) -> None:
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(msg[1] if msg[0] == "echo" else None)


def _summary(samples: list[float]) -> dict[str, float]:
    us = sorted(s * 1e6 for s in samples)
    return {"median_us": statistics.median(us), "p99_us": us[int(0.99 * (len(us) - 1))]}


def _interleaved(
    calls: dict[str, Callable[[], Any]], n: int, rounds: int
) -> dict[str, list[float]]:
    """Time each system's call ``n`` times, in ``rounds`` alternating blocks.

    This machine is shared and its scheduler moves processes between cores, which shifts a
    round trip by 2x from one second to the next; alternating blocks puts every system
    through the same conditions, so the ratios mean something.
    """
    samples: dict[str, list[float]] = {name: [] for name in calls}
    per_block = max(1, n // rounds)
    for fn in calls.values():
        for _ in range(200):  # warm-up
            fn()
    for _ in range(rounds):
        for name, fn in calls.items():
            out = samples[name]
            for _ in range(per_block):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
    return samples


class PipePeer:
    """A raw multiprocessing.Pipe to an echo process: the floor to compare against."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_pipe_server, args=(child,))
        self.proc.start()

    def noop(self) -> None:
        self.conn.send(("noop",))
        self.conn.recv()

    def echo(self, x: Any) -> Any:
        self.conn.send(("echo", x))
        return self.conn.recv()

    def pipelined(self, n: int) -> float:
        # 10,000 in flight over a raw Pipe needs a second thread to send while this one
        # reads, or both ends block on full socket buffers.
        t0 = time.perf_counter()
        sender = threading.Thread(target=lambda: [self.conn.send(("noop",)) for _ in range(n)])
        sender.start()
        for _ in range(n):
            self.conn.recv()
        sender.join()
        return n / (time.perf_counter() - t0)

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join()


def _pipelined_rlactors(ref: Any, n: int) -> float:
    t0 = time.perf_counter()
    gather([ref.ask("noop") for _ in range(n)])
    return n / (time.perf_counter() - t0)


def bench_local(calls: int, pipelined: int, big: np.ndarray) -> dict[str, dict[str, Any]]:
    """rlactors' process backend and the raw Pipe, measured side by side."""
    pipe = PipePeer()
    with Runtime("process"):
        ref = spawn(Echo)
        noop = _interleaved(
            {"pipe": pipe.noop, "rlactors": lambda: ref.ask("noop").result()}, calls, rounds=10
        )
        arrays = _interleaved(
            {"pipe": lambda: pipe.echo(big), "rlactors": lambda: ref.ask("echo", big).result()},
            max(50, calls // 20),
            rounds=5,
        )
        rates: dict[str, list[float]] = {"pipe": [], "rlactors": []}
        for _ in range(3):
            rates["pipe"].append(pipe.pipelined(pipelined))
            rates["rlactors"].append(_pipelined_rlactors(ref, pipelined))
    pipe.close()
    return {
        name: {
            **_summary(noop[name]),
            "pipelined_per_s": statistics.median(rates[name]),
            "array_1mib_median_us": _summary(arrays[name])["median_us"],
        }
        for name in ("pipe", "rlactors")
    }


class AsyncEcho:
    """Echo as an async Ray actor, the kind the Ray backend's hosts are."""

    async def noop(self) -> None:
        return None

    async def echo(self, x: Any) -> Any:
        return x


def bench_ray(calls: int, pipelined: int, big: np.ndarray) -> dict[str, dict[str, Any]] | None:
    """rlactors' Ray backend and raw Ray actors (plain and async), side by side."""
    try:
        import ray
    except ImportError:
        return None
    # Runtime("ray") starts a local Ray instance listening on 127.0.0.1 only (a plain
    # ray.init would listen on every interface); the raw actors run in it too.
    with Runtime("ray", num_cpus=2):
        ref = spawn(Echo)
        raw = ray.remote(Echo).options(num_cpus=0).remote()
        raw_async = ray.remote(AsyncEcho).options(num_cpus=0).remote()
        ray.get([raw.noop.remote(), raw_async.noop.remote()])
        systems: dict[str, Callable[[Any], Any]] = {
            "ray": lambda x: ray.get(raw.echo.remote(x)),
            "ray_async": lambda x: ray.get(raw_async.echo.remote(x)),
            "rlactors_ray": lambda x: ref.ask("echo", x).result(),
        }
        noop = _interleaved(
            {name: functools.partial(fn, None) for name, fn in systems.items()}, calls, rounds=10
        )
        arrays = _interleaved(
            {name: functools.partial(fn, big) for name, fn in systems.items()},
            max(50, calls // 20),
            rounds=5,
        )
        n = min(pipelined, 3000)
        batches: dict[str, Callable[[], Any]] = {
            "ray": lambda: ray.get([raw.noop.remote() for _ in range(n)]),
            "ray_async": lambda: ray.get([raw_async.noop.remote() for _ in range(n)]),
            "rlactors_ray": lambda: gather([ref.ask("noop") for _ in range(n)]),
        }
        rates: dict[str, list[float]] = {name: [] for name in batches}
        for _ in range(3):
            for name, batch in batches.items():
                t0 = time.perf_counter()
                batch()
                rates[name].append(n / (time.perf_counter() - t0))
    return {
        name: {
            **_summary(noop[name]),
            "pipelined_per_s": statistics.median(rates[name]),
            "array_1mib_median_us": _summary(arrays[name])["median_us"],
        }
        for name in systems
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="sequential calls per system")
    parser.add_argument("--pipelined", type=int, default=10_000, help="calls in flight at once")
    args = parser.parse_args()
    big = np.random.default_rng(0).random(1 << 18, dtype=np.float32)  # 1 MiB

    results: dict[str, Any] = bench_local(args.calls, args.pipelined, big)
    ray_results = bench_ray(args.calls, args.pipelined, big)
    if ray_results is None:
        print("ray       not installed, skipped")
    else:
        results.update(ray_results)
    for name, r in results.items():
        print(
            f"{name:12s} round trip median {r['median_us']:7.1f} us  p99 {r['p99_us']:7.1f} us | "
            f"pipelined {r['pipelined_per_s']:9.0f} calls/s | "
            f"1 MiB array {r['array_1mib_median_us']:7.1f} us"
        )
    ours, pipe = results["rlactors"], results["pipe"]
    ratios = {
        "round_trip_vs_pipe": ours["median_us"] / pipe["median_us"],
        "pipelined_vs_pipe": ours["pipelined_per_s"] / pipe["pipelined_per_s"],
        "array_vs_pipe": ours["array_1mib_median_us"] / pipe["array_1mib_median_us"],
    }
    bars = {
        "round_trip_le_1.5x_pipe": ratios["round_trip_vs_pipe"] <= 1.5,
        "pipelined_ge_0.7x_pipe": ratios["pipelined_vs_pipe"] >= 0.7,
    }
    if "ray" in results:
        ray_raw, on_ray = results["ray"], results["rlactors_ray"]
        ratios["ray_round_trip_vs_ours"] = ray_raw["median_us"] / ours["median_us"]
        bars["ge_8x_faster_than_ray"] = ratios["ray_round_trip_vs_ours"] >= 8.0
        # The Ray backend's price: its round trip over a raw Ray actor call's, same run.
        ratios["ray_backend_vs_raw_ray"] = on_ray["median_us"] / ray_raw["median_us"]
        ratios["ray_backend_vs_raw_async_ray"] = (
            on_ray["median_us"] / results["ray_async"]["median_us"]
        )
        ratios["ray_backend_array_vs_raw_ray"] = (
            on_ray["array_1mib_median_us"] / ray_raw["array_1mib_median_us"]
        )
        bars["ray_backend_overhead_le_10pct"] = ratios["ray_backend_vs_raw_ray"] <= 1.10
    for key, value in ratios.items():
        print(f"{key}: {value:.2f}")
    for key, ok in bars.items():
        print(f"bar {key}: {'met' if ok else 'NOT met'}")
    print(json.dumps({"results": results, "ratios": ratios, "bars": bars}))


if __name__ == "__main__":
    main()
