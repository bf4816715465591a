"""Messages packed for Ray: one pickle (bytes) when small and plain, else left to Ray's
serializer (large arrays, refs, what the driver's ``__main__`` defines)."""

from __future__ import annotations

import io
import pickle
from typing import Any

from rlactors.actors.ref import ActorRef

#: Arrays from this size on go through Ray's object store instead of inside a message's pickle.
_IN_BAND_MAX_BYTES = 64 * 1024


class _NotInBand(Exception):
    """A message holds what must go through Ray's own serializer."""


class _InBandPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # A ref holds a Ray actor handle, which Ray must serialize itself (it counts them).
        # What the driver's script defines pickles by reference to a __main__ that Ray's
        # workers do not have: Ray's cloudpickle sends it by value.
        if isinstance(obj, ActorRef) or _defined_in_main(obj):
            raise _NotInBand
        return NotImplemented


def _defined_in_main(obj: Any) -> bool:
    module = obj.__module__ if isinstance(obj, type) else type(obj).__module__
    return module == "__main__"


def _pack(message: Any) -> Any:
    """``message`` as one pickle (bytes) when it is small and plain, else as it is.

    Ray passes bytes through untouched, where its own serializer costs ~40 us more per small
    message, and arrays unpickled from bytes are writable copies, as on the process backend.
    A message with a large buffer (a numpy array of ``_IN_BAND_MAX_BYTES`` or more), a ref,
    or objects only cloudpickle handles goes through Ray's serializer: large arrays then
    travel through its object store and arrive as read-only zero-copy views.
    """
    large = False

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        nonlocal large
        if buffer.raw().nbytes < _IN_BAND_MAX_BYTES:
            return True
        large = True
        return False  # out of band: not copied into a pickle that is then thrown away

    out = io.BytesIO()
    try:
        _InBandPickler(out, protocol=5, buffer_callback=in_band).dump(message)
    except Exception:
        return message
    return message if large else out.getvalue()


def _unpack(data: Any) -> Any:
    return pickle.loads(data) if type(data) is bytes else data
