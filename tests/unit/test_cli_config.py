"""DQNConfig validation, and the typed-field helpers the CLI and run directories rely on."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from rlactors.algorithms import (
    UnknownAlgorithmError,
    UnknownConfigFieldError,
    algorithm_names,
    coerce_value,
    config_fields,
    config_from_dict,
    config_to_dict,
    get_algorithm,
)
from rlactors.algorithms.dqn import DQNConfig


@pytest.mark.parametrize("name", algorithm_names())
def test_every_config_field_of_every_algorithm_has_a_docstring(name: str) -> None:
    missing = [f.name for f in config_fields(get_algorithm(name).config_class()) if not f.doc]
    assert missing == []


def test_config_round_trips_through_json_values() -> None:
    config = DQNConfig(hidden_sizes=(32, 16), stop_reward=None, seed=4)
    data = config_to_dict(config)
    assert data["hidden_sizes"] == [32, 16]
    assert config_from_dict(DQNConfig, data) == config


def test_unknown_field_names_close_matches() -> None:
    with pytest.raises(UnknownConfigFieldError, match="did you mean learning_rate"):
        config_from_dict(DQNConfig, {"lerning_rate": 1.0})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_env_steps": 0}, "max_env_steps must be an integer >= 1"),
        ({"gamma": 1.1}, "gamma must lie in [0, 1]"),
        ({"exploration_fraction": -0.1}, "exploration_fraction must lie in [0, 1]"),
        ({"backend": "ray"}, "backend must be 'inline' or 'process'"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"hidden_sizes": (0,)}, "hidden_sizes must be positive integers"),
        ({"huber_delta": -1.0}, "huber_delta must be > 0 or None"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"max_env_steps": 100}, "less than one round of sampling (256 env steps"),
        ({"env": ""}, "env must be a Gymnasium id ('CartPole-v1')"),
    ],
)
def test_dqn_config_rejects_bad_values_with_the_field_name(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as info:
        DQNConfig(**overrides)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("apex", {"replay_ratio": 0.0}, "ApexConfig.replay_ratio must be > 0"),
        ("apex", {"learning_starts_transitions": 10}, "must be >= batch_size, got 10 < 128"),
        ("apex", {"hidden_sizes": (4, 0)}, "ApexConfig.hidden_sizes must be positive"),
        ("impala", {"entropy_coef": -1.0}, "IMPALAConfig.entropy_coef must be >= 0"),
        ("a2c", {"learning_rate": 0.0}, "A2CConfig.learning_rate must be > 0"),
        ("a3c", {"max_grad_norm": 0.0}, "A3CConfig.max_grad_norm must be > 0 or None"),
        ("ppo", {"hidden_sizes": (0,)}, "PPOConfig.hidden_sizes must be positive"),
        ("ppo", {"value_clip_epsilon": -1.0}, "PPOConfig.value_clip_epsilon must be > 0"),
        ("ppo", {"eval_trigger_fraction": 2.0}, "PPOConfig.eval_trigger_fraction must lie"),
        ("a2c", {"seed": -1}, "A2CConfig.seed must be an integer >= 0"),
    ],
)
def test_every_config_checks_its_network_and_learner_fields(
    name: str, overrides: dict[str, object], message: str
) -> None:
    """Checked in the config, so a bad flag is one CLI line, not a traceback from a part."""
    with pytest.raises(ValueError) as info:
        get_algorithm(name).config_class()(**overrides)
    assert message in str(info.value)


def test_env_steps_per_round() -> None:
    config = DQNConfig(rollout_steps=10, num_envs_per_evaluator=3, num_evaluators=2)
    assert config.env_steps_per_round == 60


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        (int, "100_000", 100_000),
        (int, "1e4", 10_000),
        (int, 7, 7),
        (float, "2.5e-3", 2.5e-3),
        (float | None, "none", None),
        (float | None, None, None),
        (float | None, "3", 3.0),
        (bool, "false", False),
        (bool, True, True),
        (tuple[int, ...], "64,64", (64, 64)),
        (tuple[int, ...], [1, 2], (1, 2)),
        (tuple[int, ...], "", ()),
        (Literal["a", "b"], "b", "b"),
        (str, "x", "x"),
    ],
)
def test_coerce_value(annotation: object, value: object, expected: object) -> None:
    assert coerce_value(annotation, value) == expected


@pytest.mark.parametrize(
    ("annotation", "value"),
    [(int, "1.5"), (int, True), (int, "x"), (float, "x"), (bool, "maybe"), (Literal["a"], "b")],
)
def test_coerce_value_rejects(annotation: object, value: object) -> None:
    with pytest.raises(ValueError, match="field"):
        coerce_value(annotation, value, "field")


def test_registry_names_dqn_and_lists_names_for_unknown_ones() -> None:
    entry = get_algorithm("dqn")
    assert entry.config_class() is DQNConfig
    assert entry.algorithm_class().name == "dqn"
    with pytest.raises(UnknownAlgorithmError, match="available: a2c, a3c, apex, dqn, impala, ppo"):
        get_algorithm("sac")


def test_config_fields_reads_defaults_including_factories() -> None:
    @dataclasses.dataclass(frozen=True)
    class Example:
        size: tuple[int, ...] = dataclasses.field(default_factory=lambda: (1, 2))
        """The size."""

        name: str = "x"

    fields = {f.name: f for f in config_fields(Example)}
    assert fields["size"].default == (1, 2) and fields["size"].doc == "The size."
    assert fields["name"].doc == "" and not fields["name"].required


def test_workers_is_a_short_flag_for_num_workers() -> None:
    from rlactors.cli.args import parse_train_args

    args = parse_train_args(["apex", "--env", "CartPole-v1", "--workers", "4"])
    assert args is not None
    assert args.overrides["num_workers"] == 4


def test_field_docs_come_from_base_classes_and_a_subclass_can_redocument() -> None:
    @dataclasses.dataclass(frozen=True)
    class Base:
        lr: float = 1e-3
        """Step size."""

        epochs: int = 1
        """Passes over the batch."""

    @dataclasses.dataclass(frozen=True)
    class Child(Base):
        epochs: int = 10
        """Ten passes, as PPO uses."""

    fields = {f.name: f for f in config_fields(Child)}
    assert fields["lr"].doc == "Step size."
    assert fields["epochs"].doc == "Ten passes, as PPO uses." and fields["epochs"].default == 10


def test_run_directories_from_before_the_env_field_still_load() -> None:
    """config.json files written before ``env`` replaced ``env_id`` name the env ``env_id``."""
    from rlactors.algorithms import config_from_dict
    from rlactors.algorithms.dqn.config import DQNConfig

    config = config_from_dict(DQNConfig, {"env_id": "Acrobot-v1", "seed": 3})
    assert config.env == "Acrobot-v1" and config.seed == 3
