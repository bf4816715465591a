"""Envs from the command line and from scripts, as a user runs them: a factory on PYTHONPATH,
an id registered under ``__main__``, and the one-line errors (exit status 2, no traceback)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RLACTORS = [sys.executable, "-m", "rlactors.cli.main"]


def _run(
    args: list[str], cwd: Path, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=110, check=False
    )


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["dqn", "--env", "Pendulum-v1"],
            "dqn needs Discrete actions; Pendulum-v1 has Box(-2.0, 2.0, (1,), float32); try ppo",
        ),
        (
            ["ppo", "--env", "nopkg.envs:make_corridor"],
            "env 'nopkg.envs:make_corridor': cannot import nopkg.envs: no module named 'nopkg'; "
            "is it installed, or its directory on PYTHONPATH?",
        ),
        (
            ["ppo", "--env", "rlactors.envs.toy:make_corridor"],
            "env 'rlactors.envs.toy:make_corridor': module rlactors.envs.toy has no "
            "'make_corridor', nor is 'make_corridor' a registered Gymnasium id",
        ),
        (  # regression: a kwarg a Gymnasium id's env does not take printed a traceback
            ["dqn", "--env", "CartPole-v1", "--env-kwargs", '{"bogus": 1}'],
            "env CartPole-v1: got an unexpected keyword argument 'bogus' (check env_kwargs)",
        ),
        (  # a network spec that does not fit the space
            ["dqn", "--env", "CartPole-v1", "--encoder", "cnn"],
            "Q-network: encoder 'cnn' needs an image-shaped Box observation ([H, W, C] or "
            "[C, H, W], each side at least 8), got a Box of shape (4,)",
        ),
        (
            ["ppo", "--env", "CartPole-v1", "--env-kwargs", '{"size": 8'],
            "train ppo: argument --env-kwargs: env kwargs must be a JSON object such as "
            "'{\"size\": 8}'; '{\"size\": 8' is not JSON (Expecting ',' delimiter: line 1 "
            "column 11 (char 10))",
        ),
        (
            ["ppo", "--env", "rlactors.envs.toy:CorridorEnv", "--env-kwargs", '{"lenght": 3}'],
            "env CorridorEnv: got an unexpected keyword argument 'lenght'; it takes: length, "
            "max_steps",
        ),
        (
            ["ppo", "--env", "CartPol-v1"],
            "unknown Gymnasium env id 'CartPol-v1': did you mean 'CartPole-v1' or 'CartPole-v0' "
            "or 'phys2d/CartPole-v1'?",
        ),
        pytest.param(
            ["ppo", "--env", "ALE/Pong-v5"],
            "ALE/Pong-v5 needs ale-py: pip install 'rlactors[atari]'",
            marks=pytest.mark.skipif(_has("ale_py"), reason="ale-py is installed"),
        ),
    ],
)
def test_env_mistakes_print_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = _run([*RLACTORS, "train", *args, "--run-dir", "run"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"rlactors: error: {message}"]
    assert result.stdout == "" and not (tmp_path / "run").exists()


@pytest.mark.timeout(120)
def test_train_ppo_on_a_factory_from_pythonpath_then_evaluate(tmp_path: Path) -> None:
    package = tmp_path / "src" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "envs.py").write_text(
        textwrap.dedent(
            """
            from rlactors.envs.toy import CorridorEnv

            def make_corridor(length: int = 6) -> CorridorEnv:
                return CorridorEnv(length=length)
            """
        )
    )
    args = ["--env", "mypkg.envs:make_corridor", "--env-kwargs", '{"length": 10}']
    args += ["--stop-reward", "1", "--max-env-steps", "50000", "-q"]
    result = _run([*RLACTORS, "train", "ppo", *args], tmp_path, tmp_path / "src")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("solved after"), result.stdout
    (run,) = (tmp_path / "runs").glob("ppo-make_corridor-*")  # named by the spec
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["env"] == "mypkg.envs:make_corridor" and config["env_kwargs"] == {"length": 10}
    result = _run([*RLACTORS, "evaluate", str(run), "--episodes", "5"], tmp_path, tmp_path / "src")
    assert result.returncode == 0, result.stderr
    assert "mean 1.0" in result.stdout


@pytest.mark.timeout(120)
def test_an_id_registered_under_main_builds_inside_actor_processes(tmp_path: Path) -> None:
    # The new user: gym.register under `if __name__ == "__main__":` once failed in the
    # actor with "unknown Gymnasium env id 'GoRight2-v0'" (its __main__ never runs that block).
    script = tmp_path / "go_right.py"
    script.write_text(
        textwrap.dedent(
            """
            import gymnasium as gym

            from rlactors.algorithms.ppo.algorithm import PPO
            from rlactors.algorithms.ppo.config import PPOConfig
            from rlactors.envs.toy import CorridorEnv
            from rlactors.envs.to_gymnasium import to_gymnasium


            class GoRight(gym.Wrapper):
                def __init__(self):
                    super().__init__(to_gymnasium(CorridorEnv(length=4)))


            if __name__ == "__main__":
                gym.register("GoRight2-v0", entry_point=GoRight)
                gym.register("GoRight3-v0", entry_point="__main__:GoRight")
                for env_id in ("GoRight2-v0", "GoRight3-v0"):
                    config = PPOConfig(env=env_id, backend="process", num_workers=1,
                                       num_envs_per_worker=1, rollout_steps=8, max_env_steps=16)
                    with PPO(config) as ppo:
                        metrics = ppo.train_iter()
                    print(env_id, metrics["env_steps"])
            """
        )
    )
    result = _run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["GoRight2-v0", "8", "GoRight3-v0", "8"]
