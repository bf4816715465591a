"""Run directories: ``runs/<algo>-<env>-<timestamp>/`` with config, metrics, curve, checkpoint."""

from __future__ import annotations

import re
import time
from pathlib import Path

#: The files of a run directory (the checkpoint is a directory).
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "learning_curve.png"
CHECKPOINT_DIR = "checkpoint"


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
        path: Use exactly this directory instead (it may exist, e.g. to write into it again).
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
