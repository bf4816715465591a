"""A centralized critic (MAPPO): the value function sees every role's observation.

In a cooperative game each agent's own observation hides what the others see, which makes its
return hard to predict; a critic that sees them all learns faster, while the actor still acts
on its own observation, so the policy runs decentralized (Lowe et al., 2017; Yu et al., 2022,
"The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games"). RLlib's users build
this by hand (ray#3133, #40040). Here :class:`CentralCriticEnv` adds a ``"critic"`` part to
every role's observation, the packed observations of all roles in the env's order, and the
actor-critic network's ``critic_only_key`` keeps that part out of the actor's torso:

* a Dict observation gains a ``"critic"`` Box; any other becomes ``{"observation": obs,
  "critic": ...}``;
* in a turn-based game the others' observations are what they see at the mover's turn.

Usage (what ``centralized_critic=True`` does)::

    spec = central_critic_spec(EnvSpec("mpe2:simple_spread_v3"))
    env = spec.make()
    env.observe("agent_0").state["critic"].shape     # (54,): three agents' 18 features
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Env, Observation
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.spec import EnvSpec
from rlactors.errors import SpaceError

#: The Dict key of the critic-only part.
CRITIC_KEY = "critic"


class CentralCriticEnv(Env):
    """A multi-role env whose observations carry every role's observation for the critic; see
    the module docstring.

    Args:
        env: The env to build (unchecked: the caller's spec checks the wrapped env).

    Raises:
        SpaceError: A Dict observation that already has a ``"critic"`` key, or a role whose
            observation cannot be packed into one row (an image: the critic would be huge).
    """

    def __init__(self, env: EnvSpec) -> None:
        self._env = env.make(check=False)
        self.name = f"{env.name}+critic"
        roles = tuple(self._env.roles)
        self._layouts = {r: ObservationLayout.of(self._env.observation_space(r)) for r in roles}
        for role, layout in self._layouts.items():
            if len(layout.shape) != 1:
                raise SpaceError(
                    f"{env.name}: role {role!r}'s observation has shape {layout.shape}; a "
                    "centralized critic concatenates flat observations"
                )
        width = sum(layout.shape[0] for layout in self._layouts.values())
        critic = gym.spaces.Box(-np.inf, np.inf, (width,), np.float32)
        self._spaces: dict[str, gym.spaces.Dict] = {}
        for role in roles:
            inner = self._env.observation_space(role)
            if isinstance(inner, gym.spaces.Dict):
                if CRITIC_KEY in inner.spaces:
                    raise SpaceError(
                        f"{env.name}: role {role!r}'s Dict observation already has a "
                        f"{CRITIC_KEY!r} key; centralized_critic cannot add its own"
                    )
                self._spaces[role] = gym.spaces.Dict({**inner.spaces, CRITIC_KEY: critic})
            else:
                self._spaces[role] = gym.spaces.Dict({"observation": inner, CRITIC_KEY: critic})

    def __repr__(self) -> str:
        return f"CentralCriticEnv({self._env!r})"

    @property
    def roles(self) -> tuple[str, ...]:
        """The wrapped env's roles."""
        return tuple(self._env.roles)

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The wrapped space with the ``critic`` part."""
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
        """The wrapped observation with every role's (packed, in role order) added."""
        obs = self._env.observe(role)
        every = [
            self._layouts[r].pack(obs.state if r == role else self._env.observe(r).state)
            for r in self.roles
        ]
        joint = np.concatenate([np.asarray(x, np.float32).reshape(-1) for x in every])
        state = obs.state
        if isinstance(state, Mapping):
            state = {**state, CRITIC_KEY: joint}
        else:
            state = {"observation": state, CRITIC_KEY: joint}
        return Observation(state, obs.reward, obs.terminated, obs.truncated, obs.info)

    def acting_roles(self) -> tuple[str, ...]:
        """The wrapped env's."""
        return tuple(self._env.acting_roles())

    def close(self) -> None:
        """Close the wrapped env."""
        self._env.close()


def central_critic_spec(spec: EnvSpec) -> EnvSpec:
    """The spec of ``spec``'s env with the critic part (picklable, like ``spec``)."""
    return EnvSpec(CentralCriticEnv, {"env": spec})
