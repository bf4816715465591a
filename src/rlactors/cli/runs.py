"""``rlactors train``'s run directory: a fresh one (never silently reused), or a resumed one.

A fresh run refuses a directory that holds a run already (:func:`rlactors.metrics.run_entries`)
unless ``--overwrite`` clears it. ``--resume RUN_DIR`` rebuilds the algorithm from the run's
``config.json`` (the budget may be raised with ``--max-env-steps``; nothing else changes, and
no preset or config file is read again),
restores its newest checkpoint (:func:`rlactors.run_checkpoints.latest_checkpoint`: learner
states, counters, schedules, the optimizer's counters, replay if it was saved; the actors'
env seeds continue from the env steps) and cuts ``metrics.jsonl`` back to the checkpoint's
iteration, so the rows the run trains again are not written twice.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlactors.algorithms import AlgorithmEntry, config_from_dict
from rlactors.algorithms.loop import TrainingLoop
from rlactors.checkpoint import CheckpointError
from rlactors.cli.args import CliError, TrainArgs
from rlactors.cli.presets import MergedConfig, merge_config
from rlactors.metrics import CONFIG_FILE, METRICS_FILE, run_entries, truncate_metrics
from rlactors.run_checkpoints import (
    CheckpointSchedule,
    latest_checkpoint,
    parse_checkpoint_every,
)

#: The key of ``config.json``'s record of where each config field came from.
SOURCES_KEY = "sources"


@dataclass
class Resumed:
    """Where a resumed run starts.

    Attributes:
        checkpoint: The checkpoint it was restored from.
        records: The metrics rows up to the checkpoint's iteration (the curve's start).
        dropped: Rows past it, removed from ``metrics.jsonl``.
    """

    checkpoint: Path
    records: list[dict[str, Any]]
    dropped: int


def check_fresh_run_dir(args: TrainArgs) -> None:
    """Refuse a ``--run-dir`` that holds a run, unless ``--overwrite`` (which clears it later,
    once the algorithm is built: a bad config deletes nothing).

    Raises:
        CliError: The directory holds a run and ``--overwrite`` was not given.
    """
    if args.run_dir is None or args.overwrite:
        return
    found = run_entries(args.run_dir)
    if found:
        raise CliError(
            f"train: {args.run_dir} holds a run already ({', '.join(found)}): continue it with "
            f"--resume {args.run_dir}, or start afresh with --overwrite (deletes it)"
        )


def fresh_config(entry: AlgorithmEntry, args: TrainArgs) -> tuple[Any, MergedConfig]:
    """The config of a fresh run: the defaults, then the preset for its env (unless
    ``--no-preset``), then ``--config FILE``, then the fields given as flags; with where each
    field came from.

    Raises:
        CliError: A config file that does not read, or a value the config refuses (its
            message names the field).
    """
    merged = merge_config(
        entry.name,
        entry.config_class(),
        args.overrides,
        config_file=args.config_file,
        use_preset=args.use_preset,
    )
    try:
        return entry.config_class()(**merged.values), merged
    except ValueError as exc:
        raise CliError(f"{args.algorithm} config: {exc}{_from_where(str(exc), merged)}") from None


def _from_where(message: str, merged: MergedConfig) -> str:
    """`` (from --config FILE)`` or `` (from preset ppo/Env)`` when a field that ``message``
    names came from there (a range check in the config class names only the field)."""
    named = set(re.findall(r"\w+", message))
    sources = {merged.sources[name] for name in named & set(merged.sources)}
    if "config" in sources:
        return f" (from --config {merged.config_file})"
    if "preset" in sources and merged.preset is not None:
        return f" (from preset {merged.preset.name}, {merged.preset.path})"
    return ""


def provenance(merged: MergedConfig) -> dict[str, Any]:
    """What a fresh run's ``config.json`` records of where its config came from:
    ``{"sources": {field: "default"|"preset"|"config"|"flag"}, "preset": "ppo/LunarLander-v3"
    or None, "config_file": path or None}``."""
    return {
        SOURCES_KEY: dict(merged.sources),
        "preset": merged.preset.name if merged.preset is not None else None,
        "config_file": merged.config_file,
    }


def resumed_provenance(header: dict[str, Any], args: TrainArgs) -> dict[str, Any]:
    """A resumed run's provenance: the recorded one, with a new budget marked as a flag (a
    run directory written before provenance was recorded has none)."""
    sources = header.get(SOURCES_KEY)
    if not isinstance(sources, dict):
        return {}
    kept = {key: header.get(key) for key in ("preset", "config_file")}
    return {SOURCES_KEY: {**sources, **dict.fromkeys(args.overrides, "flag")}, **kept}


def schedule_of(
    args: TrainArgs, entry: AlgorithmEntry, saved: dict[str, Any] | None = None
) -> CheckpointSchedule:
    """The checkpoint schedule: the flags given, else the resumed run's (``saved``), else the
    defaults.

    Raises:
        CliError: ``--checkpoint-replay`` for an algorithm without replay.
    """
    try:
        schedule = CheckpointSchedule(**saved) if saved else CheckpointSchedule()
    except (TypeError, ValueError) as exc:  # an edited config.json
        raise CliError(f"train --resume: the run's checkpoint schedule {saved}: {exc}") from None
    changes: dict[str, Any] = {}
    if args.checkpoint_every is not None:
        every_iterations, every_s = parse_checkpoint_every(args.checkpoint_every)
        changes.update(every_iterations=every_iterations, every_s=every_s)
    if args.keep_checkpoints is not None:
        changes["keep"] = args.keep_checkpoints
    if args.checkpoint_replay is not None:
        changes["include_replay"] = args.checkpoint_replay
    schedule = dataclasses.replace(schedule, **changes)
    if schedule.include_replay and not loop_class(entry).builder_class.has_replay:
        raise CliError(
            f"train: {entry.name} has no replay buffer to checkpoint (--checkpoint-replay)"
        )
    return schedule


def read_run_header(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json``: ``{"algorithm", "config", "checkpoints"}``.

    Raises:
        CliError: It is missing or unreadable.
    """
    path = Path(run_dir) / CONFIG_FILE
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
            raise ValueError("no 'config' object")
        return header
    except FileNotFoundError:
        raise CliError(f"train --resume: {run_dir} holds no run (no {CONFIG_FILE})") from None
    except (ValueError, RecursionError) as exc:
        raise CliError(f"train --resume: {path} is not a run's config ({exc})") from None


def resumed_config(entry: AlgorithmEntry, header: dict[str, Any], args: TrainArgs) -> Any:
    """The run's own config, with the new budget if one was given.

    Raises:
        CliError: The config does not load (another rlactors wrote it, or it was edited).
    """
    try:
        return config_from_dict(entry.config_class(), {**header["config"], **args.overrides})
    except ValueError as exc:
        raise CliError(f"train --resume: {args.resume}/{CONFIG_FILE}: {exc}") from None


def resume(algorithm: TrainingLoop, run_dir: Path) -> Resumed:
    """Restore the run's newest checkpoint into ``algorithm`` and cut its metrics back to it.

    Raises:
        CliError: No checkpoint to resume from, one that does not load, or a run with nothing
            left to do (solved, or its budget spent: raise it with ``--max-env-steps``).
    """
    try:
        checkpoint = latest_checkpoint(run_dir)
        if checkpoint is None:
            raise CliError(
                f"train --resume: {run_dir} has no checkpoint to resume from (the run was "
                "stopped before its first periodic checkpoint; --checkpoint-every sets how "
                "often they are taken); start it afresh with --overwrite"
            )
        algorithm.restore(checkpoint)
    except CheckpointError as exc:
        raise CliError(f"train --resume: {exc}") from None
    if algorithm.done:
        if algorithm.result()["solved"]:
            raise CliError(
                f"train --resume: the run in {run_dir} was solved at {algorithm.env_steps} env "
                f"steps ({checkpoint}); there is nothing to resume"
            )
        raise CliError(
            f"train --resume: the run in {run_dir} has spent its budget of "
            f"{algorithm.config.max_env_steps} env steps at {algorithm.env_steps} env steps "
            f"({checkpoint}); to train on, raise the budget with --max-env-steps"
        )
    records, dropped = truncate_metrics(run_dir / METRICS_FILE, algorithm.iteration)
    return Resumed(checkpoint, records, dropped)


def loop_class(entry: AlgorithmEntry) -> type[TrainingLoop]:
    """The algorithm's class: every registered algorithm is a :class:`TrainingLoop`, which
    the CLI's checkpoints and resume need (``save(include_replay=)``, counters, ``done``)."""
    cls = entry.algorithm_class()
    if not issubclass(cls, TrainingLoop):
        raise TypeError(f"{entry.name}: {cls.__qualname__} is not a TrainingLoop")
    return cls
