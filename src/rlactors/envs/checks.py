"""Validation of everything that crosses an env's boundary, so nothing broken is trained on.

:class:`CheckedEnv` wraps any :class:`~rlactors.core.Env` and raises :class:`EnvCheckError` on

* an observation whose shape or dtype differs from ``observation_space(role)``, that holds NaN
  or inf, or (for discrete spaces) that is outside the space — leaf by leaf for Dict and Tuple
  spaces, naming the leaf;
* an action mask (the Dict key ``action_mask`` unless told another) whose length is not the
  number of actions, or that allows no action before the episode ended;
* a reward that is not a finite number;
* an action outside ``action_space(role)`` (including NaN), an action for a role whose turn it is
  not, for a role seen done, or for a role the env does not have, or a missing action;
* ``interact()`` before ``reset()`` or after the episode was seen to end (for a multi-role env:
  every role seen done, or no acting roles left).

Each role has its own spaces and its own mask. A mask is checked only while its role acts: a
turn-based game (PettingZoo's classic ones) shows a waiting role a mask of zeros.

The error names the env, the role, the step in the episode, the total step count and the value.
Box observations are not checked against their bounds: many envs declare loose or approximate
bounds (MuJoCo, classic control velocities), and an out-of-bound float is not garbage — a NaN is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NoReturn

import gymnasium as gym
import numpy as np

from rlactors.core import Env, Observation
from rlactors.envs.errors import EnvCheckError, ResetNeededError, unknown_role_error
from rlactors.envs.observations import DEFAULT_MASK_KEY, ObservationLayout
from rlactors.errors import SpaceError

__all__ = ["CheckedEnv", "EnvCheckError"]


class CheckedEnv(Env):
    """An :class:`Env` whose observations, rewards and actions are validated on every step.

    Observations are checked when they are observed (each ``observe(role)``), actions when they
    are passed to ``interact``, before the wrapped env sees them. The check costs a few
    microseconds per call for small observations (a shape/dtype comparison and a finiteness
    pass: in Python up to 16 floats, one ``np.isfinite`` above).

    Args:
        env: The env to check.
        name: How errors name the env; defaults to ``env.name`` if it has one, else its class.
        mask_key: The Dict observation key of an action mask.

    Raises:
        SpaceError: A role's action mask does not have one entry per action.

    Attributes:
        env: The wrapped env.
        name: The env's name in error messages.
        episode_step: Interactions applied since the last ``reset()``.
        total_steps: Interactions applied since construction, over all episodes.
    """

    def __init__(
        self, env: Env, *, name: str | None = None, mask_key: str = DEFAULT_MASK_KEY
    ) -> None:
        self.env = env
        inner_name = getattr(env, "name", None)
        self.name: str = name or (inner_name if isinstance(inner_name, str) else type(env).__name__)
        # Spaces are fixed for an env's lifetime; looking them up once keeps the per-step cost
        # to the checks themselves.
        self._obs_spaces = {role: env.observation_space(role) for role in env.roles}
        self._act_spaces = {role: env.action_space(role) for role in env.roles}
        self._masks: dict[str, tuple[str | int, ...]] = {}
        for role, space in self._obs_spaces.items():
            try:
                part = ObservationLayout.of(space, mask_key).mask_part
            except SpaceError as exc:  # say which env: an evaluator holds many
                raise SpaceError(f"{self.name}, role {role!r}: {exc}") from None
            if part is None:
                continue
            actions = self._act_spaces[role]
            if isinstance(actions, gym.spaces.Discrete) and part.size != actions.n:
                raise SpaceError(
                    f"{self.name}, role {role!r}: the action mask {part.name!r} has "
                    f"{part.size} entries but the action space {actions} has {actions.n}"
                )
            self._masks[role] = part.path
        self.episode_step = 0
        self.total_steps = 0
        self._started = False
        self._ended = False
        self._done: set[str] = set()  # roles seen done in this episode

    @property
    def roles(self) -> tuple[str, ...]:
        """The wrapped env's roles."""
        return self.env.roles

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's observation space for ``role``."""
        return self.env.observation_space(role)

    def action_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's action space for ``role``."""
        return self.env.action_space(role)

    def acting_roles(self) -> tuple[str, ...]:
        """The wrapped env's acting roles."""
        return self.env.acting_roles()

    def reset(self, seed: int | None = None) -> None:
        """Reset the wrapped env and the episode step count."""
        self.env.reset(seed)
        self.episode_step = 0
        self._started = True
        self._ended = False
        self._done = set()

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Check ``actions``, then pass them to the wrapped env.

        Raises:
            EnvCheckError: An action is outside its role's action space, or the roles given
                differ from :meth:`acting_roles` (an unknown role, one seen done, one out of
                turn, or an acting role without an action).
            ResetNeededError: Before the first reset, or after the episode was seen to end.
        """
        if not self._started:
            raise ResetNeededError(f"{self.name}: call reset() before interact()")
        acting = self.env.acting_roles()
        if self._ended or not acting:
            raise ResetNeededError(
                f"{self.name}: the episode ended; call reset() before interact()"
            )
        for role, action in actions.items():
            if role not in self._act_spaces:
                self._fail(role, f"not a role of this env (its roles: {self.roles})", action)
            if role in self._done and role not in acting:
                self._fail(role, "role is done (terminated or truncated) and cannot act", action)
            if role not in acting:
                self._fail(role, f"role acted out of turn (acting roles: {acting})", action)
            problem = _action_problem(action, self._act_spaces[role])
            if problem is not None:
                self._fail(role, problem, action)
        for role in acting:
            if role not in actions:
                self._fail(role, f"acting role {role!r} has no action", dict(actions))
        self.env.interact(actions)
        self.episode_step += 1
        self.total_steps += 1

    def observe(self, role: str) -> Observation:
        """The wrapped env's observation for ``role``, checked.

        Raises:
            EnvCheckError: The state does not fit the observation space or is not finite, or
                the reward is not a finite number.
        """
        if role not in self._obs_spaces:
            raise unknown_role_error(self.name, role, self.roles)
        obs = self.env.observe(role)
        problem = _observation_problem(obs.state, self._obs_spaces[role])
        if problem is not None:
            self._fail(role, problem, obs.state)
        if not _is_finite_number(obs.reward):
            self._fail(role, "reward is not a finite number", obs.reward)
        if obs.done:
            self._done.add(role)
            # One role's end is the episode's only when no other role plays on.
            self._ended = len(self._done) == len(self._obs_spaces)
        elif role in self._masks and role in self.env.acting_roles():
            mask: Any = obs.state
            for key in self._masks[role]:
                mask = mask[key]
            if not np.any(np.asarray(mask)):
                self._fail(role, "the action mask allows no action", mask)
        return obs

    def close(self) -> None:
        """Close the wrapped env."""
        self.env.close()

    def __repr__(self) -> str:
        return f"CheckedEnv({self.env!r})"

    def _fail(self, role: str, problem: str, value: Any) -> NoReturn:
        raise EnvCheckError(self.name, role, self.episode_step, self.total_steps, problem, value)


def _observation_problem(state: Any, space: gym.Space[Any], where: str = "") -> str | None:
    """What is wrong with ``state`` as an observation from ``space`` (None: nothing).

    ``where`` names the leaf of a Dict or Tuple observation being checked (empty at the root).
    """
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(state, Mapping) or set(state) != set(space.spaces):
            keys = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            return f"observation{where} must be a dict with keys {sorted(space.spaces)}, got {keys}"
        for key, sub in space.spaces.items():
            problem = _observation_problem(state[key], sub, f"{where}[{key!r}]")
            if problem is not None:
                return problem
        return None
    if isinstance(space, gym.spaces.Tuple):
        if not isinstance(state, tuple | list) or len(state) != len(space.spaces):
            return f"observation{where} must be a tuple of {len(space.spaces)} parts"
        for index, sub in enumerate(space.spaces):
            problem = _observation_problem(state[index], sub, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    if where and not isinstance(state, np.ndarray) and not isinstance(space, gym.spaces.Box):
        state = np.asarray(state)  # a Discrete leaf of a Tuple is often a plain int (Blackjack)
    elif where and isinstance(state, np.generic):
        # A numpy scalar keeps its dtype as a 0-d array: Box(shape=()).sample() is one, and
        # refusing it refused every such leaf (issue #14's fuzzing). A Python float is still
        # refused for a Box leaf: its dtype would be a guess.
        state = np.asarray(state)
    if not isinstance(state, np.ndarray):
        return f"observation{where} is a {type(state).__name__}, not a numpy array"
    if where:
        problem = _observation_problem(state, space)
        return None if problem is None else problem.replace("observation", f"observation{where}", 1)
    if isinstance(space, gym.spaces.Box):
        if state.shape != space.shape:
            return f"observation shape {state.shape} differs from {space}"
        if state.dtype != space.dtype:
            return f"observation dtype {state.dtype} differs from {space}"
        return _non_finite_problem("observation", state)
    if not space.contains(state):
        return f"observation is not in {space}"
    return None


def _action_problem(action: Any, space: gym.Space[Any]) -> str | None:
    """What is wrong with ``action`` as a member of ``space`` (None: nothing)."""
    if isinstance(space, gym.spaces.Box):
        # Checked here rather than by Box.contains, which warns on lists and rejects a float64
        # action for a float32 space (a lossless-enough cast every policy relies on).
        arr = np.asarray(action)
        if arr.shape != space.shape:
            return f"action shape {arr.shape} differs from {space}"
        if not np.can_cast(arr.dtype, space.dtype, casting="same_kind"):
            return f"action dtype {arr.dtype} cannot be cast to {space}"
        problem = _non_finite_problem("action", arr)
        if problem is not None:
            return problem
        if not (np.all(arr >= space.low) and np.all(arr <= space.high)):
            return f"action is outside the bounds of {space}"
        return None
    if isinstance(space, gym.spaces.Discrete) and isinstance(action, int | np.integer):
        # The common case, without Discrete.contains's conversions (a third of the check's cost).
        if space.start <= action < space.start + space.n:
            return None
        return f"action is not in {space}"
    if not space.contains(action):
        return f"action is not in {space}"
    return None


#: Float arrays up to this size are checked element by element in Python: for a CartPole
#: observation that is ~4x cheaper than ``np.isfinite(arr).all()``'s two numpy calls.
_SMALL = 16


def _non_finite_problem(what: str, arr: np.ndarray) -> str | None:
    kind = arr.dtype.kind
    if kind not in "fc":
        return None  # integers and bools are always finite
    if kind == "f" and arr.size <= _SMALL and all(map(math.isfinite, arr.flat)):
        return None
    finite = np.isfinite(arr)
    if finite.all():
        return None
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    return f"{what} has {int((~finite).sum())} non-finite values (first at index {first})"


def _is_finite_number(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        return False
    return math.isfinite(float(x))
