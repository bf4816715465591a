"""The learning curve: episode return against env steps, as a PNG, and the points it draws.

Drawn with matplotlib's object API on an Agg canvas, never through ``pyplot``: no GUI backend
is touched and the global backend of a program that imports rlactors stays as it was.
:class:`LearningCurve` collects the points while a run trains, in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlactors.checkpoint import atomic_write


def plot_learning_curve(
    records: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "",
    stop_reward: float | None = None,
    x: str = "env_steps",
    y: str = "episode_return_mean",
    eval_y: str = "eval_return_mean",
    rating_y: str = "league_rating",
) -> Path:
    """Plot the training return (a line) and greedy evaluations (dots) against env steps, and
    a self-play learner's league rating (Elo, on a second axis) when the records have one.

    Args:
        records: Iteration metrics, e.g. from :func:`~rlactors.metrics.read_metrics`. Records
            whose ``y`` (or ``eval_y``) is missing or None are skipped for that series.
        path: The PNG to write (atomically).
        title: Figure title.
        stop_reward: Drawn as a dashed horizontal line when given.
        x: Key of the horizontal axis (env steps).
        y: Key of the training-return series.
        eval_y: Key of the greedy-evaluation series.
        rating_y: Key of the league-rating series (multi-agent self-play runs).

    Returns:
        ``path`` as a :class:`Path`.
    """
    # Imported here: matplotlib costs ~0.3 s, which `rlactors --help` should not pay.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    train = [(r[x], r[y]) for r in records if r.get(x) is not None and r.get(y) is not None]
    evals = [
        (r[x], r[eval_y]) for r in records if r.get(x) is not None and r.get(eval_y) is not None
    ]
    if train:
        ax.plot(*zip(*train, strict=True), label="training return (mean of recent episodes)")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o", ms=4, label="greedy evaluation (mean)")
    if stop_reward is not None:
        ax.axhline(stop_reward, color="grey", ls="--", lw=1, label=f"stop reward {stop_reward:g}")
    ratings = [
        (r[x], r[rating_y]) for r in records if r.get(x) is not None and r.get(rating_y) is not None
    ]
    handles, labels = ax.get_legend_handles_labels()
    if ratings:
        right = ax.twinx()
        right.plot(*zip(*ratings, strict=True), color="tab:green", lw=1, label="league rating")
        right.set_ylabel("learner Elo rating (league)")
        more, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more, labels + more_labels
    if not train and not evals:
        ax.text(
            0.5, 0.5, "no finished episodes yet", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if handles:
        ax.legend(handles, labels, loc="best", fontsize="small")
    fig.tight_layout()
    return atomic_write(path, lambda f: fig.savefig(f, format="png"))


class LearningCurve:
    """The points :func:`plot_learning_curve` draws, collected row by row in bounded memory.

    ``rlactors train`` once kept every iteration's metrics row in memory to plot the curve at
    the end: an Ape-X row is ~4 KB of Python objects (~1 KB as JSON; its lists of episode
    returns and per-worker figures included) and Ape-X does 1-3 iterations a second on 2 cores,
    so the driver grew by 15-40 MB an hour, without end (issue #14's soak; RLlib's users
    report drivers running out of memory after hours, ray#21718). This keeps only the plotted
    numbers, and at most ``max_points`` of each series: when one is full, every other point is
    dropped and from then on only every second row is taken (every fourth after the next
    halving, ...), so the points stay evenly spaced over the whole run. The latest point is
    always drawn.

    Args:
        max_points: Points kept per series (training return, greedy evaluations, league
            rating), >= 2; a
            PNG is ~800 pixels wide.
        x, y, eval_y, rating_y: The keys, as :func:`plot_learning_curve` reads them.
    """

    #: The default ``max_points``.
    MAX_POINTS = 4096

    def __init__(
        self,
        max_points: int | None = None,
        *,
        x: str = "env_steps",
        y: str = "episode_return_mean",
        eval_y: str = "eval_return_mean",
        rating_y: str = "league_rating",
    ) -> None:
        max_points = self.MAX_POINTS if max_points is None else max_points
        if max_points < 2:
            raise ValueError(f"LearningCurve: max_points must be >= 2, got {max_points}")
        self.keys = (x, y, eval_y, rating_y)
        self._series = tuple(_Thinned(max_points) for _ in range(3))

    def add(self, metrics: Mapping[str, Any]) -> None:
        """Take one iteration's metrics row (rows without a value add nothing to its series)."""
        x, *keys = self.keys
        if metrics.get(x) is None:
            return
        for series, key in zip(self._series, keys, strict=True):
            if metrics.get(key) is not None:
                series.add((metrics[x], metrics[key]))

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`add` each of ``records`` (e.g. a resumed run's earlier rows)."""
        for metrics in records:
            self.add(metrics)

    def records(self) -> list[dict[str, Any]]:
        """The kept points as rows for :func:`plot_learning_curve`, in order per series."""
        x, *keys = self.keys
        return [
            {x: px, key: py}
            for series, key in zip(self._series, keys, strict=True)
            for px, py in series.points()
        ]

    def __len__(self) -> int:
        """Points held, over both series."""
        return sum(len(s.kept) for s in self._series)


class _Thinned:
    """Every ``stride``-th of the points offered, the stride doubling whenever ``max_points``
    would be exceeded, plus the latest."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self.kept: list[tuple[Any, Any]] = []
        self.stride = 1
        self.offered = 0
        self.latest: tuple[Any, Any] | None = None

    def add(self, point: tuple[Any, Any]) -> None:
        # Kept points are those offered at multiples of the stride, so halving them (every
        # other one) leaves the multiples of the doubled stride.
        if self.offered % self.stride == 0:
            self.kept.append(point)
            if len(self.kept) > self.max_points:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.offered += 1
        self.latest = point

    def points(self) -> list[tuple[Any, Any]]:
        if self.latest is not None and (not self.kept or self.kept[-1] is not self.latest):
            return [*self.kept, self.latest]
        return list(self.kept)
