"""TensorBoard event files that mirror ``metrics.jsonl``: ``tensorboard --logdir runs``.

A run writes them under ``<run dir>/tensorboard/`` (through
:class:`~rlactors.metrics.MetricsWriter`, beside each JSON row). Every scalar of a row is a
scalar tag at the row's ``env_steps``, the global step:

* top-level numbers keep their key (``episode_return_mean``, ``loss``, ``replay_size``); booleans
  (``solved``, ``done``) are 0/1; ``null`` (no value yet, or a NaN) writes nothing;
* nested mappings are flattened with ``/``: ``policies/default/loss``, ``league_results/<id>/win``;
* lists are per worker (or per index): ``worker_epsilons/0``, ``worker_epsilons/1``, ... - except
  the per-episode lists (:data:`PER_EPISODE_KEYS`: one value per episode that ended in the
  iteration, of varying length), which are not scalars per tag and are left out;
* the run's ``config.json`` is a text summary (``config``), and its config's scalars are the
  run's hyperparameters in the HParams dashboard (against ``episode_return_mean`` and
  ``eval_return_mean``).

Why ``torch.utils.tensorboard``: torch is a dependency already and its ``SummaryWriter`` needs only
the ``tensorboard`` package (its protos and event-file writer), where tensorboardX would add a
package of its own for the same event files. Each row is written as **one** event holding all its
scalars, through the ``SummaryWriter``'s ``FileWriter.add_summary`` (what ``add_scalar`` calls with
one scalar per event): measured at 0.24 ms per row of 40 scalars, against 2.9 ms with 40
``add_scalar`` calls. Events are written by the writer's own thread and flushed every
:data:`FLUSH_SECS` seconds (a live TensorBoard reloads every 5 s) or :data:`MAX_QUEUE` rows, and
on close.

**Resumed runs.** ``metrics.jsonl`` is the record, the event files a view of it. A resumed run has
dropped the rows past its checkpoint from ``metrics.jsonl``; the writer then deletes the run's
event files and writes the kept rows again before the new ones, so the event files hold exactly
the rows of ``metrics.jsonl``: no stale step of the lost iterations, none duplicated, and none
missing that a killed run had not flushed yet. ``SummaryWriter(purge_step=)`` would keep the old
files and mark the steps to drop, but only TensorBoard's Python event reader honours the mark;
the ``tensorboard-data-server`` it uses by default does not (checked with tensorboard 2.21: a tag
the resumed run writes at later steps only, as it does the greedy evaluations, keeps its points
of the lost iterations). Rewriting costs the same 0.24 ms per kept row, about 2.5 s per 10,000
iterations. Rows carry no clock time, so an event's wall time is the run's start plus the row's
``time_s`` (training time over all sessions): TensorBoard's "relative" axis is training time.

Without ``tensorboard`` installed (the ``tensorboard`` extra, which the default ``make`` install
includes), a run trains as before, writes no event file and logs one warning that names the
extra: :func:`open_tensorboard`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast

log = logging.getLogger(__name__)

#: Keys of the lists that hold one value per episode (not per worker): left out of the tags.
PER_EPISODE_KEYS = frozenset({"episode_returns", "episode_lengths"})
#: The metrics the HParams dashboard shows beside each run's config.
HPARAM_METRICS = ("episode_return_mean", "eval_return_mean")
#: Seconds between flushes of the event file (the writer thread's own clock).
FLUSH_SECS = 10.0
#: Rows (events) queued before a write waits for the writer thread to take them.
MAX_QUEUE = 100
#: The glob of TensorBoard's event-file names (``events.out.tfevents.<time>.<host>...``).
EVENT_FILES = "events.out.tfevents.*"
#: The one line logged when ``tensorboard`` is not installed.
MISSING_WARNING = (
    "TensorBoard event files are not written: the tensorboard package is not installed "
    "(pip install 'rlactors[tensorboard]')"
)


def scalar_tags(record: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The scalars of a metrics row (as :func:`~rlactors.metrics.to_jsonable` makes it) by
    TensorBoard tag: see the module docstring for the flattening.

    Args:
        record: One row: numbers, booleans, None, strings, lists and mappings of them.
        prefix: Prepended to every tag (``"policies/default/"`` for a nested mapping).

    Returns:
        ``{tag: value}`` in the row's order, values as floats; strings and None are left out.
    """
    tags: dict[str, float] = {}
    for key, value in record.items():
        tag = f"{prefix}{key}"
        if isinstance(value, Mapping):
            tags.update(scalar_tags(value, f"{tag}/"))
        elif isinstance(value, list | tuple):
            if not prefix and key in PER_EPISODE_KEYS:
                continue
            tags.update(scalar_tags({str(i): v for i, v in enumerate(value)}, f"{tag}/"))
        elif isinstance(value, bool | int | float) and math.isfinite(value):
            tags[tag] = float(value)
    return tags


def hparams_of(config: Mapping[str, Any], prefix: str = "") -> dict[str, bool | int | float | str]:
    """A config flattened to what the HParams dashboard takes: nested mappings joined with
    ``.`` (``network.hidden_sizes``), numbers, booleans and strings as they are, lists and
    other values as their JSON text; None is left out."""
    flat: dict[str, bool | int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(hparams_of(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        elif value is not None:
            flat[name] = json.dumps(value)
    return flat


class TensorBoardWriter:
    """Writes metrics rows as TensorBoard events into ``logdir``; a context manager.

    Args:
        logdir: The directory of the event files (created; event files in it already are
            deleted, see the module docstring on resumed runs).
        header: The run's ``config.json`` (``{"algorithm", "config", ...}``): written as text,
            and its ``config`` as hyperparameters.
        rows: The rows the run's ``metrics.jsonl`` holds already (a resumed run's), written
            first.

    Raises:
        ImportError: ``tensorboard`` is not installed (:func:`open_tensorboard` turns it into
            a warning).
    """

    def __init__(
        self,
        logdir: str | Path,
        *,
        header: Mapping[str, Any] | None = None,
        rows: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams, text

        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        for stale in self.logdir.glob(EVENT_FILES):
            stale.unlink()
        self._summary = Summary
        # torch's tensorboard modules are untyped (``file_writer`` is declared None, then made
        # by ``__init__``): both are held as Any.
        self._writer = cast(
            Any, SummaryWriter(str(self.logdir), max_queue=MAX_QUEUE, flush_secs=FLUSH_SECS)
        )
        self._file = cast(Any, self._writer.file_writer)
        # Wall time = start + training time (rows have no clock): see the module docstring.
        last_time_s = float(rows[-1].get("time_s") or 0.0) if rows else 0.0
        self._start = time.time() - last_time_s
        self._session_end: Any = None
        if header is not None:
            config_text = text("config", _config_markdown(header))  # type: ignore[no-untyped-call]
            self._file.add_summary(config_text, 0, self._start)
            experiment, session_start, self._session_end = hparams(  # type: ignore[no-untyped-call]
                hparams_of(header.get("config", {})), dict.fromkeys(HPARAM_METRICS, 0.0)
            )
            self._file.add_summary(experiment, 0, self._start)
            self._file.add_summary(session_start, 0, self._start)
        self._closed = False
        self.write_rows(rows)

    def write(self, record: Mapping[str, Any]) -> None:
        """Write one row's scalars as one event at its ``env_steps``.

        Raises:
            ValueError: The writer was closed.
            KeyError: The row has no ``env_steps``.
        """
        if self._closed:
            raise ValueError(f"TensorBoardWriter({self.logdir}) is closed")
        summary = self._summary(
            value=[
                self._summary.Value(tag=tag, simple_value=value)
                for tag, value in scalar_tags(record).items()
            ]
        )
        time_s = record.get("time_s")
        walltime = self._start + float(time_s) if time_s is not None else time.time()
        self._file.add_summary(summary, int(record["env_steps"]), walltime)

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`write` each of ``rows``."""
        for row in rows:
            self.write(row)

    def close(self) -> None:
        """End the HParams session, flush and close the event file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._session_end is not None:
            self._file.add_summary(self._session_end)
        self._writer.close()

    def __enter__(self) -> TensorBoardWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_tensorboard(
    logdir: str | Path,
    *,
    header: Mapping[str, Any] | None = None,
    rows: Sequence[Mapping[str, Any]] = (),
) -> TensorBoardWriter | None:
    """A :class:`TensorBoardWriter`, or None with one logged warning (:data:`MISSING_WARNING`)
    when ``tensorboard`` is not installed: event files are a view of ``metrics.jsonl``, which
    is written either way, so a run is not refused for the want of them."""
    try:
        return TensorBoardWriter(logdir, header=header, rows=rows)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "tensorboard":
            raise
        log.warning(MISSING_WARNING)
        return None


def _config_markdown(header: Mapping[str, Any]) -> str:
    """``config.json`` as Markdown (TensorBoard renders text summaries as Markdown): a code
    block, indented four spaces."""
    body = json.dumps(header, indent=2, default=str)
    return "\n".join("    " + line for line in body.splitlines())
