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

from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Observation
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.spec import EnvSpec
from rlactors.errors import SpaceError
from rlactors.multiagent.augmented import ObservationAugmentingEnv

#: The Dict key of the critic-only part.
CRITIC_KEY = "critic"


class CentralCriticEnv(ObservationAugmentingEnv):
    """A multi-role env whose observations carry every role's observation for the critic; see
    the module docstring.

    Args:
        env: The env to build (unchecked: the caller's spec checks the wrapped env).

    Raises:
        SpaceError: A Dict observation that already has a ``"critic"`` key, or a role whose
            observation cannot be packed into one row (an image: the critic would be huge).
    """

    SUFFIX = "critic"

    def __init__(self, env: EnvSpec) -> None:
        super().__init__(env, CRITIC_KEY, "centralized_critic", self.SUFFIX)
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
        self._add_part_spaces(dict.fromkeys(roles, critic))

    def _part(self, role: str, obs: Observation) -> Any:
        """Every role's observation, packed, in role order (``role``'s is ``obs``)."""
        every = [
            self._layouts[r].pack(obs.state if r == role else self._env.observe(r).state)
            for r in self.roles
        ]
        return np.concatenate([np.asarray(x, np.float32).reshape(-1) for x in every])


def central_critic_spec(spec: EnvSpec) -> EnvSpec:
    """The spec of ``spec``'s env with the critic part (picklable, like ``spec``)."""
    return EnvSpec(CentralCriticEnv, {"env": spec})
