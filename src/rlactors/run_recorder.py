"""A run directory, written as an algorithm trains: the one writer of ``rlactors train``,
``TrainingLoop.train(run_dir=...)`` and ``TrainingLoop.save`` (:func:`save_run`)::

    RUN_DIR/
      config.json          {"algorithm", "config", "checkpoints"}: written before training
      metrics.jsonl        a row per iteration, written before that iteration's checkpoints
      checkpoints/         periodic and best (rlactors.run_checkpoints)
      checkpoint/          the final checkpoint, at the end
      learning_curve.png   at the end

``rlactors evaluate RUN_DIR`` and ``rlactors train --resume RUN_DIR`` read what it writes,
whichever of the two wrote it. A run directory is never reused silently: :func:`new_run_dir`
refuses one that holds a run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rlactors.algorithms.base import config_to_dict
from rlactors.checkpoint import STATE_FILE, atomic_write_text
from rlactors.metrics import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    CURVE_FILE,
    METRICS_FILE,
    RUN_ENTRIES,
    TENSORBOARD_DIR,
    LearningCurve,
    MetricsWriter,
    plot_learning_curve,
    run_entries,
)
from rlactors.run_checkpoints import CheckpointSchedule, PeriodicCheckpoints, Saves

if TYPE_CHECKING:
    from rlactors.algorithms.loop import TrainingLoop

#: The key of the checkpoint schedule in a run's ``config.json`` (a resumed run keeps it).
SCHEDULE_KEY = "checkpoints"


def new_run_dir(path: str | Path) -> Path:
    """``path``, created, for a fresh run.

    Raises:
        ValueError: It holds a run already (:func:`rlactors.metrics.run_entries`).
    """
    found = run_entries(path)
    if found:
        raise ValueError(
            f"{path} holds a run already ({', '.join(found)}): pass another run_dir, continue "
            f"it with rlactors train --resume {path}, or delete it (rlactors.metrics.clear_run)"
        )
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    return target


class RunRecorder:
    """Writes one training session into a run directory; a context manager around the
    session (entering writes ``config.json`` and opens ``metrics.jsonl`` for appending).

    Call :meth:`record` after each iteration, then :meth:`finish` (the final checkpoint and
    the curve) once training ended, or was interrupted.

    Args:
        run_dir: The run directory (it exists: :func:`new_run_dir`, or a resumed run's).
        algorithm: The algorithm's registry name (``config.json`` names it).
        config: Its config dataclass.
        schedule: The periodic checkpoints.
        title: The curve's title, e.g. ``"dqn CartPole-v1"``.
        records: Metrics rows of earlier sessions (a resumed run's), for the curve only.
        provenance: More keys of ``config.json``: where each config field came from
            (``rlactors train``'s ``sources``, ``preset`` and ``config_file``:
            :mod:`rlactors.cli.presets`).
    """

    def __init__(
        self,
        run_dir: str | Path,
        algorithm: str,
        config: Any,
        schedule: CheckpointSchedule,
        *,
        title: str,
        records: Iterable[Mapping[str, Any]] = (),
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.algorithm = algorithm
        self.config = config
        self.schedule = schedule
        self.title = title
        self.provenance = dict(provenance or {})
        # Only the plotted points, not the rows: a row per iteration kept for hours was the
        # driver's one unbounded growth (LearningCurve).
        self._points = LearningCurve()
        self._points.extend(records)
        self._writer: MetricsWriter | None = None
        self._checkpoints: PeriodicCheckpoints | None = None

    def __enter__(self) -> RunRecorder:
        header = {
            "algorithm": self.algorithm,
            "config": config_to_dict(self.config),
            SCHEDULE_KEY: dataclasses.asdict(self.schedule),
            **self.provenance,
        }
        atomic_write_text(self.run_dir / CONFIG_FILE, json.dumps(header, indent=2) + "\n")
        self._checkpoints = PeriodicCheckpoints(self.run_dir, self.schedule)
        self._writer = MetricsWriter(
            self.run_dir / METRICS_FILE,
            tensorboard_dir=self.run_dir / TENSORBOARD_DIR,
            header=header,
        )
        return self

    def record(self, algorithm: Saves, metrics: Mapping[str, Any]) -> None:
        """One iteration: its metrics row, its curve point, then its checkpoints (a checkpoint
        never runs ahead of the metrics)."""
        if self._writer is None or self._checkpoints is None:
            raise RuntimeError("RunRecorder.record outside its with block")
        self._writer.write(metrics)
        self._points.add(metrics)
        self._checkpoints.after_iteration(algorithm, metrics)

    def save_checkpoint(self, algorithm: Saves, *, include_replay: bool | None = None) -> Path:
        """The final checkpoint, ``RUN_DIR/checkpoint`` (with the replay buffer if the
        schedule says so, or ``include_replay``)."""
        replay = self.schedule.include_replay if include_replay is None else include_replay
        return algorithm.save_checkpoint(self.run_dir / CHECKPOINT_DIR, include_replay=replay)

    def plot(self) -> Path:
        """The learning curve of every iteration recorded, ``RUN_DIR/learning_curve.png``."""
        return plot_learning_curve(
            self._points.records(),
            self.run_dir / CURVE_FILE,
            title=self.title,
            stop_reward=getattr(self.config, "stop_reward", None),
        )

    def finish(self, algorithm: Saves, *, include_replay: bool | None = None) -> tuple[Path, Path]:
        """The final checkpoint (see :meth:`save_checkpoint`) and the learning curve; returns
        their paths."""
        return self.save_checkpoint(algorithm, include_replay=include_replay), self.plot()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def save_run(algorithm: TrainingLoop, path: str | Path, *, include_replay: bool = False) -> Path:
    """Write ``algorithm``'s run directory at ``path`` as ``rlactors train`` would have:
    ``config.json``, ``metrics.jsonl`` (every iteration it trained: ``algorithm.history``),
    the TensorBoard event files, ``learning_curve.png`` and the final ``checkpoint/`` (with the
    replay buffer if ``include_replay``); not the periodic checkpoints, which only a run
    writing its directory as it trains takes.

    It is written beside ``path`` and then moved there, replacing what an earlier save (or
    run) wrote: a crash midway leaves the earlier one whole.

    Returns:
        ``path``.

    Raises:
        ValueError: ``path`` is a file, or a directory holding files that no run or checkpoint
            wrote (they are left alone).
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"save: {path} is a file, not a directory")
    if target.is_dir():
        ours = set(RUN_ENTRIES) | {STATE_FILE}  # a checkpoint directory: an older save()'s
        others = sorted(entry.name for entry in target.iterdir() if entry.name not in ours)
        if others:
            raise ValueError(
                f"save: {path} holds files no run wrote ({', '.join(others[:3])}); "
                "save into an empty directory or a run's"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.saving-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # a crashed save's
    staging.mkdir()
    try:
        with (staging / METRICS_FILE).open("w", encoding="utf-8") as rows:
            rows.writelines(algorithm.history.lines())
        title = f"{algorithm.name} {algorithm.env_spec.name}"
        recorder = RunRecorder(
            staging,
            algorithm.name,
            algorithm.config,
            CheckpointSchedule(),
            title=title,
            records=algorithm.history,
        )
        with recorder:  # config.json, and the event files of the rows written above
            recorder.finish(algorithm, include_replay=include_replay)
        if target.exists():
            replaced = target.with_name(f".{target.name}.replaced-{os.getpid()}")
            target.rename(replaced)
            staging.rename(target)
            shutil.rmtree(replaced)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
