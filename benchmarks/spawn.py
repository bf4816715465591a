"""Spawning N actors: one at a time (``spawn_with`` in a loop) against one batch (``spawn_many``).

Measures, in one run on this machine, the wall time from the first spawn until every one of N
trivial actors has answered a ping, for N = 1, 16, 64 (and 256 with ``--max 256``):
  * the process backend, ``spawn_with`` in a loop: each actor's process is started and its
    constructor awaited before the next one starts (what WorkerGroup did before issue #13);
  * the process backend, ``spawn_many``: every process started, then all awaited;
  * the same two with ``start_method="forkserver"`` (actor processes forked from a server
    that has imported the runtime once, instead of a fresh interpreter each);
  * where Ray is installed, in one local Ray instance (2 CPUs, loopback only, no dashboard):
    Ray's own actors (``ray.remote`` creation of all N, then ``ray.get`` on a ping to each) and
    rlactors' Ray backend with ``spawn_many``.

The ratios that count are ``in_turn / spawn_many`` at each N (how much the batch saves) and
``ray / spawn_many`` (how we compare with Ray's actor creation). What the batch can save is
the time a spawn waits rather than computes: a new actor process spends 90-110 ms of CPU
starting an interpreter and importing (60-80 ms forked from a server), so on 2 cores that
other jobs keep busy a batch is CPU-bound and gains little (0.85-1.0x, measured under a load
average of 10-18); with idle cores it can gain up to their number. The actors are stopped after
each measurement, outside the timed part. The last line printed is one JSON object with every
figure and ratio.

Usage: python benchmarks/spawn.py [--max 64]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from rlactors.actors import (
    ActorOptions,
    ActorRef,
    Runtime,
    SpawnRequest,
    gather,
    spawn_many,
    spawn_with,
)


class Trivial:
    """The actor under test: nothing to build, one method to answer."""

    def ping(self) -> str:
        return "pong"


def _in_turn(n: int) -> list[ActorRef[Trivial]]:
    return [spawn_with(ActorOptions(name=f"trivial-{i}"), Trivial) for i in range(n)]


def _batch(n: int) -> list[ActorRef[Trivial]]:
    return spawn_many(
        SpawnRequest(Trivial, options=ActorOptions(name=f"trivial-{i}")) for i in range(n)
    )


def _timed(spawn: Callable[[int], list[ActorRef[Trivial]]], n: int) -> float:
    """Seconds until ``n`` actors spawned by ``spawn`` all answered a ping; then stops them."""
    t0 = time.perf_counter()
    refs = spawn(n)
    assert gather([ref.ask("ping") for ref in refs], timeout=600) == ["pong"] * n
    elapsed = time.perf_counter() - t0
    for ref in refs:
        ref.stop()
    return elapsed


def bench_process(sizes: list[int], start_method: str) -> dict[str, dict[int, float]]:
    label = "process" if start_method == "spawn" else start_method
    in_turn, batch = f"{label}_in_turn_s", f"{label}_spawn_many_s"
    out: dict[str, dict[int, float]] = {in_turn: {}, batch: {}}
    with Runtime("process", start_method=start_method):
        _timed(_batch, 2)  # warm-up: the first start pays for imports (and the fork server)
        for n in sizes:
            out[in_turn][n] = _timed(_in_turn, n)
            out[batch][n] = _timed(_batch, n)
            print(
                f"{label:10s} N={n:4d}  in turn {out[in_turn][n]:7.2f} s   "
                f"spawn_many {out[batch][n]:7.2f} s"
            )
    return out


def bench_ray(sizes: list[int]) -> dict[str, dict[int, float]] | None:
    try:
        import ray
    except ImportError:
        return None
    out: dict[str, dict[int, float]] = {"ray_s": {}, "rlactors_ray_spawn_many_s": {}}
    # Runtime("ray") starts a local Ray instance that listens on 127.0.0.1 only, without the
    # dashboard (a plain ray.init would listen on every interface); Ray's own actors run in
    # it too.
    with Runtime("ray", num_cpus=2):
        raw_class = ray.remote(Trivial).options(num_cpus=0)

        def raw(n: int) -> float:
            t0 = time.perf_counter()
            actors = [raw_class.remote() for _ in range(n)]
            assert ray.get([a.ping.remote() for a in actors], timeout=600) == ["pong"] * n
            elapsed = time.perf_counter() - t0
            for a in actors:
                ray.kill(a)
            return elapsed

        raw(2)  # warm-up
        for n in sizes:
            out["ray_s"][n] = raw(n)
            out["rlactors_ray_spawn_many_s"][n] = _timed(_batch, n)
            print(
                f"ray        N={n:4d}  ray actors {out['ray_s'][n]:7.2f} s   "
                f"rlactors on ray spawn_many {out['rlactors_ray_spawn_many_s'][n]:7.2f} s"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max", type=int, default=64, help="largest N (256 adds N=256)")
    args = parser.parse_args()
    sizes = [n for n in (1, 16, 64, 256) if n <= args.max]
    results: dict[str, Any] = {
        **bench_process(sizes, "spawn"),
        **bench_process(sizes, "forkserver"),
    }
    ray_results = bench_ray(sizes)
    if ray_results is None:
        print("ray        not installed, skipped")
    else:
        results.update(ray_results)
    ratios: dict[str, dict[int, float]] = {"in_turn_vs_spawn_many": {}}
    for n in sizes:
        many = results["process_spawn_many_s"][n]
        ratios["in_turn_vs_spawn_many"][n] = results["process_in_turn_s"][n] / many
        ratios.setdefault("forkserver_in_turn_vs_spawn_many", {})[n] = (
            results["forkserver_in_turn_s"][n] / results["forkserver_spawn_many_s"][n]
        )
        if ray_results is not None:
            ratios.setdefault("ray_vs_spawn_many", {})[n] = ray_results["ray_s"][n] / many
    for key, per_n in ratios.items():
        print(f"{key}: " + ", ".join(f"N={n} {r:.2f}x" for n, r in per_n.items()))
    print(json.dumps({**results, "ratios": ratios}))


if __name__ == "__main__":
    main()
