"""The caller's side of the process backend: connections to actor processes, and waiting on them.

Every actor process listens on a Unix socket in the runtime's private (0700) directory; a
:class:`Channel` is one connection to one such process, shared by all actors living there, so
messages from one sender to one actor keep their order. Requests go out with ``sendmsg`` under a
lock. Replies are read by whichever thread waits on a future of that channel (no reader thread:
a hand-off per reply would double the round trip); other waiters sleep on a condition until the
reader has dispatched what it read.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from rlactors.actors.backends.outbox import Outbox
from rlactors.actors.dispatch import Host, post_local
from rlactors.actors.errors import ActorDiedError, ActorStoppedError, SerializationError
from rlactors.actors.future import Future
from rlactors.actors.ref import ActorRef, HandleState, Op
from rlactors.actors.serialization import (
    ErrorReport,
    FrameReader,
    describe_unpicklable,
    encode,
)

#: How long a waiting caller polls for an answer before it sleeps, in seconds.
SPIN_BEFORE_SLEEP_S = 50e-6

#: How long a caller keeps trying to reach an actor whose process is (re)starting, in seconds.
RECONNECT_TIMEOUT_S = 30.0


def tombstone(address: str) -> str:
    """The file that says an actor process is gone for good (and why)."""
    return address + ".gone"


def readable(socks: list[socket.socket], timeout: float | None) -> list[socket.socket]:
    """The sockets of ``socks`` with something to read (or closed) within ``timeout`` seconds
    (None: wait for one). ``poll``, not ``select``: select() takes no descriptor above 1023,
    and a driver of a few hundred actors holds more than that."""
    poller = select.poll()
    for sock in socks:
        poller.register(sock, select.POLLIN | select.POLLPRI)
    wait_ms = None if timeout is None else max(0, math.ceil(timeout * 1000))
    ready = {fd for fd, _ in poller.poll(wait_ms)}
    return [sock for sock in socks if sock.fileno() in ready]


class Channel:
    """One connection from this process to one actor process."""

    def __init__(
        self, address: str, sock: socket.socket, explain: Callable[[str], str | None]
    ) -> None:
        self.address = address
        self.sock = sock
        self._explain = explain
        self.reader = FrameReader()
        self.pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count(1)
        self.outbox = Outbox(sock, "request")
        self.read_lock = threading.Lock()
        self.cond = threading.Condition(threading.Lock())
        self.waiters = 0
        self.closed: tuple[type[ActorDiedError], str] | None = None

    def request(
        self, actor_id: str, op: Op, payload: Any, want_reply: bool, label: str, waiter: Transport
    ) -> Future[Any] | None:
        """Send one envelope; returns its future when ``want_reply``."""
        call_id = next(self._ids) if want_reply else 0
        try:
            parts = encode((call_id, actor_id, op, payload))
        except Exception as exc:
            if op == Op.CALL:
                _, args, kwargs = payload
                raise SerializationError(describe_unpicklable(label, args, kwargs)) from exc
            raise SerializationError(f"{label}: the message cannot be serialized: {exc}") from exc
        fut: Future[Any] | None = None
        if want_reply:
            fut = Future(waiter, label)
            fut._tag = self
            self.pending[call_id] = fut
        try:
            self.outbox.send(parts)
        except OSError as exc:
            self.close(ActorDiedError, f"the connection to its process broke ({exc})")
        if self.closed is not None:
            # Closed before or while sending: fail now (the close may have missed this future).
            self._fail(call_id)
            if fut is None:
                raise self.closed[0](f"{label}: {self.closed[1]}")
        return fut

    def read_once(self, timeout: float | None) -> None:
        """Read what arrives within ``timeout`` and resolve futures (caller holds read_lock)."""
        if timeout is not None and not readable([self.sock], timeout):
            return
        try:
            messages = self.reader.read_from(self._recv_spinning)
        except OSError:
            messages = None
        if messages is None:
            why = self._explain(self.address) or "its process ended before answering"
            self.close(ActorDiedError, why)
            return
        pending = self.pending
        for call_id, ok, value in messages:
            fut = pending.pop(call_id, None)
            if fut is None:
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value.to_exception() if isinstance(value, ErrorReport) else value)

    def _recv_spinning(self, view: memoryview) -> int:
        # Poll briefly before sleeping: an answer usually comes within tens of microseconds,
        # and a sleeping caller pays a wake-up (an inter-processor interrupt, on a VM an exit
        # to the hypervisor) that costs about as much again. sched_yield lets an actor that
        # shares this core run meanwhile.
        sock = self.sock
        give_up = time.perf_counter() + SPIN_BEFORE_SLEEP_S
        while True:
            try:
                return sock.recv_into(view, 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if time.perf_counter() > give_up:
                    return sock.recv_into(view)
                os.sched_yield()

    def close(self, kind: type[ActorDiedError], reason: str) -> None:
        """Fail every pending future at once and refuse further requests (first close wins)."""
        if self.closed is None:
            self.closed = (kind, reason)
            self.outbox.close()
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
        for call_id in list(self.pending):
            self._fail(call_id)
        with self.cond:
            self.cond.notify_all()

    def _fail(self, call_id: int) -> None:
        fut = self.pending.pop(call_id, None)
        if fut is not None and self.closed is not None:
            kind, reason = self.closed
            fut.set_exception(kind(f"{fut.label}: {reason}"))


class Transport:
    """This process's connections, and the :class:`Waiter` of their futures."""

    runs_actors = False

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.handles: weakref.WeakValueDictionary[str, ProcessHandle] = (
            weakref.WeakValueDictionary()
        )
        self.lock = threading.Lock()
        #: Set in an actor process: its own address and the host running its actors.
        self.local_address: str | None = None
        self.local_host: Host | None = None
        #: Owners of actor processes that can say why one exited (see explain_exit).
        self.explainers: list[Callable[[str], str | None]] = []

    def channel(self, address: str, label: str, handle: ProcessHandle | None = None) -> Channel:
        """The open channel to ``address``, connecting (and waiting out a restart) if needed.

        While connecting, a ``handle`` that becomes known dead (its owner is this process)
        stops the wait at once.
        """
        ch = self.channels.get(address)
        if ch is not None and ch.closed is None:
            return ch
        with self.lock:
            ch = self.channels.get(address)
            if ch is not None and ch.closed is None:
                return ch
            ch = Channel(address, self._connect(address, label, handle), self.explain_exit)
            self.channels[address] = ch
            return ch

    def explain_exit(self, address: str) -> str | None:
        """Why the process at ``address`` ended, if this process owns it and knows."""
        for explain in self.explainers:
            why = explain(address)
            if why is not None:
                return why
        return None

    def _connect(self, address: str, label: str, handle: ProcessHandle | None) -> socket.socket:
        deadline = time.monotonic() + RECONNECT_TIMEOUT_S
        while True:
            if handle is not None and handle.error is not None:
                raise type(handle.error)(f"{label}: {handle.error}")
            gone = tombstone(address)
            if os.path.exists(gone):
                with open(gone) as f:
                    kind, _, reason = f.read().partition(" ")
                raise (ActorStoppedError if kind == "stopped" else ActorDiedError)(
                    f"{label}: {reason}"
                )
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                if time.monotonic() >= deadline:
                    raise ActorDiedError(f"{label}: cannot reach its process ({exc})") from exc
                time.sleep(0.02)

    def drop(self, address: str, kind: type[ActorDiedError], reason: str) -> None:
        """Close the channel to ``address`` (its process died or stopped)."""
        ch = self.channels.get(address)
        if ch is not None:
            ch.close(kind, reason)

    def handle(
        self, address: str, actor_id: str, name: str, receives: bool, methods: frozenset[str] | None
    ) -> ProcessHandle:
        """The handle of ``actor_id`` in this process (one per actor, shared by its refs)."""
        with self.lock:
            h = self.handles.get(actor_id)
            if h is None:
                h = ProcessHandle(self, address, actor_id, name, receives, methods)
                self.handles[actor_id] = h
            return h

    # -- the Waiter protocol -------------------------------------------------------------

    def wait(self, futures: Sequence[Future[Any]], deadline: float | None) -> None:
        if len(futures) == 1 and futures[0]._tag is not None:
            self._wait_one(futures[0]._tag, deadline)  # the hot path: one call's answer
            return
        channels = {id(f._tag): f._tag for f in futures if not f.done() and f._tag is not None}
        if not channels:
            if not any(f.done() for f in futures):
                time.sleep(0.001)  # resolved by another thread (e.g. a restart); poll gently
            return
        if len(channels) == 1:
            self._wait_one(next(iter(channels.values())), deadline)
        else:
            self._wait_many(list(channels.values()), deadline)

    @staticmethod
    def _remaining(deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def _wait_one(self, ch: Channel, deadline: float | None) -> None:
        if ch.read_lock.acquire(blocking=False):
            try:
                ch.read_once(self._remaining(deadline))
            finally:
                ch.read_lock.release()
                if ch.waiters:
                    with ch.cond:
                        ch.cond.notify_all()
        else:
            remaining = self._remaining(deadline)
            with ch.cond:
                ch.waiters += 1
                ch.cond.wait(0.02 if remaining is None else min(remaining, 0.02))
                ch.waiters -= 1

    def _wait_many(self, channels: list[Channel], deadline: float | None) -> None:
        mine = [ch for ch in channels if ch.read_lock.acquire(blocking=False)]
        try:
            remaining = self._remaining(deadline)
            if len(mine) < len(channels):  # others read the rest: look back soon
                remaining = 0.005 if remaining is None else min(remaining, 0.005)
            if not mine:
                time.sleep(remaining or 0.0)
                return
            ready = readable([ch.sock for ch in mine], remaining)
            for ch in mine:
                if ch.sock in ready:
                    ch.read_once(None)
        finally:
            for ch in mine:
                ch.read_lock.release()
                if ch.waiters:
                    with ch.cond:
                        ch.cond.notify_all()


class ProcessHandle(HandleState):
    """The process backend's side of an ActorRef: the actor's address and its state here."""

    def __init__(
        self,
        transport: Transport,
        address: str,
        actor_id: str,
        name: str,
        receives: bool,
        methods: frozenset[str] | None,
    ) -> None:
        super().__init__(actor_id, name, receives, methods)
        self.transport = transport
        self.address = address

    def send(self, op: Op, payload: Any, want_reply: bool, label: str) -> Future[Any] | None:
        if not self.ready.is_set():
            self.ready.wait(RECONNECT_TIMEOUT_S)
        if self.error is not None:
            raise type(self.error)(f"{label}: {self.error}")
        t = self.transport
        if self.address == t.local_address and t.local_host is not None:
            return post_local(t.local_host, self.actor_id, op, payload, want_reply, label)
        return t.channel(self.address, label, self).request(
            self.actor_id, op, payload, want_reply, label, t
        )

    def stop(self, timeout: float) -> None:
        if self.error is not None:
            return
        from rlactors.actors.backends.process import stop_handle

        stop_handle(self, timeout)

    def reduce(self) -> tuple[Any, ...]:
        return (_rebuild, (self.address, self.actor_id, self.name, self.receives, self.methods))


_transport: Transport | None = None
_transport_lock = threading.Lock()


def transport() -> Transport:
    """This process's transport (created on first use)."""
    global _transport
    with _transport_lock:
        if _transport is None:
            _transport = Transport()
        return _transport


def _rebuild(
    address: str, actor_id: str, name: str, receives: bool, methods: frozenset[str] | None
) -> ActorRef[Any]:
    return ActorRef(transport().handle(address, actor_id, name, receives, methods))
