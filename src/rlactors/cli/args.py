"""Command-line parsing: the ``train`` flags are generated from the algorithm's config dataclass.

Every field ``name: T = default`` of the config becomes ``--name`` (underscores as dashes), its
value converted to ``T`` (:func:`rlactors.algorithms.coerce_value`); bools become
``--name`` / ``--no-name``; ``Literal`` fields take only their choices; the field's docstring is
its help; a field typed ``Annotated[T, FieldParser(...)]`` (the env fields) is read by its
parser. ``--workers`` is an alias of ``--num-workers``. Mistakes end in :class:`CliError`, one
line that names what exists, instead of argparse's usage dump.

Beside the fields, ``train`` takes run options: where the run goes (``--run-dir``,
``--overwrite``), how it is checkpointed (``--checkpoint-every``, ``--keep-checkpoints``,
``--checkpoint-replay``) and ``--resume RUN_DIR``, which continues a run with the config it
started with: the algorithm may be left out (``rlactors train --resume RUN_DIR``) and the only
field that may be given is ``--max-env-steps``, a new budget. A fresh run's fields come from
the defaults, then the shipped preset for the env (``--no-preset`` skips it), then ``--config
FILE``, then the flags (:mod:`rlactors.cli.presets`).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, Union

from rlactors.algorithms import ConfigField, coerce_value, config_fields
from rlactors.algorithms.base import field_parser
from rlactors.errors import UserError


class CliError(UserError):
    """A usage mistake: the CLI prints the message on one line and exits with status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`CliError` instead of printing usage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Abbreviations turn a typo into a different flag; every flag must be spelled out.
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # The CLI prints "rlactors: error: ..." already; keep the subcommand for context.
        context = self.prog.removeprefix("rlactors").strip()
        raise CliError(f"{context}: {message}" if context else message)


@dataclasses.dataclass(frozen=True)
class TrainArgs:
    """What ``rlactors train ALGORITHM ...`` asked for.

    Attributes:
        algorithm: Registry name.
        overrides: Config fields given on the command line, already converted.
        run_dir: ``--run-dir``, or None for ``runs/<algo>-<env>-<timestamp>``.
        quiet: ``--quiet``: no progress display.
        address: ``--address``: the Ray cluster to join (with ``--backend ray``); None starts
            a local Ray instance on 127.0.0.1.
        overwrite: ``--overwrite``: clear what a run already in ``run_dir`` wrote, and start
            afresh (without it, such a directory is refused).
        resume: ``--resume``: the run directory to continue (then ``run_dir`` is None and
            ``overrides`` holds at most ``max_env_steps``).
        checkpoint_every: ``--checkpoint-every`` as typed (``"50"``, ``"5m"``, ``"off"``); None
            when not given (the default, or the resumed run's).
        keep_checkpoints: ``--keep-checkpoints``; None when not given.
        checkpoint_replay: ``--checkpoint-replay`` / ``--no-checkpoint-replay``; None when
            not given.
        config_file: ``--config FILE``: a YAML mapping of config fields, over the preset and
            under the flags; None when not given.
        use_preset: False for ``--no-preset``: the shipped preset for the env is not used.
    """

    algorithm: str
    overrides: dict[str, Any]
    run_dir: str | None
    quiet: bool
    address: str | None = None
    overwrite: bool = False
    resume: str | None = None
    checkpoint_every: str | None = None
    keep_checkpoints: int | None = None
    checkpoint_replay: bool | None = None
    config_file: str | None = None
    use_preset: bool = True


#: The only config field a resumed run may be given: a new budget.
RESUMABLE_FIELDS = ("max_env_steps",)


def flag(name: str) -> str:
    """``max_env_steps`` -> ``--max-env-steps``."""
    return "--" + name.replace("_", "-")


def build_train_parser(algorithm: str, config_cls: type[Any], description: str = "") -> Parser:
    """The parser of ``rlactors train <algorithm>``, with one flag per config field."""
    from rlactors.cli.presets import preset_env_ids, preset_file

    envs = preset_env_ids(algorithm)
    presets = (
        f"Presets for --env ({preset_file(algorithm)}; --no-preset skips them): {', '.join(envs)}\n"
        if envs
        else ""
    )
    parser = Parser(
        prog=f"rlactors train {algorithm}",
        description=description or None,
        epilog=f"{presets}Values: integers accept 1e5 and 100_000; 'none' clears an optional "
        "field; lists are comma-separated (--hidden-sizes 256,256).",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--run-dir",
        metavar="DIR",
        help="write config, metrics, curve and checkpoint here "
        "(default: runs/<algo>-<env>-<timestamp>)",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="--run-dir DIR holds a run already: delete what it wrote (config, metrics, curve, "
        "checkpoints) and start afresh; without it such a directory is refused",
    )
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR (killed, interrupted or finished) from its newest "
        "checkpoint, with the config it started with; only --max-env-steps may be given, "
        "and the algorithm may be left out: rlactors train --resume RUN_DIR",
    )
    run.add_argument(
        "--config",
        metavar="FILE",
        help="a YAML file of config fields (learning_rate: 3.0e-4): over the preset, under "
        "the flags",
    )
    run.add_argument(
        "--no-preset",
        action="store_true",
        help="do not use the shipped preset for the env (rlactors/presets/<algo>.yml): "
        "start from the defaults",
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    run.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="with --backend ray: join the Ray cluster there (default: start a local Ray "
        "instance on 127.0.0.1 for this run); see docs/cluster.md",
    )
    checkpoints = parser.add_argument_group("checkpoints")
    checkpoints.add_argument(
        "--checkpoint-every",
        metavar="N|T",
        help="a periodic checkpoint every N iterations (50) or every T of training time (30s, "
        "5m, 1h); 'off' for none. Default 5m: a run killed by kill -9, the OOM killer or a "
        "lost machine loses at most 5 minutes, and a checkpoint (weights, optimizer state, "
        "counters) takes well under a second. They go to RUN_DIR/checkpoints/; --resume "
        "starts from the newest",
    )
    checkpoints.add_argument(
        "--keep-checkpoints",
        type=_positive_int,
        metavar="K",
        help="keep the last K periodic checkpoints (default: 3); the best-evaluated one "
        "(checkpoints/best) is kept apart from them",
    )
    checkpoints.add_argument(
        "--checkpoint-replay",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="include the replay buffer in the periodic and final checkpoints (dqn, apex), so "
        "that a resumed run does not refill it from scratch; it can be large (default: no)",
    )
    group = parser.add_argument_group(f"{config_cls.__name__} fields")
    for field in config_fields(config_cls):
        _add_field(group, field)
    return parser


def parse_train_args(argv: Sequence[str]) -> TrainArgs | None:
    """Parse what follows ``train``.

    Returns:
        The parsed arguments, or None when help was printed.

    Raises:
        CliError: No or an unknown algorithm, an unknown option, or a bad value; with
            ``--resume``, a directory that holds no run, another algorithm than the run's, or
            a config field other than ``--max-env-steps``.
    """
    from rlactors.algorithms import UnknownAlgorithmError, algorithm_names, get_algorithm

    args = list(argv)
    names = ", ".join(algorithm_names())
    if not args or args[0] in ("-h", "--help"):
        if args:
            train_usage(print_help=True)
            return None
        raise CliError(f"train: name an algorithm: rlactors train ALGORITHM; available: {names}")
    resume = _resume_dir(args)
    if resume is not None and args[0].startswith("-"):
        args.insert(0, _algorithm_of_run(resume))  # rlactors train --resume RUN_DIR
    if args[0].startswith("-"):
        raise CliError(
            f"train: the algorithm comes first: rlactors train ALGORITHM [options]; "
            f"available: {names}"
        )
    try:
        entry = get_algorithm(args[0])
    except UnknownAlgorithmError as exc:
        raise CliError(str(exc)) from None
    config_cls = entry.config_class()
    parser = build_train_parser(entry.name, config_cls, entry.description)
    namespace, unknown = parser.parse_known_args(args[1:])
    if unknown:
        raise CliError(_unknown_message(parser, unknown[0]))
    values = vars(namespace)
    run = {name: values.pop(name) for name in _RUN_OPTIONS}
    if run["checkpoint_every"] is not None:
        from rlactors.run_checkpoints import parse_checkpoint_every

        try:
            parse_checkpoint_every(run["checkpoint_every"])
        except ValueError as exc:
            raise CliError(f"train: --checkpoint-every: {exc}") from None
    if run["resume"] is not None:
        _check_resume(entry.name, run, values)
    elif run["overwrite"] and run["run_dir"] is None:
        raise CliError("train: --overwrite clears a run directory: name it with --run-dir DIR")
    return TrainArgs(
        entry.name,
        values,
        run["run_dir"],
        bool(run["quiet"]),
        run["address"],
        overwrite=bool(run["overwrite"]),
        resume=run["resume"],
        checkpoint_every=run["checkpoint_every"],
        keep_checkpoints=run["keep_checkpoints"],
        checkpoint_replay=run["checkpoint_replay"],
        config_file=run["config"],
        use_preset=not run["no_preset"],
    )


#: The ``train`` options that are not config fields (argparse's dest names).
_RUN_OPTIONS = (
    "run_dir",
    "overwrite",
    "resume",
    "quiet",
    "address",
    "checkpoint_every",
    "keep_checkpoints",
    "checkpoint_replay",
    "config",
    "no_preset",
)


def _resume_dir(args: Sequence[str]) -> str | None:
    """The value of ``--resume`` among ``args`` (None: not given, or given without a value,
    which the parser then reports)."""
    for i, arg in enumerate(args):
        if arg.startswith("--resume="):
            return arg.split("=", 1)[1]
        if arg == "--resume" and i + 1 < len(args) and not args[i + 1].startswith("-"):
            return args[i + 1]
    return None


def _algorithm_of_run(run_dir: str) -> str:
    """The algorithm named by the ``config.json`` of the run in ``run_dir``.

    Raises:
        CliError: No run there, or its ``config.json`` does not name an algorithm.
    """
    from rlactors.metrics.run_dir import CONFIG_FILE

    path = Path(run_dir) / CONFIG_FILE
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
        return str(header["algorithm"])
    except FileNotFoundError:
        raise CliError(
            f"train --resume: {run_dir} holds no run (no {CONFIG_FILE}); start one with "
            f"rlactors train ALGORITHM --run-dir {run_dir}"
        ) from None
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CliError(f"train --resume: {path} does not name an algorithm ({exc})") from None


def _check_resume(algorithm: str, run: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Refuse what ``--resume`` cannot honour: the run keeps its own config and directory."""
    resume = run["resume"]
    if run["run_dir"] is not None or run["overwrite"]:
        given = "--run-dir" if run["run_dir"] is not None else "--overwrite"
        raise CliError(
            f"train: --resume RUN_DIR continues the run in RUN_DIR; {given} cannot go with it"
        )
    if run["config"] is not None:
        raise CliError(
            f"train --resume: --config would change the run's config; a resumed run keeps the "
            f"config it started with ({Path(resume) / 'config.json'}), presets and config "
            "files are not read again"
        )
    ran = _algorithm_of_run(resume)
    if ran != algorithm:
        raise CliError(f"train --resume: {resume} is a {ran} run, not {algorithm}")
    changed = [flag(name) for name in overrides if name not in RESUMABLE_FIELDS]
    if changed:
        raise CliError(
            f"train --resume: {' '.join(changed)} would change the run's config; a resumed run "
            f"keeps the config it started with ({Path(resume) / 'config.json'}), and only "
            f"{' '.join(flag(n) for n in RESUMABLE_FIELDS)} (a new budget) may be given"
        )


def _positive_int(text: str) -> int:
    try:
        value = coerce_value(int, text, "value")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return int(value)


def train_usage(*, print_help: bool) -> str:
    """The help of bare ``rlactors train``, listing the algorithms; printed if asked."""
    from rlactors.algorithms import algorithm_names, get_algorithm

    lines = ["usage: rlactors train ALGORITHM [options]", "", "algorithms:"]
    for name in algorithm_names():
        lines.append(f"  {name:<10} {get_algorithm(name).description}")
    lines += [
        "",
        "Options of an algorithm: rlactors train ALGORITHM --help",
        "Continue a killed or finished run: rlactors train --resume RUN_DIR (docs/checkpoints.md)",
    ]
    text = "\n".join(lines)
    if print_help:
        from rlactors.cli.output import say

        say(text)
    return text


def _unknown_message(parser: Parser, argument: str) -> str:
    known = sorted(
        {s for action in parser._actions for s in action.option_strings if s.startswith("--")}
    )
    prog = parser.prog.removeprefix("rlactors").strip()
    if not argument.startswith("-"):
        return f"{prog}: unexpected argument {argument!r} (options take --name value)"
    name = argument.split("=", 1)[0]
    close = suggest_flags(name, known)
    if close:
        return f"{prog}: unknown option {name}; did you mean {' or '.join(close)}?"
    return f"{prog}: unknown option {name}; options are: {' '.join(known)}"


#: What the peers call rlactors' fields (Stable-Baselines3 and the RL Zoo, CleanRL, RLlib),
#: by the peer's name in snake case; a name is suggested only where the algorithm has it.
PEER_NAMES: dict[str, tuple[str, ...]] = {
    "total_timesteps": ("max_env_steps",),  # SB3 learn(), CleanRL
    "n_timesteps": ("max_env_steps",),  # RL Zoo hyperparameter files
    "timesteps_total": ("max_env_steps",),  # RLlib's stop criterion
    "env_id": ("env",),  # CleanRL
    "lr": ("learning_rate",),  # RLlib
    "n_envs": ("num_envs_per_worker", "num_envs_per_evaluator"),  # RL Zoo
    "num_envs": ("num_envs_per_worker", "num_envs_per_evaluator"),  # CleanRL
    "num_env_runners": ("num_workers", "num_evaluators"),  # RLlib
    "num_rollout_workers": ("num_workers", "num_evaluators"),  # RLlib before 2.10
    "buffer_size": ("buffer_capacity_transitions",),  # SB3, CleanRL
    "learning_starts": ("learning_starts_env_steps", "learning_starts_transitions"),  # SB3
    "target_update_interval": ("target_update_period_learner_steps",),  # SB3
    "target_network_frequency": ("target_update_period_learner_steps",),  # CleanRL
    "target_network_update_freq": ("target_update_period_learner_steps",),  # RLlib
    "start_e": ("exploration_initial_epsilon",),  # CleanRL
    "end_e": ("exploration_final_epsilon",),  # CleanRL
    "exploration_initial_eps": ("exploration_initial_epsilon",),  # SB3
    "exploration_final_eps": ("exploration_final_epsilon",),  # SB3
    "n_steps": ("rollout_steps", "n_step"),  # SB3's rollout length
    "num_steps": ("rollout_steps",),  # CleanRL
    "rollout_fragment_length": ("rollout_steps",),  # RLlib
    "n_epochs": ("num_epochs",),  # SB3
    "update_epochs": ("num_epochs",),  # CleanRL
    "batch_size": ("minibatch_size",),  # SB3's PPO: the minibatch
    "clip_range": ("clip_epsilon",),  # SB3
    "clip_coef": ("clip_epsilon",),  # CleanRL
    "clip_param": ("clip_epsilon",),  # RLlib
    "ent_coef": ("entropy_coef",),  # SB3, CleanRL
    "vf_coef": ("value_coef",),  # SB3, CleanRL
    "vf_loss_coeff": ("value_coef",),  # RLlib
    "lambda": ("gae_lambda",),  # RLlib
    "norm_adv": ("normalize_advantages",),  # CleanRL
    "grad_clip": ("max_grad_norm",),  # RLlib
    "net_arch": ("hidden_sizes",),  # SB3
    "fcnet_hiddens": ("hidden_sizes",),  # RLlib
    "hiddens": ("hidden_sizes",),  # RLlib's DQN
    "n_eval_episodes": ("eval_episodes",),  # SB3's EvalCallback
    "eval_freq": ("eval_interval_env_steps",),  # SB3's EvalCallback
    "evaluation_duration": ("eval_episodes",),  # RLlib
    "reward_threshold": ("stop_reward",),  # SB3's StopTrainingOnRewardThreshold, gymnasium
}


def suggest_flags(name: str, known: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` of the ``known`` flags that ``name`` (an unknown ``--flag``) may have meant.

    The first of these that finds any: the same flag in snake case (``--learning_rate``); the
    rlactors name of a peer's flag (:data:`PEER_NAMES`: ``--total-timesteps`` ->
    ``--max-env-steps``); a flag (or a peer's) whose words' initials ``name`` is (``--lr`` ->
    ``--learning-rate``, ``--bs`` -> ``--batch-size``); flags whose words ``name``'s words
    begin (``--max-env`` -> ``--max-env-steps``, ``--n-envs`` -> ``--num-envs-per-worker``),
    closest first; difflib's close matches. ``--help`` is suggested only for a near-miss of
    ``--help`` itself: by difflib's measure ``--lr`` is close to it, and a user who typed a
    field's abbreviation wants the field.
    """
    typed = name.lstrip("-").lower().replace("_", "-")
    fields = [f for f in known if f != "--help"]
    words = {f: f[2:].split("-") for f in fields}
    squeezed = typed.replace("-", "")
    parts = typed.split("-")

    def closest(candidates: Iterable[str]) -> list[str]:
        def ratio(f: str) -> float:
            return difflib.SequenceMatcher(None, typed, f[2:]).ratio()

        return sorted(candidates, key=ratio, reverse=True)

    initials = [f for f, ws in words.items() if len(ws) > 1 and _initials(ws) == squeezed]
    for peer, targets in PEER_NAMES.items():
        if len(peer.split("_")) > 1 and _initials(peer.split("_")) == squeezed:
            initials.extend(map(flag, targets))
    tiers = (
        [f"--{typed}"],
        [flag(field) for field in PEER_NAMES.get(typed.replace("-", "_"), ())],
        initials,
        closest(f for f, ws in words.items() if all(parts) and _begins(parts, ws)),
        difflib.get_close_matches(f"--{typed}", fields, n=n, cutoff=0.6),
    )
    for tier in tiers:
        found = list(dict.fromkeys(f for f in tier if f in words))
        if found:
            return found[:n]
    if difflib.SequenceMatcher(None, f"--{typed}", "--help").ratio() >= 0.8:
        return ["--help"]
    return []


def _initials(words: Sequence[str]) -> str:
    """The first letters of ``words`` (``["learning", "rate"]`` -> ``"lr"``)."""
    return "".join(w[0] for w in words if w)


def _begins(parts: Sequence[str], words: Sequence[str]) -> bool:
    """Each of ``parts`` begins the word of ``words`` in its place (``words`` may be longer)."""
    return len(parts) <= len(words) and all(
        w.startswith(p) for p, w in zip(parts, words[: len(parts)], strict=True)
    )


#: Short spellings of the flags users type most.
_SHORT_FLAGS = {"num_workers": "--workers"}


def _add_field(group: argparse._ArgumentGroup, field: ConfigField) -> None:
    names = [flag(field.name)]
    if field.name in _SHORT_FLAGS:
        names.insert(0, _SHORT_FLAGS[field.name])
    annotation = field.annotation
    help_text = _help(field)
    kwargs: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS, "help": help_text}
    if annotation is bool:
        group.add_argument(*names, action=argparse.BooleanOptionalAction, **kwargs)
        return
    if typing.get_origin(annotation) is Literal:
        choices = typing.get_args(annotation)
        group.add_argument(*names, choices=choices, metavar="{" + ",".join(choices) + "}", **kwargs)
        return
    if field.required:
        kwargs["required"] = True
        del kwargs["default"]
    group.add_argument(*names, type=_converter(field), metavar=_metavar(annotation), **kwargs)


def _converter(field: ConfigField) -> Any:
    def convert(text: str) -> Any:
        try:
            return coerce_value(field.annotation, text, "value")
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = field.name
    return convert


def _metavar(annotation: Any) -> str:
    parser = field_parser(annotation)
    if parser is not None:
        return parser.metavar
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _metavar(inner[0]) + "|none" if len(inner) == 1 else "VALUE"
    if origin is tuple:
        item = _metavar(typing.get_args(annotation)[0])
        return f"{item},..."
    return {int: "N", float: "X", str: "TEXT"}.get(annotation, "VALUE")


def _help(field: ConfigField) -> str:
    # The first paragraph of the docstring; % is argparse's format character.
    doc = " ".join(field.doc.split("\n\n")[0].split()).replace("%", "%%").replace("``", "")
    if field.required:
        return doc + " (required)"
    default = field.default
    if isinstance(default, Mapping):
        default = json.dumps(dict(default))
    elif isinstance(default, tuple):
        default = ",".join(map(str, default)) or "none"
    return f"{doc} (default: {default})"
