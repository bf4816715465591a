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
import itertools
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from rlactors.actors.dispatch import LocalActor, current_actor
from rlactors.actors.ref import ActorOptions, ActorRef, ActorSpec

T = TypeVar("T")
P = ParamSpec("P")

BACKENDS = ("inline", "process", "ray")


class Backend(Protocol):
    """What each backend module provides (``rlactors.actors.backends.<name>``)."""

    name: str

    def spawn(self, spec: ActorSpec, owner: LocalActor | None) -> ActorRef[Any]:
        """Start ``spec`` in a new host (a process, for the process backend)."""

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
    if not callable(cls):
        raise TypeError(f"spawn takes a class or a factory function, not {cls!r}")
    spec = ActorSpec(cls, args, kwargs, options, options.name or default_name(cls))
    owner = current_actor()
    if owner is not None:
        backend = owner.host.backend
        if options.colocate is not False:
            if options.restart.mode != "never":
                raise ValueError(
                    f"actor {spec.name}: a colocated actor lives and dies with its host, so it "
                    "takes no restart policy; spawn it with ActorOptions(colocate=False, ...)"
                )
            return backend.spawn_local(spec, owner)
        return backend.spawn(spec, owner)
    return current_runtime().backend.spawn(spec, None)


def kill(ref: ActorRef[Any]) -> None:
    """Kill ``ref``'s host abruptly, as a crash would: its pending calls fail at once with
    ``ActorDiedError`` and its restart policy applies. For fault-injection tests and chaos runs.
    """
    owner = current_actor()
    backend = owner.host.backend if owner is not None else current_runtime().backend
    backend.kill(ref)
