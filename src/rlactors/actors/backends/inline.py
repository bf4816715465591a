"""The inline backend: every actor in the caller's process, messages run in a deterministic order.

For tests, for debugging with pdb, and for exact reproduction of a run. Each top-level spawn is
treated as a process of its own (a "host"): messages between hosts are copied through pickle, so
what would fail to cross a process boundary fails here too, while an actor spawned inside another
one is colocated with it and called directly, as on the process backend. :func:`kill` simulates
the death of a host, so supervision behaves as it does elsewhere.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Any

from rlactors.actors.dispatch import Envelope, Host, LocalActor, current_actor, resolve_future
from rlactors.actors.errors import ActorDiedError, ActorStoppedError, RestartLimitError
from rlactors.actors.future import Future
from rlactors.actors.ref import ActorRef, ActorSpec, Op, public_methods
from rlactors.actors.serialization import check_serializable, copy_spec, roundtrip

log = logging.getLogger("rlactors.actors")

_worlds: weakref.WeakValueDictionary[int, InlineBackend] = weakref.WeakValueDictionary()
_world_ids = itertools.count(1)


class InlineHandle:
    """The inline backend's side of an ActorRef."""

    def __init__(self, backend: InlineBackend, actor: LocalActor) -> None:
        self.backend = backend
        self.actor_id = actor.actor_id
        self.name = actor.spec.name
        self.receives = actor.spec.receives
        self.methods = public_methods(actor.spec.cls)
        self.host_id = actor.host_id
        self.error: ActorDiedError | None = None

    def send(self, op: Op, payload: Any, want_reply: bool, label: str) -> Future[Any] | None:
        if self.error is not None:
            raise type(self.error)(f"{label}: {self.error}")
        sender = current_actor()
        # Messages between hosts are copied as if they crossed a process boundary.
        copy = (0 if sender is None else sender.host_id) != self.host_id
        if copy and op == Op.CALL:
            _, args, kwargs = payload
            check_serializable(label, args, kwargs)
            payload = roundtrip(payload, label)
        elif copy and op == Op.MSG:
            payload = roundtrip(payload, label)
        fut: Future[Any] | None = None
        reply = None
        if want_reply:
            fut = Future(self.backend.host, label)
            reply = resolve_future(fut)
            if copy:
                reply = _copying(reply, label)
        self.backend.host.post(Envelope(self.actor_id, op, payload, reply, label))
        return fut

    def stop(self, timeout: float) -> None:
        if self.error is not None:
            return
        fut = self.send(Op.STOP, None, True, f"{self.name}.stop")
        assert fut is not None
        with contextlib.suppress(ActorDiedError):
            fut.result(timeout)
        self.error = ActorStoppedError(f"actor {self.name} was stopped")
        self.backend.roots.pop(self.actor_id, None)

    def reduce(self) -> tuple[Any, ...]:
        return (_rebuild, (self.backend.world_id, self.actor_id))


def _copying(reply: Any, label: str) -> Any:
    def copied(ok: bool, value: Any) -> None:
        if ok:
            try:
                value = roundtrip(value, f"{label} returned a value that")
            except Exception as exc:
                ok, value = False, exc
        reply(ok, value)

    return copied


def _rebuild(world_id: int, actor_id: str) -> ActorRef[Any]:
    world = _worlds.get(world_id)
    if world is None or actor_id not in world.handles:
        raise ActorDiedError(f"inline actor {actor_id} is gone (its runtime was shut down)")
    return ActorRef(world.handles[actor_id])


class _Root:
    """A top-level actor (a host of its own) and its supervision record."""

    def __init__(self, spec: ActorSpec, actor_id: str, host_id: int) -> None:
        self.spec = spec
        self.actor_id = actor_id
        self.host_id = host_id
        self.restarts: deque[float] = deque()


class InlineBackend:
    """All actors in this process; see the module docstring."""

    name = "inline"

    def __init__(self) -> None:
        self.world_id = next(_world_ids)
        _worlds[self.world_id] = self
        self.host = Host(self, self._make_handle, sole_source=True)
        self.handles: dict[str, InlineHandle] = {}
        self.roots: dict[str, _Root] = {}
        self._ids = itertools.count(1)
        self._host_ids = itertools.count(1)

    def _make_handle(self, actor: LocalActor) -> InlineHandle:
        handle = self.handles.get(actor.actor_id)
        if handle is None:
            handle = self.handles[actor.actor_id] = InlineHandle(self, actor)
        return handle

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        actor_id = f"inline-{next(self._ids)}"
        root = _Root(spec, actor_id, next(self._host_ids))
        actor = self.host.create(copy_spec(spec), actor_id, root.host_id)
        self.roots[actor_id] = root
        assert actor.ref is not None
        return actor.ref

    def spawn_many(
        self, specs: Sequence[ActorSpec], owner: LocalActor | None
    ) -> list[ActorRef[Any]]:
        """Build them in turn (one process: nothing to overlap); if one fails, the ones
        built before it are stopped and its ``ActorSpawnError`` is raised."""
        refs: list[ActorRef[Any]] = []
        try:
            for spec in specs:
                refs.append(self.spawn(spec, owner))
        except BaseException:
            for ref in refs:
                ref.stop()
            raise
        return refs

    def spawn_local(self, spec: ActorSpec, owner: LocalActor) -> ActorRef[Any]:
        actor = self.host.create(spec, f"inline-{next(self._ids)}", owner.host_id)
        owner.children.append(actor.actor_id)
        assert actor.ref is not None
        return actor.ref

    def kill(self, ref: ActorRef[Any]) -> None:
        root = self.roots.get(ref.actor_id)
        if root is None:
            raise ValueError(
                f"kill({ref.name}): only an actor with a host of its own can be killed"
            )
        actor = self.host.actors.get(root.actor_id)
        reason = f"actor {root.spec.name} died (killed)"
        if actor is not None:
            self.host.remove(actor, ActorDiedError(reason))
        self._supervise(root, reason)

    def _supervise(self, root: _Root, reason: str) -> None:
        handle = self.handles[root.actor_id]
        policy = root.spec.options.restart
        if policy.mode != "on_failure":
            handle.error = ActorDiedError(reason)
            return
        now = time.monotonic()
        while root.restarts and now - root.restarts[0] > policy.within_s:
            root.restarts.popleft()
        if len(root.restarts) >= policy.max_restarts:
            handle.error = RestartLimitError(
                f"{reason}; it was restarted {len(root.restarts)} times within "
                f"{policy.within_s} s, the limit: giving up"
            )
            return
        root.restarts.append(now)
        self.host.create(copy_spec(root.spec), root.actor_id, root.host_id)
        log.warning("%s; restarted it (restart %d)", reason, len(root.restarts))
        if root.spec.options.on_restart is not None:
            root.spec.options.on_restart(ActorRef(handle))

    def shutdown(self) -> None:
        for actor_id in list(self.roots):
            handle = self.handles.get(actor_id)
            if handle is not None and handle.error is None:
                try:
                    handle.stop(timeout=10.0)
                except Exception:
                    log.exception("stopping %s failed", handle.name)
        self.roots.clear()
