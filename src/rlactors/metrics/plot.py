"""Learning curves as PNGs: one run's (episode return against env steps), and several runs'
compared on one figure, seeds of one config drawn as a mean with a ± std band.

Drawn with matplotlib's object API on an Agg canvas, never through ``pyplot``: no GUI backend
is touched and the global backend of a program that imports rlactors stays as it was.
:class:`LearningCurve` collects the points while a run trains, in bounded memory.
:func:`group_curves` groups runs by config (all but the seed) and averages each group on a
common grid; :func:`plot_comparison` draws the groups (``rlactors plot``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlactors.checkpoint import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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


# -- several runs on one figure -----------------------------------------------------------------

#: Config keys that say how a run was seeded, not what it is: runs differing only there are
#: seeds of one config, drawn as one group.
SEED_KEYS = frozenset({"seed"})

#: Points of a group's common grid (a PNG is ~800 pixels wide).
GRID_POINTS = 200


@dataclass(frozen=True)
class RunCurve:
    """One run's series, and the config that says which group it belongs to.

    Attributes:
        name: The run (its directory), for legends and errors.
        config: ``{"algorithm": name, **config fields}``, as ``config.json`` holds them;
            :data:`SEED_KEYS` are ignored when grouping.
        x: ``[N]`` horizontal values (env steps or seconds), ascending.
        y: ``[N]`` the metric at each.
    """

    name: str
    config: Mapping[str, Any]
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class CurveGroup:
    """Runs of one config (seeds apart), ready to draw.

    Attributes:
        label: What sets this group apart from the others (see :func:`group_labels`), plus
            the number of seeds when there are several.
        names: Its runs.
        x: ``[G]``: a single run's own x; for several, :data:`GRID_POINTS` points spanning the
            range every run covers (no run is extrapolated).
        mean: ``[G]`` mean over the runs of their curves, linearly interpolated at ``x``.
        std: ``[G]`` their standard deviation (population, ``ddof=0``); None for one run.
    """

    label: str
    names: tuple[str, ...]
    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray | None


def group_curves(curves: Sequence[RunCurve], *, grid_points: int = GRID_POINTS) -> list[CurveGroup]:
    """Group runs whose configs are equal but for :data:`SEED_KEYS`, in the order each group's
    first run is given, and average each group.

    Raises:
        ValueError: No curves; a run without points; the runs of a group share no range of x
            (each names the runs).
    """
    if not curves:
        raise ValueError("no runs to plot")
    for curve in curves:
        if len(curve.x) == 0:
            raise ValueError(f"{curve.name} has no points to plot")
    members: dict[str, list[RunCurve]] = {}
    for curve in curves:
        members.setdefault(_config_key(curve.config), []).append(curve)
    groups = list(members.values())
    labels = group_labels([group[0].config for group in groups])
    out = []
    for label, group in zip(labels, groups, strict=True):
        names = tuple(c.name for c in group)
        if len(group) == 1:
            (only,) = group
            out.append(CurveGroup(label, names, only.x, only.y, None))
            continue
        try:
            x, mean, std = aggregate([(c.x, c.y) for c in group], grid_points=grid_points)
        except ValueError as exc:
            raise ValueError(f"{', '.join(names)}: {exc}") from None
        out.append(CurveGroup(f"{label} ({len(group)} seeds)", names, x, mean, std))
    return out


def aggregate(
    curves: Sequence[tuple[np.ndarray, np.ndarray]], *, grid_points: int = GRID_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation of curves sampled at different x, on a common grid.

    Each ``(x [N_i] ascending, y [N_i])`` is interpolated linearly at ``grid_points`` evenly
    spaced points from the largest first x to the smallest last x: the range every curve
    covers, so that no curve is extrapolated (runs that stopped at different env steps are
    compared where all of them have data, as RL Zoo's and rliable's plots do).

    Returns:
        ``(grid [G], mean [G], std [G])``, std with ``ddof=0``.

    Raises:
        ValueError: The curves share no range of x.
    """
    low = max(float(x[0]) for x, _ in curves)
    high = min(float(x[-1]) for x, _ in curves)
    if not low < high:
        raise ValueError(
            f"the curves share no range of x (the latest start is {low:g}, "
            f"the earliest end {high:g})"
        )
    grid = np.linspace(low, high, grid_points)
    ys = np.stack([np.interp(grid, x, y) for x, y in curves])
    return grid, ys.mean(axis=0), ys.std(axis=0)


def group_labels(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """One legend label per config, naming what differs between them.

    The algorithm's name is shown bare (``dqn``), every other differing field as
    ``field=value``, the env first. When the algorithms differ, a field that is the same for
    every config of one algorithm is left out: it follows from the algorithm (another
    algorithm's defaults, or a field it lacks), and ``dqn`` vs ``ppo`` is the difference. A
    single config is labelled ``algorithm env``.
    """
    keys = sorted(
        {k for c in configs for k in c} - SEED_KEYS - {"algorithm"},
        key=lambda k: (k != "env", k),
    )
    algorithms = [_shown_value(c.get("algorithm")) for c in configs]
    by_algorithm = len(set(algorithms)) > 1

    def differs(key: str) -> bool:
        values = [_canonical(c.get(key)) for c in configs]
        if len(set(values)) == 1:
            return False
        if not by_algorithm:
            return True
        per_algorithm: dict[str, set[str]] = {}
        for algorithm, value in zip(algorithms, values, strict=True):
            per_algorithm.setdefault(algorithm, set()).add(value)
        return any(len(v) > 1 for v in per_algorithm.values())

    shown = [k for k in keys if differs(k)]
    labels = []
    for algorithm, config in zip(algorithms, configs, strict=True):
        parts = [algorithm] if by_algorithm else []
        parts += [f"{k}={_shown_value(config.get(k))}" for k in shown]
        labels.append(", ".join(parts) or f"{algorithm} {_shown_value(config.get('env'))}")
    return labels


def comparison_figure(
    groups: Sequence[CurveGroup], *, x_label: str, y_label: str, title: str = ""
) -> Figure:
    """The figure :func:`plot_comparison` saves: a line per group, with a ± std band
    (``fill_between``) for a group of several runs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for group in groups:
        (line,) = ax.plot(group.x, group.mean, label=group.label)
        if group.std is not None:
            ax.fill_between(
                group.x,
                group.mean - group.std,
                group.mean + group.std,
                color=line.get_color(),
                alpha=0.2,
                lw=0,
            )
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def plot_comparison(
    groups: Sequence[CurveGroup],
    path: str | Path,
    *,
    x_label: str,
    y_label: str,
    title: str = "",
) -> Path:
    """Draw ``groups`` (see :func:`group_curves`) on one figure and write it as a PNG
    (atomically); returns ``path`` as a :class:`Path`."""
    fig = comparison_figure(groups, x_label=x_label, y_label=y_label, title=title)
    return atomic_write(path, lambda f: fig.savefig(f, format="png"))


def _config_key(config: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k not in SEED_KEYS}, sort_keys=True)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _shown_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:39] + "…"
