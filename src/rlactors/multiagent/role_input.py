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

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Env, Observation
from rlactors.envs.spec import EnvSpec
from rlactors.errors import SpaceError

#: The Dict key of the role part.
ROLE_KEY = "role"


class RoleInputEnv(Env):
    """A multi-role env whose observations carry the observing role's index; see the module
    docstring.

    Args:
        env: The env to build (unchecked: the caller's spec checks the wrapped env).

    Raises:
        SpaceError: A Dict observation that already has a ``"role"`` key.
    """

    def __init__(self, env: EnvSpec) -> None:
        self._env = env.make(check=False)
        self.name = f"{env.name}+role"
        self._index = {role: i for i, role in enumerate(self._env.roles)}
        self._spaces: dict[str, gym.spaces.Dict] = {}
        for role in self._env.roles:
            inner = self._env.observation_space(role)
            part = gym.spaces.Discrete(len(self._index))
            if isinstance(inner, gym.spaces.Dict):
                if ROLE_KEY in inner.spaces:
                    raise SpaceError(
                        f"{env.name}: role {role!r}'s Dict observation already has a "
                        f"{ROLE_KEY!r} key; role_input cannot add its own"
                    )
                self._spaces[role] = gym.spaces.Dict({**inner.spaces, ROLE_KEY: part})
            else:
                self._spaces[role] = gym.spaces.Dict({"observation": inner, ROLE_KEY: part})

    def __repr__(self) -> str:
        return f"RoleInputEnv({self._env!r})"

    @property
    def roles(self) -> tuple[str, ...]:
        """The wrapped env's roles."""
        return tuple(self._env.roles)

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The wrapped space with the ``role`` part."""
        return self._spaces[role]

    def action_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's."""
        return self._env.action_space(role)

    def reset(self, seed: int | None = None) -> None:
        """Reset the wrapped env."""
        self._env.reset(seed=seed)

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step the wrapped env."""
        self._env.interact(actions)

    def observe(self, role: str) -> Observation:
        """The wrapped observation with ``role``'s index added."""
        obs = self._env.observe(role)
        index = np.int64(self._index[role])
        state = obs.state
        if isinstance(state, Mapping):
            state = {**state, ROLE_KEY: index}
        else:
            state = {"observation": state, ROLE_KEY: index}
        return Observation(state, obs.reward, obs.terminated, obs.truncated, obs.info)

    def acting_roles(self) -> tuple[str, ...]:
        """The wrapped env's."""
        return tuple(self._env.acting_roles())

    def close(self) -> None:
        """Close the wrapped env."""
        self._env.close()


def role_input_spec(spec: EnvSpec) -> EnvSpec:
    """The spec of ``spec``'s env with the role as an input (picklable, like ``spec``)."""
    return EnvSpec(RoleInputEnv, {"env": spec})
