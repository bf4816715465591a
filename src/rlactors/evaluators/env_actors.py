"""Env actors: an evaluator's envs, each an actor (the seed's ``@wrap_actor ExampleEnv(configs)``).

By default an evaluator's envs are plain objects in its process. With ``env_actors`` set, each
env lives in an actor of its own and the evaluator holds an :class:`EnvActor`, an
:class:`~rlactors.core.Env` that forwards to it, inside its usual
:class:`~rlactors.envs.EnvBatch`:

* ``"colocated"``: the env actors share the evaluator's process (the seed's default: "in the
  same processor"); messages are direct calls, no copies.
* ``"process"``: each env actor has a process of its own (a Ray actor on the Ray backend, which
  may be on another node): for slow simulators, which then step in parallel, since the batch
  sends every env its action before it waits for any; and for crash-prone ones, whose crash
  takes down their own process, not the evaluator. (A colocated env runs in the evaluator's
  own thread: one that hangs hangs the evaluator, and no timeout can end it.)

An env actor that dies, or does not answer a step within ``step_timeout_s`` (it hangs), is a
crash like an env's exception: the batch kills it, starts a fresh one, drops the episode it was
running (counted in ``env_crashes``) and goes on, within the run's env crash policy. An error
of the env's own contract (:class:`~rlactors.envs.errors.EnvCheckError`: a bad observation or
action) ends the run, as it does for a plain env.

Usage (the evaluators do this from their config's ``env_actors``)::

    batch = EnvBatch([EnvActor(spec, "process") for _ in range(4)],
                     rebuild=lambda: EnvActor(spec, "process"))
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from rlactors.actors import (
    ActorOptions,
    ActorRef,
    Future,
    SpawnRequest,
    kill,
    spawn_many,
    spawn_with,
    wait_any,
)
from rlactors.core import Env, Observation
from rlactors.envs import EnvSpec
from rlactors.evaluators.config import ENV_ACTOR_MODES

log = logging.getLogger(__name__)

_names = itertools.count()


#: Seconds an observe waits at least, past its step's timeout, to read an answer already sent.
READ_GRACE_S = 0.05


class EnvHost:
    """The env actor itself: one env, built inside the actor from its spec.

    Args:
        spec: The env to build.
        check: Validate every step (``CheckedEnv``).
        mask_key: The action mask's key in Dict observations.
    """

    def __init__(self, spec: EnvSpec, check: bool, mask_key: str) -> None:
        self.env = spec.make(check=check, mask_key=mask_key)

    def describe(
        self,
    ) -> tuple[tuple[str, ...], dict[str, gym.Space[Any]], dict[str, gym.Space[Any]]]:
        """``(roles, {role: observation space}, {role: action space})``."""
        roles = self.env.roles
        return (
            roles,
            {r: self.env.observation_space(r) for r in roles},
            {r: self.env.action_space(r) for r in roles},
        )

    def reset(self, seed: int | None, role: str) -> Observation:
        """Reset, then ``role``'s first observation (one message, not two)."""
        self.env.reset(seed)
        return self.env.observe(role)

    def step(self, actions: Mapping[str, Any], role: str) -> Observation:
        """Interact, then ``role``'s observation (one message, not two)."""
        self.env.interact(actions)
        return self.env.observe(role)

    def close(self) -> None:
        """Close the env."""
        self.env.close()

    def on_stop(self) -> None:
        """When the actor is stopped: close the env (a simulator may hold resources)."""
        self.env.close()


class EnvActor(Env):
    """An :class:`~rlactors.core.Env` whose env runs in an actor (module docstring).

    ``interact`` sends the step and returns at once; ``observe`` waits for its answer (at most
    ``step_timeout_s``), so a batch that interacts with every env before observing any steps
    them all at the same time.

    Args:
        spec: The env to build inside the actor.
        mode: ``"colocated"`` or ``"process"`` (see the module docstring).
        check: Validate every step inside the actor (``CheckedEnv``).
        mask_key: The action mask's key in Dict observations.
        step_timeout_s: Seconds a step (or reset) may take before the env actor counts as
            hung: it is killed and the wait raises ``TimeoutError``.
        ref: An env actor spawned already (by :meth:`many`) to wrap, instead of spawning one.

    Raises:
        ValueError: ``mode`` is not ``colocated`` or ``process``.
        ActorSpawnError: The env cannot be built (its error, from inside the actor).
    """

    def __init__(
        self,
        spec: EnvSpec,
        mode: str = "process",
        *,
        check: bool = True,
        mask_key: str = "action_mask",
        step_timeout_s: float = 60.0,
        ref: ActorRef[EnvHost] | None = None,
    ) -> None:
        if mode not in ENV_ACTOR_MODES[1:]:
            raise ValueError(f"EnvActor: mode must be one of {ENV_ACTOR_MODES[1:]}, got {mode!r}")
        self.spec = spec
        self.step_timeout_s = step_timeout_s
        self.ref: ActorRef[EnvHost] = (
            ref
            if ref is not None
            else spawn_with(_options(spec, mode), EnvHost, spec, check, mask_key)
        )
        roles, observation_spaces, action_spaces = self._wait(self.ref.ask(EnvHost.describe))
        self._roles: tuple[str, ...] = roles
        self._observation_spaces: dict[str, gym.Space[Any]] = observation_spaces
        self._action_spaces: dict[str, gym.Space[Any]] = action_spaces
        self._pending: Future[Observation] | None = None
        self._sent_at = 0.0  # time.monotonic() when the pending step was sent
        self._last: Observation | None = None
        self._hung = False

    @classmethod
    def many(
        cls,
        spec: EnvSpec,
        n: int,
        mode: str = "process",
        *,
        check: bool = True,
        mask_key: str = "action_mask",
        step_timeout_s: float = 60.0,
    ) -> list[EnvActor]:
        """``n`` env actors, their processes started at once (:func:`spawn_many`), not one
        after the other: each process start imports Python, numpy and the env (seconds)."""
        refs: list[ActorRef[EnvHost]] = spawn_many(
            SpawnRequest(EnvHost, (spec, check, mask_key), {}, _options(spec, mode))
            for _ in range(n)
        )
        try:
            return [
                cls(
                    spec,
                    mode,
                    check=check,
                    mask_key=mask_key,
                    step_timeout_s=step_timeout_s,
                    ref=ref,
                )
                for ref in refs
            ]
        except BaseException:
            for ref in refs:  # none left behind
                _kill_quietly(ref)
            raise

    @property
    def roles(self) -> tuple[str, ...]:
        return self._roles

    def observation_space(self, role: str) -> gym.Space[Any]:
        return self._observation_spaces[role]

    def action_space(self, role: str) -> gym.Space[Any]:
        return self._action_spaces[role]

    def reset(self, seed: int | None = None) -> None:
        self._pending = None
        self._last = self._wait(self.ref.ask(EnvHost.reset, seed, self._roles[0]))

    def interact(self, actions: Mapping[str, Any]) -> None:
        self._last = None
        self._sent_at = time.monotonic()
        self._pending = self.ref.ask(EnvHost.step, dict(actions), self._roles[0])

    def observe(self, role: str) -> Observation:
        if role != self._roles[0]:
            raise ValueError(f"EnvActor observes role {self._roles[0]!r} only, not {role!r}")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            # The step's time runs from when it was sent, not from this call: a batch that
            # observes K hung env actors one after the other waits one timeout, not K. The
            # grace lets an answer that arrived meanwhile be read (a wait of 0 reads nothing).
            left = self._sent_at + self.step_timeout_s - time.monotonic()
            self._last = self._wait(pending, max(READ_GRACE_S, left))
        if self._last is None:
            raise RuntimeError(f"EnvActor {self.ref.name}: observe() before reset()")
        return self._last

    @property
    def step_deadline(self) -> float | None:
        """``time.monotonic()`` past which the step in flight counts as hung; None when no
        step is in flight (or its answer is in)."""
        if self._pending is None or self._pending.done():
            return None
        return self._sent_at + self.step_timeout_s

    def close(self) -> None:
        """Stop the env actor (kill it if it does not stop: it may be hung)."""
        self._pending = None
        if self._hung:  # it would not answer a stop either
            _kill_quietly(self.ref)
            return
        try:
            self.ref.stop(timeout=5.0)  # its on_stop closes the env
        except Exception as exc:  # dead or hung already: make sure it is gone
            log.debug("stopping %s failed (%s); killing it", self.ref.name, exc)
            _kill_quietly(self.ref)

    def _wait(self, future: Future[Any], timeout_s: float | None = None) -> Any:
        """The answer, within ``timeout_s`` (default ``step_timeout_s``).

        Raises:
            TimeoutError: No answer in time; the env actor is marked hung (killed on close).
        """
        try:
            return future.result(self.step_timeout_s if timeout_s is None else timeout_s)
        except TimeoutError:
            self._hung = True
            raise TimeoutError(
                f"env actor {self.ref.name} did not answer within {self.step_timeout_s} s "
                "(env_step_timeout_s): treated as hung"
            ) from None

    def __repr__(self) -> str:
        return f"EnvActor({self.spec.name})"


def answered(envs: Sequence[Env], stepping: list[int]) -> list[int]:
    """Of the envs ``envs[i]``, ``i`` in ``stepping`` (each sent a step), those that answered.

    :class:`~rlactors.envs.EnvBatch`'s ``ready`` for env actors: it returns the ones whose
    answer is in, waiting for the first if none is. When none is, it waits at most until the
    earliest step timeout; then the envs whose time ran out count as answered, and their
    ``observe`` raises the timeout (a hung env, replaced like a crashed one). A hung env is
    thus caught once no other env has answered, at the latest when it is the last one in
    flight. An env that is not an env actor (or has no step in flight) counts as answered at
    once.
    """
    waiting: dict[int, tuple[Future[Observation], float]] = {}
    ready: list[int] = []
    for i in stepping:
        env = envs[i]
        deadline = env.step_deadline if isinstance(env, EnvActor) else None
        if deadline is None:
            ready.append(i)
        else:
            assert isinstance(env, EnvActor) and env._pending is not None
            waiting[i] = (env._pending, deadline)
    if ready or not waiting:
        return ready
    first_deadline = min(deadline for _, deadline in waiting.values())
    wait_any(
        [future for future, _ in waiting.values()],
        timeout=max(0.0, first_deadline - time.monotonic()),
    )
    now = time.monotonic()
    return [i for i, (future, deadline) in waiting.items() if future.done() or deadline <= now]


def _kill_quietly(ref: ActorRef[Any]) -> None:
    try:
        kill(ref)
    except Exception as exc:  # gone already
        log.debug("killing %s failed: %s", ref.name, exc)


def _options(spec: EnvSpec, mode: str) -> ActorOptions:
    return ActorOptions(name=f"env-{spec.name}-{next(_names)}", colocate=mode == "colocated")
