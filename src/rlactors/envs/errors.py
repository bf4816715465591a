"""Errors raised by environments and their wrappers, and the role checks every env shares.

Each error says which env, which role and which step: an evaluator runs many envs in many
processes, and "invalid action" without those three is a bug report nobody can act on. The
errors are picklable with their fields, because they cross process boundaries when an env runs
inside an actor.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from rlactors.errors import EnvSpecError, UserError


class UnknownEnvError(EnvSpecError):
    """An env id that is not registered (Gymnasium) or has no module (PettingZoo); the message
    lists the closest known ids (an :class:`~rlactors.errors.EnvSpecError`, so the CLI prints
    it as one line).

    Attributes:
        env_id: The id that was asked for.
        close_matches: Known ids that look like it, best first (maybe empty).
        kind: Whose id it is: ``"Gymnasium"`` or ``"PettingZoo"``.
    """

    def __init__(
        self, env_id: str, close_matches: Sequence[str] = (), kind: str = "Gymnasium"
    ) -> None:
        self.env_id = env_id
        self.close_matches = tuple(close_matches)
        self.kind = kind
        if self.close_matches:
            hint = "did you mean " + " or ".join(repr(m) for m in self.close_matches) + "?"
        elif kind != "Gymnasium":
            hint = "no close match; the package's documentation lists its envs"
        else:
            # An id registered under `if __name__ == "__main__":` exists in that process only.
            hint = (
                "no close match; is the package that registers it installed and imported "
                "('module:EnvId' imports it first)? An id registered in a script exists only "
                "in that script's process: pass EnvSpec(id).resolve() from there, or the env "
                "class itself"
            )
        super().__init__(f"unknown {kind} env id {env_id!r}: {hint}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.env_id, self.close_matches, self.kind))


class EnvCrashError(UserError):
    """An env crashed more often than its :class:`~rlactors.envs.crashes.EnvCrashPolicy`
    allows (a :class:`~rlactors.errors.UserError`, so the CLI prints it as one line).

    Attributes:
        env_name: The env id (Gymnasium envs) or class name.
        crashes: Crashes within the window, this one included.
        within_s: The policy's window, or the time the crashes in a row took, in seconds.
        last: The last exception, as ``"Type: message"`` on one line (a string, so the error
            pickles whatever the env raised).
    """

    def __init__(
        self, env_name: str, crashes: int, within_s: float, last: BaseException | str
    ) -> None:
        self.env_name = env_name
        self.crashes = crashes
        self.within_s = within_s
        self.last = last if isinstance(last, str) else one_line(last)
        # 3 significant digits: "60", "3600", "0.000123" (a window, or how long a rebuild took)
        seconds = f"{float(f'{within_s:.3g}'):g}"
        super().__init__(
            f"env {env_name} crashed {crashes} times within {seconds} s (last: {self.last})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.env_name, self.crashes, self.within_s, self.last))


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``"Type: message"`` with the message's whitespace collapsed and cut at ``limit`` chars."""
    message = " ".join(str(exc).split())
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class ResetNeededError(RuntimeError):
    """The env was used outside an episode: before its first ``reset()`` or after the end."""


class EnvCheckError(ValueError):
    """An observation, reward or action that must not reach training (see ``CheckedEnv``).

    Attributes:
        env_name: The env id (Gymnasium envs) or class name.
        role: The role whose observation or action is at fault.
        episode_step: Interactions applied since the last ``reset()``. An observation at step
            ``k`` is what the env showed after ``k`` interactions; a rejected action at step
            ``k`` would have been interaction ``k + 1``.
        total_steps: Interactions applied since the env was created, over all episodes.
        problem: What is wrong, in words.
        value: The offending observation, reward or action.
    """

    def __init__(
        self,
        env_name: str,
        role: str,
        episode_step: int,
        total_steps: int,
        problem: str,
        value: Any,
    ) -> None:
        self.env_name = env_name
        self.role = role
        self.episode_step = episode_step
        self.total_steps = total_steps
        self.problem = problem
        self.value = value
        super().__init__(
            f"{env_name}, role {role!r}, episode step {episode_step} "
            f"(total steps {total_steps}): {problem}; got {describe_value(value)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.env_name, self.role, self.episode_step, self.total_steps)
        return (type(self), (*fields, self.problem, self.value))


def describe_value(value: Any) -> str:
    """A short one-line rendering of an observation or action, with its type, shape and dtype."""
    if isinstance(value, np.ndarray | np.generic):
        text = np.array2string(np.asarray(value), threshold=16, edgeitems=3, max_line_width=10**6)
        return f"{text} ({type(value).__name__}, shape {np.shape(value)}, {value.dtype})"
    return f"{value!r} ({type(value).__name__})"


def unknown_role_error(env_name: str, role: str, roles: Collection[str]) -> ValueError:
    """The error for a role the env does not have (returned, for the caller to raise)."""
    return ValueError(f"{env_name} has no role {role!r}; its roles are {tuple(roles)}")


def check_action_roles(
    env_name: str,
    actions: Mapping[str, Any],
    acting_roles: Collection[str],
    *,
    roles: Collection[str] | None = None,
    done_roles: Collection[str] = (),
    episode_step: int | None = None,
) -> None:
    """Raise unless ``actions`` holds exactly one action per acting role.

    Args:
        env_name: How the message names the env.
        actions: What the caller passed to ``interact``.
        acting_roles: The roles that must act now.
        roles: All the env's roles; an action for any other is reported as an unknown role.
        done_roles: Roles whose episode ended (terminated or truncated), reported as such.
        episode_step: Interactions applied since ``reset()``, named in the message.

    Raises:
        ValueError: An unknown role, a role that is done, a role that acted out of turn, or an
            acting role without an action.
    """
    given, expected = set(actions), set(acting_roles)
    if given == expected:
        return
    where = env_name if episode_step is None else f"{env_name}, episode step {episode_step}"
    needs = (
        f"interact() needs one action for each acting role {sorted(expected)}, "
        f"got actions for {sorted(given)}"
    )
    unknown = sorted(given - set(roles)) if roles is not None else []
    if unknown:
        raise ValueError(
            f"{where}: {unknown[0]!r} is not a role of this env (its roles are "
            f"{tuple(roles or ())}); {needs}"
        )
    extra, missing = sorted(given - expected), sorted(expected - given)
    if extra and extra[0] in done_roles:
        problem = f"role {extra[0]!r} is done (terminated or truncated) and cannot act"
    elif extra:
        problem = f"role {extra[0]!r} acted out of turn"
    else:
        problem = f"acting role {missing[0]!r} has no action"
    raise ValueError(f"{where}: {problem}; {needs}")
