"""Actor references, spawn options and restart policies: what algorithm code holds and passes.

An :class:`ActorRef` is the address of an actor. It can be copied into messages (it pickles to
its address, never to the actor), and every call through it is explicit::

    env = spawn(CartPoleEnv, seed=0)
    env.tell("reset")                        # fire-and-forget
    obs = env.ask("observe", "agent")        # a Future
    obs = env.ask(CartPoleEnv.observe, "agent").result(timeout=5.0)   # typed spelling

Receive-loop actors (subclasses of :class:`Actor`) take one message instead of a method name:
``ponger.tell(("ping",))`` and ``ponger.ask(("ping",))``.
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from rlactors.actors.errors import UnknownMethodError

if TYPE_CHECKING:
    from rlactors.actors.future import Future

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


class Op(enum.IntEnum):
    """What an envelope asks of an actor."""

    CALL = 0  #: payload (method, args, kwargs)
    MSG = 1  #: payload (sender, message), for receive-loop actors
    PING = 2  #: payload None; the answer is "pong"
    STOP = 3  #: payload None; ends the actor after the messages sent before it


class Actor:
    """Base class of receive-loop actors (the seed's ``@actor begin ... receive() ... end``).

    Subclasses handle one message at a time in :meth:`receive`. ``sender`` is the ref of the
    actor that sent it (None when the driver program sent it with ``tell``); for an ``ask`` it is
    a reply handle, and ``sender.tell(answer)`` resolves the asker's future::

        class Ponger(Actor):
            def receive(self, sender, message):
                if message == ("ping",):
                    sender.tell("pong")
    """

    def receive(self, sender: Any, message: Any) -> None:
        """Handle one message."""
        raise NotImplementedError(f"{type(self).__name__} must define receive(sender, message)")


@dataclass(frozen=True)
class RestartPolicy:
    """What to do when an actor's process dies (after Erlang/OTP supervisors).

    Attributes:
        mode: ``"never"`` (the default) or ``"on_failure"``: rebuild the actor from its spec.
        max_restarts: With ``on_failure``, more than this many restarts within ``within_s``
            seconds gives up: the actor stays dead and calls fail with ``RestartLimitError``.
        within_s: The sliding window, in seconds, that ``max_restarts`` counts over.
    """

    mode: str = "never"
    max_restarts: int = 3
    within_s: float = 60.0

    def __post_init__(self) -> None:
        if self.mode not in ("never", "on_failure"):
            raise ValueError(
                f"RestartPolicy.mode must be 'never' or 'on_failure', not {self.mode!r}"
            )
        if self.max_restarts < 0 or self.within_s <= 0:
            raise ValueError(
                f"RestartPolicy needs max_restarts >= 0 and within_s > 0, got "
                f"max_restarts={self.max_restarts}, within_s={self.within_s}"
            )

    @classmethod
    def on_failure(cls, max_restarts: int = 3, within_s: float = 60.0) -> RestartPolicy:
        """Restart a dead actor, at most ``max_restarts`` times within ``within_s`` seconds."""
        return cls("on_failure", max_restarts, within_s)


@dataclass(frozen=True)
class ActorOptions:
    """How to spawn an actor. Pass to :func:`rlactors.actors.spawn_with`.

    Attributes:
        name: Shown in errors and logs; default ``"<ClassName>-<n>"``.
        restart: Restart policy of an actor in a process of its own (colocated actors live and
            die with their host).
        on_restart: Called in the owner with the ref after each restart, so the owner can
            re-send state (weights, for an evaluator). Later calls reach the new instance.
        colocate: Spawned from inside an actor, run in that actor's process (default True there);
            False gives the new actor a process of its own. Ignored outside actors.
        resources: Per-actor resources for schedulers that place actors (Ray): e.g.
            ``{"num_cpus": 1, "num_gpus": 0}``. The inline and process backends ignore it.
    """

    name: str | None = None
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    on_restart: Callable[[ActorRef[Any]], None] | None = None
    colocate: bool | None = None
    resources: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SpawnRequest(Generic[T]):
    """One actor of a :func:`rlactors.actors.spawn_many` batch: ``cls(*args, **kwargs)``
    spawned with ``options``, as ``spawn_with(options, cls, *args, **kwargs)`` would.

    Attributes:
        cls: The class (or factory) to build inside the actor.
        args: Its positional arguments.
        kwargs: Its keyword arguments.
        options: Name, restart policy, colocation and resources (:class:`ActorOptions`).
    """

    cls: Callable[..., T]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    options: ActorOptions = field(default_factory=ActorOptions)


@dataclass(frozen=True)
class ActorSpec:
    """Everything needed to build (and rebuild, on restart) an actor.

    ``cls`` is a class, or any factory function returning the object to wrap
    (``spawn(make_env, "CartPole-v1")``).
    """

    cls: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: ActorOptions
    name: str

    @property
    def factory_name(self) -> str:
        """The class's (or factory's) qualified name, for messages."""
        return str(getattr(self.cls, "__qualname__", self.cls))

    @property
    def receives(self) -> bool:
        """True for receive-loop actors (subclasses of :class:`Actor`)."""
        return isinstance(self.cls, type) and issubclass(self.cls, Actor)


def public_methods(cls: Callable[..., Any]) -> frozenset[str] | None:
    """Names a wrapped object answers to: its public callables (None: a factory, unknown
    until it has run; the actor itself then refuses unknown names)."""
    if not isinstance(cls, type):
        return None
    return frozenset(n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n)))


def unknown_method(actor: str, name: str, methods: frozenset[str] | None) -> UnknownMethodError:
    """The error for a message naming a method the actor does not answer to."""
    known = ", ".join(sorted(methods or ())) or "(none)"
    return UnknownMethodError(
        f"actor {actor} has no public method {name!r}; it answers to: {known}"
    )


class Handle(Protocol):
    """A backend's side of an :class:`ActorRef` (the seam each backend implements)."""

    actor_id: str
    name: str
    receives: bool
    methods: frozenset[str] | None

    def send(self, op: Op, payload: Any, want_reply: bool, label: str) -> Future[Any] | None:
        """Deliver one envelope; a future when ``want_reply``."""

    def stop(self, timeout: float) -> None:
        """Stop the actor after the messages already sent, and wait for it to be gone."""

    def reduce(self) -> tuple[Any, ...]:
        """``__reduce__`` of the ref: how to rebuild it in another process."""


def request_stop(handle: Handle, timeout: float) -> None:
    """Ask the actor behind ``handle`` to stop and wait for it; an actor already gone, or one
    that does not answer within ``timeout`` seconds, counts as stopped (its owner kills it)."""
    from rlactors.actors.errors import ActorDiedError

    with contextlib.suppress(ActorDiedError, TimeoutError):
        fut = handle.send(Op.STOP, None, True, f"{handle.name}.stop")
        assert fut is not None
        fut.result(timeout)


class HandleState:
    """What a process or Ray handle knows of its actor (their shared part)."""

    def __init__(
        self, actor_id: str, name: str, receives: bool, methods: frozenset[str] | None
    ) -> None:
        self.actor_id = actor_id
        self.name = name
        self.receives = receives
        self.methods = methods
        #: Set when known gone for good (stopped, or dead beyond its restart policy).
        self.error: Any = None
        #: Cleared while the owner restarts the actor; calls wait for it.
        self.ready = threading.Event()
        self.ready.set()


class ActorRef(Generic[T]):
    """The address of an actor; every call through it is an explicit message."""

    __slots__ = ("_handle",)

    def __init__(self, handle: Handle) -> None:
        self._handle = handle

    @property
    def name(self) -> str:
        """The actor's name (for logs and errors)."""
        return self._handle.name

    @property
    def actor_id(self) -> str:
        """Unique within the runtime."""
        return self._handle.actor_id

    def __repr__(self) -> str:
        return f"ActorRef({self._handle.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and other.actor_id == self.actor_id

    def __hash__(self) -> int:
        return hash(self.actor_id)

    def __reduce__(self) -> tuple[Any, ...]:
        return self._handle.reduce()

    @overload
    def ask(
        self, method: Callable[Concatenate[T, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[R]: ...

    @overload
    def ask(self, method: Any, /, *args: Any, **kwargs: Any) -> Future[Any]: ...

    def ask(self, method: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Call ``method`` (a name, or the class's function for type checking); a Future.

        For a receive-loop actor, ``method`` is the message itself and nothing else is passed.
        """
        op, payload, label = self._envelope(method, args, kwargs)
        fut = self._handle.send(op, payload, True, label)
        assert fut is not None
        return fut

    @overload
    def tell(
        self, method: Callable[Concatenate[T, P], Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> None: ...

    @overload
    def tell(self, method: Any, /, *args: Any, **kwargs: Any) -> None: ...

    def tell(self, method: Any, /, *args: Any, **kwargs: Any) -> None:
        """Like :meth:`ask` but fire-and-forget: an exception is logged by the actor's process."""
        op, payload, label = self._envelope(method, args, kwargs)
        self._handle.send(op, payload, False, label)

    def ping(self) -> Future[str]:
        """A future that answers ``"pong"`` while the actor lives."""
        fut = self._handle.send(Op.PING, None, True, f"{self.name}.ping")
        assert fut is not None
        return fut

    def stop(self, timeout: float = 10.0) -> None:
        """End the actor once the messages sent before have run; returns when it is gone.

        Calls made afterwards raise ``ActorStoppedError``. Stopping twice is harmless.
        """
        self._handle.stop(timeout)

    def _envelope(self, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        h = self._handle
        if h.receives:
            if args or kwargs:
                raise TypeError(
                    f"{h.name} is a receive-loop actor: send one message, e.g. "
                    f"ref.tell(('ping', 1)), not a method name with arguments"
                )
            from rlactors.actors.dispatch import current_sender

            return Op.MSG, (current_sender(), method), f"{h.name}.receive"
        name = method if isinstance(method, str) else getattr(method, "__name__", None)
        if not isinstance(name, str):
            raise TypeError(
                f"{h.name}: a method is named by a string or a function, not {method!r}"
            )
        if name.startswith("_") or (h.methods is not None and name not in h.methods):
            raise unknown_method(h.name, name, h.methods)
        return Op.CALL, (name, args, kwargs), f"{h.name}.{name}"
