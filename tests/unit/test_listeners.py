"""The loopback check of the Ray tests (tests/listeners.py) sees listeners and flags wildcards."""

from __future__ import annotations

import os
import socket

from listeners import Listener, listeners


def test_a_loopback_listener_of_this_process_is_seen() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        mine = [s for s in listeners(os.getpid()) if s.port == port]
    assert [(s.protocol, s.address, s.loopback) for s in mine] == [("tcp", "127.0.0.1", True)]


def test_wildcards_and_public_addresses_are_not_loopback() -> None:
    def loopback(address: str) -> bool:
        return Listener(1, "x", "tcp", address, 1).loopback

    assert loopback("127.0.0.1") and loopback("::1") and loopback("::ffff:127.0.0.1")
    assert not loopback("0.0.0.0") and not loopback("::") and not loopback("192.0.2.2")
    assert not loopback("::ffff:192.0.2.2")
