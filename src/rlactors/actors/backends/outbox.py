"""Sending on a socket without ever blocking the sender.

Actors that message each other must not wait for each other's buffers: if A blocks sending to
B while B blocks sending to A, both stop for good (a flow-control deadlock; a ping/pong of a
thousand messages is enough). An :class:`Outbox` hands bytes to the socket with
``MSG_DONTWAIT``; what the socket does not take now waits in a backlog that a writer thread,
started only the first time it is needed, drains in order. Mailboxes are unbounded, as in
Erlang: memory, not a deadlock, is the price of a receiver that falls behind.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from rlactors.actors.serialization import send_parts


class Outbox:
    """Ordered, non-blocking sends on one socket (thread-safe)."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.name = name
        self.lock = threading.Lock()
        self._wake = threading.Condition(self.lock)
        self.backlog: list[Any] = []
        self._writing = False  # the writer thread is sending, outside the lock
        self._writer: threading.Thread | None = None
        self.error: OSError | None = None

    def send(self, parts: list[Any]) -> None:
        """Send ``parts`` after everything sent before; never waits for the receiver.

        Raises:
            OSError: The connection is broken (now, or an earlier background send found out).
        """
        with self.lock:
            if self.error is not None:
                raise self.error
            if self.backlog or self._writing:
                self.backlog.extend(parts)
                self._wake.notify()
                return
            try:
                rest = send_parts(self.sock, parts, socket.MSG_DONTWAIT)
            except OSError as exc:
                self.error = exc
                raise
            if rest:
                self.backlog = rest
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._drain, name=f"rlactors-outbox-{self.name}", daemon=True
                    )
                    self._writer.start()
                else:
                    self._wake.notify()

    @property
    def pending(self) -> bool:
        """True while bytes wait to be taken by the socket."""
        return bool(self.backlog) or self._writing

    def close(self) -> None:
        """Stop the writer thread (what is still in the backlog is dropped)."""
        with self.lock:
            if self.error is None:
                self.error = OSError("outbox closed")
            self.backlog = []
            self._wake.notify()

    def _drain(self) -> None:
        while True:
            with self.lock:
                while not self.backlog and self.error is None:
                    self._wake.wait()
                if self.error is not None:
                    return
                parts, self.backlog = self.backlog, []
                self._writing = True
            try:
                rest = send_parts(self.sock, parts)  # blocking: waiting is this thread's job
                error = None
            except OSError as exc:
                rest, error = [], exc
            with self.lock:
                self.backlog = rest + self.backlog
                self._writing = False
                if error is not None and self.error is None:
                    self.error = error
