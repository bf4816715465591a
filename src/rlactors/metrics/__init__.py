"""Run directories, JSON Lines metrics and learning-curve plots.

* :func:`make_run_dir` — ``runs/<algo>-<env>-<timestamp>/`` (never reused).
* :class:`MetricsWriter` / :func:`read_metrics` — one JSON object per iteration.
* :class:`MetricsSpool` — a run's rows in a temporary file (what ``save()`` writes).
* :func:`truncate_metrics` — drop the rows past a checkpoint, for a resumed run.
* :class:`TensorBoardWriter` / :func:`scalar_tags` — the rows as TensorBoard event files
  (``MetricsWriter(tensorboard_dir=)`` writes them beside each row).
* :func:`run_entries` / :func:`clear_run` — what a run wrote into a directory;
  :func:`checkpoint_in` — the checkpoint a run directory (or a checkpoint's path) names.
* :func:`plot_learning_curve` — episode return vs env steps as a PNG (matplotlib, Agg canvas);
  :class:`LearningCurve` — its points, collected while training in bounded memory.
* :mod:`rlactors.metrics.plot` also compares runs: ``group_curves`` (seeds of one config as
  a mean ± std on a common grid) and ``plot_comparison`` (``rlactors plot``).
"""

from rlactors.metrics.plot import LearningCurve, plot_learning_curve
from rlactors.metrics.run_dir import (
    CHECKPOINT_DIR,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    CURVE_FILE,
    METRICS_FILE,
    RUN_ENTRIES,
    TENSORBOARD_DIR,
    checkpoint_in,
    clear_run,
    make_run_dir,
    run_dir_name,
    run_entries,
)
from rlactors.metrics.tensorboard import TensorBoardWriter, scalar_tags
from rlactors.metrics.writer import (
    MetricsSpool,
    MetricsWriter,
    read_metrics,
    to_jsonable,
    truncate_metrics,
)

__all__ = [
    "CHECKPOINTS_DIR",
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "CURVE_FILE",
    "LearningCurve",
    "METRICS_FILE",
    "MetricsSpool",
    "RUN_ENTRIES",
    "TENSORBOARD_DIR",
    "TensorBoardWriter",
    "MetricsWriter",
    "checkpoint_in",
    "clear_run",
    "make_run_dir",
    "plot_learning_curve",
    "read_metrics",
    "run_dir_name",
    "run_entries",
    "scalar_tags",
    "to_jsonable",
    "truncate_metrics",
]
