"""``rlactors plot``: the learning curves of several runs on one PNG.

    rlactors plot runs/dqn-* runs/ppo-* --out compare.png
    rlactors plot runs/dqn-* --x seconds --y eval_return_mean

Runs whose ``config.json`` agree on everything but the seed are one group, drawn as their mean
with a ± std band; the legend names each group by what differs between the groups (see
:mod:`rlactors.metrics.plot`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlactors.cli import output
from rlactors.cli.args import CliError

#: ``--x`` choices: the metrics key each reads, and its axis label.
X_AXES = {"env_steps": ("env_steps", "env steps"), "seconds": ("time_s", "seconds of training")}

#: The default ``--y``.
DEFAULT_METRIC = "episode_return_mean"


def plot(run_dirs: Sequence[str], out: str, x: str = "env_steps", y: str = DEFAULT_METRIC) -> int:
    """Draw the ``y`` metric of every run in ``run_dirs`` against ``x`` into the PNG ``out``
    and print where it went; returns the exit status. A run without any ``y`` is skipped
    (with a line saying so) when others have it.

    Raises:
        CliError: A directory without ``metrics.jsonl`` or ``config.json``; a metric no run
            has; ``--x seconds`` with a run whose rows have no ``time_s``; a group whose runs
            share no range of ``x``; a PNG that cannot be written.
    """
    import numpy as np

    from rlactors.metrics import CONFIG_FILE, METRICS_FILE, read_metrics
    from rlactors.metrics.plot import RunCurve, group_curves, plot_comparison

    key, x_label = X_AXES[x]
    rows_by_run: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for run_dir in run_dirs:
        root = Path(run_dir)
        if not (root / METRICS_FILE).is_file():
            raise CliError(f"plot: {run_dir} has no {METRICS_FILE} (is it a run directory?)")
        try:
            header = json.loads((root / CONFIG_FILE).read_text(encoding="utf-8"))
            rows = read_metrics(root / METRICS_FILE)
        except FileNotFoundError:
            raise CliError(
                f"plot: {run_dir} has no {CONFIG_FILE} (is it a run directory?)"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise CliError(f"plot: {run_dir}: {exc}") from None
        if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
            raise CliError(f"plot: {run_dir}/{CONFIG_FILE} is not a run's config")
        config = {"algorithm": header.get("algorithm"), **header["config"]}
        if key == "time_s" and rows and not any(r.get("time_s") is not None for r in rows):
            raise CliError(
                f"plot: --x seconds reads time_s, which the rows of {run_dir}/{METRICS_FILE} "
                "do not have; plot it with --x env_steps"
            )
        rows_by_run.append((run_dir, config, rows))

    curves, skipped = [], []
    for run_dir, config, rows in rows_by_run:
        points = [
            (float(r[key]), float(r[y]))
            for r in rows
            if isinstance(r.get(key), int | float) and isinstance(r.get(y), int | float)
        ]
        if points:
            xs, ys = (np.asarray(v, dtype=np.float64) for v in zip(*sorted(points), strict=True))
            curves.append(RunCurve(run_dir, config, xs, ys))
        else:
            skipped.append(run_dir)
    if not curves:
        raise CliError(f"plot: no run has the metric {y!r}; {_metrics_hint(rows_by_run)}")
    for run_dir in skipped:
        output.say(f"skipping {run_dir}: its {METRICS_FILE} has no {y} against {key}")
    try:
        groups = group_curves(curves)
        path = plot_comparison(groups, out, x_label=x_label, y_label=y)
    except ValueError as exc:
        raise CliError(f"plot: {exc}") from None
    except OSError as exc:
        raise CliError(f"plot: cannot write {out}: {exc.strerror}") from None
    output.say(f"plot: {path} ({_count(len(curves), 'run')} in {_count(len(groups), 'group')})")
    return 0


def _metrics_hint(rows_by_run: Sequence[tuple[str, dict[str, Any], list[dict[str, Any]]]]) -> str:
    """The numeric metrics the runs do have, for the error of a metric none has."""
    names = sorted(
        {
            k
            for _, _, rows in rows_by_run
            for r in rows
            for k, v in r.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
    )
    return f"their numeric metrics: {', '.join(names)}" if names else "their metrics are empty"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
