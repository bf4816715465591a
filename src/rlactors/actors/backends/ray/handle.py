"""The Ray backend's side of a ref (:class:`RayHandle`), and how its futures resolve."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from rlactors.actors.backends.ray.packing import _pack, _unpack
from rlactors.actors.dispatch import post_local
from rlactors.actors.errors import (
    ActorDiedError,
    ActorError,
    ActorStoppedError,
    SerializationError,
)
from rlactors.actors.future import Future
from rlactors.actors.ref import ActorRef, HandleState, Op, request_stop
from rlactors.actors.serialization import ErrorReport, describe_unpicklable

if TYPE_CHECKING:
    from rlactors.actors.backends.ray.backend import RayBackend

log = logging.getLogger("rlactors.actors")

#: The host of the Ray actor this process runs (None in a driver program).
_local: dict[str, Any] = {"host_id": None, "host": None}


def _ray_name(host_id: str, incarnation: int) -> str:
    """The Ray actor name of a host's ``incarnation``-th instance (0 first, +1 per restart).

    A new name per restart: Ray keeps a dead actor's name taken for as long as any handle to
    it lives (a node's death left it taken for good while the owner held one).
    """
    return f"{host_id}~{incarnation}"


#: Every live handle of this process, by actor id: a ref that comes back here (in a message or
#: an answer) finds its handle again, with its supervision and restart state. Weak, so a
#: handle goes once nothing holds a ref to its actor (this dict once only grew).
_handles: weakref.WeakValueDictionary[str, RayHandle] = weakref.WeakValueDictionary()


class RayHandle(HandleState):
    """The Ray backend's side of an ActorRef.

    Args:
        ray_actor: The Ray actor handle of the host (None until spawned).
        host_id: The root actor's id, which names the host's Ray actors (:func:`_ray_name`).
        actor_id: This actor's id (== ``host_id`` for a root actor).
        name: The actor's name, for messages.
        receives: A receive-loop actor.
        methods: Public method names (None: unknown).
        owned: This process supervises the actor (and swaps in a restarted Ray actor itself).
        incarnation: Which instance of the host ``ray_actor`` is (0 first, +1 per restart).
    """

    def __init__(
        self,
        ray_actor: Any,
        host_id: str,
        actor_id: str,
        name: str,
        receives: bool,
        methods: frozenset[str] | None,
        owned: bool = False,
        incarnation: int = 0,
    ) -> None:
        super().__init__(actor_id, name, receives, methods)
        self.ray_actor = ray_actor
        self.incarnation = incarnation
        self.host_id = host_id
        self.owned = owned
        #: A message found the Ray actor dead: look the host up by name before the next one.
        self.stale = False
        self._last_tell: Any = None  # non-owned handles: a tell's ref, to notice a death
        _handles[actor_id] = self

    def send(self, op: Op, payload: Any, want_reply: bool, label: str) -> Future[Any] | None:
        if not self.ready.is_set():
            self.ready.wait(120.0)  # the owner is restarting the actor
        if self.error is not None:
            raise type(self.error)(f"{label}: {self.error}")
        host = _local["host"]
        if host is not None and _local["host_id"] == self.host_id:
            return post_local(host, self.actor_id, op, payload, want_reply, label)
        if not self.owned:
            self._check_last_tell()
        if self.stale:
            self.refresh()
        actor = self.ray_actor
        if actor is None:  # a restart failed: error is set, or the wait above timed out
            raise ActorDiedError(f"{label}: actor {self.name} is being restarted")
        # One argument: Ray serializes each argument apart (four cost ~130 us more per call).
        message = _pack((self.actor_id, int(op), payload, label))
        try:
            # Ray runs one caller's tasks on a threaded actor in the order they were sent.
            if not want_reply:
                ref = actor.tell.remote(message)
                if not self.owned:
                    self._last_tell = ref
                return None
            ref = actor.envelope.remote(message)
        except TypeError as exc:  # Ray's "Could not serialize the argument ..."
            if op == Op.CALL:
                _, args, kwargs = payload
                raise SerializationError(describe_unpicklable(label, args, kwargs)) from exc
            raise SerializationError(f"{label}: the message cannot be serialized") from exc
        fut: Future[Any] = Future(_WAITER, label)
        fut._tag = (ref, self, actor)
        return fut

    def _check_last_tell(self) -> None:
        # Tells have no future to fail: look (without waiting) whether the last one found
        # the actor dead, so that a restarted actor is looked up again.
        ref = self._last_tell
        if ref is None:
            return
        ready, _ = ray.wait([ref], timeout=0)
        if ready:
            self._last_tell = None
            try:
                ray.get(ref, timeout=0)
            except RayActorError:
                self.stale = True
            except Exception:
                log.debug("%s: a tell failed", self.name, exc_info=True)

    def refresh(self) -> None:
        """Find the host again by its Ray name, after its Ray actor was found dead.

        The owner swaps a restarted actor in itself; any other process holding this ref looks
        up the latest incarnation. Until there is one, messages keep failing with
        ``ActorDiedError``.
        """
        self.stale = False
        if self.owned:
            return
        while True:  # incarnations are numbered in order: stop at the first that is not there
            try:
                actor = ray.get_actor(_ray_name(self.host_id, self.incarnation + 1))
            except ValueError:
                return
            self.ray_actor, self.incarnation = actor, self.incarnation + 1

    def stop(self, timeout: float) -> None:
        if self.error is not None:
            return
        request_stop(self, timeout)
        for backend in list(_backends):
            backend.forget(self)
        self.error = ActorStoppedError(f"actor {self.name} was stopped")

    def reduce(self) -> tuple[Any, ...]:
        state = (self.ray_actor, self.host_id, self.actor_id, self.name, self.receives)
        return (_rebuild, (*state, self.methods, self.incarnation))


def _rebuild(
    ray_actor: Any,
    host_id: str,
    actor_id: str,
    name: str,
    receives: bool,
    methods: frozenset[str] | None,
    incarnation: int,
) -> ActorRef[Any]:
    handle = _handles.get(actor_id)
    if handle is None:
        handle = RayHandle(
            ray_actor, host_id, actor_id, name, receives, methods, incarnation=incarnation
        )
    elif incarnation > handle.incarnation and not handle.owned:
        handle.ray_actor, handle.incarnation = ray_actor, incarnation  # it was restarted
    return ActorRef(handle)


class _RayWaiter:
    """Resolves futures of Ray tasks in the waiting thread (``ray.get`` / ``ray.wait``)."""

    runs_actors = False

    def wait(self, futures: Sequence[Future[Any]], deadline: float | None) -> None:
        pending = {f._tag[0]: f for f in futures if not f.done() and f._tag is not None}
        if not pending:
            time.sleep(0.001)
            return
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if len(pending) == 1:  # one call into Ray instead of a wait and a get
            ((ref, fut),) = pending.items()
            _resolve(fut, ref, timeout)
            return
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
        for ref in ready:
            _resolve(pending[ref], ref, 0)


_poll_lock = threading.Lock()


def _resolve(fut: Future[Any], ref: Any, timeout: float | None) -> None:
    try:
        ok, value = _unpack(ray.get(ref, timeout=timeout))
    except GetTimeoutError:
        return
    except RayActorError as exc:
        fut._tag[1].stale = True
        fut.set_exception(ActorDiedError(f"{fut.label}: its actor died ({exc.__class__.__name__})"))
        return
    except RayTaskError as exc:
        # The host catches what the actor's code raises; what reaches here is Ray failing to
        # return the answer, in practice because it does not serialize.
        cause = exc.cause if isinstance(exc.cause, Exception) else exc
        error: Exception = ActorError(f"{fut.label}: {cause}")
        if isinstance(cause, TypeError) and "pickle" in str(cause):
            error = SerializationError(f"{fut.label}: the answer cannot be serialized: {cause}")
        fut.set_exception(error)
        return
    except Exception as exc:  # Ray lost the answer, or this process cannot unpickle it
        fut.set_exception(ActorError(f"{fut.label}: the answer did not arrive: {exc!r}"))
        return
    if ok is None:  # the answer comes later: long-poll the host for it
        with _poll_lock:  # two threads waiting on one future poll once
            if fut._tag[0] is ref:
                _, handle, actor = fut._tag
                fut._tag = (actor.reply.remote(value), handle, actor)
    elif ok:
        fut.set_result(value)
    else:
        fut.set_exception(value.to_exception() if isinstance(value, ErrorReport) else value)


_WAITER = _RayWaiter()

_backends: list[RayBackend] = []
