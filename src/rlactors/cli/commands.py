"""What ``rlactors train`` and ``rlactors evaluate`` do, once their arguments are parsed.

torch, gymnasium and matplotlib are imported inside the commands, when they are needed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlactors.algorithms import (
    Algorithm,
    UnknownAlgorithmError,
    get_algorithm,
)
from rlactors.algorithms.loop import PolicyChoice, TrainingLoop
from rlactors.cli import output
from rlactors.cli.args import CliError, TrainArgs
from rlactors.cli.presets import preset_line

if TYPE_CHECKING:
    from rlactors.run_recorder import RunRecorder

#: Exit status of a run stopped with Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: Exit status of a run that failed (an actor died past its restart limit).
EXIT_FAILED = 1


def train(args: TrainArgs) -> int:
    """Train, writing the run directory (or continuing the one ``--resume`` names); returns the
    exit status.

    Raises:
        CliError: A bad config value, a ``--run-dir`` that holds a run already (without
            ``--overwrite``), or a run that cannot be resumed (before anything is written).
        UserError: An env that cannot be built, or whose actions the algorithm cannot handle
            (ditto).
    """
    from rlactors.actors import ActorError
    from rlactors.cli import runs
    from rlactors.metrics import METRICS_FILE, clear_run, make_run_dir
    from rlactors.run_recorder import SCHEDULE_KEY, RunRecorder

    entry = get_algorithm(args.algorithm)
    if args.resume is None:
        runs.check_fresh_run_dir(args)
        config, merged = runs.fresh_config(entry, args)
        schedule = runs.schedule_of(args, entry)
        provenance = runs.provenance(merged)
        preset = merged.preset
    else:
        header = runs.read_run_header(args.resume)
        config = runs.resumed_config(entry, header, args)
        schedule = runs.schedule_of(args, entry, header.get(SCHEDULE_KEY))
        provenance = runs.resumed_provenance(header, args)
        preset = None  # a resumed run keeps its recorded config: no preset is read again
    if args.address is not None and getattr(config, "backend", None) != "ray":
        raise CliError("--address joins a Ray cluster: use it with --backend ray")
    algorithm = runs.loop_class(entry)(config)
    if preset is not None:
        # After the env was found: a run refused for its env prints that error alone.
        output.say(preset_line(preset))
    env_name = algorithm.env_spec.name
    title = f"{entry.name} {env_name}"
    with _ray_cluster(args.address), algorithm:
        resumed = None
        if args.resume is not None:
            run_dir = Path(args.resume)
            resumed = runs.resume(algorithm, run_dir)
        else:
            if args.overwrite and args.run_dir is not None:
                clear_run(args.run_dir)
            run_dir = make_run_dir(entry.name, env_name, path=args.run_dir)
        # The same writer as TrainingLoop.train(run_dir=...): config.json, metrics.jsonl,
        # periodic and best checkpoints, then the final checkpoint and the curve.
        recorder = RunRecorder(
            run_dir,
            entry.name,
            config,
            schedule,
            title=title,
            records=resumed.records if resumed is not None else (),
            provenance=provenance,
        )
        if resumed is not None:
            resumed.records.clear()  # read for the curve once, not held for the whole run
            dropped = f"; dropped {resumed.dropped} metrics rows past it" if resumed.dropped else ""
            output.say(
                f"resumed from {resumed.checkpoint} at iteration {algorithm.iteration}, "
                f"{algorithm.env_steps} env steps{dropped}"
            )
        interrupted = False
        failure: ActorError | None = None
        with (
            recorder,
            output.TrainingProgress(config.max_env_steps, title, quiet=args.quiet) as progress,
        ):

            def on_iteration(metrics: dict[str, Any]) -> None:
                recorder.record(algorithm, metrics)
                progress.update(metrics)

            try:
                result = algorithm.train(
                    callback=on_iteration, on_evaluation=progress.show_evaluation
                )
            except KeyboardInterrupt:
                interrupted = True
                result = _result_of(algorithm)
            except ActorError as exc:
                # An actor died past its restart limit (or the runtime broke): the learner's
                # state in this process is whole, so it is saved and the run can be resumed.
                failure = exc
        if failure is not None:
            stopped = _failed(algorithm, recorder, run_dir, failure)
        else:
            checkpoint = recorder.save_checkpoint(algorithm)
    if failure is not None:
        # After the actors were shut down (which may log): this is the last line printed.
        output.error(stopped)
        return EXIT_FAILED
    curve = recorder.plot()
    output.say(
        ("interrupted: " if interrupted else "") + _summary(result),
        f"learning curve: {curve}",
        f"checkpoint:     {checkpoint}",
        f"metrics:        {run_dir / METRICS_FILE}",
    )
    return EXIT_INTERRUPTED if interrupted else 0


def _failed(
    algorithm: TrainingLoop, recorder: RunRecorder, run_dir: Path, failure: Exception
) -> str:
    """Save what the failed run has (its replay too, if asked and still reachable); returns
    the one line that says why it stopped and how to go on."""
    from rlactors.actors import ActorError

    saved: Path | None = None
    for replay in dict.fromkeys((recorder.schedule.include_replay, False)):
        try:
            saved = recorder.save_checkpoint(algorithm, include_replay=replay)
            break
        except ActorError:
            continue  # the replay actors are gone: save without their contents
    how = (
        f"its state at iteration {algorithm.iteration} is saved; continue it with: "
        f"rlactors train --resume {run_dir}"
        if saved is not None
        else "nothing could be saved"
    )
    return f"the run stopped: {failure}; {how}"


def evaluate(
    run_dir: str, episodes: int, opponent: str | None = None, policy: PolicyChoice = "best"
) -> int:
    """Print the greedy return of the checkpoint in ``run_dir`` (the final one, else the
    newest periodic one), of its ``policy`` (``best``: the best-evaluated one, falling back
    to the last for a checkpoint that holds none; ``last``), after a line naming the policy
    and its env steps; returns the exit status. With ``opponent`` (a multi-role run), play
    each learned seat against it and print win/draw/loss per seat, then one JSON line
    ``{"first": {"win": .., "draw": .., "loss": ..}, "second": {...}}`` (seats in the env's
    role order; an env of more roles is keyed by role).

    Raises:
        CliError: No checkpoint there, or one of an unknown algorithm; an opponent for a
            single-role run.
    """
    if episodes < 1:
        raise CliError(f"evaluate: --episodes must be >= 1, got {episodes}")
    algorithm = _load_run(run_dir, policy=policy)
    output.say(_policy_line(algorithm, policy))
    if opponent is not None:
        return _evaluate_against(algorithm, opponent, episodes)
    with algorithm:
        stats = algorithm.evaluate(episodes)
    mean, std, low, high = (
        output.format_return(stats[f"eval_return_{key}"]) for key in ("mean", "std", "min", "max")
    )
    output.say(
        f"greedy return over {stats['episodes']} episodes: mean {mean} "
        f"(std {std}, min {low}, max {high})"
    )
    return 0


def _evaluate_against(algorithm: TrainingLoop, opponent: str, episodes: int) -> int:
    """``evaluate --opponent``: win/draw/loss per seat, then the JSON line."""
    from rlactors.multiagent.opponents import PLAYER_NAMES

    if len(algorithm.roles) < 2:
        algorithm.stop()
        raise CliError(
            f"evaluate: --opponent needs a multi-role run; {algorithm.env_spec.name} has one role"
        )
    rival: str | TrainingLoop = opponent
    if opponent not in PLAYER_NAMES:
        if not Path(opponent).is_dir():
            algorithm.stop()
            raise CliError(
                f"evaluate: --opponent {opponent!r} is neither a scripted player "
                f"({', '.join(PLAYER_NAMES)}) nor a run directory"
            )
        rival = _load_run(opponent)
    try:
        with algorithm:
            stats = algorithm.evaluate_against(rival, episodes)
    except ValueError as exc:
        raise CliError(f"evaluate: {exc}") from None
    finally:
        if isinstance(rival, TrainingLoop):
            rival.stop()
    seats: dict[str, dict[str, float]] = stats["seats"]
    roles = algorithm.roles
    names = ("first", "second") if len(roles) == 2 else roles
    table: dict[str, dict[str, float]] = {}
    for role in roles:
        if role not in seats:
            continue
        key = names[roles.index(role)]
        table[key] = seats[role]
        w = seats[role]
        output.say(
            f"{key} seat ({role}) vs {opponent}, {episodes} games: win {w['win']:.1%}, "
            f"draw {w['draw']:.1%}, loss {w['loss']:.1%}"
        )
    output.say(json.dumps(table))
    return 0


def _policy_line(algorithm: TrainingLoop, policy: PolicyChoice, doing: str = "evaluating") -> str:
    """Which policy :func:`_load_run` loaded, with its env steps (and, for the best, its
    greedy return in training), as ``f"{doing} the ... policy"``."""
    best = algorithm.best_policy
    if policy == "best" and best is not None:
        return (
            f"{doing} the best policy: the one at {best.env_steps} env steps (greedy return "
            f"{output.format_return(best.eval_return_mean)} over "
            f"{algorithm.config.eval_episodes} episodes in training)"
        )
    return f"{doing} the last policy: the one at {algorithm.env_steps} env steps"


def _load_run(
    run_dir: str, policy: PolicyChoice = "best", *, command: str = "evaluate"
) -> TrainingLoop:
    """The algorithm of the checkpoint in ``run_dir`` (the final one, else the newest
    periodic one), restored with its ``policy``: ``best``, the best-evaluated one (for a
    checkpoint that holds none, the last one, and a line says so), or ``last``; ``command``
    names the command in the errors.

    Raises:
        CliError: No checkpoint there, or one of an unknown algorithm.
    """
    from rlactors.checkpoint import CheckpointError, read_checkpoint_config
    from rlactors.metrics import checkpoint_in
    from rlactors.run_checkpoints import periodic_checkpoints

    root = Path(run_dir)
    if not root.is_dir():
        raise CliError(f"{command}: {run_dir} is not a directory")
    # A run directory holds checkpoint/; a checkpoint directory can be named directly too.
    path = checkpoint_in(root)
    periodic = periodic_checkpoints(root)
    if path == root and periodic:
        # A run killed before its end has no final checkpoint, but its periodic ones.
        path = periodic[-1]
        output.say(f"{run_dir} has no final checkpoint (the run did not end): evaluating {path}")
    try:
        name, _ = read_checkpoint_config(path)
        entry = get_algorithm(name)
        algorithm = entry.algorithm_class().from_checkpoint(path)
    except (CheckpointError, UnknownAlgorithmError) as exc:
        raise CliError(f"{command}: {exc}") from None
    assert isinstance(algorithm, TrainingLoop)  # every registered algorithm is one
    if policy == "best":
        if algorithm.best_policy is None:
            output.say(
                f"{path} holds no best policy (no greedy evaluation ran: they run with "
                "--stop-reward; or an earlier release wrote it): using the last one"
            )
        else:
            algorithm.load_best_policy()
    return algorithm


@contextlib.contextmanager
def _ray_cluster(address: str | None) -> Iterator[None]:
    """Connected to the Ray cluster at ``address`` for the whole command (None: nothing to do;
    a ray-backend algorithm then starts, and stops, a local instance of its own).

    The algorithm's own ``Runtime("ray")`` finds this process connected and uses that
    connection; this runtime disconnects at the end, after the algorithm has stopped its actors.
    """
    if address is None:
        yield
        return
    from rlactors.actors import Runtime

    runtime = Runtime("ray", address=address)  # not entered: the algorithm has its own
    try:
        yield
    finally:
        runtime.shutdown()


def _result_of(algorithm: Algorithm) -> dict[str, Any]:
    result = getattr(algorithm, "result", None)
    return dict(result()) if callable(result) else {}


def _summary(result: dict[str, Any]) -> str:
    def number(key: str, spec: str) -> str:
        value = result.get(key)
        return "-" if value is None else format(value, spec)

    solved = "solved" if result.get("solved") else "not solved"
    # Evaluated beside learning: the solving policy is an earlier one, and the one kept.
    evaluated = result.get("eval_env_steps")
    policy_at = (
        f" (by the policy at {evaluated} env steps, which is kept)"
        if result.get("solved") and evaluated is not None and evaluated != result.get("env_steps")
        else ""
    )
    return (
        f"{solved} after {number('env_steps', 'd')} env steps{policy_at} and "
        f"{number('time_s', '.1f')} s: "
        f"training return {output.format_return(result.get('episode_return_mean'))}, "
        f"greedy return {output.format_return(result.get('eval_return_mean'))}"
        f"{_confirmation(result)}, "
        f"{number('env_steps_per_s', '.0f')} env steps/s"
    )


def _confirmation(result: dict[str, Any]) -> str:
    """The summary's words on the confirming evaluation (mean ± std over its episodes) and,
    for a run that is not solved, on its best policy; "" when there is neither."""
    mean = result.get("final_eval_return_mean")
    words = ""
    if mean is not None:
        measured = (
            f"{output.format_return(mean)} ± "
            f"{output.format_return(result.get('final_eval_return_std'))} over "
            f"{result.get('final_eval_episodes')} episodes"
        )
        words = (
            f", confirmed: {measured}"
            if result.get("solved")
            else f" (the policy at {result.get('final_eval_env_steps')} env steps met the stop "
            f"reward, but not in the confirming evaluation: {measured})"
        )
    best = result.get("best_eval_return_mean")
    if best is not None and not result.get("solved"):
        words += (
            f", best policy kept: greedy return {output.format_return(best)} at "
            f"{result.get('best_env_steps')} env steps"
        )
    return words
