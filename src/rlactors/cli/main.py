"""``rlactors``: train an algorithm on an env, or evaluate a finished run.

    rlactors train dqn --env CartPole-v1 --seed 0 --stop-reward 475
    rlactors train dqn --help            # every DQNConfig field as a flag
    rlactors train --resume runs/dqn-CartPole-v1-20250101-120000   # continue a killed run
    rlactors evaluate runs/dqn-CartPole-v1-20250101-120000 --episodes 20

Usage mistakes, and any :class:`~rlactors.errors.UserError` (an env that cannot be built, an
algorithm that cannot handle the env's actions), print one line naming the fix and exit with
status 2, without a traceback. Heavy imports (torch,
gymnasium, matplotlib) wait for the command that needs them, so ``rlactors --help`` is quick.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rlactors.cli.args import Parser, parse_train_args, train_usage
from rlactors.errors import UserError

#: Exit status of a usage mistake (argparse's convention).
EXIT_USAGE = 2


def build_parser() -> Parser:
    """The top-level parser (``train`` is parsed by :func:`parse_train_args`)."""
    parser = Parser(
        prog="rlactors", description="Train an algorithm on an env, or evaluate a finished run."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.add_parser(
        "train",
        help="train an algorithm: rlactors train ALGORITHM [--field value ...]",
        description=train_usage(print_help=False),
        add_help=False,
    )
    evaluate = commands.add_parser(
        "evaluate",
        help="mean greedy return of a run's checkpoint",
        description="Greedy episodes with the final checkpoint of a run (or its newest "
        "periodic one, for a run that did not end), or with a checkpoint directory "
        "(e.g. RUN_DIR/checkpoints/best); of its best-evaluated policy by default.",
    )
    evaluate.add_argument("run_dir", metavar="RUN_DIR", help="a run directory or checkpoint")
    evaluate.add_argument(
        "--episodes",
        type=int,
        default=20,
        metavar="N",
        help="episodes to run (default: 20); against --opponent, games per seat",
    )
    evaluate.add_argument(
        "--opponent",
        default=None,
        metavar="PLAYER|RUN",
        help="multi-role runs: play each learned seat against random, minimax (tic-tac-toe), "
        "heuristic (Connect Four), rock (rock-paper-scissors) or another run's directory; "
        "prints win/draw/loss per seat and, last, one JSON line",
    )
    evaluate.add_argument(
        "--policy",
        choices=("best", "last"),
        default="best",
        help="best (default): the policy of the checkpoint's highest greedy evaluation in "
        "training (the last one if it holds none, saying so); last: as training left it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rlactors`` command line; returns the exit status.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).
    """
    from rlactors.cli import output

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "train":
            train_args = parse_train_args(args[1:])
            if train_args is None:
                return 0
            from rlactors.cli import commands

            return commands.train(train_args)
        namespace = build_parser().parse_args(args)
        if namespace.command == "evaluate":
            from rlactors.cli import commands

            return commands.evaluate(
                namespace.run_dir, namespace.episodes, namespace.opponent, namespace.policy
            )
        build_parser().print_help()
        return EXIT_USAGE
    except UserError as exc:
        output.error(str(exc))
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
