"""``rlactors``: train an algorithm on an env; evaluate, watch or compare finished runs.

    rlactors train dqn --env CartPole-v1 --seed 0 --stop-reward 475
    rlactors train dqn --help            # every DQNConfig field as a flag
    rlactors train --resume runs/dqn-CartPole-v1-20250101-120000   # continue a killed run
    rlactors evaluate runs/dqn-CartPole-v1-20250101-120000 --episodes 20
    rlactors enjoy runs/dqn-CartPole-v1-20250101-120000 --video cartpole.mp4
    rlactors plot runs/dqn-CartPole-v1-* runs/ppo-CartPole-v1-* --out compare.png

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
        prog="rlactors",
        description="Train an algorithm on an env; evaluate, watch or compare finished runs.",
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
    enjoy = commands.add_parser(
        "enjoy",
        help="watch a run's greedy agent, in a window or as an mp4",
        description="Greedy episodes of a single-role run's checkpoint (as evaluate loads it): "
        "in a window when a display is set (DISPLAY or WAYLAND_DISPLAY), or recorded into an "
        "mp4 with --video (the first frame of each episode, then one per env step). Prints "
        "each episode's return and length and, last, one JSON line.",
    )
    enjoy.add_argument("run_dir", metavar="RUN_DIR", help="a run directory or checkpoint")
    enjoy.add_argument(
        "--episodes", type=int, default=1, metavar="N", help="episodes to play (default: 1)"
    )
    enjoy.add_argument(
        "--video",
        default=None,
        metavar="OUT.mp4",
        help="record the episodes into this mp4 (needs the video extra: imageio-ffmpeg)",
    )
    enjoy.add_argument(
        "--policy",
        choices=("best", "last"),
        default="best",
        help="best (default): the checkpoint's best-evaluated policy (the last one if it holds "
        "none, saying so); last: as training left it",
    )
    enjoy.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="root seed of the episodes (default: 0); episode i is the same for the same S",
    )
    plot = commands.add_parser(
        "plot",
        help="learning curves of several runs on one PNG",
        description="Learning curves of several runs on one PNG. Runs whose config.json "
        "agree on everything but the seed are one group, drawn as a mean line with a "
        "+/- std band over the range of x that all of them cover; the legend names each "
        "group by what differs between the groups.",
    )
    plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories")
    plot.add_argument(
        "--out",
        default="compare.png",
        metavar="PNG",
        help="the PNG to write (default: compare.png)",
    )
    plot.add_argument(
        "--x",
        choices=("env_steps", "seconds"),
        default="env_steps",
        help="horizontal axis: env steps or seconds of training (default: env_steps)",
    )
    plot.add_argument(
        "--y",
        default="episode_return_mean",
        metavar="METRIC",
        help="a metrics.jsonl key (default: episode_return_mean; e.g. eval_return_mean, loss)",
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
        if namespace.command == "enjoy":
            from rlactors.cli.enjoy import enjoy

            return enjoy(
                namespace.run_dir,
                namespace.episodes,
                namespace.video,
                namespace.seed,
                policy=namespace.policy,
            )
        if namespace.command == "plot":
            from rlactors.cli.plot import plot

            return plot(namespace.run_dirs, namespace.out, namespace.x, namespace.y)
        build_parser().print_help()
        return EXIT_USAGE
    except UserError as exc:
        output.error(str(exc))
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
