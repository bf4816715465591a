"""Metrics as JSON Lines: one object per training iteration, appended and flushed as it comes."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from rlactors.checkpoint import atomic_write_text
from rlactors.metrics.tensorboard import TensorBoardWriter, open_tensorboard


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made plain and non-finite floats made None.

    JSON has no NaN or infinity (``json.dumps`` would write the non-standard ``NaN``, which
    strict readers such as ``jq`` reject), so they are written as ``null``.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


class MetricsWriter:
    """Appends one JSON object per line to ``path``; a context manager.

    Each line is flushed at once, so ``tail -f`` and a crashed run both see every iteration
    written so far.

    Args:
        path: The ``.jsonl`` file (created with its parent directory; appended to if present).
        tensorboard_dir: Also write every row as TensorBoard events into this directory
            (:mod:`rlactors.metrics.tensorboard`); the rows ``path`` holds already (a resumed
            run's) are written there first, so the event files mirror the whole file. Without
            ``tensorboard`` installed, one warning is logged and no event file is written.
        header: The run's ``config.json``, written beside the events as text and
            hyperparameters (with ``tensorboard_dir`` only).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        tensorboard_dir: str | Path | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tensorboard: TensorBoardWriter | None = None
        if tensorboard_dir is not None:
            rows = read_metrics(self.path) if self.path.is_file() else []
            self._tensorboard = open_tensorboard(tensorboard_dir, header=header, rows=rows)
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line.

        Raises:
            ValueError: The writer was closed.
        """
        if self._file is None:
            raise ValueError(f"MetricsWriter({self.path}) is closed")
        row = to_jsonable(record)
        self._file.write(json.dumps(row, allow_nan=False) + "\n")
        self._file.flush()
        if self._tensorboard is not None:
            self._tensorboard.write(row)

    def close(self) -> None:
        """Close the file and the event file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a ``.jsonl`` file, skipping a truncated last line (a run killed mid-write).

    Raises:
        ValueError: A line other than the last is not valid JSON.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if i == len(lines) - 1:
                break
            raise ValueError(f"{path}, line {i + 1}: not JSON ({exc})") from exc
    return records


def truncate_metrics(path: str | Path, iteration: int) -> tuple[list[dict[str, Any]], int]:
    """Keep the records of iterations up to ``iteration`` and drop the rest, rewriting the file
    atomically: a resumed run continues the file from its checkpoint's iteration, without the
    rows of the iterations it will train again (or a truncated last line).

    Args:
        path: The ``.jsonl`` file (a missing one is left missing).
        iteration: The checkpoint's iteration; records with a larger ``iteration`` are dropped.

    Returns:
        ``(kept records, number of records dropped)``.

    Raises:
        ValueError: A line other than the last is not valid JSON (see :func:`read_metrics`).
    """
    target = Path(path)
    if not target.is_file():
        return [], 0
    records = read_metrics(target)
    kept = [r for r in records if int(r.get("iteration", 0)) <= iteration]
    text = "".join(json.dumps(r, allow_nan=False) + "\n" for r in kept)
    atomic_write_text(target, text)
    return kept, len(records) - len(kept)


class MetricsSpool:
    """The metrics rows of a training run, kept in an anonymous temporary file, not in memory
    (a row per iteration, for hours, was the driver's one unbounded growth: see
    :class:`~rlactors.metrics.plot.LearningCurve`); what ``TrainingLoop.save`` writes as the
    run directory's ``metrics.jsonl``. The file goes when the spool is closed or collected.
    """

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._count = 0

    def append(self, record: Mapping[str, Any]) -> None:
        """Keep ``record`` (made JSON-able as :class:`MetricsWriter` writes it)."""
        if self._file is None:
            # Held open across calls (no with block): close() closes it.
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._file.seek(0, os.SEEK_END)  # a read of the rows may have moved it
        self._file.write(json.dumps(to_jsonable(record), allow_nan=False) + "\n")
        self._count += 1

    def replace(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Keep ``records`` instead of every row so far (a restored run's history)."""
        self.close()
        for record in records:
            self.append(record)

    def lines(self) -> Iterator[str]:
        """The rows, oldest first, each a line of JSON with its newline."""
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        yield from self._file

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows, oldest first."""
        for line in self.lines():
            yield json.loads(line)

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        """Drop every row (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._count = 0
