"""A single-role :class:`~rlactors.core.Env` seen as a ``gymnasium.Env``.

This is the way back out: any rlactors env can be handed to code that speaks Gymnasium
(``gymnasium.utils.env_checker.check_env``, Stable-Baselines3, gymnasium's vector envs)::

    gym_env = to_gymnasium(make_env("CartPole-v1"))
    obs, info = gym_env.reset(seed=0)
    obs, reward, terminated, truncated, info = gym_env.step(gym_env.action_space.sample())
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Env
from rlactors.envs.observations import copy_state


class EnvAsGymnasium(gym.Env[np.ndarray, Any]):
    """One role of an :class:`Env` as a ``gymnasium.Env`` (use :func:`to_gymnasium`).

    Observations and infos are copied on the way out: Gymnasium users keep what ``step``
    returns, and an env that refills one buffer in place would silently rewrite their history
    (``check_env`` tests exactly this).

    Args:
        env: A single-role env; ``close()`` closes it.
        role: Its role; defaults to the only one.

    Raises:
        ValueError: The env has more than one role, or ``role`` is not its role.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium's own convention

    def __init__(self, env: Env, role: str | None = None) -> None:
        if len(env.roles) != 1:
            raise ValueError(
                f"to_gymnasium() needs a single-role env; {env!r} has roles {env.roles}"
            )
        if role is not None and role != env.roles[0]:
            raise ValueError(f"{env!r} has no role {role!r}; its role is {env.roles[0]!r}")
        self.env = env
        self.role = env.roles[0]
        self.observation_space = env.observation_space(self.role)
        self.action_space = env.action_space(self.role)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env (``seed`` reseeds it; ``options`` is accepted and unused)."""
        # Seeds this object's own np_random too: gymnasium's contract (and check_env) expect a
        # seeded generator on every env, even one that draws nothing from it.
        super().reset(seed=seed)
        self.env.reset(seed)
        obs = self.env.observe(self.role)
        return copy_state(obs.state), dict(obs.info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` for the role and return Gymnasium's five-tuple."""
        self.env.interact({self.role: action})
        obs = self.env.observe(self.role)
        return copy_state(obs.state), obs.reward, obs.terminated, obs.truncated, dict(obs.info)

    def close(self) -> None:
        """Close the wrapped env."""
        self.env.close()


def to_gymnasium(env: Env, role: str | None = None) -> gym.Env[np.ndarray, Any]:
    """``env`` as a ``gymnasium.Env`` that passes ``gymnasium.utils.env_checker.check_env``.

    Args:
        env: A single-role env.
        role: Its role; defaults to the only one (:data:`~rlactors.core.DEFAULT_ROLE` for
            envs made by :func:`~rlactors.envs.make_env`).

    Returns:
        A Gymnasium env whose ``step`` is ``interact`` followed by ``observe``.
    """
    return EnvAsGymnasium(env, role)
