"""The Ray actor class that hosts one rlactors actor and everything colocated with it."""

from __future__ import annotations

import itertools
import pickle
import threading
from typing import Any

import ray

from rlactors.actors.backends.ray.handle import RayHandle, _local
from rlactors.actors.backends.ray.packing import _pack, _unpack
from rlactors.actors.dispatch import Envelope, Host, IdleTimer, LocalActor
from rlactors.actors.errors import ActorDiedError, ActorSpawnError
from rlactors.actors.ref import ActorSpec, Op, public_methods
from rlactors.actors.serialization import ErrorReport

#: What a lifeline answers when its actor was stopped (it fails when the actor dies).
_STOPPED = "stopped"

#: Seconds one poll for a deferred answer blocks in the actor before the caller asks again.
_LONG_POLL_S = 10.0

#: Threads of a host's ``aux`` concurrency group: its lifeline plus deferred answers waited
#: on at once (more wait their turn, a long-poll at a time).
_AUX_THREADS = 16


class _Answer:
    """The answer slot of one ask: filled by the actor's reply, now or from a later message."""

    __slots__ = ("event", "value")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: tuple[bool, Any] | None = None

    def __call__(self, ok: bool, value: Any) -> None:
        if self.value is None:
            self.value = (ok, value)
            self.event.set()


class _RayHost:
    """A Ray actor hosting one rlactors actor and everything colocated with it.

    A plain (threaded) Ray actor: its default concurrency group has one thread, so Ray runs
    the messages of each caller one at a time, in the order they were sent (an async actor
    would not keep that order, and costs ~50% more per call). The ``aux`` group's threads
    block on what may take long: the lifeline, and answers a receive-loop actor gives from a
    later message.
    """

    def __init__(
        self, spec_bytes: bytes, actor_id: str, incarnation: int, backend_options: dict[str, Any]
    ) -> None:
        from rlactors.actors.backends.process_worker import limit_threads

        # Imported here: the backend module imports this one (for the host class it spawns).
        from rlactors.actors.backends.ray.backend import RayBackend

        limit_threads(backend_options["torch_threads"])
        spec: ActorSpec = pickle.loads(spec_bytes)
        self.actor_id = actor_id
        self.incarnation = incarnation
        self.backend = RayBackend(_connect=False, **backend_options)
        self.host = Host(self.backend, self._make_handle)
        _local["host_id"], _local["host"] = actor_id, self.host
        self.handle = ray.get_runtime_context().current_actor
        self._stopped = threading.Event()
        self._deferred: dict[int, _Answer] = {}  # token -> an answer still to come
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()
        # The host runs on Ray's one default thread, and on an idle timer's (see _idle).
        self._host_lock = threading.RLock()
        self._idle_timer = IdleTimer(self._host_lock, self._on_idle_timer)
        try:
            self.host.create(spec, actor_id, host_id=0)
            self.error: ErrorReport | None = None
        except ActorSpawnError as exc:
            self.error = ErrorReport(exc.__cause__ or exc, spec.name, "in its constructor")
        limit_threads(backend_options["torch_threads"])  # the constructor may have imported torch

    def _make_handle(self, actor: LocalActor) -> RayHandle:
        spec = actor.spec
        return RayHandle(
            self.handle,
            self.actor_id,
            actor.actor_id,
            spec.name,
            spec.receives,
            public_methods(spec.cls),
            incarnation=self.incarnation,
        )

    def ready(self) -> ErrorReport | None:
        """None once constructed, else the constructor's error."""
        return self.error

    def _run(self, env: Envelope) -> None:
        with self._host_lock:
            self.host.post(env)
            self.host.run_pending()
            self._idle()
            if self.actor_id not in self.host.actors:
                self._stopped.set()

    def _idle(self) -> None:
        """Give idle actors their turn (caller holds ``_host_lock``). Ray does not say
        whether more calls are queued, so an actor that keeps answers (a policy server) is
        told more may come, and asks for a timer to bound its wait."""
        host = self.host
        if not host.idlers:
            return
        delay = host.run_idle(can_wait=True)
        if host.queue:
            host.run_pending()
        if delay is not None:
            self._idle_timer.call_in(delay)

    def _on_idle_timer(self) -> None:
        if not self._stopped.is_set():
            self._idle()

    def envelope(self, message: Any) -> Any:
        """Deliver ``(actor_id, op, payload, label)`` (packed); ``(ok, value)``, or
        ``(None, token)`` when the answer comes later (a receive-loop actor kept its
        ReplyTo): the caller then asks :meth:`reply`. The answer is packed too."""
        actor_id, op, payload, label = _unpack(message)
        answer = _Answer()
        self._run(Envelope(actor_id, Op(op), payload, answer, label))
        if answer.value is not None:
            return _pack(answer.value)
        token = next(self._tokens)
        with self._lock:
            self._deferred[token] = answer
        return None, token

    def tell(self, message: Any) -> None:
        """Deliver ``(actor_id, op, payload, label)`` (packed); nobody waits for an answer."""
        actor_id, op, payload, label = _unpack(message)
        self._run(Envelope(actor_id, Op(op), payload, None, label))

    @ray.method(concurrency_group="aux")
    def reply(self, token: int) -> Any:
        """The answer ``envelope`` deferred; ``(None, token)`` again after a long-poll of
        ``_LONG_POLL_S`` seconds, so a caller that gave up holds no thread for long."""
        with self._lock:
            answer = self._deferred.get(token)
        if answer is None:
            return False, ActorDiedError("the answer was lost (its actor was restarted?)")
        if not answer.event.wait(_LONG_POLL_S):
            return None, token
        with self._lock:
            self._deferred.pop(token, None)
        return _pack(answer.value)

    @ray.method(concurrency_group="aux")
    def lifeline(self) -> str:
        """Returns once the root actor is stopped; fails when this Ray actor dies."""
        self._stopped.wait()
        return _STOPPED

    def node_id(self) -> str:
        """The Ray node this actor runs on (hex)."""
        return str(ray.get_runtime_context().get_node_id())


_host_classes: list[Any] = []


def _host_class() -> Any:
    """``_RayHost`` as a Ray actor class (made once per process)."""
    if not _host_classes:
        # Ray's stubs omit concurrency_groups (which .options() does not take).
        decorate: Any = ray.remote
        _host_classes.append(decorate(concurrency_groups={"aux": _AUX_THREADS})(_RayHost))
    return _host_classes[0]
