"""Run directories, JSON Lines metrics and learning-curve plots.

* :func:`make_run_dir` — ``runs/<algo>-<env>-<timestamp>/`` (never reused).
* :class:`MetricsWriter` / :func:`read_metrics` — one JSON object per iteration.
* :func:`plot_learning_curve` — episode return vs env steps as a PNG (matplotlib, Agg canvas).
"""

from rlactors.metrics.plot import plot_learning_curve
from rlactors.metrics.run_dir import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    CURVE_FILE,
    METRICS_FILE,
    make_run_dir,
    run_dir_name,
)
from rlactors.metrics.writer import MetricsWriter, read_metrics, to_jsonable

__all__ = [
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "CURVE_FILE",
    "METRICS_FILE",
    "MetricsWriter",
    "make_run_dir",
    "plot_learning_curve",
    "read_metrics",
    "run_dir_name",
    "to_jsonable",
]
