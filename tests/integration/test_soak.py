"""A short soak: Ape-X for 1.75 minutes holds the memory, fds and threads of its processes.

``benchmarks/soak.py`` runs 30 minutes after a 5-minute warm-up and holds every process to 10%
growth; this runs its :func:`run_soak` in the test process (the driver) for 1.75 minutes, of
which 0.75 are a warm-up, with medians over 30 s windows, and holds the looser bounds below. The
driver's descendants are sampled as rlactors' processes only (the fork server and the actors):
a Ray instance that other tests of the session started is a descendant too, and not ours.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
#: Total RSS growth allowed in the minute after the warm-up (the benchmark's bar is 10%).
TOTAL_RSS_GROWTH = 0.25
WORKERS, SHARDS = 2, 2
#: Open fds a process may gain: its connections are made when the actors start.
FDS_GAINED = 2
#: Threads a process may gain: each connection's outbox starts a writer thread the first time
#: its socket is full, and keeps it (rlactors.actors.backends.outbox). The driver has one
#: connection per actor (4), an actor at most 3 (the driver's, and a worker's to each shard or
#: each worker's to a shard). In one run the driver gained 2, 2 minutes in. A leak would add
#: a thread per call or rollout: thousands in these minutes.
THREADS_GAINED = WORKERS + SHARDS
TOTAL_THREADS_GAINED = (WORKERS + SHARDS) * (1 + 3)


def load_soak() -> ModuleType:
    """``benchmarks/soak.py`` as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(240)
def test_apex_holds_its_memory_fds_and_threads_for_minutes() -> None:
    soak = load_soak()
    report: dict[str, Any] = soak.run_soak(
        minutes=1.75,
        warmup_minutes=0.75,
        window_minutes=0.5,
        period_s=2.0,
        workers=WORKERS,
        shards=SHARDS,
        include=soak.is_rlactors_process,
        progress_every_s=30.0,
    )
    print(soak.table(report))  # shown by pytest when the test fails
    processes = report["processes"]
    names = set(processes)
    expected = {"driver", "fork server", "replay-0 (ReplayShard)", "replay-1 (ReplayShard)"}
    expected |= {f"worker-{i} (ApexWorker)" for i in range(WORKERS)}
    assert expected <= names, names
    assert report["buffer_full_in_warmup"], report["training"]
    assert report["training"]["worker_restarts"] == 0
    assert report["samples"]["first_window"] >= 5 and report["samples"]["last_window"] >= 5
    for name in expected:
        row = processes[name]
        assert row["status"] == "in both windows" and row["restarts"] == 0, (name, row)
        assert row["fds"]["change"] <= FDS_GAINED, (name, row["fds"])
        assert row["threads"]["change"] <= THREADS_GAINED, (name, row["threads"])
    total = report["total"]
    assert total["rss_mib"]["growth"] <= TOTAL_RSS_GROWTH, total["rss_mib"]
    assert total["fds"]["change"] <= 2 * FDS_GAINED, total["fds"]
    assert total["threads"]["change"] <= TOTAL_THREADS_GAINED, total["threads"]
    assert total["processes"]["change"] == 0, total["processes"]
    # Nothing piles up in the driver: futures in flight are bounded by the config (two
    # rollouts per worker, two sample requests per shard), and none wait unanswered.
    driver = report["driver_python"]
    assert driver["futures_in_flight"]["last"] <= 2 * WORKERS + 2 * SHARDS, driver
    assert driver["pending_futures"]["last"] <= 2 * WORKERS + 2 * SHARDS, driver
