"""The learning curve: episode return against env steps, as a PNG.

Drawn with matplotlib's object API on an Agg canvas, never through ``pyplot``: no GUI backend
is touched and the global backend of a program that imports rlactors stays as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
) -> Path:
    """Plot the training return (a line) and greedy evaluations (dots) against env steps.

    Args:
        records: Iteration metrics, e.g. from :func:`~rlactors.metrics.read_metrics`. Records
            whose ``y`` (or ``eval_y``) is missing or None are skipped for that series.
        path: The PNG to write (atomically).
        title: Figure title.
        stop_reward: Drawn as a dashed horizontal line when given.
        x: Key of the horizontal axis (env steps).
        y: Key of the training-return series.
        eval_y: Key of the greedy-evaluation series.

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
    if not train and not evals:
        ax.text(
            0.5, 0.5, "no finished episodes yet", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if train or evals or stop_reward is not None:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return atomic_write(path, lambda f: fig.savefig(f, format="png"))
