"""Pickle protocol 5 with out-of-band buffers, length-prefixed frames, and errors that name names.

A frame is ``header | buffer lengths | pickle | buffer 0 | buffer 1 ...``. Large contiguous
buffers (numpy arrays) travel out of band: the sender hands them to ``sendmsg`` without copying
them into the pickle, and the receiver reads them straight into one allocation, 16-byte aligned,
that the unpickled arrays then use as their memory. A 1 MiB array is copied once into the kernel
and once out of it.
"""

from __future__ import annotations

import dataclasses
import pickle
import socket
import struct
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rlactors.actors.errors import ActorError, RemoteTraceback, SerializationError

if TYPE_CHECKING:
    from rlactors.actors.ref import ActorSpec

# nbufs, pickle length, bytes after the header (lengths table + pickle + padded buffers).
_HEADER = struct.Struct("<IIQ")
_LEN = struct.Struct("<Q")
_ALIGN = 16
# Smaller buffers are cheaper in band than as an extra iovec and an extra copy on receipt.
_OUT_OF_BAND_MIN_BYTES = 8192
_IOV_MAX = 512


def _pad(n: int) -> int:
    return -n % _ALIGN


def encode(obj: Any) -> list[Any]:
    """Frame ``obj``: a list of bytes-like parts for ``sendmsg``.

    Raises:
        Exception: Whatever pickling raised (callers name the culprit, see :func:`describe`).
    """
    buffers: list[pickle.PickleBuffer] = []

    def keep_out_of_band(pb: pickle.PickleBuffer) -> bool:
        if pb.raw().nbytes < _OUT_OF_BAND_MIN_BYTES:
            return True  # serialize in band
        buffers.append(pb)
        return False

    data = pickle.dumps(obj, protocol=5, buffer_callback=keep_out_of_band)
    if not buffers:
        return [_HEADER.pack(0, len(data), len(data)) + data]  # one small buffer, one syscall
    raws = [b.raw() for b in buffers]
    table = b"".join(_LEN.pack(r.nbytes) for r in raws)
    parts: list[Any] = [b"", table, data]
    offset = _HEADER.size + len(table) + len(data)
    for raw in raws:
        pad = _pad(offset)
        if pad:
            parts.append(bytes(pad))
        parts.append(raw)
        offset += pad + raw.nbytes
    parts[0] = _HEADER.pack(len(raws), len(data), offset - _HEADER.size)
    return parts


def _decode(view: memoryview, start: int, copy_buffers: bool) -> Any:
    nbufs, plen, _ = _HEADER.unpack_from(view, start)
    pos = start + _HEADER.size
    lens = [_LEN.unpack_from(view, pos + 8 * i)[0] for i in range(nbufs)]
    pos += 8 * nbufs
    data = view[pos : pos + plen]
    pos += plen
    bufs = []
    for n in lens:
        pos += _pad(pos - start)
        chunk = view[pos : pos + n]
        bufs.append(bytearray(chunk) if copy_buffers else chunk)
        pos += n
    return pickle.loads(data, buffers=bufs)


class FrameReader:
    """Reassembles frames from a stream socket, one ``recv`` per call (non-blocking friendly)."""

    __slots__ = ("_big", "_big_have", "_buf", "_end", "_start", "_view")

    def __init__(self, size: int = 1 << 18) -> None:
        self._buf = bytearray(size)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._big: bytearray | None = None
        self._big_have = 0

    def read_from(self, readinto: Callable[[memoryview], int | None]) -> list[Any] | None:
        """Do one read (``sock.recv_into``, ``file.readinto``) and return the messages it
        completed; None at end of stream.
        """
        if self._big is not None:
            n = readinto(memoryview(self._big)[self._big_have :])
            if not n:
                return None
            self._big_have += n
            if self._big_have < len(self._big):
                return []
            big, self._big = self._big, None
            # The frame owns this allocation: its arrays keep it alive, no further copy.
            return [_decode(memoryview(big), 0, copy_buffers=False)]
        start = self._start
        if start == self._end:
            start = self._start = self._end = 0
        elif len(self._buf) - self._end < len(self._buf) // 4:
            n = self._end - start
            self._buf[:n] = self._buf[start : self._end]
            start, self._start, self._end = 0, 0, n
        n = readinto(self._view[self._end :])
        if not n:
            return None
        end = self._end + n
        if start == 0 and end >= _HEADER.size:
            # The common case, one small answer exactly: no parsing loop.
            nbufs, _, body = _HEADER.unpack_from(self._buf, 0)
            if not nbufs and end == _HEADER.size + body:
                self._end = 0
                return [pickle.loads(self._view[_HEADER.size : end])]
        self._end = end
        return self._parse()

    def _parse(self) -> list[Any]:
        out = []
        view = self._view
        while self._end - self._start >= _HEADER.size:
            nbufs, _, body = _HEADER.unpack_from(view, self._start)
            full = _HEADER.size + body
            have = self._end - self._start
            if have >= full:
                if nbufs:
                    # In-buffer frames are small: their buffers are copied out before reuse.
                    out.append(_decode(view, self._start, copy_buffers=True))
                else:
                    start = self._start + _HEADER.size
                    out.append(pickle.loads(view[start : start + body]))
                self._start += full
            elif full > len(self._buf) // 2:
                big = bytearray(full)
                big[:have] = view[self._start : self._end]
                self._big, self._big_have = big, have
                self._start = self._end = 0
                break
            else:
                break
        return out


def send_parts(sock: socket.socket, parts: list[Any], flags: int = 0) -> list[Any]:
    """Send ``parts``; returns the unsent remainder (empty when all went).

    On a blocking socket without ``MSG_DONTWAIT`` in ``flags`` this sends everything.
    """
    if len(parts) == 1 and not flags:
        sock.sendall(parts[0])  # the common small frame
        return []
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    while views:
        try:
            sent = sock.sendmsg(views[:_IOV_MAX], [], flags)
        except BlockingIOError:
            return views
        while sent:
            if sent >= len(views[0]):
                sent -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][sent:]
                sent = 0
    return views


def describe_unpicklable(where: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """Name the first argument of ``where`` that pickle refuses, with its type and the reason."""
    items = [(f"argument {i}", a) for i, a in enumerate(args)]
    items += [(f"argument {k!r}", v) for k, v in kwargs.items()]
    for label, value in items:
        try:
            pickle.dumps(value, protocol=5)
        except Exception as exc:
            return (
                f"{where}: {label} of type {type(value).__qualname__} cannot be serialized: {exc}"
            )
    return f"{where}: the message cannot be serialized"


def check_serializable(where: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Raise :class:`SerializationError` naming the culprit if the arguments do not pickle."""
    try:
        pickle.dumps((args, kwargs), protocol=5)
    except Exception as exc:
        raise SerializationError(describe_unpicklable(where, args, kwargs)) from exc


def roundtrip(value: Any, where: str) -> Any:
    """A copy of ``value`` through pickle, as if it had crossed a process boundary."""
    try:
        return pickle.loads(pickle.dumps(value, protocol=5))
    except Exception as exc:
        raise SerializationError(
            f"{where}: value of type {type(value).__qualname__} cannot be serialized: {exc}"
        ) from exc


def dumps_spec(spec: ActorSpec) -> bytes:
    """The spec as bytes for another process, by value where needed (cloudpickle).

    The owner's ``on_restart`` hook stays behind: it runs in the owner, never in the actor.
    """
    import cloudpickle

    sendable = dataclasses.replace(spec, options=dataclasses.replace(spec.options, on_restart=None))
    try:
        return cloudpickle.dumps(sendable, protocol=5)  # type: ignore[no-any-return]
    except Exception as exc:
        items = [(f"argument {i}", a) for i, a in enumerate(spec.args)]
        items += [(f"argument {k!r}", v) for k, v in spec.kwargs.items()]
        for label, value in items:
            try:
                cloudpickle.dumps(value, protocol=5)
            except Exception as inner:
                raise SerializationError(
                    f"spawn({spec.name}): constructor {label} of type "
                    f"{type(value).__qualname__} cannot be serialized: {inner}"
                ) from exc
        raise SerializationError(f"spawn({spec.name}): cannot serialize the spec: {exc}") from exc


def copy_spec(spec: ActorSpec) -> ActorSpec:
    """A copy of ``spec`` as another process would receive it, keeping the owner's hook."""
    copied: ActorSpec = pickle.loads(dumps_spec(spec))
    return dataclasses.replace(copied, options=spec.options)


class ErrorReport:
    """An exception raised inside an actor, made safe to send back to the caller.

    The caller gets the original exception type when it pickles (so ``except ValueError`` works)
    with the remote traceback as ``__cause__``, and an :class:`ActorError` otherwise.
    """

    __slots__ = ("exc", "summary", "text")

    def __init__(self, exc: BaseException, actor: str, where: str) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.text = f'\n"""\nin actor {actor}, {where}:\n{tb}"""'
        self.summary = f"{type(exc).__name__}: {exc} (raised in actor {actor}, {where})"
        try:
            pickle.loads(pickle.dumps(exc, protocol=5))
            self.exc: BaseException | None = exc
        except Exception:
            self.exc = None

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.exc, self.summary, self.text)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.exc, self.summary, self.text = state

    def to_exception(self) -> BaseException:
        """The exception to raise in the caller."""
        exc = self.exc if self.exc is not None else ActorError(self.summary)
        exc.__cause__ = RemoteTraceback(self.text)
        if hasattr(exc, "add_note") and self.summary not in getattr(exc, "__notes__", ()):
            exc.add_note(self.summary)
        return exc
