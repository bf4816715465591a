"""A run's checkpoints: when the periodic ones are taken, which are kept, which one resumes.

A run directory holds the final checkpoint, written when training ends (``rlactors evaluate
RUN`` reads it), and beside it the periodic and best ones::

    RUN_DIR/
      checkpoint/                 final
      checkpoints/
        iteration-00000050/       periodic: the newest `keep` of them
        iteration-00000100/
        best/                     after the highest greedy evaluation so far (+ eval.json)

Each is written by the algorithm's ``save`` (:mod:`rlactors.checkpoint`: every file atomic,
``state.pt`` last) into a hidden ``.tmp-*`` directory beside its place and then renamed into
it, so a directory of one of these names is always whole: a run killed while writing leaves a
``.tmp-*`` directory, which the next :class:`PeriodicCheckpoints` of the run removes.
:func:`latest_checkpoint` is the one a resumed run starts from: the one of the highest
iteration, the final one included, so a finished run resumed with a larger budget continues
from its end.

The best checkpoint is the training state at the end of the iteration whose greedy evaluation
(``eval_return_mean``) was the highest so far. When evaluations run beside learning, that
evaluation is of the weights of a few iterations earlier (``eval_env_steps`` in ``eval.json``
says which); the checkpoint's last policy is the learner's at that iteration, and its best
policy (which every checkpoint holds, see :class:`~rlactors.algorithms.greedy_evaluation.
BestPolicy`) the evaluated weights. It is kept apart from the
rotation, as SB3's ``EvalCallback(best_model_save_path=...)`` keeps its best model apart from
``CheckpointCallback``'s, and RLlib's ``CheckpointConfig`` pairs ``num_to_keep`` with a score.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rlactors.checkpoint import STATE_FILE, CheckpointError, atomic_write_text, load_checkpoint
from rlactors.metrics.run_dir import CHECKPOINT_DIR, CHECKPOINTS_DIR
from rlactors.validation import is_finite_number, shown

#: The best-evaluated checkpoint, under ``checkpoints/``.
BEST_DIR = "best"
#: In the best checkpoint: the iteration, env steps and evaluation it was taken after.
BEST_FILE = "eval.json"
#: The default period: see ``--checkpoint-every``'s help (a kill loses at most this much).
DEFAULT_EVERY_S = 300.0

_PERIODIC = re.compile(r"iteration-(\d+)")
_TIME = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|min|h)")
_SECONDS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
#: The longest periods --checkpoint-every takes: a year of seconds, 10**9 iterations.
_MAX_S = 365 * 24 * 3600.0
_MAX_ITERATIONS = 10**9


def parse_checkpoint_every(text: str) -> tuple[int | None, float | None]:
    """``--checkpoint-every`` as ``(every_iterations, every_s)``.

    ``"50"`` is every 50 iterations; ``"30s"``, ``"5m"`` (or ``"5min"``), ``"1.5h"`` a period
    of wall time; ``"off"`` (or ``"none"``, ``"0"``) no periodic checkpoint.

    Raises:
        ValueError: Anything else; the message says what is accepted.
    """
    value = text.strip().lower()
    if value in ("off", "none", "0"):
        return None, None
    # isdecimal, not isdigit: "²" is a digit that int() refuses. Periods past a year (or
    # "99...9s", inf seconds) are typos, and inf is no period: CheckpointSchedule refused it
    # only after the run had started (issue #14's fuzzing).
    if value.isdecimal() and len(value) <= 12 and 1 <= int(value) <= _MAX_ITERATIONS:
        return int(value), None
    match = _TIME.fullmatch(value)
    if match is not None:
        seconds = float(match.group(1)) * _SECONDS[match.group(2)]
        if 0 < seconds <= _MAX_S:
            return None, seconds
    raise ValueError(
        f"expected a number of iterations (50), a time (30s, 5m, 1h) or off, got {shown(text)} "
        "(at most 10**9 iterations or a year)"
    )


@dataclass(frozen=True)
class CheckpointSchedule:
    """When a run takes periodic checkpoints, and what it keeps. Periodic checkpoints are
    taken when either period is due (both None: none are taken; the best one still is)."""

    every_iterations: int | None = None
    """A checkpoint at every iteration that is a multiple of this (None: not by iterations)."""

    every_s: float | None = DEFAULT_EVERY_S
    """A checkpoint once this many seconds of wall time have passed since the last one, or
    since training (re)started (None: not by time)."""

    keep: int = 3
    """Periodic checkpoints kept: the newest ``keep``; older ones are deleted."""

    include_replay: bool = False
    """Periodic checkpoints hold the replay buffer (algorithms that have one)."""

    def __post_init__(self) -> None:
        """Checks the fields.

        Raises:
            ValueError: A period that is not positive, or ``keep`` < 1.
        """
        if self.every_iterations is not None and self.every_iterations < 1:
            raise ValueError(
                f"CheckpointSchedule.every_iterations must be >= 1, got {self.every_iterations}"
            )
        if self.every_s is not None and not (math.isfinite(self.every_s) and self.every_s > 0):
            raise ValueError(f"CheckpointSchedule.every_s must be > 0, got {self.every_s}")
        if self.keep < 1:
            raise ValueError(f"CheckpointSchedule.keep must be >= 1, got {self.keep}")


class Saves(Protocol):
    """What a checkpoint is taken of: :meth:`rlactors.algorithms.loop.TrainingLoop.
    save_checkpoint`."""

    def save_checkpoint(self, path: str | Path, *, include_replay: bool = False) -> Path:
        """Write a checkpoint directory at ``path``."""
        ...


class PeriodicCheckpoints:
    """Takes a run's periodic and best checkpoints as its iterations end (see the module
    docstring); call :meth:`after_iteration` with each iteration's metrics.

    Args:
        run_dir: The run directory; checkpoints go to its ``checkpoints/``. One that a resumed
            run finds there is continued: its best score stays the one to beat, and a
            checkpoint left half-written by a kill is removed.
        schedule: When, how many, with replay or not.
        clock: Monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        run_dir: str | Path,
        schedule: CheckpointSchedule,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(run_dir) / CHECKPOINTS_DIR
        self.schedule = schedule
        self._clock = clock
        self._last_s = clock()
        _finish_interrupted_writes(self.root)
        #: The greedy return the best checkpoint was taken after (None: none yet).
        self.best_return: float | None = _best_return(self.root / BEST_DIR)

    def after_iteration(self, algorithm: Saves, metrics: Mapping[str, Any]) -> list[Path]:
        """Take the checkpoints due after an iteration: a periodic one when its period is due
        (not after the last iteration, which the final checkpoint covers), and the best one
        when the iteration's greedy evaluation beat every earlier one.

        Args:
            algorithm: What to save.
            metrics: The iteration's metrics (``iteration``, ``env_steps``, ``done``,
                ``eval_return_mean``, ``eval_env_steps``).

        Returns:
            The checkpoints written, periodic first.
        """
        written = []
        if self._periodic_due(metrics):
            replay = self.schedule.include_replay
            name = f"iteration-{int(metrics['iteration']):08d}"
            written.append(
                _write_dir(
                    self.root,
                    name,
                    lambda tmp: algorithm.save_checkpoint(tmp, include_replay=replay),
                )
            )
            self._last_s = self._clock()
            for old in periodic_checkpoints(self.root.parent)[: -self.schedule.keep]:
                shutil.rmtree(old)
        eval_return = metrics.get("eval_return_mean")
        if eval_return is not None and (
            self.best_return is None or float(eval_return) > self.best_return
        ):

            def write_best(tmp: Path) -> None:
                algorithm.save_checkpoint(tmp)
                record = {
                    key: metrics.get(key)
                    for key in ("iteration", "env_steps", "eval_return_mean", "eval_env_steps")
                }
                atomic_write_text(tmp / BEST_FILE, json.dumps(record, indent=2) + "\n")

            written.append(_write_dir(self.root, BEST_DIR, write_best))
            self.best_return = float(eval_return)
        return written

    def _periodic_due(self, metrics: Mapping[str, Any]) -> bool:
        s = self.schedule
        if metrics.get("done"):
            return False
        by_iterations = s.every_iterations is not None and (
            int(metrics["iteration"]) % s.every_iterations == 0
        )
        by_time = s.every_s is not None and self._clock() - self._last_s >= s.every_s
        return by_iterations or by_time


def periodic_checkpoints(run_dir: str | Path) -> list[Path]:
    """The periodic checkpoints of the run in ``run_dir``, oldest first."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in root.iterdir()
        if (match := _PERIODIC.fullmatch(path.name)) is not None and path.is_dir()
    ]
    return [path for _, path in sorted(found)]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint a resumed run starts from: of the periodic ones and the final one, the
    one of the highest iteration (the final one when they tie); None when there is none.

    Raises:
        CheckpointError: The final checkpoint does not load (its iteration is read from it).
    """
    candidates = [(int(p.name.split("-")[1]), 0, p) for p in periodic_checkpoints(run_dir)]
    final = Path(run_dir) / CHECKPOINT_DIR
    if (final / STATE_FILE).is_file():
        state = load_checkpoint(final, arrays=False).state
        try:
            iteration = int(state["counters"]["iteration"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise CheckpointError(
                f"{final} holds no iteration counter (state['counters'])"
            ) from None
        candidates.append((iteration, 1, final))
    return max(candidates)[2] if candidates else None


def _write_dir(root: Path, name: str, write: Callable[[Path], object]) -> Path:
    """``write`` a checkpoint into a temporary directory, then rename it to ``root / name``
    (replacing one there): the name always holds a whole checkpoint."""
    root.mkdir(parents=True, exist_ok=True)
    tmp, target, old = (root / f".tmp-{name}", root / name, root / f".old-{name}")
    for stale in (tmp, old):
        if stale.exists():
            shutil.rmtree(stale)
    write(tmp)
    if target.exists():
        os.replace(target, old)  # a directory cannot be renamed over a non-empty one
    os.replace(tmp, target)
    if old.exists():
        shutil.rmtree(old)
    return target


def _finish_interrupted_writes(root: Path) -> None:
    """Clean up after a run killed inside :func:`_write_dir`: a half-written ``.tmp-*`` is
    removed; an ``.old-*`` is put back if its replacement never arrived, else removed."""
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.name.startswith(".tmp-"):
            shutil.rmtree(path)
        elif path.name.startswith(".old-"):
            target = root / path.name.removeprefix(".old-")
            if target.exists():
                shutil.rmtree(path)
            else:
                os.replace(path, target)


def _best_return(best: Path) -> float | None:
    try:
        value = json.loads((best / BEST_FILE).read_text(encoding="utf-8"))["eval_return_mean"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None  # none yet (or unreadable: the next evaluation replaces it)
    # An edited eval.json: a string was a ValueError out of PeriodicCheckpoints(), and a NaN
    # a best that no evaluation could ever beat (issue #14's fuzzing).
    if not is_finite_number(value):
        return None
    return float(value)
