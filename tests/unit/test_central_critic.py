"""CentralCriticEnv: every role's observation, packed in role order, for the critic."""

from __future__ import annotations

import numpy as np
import pytest

from rlactors.envs import EnvSpec
from rlactors.envs.toy import NimEnv
from rlactors.errors import SpaceError
from rlactors.multiagent.central_critic import CentralCriticEnv, central_critic_spec


def test_each_role_sees_every_roles_observation_for_its_critic() -> None:
    spec = EnvSpec("mpe2:simple_spread_v3", {"N": 3, "max_cycles": 5})
    env = central_critic_spec(spec).make()
    plain = spec.make()
    env.reset(seed=3)
    plain.reset(seed=3)
    joint = np.concatenate([plain.observe(r).state for r in plain.roles])
    assert env.observation_space("agent_1")["critic"].shape == (54,)
    for role in env.roles:
        state = env.observe(role).state
        np.testing.assert_allclose(state["critic"], joint)
        np.testing.assert_allclose(state["observation"], plain.observe(role).state)


def test_a_turn_based_dict_game_keeps_its_mask() -> None:
    env = central_critic_spec(EnvSpec("pettingzoo:classic/tictactoe_v3")).make()
    env.reset(seed=0)
    (role,) = env.acting_roles()
    state = env.observe(role).state
    assert set(state) == {"observation", "action_mask", "critic"}
    # Two players' packed observations: 9 mask + 18 board each.
    assert state["critic"].shape == (2 * 27,)


def test_images_are_refused() -> None:
    import gymnasium as gym

    class Pixels(NimEnv):
        def observation_space(self, role: str) -> gym.Space:  # type: ignore[type-arg]
            return gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)

    with pytest.raises(SpaceError, match="concatenates flat observations"):
        CentralCriticEnv(EnvSpec(Pixels))
