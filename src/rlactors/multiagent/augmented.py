"""ObservationAugmentingEnv: a multi-role env wrapper that adds one part to every observation.

The base of :class:`~rlactors.multiagent.role_input.RoleInputEnv` (the observing role's
index) and :class:`~rlactors.multiagent.central_critic.CentralCriticEnv` (every role's
observation, for the critic). Everything but the observations is the wrapped env's; a
subclass names its part's Dict key and space and computes the part at each ``observe``:

* a Dict observation gains the key (PettingZoo's classic ``{"observation", "action_mask"}``
  keeps its mask where the policies look for it);
* any other observation becomes ``{"observation": obs, key: part}``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from rlactors.core import Env, Observation
from rlactors.envs.spec import EnvSpec
from rlactors.errors import SpaceError


class ObservationAugmentingEnv(Env):
    """Delegates to the env it wraps and adds the ``key`` part to its observations; see the
    module docstring.

    Args:
        env: The env to build (unchecked: the caller's spec checks the wrapped env).
        key: The Dict key of the added part.
        option: The option that adds it, for errors (``"role_input"``).
        suffix: This env's name is the wrapped env's, ``+suffix``.
    """

    #: What :meth:`spec_name` appends to the wrapped env's name (a subclass's).
    SUFFIX: str = ""

    def __init__(self, env: EnvSpec, key: str, option: str, suffix: str) -> None:
        self._env = env.make(check=False)
        self.name = f"{env.name}+{suffix}"
        self._inner_name = env.name
        self._key = key
        self._option = option
        self._spaces: dict[str, gym.spaces.Dict] = {}

    @classmethod
    def spec_name(cls, kwargs: Mapping[str, Any]) -> str:
        """The name of ``EnvSpec(cls, kwargs)`` (what :attr:`EnvSpec.name` asks): the wrapped
        env's with the suffix, so runs and logs say ``classic/tictactoe_v3+role``, not the
        wrapper's class name."""
        inner = kwargs["env"]
        return f"{inner.name if isinstance(inner, EnvSpec) else inner}+{cls.SUFFIX}"

    def _add_part_spaces(self, parts: Mapping[str, gym.Space[Any]]) -> None:
        """Every role's observation space: the wrapped one with ``parts[role]`` added.

        Raises:
            SpaceError: A Dict observation that already has the key.
        """
        for role, part in parts.items():
            inner = self._env.observation_space(role)
            if isinstance(inner, gym.spaces.Dict):
                if self._key in inner.spaces:
                    raise SpaceError(
                        f"{self._inner_name}: role {role!r}'s Dict observation already has a "
                        f"{self._key!r} key; {self._option} cannot add its own"
                    )
                self._spaces[role] = gym.spaces.Dict({**inner.spaces, self._key: part})
            else:
                self._spaces[role] = gym.spaces.Dict({"observation": inner, self._key: part})

    @abstractmethod
    def _part(self, role: str, obs: Observation) -> Any:
        """The part to add to ``role``'s wrapped observation ``obs``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._env!r})"

    @property
    def roles(self) -> tuple[str, ...]:
        """The wrapped env's roles."""
        return tuple(self._env.roles)

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The wrapped space with the added part."""
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
        """The wrapped observation with the part added."""
        obs = self._env.observe(role)
        part = self._part(role, obs)
        state = obs.state
        if isinstance(state, Mapping):
            state = {**state, self._key: part}
        else:
            state = {"observation": state, self._key: part}
        return Observation(state, obs.reward, obs.terminated, obs.truncated, obs.info)

    def acting_roles(self) -> tuple[str, ...]:
        """The wrapped env's."""
        return tuple(self._env.acting_roles())

    def close(self) -> None:
        """Close the wrapped env."""
        self._env.close()
