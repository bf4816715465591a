"""The algorithm configs' env fields, and the action-space check every algorithm makes first."""

from __future__ import annotations

import gymnasium as gym
import pytest

from rlactors.algorithms import check_action_space, config_from_dict, config_to_dict
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.ppo.config import PPOConfig
from rlactors.cli.args import parse_train_args
from rlactors.envs import CorridorEnv, EnvSpec, WrapperSpec
from rlactors.errors import SpaceError, UserError


def test_dqn_on_continuous_actions_fails_before_any_actor_with_a_suggestion() -> None:
    from rlactors.algorithms.dqn.algorithm import DQN

    with pytest.raises(SpaceError) as info:
        DQN(DQNConfig(env="Pendulum-v1", backend="process"))
    assert str(info.value) == (
        "dqn needs Discrete actions; Pendulum-v1 has Box(-2.0, 2.0, (1,), float32); try ppo"
    )
    assert isinstance(info.value, UserError) and isinstance(info.value, TypeError)


def test_the_suggestion_comes_from_what_each_algorithm_accepts() -> None:
    check_action_space("ppo", "X", gym.spaces.Box(-1.0, 1.0, (2,)))
    check_action_space("apex", "X", gym.spaces.Discrete(3))
    with pytest.raises(SpaceError, match="ppo needs Discrete or Box actions; X has "
                       r"MultiBinary\(3\); no registered algorithm handles it"):  # fmt: skip
        check_action_space("ppo", "X", gym.spaces.MultiBinary(3))


def test_env_fields_take_classes_dicts_and_wrapper_names_and_stay_hashable() -> None:
    config = PPOConfig(
        env=CorridorEnv,
        env_kwargs={"length": 4},
        env_wrappers=("FlattenObservation", {"TimeLimit": {"max_episode_steps": 5}}),
    )
    assert hash(config) == hash(PPOConfig(env=CorridorEnv, env_kwargs={"length": 4},
                                          env_wrappers=config.env_wrappers))  # fmt: skip
    assert config.env_wrappers[1] == WrapperSpec("TimeLimit", {"max_episode_steps": 5})
    data = config_to_dict(config)
    assert data["env"] == "rlactors.envs.toy:CorridorEnv"
    assert data["env_kwargs"] == {"length": 4}
    assert data["env_wrappers"] == ["FlattenObservation", {"TimeLimit": {"max_episode_steps": 5}}]
    # config.json reads back: the class by its import path, which builds the same env.
    again = config_from_dict(PPOConfig, data)
    spec = EnvSpec.of(again.env, again.env_kwargs, again.env_wrappers).resolve()
    assert spec.env is CorridorEnv and dict(spec.kwargs) == {"length": 4}


def test_an_env_spec_is_an_env_too() -> None:
    spec = EnvSpec("CartPole-v1", kwargs={"max_episode_steps": 10})
    data = config_to_dict(DQNConfig(env=spec))
    assert data["env"] == {
        "env": "CartPole-v1",
        "kwargs": {"max_episode_steps": 10},
        "wrappers": [],
    }
    assert config_from_dict(DQNConfig, data).env == spec


def test_cli_flags_of_the_env_fields() -> None:
    argv = ["ppo", "--env", "mypkg.envs:make", "--env-kwargs", '{"size": 8}']
    argv += ["--env-wrappers", '["FlattenObservation", {"TimeLimit": {"max_episode_steps": 9}}]']
    args = parse_train_args(argv)
    assert args is not None
    assert args.overrides["env"] == "mypkg.envs:make"
    assert dict(args.overrides["env_kwargs"]) == {"size": 8}
    assert args.overrides["env_wrappers"] == (
        WrapperSpec("FlattenObservation"),
        WrapperSpec("TimeLimit", {"max_episode_steps": 9}),
    )
    config = PPOConfig(**args.overrides)
    assert config.env_kwargs == {"size": 8}


def test_an_algorithm_trains_on_an_rlactors_env_class() -> None:
    from rlactors.algorithms.ppo.algorithm import PPO

    config = PPOConfig(env=CorridorEnv, backend="inline", num_workers=1, max_env_steps=256)
    with PPO(config) as ppo:
        assert ppo.env_spec.name == "CorridorEnv"
        assert ppo.train_iter()["env_steps"] == 128
        assert ppo.evaluate(2)["eval_return_mean"] in (0.0, 1.0)
