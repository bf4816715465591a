"""Training on an env that crashes: the run goes on and counts the crashes; past the crash
policy it ends with one line that names the env and the last exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlactors.algorithms import get_algorithm
from rlactors.algorithms.loop import TrainingLoop
from rlactors.cli.main import main
from rlactors.metrics import read_metrics

CRASHING = "rlactors.envs.toy:CrashingCorridorEnv"


def tiny(name: str, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "env": CRASHING,
        "env_kwargs": {"length": 4, "crash_every_interacts": 37},
        "backend": "inline",
        "seed": 0,
        "max_env_steps": 320,
        "hidden_sizes": (16,),
        "eval_episodes": 2,
        "max_env_crashes": 1000,
        **overrides,
    }
    if name == "ppo":
        fields.update(num_workers=2, num_envs_per_worker=2, rollout_steps=16, minibatch_size=32)
    else:
        fields.update(rollout_steps=40, learning_starts_env_steps=80, batch_size=16)
    return get_algorithm(name).config_class()(**fields)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["ppo", "dqn"])
def test_training_survives_env_crashes_and_counts_them(name: str) -> None:
    iterations: list[dict[str, Any]] = []
    algorithm = get_algorithm(name).algorithm_class()(tiny(name))
    assert isinstance(algorithm, TrainingLoop)
    with algorithm:
        result = algorithm.train(callback=iterations.append)
    assert result["env_steps"] == 320 and result["learner_steps"] > 0
    # Each env crashes every 37 of its interacts: 320 steps hold at least 6 crashes.
    crashes = [m["env_crashes"] for m in iterations]
    assert crashes == sorted(crashes) and crashes[-1] >= 6
    assert result["episodes"] > 0


@pytest.mark.timeout(120)
def test_the_cli_ends_a_run_past_the_crash_policy_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "ppo", "--env", CRASHING, "--env-kwargs", '{"crash_every_interacts": 1}']
    args += ["--backend", "inline", "--max-env-crashes", "2", "--run-dir", str(tmp_path / "run")]
    args += ["--num-workers", "1", "--num-envs-per-worker", "1", "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "rlactors: error: env CrashingCorridorEnv crashed 3 times within 60 s (last: "
        "SimulatedCrash: CrashingCorridorEnv: simulated crash in interact #1)"
    ]
    metrics = tmp_path / "run" / "metrics.jsonl"
    assert not metrics.exists() or read_metrics(metrics) == []
