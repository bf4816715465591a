"""How many env crashes an :class:`~rlactors.envs.EnvBatch` survives, and the window it counts.

An env that raises in ``reset``, ``interact`` or ``observe`` (a simulator that segfaults into an
exception, a game server that drops its socket) is rebuilt and its episode dropped; an env that
keeps crashing is a bug to report, not a flake to hide. The policy is the same sliding window
as an actor's :class:`~rlactors.actors.RestartPolicy` (after Erlang/OTP's intensity and
period): more than ``max_crashes`` within ``within_s`` seconds ends the run with
:class:`~rlactors.envs.errors.EnvCrashError`, one line that names the env and the last
exception.

This module imports no gymnasium: the evaluator configs hold an :class:`EnvCrashPolicy`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from rlactors.envs.errors import EnvCrashError
from rlactors.validation import check_non_negative_ints


@dataclass(frozen=True)
class EnvCrashPolicy:
    """How many crashes of its envs an :class:`~rlactors.envs.EnvBatch` survives."""

    max_crashes: int = 5
    """More crashes than this within ``within_s`` (over all envs of one batch) raise
    :class:`~rlactors.envs.errors.EnvCrashError`; 0 makes the first crash fatal."""

    within_s: float = 60.0
    """The sliding window, in seconds, that ``max_crashes`` counts over."""

    def __post_init__(self) -> None:
        """Checks both fields.

        Raises:
            ValueError: ``max_crashes`` < 0 or ``within_s`` not a finite number > 0.
        """
        check_non_negative_ints(self, "max_crashes")
        if not (math.isfinite(self.within_s) and self.within_s > 0):
            raise ValueError(f"EnvCrashPolicy.within_s must be > 0, got {self.within_s}")


class CrashWindow:
    """Counts crashes in the sliding window of an :class:`EnvCrashPolicy`.

    Args:
        policy: The limit and the window.
        env_name: The env's name for the error message (an env id or class).
    """

    def __init__(self, policy: EnvCrashPolicy, env_name: str) -> None:
        self.policy = policy
        self.env_name = env_name
        self.total = 0
        self._times: deque[float] = deque()

    def record(self, exc: BaseException, *, attempts: int = 1, since: float = 0.0) -> None:
        """Count one crash, whose exception was ``exc``.

        Args:
            exc: What the env raised.
            attempts: Crashes in a row while rebuilding one env: more than ``max_crashes`` of
                them end the run even when they took longer than the window (a factory whose
                envs crash more slowly than the window allows would otherwise loop forever).
            since: :func:`time.monotonic` at the first of those ``attempts``.

        Raises:
            EnvCrashError: More than ``max_crashes`` crashes within ``within_s`` seconds, or
                in a row.
        """
        now = time.monotonic()
        self.total += 1
        times = self._times
        times.append(now)
        while times and times[0] < now - self.policy.within_s:
            times.popleft()
        limit = self.policy.max_crashes
        if len(times) > limit:
            raise EnvCrashError(self.env_name, len(times), self.policy.within_s, exc)
        if attempts > limit:
            raise EnvCrashError(self.env_name, attempts, now - since, exc)
