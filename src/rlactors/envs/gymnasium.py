"""Any Gymnasium environment as an rlactors :class:`~rlactors.core.Env` (one role).

Usage::

    env = make_env("CartPole-v1")          # checked by default, see rlactors.envs.checks
    env.reset(seed=0)
    obs = env.observe(DEFAULT_ROLE)         # Observation(state [4] float32, reward 0.0, ...)
    env.interact({DEFAULT_ROLE: 1})
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import DEFAULT_ROLE, Env, Observation
from rlactors.envs.checks import CheckedEnv
from rlactors.envs.errors import (
    ResetNeededError,
    UnknownEnvError,
    check_action_roles,
    unknown_role_error,
)
from rlactors.envs.lookup import missing_dependency, register_namespace
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.spec import EnvSpec
from rlactors.envs.toy_structured import register as register_structured_toys
from rlactors.errors import EnvSpecError, SpaceError

_ROLES = (DEFAULT_ROLE,)

# The rlactors/ toy ids, wherever envs are made (this module is imported there).
register_structured_toys()


class GymnasiumEnv(Env):
    """A ``gymnasium.Env`` seen as an :class:`Env` with the single role :data:`DEFAULT_ROLE`.

    ``reset(seed)`` seeds the wrapped env (``reset(None)`` continues its random stream, as in
    Gymnasium). After an episode ends, :meth:`interact` raises until the next :meth:`reset`;
    auto-resetting is the caller's choice (see :class:`rlactors.envs.vector.EnvBatch`).

    Args:
        env: The Gymnasium env to wrap; this object owns it from now on (``close()`` closes it).
        name: How errors name this env; defaults to the env's registered id, else its class.

    Raises:
        SpaceError: The observation space has no fixed-size layout (Text, Graph, Sequence:
            see :class:`~rlactors.envs.observations.ObservationLayout`).
    """

    def __init__(self, env: gym.Env[Any, Any], *, name: str | None = None) -> None:
        spec_id = env.spec.id if env.spec is not None else None
        self.name: str = name or spec_id or type(env.unwrapped).__name__
        try:
            ObservationLayout.of(env.observation_space, mask_key=None)
        except SpaceError as exc:
            raise SpaceError(f"{self.name}: {exc}") from None
        self.gym_env = env
        self._last: Observation | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The one role, :data:`DEFAULT_ROLE`."""
        return _ROLES

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's observation space."""
        self._check_role(role)
        return self.gym_env.observation_space

    def action_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's action space."""
        self._check_role(role)
        return self.gym_env.action_space

    def reset(self, seed: int | None = None) -> None:
        """Start an episode; the observation that follows has reward 0.0."""
        state, info = self.gym_env.reset(seed=seed)
        self._last = Observation(_as_state(state), 0.0, False, False, info)

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step the wrapped env with ``actions[DEFAULT_ROLE]``.

        Raises:
            ResetNeededError: Before the first reset, or after the episode ended.
            ValueError: ``actions`` is not exactly ``{DEFAULT_ROLE: action}``.
        """
        last = self._require_episode("interact")
        if last.done:
            raise ResetNeededError(
                f"{self.name}: the episode ended (terminated={last.terminated}, "
                f"truncated={last.truncated}); call reset() before interact()"
            )
        check_action_roles(self.name, actions, _ROLES)
        state, reward, terminated, truncated, info = self.gym_env.step(actions[DEFAULT_ROLE])
        self._last = Observation(
            _as_state(state), float(reward), bool(terminated), bool(truncated), info
        )

    def observe(self, role: str) -> Observation:
        """The observation after the last ``reset()`` or ``interact()``."""
        self._check_role(role)
        return self._require_episode("observe")

    def close(self) -> None:
        """Close the wrapped env."""
        self.gym_env.close()

    def __repr__(self) -> str:
        return f"GymnasiumEnv({self.name})"

    def _check_role(self, role: str) -> None:
        if role != DEFAULT_ROLE:
            raise unknown_role_error(self.name, role, _ROLES)

    def _require_episode(self, method: str) -> Observation:
        if self._last is None:
            raise ResetNeededError(f"{self.name}: call reset() before {method}()")
        return self._last


def _as_state(state: Any) -> Any:
    """Array-valued observations as arrays; Dict (a mapping) and Tuple observations as given."""
    # Most envs' observation is an ndarray: taken as is before the ABC check of Mapping, which
    # costs about as much as a tenth of a CartPole step.
    if type(state) is np.ndarray:
        return state
    return state if isinstance(state, Mapping | tuple) else np.asarray(state)


def make_env(env_id: str, *, check: bool = True, **kwargs: Any) -> Env:
    """Make the registered Gymnasium env ``env_id`` as an :class:`Env`.

    Args:
        env_id: A Gymnasium id such as ``"CartPole-v1"`` (``"module:Id-v0"`` imports ``module``
            first, as in ``gymnasium.make``); ``ALE/`` ids get the standard Atari
            preprocessing, as from :class:`~rlactors.envs.spec.EnvSpec`.
        check: Wrap the env in :class:`~rlactors.envs.checks.CheckedEnv`, which rejects
            non-finite or misshapen observations and out-of-space actions with an error naming
            the env, the role and the step. Costs a few microseconds per step.
        **kwargs: Passed to ``gymnasium.make`` (e.g. ``max_episode_steps``, env arguments).

    Returns:
        The env, with the single role :data:`DEFAULT_ROLE`.

    Raises:
        UnknownEnvError: ``env_id`` is not registered; the message lists close matches.
        EnvSpecError: The env needs a package that is not installed (Box2D for LunarLander,
            ale-py for ``ALE/`` ids); the message names the extra to install.
    """
    short_id = env_id.rpartition(":")[2]
    register_namespace(short_id)  # ALE/ and MinAtar/ ids: their package, or its extra named
    if short_id.startswith("ALE/"):
        # Built as every other ALE/ id is, with the standard Atari preprocessing.
        return EnvSpec(env_id, kwargs=kwargs).make(check=check)
    try:
        gym_env = gym.make(env_id, **kwargs)
    except (gym.error.UnregisteredEnv, gym.error.DeprecatedEnv):
        # `from None`: gymnasium's chain of registry lookups says nothing the message doesn't.
        raise UnknownEnvError(env_id, _close_matches(env_id)) from None
    except gym.error.DependencyNotInstalled as exc:
        raise EnvSpecError(missing_dependency(env_id, str(exc))) from None
    env: Env = GymnasiumEnv(gym_env, name=env_id)
    return CheckedEnv(env, name=env_id) if check else env


def _close_matches(env_id: str) -> list[str]:
    """Registered ids close to ``env_id`` (ignoring a ``module:`` prefix), best first."""
    wanted = env_id.split(":")[-1]
    return difflib.get_close_matches(wanted, list(gym.registry), n=3, cutoff=0.6)
