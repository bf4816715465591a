"""Command-line parsing: the ``train`` flags are generated from the algorithm's config dataclass.

Every field ``name: T = default`` of the config becomes ``--name`` (underscores as dashes), its
value converted to ``T`` (:func:`rlactors.algorithms.coerce_value`); bools become
``--name`` / ``--no-name``; ``Literal`` fields take only their choices; the field's docstring is
its help; a field typed ``Annotated[T, FieldParser(...)]`` (the env fields) is read by its
parser. ``--workers`` is an alias of ``--num-workers``. Mistakes end in :class:`CliError`, one
line that names what exists, instead of argparse's usage dump.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping, Sequence
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
    """

    algorithm: str
    overrides: dict[str, Any]
    run_dir: str | None
    quiet: bool
    address: str | None = None


#: Options of ``train`` that are not config fields.
_TRAIN_OPTIONS = ("--run-dir", "--quiet", "--address")


def flag(name: str) -> str:
    """``max_env_steps`` -> ``--max-env-steps``."""
    return "--" + name.replace("_", "-")


def build_train_parser(algorithm: str, config_cls: type[Any], description: str = "") -> Parser:
    """The parser of ``rlactors train <algorithm>``, with one flag per config field."""
    parser = Parser(
        prog=f"rlactors train {algorithm}",
        description=description or None,
        epilog="Values: integers accept 1e5 and 100_000; 'none' clears an optional field; "
        "lists are comma-separated (--hidden-sizes 256,256).",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--run-dir",
        metavar="DIR",
        help="write config, metrics, curve and checkpoint here "
        "(default: runs/<algo>-<env>-<timestamp>)",
    )
    run.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    run.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="with --backend ray: join the Ray cluster there (default: start a local Ray "
        "instance on 127.0.0.1 for this run); see docs/cluster.md",
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
        CliError: No or an unknown algorithm, an unknown option, or a bad value.
    """
    from rlactors.algorithms import UnknownAlgorithmError, algorithm_names, get_algorithm

    args = list(argv)
    names = ", ".join(algorithm_names())
    if not args or args[0] in ("-h", "--help"):
        if args:
            train_usage(print_help=True)
            return None
        raise CliError(f"train: name an algorithm: rlactors train ALGORITHM; available: {names}")
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
    run_dir = values.pop("run_dir", None)
    quiet = bool(values.pop("quiet", False))
    address = values.pop("address", None)
    return TrainArgs(entry.name, values, run_dir, quiet, address)


def train_usage(*, print_help: bool) -> str:
    """The help of bare ``rlactors train``, listing the algorithms; printed if asked."""
    from rlactors.algorithms import algorithm_names, get_algorithm

    lines = ["usage: rlactors train ALGORITHM [options]", "", "algorithms:"]
    for name in algorithm_names():
        lines.append(f"  {name:<10} {get_algorithm(name).description}")
    lines += ["", "Options of an algorithm: rlactors train ALGORITHM --help"]
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
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f"{prog}: unknown option {name}; did you mean {' or '.join(close)}?"
    return f"{prog}: unknown option {name}; options are: {' '.join(known)}"


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
