"""Inside an actor process: build the actor, then serve its socket until it is stopped.

One thread runs everything: a selector loop reads requests from every connection, queues them in
the :class:`~rlactors.actors.dispatch.Host` (which runs them in order), and writes the replies
without ever blocking on a slow reader, so a caller with ten thousand calls in flight can never
deadlock against this process. A second, idle thread watches the lifeline to the owner.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing.connection as mp_connection
import os
import pickle
import signal
import socket
import sys
import threading
import time
from typing import Any

from rlactors.actors.backends.channel import tombstone, transport
from rlactors.actors.backends.outbox import Outbox
from rlactors.actors.backends.process import ProcessBackend
from rlactors.actors.backends.proctitle import actor_title, set_process_title
from rlactors.actors.dispatch import Envelope, Host, IdleTimer, LocalActor, answer
from rlactors.actors.errors import ActorSpawnError, SerializationError
from rlactors.actors.ref import ActorSpec, Op, public_methods
from rlactors.actors.serialization import ErrorReport, FrameReader, encode

log = logging.getLogger("rlactors.actors")

_CALL = int(Op.CALL)  # a plain int: enum member lookups cost on the hot path


def limit_threads(n: int | None) -> None:
    """Keep torch and BLAS to ``n`` threads: N actor processes must not each take every core."""
    if n is None:
        return
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _watch_lifeline(lifeline: mp_connection.Connection) -> None:
    # The owner never writes to the lifeline: it becomes readable only when the owner is gone.
    mp_connection.wait([lifeline])
    os._exit(0)


class _Conn:
    """One caller's connection, served by a thread of its own.

    The thread blocks in ``recv`` on its socket (a process asleep in ``recv`` wakes measurably
    faster than one asleep in epoll), then runs what it read under the host lock. The answers
    to one read go out together through an :class:`Outbox`, which never blocks: a caller with
    ten thousand calls in flight cannot deadlock against this process.
    """

    def __init__(self, sock: socket.socket, worker: _Worker) -> None:
        self.sock = sock
        self.worker = worker
        self.reader = FrameReader()
        self.out: list[Any] = []  # answers produced by this batch of messages
        self.outbox = Outbox(sock, "reply")
        self.open = True

    def reply(self, call_id: int, ok: bool, value: Any) -> None:
        try:
            parts = encode((call_id, ok, value))
        except Exception as exc:
            err = SerializationError(
                f"the answer of type {type(value).__qualname__} cannot be serialized: {exc}"
            )
            parts = encode((call_id, False, ErrorReport(err, "(reply)", "serializing the answer")))
        self.out.extend(parts)
        self.worker.dirty.add(self)

    def flush(self) -> None:
        """Hand the batch's answers to the outbox (caller holds the host lock)."""
        parts, self.out = self.out, []
        if self.open and parts:
            try:
                self.outbox.send(parts)
            except OSError:
                self.open = False

    def serve(self) -> None:
        worker = self.worker
        while self.open and not worker.stopped.is_set():
            try:
                messages = self.reader.read_from(self.sock.recv_into)
            except OSError:
                messages = None
            if messages is None:
                break
            worker.arrive(+1)
            with worker.lock:
                worker.arrive(-1)
                host = worker.host
                for call_id, actor_id, op, payload in messages:
                    if op == _CALL and not host.queue:
                        actor = host.actors.get(actor_id)
                        if actor is not None and not actor.busy:
                            # The hot path: nothing queued before it, so run it right here.
                            ok, value = host.call(actor, *payload)
                            if call_id:
                                self.reply(call_id, ok, value)
                            elif not ok:
                                answer(None, ok, value, _label(host, actor_id, op, payload))
                            continue
                    reply = functools.partial(self.reply, call_id) if call_id else None
                    label = _label(host, actor_id, op, payload)
                    host.post(Envelope(actor_id, op, payload, reply, label))
                worker.run()
        self.open = False
        self.outbox.close()
        self.sock.close()


def _label(host: Host, actor_id: str, op: int, payload: Any) -> str:
    actor = host.actors.get(actor_id)
    name = actor.spec.name if actor is not None else actor_id
    what = payload[0] if op == 0 else ("receive", "receive", "ping", "stop")[op]
    return f"{name}.{what}"


class _Worker:
    """The actor process's server: an accept thread, a thread per connection, one host lock."""

    def __init__(self, listener: socket.socket, host: Host, root_id: str) -> None:
        self.listener = listener
        self.host = host
        self.root_id = root_id
        self.lock = threading.Lock()  # one message at a time in this process
        self.dirty: set[_Conn] = set()
        self.stopped = threading.Event()
        self.conns: list[_Conn] = []
        self.first: _Conn
        # Connection threads holding messages read but not yet queued (waiting for the lock):
        # while there are any, this process's mailbox is not idle.
        self._arriving = 0
        self._arriving_lock = threading.Lock()
        self._idle_timer = IdleTimer(self.lock, self._on_idle_timer)

    def arrive(self, delta: int) -> None:
        """Count a connection thread with messages for the host in (+1) or out (-1)."""
        with self._arriving_lock:
            self._arriving += delta

    def run(self) -> None:
        """Run queued messages and flush their replies (caller holds ``self.lock``)."""
        host = self.host
        if host.queue:
            host.run_pending()
        if host.idlers and not self._arriving:
            # The mailbox is empty and no other connection has messages on the way.
            delay = host.run_idle(can_wait=True)
            if host.queue:
                host.run_pending()
            if delay is not None:
                self._idle_timer.call_in(delay)
        if self.dirty:
            dirty, self.dirty = self.dirty, set()
            for conn in dirty:
                conn.flush()
        if self.root_id not in self.host.actors and not self.stopped.is_set():
            self.stopped.set()
            with contextlib.suppress(OSError):
                self.first.sock.shutdown(socket.SHUT_RD)  # wake the main thread's recv

    def _on_idle_timer(self) -> None:
        if not self.stopped.is_set():
            self.run()  # the idle actors again, if no message woke them first

    def accept_forever(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            conn = _Conn(sock, self)
            self.conns.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def serve(self) -> None:
        """Serve until the root actor is stopped, then let the last replies leave."""
        # The first caller (the owner, nearly always the only one) is served by the main
        # thread: measured here, a reply from the main thread comes back ~30% sooner.
        sock, _ = self.listener.accept()
        self.first = _Conn(sock, self)
        self.conns.append(self.first)
        threading.Thread(target=self.accept_forever, daemon=True).start()
        self.first.serve()
        self.stopped.wait()
        deadline = time.monotonic() + 2.0
        for conn in self.conns:
            while conn.outbox.pending and conn.open and time.monotonic() < deadline:
                time.sleep(0.001)


def run_worker(
    spec_bytes: bytes,
    actor_id: str,
    address: str,
    rundir: str,
    lifeline: mp_connection.Connection,
    options: dict[str, Any],
) -> None:
    """Entry point of an actor process."""
    # Ctrl-C goes to the whole process group: the owner decides when its actors stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(options["torch_threads"])
    threading.Thread(target=_watch_lifeline, args=(lifeline,), daemon=True).start()

    with contextlib.suppress(FileNotFoundError):
        os.unlink(address)  # a dead predecessor's socket, on restart
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(128)

    tr = transport()
    backend = ProcessBackend(rundir, owns_rundir=False, **options)

    def make_handle(actor: LocalActor) -> Any:
        spec = actor.spec
        return tr.handle(
            address, actor.actor_id, spec.name, spec.receives, public_methods(spec.cls)
        )

    host = Host(backend, make_handle)
    tr.local_address, tr.local_host = address, host
    spec: ActorSpec | None = None
    try:
        spec = pickle.loads(spec_bytes)
        assert spec is not None
        # Before the constructor runs: a slow or hung one is named in ps too.
        set_process_title(actor_title(spec.name, spec.factory_name))
        host.create(spec, actor_id, host_id=0)
    except BaseException as exc:
        cause = exc.__cause__ if isinstance(exc, ActorSpawnError) and exc.__cause__ else exc
        name = spec.name if spec is not None else actor_id
        lifeline.send(("error", ErrorReport(cause, name, "in its constructor")))
        listener.close()
        os.unlink(address)
        sys.exit(1)
    limit_threads(options["torch_threads"])  # the constructor may have imported torch
    lifeline.send(("ready", os.getpid()))
    try:
        _Worker(listener, host, actor_id).serve()
        with open(tombstone(address), "w") as f:
            f.write(f"stopped actor {spec.name} was stopped")
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)
        backend.shutdown()
