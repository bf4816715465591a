"""Which sockets a process tree listens on, and which processes a session still has, read
from /proc (Linux): the loopback and no-leftover checks of the Ray tests."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

_TCP_LISTEN = "0A"
_UDP_UNCONNECTED = "07"


@dataclass(frozen=True)
class Listener:
    """One listening socket."""

    pid: int
    command: str
    protocol: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        """True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z; False for wildcards and the rest."""
        ip = ipaddress.ip_address(self.address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped.is_loopback
        return ip.is_loopback


def process_tree(root: int) -> set[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return tree


def _decode(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host (little-endian) byte order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words)), int(port, 16)


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return "?"


def listeners(root: int) -> list[Listener]:
    """Listening TCP and unconnected UDP sockets of ``root``'s process tree."""
    owner: dict[str, int] = {}
    for pid in process_tree(root):
        for inode in _socket_inodes(pid):
            owner[inode] = pid
    found = []
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        wanted = _TCP_LISTEN if protocol.startswith("tcp") else _UDP_UNCONNECTED
        try:
            with open(f"/proc/net/{protocol}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != wanted or fields[9] not in owner:
                continue
            address, port = _decode(fields[1])
            pid = owner[fields[9]]
            found.append(Listener(pid, _command(pid), protocol, address, port))
    return found


def session_processes(sid: int) -> list[str]:
    """Command lines of the live processes of session ``sid`` (every process a command started
    in a session of its own: Ray's workers get process groups of their own, not sessions)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[0] == "Z" or int(fields[3]) != sid:  # state, session
                continue
            found.append(_command(int(entry)))
        except (OSError, IndexError, ValueError):
            continue
    return found
