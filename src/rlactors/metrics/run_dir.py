"""Run directories: ``runs/<algo>-<env>-<timestamp>/`` with config, metrics, curve, checkpoints
and TensorBoard event files."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

#: The files of a run directory (the checkpoints are directories).
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "learning_curve.png"
#: TensorBoard's event files, mirroring the metrics (see :mod:`rlactors.metrics.tensorboard`).
TENSORBOARD_DIR = "tensorboard"
#: The final checkpoint, written when training ends (``rlactors evaluate RUN`` reads it).
CHECKPOINT_DIR = "checkpoint"
#: The periodic and best checkpoints (see :mod:`rlactors.run_checkpoints`).
CHECKPOINTS_DIR = "checkpoints"
#: Everything a run writes into its directory, and nothing else: what ``--overwrite`` clears.
RUN_ENTRIES = (
    CONFIG_FILE,
    METRICS_FILE,
    CURVE_FILE,
    CHECKPOINT_DIR,
    CHECKPOINTS_DIR,
    TENSORBOARD_DIR,
)


def run_dir_name(algorithm: str, env_name: str, timestamp: float | None = None) -> str:
    """``<algorithm>-<env_name>-<YYYYmmdd-HHMMSS>`` in local time, safe as a file name.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` in the env's name (the ``/``
    of namespaced ids like ``ALE/Pong-v5``) become ``_``.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(timestamp))
    safe_env = re.sub(r"[^A-Za-z0-9._-]", "_", env_name)
    return f"{algorithm}-{safe_env}-{stamp}"


def make_run_dir(
    algorithm: str,
    env_name: str,
    *,
    root: str | Path = "runs",
    path: str | Path | None = None,
    timestamp: float | None = None,
) -> Path:
    """Create the run directory and return it.

    Args:
        algorithm: Registry name, e.g. ``"dqn"``.
        env_name: The env's short name (``EnvSpec.name``).
        root: Parent of the default-named directory.
        path: Use exactly this directory instead (it may exist; whether it may hold a run
            already is the caller's decision: see :func:`run_entries`).
        timestamp: Seconds since the epoch for the name (default: now).

    Returns:
        The new directory. A default name that is taken gets a ``-2``, ``-3``, ... suffix, so two
        runs started in the same second never share a directory.
    """
    if path is not None:
        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        return target
    base = Path(root) / run_dir_name(algorithm, env_name, timestamp)
    for n in range(1, 10_000):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not find a free run directory name next to {base}")


def checkpoint_in(path: str | Path) -> Path:
    """The checkpoint directory ``path`` names: its :data:`CHECKPOINT_DIR` if it is a run
    directory (``rlactors train``'s, or ``TrainingLoop.save``'s), else ``path`` itself."""
    root = Path(path)
    return root / CHECKPOINT_DIR if (root / CHECKPOINT_DIR).is_dir() else root


def run_entries(path: str | Path) -> list[str]:
    """The names in ``path`` that a run wrote (:data:`RUN_ENTRIES`); empty if it holds no run
    (missing, empty, or only files of the user's)."""
    root = Path(path)
    return [name for name in RUN_ENTRIES if (root / name).exists()]


def clear_run(path: str | Path) -> list[str]:
    """Delete what a run wrote into ``path`` (:data:`RUN_ENTRIES`), leaving any other file.

    Returns:
        The names deleted.
    """
    root = Path(path)
    removed = run_entries(root)
    for name in removed:
        entry = root / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return removed
