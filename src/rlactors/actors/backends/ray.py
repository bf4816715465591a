"""The Ray backend: actors as Ray actors, on one machine or a Ray cluster.

The only module that imports ``ray``. Each top-level rlactors actor is one Ray actor (an async
actor class, :class:`_RayHost`) holding a :class:`~rlactors.actors.dispatch.Host`, exactly as
one process-backend worker does: actors spawned inside it are colocated there and called
directly, and messages to any of them travel as Ray actor tasks. Answers come back as Ray
object refs (large arrays through the object store, not through pickled replies), and a future
is resolved by whoever waits on it, through ``ray.wait``.

Where it maps onto Ray, and where it does not:

* Ordering: Ray runs the tasks one caller submits to an actor in submission order; handlers
  never await, so they also run one at a time, in that order.
* Supervision is rlactors' own, not Ray's ``max_restarts``: Ray restarts an actor without
  telling its owner, and the contract needs the owner's ``on_restart`` hook (to re-send
  weights). Each host runs a never-ending ``lifeline`` task; when the actor dies that task
  fails at once, the owner's monitor thread sees it, fails nothing more (the in-flight tasks
  fail by themselves, with ``ActorDiedError``), and rebuilds the actor from its spec.
* Colocation across hosts: an actor spawned with ``colocate=False`` from inside another is
  placed on the same node (a soft node-affinity), since its owner talks to it most.
* Resources: ``ActorOptions.resources`` go to Ray's scheduler (``num_cpus``, ``num_gpus``,
  anything else as custom resources).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rlactors.actors.dispatch import Envelope, Host, LocalActor, post_local
from rlactors.actors.errors import (
    ActorDiedError,
    ActorError,
    ActorSpawnError,
    ActorStoppedError,
    RestartLimitError,
    SerializationError,
)
from rlactors.actors.future import Future
from rlactors.actors.ref import (
    ActorRef,
    ActorSpec,
    HandleState,
    Op,
    public_methods,
    request_stop,
)
from rlactors.actors.serialization import ErrorReport, describe_unpicklable, dumps_spec

log = logging.getLogger("rlactors.actors")

_ids = itertools.count(1)

#: The host of the Ray actor this process runs (None in a driver program).
_local: dict[str, Any] = {"host_id": None, "host": None}


class _RayHost:
    """A Ray actor hosting one rlactors actor and everything colocated with it."""

    def __init__(self, spec_bytes: bytes, actor_id: str, backend_options: dict[str, Any]) -> None:
        import pickle

        spec: ActorSpec = pickle.loads(spec_bytes)
        self.actor_id = actor_id
        self.backend = RayBackend(_connect=False, **backend_options)
        self.host = Host(self.backend, self._make_handle)
        _local["host_id"], _local["host"] = actor_id, self.host
        self.handle = ray.get_runtime_context().current_actor
        self._next: dict[str, int] = {}  # sender -> the sequence number it sends next
        self._waiting: dict[tuple[str, int], asyncio.Event] = {}  # messages that came early
        try:
            self.host.create(spec, actor_id, host_id=0)
            self.error: ErrorReport | None = None
        except ActorSpawnError as exc:
            self.error = ErrorReport(exc.__cause__ or exc, spec.name, "in its constructor")

    def _make_handle(self, actor: LocalActor) -> RayHandle:
        spec = actor.spec
        return RayHandle(
            self.handle,
            self.actor_id,
            actor.actor_id,
            spec.name,
            spec.receives,
            public_methods(spec.cls),
        )

    def ready(self) -> ErrorReport | None:
        """None once constructed, else the constructor's error."""
        return self.error

    async def lifeline(self) -> None:
        """Never returns: it fails exactly when this actor dies (the owner watches it)."""
        await asyncio.Event().wait()

    async def _my_turn(self, sender: str, seq: int) -> None:
        # Ray does not keep an async actor's tasks in order: messages carry the sender's
        # sequence number, and one that overtook an earlier one waits for it here.
        event = asyncio.Event()
        self._waiting[(sender, seq)] = event
        await event.wait()

    def _done_turn(self, sender: str, seq: int) -> None:
        self._next[sender] = seq + 1
        event = self._waiting.pop((sender, seq + 1), None)
        if event is not None:
            event.set()

    async def envelope(
        self, sender: str, seq: int, actor_id: str, op: Op, payload: Any, label: str
    ) -> Any:
        """Deliver message ``seq`` of ``sender``; returns ``(ok, value)``."""
        if self._next.get(sender, 0) != seq:
            await self._my_turn(sender, seq)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[bool, Any]] = loop.create_future()

        def reply(ok: bool, value: Any) -> None:
            if not answer.done():
                answer.set_result((ok, value))

        self.host.post(Envelope(actor_id, op, payload, reply, label))
        self.host.run_pending()
        self._done_turn(sender, seq)
        # A receive-loop actor may keep its ReplyTo and answer from a later message.
        return await answer

    async def tell(
        self, sender: str, seq: int, actor_id: str, op: Op, payload: Any, label: str
    ) -> None:
        """Deliver message ``seq`` of ``sender``; nobody waits for an answer."""
        if self._next.get(sender, 0) != seq:
            await self._my_turn(sender, seq)
        self.host.post(Envelope(actor_id, op, payload, None, label))
        self.host.run_pending()
        self._done_turn(sender, seq)

    def alive(self) -> bool:
        """True while the root actor lives."""
        return self.actor_id in self.host.actors


class RayHandle(HandleState):
    """The Ray backend's side of an ActorRef."""

    def __init__(
        self,
        ray_actor: Any,
        host_id: str,
        actor_id: str,
        name: str,
        receives: bool,
        methods: frozenset[str] | None,
    ) -> None:
        super().__init__(actor_id, name, receives, methods)
        self.ray_actor = ray_actor
        self.host_id = host_id
        # This handle is one sender: its messages are numbered so the host keeps their order.
        self._sender = f"{os.getpid()}:{id(self):x}:{time.monotonic_ns()}"
        self._seq = 0
        self._seq_actor: Any = ray_actor
        self._seq_lock = threading.Lock()

    def send(self, op: Op, payload: Any, want_reply: bool, label: str) -> Future[Any] | None:
        if not self.ready.is_set():
            self.ready.wait(120.0)
        if self.error is not None:
            raise type(self.error)(f"{label}: {self.error}")
        host = _local["host"]
        if host is not None and _local["host_id"] == self.host_id:
            return post_local(host, self.actor_id, op, payload, want_reply, label)
        try:
            with self._seq_lock:  # numbered and submitted together, so in order
                if self._seq_actor is not self.ray_actor:  # a restarted actor counts anew
                    self._seq_actor, self._seq = self.ray_actor, 0
                seq = self._seq
                if not want_reply:
                    self.ray_actor.tell.remote(self._sender, seq, self.actor_id, op, payload, label)
                    self._seq += 1  # only once sent: a refused message takes no number
                    return None
                fut: Future[Any] = Future(_WAITER, label)
                fut._tag = self.ray_actor.envelope.remote(
                    self._sender, seq, self.actor_id, op, payload, label
                )
                self._seq += 1
        except TypeError as exc:  # Ray's "Could not serialize the argument ..."
            if op == Op.CALL:
                _, args, kwargs = payload
                raise SerializationError(describe_unpicklable(label, args, kwargs)) from exc
            raise SerializationError(f"{label}: the message cannot be serialized") from exc
        return fut

    def stop(self, timeout: float) -> None:
        if self.error is not None:
            return
        request_stop(self, timeout)
        for backend in list(_backends):
            backend.forget(self)
        self.error = ActorStoppedError(f"actor {self.name} was stopped")

    def reduce(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (self.ray_actor, self.host_id, self.actor_id, self.name, self.receives, self.methods),
        )


_handles: dict[str, RayHandle] = {}


def _rebuild(
    ray_actor: Any,
    host_id: str,
    actor_id: str,
    name: str,
    receives: bool,
    methods: frozenset[str] | None,
) -> ActorRef[Any]:
    handle = _handles.get(actor_id)
    if handle is None:
        handle = RayHandle(ray_actor, host_id, actor_id, name, receives, methods)
    return ActorRef(handle)


class _RayWaiter:
    """Resolves futures of Ray tasks with ``ray.wait`` in the waiting thread."""

    runs_actors = False

    def wait(self, futures: Sequence[Future[Any]], deadline: float | None) -> None:
        pending = {f._tag: f for f in futures if not f.done() and f._tag is not None}
        if not pending:
            time.sleep(0.001)
            return
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
        for ref in ready:
            _resolve(pending[ref], ref)


def _resolve(fut: Future[Any], ref: Any) -> None:
    try:
        ok, value = ray.get(ref, timeout=0)
    except RayActorError as exc:
        fut.set_exception(ActorDiedError(f"{fut.label}: its actor died ({exc.__class__.__name__})"))
        return
    except GetTimeoutError:
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
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value.to_exception() if isinstance(value, ErrorReport) else value)


_WAITER = _RayWaiter()
_backends: list[RayBackend] = []


class _Root:
    """A Ray actor this process owns, with its supervision record."""

    def __init__(self, spec: ActorSpec, handle: RayHandle, spec_bytes: bytes) -> None:
        self.spec = spec
        self.handle = handle
        self.spec_bytes = spec_bytes
        self.lifeline: Any = None
        self.restarts: deque[float] = deque()


class RayBackend:
    """Spawns rlactors actors as Ray actors and supervises the ones this process owns.

    Args:
        address: A Ray cluster to join (``"auto"``, ``"ray://host:10001"``...); None starts a
            local Ray instance bound to 127.0.0.1 (Ray has no authentication: keep it private).
        num_cpus: CPUs of a local instance (None: Ray's default, every core).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        spawn_timeout_s: float = 120.0,
        _connect: bool = True,
    ) -> None:
        self.options = {"spawn_timeout_s": spawn_timeout_s}
        self.spawn_timeout_s = spawn_timeout_s
        self.started_ray = False
        if _connect and not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address is None:
                # Like multiprocessing's spawn, actors import what the driver could import.
                path = os.pathsep.join(p for p in sys.path if p)
                kwargs.update(
                    num_cpus=num_cpus,
                    _node_ip_address="127.0.0.1",
                    runtime_env={"env_vars": {"PYTHONPATH": path}},
                )
            ray.init(address=address, **kwargs)
            self.started_ray = True
        self.roots: dict[str, _Root] = {}
        self.lock = threading.RLock()
        self.closed = False
        self._monitor: threading.Thread | None = None
        _backends.append(self)

    def _actor_class(self, spec: ActorSpec, owner: LocalActor | None) -> Any:
        resources = dict(spec.options.resources)
        opts: dict[str, Any] = {
            "num_cpus": resources.pop("num_cpus", 0),
            "num_gpus": resources.pop("num_gpus", 0),
            "max_restarts": 0,  # rlactors supervises (see the module docstring)
            "max_concurrency": 1000,  # async: a kept ReplyTo must not block other messages
        }
        if resources:
            opts["resources"] = resources
        if owner is not None:
            node = ray.get_runtime_context().get_node_id()
            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
        return ray.remote(_RayHost).options(**opts)

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        if self.closed:
            raise ActorSpawnError(f"spawn({spec.name}): the runtime was shut down")
        actor_id = f"ray-{next(_ids)}-{id(self):x}"
        handle = RayHandle(
            None, actor_id, actor_id, spec.name, spec.receives, public_methods(spec.cls)
        )
        root = _Root(spec, handle, dumps_spec(spec))
        self._start(root, owner)
        _handles[actor_id] = handle
        with self.lock:
            self.roots[actor_id] = root
        self._watch()
        return ActorRef(handle)

    def spawn_local(self, spec: ActorSpec, owner: LocalActor) -> ActorRef[Any]:
        actor = owner.host.create(spec, f"ray-{next(_ids)}-{id(self):x}", owner.host_id)
        owner.children.append(actor.actor_id)
        assert actor.ref is not None
        return actor.ref

    def _start(self, root: _Root, owner: LocalActor | None) -> None:
        cls = self._actor_class(root.spec, owner)
        actor = cls.remote(root.spec_bytes, root.handle.actor_id, self.options)
        try:
            error = ray.get(actor.ready.remote(), timeout=self.spawn_timeout_s)
        except RayActorError as exc:
            raise ActorSpawnError(f"actor {root.spec.name}: its Ray actor died: {exc}") from exc
        except GetTimeoutError as exc:
            ray.kill(actor)
            raise ActorSpawnError(
                f"actor {root.spec.name}: not ready within {self.spawn_timeout_s} s"
            ) from exc
        if error is not None:
            ray.kill(actor)
            raise ActorSpawnError(
                f"actor {root.spec.name}: constructor {root.spec.factory_name}(...) raised "
                f"{error.summary}"
            ) from error.to_exception()
        root.handle.ray_actor = actor
        root.lifeline = actor.lifeline.remote()

    # -- supervision -------------------------------------------------------------------------

    def _watch(self) -> None:
        if self._monitor is None:
            self._monitor = threading.Thread(
                target=self._monitor_loop, name="rlactors-ray-monitor", daemon=True
            )
            self._monitor.start()

    def _monitor_loop(self) -> None:
        while not self.closed:
            with self.lock:
                watched = {r.lifeline: r for r in self.roots.values() if r.lifeline is not None}
            if not watched:
                time.sleep(0.05)
                continue
            ready, _ = ray.wait(list(watched), num_returns=1, timeout=0.2)
            for ref in ready:
                try:
                    self._on_death(watched[ref])
                except Exception:
                    log.exception("rlactors: handling the death of a Ray actor failed")

    def _on_death(self, root: _Root) -> None:
        root.lifeline = None
        h = root.handle
        if self.closed or h.error is not None or root.handle.actor_id not in self.roots:
            return
        reason = f"actor {h.name} died (its Ray actor is gone)"
        policy = root.spec.options.restart
        now = time.monotonic()
        while root.restarts and now - root.restarts[0] > policy.within_s:
            root.restarts.popleft()
        if policy.mode != "on_failure":
            h.error = ActorDiedError(reason)
            return
        if len(root.restarts) >= policy.max_restarts:
            h.error = RestartLimitError(
                f"{reason}; it was restarted {len(root.restarts)} times within "
                f"{policy.within_s} s, the limit of its restart policy: giving up"
            )
            return
        root.restarts.append(now)
        h.ready.clear()
        try:
            self._start(root, None)
        except Exception as exc:
            h.error = ActorDiedError(f"{reason}; restarting it failed: {exc}")
            return
        finally:
            h.ready.set()
        log.warning("%s; restarted it (restart %d in the window)", reason, len(root.restarts))
        if root.spec.options.on_restart is not None:
            try:
                root.spec.options.on_restart(ActorRef(h))
            except Exception:
                log.exception("on_restart hook of actor %s raised", h.name)

    def kill(self, ref: ActorRef[Any]) -> None:
        with self.lock:
            root = self.roots.get(ref.actor_id)
        if root is None or root.handle.ray_actor is None:
            raise ValueError(f"kill({ref.name}): not a live Ray actor owned here")
        ray.kill(root.handle.ray_actor, no_restart=True)

    def forget(self, handle: RayHandle) -> None:
        """``handle`` was stopped on purpose: no supervision, and free its Ray actor."""
        with self.lock:
            root = self.roots.pop(handle.actor_id, None)
        if root is not None and root.handle.ray_actor is not None:
            ray.kill(root.handle.ray_actor, no_restart=True)

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self.lock:
            roots = list(self.roots.values())
            self.roots.clear()
        for root in roots:
            root.handle.error = ActorStoppedError(f"actor {root.handle.name} was stopped")
            if root.handle.ray_actor is not None:
                try:
                    ray.kill(root.handle.ray_actor, no_restart=True)
                except Exception:
                    log.debug("killing %s failed", root.handle.name, exc_info=True)
        if self._monitor is not None:
            self._monitor.join(2.0)
        if self in _backends:
            _backends.remove(self)
        if self.started_ray:
            ray.shutdown()
