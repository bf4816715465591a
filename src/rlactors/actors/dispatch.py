"""Running actors inside one process: the mailbox, the handler loop and "which actor am I".

A :class:`Host` owns the actors that live in one process: every actor of the inline backend, or
the actors of one process-backend worker (its root actor and everything colocated with it).
Messages are queued and run one at a time, first in first out, so the order is deterministic.
Waiting on a local future runs queued messages in the waiting thread (no threads of our own);
an actor that is already running further up the stack is skipped, never re-entered.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from rlactors.actors.errors import (
    ActorDiedError,
    ActorSpawnError,
    ActorStoppedError,
    DeadlockError,
)
from rlactors.actors.future import Future
from rlactors.actors.ref import ActorRef, ActorSpec, Handle, Op, public_methods, unknown_method
from rlactors.actors.serialization import ErrorReport

if TYPE_CHECKING:
    from rlactors.actors.runtime import Backend

log = logging.getLogger("rlactors.actors")

#: ``reply(ok, value)``: delivers an answer; on failure ``value`` is an ErrorReport or exception.
Reply = Callable[[bool, Any], None]


class Envelope(NamedTuple):
    """One queued message."""

    actor_id: str
    op: Op
    payload: Any
    reply: Reply | None
    label: str


class LocalActor:
    """An actor instance living in this process."""

    __slots__ = (
        "actor_id",
        "alive",
        "busy",
        "children",
        "host",
        "host_id",
        "instance",
        "ref",
        "spec",
    )

    def __init__(self, spec: ActorSpec, actor_id: str, host: Host, host_id: int) -> None:
        self.spec = spec
        self.host = host
        self.actor_id = actor_id
        self.host_id = host_id
        self.instance: Any = None
        self.ref: ActorRef[Any] | None = None
        self.busy = True  # until constructed: messages to it wait in the queue
        self.alive = True
        self.children: list[str] = []


_context = threading.local()


def current_actor() -> LocalActor | None:
    """The actor whose code is running in this thread, or None in the driver program."""
    return getattr(_context, "actor", None)


def current_sender() -> ActorRef[Any] | None:
    """The ref to put as ``sender`` on a message sent from here."""
    actor = current_actor()
    return None if actor is None else actor.ref


def resolve_future(fut: Future[Any]) -> Reply:
    """A reply that resolves ``fut``."""

    def reply(ok: bool, value: Any) -> None:
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value.to_exception() if isinstance(value, ErrorReport) else value)

    return reply


def answer(reply: Reply | None, ok: bool, result: Any, label: str) -> None:
    """Deliver an answer, or log a failure that nobody waits for (a tell's)."""
    if reply is not None:
        reply(ok, result)
    elif not ok:
        text = result.text if isinstance(result, ErrorReport) else f" {result}"
        log.error("%s failed and nobody was waiting for it:%s", label, text)


def post_local(
    host: Host, actor_id: str, op: Op, payload: Any, want_reply: bool, label: str
) -> Future[Any] | None:
    """Deliver to an actor living in this process: through the host's queue, no serialization
    (colocation's direct calls)."""
    fut: Future[Any] | None = Future(host, label) if want_reply else None
    host.post(Envelope(actor_id, op, payload, resolve_future(fut) if fut else None, label))
    return fut


class ReplyTo:
    """The ``sender`` a receive-loop actor sees for an ``ask``: ``sender.tell(answer)`` answers."""

    __slots__ = ("_label", "_reply")

    def __init__(self, reply: Reply, label: str) -> None:
        self._reply: Reply | None = reply
        self._label = label

    def __repr__(self) -> str:
        return f"ReplyTo({self._label})"

    def tell(self, answer: Any) -> None:
        """Resolve the asker's future with ``answer`` (only the first answer counts)."""
        reply, self._reply = self._reply, None
        if reply is not None:
            reply(True, answer)

    def fail(self, error: Exception) -> None:
        """Fail the asker's future with ``error``, raised there as if the ask had raised it
        (for an answer kept for later; only the first answer counts)."""
        reply, self._reply = self._reply, None
        if reply is not None:
            actor = current_actor()
            name = actor.spec.name if actor is not None else "(unknown)"
            reply(False, ErrorReport(error, name, self._label))

    @property
    def answered(self) -> bool:
        """True once :meth:`tell` or :meth:`fail` was called."""
        return self._reply is None

    def __reduce__(self) -> Any:
        raise TypeError(f"{self!r} answers one ask and cannot be sent to another actor")


_NO_REPLY = object()


class IdleTimer:
    """Calls ``fire()`` under ``lock`` once the earliest delay asked for has passed: how a
    worker process or a Ray host honours the wait an idle actor asks for (:meth:`Host.run_idle`
    returns it). One timer thread at a time; a later, longer delay changes nothing.

    Args:
        lock: Held while ``fire`` runs (the one the host's messages run under).
        fire: Runs the host's idle actors again (and whatever they answer).
    """

    def __init__(self, lock: threading.Lock | threading.RLock, fire: Callable[[], None]) -> None:
        self._lock = lock
        self._fire = fire
        self._timer: threading.Timer | None = None
        self._due = math.inf  # monotonic time the pending timer fires at

    def call_in(self, delay: float) -> None:
        """Fire in ``delay`` seconds, unless a timer due sooner is pending (caller holds the
        lock)."""
        due = time.monotonic() + delay
        if due >= self._due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._due = due
        self._timer = threading.Timer(delay, self._run)
        self._timer.daemon = True
        self._timer.start()

    def _run(self) -> None:
        with self._lock:
            self._due, self._timer = math.inf, None
            self._fire()


class Host:
    """The actors of one process and their mailbox. Not thread-safe: one thread drives it."""

    #: Waiting on a local future runs actor code (see :class:`rlactors.actors.future.Waiter`).
    runs_actors = True

    def __init__(
        self,
        backend: Backend,
        make_handle: Callable[[LocalActor], Handle],
        *,
        sole_source: bool = False,
    ) -> None:
        self.backend = backend
        #: True when the thread driving this host is the only source of its messages (the
        #: inline backend): once nothing is runnable, nothing more can come, so
        #: :meth:`run_until` gives idle actors their turn (:meth:`run_idle`) before it gives
        #: up. A worker process's or Ray actor's loop, where messages arrive from other
        #: threads, calls :meth:`run_idle` itself.
        self.sole_source = sole_source
        self.actors: dict[str, LocalActor] = {}
        self.queue: deque[Envelope] = deque()
        self._make_handle = make_handle
        self._gone: dict[str, ActorDiedError] = {}
        #: The actors here whose class defines ``on_idle`` (see :meth:`run_idle`).
        self.idlers: dict[str, LocalActor] = {}

    # -- actors --------------------------------------------------------------------------

    def create(self, spec: ActorSpec, actor_id: str, host_id: int) -> LocalActor:
        """Build ``spec`` as a new actor here; ActorSpawnError if its constructor raises."""
        actor = LocalActor(spec, actor_id, self, host_id)
        actor.ref = ActorRef(self._make_handle(actor))
        self.actors[actor_id] = actor
        self._gone.pop(actor_id, None)
        previous = current_actor()
        _context.actor = actor
        try:
            actor.instance = spec.cls(*spec.args, **spec.kwargs)
        except Exception as exc:
            del self.actors[actor_id]
            raise ActorSpawnError(
                f"actor {spec.name}: constructor {spec.factory_name}(...) raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            _context.actor = previous
        actor.busy = False
        if callable(getattr(actor.instance, "on_idle", None)):
            self.idlers[actor_id] = actor
        return actor

    def remove(self, actor: LocalActor, error: ActorDiedError) -> None:
        """Take ``actor`` and its colocated children out; fail their queued messages."""
        for child_id in actor.children:
            child = self.actors.get(child_id)
            if child is not None:
                self.remove(child, error)
        actor.alive = False
        if isinstance(error, ActorStoppedError):
            hook = getattr(actor.instance, "on_stop", None)
            if callable(hook):
                try:
                    hook()
                except Exception:
                    log.exception("actor %s: on_stop raised", actor.spec.name)
        actor.instance = None
        self.actors.pop(actor.actor_id, None)
        self.idlers.pop(actor.actor_id, None)
        self._gone[actor.actor_id] = error
        kept: deque[Envelope] = deque()
        for env in self.queue:
            if env.actor_id == actor.actor_id:
                if env.reply is not None:
                    env.reply(False, type(error)(f"{env.label}: {error}"))
            else:
                kept.append(env)
        self.queue = kept

    def gone_error(self, actor_id: str, label: str) -> ActorDiedError:
        """Why a message to ``actor_id`` cannot be delivered."""
        err = self._gone.get(actor_id)
        if err is None:
            return ActorDiedError(f"{label}: no such actor in this process (it died or never was)")
        return type(err)(f"{label}: {err}")

    # -- messages ------------------------------------------------------------------------

    def post(self, env: Envelope) -> None:
        """Queue a message; it runs when the host is driven (worker loop or a wait)."""
        if env.actor_id not in self.actors:
            err = self.gone_error(env.actor_id, env.label)
            if env.reply is None:
                log.warning("dropped a message nobody waits for: %s", err)
            else:
                env.reply(False, err)
            return
        self.queue.append(env)

    def run_pending(self) -> None:
        """Run queued messages until none is runnable."""
        self.run_until(None, None)

    def run_until(self, done: Callable[[], bool] | None, deadline: float | None) -> bool:
        """Run queued messages in order until ``done()``; False if nothing runnable is left.

        The messages queued when it is called all run before ``deadline`` is looked at, so
        what a short timed wait finds done (an answer to a message already sent) does not
        depend on how fast the machine runs them: the inline backend stays deterministic
        under load. Messages they post in turn are cut off by the deadline.
        """
        owed = len(self.queue)
        while done is None or not done():
            env = self._next_runnable()
            if env is None and self.idlers and (self.sole_source or done is not None):
                # Nothing else can arrive while this thread waits (inline; or a wait inside an
                # actor, which holds its host): an idle actor answers now what it kept for
                # later (a policy server's partial batch).
                self.run_idle(can_wait=False)
                if done is not None and done():
                    return True
                env = self._next_runnable()
            if env is None:
                return False
            self.execute(env)
            owed -= 1
            if owed <= 0 and deadline is not None and time.monotonic() >= deadline:
                return done is not None and done()
        return True

    def run_idle(self, can_wait: bool) -> float | None:
        """Give each actor here that defines ``on_idle(can_wait)`` its turn, now that its
        mailbox holds nothing runnable: a receive loop that keeps answers for later (a
        policy server batching requests) decides here whether to give them.

        Args:
            can_wait: Whether more messages may still arrive from other threads or processes
                (the process and Ray backends); False when nothing can (inline), so an actor
                that keeps answers must give them now or nobody ever gets them.

        Returns:
            The fewest seconds any of them asked to wait before being called again even if
            no message comes (``on_idle`` returned a number), or None.
        """
        delays: list[float] = []
        for actor in list(self.idlers.values()):
            if actor.busy or not actor.alive:
                continue  # running further up this stack: it is not idle
            previous = current_actor()
            actor.busy = True
            _context.actor = actor
            try:
                asked = actor.instance.on_idle(can_wait)
                delay = None if asked is None else float(asked)
                if delay is not None and not math.isfinite(delay):
                    raise ValueError(f"on_idle returned {asked!r}, not a number of seconds")
            except Exception:
                log.exception("actor %s: on_idle raised", actor.spec.name)
                delay = None
            finally:
                actor.busy = False
                _context.actor = previous
            if delay is not None:
                delays.append(max(1e-4, delay))  # a zero wait would re-arm a timer at once
        return min(delays) if delays else None

    def _next_runnable(self) -> Envelope | None:
        queue = self.queue
        for i, env in enumerate(queue):
            actor = self.actors.get(env.actor_id)
            if actor is None or not actor.busy:
                del queue[i]
                return env
        return None

    def execute(self, env: Envelope) -> None:
        """Run one message on its actor and deliver the answer."""
        actor = self.actors.get(env.actor_id)
        if actor is None:
            if env.reply is not None:
                env.reply(False, self.gone_error(env.actor_id, env.label))
            return
        if env.op == Op.CALL:
            ok, result = self.call(actor, *env.payload)
            answer(env.reply, ok, result, env.label)
            return
        ok, result, sender = True, _NO_REPLY, None
        previous = current_actor()
        actor.busy = True
        _context.actor = actor
        try:
            if env.op == Op.MSG:
                sender, message = env.payload
                if env.reply is not None:
                    sender = ReplyTo(env.reply, env.label)
                # The answer goes through the ReplyTo, now or later (the actor may keep it).
                actor.instance.receive(sender, message)
            elif env.op == Op.PING:
                result = "pong"
            else:
                self.remove(actor, ActorStoppedError(f"actor {actor.spec.name} was stopped"))
                result = None
        except Exception as exc:
            ok, result = False, ErrorReport(exc, actor.spec.name, env.label)
            if env.op == Op.MSG and env.reply is not None and isinstance(sender, ReplyTo):
                if sender.answered:
                    result = _NO_REPLY  # it answered before raising: the answer stands
                sender._reply = None
        finally:
            actor.busy = False
            _context.actor = previous
        if result is not _NO_REPLY:
            answer(env.reply, ok, result, env.label)
        elif not ok:
            answer(None, ok, result, env.label)

    def call(
        self, actor: LocalActor, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[bool, Any]:
        """Run one method call on ``actor`` now: ``(True, result)`` or ``(False, ErrorReport)``."""
        previous = current_actor()
        actor.busy = True
        _context.actor = actor
        try:
            fn = None if method.startswith("_") else getattr(actor.instance, method, None)
            if fn is None or not callable(fn):
                methods = public_methods(type(actor.instance))
                raise unknown_method(actor.spec.name, method, methods)
            return True, fn(*args, **kwargs)
        except Exception as exc:
            return False, ErrorReport(exc, actor.spec.name, f"{actor.spec.name}.{method}")
        finally:
            actor.busy = False
            _context.actor = previous

    # -- waiting (the Waiter protocol) ---------------------------------------------------

    def wait(self, futures: Sequence[Future[Any]], deadline: float | None) -> None:
        """Run queued messages until one of ``futures`` is done.

        Raises:
            DeadlockError: Nothing left to run can answer (e.g. the target is waiting further
                up this very call stack, or a receive-loop actor never replies).
        """

        def any_done() -> bool:
            return any(f.done() for f in futures)

        if self.run_until(any_done, deadline) or any_done():
            return
        if deadline is not None and time.monotonic() >= deadline:
            return
        labels = ", ".join(f.label for f in futures if not f.done())
        busy = [a.spec.name for a in self.actors.values() if a.busy]
        why = f" (actors busy further up the call stack: {', '.join(busy)})" if busy else ""
        raise DeadlockError(f"waiting for {labels} can never finish: nothing left to run{why}")
