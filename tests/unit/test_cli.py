"""CLI argument parsing and its one-line errors (exit status 2, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlactors.cli.args import CliError, parse_train_args
from rlactors.cli.main import EXIT_USAGE, main


def test_every_config_field_is_a_typed_flag() -> None:
    args = parse_train_args(
        [
            "dqn",
            "--env",
            "Acrobot-v1",
            "--seed",
            "3",
            "--max-env-steps",
            "1e5",
            "--learning-rate",
            "5e-4",
            "--hidden-sizes",
            "64,32",
            "--no-dueling",
            "--huber-delta",
            "none",
            "--backend",
            "process",
            "--stop-reward=475",
        ]
    )
    assert args is not None and args.algorithm == "dqn"
    assert args.overrides == {
        "env": "Acrobot-v1",
        "seed": 3,
        "max_env_steps": 100_000,
        "learning_rate": 5e-4,
        "hidden_sizes": (64, 32),
        "dueling": False,
        "huber_delta": None,
        "backend": "process",
        "stop_reward": 475.0,
    }
    assert args.run_dir is None and not args.quiet


def test_only_given_flags_override_and_run_options_are_separate() -> None:
    args = parse_train_args(["dqn", "--run-dir", "out", "-q", "--env", "CartPole-v1"])
    assert args is not None
    assert args.overrides == {"env": "CartPole-v1"}
    assert args.run_dir == "out" and args.quiet


def test_address_is_a_run_option_for_the_ray_backend(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["apex", "--backend", "ray", "--address", "127.0.0.1:6379", "--workers", "4"]
    args = parse_train_args(argv)
    assert args is not None and args.address == "127.0.0.1:6379"
    assert args.overrides == {"backend": "ray", "num_workers": 4}
    assert parse_train_args(["apex"]).address is None  # type: ignore[union-attr]
    # Without --backend ray it has nothing to join: refused before anything starts.
    assert main(["train", "apex", "--address", "127.0.0.1:6379", "-q"]) == EXIT_USAGE
    assert "--address joins a Ray cluster: use it with --backend ray" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["dqnn"],
            "unknown algorithm 'dqnn'; did you mean dqn? "
            "available: a2c, a3c, apex, dqn, impala, ppo",
        ),
        ([], "name an algorithm"),
        (["--seed", "1"], "the algorithm comes first"),
        (["dqn", "--lerning-rate", "1"], "unknown option --lerning-rate; did you mean"),
        (
            ["dqn", "--zzz", "1"],
            "unknown option --zzz; options are: --action-mask-key --address --backend",
        ),
        (["dqn", "--seed", "x"], "argument --seed: value must be an integer, got 'x'"),
        (["dqn", "--seed", "1.5"], "must be an integer"),
        (["dqn", "--backend", "ray"], "invalid choice: 'ray'"),
        (["dqn", "CartPole-v1"], "unexpected argument 'CartPole-v1'"),
        (["dqn", "--max-env"], "unknown option --max-env; did you mean --max-env-steps"),
    ],
)
def test_mistakes_raise_one_line_errors(argv: list[str], message: str) -> None:
    with pytest.raises(CliError) as info:
        parse_train_args(argv)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("argv", "suggested"),
    [
        (["dqn", "--lr", "1e-3"], "--learning-rate"),  # initials (it suggested --help)
        (["dqn", "--bs", "64"], "--batch-size"),
        (["ppo", "--bs", "64"], "--minibatch-size"),  # SB3's PPO batch_size, by its initials
        (["dqn", "--mes", "1e5"], "--max-env-steps"),
        (["dqn", "--total-timesteps", "1e5"], "--max-env-steps"),  # SB3, CleanRL
        (["ppo", "--total_timesteps", "1e5"], "--max-env-steps"),
        (["ppo", "--n-envs", "4"], "--num-envs-per-worker"),  # RL Zoo
        (["dqn", "--num-envs", "4"], "--num-envs-per-evaluator"),  # CleanRL
        (["ppo", "--ent-coef", "0.01"], "--entropy-coef"),
        (["ppo", "--clip-range", "0.2"], "--clip-epsilon"),
        (["dqn", "--learning_rate", "1e-3"], "--learning-rate"),
        (["dqn", "--expl-frac", "0.1"], "--exploration-fraction"),  # words' beginnings
        (["dqn", "--gama", "0.9"], "--gamma"),
        (["dqn", "--hepl"], "--help"),  # --help, for a near-miss of --help itself
    ],
)
def test_unknown_flags_suggest_the_field_meant(argv: list[str], suggested: str) -> None:
    """Issue #15: ``--lr`` suggested ``--help``."""
    with pytest.raises(CliError) as info:
        parse_train_args(argv)
    assert f"did you mean {suggested}" in str(info.value)
    if suggested != "--help":
        assert "--help" not in str(info.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "dqnn"], "unknown algorithm 'dqnn'"),
        (
            ["train", "dqn", "--gamma", "2"],
            "dqn config: DQNConfig.gamma must lie in [0, 1], got 2.0",
        ),
        (["train", "dqn", "--env", "CartPol-v1"], "did you mean 'CartPole-v1'"),
        (["train", "dqn", "--max-env-steps", "10"], "less than one round of sampling"),
        (["evaluate", "/nonexistent/run"], "is not a directory"),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_main_prints_one_line_and_exits_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.err.startswith("rlactors: error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_evaluate_of_a_directory_without_checkpoint(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(tmp_path)]) == EXIT_USAGE
    assert "no checkpoint" in capsys.readouterr().err


def test_help_of_an_algorithm_lists_its_fields(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "dqn", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("--max-env-steps", "--stop-reward", "--exploration-fraction", "--backend"):
        assert name in out
    assert "Budget: training never takes" in out  # the field's docstring is its help


def test_train_help_lists_the_algorithms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "dqn" in out and "rlactors train --resume RUN_DIR" in out


def test_top_level_help_does_not_import_torch_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "from rlactors.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "try:\n"
        "    main(['train', 'dqn', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'gymnasium') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_summary_names_the_policy_that_solved_when_it_is_an_earlier_one() -> None:
    from rlactors.cli.commands import _summary

    result = {
        "solved": True,
        "env_steps": 38144,
        "eval_env_steps": 36864,
        "time_s": 5.4,
        "episode_return_mean": 358.7,
        "eval_return_mean": 500.0,
        "env_steps_per_s": 7051.0,
    }
    assert _summary(result).startswith(
        "solved after 38144 env steps (by the policy at 36864 env steps, which is kept) and 5.4 s"
    )
    same = {**result, "eval_env_steps": 38144}
    assert _summary(same).startswith("solved after 38144 env steps and 5.4 s")


def test_small_returns_keep_three_decimals_and_large_ones_one() -> None:
    """Regression: Blackjack's greedy mean printed as -0.1 whether it was -0.05 or -0.14, and
    FrozenLake's training success rate as 0.0."""
    from rlactors.progress import format_return, progress_line

    assert format_return(-0.0537) == "-0.054"
    assert format_return(475.0) == "475.0" and format_return(-200.25) == "-200.2"
    assert format_return(None) == "-"
    metrics = {"env_steps": 10, "episode_return_mean": 0.05, "eval_return_mean": 1.0}
    line = progress_line(metrics, 100)
    assert "return 0.050" in line and "greedy eval 1.000" in line
    assert "league" not in line


def test_a_self_play_run_shows_its_league_and_rating() -> None:
    from rlactors.progress import progress_line

    metrics = {"env_steps": 10, "episode_return_mean": 0.0, "league_size": 7}
    line = progress_line({**metrics, "league_rating": 1403.4}, 100)
    assert "league 7, Elo 1403" in line


def a_run(tmp_path: Path, algorithm: str = "dqn") -> Path:
    """A directory that holds a run, as far as parsing looks (its config.json)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"algorithm": algorithm, "config": {}}))
    return run


def test_resume_reads_the_algorithm_from_the_run_and_takes_a_new_budget(tmp_path: Path) -> None:
    run = a_run(tmp_path, "apex")
    args = parse_train_args(["--resume", str(run), "--max-env-steps", "2e5", "-q"])
    assert args is not None and args.algorithm == "apex" and args.resume == str(run)
    assert args.overrides == {"max_env_steps": 200_000} and args.quiet
    assert args.checkpoint_every is None and args.checkpoint_replay is None  # the run's own
    named = parse_train_args(["apex", f"--resume={run}", "--checkpoint-every", "10m"])
    assert named is not None and named.algorithm == "apex" and named.checkpoint_every == "10m"


def test_checkpoint_options_are_run_options() -> None:
    args = parse_train_args(
        ["dqn", "--checkpoint-every", "50", "--keep-checkpoints", "5", "--checkpoint-replay"]
    )
    assert args is not None and args.overrides == {}
    assert (args.checkpoint_every, args.keep_checkpoints, args.checkpoint_replay) == ("50", 5, True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--resume", "{run}", "--learning-rate", "1"], "--learning-rate would change the run's "
         "config; a resumed run keeps the config it started with"),
        (["ppo", "--resume", "{run}"], "is a dqn run, not ppo"),
        (["--resume", "{run}", "--run-dir", "x"], "--run-dir cannot go with it"),
        (["--resume", "{run}", "--overwrite"], "--overwrite cannot go with it"),
        (["--resume", "{missing}"], "holds no run (no config.json); start one with rlactors "
         "train ALGORITHM --run-dir"),
        (["dqn", "--overwrite"], "--overwrite clears a run directory: name it with --run-dir"),
        (["dqn", "--checkpoint-every", "5x"], "--checkpoint-every: expected a number of "
         "iterations (50), a time (30s, 5m, 1h) or off, got '5x'"),
        (["dqn", "--keep-checkpoints", "0"], "must be >= 1, got 0"),
    ],
)  # fmt: skip
def test_resume_and_checkpoint_mistakes_are_one_line_errors(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    run = a_run(tmp_path)
    argv = [a.format(run=run, missing=tmp_path / "missing") for a in argv]
    with pytest.raises(CliError) as info:
        parse_train_args(argv)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_checkpoint_replay_is_refused_for_an_algorithm_without_replay(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["train", "ppo", "--checkpoint-replay", "-q"]) == EXIT_USAGE
    assert "ppo has no replay buffer to checkpoint (--checkpoint-replay)" in capsys.readouterr().err


def test_a_run_dir_that_holds_a_run_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = a_run(tmp_path)
    assert main(["train", "dqn", "--run-dir", str(run), "-q"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{run} holds a run already (config.json): continue it with --resume {run}" in err
    assert "or start afresh with --overwrite" in err and err.count("\n") == 1
    assert [p.name for p in run.iterdir()] == ["config.json"]  # untouched


def test_an_edited_checkpoint_schedule_of_a_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = a_run(tmp_path)
    header = {"algorithm": "dqn", "config": {}, "checkpoints": {"keep": 0}}
    (run / "config.json").write_text(json.dumps(header))
    assert main(["train", "--resume", str(run)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "the run's checkpoint schedule {'keep': 0}: CheckpointSchedule.keep must be >= 1" in err
