"""Soak: Ape-X trains CartPole-v1 for 30 minutes; its processes' memory, fds and threads stay flat.

An ``Apex`` (``ApexConfig`` defaults but: the process backend, ``--workers`` 2 workers,
``--shards`` 2 replay shards, a ``--buffer-capacity`` of 20,000 transitions, ``stop_reward``
None and no budget, so it trains until stopped) runs for ``--minutes`` (30). Every
``--period-s`` (5 s; at the first iteration boundary after each tick, about 0.2 s later) this
script reads from ``/proc``, for the driver (this process) and every process descended from it
(the fork server, multiprocessing's resource tracker, and the actor processes the fork server
forked), the resident set size (``VmRSS``), the open file descriptors (``/proc/<pid>/fd``) and
the threads. A process is known by its title (setproctitle: ``rlactors: worker-1
(ApexWorker)``, from ``/proc/<pid>/cmdline``), so an actor that was restarted under a new pid is
compared as the same actor and its pids are listed.

The replay buffer fills within the first minute (600-2,000 env steps/s at Ape-X's default replay
ratio on this shared 2-core machine; full after 10-25 s), so from then on nothing should grow.
Growth of a figure is ``(last - first) / first``, where ``first`` is its median over the first
``--window-minutes`` (1) after the ``--warmup-minutes`` (5) warm-up and ``last`` its median
over the last window: medians over a minute, so a garbage collection or a sample taken
mid-message does not decide.

Bar (issue #14): the growth of RSS, open fds and threads is <= 10% for every process and for
their total, and the buffer was full before the warm-up ended. Measured with ``--minutes 10
--warmup-minutes 3`` (2 cores shared with other work, load 1.4-3.6): total RSS 450.8 -> 451.2
MiB (+0.1%), at most +0.2% for one process (the driver: +0.4 MiB, of which the driver's
Python-level growth, ~9 gc objects a sample, is this script's own record), fds and threads
unchanged; 1.14M env steps at 1,800-2,050 env steps/s, no restarts.

Reported besides, without a bar: each process's proportional set size (PSS: forked actors share
pages with the fork server, which RSS counts in each of them; the total's PSS counts them once;
but a library's pages are shared with every process on the machine that maps it, so PSS moves
with other torch programs starting and ending on a shared machine, and the driver's did by
5-20% in a minute while its RSS stayed within 0.1%);
the driver's Python-level state at each sample: objects the garbage collector tracks, pymalloc's
allocated blocks, and the containers that would grow if something were kept per call or per
iteration (futures in flight and pending per channel, channels, unsent priority updates, the
window of training returns); the object types whose counts grew most between the first window
and the end; env steps/s in the first and last windows (a run that slows down over an hour is
a finding too). This script keeps one small record per sample (360 in 30 minutes, ~10 objects
each: they are the ``ProcessSample``, ``Sample`` and ``dict`` objects in the growth of types) and
no metrics rows; ``--timeline-out`` writes every sample as a JSON line.

With ``--cli`` the driver is ``rlactors train apex`` in a subprocess instead (what a user runs
for hours: it also writes ``metrics.jsonl``, a checkpoint every ``--checkpoint-every`` (5m) and
the learning curve), sampled the same way from outside, without its Python-level state.

``tests/integration/test_soak.py`` runs :func:`run_soak` for 2.5 minutes with a looser bound.

Usage: ``python benchmarks/soak.py [--minutes 30] [--warmup-minutes 5] [--window-minutes 1]
[--period-s 5] [--workers 2] [--shards 2] [--buffer-capacity 20000] [--seed 0]
[--timeline-out FILE] [--cli [--checkpoint-every 5m]]``. Progress goes to stderr; the
per-process table, then one JSON object with every figure (its last line), to stdout.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# No torch at the top: the fork server imports this script (the preload's ``__main__``) and
# every actor forked from it would then hold torch, which a user's Ape-X actors do not.

ENV_ID = "CartPole-v1"
#: The bar: growth after the warm-up, of every process and of the total.
BAR_GROWTH = 0.10
#: The title prefix of rlactors' processes (rlactors.actors.backends.proctitle).
TITLE_PREFIX = "rlactors: "
#: The figures the bar is about, per process.
FIGURES = ("rss_kib", "fds", "threads")
#: The figures of a process and their units in the report (RSS and PSS in MiB).
SCALES = (("rss_kib", 1024.0), ("pss_kib", 1024.0), ("fds", 1.0), ("threads", 1.0))
#: Driver state figures (see :func:`driver_state`).
DRIVER_FIGURES = (
    "gc_objects",
    "allocated_blocks",
    "channels",
    "pending_futures",
    "outbox_backlog_parts",
    "actor_handles",
    "futures_in_flight",
    "priority_updates_waiting",
    "training_returns_kept",
)


# -- reading /proc ---------------------------------------------------------------------------------


class ProcessSample(NamedTuple):
    """One process at one moment, as ``/proc`` tells it.

    Attributes:
        pid: Process id.
        ppid: Parent's pid.
        title: Its command line (arguments joined by spaces), which setproctitle replaces.
        rss_kib: Resident set size (``VmRSS``), KiB.
        pss_kib: Proportional set size (``smaps_rollup``), KiB; None where the kernel has none.
        fds: Open file descriptors.
        threads: Threads.
    """

    pid: int
    ppid: int
    title: str
    rss_kib: int
    pss_kib: int | None
    fds: int
    threads: int


def parent_pids() -> dict[int, int]:
    """``{pid: parent pid}`` of every process on the machine (those that vanish while read are
    left out)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def read_process(pid: int) -> ProcessSample | None:
    """``pid``'s figures, or None if it is gone (or a zombie, which has no memory left)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:  # gone meanwhile (FileNotFoundError, ProcessLookupError)
        return None
    if "VmRSS" not in status:
        return None
    pss: int | None = None
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            pss = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration):
        pass
    return ProcessSample(
        pid=pid,
        ppid=int(status["PPid"]),
        title=" ".join(argv),
        rss_kib=int(status["VmRSS"].split()[0]),
        pss_kib=pss,
        fds=fds,
        threads=int(status["Threads"]),
    )


def sample_processes(
    root: int, include: Callable[[ProcessSample], bool] | None = None
) -> list[ProcessSample]:
    """``root`` and every process descended from it, walking the tree from ``root`` down.

    Args:
        root: The driver's pid.
        include: Which descendants to keep (default: all); one left out is not descended
            into (e.g. a test keeps rlactors' processes and leaves out a Ray instance's).
    """
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, ppid in parent_pids().items():
        children[ppid].append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        sample = read_process(pid)
        if sample is None or (pid != root and include is not None and not include(sample)):
            continue
        found.append(sample)
        todo.extend(children.get(pid, ()))
    return found


def is_rlactors_process(sample: ProcessSample) -> bool:
    """An actor process or the fork server (titled ``rlactors: ...``)."""
    return sample.title.startswith(TITLE_PREFIX)


def process_name(sample: ProcessSample, root: int) -> str:
    """``driver``, the actor's title without ``rlactors: `` (``worker-1 (ApexWorker)``, ``fork
    server``), or the start of another process's command line."""
    if sample.pid == root:
        return "driver"
    if sample.title.startswith(TITLE_PREFIX):
        return sample.title[len(TITLE_PREFIX) :]
    helper = re.search(r"from (multiprocessing\.\w+) import", sample.title)
    if helper is not None:  # started by multiprocessing with -c: its resource tracker
        return helper.group(1)
    argv0, _, rest = sample.title.partition(" ")
    return f"{os.path.basename(argv0)} {rest}"[:48].strip()


def driver_state(apex: Any = None) -> dict[str, int | None]:
    """The driver's Python-level state that grows if something is kept per call or iteration.

    ``gc_objects`` (objects the collector tracks), ``allocated_blocks`` (pymalloc's), and, of
    the process backend's transport: ``channels``, ``pending_futures`` (awaiting an answer, over
    every channel), ``outbox_backlog_parts``, ``actor_handles``; of ``apex`` (an ``Apex``) if
    given: ``futures_in_flight`` and ``priority_updates_waiting`` (Ape-X's optimizer) and
    ``training_returns_kept``. Private attributes, read where they exist (None elsewhere): this
    is a probe, not an API.
    """
    from rlactors.actors.backends.channel import transport

    tr = transport()
    channels = list(tr.channels.values())
    optimizer = getattr(apex, "_optimizer", None)
    inflight = getattr(optimizer, "_inflight", None)
    priorities = getattr(optimizer, "_priorities", None)
    returns = getattr(apex, "_returns", None)
    return {
        "gc_objects": len(gc.get_objects()),
        "allocated_blocks": sys.getallocatedblocks(),
        "channels": len(channels),
        "pending_futures": sum(len(ch.pending) for ch in channels),
        "outbox_backlog_parts": sum(len(ch.outbox.backlog) for ch in channels),
        "actor_handles": len(tr.handles),
        "futures_in_flight": None if inflight is None else len(inflight),
        "priority_updates_waiting": None if priorities is None else sum(len(p) for p in priorities),
        "training_returns_kept": None if returns is None else len(returns),
    }


def thread_names() -> dict[str, int]:
    """The driver's Python threads by name, numbers masked (``Thread-N (serve)``): a late
    ``rlactors-outbox-request`` is a connection's writer thread, started the first time its
    socket was full (once per connection, kept; rlactors.actors.backends.outbox)."""
    names = collections.Counter(re.sub(r"\d+", "N", t.name) for t in threading.enumerate())
    return dict(sorted(names.items()))


def object_types() -> collections.Counter[str]:
    """How many objects of each type the garbage collector tracks."""
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


# -- the record and its analysis -------------------------------------------------------------------


@dataclass
class Sample:
    """Everything read at one moment: ``t`` seconds after the run started."""

    t: float
    processes: dict[str, ProcessSample]
    driver: dict[str, int | None]
    env_steps: int = 0
    replay_size: int = 0


@dataclass
class Timeline:
    """The samples of one run, and the pids each process name had."""

    root: int
    samples: list[Sample] = field(default_factory=list)
    pids: dict[str, list[int]] = field(default_factory=dict)

    def record(
        self,
        t: float,
        processes: Iterable[ProcessSample],
        driver: dict[str, int | None] | None = None,
        **training: int,
    ) -> Sample:
        by_name: dict[str, ProcessSample] = {}
        for p in processes:
            name = process_name(p, self.root)
            if name in by_name:  # two untitled processes with one command line
                name = f"{name} #{sum(n.startswith(name) for n in by_name) + 1}"
            by_name[name] = p
            seen = self.pids.setdefault(name, [])
            if p.pid not in seen:
                seen.append(p.pid)
        sample = Sample(t, by_name, driver or {}, **training)
        self.samples.append(sample)
        return sample

    def window(self, start_s: float, end_s: float) -> list[Sample]:
        return [s for s in self.samples if start_s <= s.t < end_s]


def median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def change(first: float | None, last: float | None, scale: float = 1.0) -> dict[str, Any]:
    """``first``, ``last`` (medians, divided by ``scale``), their difference and ``growth``
    (the difference over ``first``); None where a window had no value."""
    if first is None or last is None:
        return {
            "first": None if first is None else round(first / scale, 2),
            "last": None if last is None else round(last / scale, 2),
            "change": None,
            "growth": None,
        }
    return {
        "first": round(first / scale, 2),
        "last": round(last / scale, 2),
        "change": round((last - first) / scale, 2),
        "growth": round((last - first) / first, 4) if first else None,
    }


def analyse(timeline: Timeline, warmup_s: float, window_s: float) -> dict[str, Any]:
    """Growth of every process's figures and of their total (see the module docstring).

    Returns:
        ``processes`` (by name: ``pids``, ``restarts``, ``status`` and, per figure, what
        :func:`change` gives; RSS and PSS in MiB), ``total`` (the same for the sums, plus the
        number of processes), ``driver_python`` (the driver state's medians), ``windows_s``
        (the two windows' bounds) and ``samples`` (in each window).
    """
    end = timeline.samples[-1].t if timeline.samples else 0.0
    first = timeline.window(warmup_s, warmup_s + window_s)
    last = timeline.window(end - window_s, end + 1.0)
    names = list(timeline.pids)
    processes: dict[str, Any] = {}
    for name in names:
        in_first = [s.processes[name] for s in first if name in s.processes]
        in_last = [s.processes[name] for s in last if name in s.processes]
        status = "in both windows"
        if not in_first and not in_last:
            status = "only between the windows"
        elif not in_first:
            status = "not in the first window (started later)"
        elif not in_last:
            status = "not in the last window (gone)"
        row: dict[str, Any] = {
            "pids": timeline.pids[name],
            "restarts": len(timeline.pids[name]) - 1,
            "status": status,
        }
        for key, scale in SCALES:
            a = median([getattr(p, key) for p in in_first if getattr(p, key) is not None])
            b = median([getattr(p, key) for p in in_last if getattr(p, key) is not None])
            row[key.replace("_kib", "_mib")] = change(a, b, scale)
        processes[name] = row

    def total(window: list[Sample], key: str) -> float | None:
        sums = [
            sum(getattr(p, key) or 0 for p in s.processes.values()) for s in window if s.processes
        ]
        return median(sums)

    totals: dict[str, Any] = {
        key.replace("_kib", "_mib"): change(total(first, key), total(last, key), scale)
        for key, scale in SCALES
    }
    totals["processes"] = change(
        median([len(s.processes) for s in first]), median([len(s.processes) for s in last])
    )
    driver = {
        key: change(
            median([s.driver[key] for s in first if s.driver.get(key) is not None]),
            median([s.driver[key] for s in last if s.driver.get(key) is not None]),
        )
        for key in DRIVER_FIGURES
    }
    return {
        "processes": processes,
        "total": totals,
        "driver_python": driver,
        "windows_s": {
            "first": [round(warmup_s, 1), round(warmup_s + window_s, 1)],
            "last": [round(end - window_s, 1), round(end, 1)],
        },
        "samples": {
            "all": len(timeline.samples),
            "first_window": len(first),
            "last_window": len(last),
        },
    }


def write_timeline(timeline: Timeline, path: str) -> None:
    """Every sample as one JSON object a line: ``t``, ``env_steps``, ``replay_size``, ``driver``
    and ``processes`` (by name: each figure of :class:`ProcessSample`)."""
    with open(path, "w") as f:
        for s in timeline.samples:
            row = {
                "t": round(s.t, 2),
                "env_steps": s.env_steps,
                "replay_size": s.replay_size,
                "driver": s.driver,
                "processes": {name: p._asdict() for name, p in s.processes.items()},
            }
            f.write(json.dumps(row) + "\n")


def env_steps_per_s(window: list[Sample]) -> float | None:
    """Env steps per second between a window's first and last sample."""
    if len(window) < 2 or window[-1].t <= window[0].t:
        return None
    return round((window[-1].env_steps - window[0].env_steps) / (window[-1].t - window[0].t), 1)


def bar_failures(report: dict[str, Any], bar: float = BAR_GROWTH) -> list[str]:
    """What breaks the bar: each figure (of a process or the total) that grew more than
    ``bar``, and windows without samples."""
    failures = []
    if not report["samples"]["first_window"] or not report["samples"]["last_window"]:
        failures.append("a window holds no sample (the run is shorter than warm-up + 2 windows)")
    rows = {**report["processes"], "total": report["total"]}
    for name, row in rows.items():
        for key in ("rss_mib", "fds", "threads"):
            growth = row[key]["growth"]
            if growth is not None and growth > bar:
                failures.append(
                    f"{name}: {key} grew {growth:+.1%} ({row[key]['first']} -> {row[key]['last']})"
                )
    return failures


# -- the run ---------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


#: ``(step, root, probe)``: one training iteration's metrics (in-process) or the latest row of
#: the run's metrics (CLI), the driver's pid, and the driver's Python-level state.
Driver = tuple[Callable[[], dict[str, Any]], int, Callable[[], dict[str, Any]]]


@contextlib.contextmanager
def in_process(config: Any) -> Iterator[Driver]:
    """Ape-X in this process: each step is ``train_iter``."""
    from rlactors.algorithms.apex.algorithm import Apex

    with Apex(config) as apex:
        yield apex.train_iter, os.getpid(), lambda: driver_state(apex)


@contextlib.contextmanager
def cli_subprocess(config: Any, checkpoint_every: str) -> Iterator[Driver]:
    """``rlactors train apex`` in a subprocess (metrics file, progress, periodic checkpoints,
    the learning curve: what a user runs for hours), stopped with Ctrl-C (SIGINT) at the end.
    Each step waits 0.5 s and reads the last row of its ``metrics.jsonl``."""
    with tempfile.TemporaryDirectory(prefix="rlactors-soak-") as tmp:
        run_dir = os.path.join(tmp, "run")
        cmd = [
            sys.executable, "-m", "rlactors.cli.main", "train", "apex", "-q",
            "--env", config.env, "--seed", str(config.seed), "--backend", "process",
            "--workers", str(config.num_workers),
            "--num-replay-shards", str(config.num_replay_shards),
            "--buffer-capacity-transitions", str(config.buffer_capacity_transitions),
            "--stop-reward", "none", "--max-env-steps", str(config.max_env_steps),
            "--checkpoint-every", checkpoint_every, "--run-dir", run_dir,
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        metrics_file = os.path.join(run_dir, "metrics.jsonl")

        def step() -> dict[str, Any]:
            time.sleep(0.5)
            if proc.poll() is not None:
                raise RuntimeError(f"rlactors train exited with {proc.returncode}: {cmd}")
            return last_row(metrics_file)

        try:
            yield step, proc.pid, dict
        finally:
            proc.send_signal(signal.SIGINT)  # it saves its checkpoint and curve, then exits
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def last_row(path: str) -> dict[str, Any]:
    """The last complete JSON line of ``path`` ({} while there is none)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            lines = f.read().split(b"\n")
    except FileNotFoundError:
        return {}
    for line in reversed(lines[:-1]):  # the part after the last newline may be half-written
        if line.strip():
            row: dict[str, Any] = json.loads(line)
            return row
    return {}


def run_soak(
    *,
    minutes: float,
    warmup_minutes: float,
    window_minutes: float = 1.0,
    period_s: float = 5.0,
    workers: int = 2,
    shards: int = 2,
    buffer_capacity: int = 20_000,
    seed: int = 0,
    include: Callable[[ProcessSample], bool] | None = None,
    progress_every_s: float = 60.0,
    timeline_out: str | None = None,
    cli: bool = False,
    checkpoint_every: str = "5m",
) -> dict[str, Any]:
    """Train Ape-X for ``minutes``, sampling every ``period_s``; the figures (no bar verdict).

    Args:
        include: Which of the driver's descendants to sample (see :func:`sample_processes`).
        timeline_out: A file to write every sample to, one JSON object a line.
        cli: Run ``rlactors train apex`` in a subprocess (the driver) instead of ``Apex`` in
            this process; its Python-level state is not seen then.
        checkpoint_every: The CLI's ``--checkpoint-every``.

    Returns:
        :func:`analyse`'s report plus ``config``, ``training`` (totals, env steps/s in both
        windows, ``buffer_full_at_s``), ``gc_types_growth`` (in-process: the 10 types whose
        tracked objects grew most from the first sample after the warm-up to the end),
        ``driver_threads`` (in-process: :func:`thread_names` then and at the end) and
        ``buffer_full_in_warmup``.
    """
    from rlactors.algorithms.apex.config import ApexConfig

    if minutes < warmup_minutes + 2 * window_minutes:
        raise ValueError(
            f"a {minutes} min run cannot hold a {warmup_minutes} min warm-up and two "
            f"{window_minutes} min windows"
        )
    config = ApexConfig(
        env=ENV_ID,
        seed=seed,
        backend="process",
        num_workers=workers,
        num_replay_shards=shards,
        buffer_capacity_transitions=buffer_capacity,
        stop_reward=None,
        max_env_steps=2**62,  # no budget: it stops when the clock says so
    )
    capacity = buffer_capacity // shards * shards  # what the shards hold together
    duration_s, warmup_s, window_s = minutes * 60, warmup_minutes * 60, window_minutes * 60
    types_at_warmup: collections.Counter[str] | None = None
    types_at_end: collections.Counter[str] | None = None
    threads_at_warmup: dict[str, int] | None = None
    threads_at_end: dict[str, int] | None = None
    full_at: float | None = None
    metrics: dict[str, Any] = {}
    driver = cli_subprocess(config, checkpoint_every) if cli else in_process(config)
    with driver as (step, root, probe):
        timeline = Timeline(root)
        start = time.monotonic()
        next_sample = next_progress = start
        while True:
            metrics = step()
            now = time.monotonic()
            t = now - start
            replay_size = int(metrics.get("replay_size") or 0)
            if full_at is None and replay_size >= capacity:
                full_at = t
                say(f"soak: replay full ({capacity} transitions) at {t:.0f} s")
            if now < next_sample and t < duration_s:
                continue
            next_sample = max(next_sample + period_s, now)
            sample = timeline.record(
                t,
                sample_processes(root, include),
                probe(),
                env_steps=int(metrics.get("env_steps") or 0),
                replay_size=replay_size,
            )
            if not cli and types_at_warmup is None and t >= warmup_s:
                types_at_warmup = object_types()
                threads_at_warmup = thread_names()
            if now >= next_progress or t >= duration_s:
                next_progress += progress_every_s
                ps = sample.processes.values()
                say(
                    f"soak: {t / 60:5.1f} min, {metrics.get('env_steps')} env steps, "
                    f"{metrics.get('learner_steps')} learner steps: {len(ps)} processes, "
                    f"RSS {sum(p.rss_kib for p in ps) / 1024:.0f} MiB, "
                    f"{sum(p.fds for p in ps)} fds, {sum(p.threads for p in ps)} threads; "
                    f"driver {sample.processes['driver'].rss_kib / 1024:.0f} MiB, "
                    f"{sample.driver.get('gc_objects')} gc objects"
                )
            if t >= duration_s:
                break
        if not cli:
            types_at_end = object_types()
            threads_at_end = thread_names()
    report = analyse(timeline, warmup_s, window_s)
    if timeline_out is not None:
        write_timeline(timeline, timeline_out)
    end = timeline.samples[-1].t
    grown: collections.Counter[str] = collections.Counter()
    if types_at_end is not None:
        grown = types_at_end.copy()
        grown.subtract(types_at_warmup or collections.Counter())
    return {
        "config": {
            "env_id": ENV_ID,
            "driver": "rlactors train apex (a subprocess)" if cli else "Apex in this process",
            "backend": "process",
            "num_workers": workers,
            "num_replay_shards": shards,
            "buffer_capacity_transitions": buffer_capacity,
            "checkpoint_every": checkpoint_every if cli else None,
            "seed": seed,
            "minutes": minutes,
            "warmup_minutes": warmup_minutes,
            "window_minutes": window_minutes,
            "period_s": period_s,
        },
        "training": {
            "seconds": round(end, 1),
            "iterations": metrics.get("iteration"),
            "env_steps": metrics.get("env_steps"),
            "learner_steps": metrics.get("learner_steps"),
            "worker_restarts": metrics.get("worker_restarts"),
            "episode_return_mean": metrics.get("episode_return_mean"),
            "buffer_full_at_s": None if full_at is None else round(full_at, 1),
            "env_steps_per_s_first_window": env_steps_per_s(
                timeline.window(warmup_s, warmup_s + window_s)
            ),
            "env_steps_per_s_last_window": env_steps_per_s(
                timeline.window(end - window_s, end + 1)
            ),
        },
        **report,
        "gc_types_growth": dict(grown.most_common(10)) if types_at_end is not None else None,
        "driver_threads": {"after_warmup": threads_at_warmup, "at_end": threads_at_end},
        "buffer_full_in_warmup": full_at is not None and full_at <= warmup_s,
    }


def table(report: dict[str, Any]) -> str:
    """The per-process table: medians of the first window after the warm-up and the last."""

    def cell(figure: dict[str, Any]) -> str:
        if figure["first"] is None or figure["last"] is None:
            return "-"
        growth = "" if figure["growth"] is None else f" ({figure['growth']:+.1%})"
        return f"{figure['first']:g} -> {figure['last']:g}{growth}"

    rows = [("process", "pids", "RSS MiB", "PSS MiB", "fds", "threads")]
    for name, row in report["processes"].items():
        pids = ",".join(map(str, row["pids"]))
        rows.append((name, pids, *(cell(row[k]) for k in ("rss_mib", "pss_mib", "fds", "threads"))))
    total = report["total"]
    rows.append(("total", "", *(cell(total[k]) for k in ("rss_mib", "pss_mib", "fds", "threads"))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training time")
    parser.add_argument("--warmup-minutes", type=float, default=5.0)
    parser.add_argument("--window-minutes", type=float, default=1.0, help="of each median")
    parser.add_argument("--period-s", type=float, default=5.0, help="between samples")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards", type=int, default=2, help="replay shards")
    parser.add_argument("--buffer-capacity", type=int, default=20_000, help="transitions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeline-out", help="write every sample to this file (JSON Lines)")
    parser.add_argument(
        "--cli",
        action="store_true",
        help="soak `rlactors train apex` in a subprocess instead of Apex in this process",
    )
    parser.add_argument("--checkpoint-every", default="5m", help="the CLI's (with --cli)")
    args = parser.parse_args()
    if args.minutes < args.warmup_minutes + 2 * args.window_minutes:
        parser.error("--minutes must hold the warm-up and two windows")
    say(
        f"soak: Ape-X on {ENV_ID} for {args.minutes:g} min ({args.warmup_minutes:g} min "
        f"warm-up), sampling every {args.period_s:g} s"
    )
    report = run_soak(
        minutes=args.minutes,
        warmup_minutes=args.warmup_minutes,
        window_minutes=args.window_minutes,
        period_s=args.period_s,
        workers=args.workers,
        shards=args.shards,
        buffer_capacity=args.buffer_capacity,
        seed=args.seed,
        timeline_out=args.timeline_out,
        cli=args.cli,
        checkpoint_every=args.checkpoint_every,
    )
    import torch

    failures = bar_failures(report)
    if not report["buffer_full_in_warmup"]:
        failures.append("the replay buffer was not full before the warm-up ended")
    bar_met = not failures
    print(table(report))
    print(
        f"bar growth of RSS, fds and threads <= {BAR_GROWTH:.0%} per process and in total "
        f"after a {args.warmup_minutes:g} min warm-up: {'met' if bar_met else 'NOT met'}"
        + "".join(f"\n  {f}" for f in failures)
    )
    rows = [*report["processes"].values(), report["total"]]
    result = {
        "benchmark": "soak",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
        },
        **report,
        "max_growth": {
            key: max((r[key]["growth"] for r in rows if r[key]["growth"] is not None), default=None)
            for key in ("rss_mib", "fds", "threads")
        },
        "bar": f"growth <= {BAR_GROWTH:g} of RSS, fds and threads, every process and the total",
        "failures": failures,
        "bar_met": bar_met,
    }
    print(json.dumps(result))


if __name__ == "__main__":  # the fork server imports this file (the preload's __main__)
    main()
