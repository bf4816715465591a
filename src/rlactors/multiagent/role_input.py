"""The role as an input: one shared network that can still play each role its own way.

Parameter sharing (several roles -> one policy) learns faster than a policy per role, but a
network that cannot tell the roles apart must play them all alike (Gupta et al., 2017;
Terry et al., 2020, "agent indication"). :class:`RoleInputEnv` adds the acting role's index to
every observation as a ``Discrete(n_roles)`` part, which the network one-hot encodes:

* a Dict observation gains a ``"role"`` key (PettingZoo's classic ``{"observation",
  "action_mask"}`` keeps its mask where the policies look for it);
* any other observation becomes ``{"observation": obs, "role": index}``.

Usage (what ``role_input=True`` does)::

    spec = role_input_spec(EnvSpec("mpe2:simple_spread_v3"))
    env = spec.make()
    env.observe("agent_1").state["role"]            # 1
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Observation
from rlactors.envs.spec import EnvSpec
from rlactors.multiagent.augmented import ObservationAugmentingEnv

#: The Dict key of the role part.
ROLE_KEY = "role"


class RoleInputEnv(ObservationAugmentingEnv):
    """A multi-role env whose observations carry the observing role's index; see the module
    docstring.

    Args:
        env: The env to build (unchecked: the caller's spec checks the wrapped env).

    Raises:
        SpaceError: A Dict observation that already has a ``"role"`` key.
    """

    SUFFIX = "role"

    def __init__(self, env: EnvSpec) -> None:
        super().__init__(env, ROLE_KEY, "role_input", self.SUFFIX)
        self._index = {role: i for i, role in enumerate(self._env.roles)}
        part = gym.spaces.Discrete(len(self._index))
        self._add_part_spaces(dict.fromkeys(self._env.roles, part))

    def _part(self, role: str, obs: Observation) -> Any:
        """``role``'s index in the env's roles."""
        return np.int64(self._index[role])


def role_input_spec(spec: EnvSpec) -> EnvSpec:
    """The spec of ``spec``'s env with the role as an input (picklable, like ``spec``)."""
    return EnvSpec(RoleInputEnv, {"env": spec})
