"""Everything the CLI shows: the live progress display, result lines and one-line errors.

The only module of rlactors that writes to the terminal. Consoles are made per call, on the
``sys.stdout`` / ``sys.stderr`` of that moment, so tests that capture them see the output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def stdout_console() -> Console:
    """A console on the current stdout (no markup: config values hold brackets)."""
    return Console(file=sys.stdout, markup=False, highlight=False, soft_wrap=True)


def say(*lines: str) -> None:
    """Print lines to stdout."""
    console = stdout_console()
    for line in lines:
        console.print(line)


def error(message: str) -> None:
    """Print ``rlactors: error: <message>`` as one line on stderr."""
    console = Console(file=sys.stderr, markup=False, highlight=False, soft_wrap=True)
    console.print(f"rlactors: error: {message}")


def _fmt(value: Any, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def format_return(value: float | None) -> str:
    """A return as the CLI shows it: three decimals where returns are small (Blackjack's mean
    of -0.05 against -0.10, FrozenLake's success rate), one where they are not (CartPole's
    475.0); ``-`` for none yet."""
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def progress_line(metrics: Mapping[str, Any], total_env_steps: int) -> str:
    """One plain line of progress, e.g. for logs: steps, return, eval, speed, time."""
    steps = int(metrics["env_steps"])
    rate = float(metrics.get("env_steps_per_s") or 0.0)
    left = (total_env_steps - steps) / rate if rate > 0 else None
    parts = [
        f"env steps {steps}/{total_env_steps} ({100 * steps / total_env_steps:.0f}%)",
        f"return {format_return(metrics.get('episode_return_mean'))}",
    ]
    if metrics.get("eval_return_mean") is not None:
        parts.append(f"greedy eval {format_return(metrics['eval_return_mean'])}")
    if league_text(metrics):
        parts.append(league_text(metrics))
    parts.append(f"{rate:.0f} env steps/s")
    parts.append(f"{float(metrics.get('time_s') or 0.0):.0f} s elapsed")
    if left is not None:
        parts.append(f"at most {left:.0f} s left in the budget")
    return " | ".join(parts)


def league_text(metrics: Mapping[str, Any]) -> str:
    """A self-play run's league, ``"league 12, Elo 1403"`` ("" without one): its training
    return says little (the learner against itself scores 0), its rating says how it does."""
    if metrics.get("league_rating") is None:
        return ""
    return f"league {metrics.get('league_size', 0)}, Elo {float(metrics['league_rating']):.0f}"


class TrainingProgress:
    """Live progress of a training run; a context manager.

    On a terminal: a rich progress bar (env steps out of the budget, training return mean,
    last greedy evaluation, env steps/s, elapsed time and the time the rest of the budget
    would take). Otherwise (a pipe, a log file, a test): a plain line every ``interval_s``
    seconds. ``quiet`` shows nothing.

    Args:
        total_env_steps: The budget, ``max_env_steps``.
        title: What is training, e.g. ``"dqn CartPole-v1"``.
        quiet: Show nothing.
        interval_s: Seconds between plain lines when stdout is not a terminal.
    """

    def __init__(
        self, total_env_steps: int, title: str, *, quiet: bool = False, interval_s: float = 5.0
    ) -> None:
        self.total = total_env_steps
        self.title = title
        self.quiet = quiet
        self.interval_s = interval_s
        self._console = stdout_console()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_line = 0.0
        self._last_eval: float | None = None

    def __enter__(self) -> TrainingProgress:
        if not self.quiet and self._console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} env steps"),
                TextColumn("return {task.fields[ret]}"),
                TextColumn("eval {task.fields[eval]}"),
                TextColumn("{task.fields[league]}"),
                TextColumn("{task.fields[rate]} steps/s"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=self._console,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                self.title, total=self.total, ret="-", eval="-", rate="-", league=""
            )
        elif not self.quiet:
            self._console.print(f"training {self.title}: budget {self.total} env steps")
        return self

    def update(self, metrics: Mapping[str, Any]) -> None:
        """Show one iteration's metrics (see ``Algorithm.train_iter``)."""
        if metrics.get("eval_return_mean") is not None:
            self._last_eval = float(metrics["eval_return_mean"])
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=int(metrics["env_steps"]),
                ret=format_return(metrics.get("episode_return_mean")),
                eval=format_return(self._last_eval),
                rate=_fmt(metrics.get("env_steps_per_s"), ".0f"),
                league=league_text(metrics),
            )
            return
        now = time.monotonic()
        if not self.quiet and (now - self._last_line >= self.interval_s or metrics.get("done")):
            self._last_line = now
            self._console.print(progress_line(metrics, self.total))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
            self._progress = None
