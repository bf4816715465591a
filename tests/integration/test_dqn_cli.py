"""``rlactors train dqn`` writes a complete run directory; ``rlactors evaluate`` reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlactors.checkpoint import load_checkpoint
from rlactors.cli.main import main
from rlactors.metrics import read_metrics

TINY = [
    "--max-env-steps", "400", "--rollout-steps", "100", "--learning-starts-env-steps", "200",
    "--train-steps-per-sample", "4", "--batch-size", "16", "--hidden-sizes", "16",
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
        "config.json", "metrics.jsonl", "learning_curve.png", "checkpoint"
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
