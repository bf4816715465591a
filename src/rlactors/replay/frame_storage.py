"""FrameStackStorage: frame-stack observations stored one frame at a time (frugal replay).

An Atari observation is a stack of the last 4 frames, ``[4, 84, 84]`` uint8, and a transition
holds two (``obs`` and ``next_obs``): stored in full that is 8 frames, 56,448 bytes a row and
~56 GB for 1M transitions, though consecutive observations of one env share 3 of their 4
frames and ``next_obs`` of one row is (within 4 frames of) ``obs`` of a later one. Here each
distinct frame is stored once, in a :class:`~rlactors.replay.frame_pool.FramePool`, and a row
keeps ``[k]`` int64 slots of its stack's frames for each of ``obs`` and ``next_obs``; a sample
rebuilds the stacks by gathering those frames, so the sampled batch is what was added, byte
for byte, and learners need no change. About one frame (7,056 bytes) a row remains.

**Found by content, not by position.** Dopamine's ``OutOfGraphReplayBuffer`` stores one frame
per step of *one* stream and rebuilds a stack from the frames at the indices before it,
masking those of an earlier episode (and padding with zeros); SB3's ``optimize_memory_usage``
takes ``next_obs`` from the next row of the same env (and gets it wrong at a truncation, see
CleanRL issue #460); TorchRL reconstructs ``("next", obs)`` from trajectory slices. All rely
on the order in which rows arrive. Here rows arrive from K envs interleaved per step, n-step
rows are flushed several at once at an episode's end, a crashed env ends its pending rows with
a truncation, and an Ape-X shard takes rollouts of several workers. So a frame is found again
by its content (a fingerprint, verified byte for byte): no stream ids, no ordering assumption,
no change to what evaluators send or to the shards' messages, and exact by construction. A
stack never mixes two episodes because it is the stack the env gave, rebuilt frame for frame
(at an episode's start whatever ``FrameStackObservation`` padded with: the reset frame
repeated, by default, which costs no extra frame; zero frames, stored once for all).

**Eviction.** Rows stay FIFO exactly as in :class:`~rlactors.replay.storage.CircularStorage`
(the same ids, slots, liveness and sampler), and the pool counts each row's references to its
frames: a frame is freed when the last row that needs it is overwritten, so no row can read a
frame evicted under it, and none is kept longer.

**Which columns.** ``obs`` when it is a frame stack (:func:`is_frame_stack`: uint8 or bool,
``[k, H, W]`` with ``k < H`` and ``k < W``, as the CNN encoder tells channels-first images),
and ``next_obs`` beside it when it has the same shape and dtype. Everything else (vector or
channels-last observations such as MinAtar's ``[10, 10, C]``, every other column) is stored as
:class:`CircularStorage` stores it, and a buffer without a frame stack uses that class itself.

Measured (``benchmarks/replay_frames.py``, a buffer of 100K wrapped around, see
docs/pixels.md): 56,464 bytes a transition naive; frugal 6,446 with real ``ALE/Pong-v5``
frames (0.876 frames a row: Pong repeats whole screens) and 7,314 with random frames that never
repeat, so 6.4 to 7.3 GB for 1M transitions. Adding costs ~45 us a row (~22K rows/s, against
~50K for whole stacks), sampling 512 rows about as much as the naive layout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from rlactors.core import SampleBatch
from rlactors.replay.frame_pool import FramePool
from rlactors.replay.storage import COLUMN_PREFIX, BoolArray, CircularStorage, IndexArray

#: Columns that may hold frame stacks: the observation and the state bootstrapped from.
FRAME_COLUMNS = ("obs", "next_obs")

#: Prefix of the ``[rows, k]`` frame indices of each frame column in a state dict.
FRAMES_PREFIX = "frames/"

#: State-dict key of the ``[F, *frame_shape]`` distinct frames the indices point into.
FRAME_POOL_KEY = "frame_pool"

Spec = dict[str, tuple[tuple[int, ...], np.dtype]]


def is_frame_stack(shape: tuple[int, ...], dtype: npt.DTypeLike) -> bool:
    """Whether per-row ``shape``/``dtype`` is a stack of frames on its first axis: uint8 or bool
    ``[k, H, W]`` with ``k`` smaller than both ``H`` and ``W``."""
    kind = np.dtype(dtype)
    return (
        kind in (np.dtype(np.uint8), np.dtype(np.bool_))
        and len(shape) == 3
        and 1 <= shape[0] < min(shape[1], shape[2])
    )


def frame_stack_columns(spec: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> tuple[str, ...]:
    """The columns of ``spec`` (name -> per-row shape, dtype) to store a frame at a time:
    ``obs`` if it is a frame stack, with ``next_obs`` if it has the same shape and dtype."""
    if "obs" not in spec or not is_frame_stack(*spec["obs"]):
        return ()
    if spec.get("next_obs") == spec["obs"]:
        return FRAME_COLUMNS
    return ("obs",)


def columns_spec(columns: Mapping[str, npt.ArrayLike]) -> Spec:
    """Name -> (per-row shape, dtype) of ``columns`` (scalars, which no storage takes, left out)."""
    spec: Spec = {}
    for name, value in columns.items():
        array = np.asarray(value)
        if array.ndim:
            spec[name] = (tuple(array.shape[1:]), array.dtype)
    return spec


class FrameStackStorage:
    """A :class:`CircularStorage` whose frame-stack columns hold frame slots (module docstring).

    What :class:`~rlactors.replay.ReplayBuffer` uses of :class:`CircularStorage`, with the same
    rows, ids and eviction.

    Args:
        capacity: Maximum number of rows kept, > 0.
        frame_columns: The columns holding frame stacks (see :func:`frame_stack_columns`).
        stack_shape: Their per-row shape ``[k, *frame_shape]``.
        dtype: Their dtype.

    Raises:
        ValueError: ``capacity`` is not a positive integer, or ``stack_shape``/``dtype`` are
            not a frame stack's.
    """

    def __init__(
        self,
        capacity: int,
        frame_columns: tuple[str, ...],
        stack_shape: tuple[int, ...],
        dtype: npt.DTypeLike,
    ) -> None:
        self._rows = CircularStorage(capacity)
        if not frame_columns or not is_frame_stack(stack_shape, dtype):
            raise ValueError(
                f"FrameStackStorage: columns {list(frame_columns)} of shape {stack_shape} and "
                f"dtype {np.dtype(dtype)} are not frame stacks (uint8/bool [k, H, W], k < H, W)"
            )
        self._frame_columns = tuple(frame_columns)
        self._stack_shape = tuple(int(d) for d in stack_shape)
        self._dtype = np.dtype(dtype)
        self._pool = self._new_pool()

    @property
    def capacity(self) -> int:
        """Maximum number of rows kept."""
        return self._rows.capacity

    @property
    def num_added(self) -> int:
        """Rows ever added, including those evicted since; the next row gets this id."""
        return self._rows.num_added

    def __len__(self) -> int:
        """Rows currently stored."""
        return len(self._rows)

    @property
    def frame_columns(self) -> tuple[str, ...]:
        """The columns stored a frame at a time."""
        return self._frame_columns

    @property
    def pool(self) -> FramePool:
        """The frames the rows point into."""
        return self._pool

    @property
    def spec(self) -> Spec:
        """Column name -> (per-row shape, dtype), as added; empty before the first add."""
        spec = self._rows.spec
        for name in self._frame_columns:
            if name in spec:
                spec[name] = (self._stack_shape, self._dtype)
        return spec

    @property
    def nbytes(self) -> int:
        """Bytes used: the rows' columns (frame slots included) and the frame pool."""
        return self._rows.nbytes + self._pool.nbytes

    def add(self, columns: Mapping[str, npt.ArrayLike]) -> IndexArray:
        """Append rows, as :meth:`CircularStorage.add`; frame stacks are stored by frame.

        Raises:
            ValueError: As :meth:`CircularStorage.add`, or a frame column that is not of the
                stack shape and dtype this storage was made for.
        """
        if not isinstance(columns, Mapping):
            raise ValueError(
                f"add: expected a SampleBatch or a dict of columns, got {type(columns).__name__}"
            )
        stacks = {name: np.asarray(v) for name, v in columns.items() if name in self._frame_columns}
        for name, stack in stacks.items():
            self._check_stack(name, stack)
        k = self._stack_shape[0]
        placeholders = {
            name: np.zeros((stack.shape[0], k), dtype=np.int64) for name, stack in stacks.items()
        }
        arrays = self._rows.check_columns({**columns, **placeholders})
        if not arrays:
            return np.empty(0, dtype=np.int64)
        n = len(next(iter(arrays.values())))
        capacity, added = self.capacity, self.num_added
        skip = max(0, n - capacity)  # rows this call would overwrite itself: never stored
        first, last = max(0, added - capacity), min(added, max(0, added + n - capacity))
        evicted = (
            self._rows.get(np.arange(first, last) % capacity) if last > first else SampleBatch()
        )
        frame_shape = self._stack_shape[1:]
        for name, stack in stacks.items():
            frames = stack[skip:].astype(self._dtype, copy=False).reshape(-1, *frame_shape)
            placeholders[name][skip:] = self._pool.intern(frames).reshape(-1, k)
        ids = self._rows.add({**arrays, **placeholders})
        # Released after the new rows' frames were interned, so that a frame the new rows
        # share with the evicted ones is kept, not freed and stored again.
        for name in self._frame_columns:
            if name in evicted:
                self._pool.release(evicted[name])
        return ids

    def get(self, slots: npt.ArrayLike) -> SampleBatch:
        """Rows at ``slots`` (``[B]`` ints in ``[0, len(self))``), stacks rebuilt from frames."""
        rows = self._rows.get(slots).columns
        for name in self._frame_columns:
            if name in rows:
                rows[name] = self._pool.gather(rows[name])
        return SampleBatch(rows)

    def ids_of_slots(self, slots: IndexArray) -> IndexArray:
        """The id of the row now stored in each of ``slots``."""
        return self._rows.ids_of_slots(slots)

    def live(self, ids: IndexArray) -> BoolArray:
        """``[B]`` mask: the row with each id is still stored (see :meth:`CircularStorage.live`)."""
        return self._rows.live(ids)

    def state_dict(self) -> dict[str, np.ndarray | int]:
        """Plain ints and numpy arrays: :meth:`CircularStorage.state_dict`'s keys for the other
        columns, ``frames/<name>`` ``[rows, k]`` int64 indices into ``frame_pool``
        ``[F, *frame_shape]`` (the distinct frames the stored rows use) for the frame columns."""
        state = self._rows.state_dict()
        slots = [np.asarray(state.pop(COLUMN_PREFIX + name)) for name in self._frame_columns]
        if not slots:
            return state
        used, inverse = np.unique(
            np.concatenate([s.reshape(-1) for s in slots]), return_inverse=True
        )
        state[FRAME_POOL_KEY] = self._pool.gather(used)
        offset = 0
        for name, column in zip(self._frame_columns, slots, strict=True):
            state[FRAMES_PREFIX + name] = inverse[offset : offset + column.size].reshape(
                column.shape
            )
            offset += column.size
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray | int]) -> None:
        """Restore from :meth:`state_dict`, or from a :class:`CircularStorage` state whose frame
        columns hold whole stacks (a buffer saved before frames were stored once).

        Raises:
            ValueError: As :meth:`CircularStorage.load_state_dict`, or frame indices that do
                not fit the frames saved with them.
        """
        rows_state = {k: v for k, v in state.items() if not _is_frame_key(k)}
        k = self._stack_shape[0]
        frame_shape = self._stack_shape[1:]
        if FRAME_POOL_KEY in state:
            frames = np.asarray(state[FRAME_POOL_KEY])
            if frames.shape[1:] != frame_shape or frames.dtype != self._dtype:
                raise ValueError(
                    f"FrameStackStorage.load_state_dict: {FRAME_POOL_KEY} holds frames of shape "
                    f"{frames.shape[1:]} and dtype {frames.dtype}, expected {frame_shape} and "
                    f"{self._dtype}"
                )
            indices = {
                name: self._saved_indices(state, name, frames.shape[0])
                for name in self._frame_columns
            }
            flat = np.concatenate([i.reshape(-1) for i in indices.values()])
            used, inverse = np.unique(flat, return_inverse=True)
            counts = np.bincount(inverse, minlength=used.shape[0])
            pool = self._new_pool()
            pool.load(frames[used], counts)
            offset = 0
            for name, index in indices.items():
                rows_state[COLUMN_PREFIX + name] = inverse[offset : offset + index.size].reshape(
                    -1, k
                )
                offset += index.size
        else:
            pool = self._new_pool()
            for name in self._frame_columns:
                key = COLUMN_PREFIX + name
                if key not in state:
                    raise ValueError(f"FrameStackStorage.load_state_dict: missing key {key!r}")
                stacks = np.asarray(state[key])
                if stacks.shape[1:] != self._stack_shape:
                    raise ValueError(
                        f"FrameStackStorage.load_state_dict: column {key!r} has per-row shape "
                        f"{stacks.shape[1:]}, expected {self._stack_shape}"
                    )
                frames = stacks.astype(self._dtype, copy=False).reshape(-1, *frame_shape)
                rows_state[key] = pool.intern(frames).reshape(-1, k)
        self._rows.load_state_dict(rows_state)
        self._pool = pool

    def _new_pool(self) -> FramePool:
        # Room for 1.125 frames a row in the first chunk: consecutive stacks of one env share
        # all frames but the newest, so a full buffer holds about one a row (plus an episode's
        # last next_obs), and sampling gathers from one array (from several, a sample of 512
        # took ~1.7x as long). Pages are committed only as frames are written.
        chunk = self.capacity + -(-self.capacity // 8)
        return FramePool(self._stack_shape[1:], self._dtype, chunk)

    def _saved_indices(
        self, state: Mapping[str, np.ndarray | int], name: str, frames: int
    ) -> np.ndarray:
        key = FRAMES_PREFIX + name
        if key not in state:
            raise ValueError(f"FrameStackStorage.load_state_dict: missing key {key!r}")
        index = np.asarray(state[key])
        k = self._stack_shape[0]
        if index.ndim != 2 or index.shape[1] != k or index.dtype.kind not in "iu":
            raise ValueError(
                f"FrameStackStorage.load_state_dict: {key!r} must be [rows, {k}] integers, "
                f"got shape {index.shape} and dtype {index.dtype}"
            )
        if index.size and (index.min() < 0 or index.max() >= frames):
            raise ValueError(
                f"FrameStackStorage.load_state_dict: {key!r} points outside the {frames} frames "
                f"of {FRAME_POOL_KEY!r}"
            )
        return index.astype(np.int64, copy=False)

    def _check_stack(self, name: str, stack: np.ndarray) -> None:
        if stack.shape[1:] != self._stack_shape:
            raise ValueError(
                f"add: column {name!r} has per-row shape {stack.shape[1:]}, "
                f"but the first add had {self._stack_shape}"
            )
        if not np.can_cast(stack.dtype, self._dtype, casting="same_kind"):
            raise ValueError(
                f"add: column {name!r} has dtype {stack.dtype}, which does not fit the "
                f"column's dtype {self._dtype} from the first add"
            )


def _is_frame_key(key: str) -> bool:
    return key == FRAME_POOL_KEY or key.startswith(FRAMES_PREFIX)


def expand_frames(state: Mapping[str, np.ndarray | int]) -> dict[str, np.ndarray | int]:
    """A :meth:`FrameStackStorage.state_dict` as a :class:`CircularStorage` state: every frame
    column's whole stacks under ``column/<name>`` (a state without frames is returned as is)."""
    if FRAME_POOL_KEY not in state:
        return dict(state)
    frames = np.asarray(state[FRAME_POOL_KEY])
    expanded = {k: v for k, v in state.items() if not _is_frame_key(k)}
    for key, value in state.items():
        if key.startswith(FRAMES_PREFIX):
            index = np.asarray(value, dtype=np.int64)
            if index.size and (index.min() < 0 or index.max() >= frames.shape[0]):
                raise ValueError(
                    f"load_state_dict: {key!r} points outside the {frames.shape[0]} frames of "
                    f"{FRAME_POOL_KEY!r}"
                )
            expanded[COLUMN_PREFIX + key[len(FRAMES_PREFIX) :]] = frames[index]
    return expanded


def storage_spec(state: Mapping[str, np.ndarray | int]) -> Spec:
    """Column name -> (per-row shape, dtype) that a storage state dict holds."""
    spec: Spec = {}
    frames = np.asarray(state[FRAME_POOL_KEY]) if FRAME_POOL_KEY in state else None
    for key, value in state.items():
        if key.startswith(COLUMN_PREFIX):
            array = np.asarray(value)
            if array.ndim:
                spec[key[len(COLUMN_PREFIX) :]] = (tuple(array.shape[1:]), array.dtype)
        elif key.startswith(FRAMES_PREFIX) and frames is not None:
            index = np.asarray(value)
            shape = (*index.shape[1:], *frames.shape[1:])
            spec[key[len(FRAMES_PREFIX) :]] = (tuple(shape), frames.dtype)
    return spec


def storage_for_state(
    capacity: int, state: Mapping[str, np.ndarray | int], store_frames_once: bool
) -> CircularStorage | FrameStackStorage:
    """A storage of ``capacity`` loaded from ``state`` (either kind of storage's state dict):
    a :class:`FrameStackStorage` when ``store_frames_once`` and the state holds frame stacks,
    else a :class:`CircularStorage`.

    Raises:
        ValueError: As the storages' ``load_state_dict``.
    """
    spec = storage_spec(state)
    columns = frame_stack_columns(spec) if store_frames_once else ()
    storage: CircularStorage | FrameStackStorage
    if columns:
        shape, dtype = spec["obs"]
        storage = FrameStackStorage(capacity, columns, shape, dtype)
        if FRAME_POOL_KEY in state and set(columns) != _saved_frame_columns(state):
            # Saved with other frame columns (next_obs of another shape, say): go via stacks.
            state = expand_frames(state)
        storage.load_state_dict(state)
    else:
        storage = CircularStorage(capacity)
        storage.load_state_dict(expand_frames(state))
    return storage


def _saved_frame_columns(state: Mapping[str, np.ndarray | int]) -> set[str]:
    return {k[len(FRAMES_PREFIX) :] for k in state if k.startswith(FRAMES_PREFIX)}
