"""The Ray backend: actors as Ray actors, on one machine or a Ray cluster.

The only module that imports ``ray``. Each top-level rlactors actor is one Ray actor (a
threaded actor class, :class:`_RayHost`) holding a :class:`~rlactors.actors.dispatch.Host`,
exactly as one process-backend worker does: actors spawned inside it are colocated there and
called directly, and messages to any of them travel as Ray actor tasks. A small message goes as
one pickle (bytes, which Ray passes through untouched); one with numpy arrays goes through Ray's
serializer, so large arrays travel through its object store (zero-copy on the same node). A
future is resolved by whoever waits on it, through ``ray.get`` / ``ray.wait``.

Where it maps onto Ray, and where it does not (docs/cluster.md says the same for users):

* Ordering: the host's default concurrency group has one thread, and Ray then runs the tasks
  of each caller in the order they were sent (it would not for an async actor).
* Supervision is rlactors' own, not Ray's ``max_restarts``: Ray restarts an actor without
  telling its owner, and the contract needs the owner's ``on_restart`` hook (to re-send
  weights). Each host runs a ``lifeline`` task that returns when its actor is stopped and
  fails when it dies; the owner's monitor thread watches them and rebuilds a dead actor from
  its spec. A restarted actor keeps its Ray name (its actor id), so refs held by other actors
  find it again (:meth:`RayHandle.refresh`).
* Colocation across hosts: an actor spawned with ``colocate=False`` from inside another is
  placed on the same node (a soft node-affinity), since its owner talks to it most.
* Resources: ``ActorOptions.resources`` go to Ray's scheduler (``num_cpus``, ``num_gpus``,
  anything else as custom resources); ``RayBackend(actor_options=...)`` places the actors of
  code you do not edit (an algorithm's workers) by name.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import ipaddress
import itertools
import logging
import os
import pickle
import sys
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayTaskError
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

#: The host of the Ray actor this process runs (None in a driver program).
_local: dict[str, Any] = {"host_id": None, "host": None}

#: What a lifeline answers when its actor was stopped (it fails when the actor dies).
_STOPPED = "stopped"

#: Seconds an actor may stay unreachable (``ActorUnavailableError``) before its supervisor
#: gives up on it: kills what is left of it and handles it as dead (restart or escalate).
_UNAVAILABLE_LIMIT_S = 10.0
#: Seconds without such a report that end a spell of them (see ``_Root.still_unavailable``).
_UNAVAILABLE_GAP_S = 2.0

#: Arrays from this size on go through Ray's object store instead of inside a message's pickle.
_IN_BAND_MAX_BYTES = 64 * 1024

#: Seconds one poll for a deferred answer blocks in the actor before the caller asks again.
_LONG_POLL_S = 10.0

#: Threads of a host's ``aux`` concurrency group: its lifeline plus deferred answers waited
#: on at once (more wait their turn, a long-poll at a time).
_AUX_THREADS = 16


def _new_id() -> str:
    # Unique across processes and nodes: a root actor's id also names its Ray actors.
    return f"ray-{uuid.uuid4().hex[:16]}"


def _ray_name(host_id: str, incarnation: int) -> str:
    """The Ray actor name of a host's ``incarnation``-th instance (0 first, +1 per restart).

    A new name per restart: Ray keeps a dead actor's name taken for as long as any handle to
    it lives (a node's death left it taken for good while the owner held one).
    """
    return f"{host_id}~{incarnation}"


class _NotInBand(Exception):
    """A message holds what must go through Ray's own serializer."""


class _InBandPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # A ref holds a Ray actor handle, which Ray must serialize itself (it counts them).
        # What the driver's script defines pickles by reference to a __main__ that Ray's
        # workers do not have: Ray's cloudpickle sends it by value.
        if isinstance(obj, ActorRef) or _defined_in_main(obj):
            raise _NotInBand
        return NotImplemented


def _defined_in_main(obj: Any) -> bool:
    module = obj.__module__ if isinstance(obj, type) else type(obj).__module__
    return module == "__main__"


def _pack(message: Any) -> Any:
    """``message`` as one pickle (bytes) when it is small and plain, else as it is.

    Ray passes bytes through untouched, where its own serializer costs ~40 us more per small
    message, and arrays unpickled from bytes are writable copies, as on the process backend.
    A message with a large buffer (a numpy array of ``_IN_BAND_MAX_BYTES`` or more), a ref,
    or objects only cloudpickle handles goes through Ray's serializer: large arrays then
    travel through its object store and arrive as read-only zero-copy views.
    """
    large = False

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        nonlocal large
        if buffer.raw().nbytes < _IN_BAND_MAX_BYTES:
            return True
        large = True
        return False  # out of band: not copied into a pickle that is then thrown away

    out = io.BytesIO()
    try:
        _InBandPickler(out, protocol=5, buffer_callback=in_band).dump(message)
    except Exception:
        return message
    return message if large else out.getvalue()


def _unpack(data: Any) -> Any:
    return pickle.loads(data) if type(data) is bytes else data


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
        self.host.post(env)
        self.host.run_pending()
        if self.actor_id not in self.host.actors:
            self._stopped.set()

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
_host_classes: list[Any] = []


def _host_class() -> Any:
    """``_RayHost`` as a Ray actor class (made once per process)."""
    if not _host_classes:
        # Ray's stubs omit concurrency_groups (which .options() does not take).
        decorate: Any = ray.remote
        _host_classes.append(decorate(concurrency_groups={"aux": _AUX_THREADS})(_RayHost))
    return _host_classes[0]


_backends: list[RayBackend] = []


@contextlib.contextmanager
def _non_cluster_mode() -> Iterator[None]:
    """Ray's "non-cluster mode" (its default on macOS and Windows) for one ``ray.init``.

    On Linux, Ray replaces a loopback node or cluster address by the machine's routable one
    (``resolve_ip_for_localhost``), so ``ray.init(_node_ip_address="127.0.0.1")`` still starts
    services on every interface, and ``ray.init(address="127.0.0.1:port")`` knocks on the
    public address of a cluster that listens on loopback only. Only non-cluster mode keeps
    127.0.0.1 as it is. Its switch, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, is read once when
    ray is imported, so we flip the constant it sets, for this call only: afterwards every
    lookup uses the node's recorded address.
    """
    from ray._private import ray_constants

    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        yield  # a Ray without the switch: the address check after ray.init has the last word
        return
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def is_loopback_address(address: str) -> bool:
    """True for ``"127.0.0.1:6379"``, ``"localhost:6379"``, ``"[::1]:6379"``."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_loopback() -> None:
    node_ip = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]  # Ray: untyped
    if not ipaddress.ip_address(node_ip).is_loopback:
        ray.shutdown()
        raise RuntimeError(
            f"the local Ray instance came up on {node_ip}, not on loopback: refusing to run "
            "it (Ray has no authentication by default). Start a cluster yourself and pass "
            "its address (see docs/cluster.md)."
        )


def start_local_ray(num_cpus: int | None = None) -> None:
    """``ray.init`` a new single-node Ray instance whose every service listens on loopback.

    Args:
        num_cpus: CPUs of the instance (None: Ray's default, every core).

    Raises:
        RuntimeError: Ray came up on a non-loopback address anyway (it is shut down again):
            a Ray release that ignores the switch :func:`_non_cluster_mode` flips.
    """
    # Like multiprocessing's spawn, actors import what the driver could import.
    path = os.pathsep.join(p for p in sys.path if p)
    with _non_cluster_mode():
        ray.init(
            address="local",  # a new instance, never one somebody left running on this machine
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    _check_loopback()


def connect_ray(address: str) -> None:
    """``ray.init`` joining the cluster at ``address`` (a loopback one stays on loopback)."""
    mode = _non_cluster_mode() if is_loopback_address(address) else contextlib.nullcontext()
    with mode:
        ray.init(address=address, log_to_driver=False, configure_logging=False)


class _Root:
    """A Ray actor this process owns, with its supervision record."""

    def __init__(
        self, spec: ActorSpec, handle: RayHandle, spec_bytes: bytes, node: str | None
    ) -> None:
        self.spec = spec
        self.handle = handle
        self.spec_bytes = spec_bytes
        self.node = node  # the owner's node, for a soft node-affinity (None: the driver's)
        self.lifeline: Any = None
        self.restarts: deque[float] = deque()
        self.incarnation = 0
        #: When the current spell of "unreachable" reports began, and the latest report.
        self.unavailable_since: float | None = None
        self.unavailable_last = 0.0

    def still_unavailable(self, now: float) -> bool:
        """Ray says the actor is unreachable: True while that may pass (watch it again),
        False once one spell of reports has lasted :data:`_UNAVAILABLE_LIMIT_S` (treat it as
        dead). Reports come every ~0.3 s while it lasts; a gap of more than
        :data:`_UNAVAILABLE_GAP_S` starts a new spell, so blips far apart never add up."""
        if self.unavailable_since is None or now - self.unavailable_last > _UNAVAILABLE_GAP_S:
            self.unavailable_since = now
        self.unavailable_last = now
        return now - self.unavailable_since < _UNAVAILABLE_LIMIT_S


class RayBackend:
    """Spawns rlactors actors as Ray actors and supervises the ones this process owns.

    If this process is already connected to Ray (``ray.init`` was called, or another
    ``Runtime("ray")`` is open), the backend uses that connection and leaves it open at
    shutdown; otherwise it connects (or starts Ray) and disconnects at shutdown.

    Args:
        address: A Ray cluster to join (``"127.0.0.1:6379"``, ``"10.0.0.5:6379"``,
            ``"auto"``); None starts a local Ray instance listening on 127.0.0.1 only.
        num_cpus: CPUs of a local instance (None: Ray's default, every core).
        actor_options: Ray actor options (``num_cpus``, ``resources``,
            ``scheduling_strategy``...) for the top-level actors whose name matches a pattern
            (``fnmatch``, e.g. ``{"worker-*": {"num_cpus": 1}}``): placement for the actors of
            code you do not edit. Patterns apply in order; ``ActorOptions.resources`` apply
            last. ``name`` and ``max_restarts`` stay rlactors' own.
        torch_threads: torch and BLAS threads per actor process (None: leave the default).
        spawn_timeout_s: Seconds a new actor may take to be placed and constructed.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        actor_options: Mapping[str, Mapping[str, Any]] | None = None,
        torch_threads: int | None = 1,
        spawn_timeout_s: float = 120.0,
        _connect: bool = True,
    ) -> None:
        #: What actor processes build their own backend with (they never start Ray).
        self.options: dict[str, Any] = {
            "spawn_timeout_s": spawn_timeout_s,
            "torch_threads": torch_threads,
        }
        self.actor_options = dict(actor_options or {})
        self.spawn_timeout_s = spawn_timeout_s
        self.started_ray = False
        if _connect and not ray.is_initialized():
            if address is None:
                start_local_ray(num_cpus)
            else:
                connect_ray(address)
            self.started_ray = True
        self.roots: dict[str, _Root] = {}
        self.lock = threading.RLock()
        self.closed = False
        self._monitor: threading.Thread | None = None
        _backends.append(self)

    def _actor_class(self, spec: ActorSpec, name: str, node: str | None) -> Any:
        opts: dict[str, Any] = {"num_cpus": 0, "num_gpus": 0}
        for pattern, options in self.actor_options.items():
            if fnmatch.fnmatchcase(spec.name, pattern):
                opts.update(options)
        resources = dict(spec.options.resources)
        for key in ("num_cpus", "num_gpus"):
            if key in resources:
                opts[key] = resources.pop(key)
        if resources:
            opts["resources"] = {**opts.get("resources", {}), **resources}
        if node is not None and "scheduling_strategy" not in opts:
            # Hard: Ray 2.60 ignored soft node affinity for actors that ask for no resources.
            # The owner lives on that node, so if the node is gone there is no owner either.
            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
        opts.update(
            name=name,  # refs held elsewhere find a restarted actor by it (RayHandle.refresh)
            max_restarts=0,  # rlactors supervises (see the module docstring)
        )
        return _host_class().options(**opts)

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        if self.closed:
            raise ActorSpawnError(f"spawn({spec.name}): the runtime was shut down")
        actor_id = _new_id()
        handle = RayHandle(
            None, actor_id, actor_id, spec.name, spec.receives, public_methods(spec.cls), True
        )
        node = None if owner is None else str(ray.get_runtime_context().get_node_id())
        root = _Root(spec, handle, dumps_spec(spec), node)
        self._start(root)
        with self.lock:
            self.roots[actor_id] = root
        self._watch()
        return ActorRef(handle)

    def spawn_local(self, spec: ActorSpec, owner: LocalActor) -> ActorRef[Any]:
        actor = owner.host.create(spec, _new_id(), owner.host_id)
        owner.children.append(actor.actor_id)
        assert actor.ref is not None
        return actor.ref

    def _start(self, root: _Root) -> None:
        h = root.handle
        h.ray_actor = None  # drop the dead one: Ray frees what it held only once unreferenced
        name = _ray_name(h.actor_id, root.incarnation)
        cls = self._actor_class(root.spec, name, root.node)
        actor = cls.remote(root.spec_bytes, h.actor_id, root.incarnation, self.options)
        try:
            error = ray.get(actor.ready.remote(), timeout=self.spawn_timeout_s)
        except RayActorError as exc:
            raise ActorSpawnError(f"actor {root.spec.name}: its Ray actor died: {exc}") from exc
        except GetTimeoutError as exc:
            ray.kill(actor)
            raise ActorSpawnError(
                f"actor {root.spec.name}: not placed and ready within {self.spawn_timeout_s} s "
                "(do its resources exist in the cluster?)"
            ) from exc
        if error is not None:
            ray.kill(actor)
            raise ActorSpawnError(
                f"actor {root.spec.name}: constructor {root.spec.factory_name}(...) raised "
                f"{error.summary}"
            ) from error.to_exception()
        h.ray_actor, h.incarnation = actor, root.incarnation
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
            try:
                ready, _ = ray.wait(list(watched), num_returns=1, timeout=0.2)
            except Exception:
                if not self.closed:
                    log.exception("rlactors: watching Ray actors failed; supervision stops")
                return
            for ref in ready:
                root = watched[ref]
                root.lifeline = None
                try:
                    stopped = ray.get(ref, timeout=0) == _STOPPED
                except ActorUnavailableError:
                    stopped = False
                    if root.still_unavailable(time.monotonic()) and self._rewatch(root):
                        continue  # unreachable for now, not dead: Ray says when it dies
                    # Unreachable for too long, or it cannot be watched: without this, a
                    # killed actor could stay unwatched for good, never restarted.
                    with contextlib.suppress(Exception):
                        ray.kill(root.handle.ray_actor, no_restart=True)
                except RayActorError:
                    stopped = False
                try:
                    if stopped:
                        self._on_stop(root)
                    else:
                        self._on_death(root)
                except Exception:
                    log.exception("rlactors: handling the end of a Ray actor failed")

    def _rewatch(self, root: _Root) -> bool:
        """Ask ``root``'s actor for a new lifeline; False if even that fails."""
        time.sleep(0.1)
        try:
            root.lifeline = root.handle.ray_actor.lifeline.remote()
        except Exception:
            log.warning("rlactors: actor %s cannot be watched any more", root.handle.name)
            return False
        return True

    def _on_stop(self, root: _Root) -> None:
        # Stopped by whoever held a ref: free its Ray actor, and never restart it.
        h = root.handle
        if h.error is None:
            h.error = ActorStoppedError(f"actor {h.name} was stopped")
        self.forget(h)

    def _on_death(self, root: _Root) -> None:
        h = root.handle
        if self.closed or h.error is not None or h.actor_id not in self.roots:
            return
        reason = f"actor {h.name} died (its Ray actor is gone)"
        policy = root.spec.options.restart
        now = time.monotonic()
        while root.restarts and now - root.restarts[0] > policy.within_s:
            root.restarts.popleft()
        if policy.mode != "on_failure":
            h.error = ActorDiedError(reason)
            self._drop(root)
            return
        if len(root.restarts) >= policy.max_restarts:
            h.error = RestartLimitError(
                f"{reason}; it was restarted {len(root.restarts)} times within "
                f"{policy.within_s} s, the limit of its restart policy: giving up"
            )
            self._drop(root)
            return
        root.restarts.append(now)
        root.incarnation += 1
        root.unavailable_since = None
        h.ready.clear()
        try:
            self._start(root)
        except Exception as exc:
            h.error = ActorDiedError(f"{reason}; restarting it failed: {exc}")
            self._drop(root)
            return
        finally:
            h.ready.set()
        log.warning("%s; restarted it (restart %d in the window)", reason, len(root.restarts))
        if root.spec.options.on_restart is not None:
            try:
                root.spec.options.on_restart(ActorRef(h))
            except Exception:
                log.exception("on_restart hook of actor %s raised", h.name)

    def _drop(self, root: _Root) -> None:
        with self.lock:
            self.roots.pop(root.handle.actor_id, None)

    def kill(self, ref: ActorRef[Any]) -> None:
        with self.lock:
            root = self.roots.get(ref.actor_id)
        if root is not None:
            # Mid-restart the handle has no Ray actor until the new one is ready: wait for it,
            # and kill that one, as a message sent now would reach it.
            root.handle.ready.wait(self.spawn_timeout_s)
        if root is None or root.handle.ray_actor is None:
            raise ValueError(
                f"kill({ref.name}): not a live Ray actor owned here (only the owner of an "
                "actor with a Ray actor of its own can kill it)"
            )
        ray.kill(root.handle.ray_actor, no_restart=True)

    def forget(self, handle: RayHandle) -> None:
        """``handle`` was stopped on purpose: no supervision, and free its Ray actor."""
        with self.lock:
            root = self.roots.pop(handle.actor_id, None)
        if root is not None and root.handle.ray_actor is not None:
            with contextlib.suppress(Exception):  # already gone
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
