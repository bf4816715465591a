"""The pure parts of ``benchmarks/inference.py``: the server's batches between two readings,
the server/local ratios and the solve summary (the measurements are the benchmark's, never a
test's)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """``benchmarks/inference.py`` as a module (benchmarks/ is not a package)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        path = BENCHMARKS / "inference.py"
        spec = importlib.util.spec_from_file_location("inference_benchmark", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["inference_benchmark"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def stats(batches: int, requests: int, rows: int, histogram: dict[str, int]) -> dict[str, Any]:
    return {
        "batches": batches, "requests": requests, "rows": rows, "largest_batch_rows": 32,
        "forward_s": 0.5 * batches, "batch_rows": histogram, "restarts": 0,
    }  # fmt: skip


def test_batches_between_two_readings_are_differences(bench: ModuleType) -> None:
    before = stats(10, 20, 40, {"1": 2, "4-7": 8})
    after = stats(30, 100, 440, {"1": 2, "4-7": 8, "16-31": 20})
    got = bench.batch_stats_between(before, after)
    # 20 batches of 400 rows from 80 requests; the buckets unchanged since drop out.
    assert got["batches"] == 20 and got["requests"] == 80 and got["rows"] == 400
    assert got["rows_per_batch"] == 20.0 and got["requests_per_batch"] == 4.0
    assert got["forward_s"] == pytest.approx(10.0)
    assert got["batch_rows"] == {"16-31": 20}
    assert got["largest_batch_rows_since_start"] == 32
    assert bench.batch_stats_between(after, after)["rows_per_batch"] == 0.0


def row(kind: str, network: str, inference: str, per_s: float, per_cpu_s: float) -> dict[str, Any]:
    return {"kind": kind, "network": network, "inference": inference,
            "env_steps_per_s": per_s, "env_steps_per_cpu_s": per_cpu_s}  # fmt: skip


def test_sampling_ratios_divide_each_server_by_its_local_row(bench: ModuleType) -> None:
    rows = [
        row("q", "default", "local", 1000.0, 800.0),
        row("q", "default", "server_0ms", 500.0, 200.0),
        row("q", "large", "local", 400.0, 300.0),
        row("q", "large", "server_2ms", 600.0, 450.0),
        row("actor_critic", "default", "server_2ms", 10.0, 5.0),  # no local row to divide by
    ]
    assert bench.sampling_ratios(rows) == {
        "q_default_server_0ms": {"env_steps_per_s": 0.5, "env_steps_per_cpu_s": 0.25},
        "q_large_server_2ms": {"env_steps_per_s": 1.5, "env_steps_per_cpu_s": 1.5},
        "actor_critic_default_server_2ms": {"env_steps_per_s": None, "env_steps_per_cpu_s": None},
    }


def run(seed: int, solved: bool, seconds: float, env_steps: int = 1000) -> dict[str, Any]:
    return {"seed": seed, "solved": solved, "seconds": seconds, "env_steps": env_steps,
            "env_steps_per_s": env_steps / (seconds - 1.0)}  # fmt: skip


def test_solve_summary_takes_per_seed_ratios(bench: ModuleType) -> None:
    runs = {
        "local": [run(0, True, 11.0), run(1, True, 21.0), run(2, False, 101.0), run(3, True, 41.0)],
        "server": [
            run(0, True, 21.0), run(1, True, 31.0, 3000), run(2, True, 6.0), run(3, False, 2.0)
        ],
    }  # fmt: skip
    got = bench.solve_summary(runs)
    assert got["local"]["solved_seeds"] == 3 and got["server"]["solved_seeds"] == 3
    assert got["local"]["median_seconds_to_solve"] == 21.0
    assert got["server"]["median_seconds_to_solve"] == 21.0
    assert got["median_seconds_ratio_server_over_local"] == 1.0
    # Wall: seeds both solved (0 and 1): 21/11 and 31/21.
    assert got["median_wall_ratio_server_over_local"] == round((21 / 11 + 31 / 21) / 2, 3)
    # Speed, on every seed: local 100, 50, 10, 25; server 50, 100, 200, 1000; ratios 0.5, 2,
    # 20, 40.
    assert got["local"]["median_env_steps_per_s"] == 37.5
    assert got["median_env_steps_per_s_ratio_server_over_local"] == 11.0
    none_solved = bench.solve_summary({"local": [run(0, False, 2.0)], "server": []})
    assert none_solved["median_wall_ratio_server_over_local"] is None
    assert none_solved["median_env_steps_per_s_ratio_server_over_local"] is None
    assert none_solved["local"]["median_env_steps_to_solve"] is None


def test_cpu_and_memory_of_this_process_are_read_from_proc(bench: ModuleType) -> None:
    assert bench.rss_mib(os.getpid()) > 1.0
    assert bench.cpu_s(os.getpid()) > 0.0
    with pytest.raises(RuntimeError, match="expected one descendant process titled"):
        bench.descendant_titled("no process has this title 5c0ffee")
