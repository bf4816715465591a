"""The memory of a process tree (Linux ``/proc``, no psutil): for the fleet benchmarks.

RSS counts a page shared by several processes (a fork server's imports) once per process, so
the sum over a fleet overstates it; PSS splits each shared page among its sharers, so the sum
is the memory the tree really holds. Both are reported.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def tree_pids(root: int) -> list[int]:
    """``root`` and every descendant of it alive now."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def rss_pss_bytes(pid: int) -> tuple[int, int]:
    """``(RSS, PSS)`` of one process in bytes (0, 0 if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0]) * 1024
    return values.get("Rss", 0), values.get("Pss", 0)


class PeakMemory:
    """Samples the tree under ``root`` every ``period_s`` in a thread; keeps the peaks.

    Attributes:
        peak_rss: Highest sum of RSS seen, bytes.
        peak_pss: Highest sum of PSS seen, bytes.
        peak_processes: Most processes seen at once.
    """

    def __init__(self, root: int | None = None, period_s: float = 0.5) -> None:
        self.root = os.getpid() if root is None else root
        self.period_s = period_s
        self.peak_rss = self.peak_pss = self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        """One sample now."""
        pids = tree_pids(self.root)
        rss = pss = 0
        for pid in pids:
            r, p = rss_pss_bytes(pid)
            rss, pss = rss + r, pss + p
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, len(pids))

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sample()
