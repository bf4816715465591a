"""The live display of a training run: one line that fits the terminal, or plain log lines.

``rlactors train`` shows it (through :mod:`rlactors.cli.output`), and so does
``TrainingLoop.train(progress=True)``: the library writes nothing unless asked to. On a
terminal the line is rebuilt for its width at every refresh::

    dqn CartPole-v1 ━━━━━━━━━━━━╺━━━━━━━ 12,345/20,000 env steps return 123.4 eval 500.0 ...

Fields are dropped whole, lowest priority first (title, elapsed time, the bar, time left,
speed, ... ; the env steps, the training return and the last evaluation go last), and a
field that has a shorter form takes it before a field is dropped: no number is ever cut,
which is what rich's column layout did at 80 columns (``eval 500…``, ``le…``). Elsewhere (a
pipe, a log file) it prints a plain :func:`progress_line` every few seconds.

The time left is the rest of the budget at the env steps/s of the last ``window_s`` seconds
(:class:`RecentRate`), counted down between iterations: not the rate of the first seconds
(which include the actors' start), and not one slow iteration's.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text


def stdout_console() -> Console:
    """A console on the current stdout (no markup: config values hold brackets)."""
    return Console(file=sys.stdout, markup=False, highlight=False, soft_wrap=True)


def format_return(value: float | None) -> str:
    """A return as the CLI shows it: three decimals where returns are small (Blackjack's mean
    of -0.05 against -0.10, FrozenLake's success rate), one where they are not (CartPole's
    475.0); ``-`` for none yet."""
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (``-`` for unknown), as rich's time columns show it."""
    if seconds is None:
        return "-"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def league_text(metrics: Mapping[str, Any]) -> str:
    """A self-play run's league, ``"league 12, Elo 1403"`` ("" without one): its training
    return says little (the learner against itself scores 0), its rating says how it does."""
    if metrics.get("league_rating") is None:
        return ""
    return f"league {metrics.get('league_size', 0)}, Elo {float(metrics['league_rating']):.0f}"


def progress_line(
    metrics: Mapping[str, Any], total_env_steps: int, rate: float | None = None
) -> str:
    """One plain line of progress, e.g. for logs: steps, return, eval, speed, time.

    Args:
        metrics: An iteration's metrics (``env_steps`` at least).
        total_env_steps: The budget.
        rate: Env steps per second to show and to reckon the time left with (default: the
            session's mean, ``metrics["env_steps_per_s"]``).
    """
    steps = int(metrics["env_steps"])
    if rate is None:
        rate = float(metrics.get("env_steps_per_s") or 0.0)
    left = (total_env_steps - steps) / rate if rate > 0 else None
    parts = [
        f"env steps {steps}/{total_env_steps} ({100 * steps / total_env_steps:.0f}%)",
        f"return {format_return(metrics.get('episode_return_mean'))}",
    ]
    if metrics.get("eval_return_mean") is not None:
        parts.append(f"greedy eval {format_return(metrics['eval_return_mean'])}")
    if metrics.get("final_eval_return_mean") is not None:
        # The confirming evaluation of a greedy one that met stop_reward, which decided solved.
        parts.append(
            f"confirmed {format_return(metrics['final_eval_return_mean'])} over "
            f"{metrics.get('final_eval_episodes')} episodes"
        )
    if league_text(metrics):
        parts.append(league_text(metrics))
    parts.append(f"{rate:.0f} env steps/s")
    parts.append(f"{float(metrics.get('time_s') or 0.0):.0f} s elapsed")
    if left is not None:
        parts.append(f"at most {left:.0f} s left in the budget")
    return " | ".join(parts)


class RecentRate:
    """Env steps per second over the last ``window_s`` seconds of iterations.

    The rate between the oldest sample kept and the newest, where the oldest is the last one
    at least ``window_s`` old (so the span covers the window once the run is that long).
    Iterations that evaluate, checkpoint or wait on a slow worker count for their share of the
    window only; the rate of a run's first iteration, which includes starting the actors, is
    never used (the first sample is taken at its end).

    Args:
        window_s: The span of time the rate is taken over, in seconds.
    """

    def __init__(self, window_s: float = 30.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, env_steps: int) -> None:
        """Record the env steps (a total) at time ``now`` (seconds, monotonic)."""
        self._samples.append((now, env_steps))
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window_s:
            self._samples.popleft()

    @property
    def rate(self) -> float | None:
        """Env steps per second, None before two samples."""
        if len(self._samples) < 2:
            return None
        (t0, s0), (t1, s1) = self._samples[0], self._samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None


@dataclass(frozen=True)
class _Field:
    """One field of the line: its forms, longest first (all mean the same)."""

    name: str
    forms: tuple[str, ...]


#: Fields by priority, highest first: the narrowest terminal keeps the first ones.
PRIORITY = ("steps", "return", "eval", "league", "rate", "left", "bar", "elapsed", "title")
#: The order they are shown in.
ORDER = ("title", "bar", "steps", "return", "eval", "league", "rate", "elapsed", "left")
#: The bar's narrowest and widest widths, in columns.
BAR_MIN, BAR_MAX = 8, 40


def fit_fields(fields: list[_Field], width: int) -> dict[str, str]:
    """The fields that fit in ``width`` columns (one space between them), by priority.

    Fields are taken in their shortest form, highest priority first, until one does not fit
    (it and every lower one are dropped); then each takes its longest form that still fits, in
    priority order. The bar is a field whose forms are runs of ``#`` of its widths.
    """
    by_name = {f.name: f for f in fields}
    chosen: dict[str, str] = {}
    used = 0
    for name in PRIORITY:
        if name not in by_name:
            continue
        shortest = by_name[name].forms[-1]
        need = len(shortest) + (1 if chosen else 0)
        if used + need > width and chosen:
            break
        chosen[name] = shortest
        used += need
    for name in list(chosen):
        for form in by_name[name].forms:
            extra = len(form) - len(chosen[name])
            if used + extra <= width:
                chosen[name] = form
                used += extra
                break
    return chosen


class _Line:
    """The live line: a rich renderable rebuilt at each refresh for the console's width."""

    def __init__(self, display: TrainingProgress) -> None:
        self.display = display

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        d = self.display
        fields = d.fields(time.monotonic())
        bar_forms = tuple("#" * n for n in range(BAR_MAX, BAR_MIN - 1, -1))
        chosen = fit_fields([*fields, _Field("bar", bar_forms)], options.max_width)
        line = Text(no_wrap=True, overflow="ignore")
        for name in ORDER:
            if name not in chosen:
                continue
            if len(line):
                line.append(" ")
            if name == "bar":
                done = len(chosen["bar"]) * min(1.0, d.env_steps / d.total if d.total else 1.0)
                filled = int(done)
                line.append("━" * filled, style="bar.complete")
                line.append("━" * (len(chosen["bar"]) - filled), style="bar.back")
            else:
                line.append(chosen[name])
        yield line


class TrainingProgress:
    """Live progress of a training run; a context manager.

    On a terminal: one line, refreshed four times a second and fitted to the terminal's width
    (see the module docstring): the title, a bar, env steps out of the budget, the training
    return mean, the last greedy evaluation, (a self-play league,) env steps/s over the last
    ``window_s`` seconds, the elapsed training time and the time the rest of the budget would
    take at that rate. Otherwise (a pipe, a log file, a test): a plain line every
    ``interval_s`` seconds and at the last iteration. ``quiet`` shows nothing.

    Args:
        total_env_steps: The budget, ``max_env_steps``.
        title: What is training, e.g. ``"dqn CartPole-v1"``.
        quiet: Show nothing.
        interval_s: Seconds between plain lines when stdout is not a terminal.
        window_s: Seconds of recent iterations the speed and time left are taken over.
    """

    def __init__(
        self,
        total_env_steps: int,
        title: str,
        *,
        quiet: bool = False,
        interval_s: float = 5.0,
        window_s: float = 30.0,
    ) -> None:
        self.total = total_env_steps
        self.title = title
        self.quiet = quiet
        self.interval_s = interval_s
        self.env_steps = 0
        self._console = stdout_console()
        self._live: Live | None = None
        self._rate = RecentRate(window_s)
        self._last_line = -math.inf  # the first iteration's line is printed at once
        self._last_eval: float | None = None
        self._metrics: Mapping[str, Any] = {}
        self._updated_at: float | None = None
        self._left_at_update: float | None = None

    @property
    def rate(self) -> float | None:
        """Env steps per second over the recent iterations (None before the second)."""
        return self._rate.rate

    def time_left_s(self, now: float) -> float | None:
        """Seconds the rest of the budget takes at the recent rate, counted down since the
        last iteration (None before a rate is known)."""
        if self._left_at_update is None or self._updated_at is None:
            return None
        return max(0.0, self._left_at_update - (now - self._updated_at))

    def fields(self, now: float) -> list[_Field]:
        """The line's fields at time ``now`` (``time.monotonic``), in their forms."""
        m = self._metrics
        steps = f"{self.env_steps:,}/{self.total:,}"
        rate = "-" if self.rate is None else f"{self.rate:,.0f}"
        elapsed = float(m.get("time_s") or 0.0)
        if self._updated_at is not None:
            elapsed += now - self._updated_at
        eval_text = format_return(self._last_eval)
        fields = [
            _Field("title", (self.title,)),
            _Field("steps", (f"{steps} env steps", steps)),
            _Field("return", (f"return {format_return(m.get('episode_return_mean'))}",)),
            _Field("eval", (f"greedy eval {eval_text}", f"eval {eval_text}")),
            _Field("rate", (f"{rate} env steps/s", f"{rate} steps/s")),
            _Field("elapsed", (f"elapsed {format_duration(elapsed)}", format_duration(elapsed))),
            _Field("left", (f"left {format_duration(self.time_left_s(now))}",)),
        ]
        league = league_text(m)
        if league:
            fields.append(_Field("league", (league,)))
        return fields

    def __enter__(self) -> TrainingProgress:
        if not self.quiet and self._console.is_terminal:
            self._live = Live(_Line(self), console=self._console, refresh_per_second=4)
            self._live.__enter__()
        elif not self.quiet:
            self._console.print(f"training {self.title}: budget {self.total} env steps")
        return self

    def update(self, metrics: Mapping[str, Any]) -> None:
        """Show one iteration's metrics (see ``TrainingLoop.train_iter``)."""
        now = time.monotonic()
        self._metrics = metrics
        self.env_steps = int(metrics["env_steps"])
        if metrics.get("eval_return_mean") is not None:
            self._last_eval = float(metrics["eval_return_mean"])
        self._rate.add(now, self.env_steps)
        rate = self.rate
        self._updated_at = now
        self._left_at_update = (
            None if rate is None or rate <= 0 else max(0, self.total - self.env_steps) / rate
        )
        if self._live is not None:
            self._live.refresh()
            return
        if not self.quiet and (now - self._last_line >= self.interval_s or metrics.get("done")):
            self._last_line = now
            self._console.print(progress_line(metrics, self.total, rate))

    def show_evaluation(self, evaluation: Mapping[str, Any]) -> None:
        """Show a greedy evaluation (``TrainingLoop.train``'s ``on_evaluation``): the final
        one, run after the last iteration, is in no iteration's metrics."""
        if evaluation.get("eval_return_mean") is None:
            return
        self._last_eval = float(evaluation["eval_return_mean"])
        if self._live is not None:
            self._live.refresh()
        elif not self.quiet and self._metrics.get("done") and not self._metrics.get("solved"):
            # After the last iteration's line: the evaluation of the final policy, which no
            # iteration's line shows (a solved run ends on the line of its solving one).
            self._console.print(
                f"greedy eval of the final policy ({int(evaluation['env_steps'])} env steps): "
                f"{format_return(self._last_eval)}"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
