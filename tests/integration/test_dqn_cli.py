"""``rlactors train dqn`` writes a complete run directory; ``rlactors evaluate`` reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlactors.checkpoint import load_checkpoint
from rlactors.cli.main import main
from rlactors.metrics import read_metrics

#: --no-preset: these tests are about the run directory and its output, from the defaults
#: (tests/unit/test_cli_presets.py covers the presets).
TINY = [
    "--no-preset", "--max-env-steps", "400", "--rollout-steps", "100",
    "--learning-starts-env-steps", "200", "--train-steps-per-sample", "4", "--batch-size", "16",
    "--hidden-sizes", "16",
    "--eval-episodes", "2", "--stop-reward", "10000",
]  # fmt: skip


@pytest.mark.timeout(60)
def test_train_writes_the_run_directory_and_evaluate_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    assert main(["train", "dqn", "--env", "CartPole-v1", "--run-dir", str(run_dir), *TINY]) == 0
    out = capsys.readouterr().out
    # Not a terminal: plain progress lines, then where everything went.
    assert "env steps 400/400" in out
    assert f"learning curve: {run_dir / 'learning_curve.png'}" in out
    assert f"checkpoint:     {run_dir / 'checkpoint'}" in out

    header = json.loads((run_dir / "config.json").read_text())
    assert header["algorithm"] == "dqn"
    assert header["config"]["max_env_steps"] == 400 and header["config"]["hidden_sizes"] == [16]
    assert header["config"]["gamma"] == 0.99  # resolved: defaults included
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [r["env_steps"] for r in records] == [100, 200, 300, 400]
    assert records[-1]["learner_steps"] == 3 * 4 and records[-1]["done"]
    assert (run_dir / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert load_checkpoint(run_dir / "checkpoint").state["counters"]["env_steps"] == 400

    assert main(["evaluate", str(run_dir), "--episodes", "3"]) == 0
    assert "greedy return over 3 episodes: mean" in capsys.readouterr().out


@pytest.mark.timeout(60)
def test_quiet_train_prints_only_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "dqn", "-q", "--run-dir", str(tmp_path / "r"), *TINY]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("not solved after 400 env steps")
    assert len(lines) == 4


def test_default_run_dir_is_named_after_algorithm_env_and_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", "dqn", "-q", *TINY[:-2], "--max-env-steps", "100"]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("dqn-CartPole-v1-")
    assert {p.name for p in run_dir.iterdir()} == {
        "config.json", "metrics.jsonl", "learning_curve.png", "checkpoint", "tensorboard"
    }  # fmt: skip
    capsys.readouterr()


@pytest.mark.timeout(60)
def test_ctrl_c_still_saves_the_checkpoint_and_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlactors.algorithms.dqn import DQN

    original = DQN.train_iter
    calls = []

    def interrupted_iter(self: DQN) -> dict[str, object]:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(DQN, "train_iter", interrupted_iter)
    run_dir = tmp_path / "run"
    assert main(["train", "dqn", "-q", "--run-dir", str(run_dir), *TINY]) == 130
    out = capsys.readouterr().out
    assert out.startswith("interrupted: not solved after 200 env steps")
    assert len(read_metrics(run_dir / "metrics.jsonl")) == 2
    assert load_checkpoint(run_dir / "checkpoint").state["counters"]["env_steps"] == 200
    assert (run_dir / "learning_curve.png").is_file()


@pytest.mark.timeout(60)
def test_overwrite_starts_afresh_and_keeps_the_users_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    argv = ["train", "dqn", "-q", "--backend", "inline", "--run-dir", str(run_dir), *TINY]
    assert main(argv) == 0
    (run_dir / "notes.txt").write_text("mine")
    assert main(argv) == 2  # refused: it holds a run
    assert main([*argv, "--overwrite"]) == 0
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]  # one run, not two
    assert (run_dir / "notes.txt").read_text() == "mine"
    capsys.readouterr()


@pytest.mark.timeout(60)
def test_resume_continues_from_the_newest_checkpoint_without_duplicate_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    run_dir = tmp_path / "run"
    argv = ["train", "dqn", "-q", "--backend", "inline", "--run-dir", str(run_dir), *TINY]
    assert main([*argv, "--checkpoint-every", "2", "--checkpoint-replay"]) == 0
    before = read_metrics(run_dir / "metrics.jsonl")
    # As if killed after iteration 4 was written, before the final checkpoint.
    shutil.rmtree(run_dir / "checkpoint")
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert f"evaluating {run_dir / 'checkpoints' / 'iteration-00000002'}" in out

    assert main(["train", "--resume", str(run_dir), "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"resumed from {run_dir / 'checkpoints' / 'iteration-00000002'} at iteration 2, "
        "200 env steps; dropped 2 metrics rows past it\n"
    )
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4]
    assert [r["env_steps"] for r in records] == [100, 200, 300, 400]
    assert records[:2] == before[:2]
    # The counters continue: two more rounds of 4 learner steps on the restored 4.
    assert records[-1]["learner_steps"] == before[-1]["learner_steps"] == 12
    final = load_checkpoint(run_dir / "checkpoint")
    assert final.state["counters"]["iteration"] == 4 and final.arrays is not None  # the run's
    # own --checkpoint-replay, kept in its config.json

    # Finished: resuming it needs a larger budget, and then goes on from its end.
    assert main(["train", "--resume", str(run_dir), "-q"]) == 2
    assert "has spent its budget of 400 env steps at 400 env steps" in capsys.readouterr().err
    assert main(["train", "--resume", str(run_dir), "-q", "--max-env-steps", "600"]) == 0
    assert "at iteration 4, 400 env steps\n" in capsys.readouterr().out
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [r["env_steps"] for r in records] == [100, 200, 300, 400, 500, 600]
    assert json.loads((run_dir / "config.json").read_text())["config"]["max_env_steps"] == 600


def test_resume_of_a_run_without_checkpoint_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    header = {"algorithm": "dqn", "config": {"backend": "inline"}}
    (run_dir / "config.json").write_text(json.dumps(header))
    assert main(["train", "--resume", str(run_dir), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{run_dir} has no checkpoint to resume from" in err and err.count("\n") == 1
    assert "start it afresh with --overwrite" in err


@pytest.mark.timeout(60)
def test_resume_of_a_solved_run_says_there_is_nothing_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    solvable = [*TINY[:-2], "--stop-reward", "1", "--eval-interval-env-steps", "100"]
    argv = ["train", "dqn", "-q", "--backend", "inline", "--run-dir", str(run_dir), *solvable]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("solved")
    assert main(["train", "--resume", str(run_dir), "--max-env-steps", "1000"]) == 2
    err = capsys.readouterr().err
    assert "was solved at 100 env steps" in err and "there is nothing to resume" in err


@pytest.mark.timeout(60)
def test_train_keeps_only_a_bounded_curve_not_every_metrics_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression (issue #14's soak): every iteration's metrics row was held in memory until
    the curve was drawn at the end, a growth without end over a long run."""
    import rlactors.run_recorder
    from rlactors.metrics import LearningCurve

    monkeypatch.setattr(LearningCurve, "MAX_POINTS", 4)
    plotted: list[list[dict[str, object]]] = []
    plot = rlactors.run_recorder.plot_learning_curve

    def capture(records: list[dict[str, object]], *args: object, **kwargs: object) -> Path:
        plotted.append(list(records))
        return plot(records, *args, **kwargs)  # type: ignore[arg-type]

    # RunRecorder draws the curve, for the CLI as for TrainingLoop.train(run_dir=...).
    monkeypatch.setattr(rlactors.run_recorder, "plot_learning_curve", capture)
    argv = [*TINY, "--max-env-steps", "2000"]  # the later flag wins: 20 iterations
    assert main(["train", "dqn", "-q", "--run-dir", str(tmp_path / "run"), *argv]) == 0
    capsys.readouterr()
    assert len(read_metrics(tmp_path / "run" / "metrics.jsonl")) == 20
    (records,) = plotted
    train = [r for r in records if r.get("episode_return_mean") is not None]
    assert 2 <= len(train) <= 4 + 1  # thinned, and the latest drawn
    assert train[-1]["env_steps"] == 2000
    assert all(set(r) <= {"env_steps", "episode_return_mean", "eval_return_mean"} for r in records)
