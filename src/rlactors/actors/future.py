"""Futures: the answer to an ``ask``, to block on (``result``) or to ``await``.

A future does not own a thread. Whoever waits on it drives the backend forward through the
future's *waiter*: the process backend's waiter reads the actor's connection in the calling thread
(a thread hand-off per reply would double the round trip), the inline backend's waiter runs queued
messages. :func:`gather`, :func:`wait_any` and :func:`as_completed` work on futures of any actor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")

_PENDING, _OK, _ERROR = 0, 1, 2

# Guards callback lists only: resolving a future without callbacks takes it uncontended.
_callbacks_lock = threading.Lock()


class Waiter(Protocol):
    """Drives a backend forward until some futures are done (implemented by each backend)."""

    #: True when waiting runs actor code in the waiting thread (inline): ``await`` then waits in
    #: the event loop's thread instead of an executor thread, to keep the run deterministic.
    runs_actors: bool

    def wait(self, futures: Sequence[Future[Any]], deadline: float | None) -> None:
        """Return once one of ``futures`` is done or ``deadline`` (``time.monotonic()``) passed.

        May return early; callers loop.
        """


class Future(Generic[T]):
    """The eventual result of a call to an actor.

    Every backend gives it the same behaviour: ``result(timeout)`` returns the value or raises
    the actor's exception (with the remote traceback as its ``__cause__``), ``ActorDiedError``
    if the actor died first, or ``TimeoutError``; ``await future`` does the same in asyncio.
    """

    __slots__ = ("__weakref__", "_callbacks", "_state", "_tag", "_value", "_waiter", "label")

    def __init__(self, waiter: Waiter | None = None, label: str = "") -> None:
        self._state = _PENDING
        self._value: Any = None
        self._waiter = waiter
        self._callbacks: list[Callable[[Future[T]], None]] | None = None
        #: Backend data for the waiter (the process backend's channel).
        self._tag: Any = None
        #: What was asked, e.g. ``"learner.sample"``; used in timeouts and repr.
        self.label = label

    def __repr__(self) -> str:
        state = {_PENDING: "pending", _OK: "done", _ERROR: "failed"}[self._state]
        return f"<Future {self.label} {state}>"

    def done(self) -> bool:
        """True once the result or the exception is known."""
        return self._state != _PENDING

    def result(self, timeout: float | None = None) -> T:
        """The call's return value, waiting at most ``timeout`` seconds (``None``: forever).

        Raises:
            TimeoutError: Not done within ``timeout``.
            ActorDiedError: The actor stopped or died before answering.
            Exception: Whatever the actor's method raised, with the remote traceback as cause.
        """
        if self._state == _PENDING:
            self._wait(timeout)
        if self._state == _OK:
            return self._value  # type: ignore[no-any-return]
        raise self._value

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception the call ended with, or None if it succeeded."""
        if self._state == _PENDING:
            self._wait(timeout)
        return self._value if self._state == _ERROR else None

    def add_done_callback(self, fn: Callable[[Future[T]], None]) -> None:
        """Call ``fn(self)`` once done (at once if already done), in whichever thread resolves it.

        Nothing runs a callback until somebody waits on some future of the same actor (there is
        no background thread), so pair callbacks with :func:`wait_any` or ``await``.
        """
        with _callbacks_lock:
            if self._state == _PENDING:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        fn(self)

    def __await__(self) -> Generator[Any, None, T]:
        if self._state == _PENDING:
            waiter = self._waiter
            if waiter is not None and waiter.runs_actors:
                self._wait(None)
            else:
                loop = asyncio.get_running_loop()
                yield from loop.run_in_executor(None, self._wait_quietly).__await__()
        return self.result(0)

    # -- resolution, used by the backends ---------------------------------------------------

    def set_result(self, value: T) -> None:
        """Resolve with a value (backends only; the first resolution wins)."""
        self._resolve(_OK, value)

    def set_exception(self, exc: BaseException) -> None:
        """Resolve with an exception (backends only; the first resolution wins)."""
        self._resolve(_ERROR, exc)

    def _resolve(self, state: int, value: Any) -> None:
        if self._state != _PENDING:
            return
        self._value = value
        self._state = state
        with _callbacks_lock:
            callbacks, self._callbacks = self._callbacks, None
        for fn in callbacks or ():
            fn(self)

    def _wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._state == _PENDING:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{self.label or 'future'}: no answer within {timeout} s")
            if self._waiter is None:
                # Resolved by another thread only (e.g. a restart hook): poll gently.
                time.sleep(0.001)
            else:
                self._waiter.wait([self], deadline)

    def _wait_quietly(self) -> None:
        self._wait(None)


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def gather(futures: Iterable[Future[T]], timeout: float | None = None) -> list[T]:
    """Results of all ``futures``, in order; raises the first failure met (in list order).

    Args:
        futures: Futures from any actors.
        timeout: Seconds for the whole wait (``None``: forever).
    """
    deadline = _deadline(timeout)
    return [f.result(_remaining(deadline)) for f in list(futures)]


def wait_any(
    futures: Iterable[Future[T]], timeout: float | None = None
) -> tuple[list[Future[T]], list[Future[T]]]:
    """Wait until at least one future is done; return ``(done, pending)`` in the given order.

    Returns with ``done`` empty only when ``timeout`` passed. This is how an optimizer serves
    whichever actor answers first without ever waiting on a slow one.
    """
    futs = list(futures)
    deadline = _deadline(timeout)
    while True:
        done = [f for f in futs if f.done()]
        if done or not futs:
            return done, [f for f in futs if not f.done()]
        if deadline is not None and time.monotonic() >= deadline:
            return [], futs
        waiters = {id(f._waiter): f._waiter for f in futs if f._waiter is not None}
        if len(waiters) == 1:
            next(iter(waiters.values())).wait(futs, deadline)
        elif not waiters:
            time.sleep(0.001)
        else:
            # Futures of different backends (rare): give each a short slice in turn.
            for waiter in waiters.values():
                slice_end = time.monotonic() + 0.002
                waiter.wait(futs, slice_end if deadline is None else min(slice_end, deadline))
                if any(f.done() for f in futs):
                    break


def as_completed(futures: Iterable[Future[T]], timeout: float | None = None) -> Iterator[Future[T]]:
    """Yield futures as they finish (each once).

    Raises:
        TimeoutError: Some are still pending when ``timeout`` (for the whole iteration) passes.
    """
    pending = list(futures)
    deadline = _deadline(timeout)
    while pending:
        done, pending = wait_any(pending, _remaining(deadline))
        if not done:
            raise TimeoutError(f"{len(pending)} futures still pending after {timeout} s")
        yield from done
