"""Choosing a backend and spawning actors on it.

Algorithm code calls :func:`spawn` and never names a backend: the program picks one once::

    with Runtime("inline"):           # or "process" (the default), or "ray"
        learner = spawn(Learner, config)

Outside any ``Runtime`` block, the first :func:`spawn` starts a process runtime that lives until
the program exits. Inside an actor, :func:`spawn` puts the new actor in the same process
(colocation) unless its options say ``colocate=False``.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar

from rlactors.actors.dispatch import LocalActor, current_actor
from rlactors.actors.ref import ActorOptions, ActorRef, ActorSpec, SpawnRequest

T = TypeVar("T")
P = ParamSpec("P")

BACKENDS = ("inline", "process", "ray")


class Backend(Protocol):
    """What each backend module provides (``rlactors.actors.backends.<name>``)."""

    name: str

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        """Start ``spec`` in a new host (a process, for the process backend)."""

    def spawn_many(
        self, specs: Sequence[ActorSpec], owner: LocalActor | None
    ) -> list[ActorRef[Any]]:
        """Start every spec in a new host, then wait until all are built; if one fails,
        stop the others and raise its ``ActorSpawnError``."""

    def spawn_local(self, spec: ActorSpec, owner: LocalActor) -> ActorRef[Any]:
        """Start ``spec`` in ``owner``'s host, beside it (colocation)."""

    def kill(self, ref: ActorRef[Any]) -> None:
        """Kill the host of ``ref`` abruptly, as a crash would (supervision then applies)."""

    def shutdown(self) -> None:
        """Stop every actor this backend started; nothing may outlive it."""


def _make_backend(name: str, options: dict[str, Any]) -> Backend:
    # Imported here so that a program pays only for the backend it uses (Ray takes seconds).
    if name == "inline":
        from rlactors.actors.backends.inline import InlineBackend

        return InlineBackend(**options)
    if name == "process":
        from rlactors.actors.backends.process import ProcessBackend

        return ProcessBackend.for_driver(**options)
    if name == "ray":
        try:
            from rlactors.actors.backends.ray import RayBackend
        except ImportError as exc:
            raise ImportError("the ray backend needs Ray: pip install 'rlactors[ray]'") from exc
        return RayBackend(**options)
    raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")


_lock = threading.RLock()
_stack: list[Runtime] = []
_default: Runtime | None = None
_names = itertools.count(1)


class Runtime:
    """A backend in use. A context manager; ``shutdown()`` stops every actor it started.

    Args:
        backend: ``"inline"`` (one process, deterministic), ``"process"`` (one OS process per
            actor, the default) or ``"ray"``.
        **options: Backend options. Process backend: ``start_method`` (``"spawn"``, the
            default, or ``"forkserver"``), ``preload`` (modules the fork server imports once,
            e.g. ``("torch",)``: actor processes then start in milliseconds instead of
            seconds), ``torch_threads`` (threads per actor process for torch, OpenMP and the
            BLAS libraries, default 1) and ``spawn_timeout_s``. Ray backend: ``address`` (a
            cluster to join; None starts a local instance on 127.0.0.1), ``num_cpus``,
            ``actor_options`` (Ray options by actor name), ``torch_threads``,
            ``spawn_timeout_s``; see docs/cluster.md.
    """

    def __init__(self, backend: str = "process", **options: Any) -> None:
        self.backend_name = backend
        self.backend = _make_backend(backend, options)
        self._closed = False

    def __repr__(self) -> str:
        return f"Runtime({self.backend_name!r})"

    def __enter__(self) -> Runtime:
        with _lock:
            _stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            if self in _stack:
                _stack.remove(self)
        self.shutdown()

    def shutdown(self) -> None:
        """Stop every actor started through this runtime (idempotent)."""
        if not self._closed:
            self._closed = True
            self.backend.shutdown()


def init(backend: str = "process", **options: Any) -> Runtime:
    """Make ``Runtime(backend, **options)`` the runtime of this program until :func:`shutdown`."""
    global _default
    with _lock:
        if _default is not None:
            _default.shutdown()
        _default = Runtime(backend, **options)
        return _default


def shutdown() -> None:
    """Shut the program's runtime down (the one :func:`init` or the first spawn started)."""
    global _default
    with _lock:
        runtime, _default = _default, None
    if runtime is not None:
        runtime.shutdown()


def current_runtime() -> Runtime:
    """The innermost ``with Runtime(...)`` block, else the program's runtime (started lazily)."""
    global _default
    with _lock:
        if _stack:
            return _stack[-1]
        if _default is None:
            _default = Runtime("process")
        return _default


atexit.register(shutdown)


def default_name(cls: Callable[..., Any]) -> str:
    """``"<ClassName>-<n>"``, unique in this process."""
    return f"{getattr(cls, '__name__', type(cls).__name__)}-{next(_names)}"


def spawn(cls: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> ActorRef[T]:
    """Create an actor: ``cls(*args, **kwargs)`` built inside the actor; returns its ref.

    Inside an actor the new one is colocated (same process, direct calls). Blocks until the
    constructor has run; if it raises, ``ActorSpawnError`` says so with its traceback.
    """
    return spawn_with(ActorOptions(), cls, *args, **kwargs)


def spawn_with(
    options: ActorOptions, cls: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> ActorRef[T]:
    """:func:`spawn` with :class:`ActorOptions` (name, restart policy, colocation, resources)."""
    spec = _spec(options, cls, args, kwargs)
    owner = current_actor()
    if owner is not None:
        backend = owner.host.backend
        if _colocated(spec, owner):
            return backend.spawn_local(spec, owner)
        return backend.spawn(spec, owner)
    return current_runtime().backend.spawn(spec, None)


def spawn_many(requests: Iterable[SpawnRequest[T]]) -> list[ActorRef[T]]:
    """Spawn a batch of actors at once: start all of them, then wait until all are built.

    Each request behaves as ``spawn_with(request.options, request.cls, *request.args,
    **request.kwargs)`` would (names, restart policies, colocation), but N actors in processes
    of their own cost about one process start plus N constructors shared over the cores,
    instead of N of each in turn (~50 ms each on the process backend)::

        workers = spawn_many(
            SpawnRequest(Worker, (config,), {"index": i}, ActorOptions(name=f"worker-{i}"))
            for i in range(64)
        )

    Returns:
        The refs, in the order of ``requests``.

    Raises:
        ActorSpawnError: An actor could not be built; it names that actor and carries its
            constructor's traceback. Every other actor of the batch was stopped first, so a
            failed batch leaves no actor and no process behind.
    """
    specs = [_spec(r.options, r.cls, r.args, dict(r.kwargs)) for r in requests]
    owner = current_actor()
    backend = owner.host.backend if owner is not None else current_runtime().backend
    local = [owner is not None and _colocated(spec, owner) for spec in specs]
    own_hosts = [i for i, colocated in enumerate(local) if not colocated]
    refs: dict[int, ActorRef[T]] = dict(
        zip(own_hosts, backend.spawn_many([specs[i] for i in own_hosts], owner), strict=True)
    )
    try:
        for i, colocated in enumerate(local):
            if colocated:
                assert owner is not None
                refs[i] = backend.spawn_local(specs[i], owner)
    except BaseException:
        for ref in refs.values():
            with contextlib.suppress(Exception):  # stopping the rest; the spawn error matters
                ref.stop()
        raise
    return [refs[i] for i in range(len(specs))]


def _spec(
    options: ActorOptions, cls: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> ActorSpec:
    if not callable(cls):
        raise TypeError(f"spawn takes a class or a factory function, not {cls!r}")
    return ActorSpec(cls, args, kwargs, options, options.name or default_name(cls))


def _colocated(spec: ActorSpec, owner: LocalActor) -> bool:
    """Whether ``spec``, spawned from inside ``owner``, lives in ``owner``'s host."""
    if spec.options.colocate is False:
        return False
    if spec.options.restart.mode != "never":
        raise ValueError(
            f"actor {spec.name}: a colocated actor lives and dies with its host, so it "
            "takes no restart policy; spawn it with ActorOptions(colocate=False, ...)"
        )
    return True


def kill(ref: ActorRef[Any]) -> None:
    """Kill ``ref``'s host abruptly, as a crash would: its pending calls fail at once with
    ``ActorDiedError`` and its restart policy applies. For fault-injection tests and chaos runs.
    """
    owner = current_actor()
    backend = owner.host.backend if owner is not None else current_runtime().backend
    backend.kill(ref)
