"""RoleInputEnv: the observing role's index as a Discrete part of every observation."""

from __future__ import annotations

import pickle

import gymnasium as gym
import pytest

from rlactors.envs import EnvSpec
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.toy import NimEnv
from rlactors.errors import SpaceError
from rlactors.multiagent.role_input import RoleInputEnv, role_input_spec


def test_a_box_observation_becomes_a_dict_with_the_role() -> None:
    env = pickle.loads(pickle.dumps(role_input_spec(EnvSpec(NimEnv)))).make()
    env.reset(seed=0)
    space = env.observation_space("player_1")
    assert isinstance(space, gym.spaces.Dict) and set(space.spaces) == {"observation", "role"}
    assert env.observe("player_0").state["role"] == 0
    assert env.observe("player_1").state["role"] == 1
    # One layout for both roles: a shared policy reads the role as one Discrete slot.
    layout = ObservationLayout.of(space)
    rows = layout.pack_many([env.observe(r).state for r in env.roles])
    assert rows.shape == (2, 9 + 1) and list(rows[:, -1]) == [0.0, 1.0]


def test_a_dict_observation_keeps_its_mask_and_gains_the_role() -> None:
    env = role_input_spec(EnvSpec("pettingzoo:classic/tictactoe_v3")).make()
    env.reset(seed=0)
    (role,) = env.acting_roles()
    state = env.observe(role).state
    assert set(state) == {"observation", "action_mask", "role"}
    assert state["action_mask"].sum() == 9


def test_a_role_key_that_exists_is_refused() -> None:
    class Clash(NimEnv):
        def observation_space(self, role: str) -> gym.Space:  # type: ignore[type-arg]
            return gym.spaces.Dict({"role": gym.spaces.Discrete(2)})

    with pytest.raises(SpaceError, match="already has a 'role' key"):
        RoleInputEnv(EnvSpec(Clash))


def test_a_wrapped_spec_is_named_after_the_env_it_wraps() -> None:
    from rlactors.multiagent.central_critic import central_critic_spec

    inner = EnvSpec("pettingzoo:classic/tictactoe_v3")
    assert role_input_spec(inner).name == "classic/tictactoe_v3+role"
    assert central_critic_spec(role_input_spec(inner)).name == "classic/tictactoe_v3+role+critic"
    assert role_input_spec(inner).make().name == "classic/tictactoe_v3+role"
