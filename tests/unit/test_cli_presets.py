"""Presets, ``--config FILE`` and the order defaults < preset < config < flags (issue #15)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rlactors.algorithms import algorithm_names, get_algorithm
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.ppo.config import PPOConfig
from rlactors.cli import presets
from rlactors.cli.args import CliError
from rlactors.cli.main import EXIT_USAGE, main
from rlactors.cli.presets import merge_config, preset_env_ids, preset_line

#: DQN on CartPole in 100-step iterations, learning little (inline backend: well under a second).
TINY = [
    "--max-env-steps", "200", "--rollout-steps", "100", "--learning-starts-env-steps", "100",
    "--train-steps-per-sample", "2", "--batch-size", "16", "--hidden-sizes", "16",
    "--eval-episodes", "2",
]  # fmt: skip


@pytest.fixture
def preset_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A preset directory of our own instead of the shipped one."""
    directory = tmp_path / "presets"
    directory.mkdir()
    (directory / "dqn.yml").write_text(
        "CartPole-v1:\n  gamma: 0.9\n  learning_rate: 5.0e-4\n  stop_reward: 10000\n"
        "Acrobot-v1:\n  gamma: 0.95\n"
    )
    monkeypatch.setattr(presets, "PRESET_DIR", directory)
    return directory


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", algorithm_names())
def test_every_shipped_preset_is_a_valid_config_of_a_registered_env(name: str) -> None:
    import gymnasium as gym

    config_cls = get_algorithm(name).config_class()
    for env_id in preset_env_ids(name):
        assert env_id in gym.registry, env_id
        preset = presets.find_preset(name, env_id, config_cls)
        assert preset is not None and preset.values
        config_cls(env=env_id, **preset.values)  # every value fits and passes the checks


def test_ppo_lunar_lander_preset_is_shipped_as_package_data() -> None:
    preset = presets.find_preset("ppo", "LunarLander-v3", PPOConfig)
    assert preset is not None
    assert preset.path == Path(presets.__file__).parent.parent / "presets" / "ppo.yml"
    assert preset.values["stop_reward"] == 200.0  # solved: greedy mean 200
    assert preset.values["learning_rate"] == 3e-4 and preset.values["num_epochs"] == 4


def test_the_preset_of_the_env_is_picked_and_named(preset_dir: Path) -> None:
    merged = merge_config("dqn", DQNConfig, {"env": "Acrobot-v1"})
    assert merged.preset is not None and merged.preset.name == "dqn/Acrobot-v1"
    assert merged.values == {"gamma": 0.95, "env": "Acrobot-v1"}
    line = preset_line(merged.preset)
    assert line.startswith("using preset dqn/Acrobot-v1 (")
    assert line.endswith(f"{preset_dir / 'dqn.yml'}); flags override it")
    # The default env has its preset too; an env without one, and --no-preset, get none.
    assert merge_config("dqn", DQNConfig, {}).preset.name == "dqn/CartPole-v1"  # type: ignore[union-attr]
    assert merge_config("dqn", DQNConfig, {"env": "MountainCar-v0"}).preset is None
    assert merge_config("dqn", DQNConfig, {}, use_preset=False).values == {}
    assert merge_config("ppo", PPOConfig, {}).preset is None  # no ppo.yml in preset_dir


def test_defaults_then_preset_then_config_then_flags(preset_dir: Path, tmp_path: Path) -> None:
    config = write(tmp_path / "c.yml", "learning_rate: 1.0e-3\nstop_reward: 400\nbatch_size: 64\n")
    merged = merge_config("dqn", DQNConfig, {"stop_reward": 300.0}, config_file=config)
    assert merged.values == {
        "gamma": 0.9, "learning_rate": 1e-3, "batch_size": 64, "stop_reward": 300.0,
    }  # fmt: skip
    assert merged.sources["gamma"] == "preset"
    assert merged.sources["learning_rate"] == merged.sources["batch_size"] == "config"
    assert merged.sources["stop_reward"] == "flag"
    assert merged.sources["seed"] == "default"
    assert set(merged.sources) == {f.name for f in DQNConfig.__dataclass_fields__.values()}
    assert merged.config_file == config


def test_the_config_file_env_picks_its_preset_and_a_flag_env_wins(
    preset_dir: Path, tmp_path: Path
) -> None:
    config = write(tmp_path / "c.yml", "env: Acrobot-v1\n")
    from_file = merge_config("dqn", DQNConfig, {}, config_file=config)
    assert from_file.preset is not None and from_file.preset.env_id == "Acrobot-v1"
    assert from_file.values["gamma"] == 0.95
    flagged = merge_config("dqn", DQNConfig, {"env": "CartPole-v1"}, config_file=config)
    assert flagged.preset is not None and flagged.preset.env_id == "CartPole-v1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "learnin_rate: 1.0e-3\n",
            "DQNConfig has no field 'learnin_rate'; did you mean learning_rate",
        ),
        ("batch_size: many\n", "batch_size must be an integer, got 'many'"),
        ("hidden_sizes: [64, x]\n", "hidden_sizes must be an integer, got 'x'"),
        ("dueling: maybe\n", "dueling must be true or false, got 'maybe'"),
        ("backend: gpu\n", "backend must be one of 'inline', 'process', got 'gpu'"),
        ("- gamma\n", "must be a mapping of config fields (name: value), got a list"),
        ("gamma: [0.9\n", "not valid YAML at line 2"),
    ],
)
def test_config_file_mistakes_are_one_line_naming_the_file_and_the_key(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "bad.yml", text)
    with pytest.raises(CliError) as info:
        merge_config("dqn", DQNConfig, {}, config_file=config)
    assert f"--config {config}" in str(info.value) and message in str(info.value)
    assert main(["train", "dqn", "--config", config, "--run-dir", str(tmp_path / "r")]) == (
        EXIT_USAGE
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "r").exists()


def test_a_value_out_of_range_names_the_config_file_it_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "c.yml", "learning_rate: -1\n")
    assert main(["train", "dqn", "--config", config, "--run-dir", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == (
        "rlactors: error: dqn config: DQNConfig.learning_rate must be > 0, got -1.0 "
        f"(from --config {config})\n"
    )
    assert main(["train", "dqn", "--learning-rate", "-1", "--run-dir", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.endswith("got -1.0\n")  # a flag: the user just typed it


def test_a_preset_value_out_of_range_names_the_preset(
    preset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (preset_dir / "dqn.yml").write_text("MountainCar-v0:\n  learning_rate: -1\n")
    argv = ["train", "dqn", "--env", "MountainCar-v0", "--run-dir", str(tmp_path / "r")]
    assert main(argv) == 2
    assert capsys.readouterr().err.endswith(
        f"got -1.0 (from preset dqn/MountainCar-v0, {preset_dir / 'dqn.yml'})\n"
    )


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"--config .*nothere.yml: cannot read it"):
        merge_config("dqn", DQNConfig, {}, config_file=str(tmp_path / "nothere.yml"))


def test_train_says_its_preset_first_and_records_every_fields_source(
    preset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    config = write(tmp_path / "c.yml", "learning_rate: 1.0e-3\nbatch_size: 8\n")
    argv = ["train", "dqn", "-q", *TINY, "--batch-size", "16", "--config", config]
    assert main([*argv, "--run-dir", str(run_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == preset_line(presets.find_preset("dqn", "CartPole-v1", DQNConfig))  # type: ignore[arg-type]
    header = json.loads((run_dir / "config.json").read_text())
    assert header["preset"] == "dqn/CartPole-v1" and header["config_file"] == config
    assert header["config"]["gamma"] == 0.9 and header["sources"]["gamma"] == "preset"
    assert header["config"]["learning_rate"] == 1e-3
    assert header["sources"]["learning_rate"] == "config"
    assert header["config"]["batch_size"] == 16 and header["sources"]["batch_size"] == "flag"
    assert header["config"]["seed"] == 0 and header["sources"]["seed"] == "default"
    # --no-preset: the defaults, and no preset line.
    assert main(["train", "dqn", "-q", *TINY, "--no-preset", "--run-dir", str(tmp_path / "b")]) == 0
    assert not capsys.readouterr().out.startswith("using preset")
    header = json.loads((tmp_path / "b" / "config.json").read_text())
    assert header["preset"] is None and header["config"]["gamma"] == 0.99
    assert header["sources"]["gamma"] == "default"


def test_a_resumed_run_keeps_its_recorded_config_and_reads_no_preset(
    preset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    argv = ["train", "dqn", "-q", *TINY, "--no-preset", "--run-dir", str(run_dir)]
    assert main(argv) == 0
    capsys.readouterr()
    # preset_dir's CartPole preset would change gamma to 0.9: a resumed run must not read it.
    assert main(["train", "--resume", str(run_dir), "-q", "--max-env-steps", "400"]) == 0
    out = capsys.readouterr().out
    assert "using preset" not in out and out.startswith("resumed from")
    header = json.loads((run_dir / "config.json").read_text())
    assert header["config"]["gamma"] == 0.99 and header["config"]["max_env_steps"] == 400
    assert header["preset"] is None and header["sources"]["gamma"] == "default"
    assert header["sources"]["max_env_steps"] == "flag"
    config = write(tmp_path / "c.yml", "gamma: 0.5\n")
    assert main(["train", "--resume", str(run_dir), "--config", config]) == EXIT_USAGE
    assert "--config would change the run's config" in capsys.readouterr().err


def test_missing_box2d_names_the_extra_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlactors.envs.gymnasium import make_env
    from rlactors.envs.spec import EnvSpec
    from rlactors.errors import EnvSpecError

    # As if Box2D were not installed: its import fails, and gymnasium's Box2D envs import anew.
    monkeypatch.setitem(sys.modules, "Box2D", None)
    for module in [m for m in sys.modules if m.startswith("gymnasium.envs.box2d")]:
        monkeypatch.delitem(sys.modules, module)
    expected = "LunarLander-v3 needs Box2D, which is not installed: pip install 'rlactors[box2d]'"
    with pytest.raises(EnvSpecError) as info:
        EnvSpec("LunarLander-v3").make()
    assert str(info.value) == expected
    with pytest.raises(EnvSpecError) as info:
        make_env("LunarLander-v3")
    assert str(info.value) == expected
    assert main(["train", "ppo", "--env", "LunarLander-v3", "--run-dir", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert err == f"rlactors: error: {expected}\n" and out == ""


def test_train_help_lists_the_envs_with_presets(
    preset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["train", "dqn", "--help"])
    out = capsys.readouterr().out
    assert f"Presets for --env ({preset_dir / 'dqn.yml'}; --no-preset skips them): " in out
    assert "CartPole-v1, Acrobot-v1\n" in out
    with pytest.raises(SystemExit):
        main(["train", "ppo", "--help"])
    assert "Presets for --env" not in capsys.readouterr().out  # preset_dir has no ppo.yml
