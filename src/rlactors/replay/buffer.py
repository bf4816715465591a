"""ReplayBuffer: a :class:`CircularStorage` (the rows) composed with a :class:`Sampler`.

Usage, as an Ape-X replay actor runs it::

    buffer = ReplayBuffer(capacity=1_000_000, sampler=PrioritizedSampler(alpha=0.6))
    buffer.add(batch, priorities=initial_priorities)   # from an evaluator; or no priorities
    batch, ids, weights = buffer.sample(512, rng, beta=0.4)
    ...                                                 # learner: loss weighted by `weights`
    buffer.update_priorities(ids, np.abs(td_error))     # rows overwritten meanwhile are skipped

Frame-stack observations (Atari's ``[4, 84, 84]`` uint8) are stored one frame at a time, each
distinct frame once (:mod:`rlactors.replay.frame_storage`), unless ``store_frames_once=False``;
what is sampled is the same either way, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rlactors.core import SampleBatch
from rlactors.replay.frame_storage import (
    FRAME_POOL_KEY,
    FRAMES_PREFIX,
    FrameStackStorage,
    columns_spec,
    frame_stack_columns,
    storage_for_state,
)
from rlactors.replay.samplers import Sampler, UniformSampler, check_priorities
from rlactors.replay.storage import COLUMN_PREFIX, CircularStorage, check_capacity

IndexArray = npt.NDArray[np.int64]
WeightArray = npt.NDArray[np.float32]

#: Prefix of the sampler's keys in :meth:`ReplayBuffer.state_dict`.
SAMPLER_PREFIX = "sampler/"


class ReplaySample(NamedTuple):
    """One sampled batch; unpacks as ``batch, ids, weights``.

    Attributes:
        batch: ``[B]`` rows with the stored columns.
        ids: ``[B]`` int64 row ids, to pass back to :meth:`ReplayBuffer.update_priorities`. An id
            names the row *and* its generation: once the row is overwritten, its id is stale.
        weights: ``[B]`` float32 importance-sampling weights in ``(0, 1]`` (all 1 for uniform).
    """

    batch: SampleBatch
    ids: IndexArray
    weights: WeightArray


class ReplayBuffer:
    """A FIFO replay buffer of named columns with uniform or prioritized sampling.

    Args:
        capacity: Maximum number of rows (transitions), > 0; the oldest are evicted first.
        sampler: How rows are chosen; :class:`UniformSampler` if None. The buffer resets it to
            ``capacity``, so a sampler must not be shared between buffers.
        store_frames_once: When the first add's ``obs`` is a frame stack (uint8/bool
            ``[k, H, W]``, ``k < H, W``; see :func:`~rlactors.replay.frame_storage.
            is_frame_stack`), store ``obs`` and ``next_obs`` a frame at a time, each distinct
            frame once (:class:`~rlactors.replay.frame_storage.FrameStackStorage`). False
            stores every row's stacks in full, as for any other observation.

    Raises:
        ValueError: ``capacity`` is not a positive integer.
    """

    def __init__(
        self, capacity: int, sampler: Sampler | None = None, *, store_frames_once: bool = True
    ) -> None:
        self._storage: CircularStorage | FrameStackStorage = CircularStorage(
            check_capacity(capacity, "ReplayBuffer")
        )
        self._store_frames_once = bool(store_frames_once)
        self._sampler: Sampler = UniformSampler() if sampler is None else sampler
        self._sampler.reset(self._storage.capacity)

    @property
    def capacity(self) -> int:
        """Maximum number of rows."""
        return self._storage.capacity

    @property
    def num_added(self) -> int:
        """Rows ever added, including evicted ones."""
        return self._storage.num_added

    @property
    def storage(self) -> CircularStorage | FrameStackStorage:
        """Where the rows are: a :class:`FrameStackStorage` once frame stacks were added (with
        ``store_frames_once``), else a :class:`CircularStorage`."""
        return self._storage

    @property
    def sampler(self) -> Sampler:
        """The sampler this buffer draws with."""
        return self._sampler

    def __len__(self) -> int:
        """Rows currently stored."""
        return len(self._storage)

    def add(
        self, batch: Mapping[str, npt.ArrayLike], priorities: npt.ArrayLike | None = None
    ) -> IndexArray:
        """Append rows; at capacity the oldest rows are overwritten.

        Args:
            batch: A :class:`SampleBatch` or a dict of ``[n, ...]`` columns. The first add fixes
                the column names, per-row shapes and dtypes (see :meth:`CircularStorage.add`).
            priorities: ``[n]`` initial priorities (>= 0, e.g. ``|td_error|`` computed by an
                Ape-X evaluator), or None for the largest priority seen so far. Ignored by a
                uniform sampler.

        Returns:
            ``[n]`` int64 ids of the new rows.

        Raises:
            ValueError: Columns that differ from the first add, or bad priorities.
        """
        # Priorities are checked before anything is written, so a bad call changes nothing; and
        # for every sampler, since a NaN TD error is a bug even where priorities are unused.
        prio = None if priorities is None else check_priorities(priorities, _num_rows(batch))
        if self._store_frames_once and not self._storage.spec:
            ids = self._first_add(batch)
        else:
            ids = self._storage.add(batch)
        kept = ids[-self.capacity :]
        if kept.size:
            if prio is not None:
                prio = prio[-self.capacity :]
            self._sampler.on_add(kept % self.capacity, prio)
        return ids

    def _first_add(self, batch: Mapping[str, npt.ArrayLike]) -> IndexArray:
        """The first add: into a :class:`FrameStackStorage` if ``batch`` holds frame stacks
        (kept only if the add succeeds), else into the storage there is."""
        # Not a mapping: the storage says so, as for any add.
        spec = columns_spec(batch) if isinstance(batch, Mapping) else {}
        columns = frame_stack_columns(spec)
        if not columns:
            return self._storage.add(batch)
        storage = FrameStackStorage(self.capacity, columns, *spec["obs"])
        ids = storage.add(batch)
        self._storage = storage
        return ids

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 0.4) -> ReplaySample:
        """Draw ``batch_size`` rows (with replacement).

        Args:
            batch_size: Rows to draw, > 0.
            rng: Source of randomness (derive it from the run's root seed).
            beta: Importance-sampling exponent in ``[0, 1]`` for a prioritized sampler; pass the
                annealed value each call. Ignored by a uniform sampler.

        Returns:
            :class:`ReplaySample` ``(batch, ids, weights)``.

        Raises:
            ValueError: The buffer is empty, or ``batch_size`` is not a positive integer.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(f"sample: batch_size must be an integer, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"sample: batch_size must be > 0, got {batch_size}")
        size = len(self._storage)
        if size == 0:
            raise ValueError("sample: the replay buffer is empty; add transitions first")
        slots, weights = self._sampler.sample(int(batch_size), size, rng, beta)
        return ReplaySample(self._storage.get(slots), self._storage.ids_of_slots(slots), weights)

    def update_priorities(self, ids: npt.ArrayLike, priorities: npt.ArrayLike) -> int:
        """Set new priorities for sampled rows, skipping rows overwritten since they were sampled.

        Without the skip, a slow learner's update would land on whichever new row took the slot,
        giving it a priority computed for another transition.

        Args:
            ids: ``[n]`` ids from :meth:`sample` (or :meth:`add`).
            priorities: ``[n]`` new priorities, >= 0 (typically ``|td_error|``).

        Returns:
            The number of rows whose priority was set (``n`` minus the stale ids).

        Raises:
            ValueError: Mismatched lengths, ids never handed out, or NaN/inf/negative priorities.
        """
        id_array = np.asarray(ids)
        if id_array.dtype.kind not in "iu":
            raise ValueError(f"update_priorities: ids must be integers, got dtype {id_array.dtype}")
        id_array = id_array.astype(np.int64, copy=False).reshape(-1)
        prio = check_priorities(priorities, id_array.shape[0])
        live = self._storage.live(id_array)
        if not live.all():
            id_array, prio = id_array[live], prio[live]
        self._sampler.update(id_array % self.capacity, prio)
        return int(id_array.shape[0])

    def state_dict(self) -> dict[str, np.ndarray | int]:
        """Everything needed to resume, as plain ints and numpy arrays (no pickled objects).

        Keys: ``capacity``, ``num_added``, ``column/<name>`` (the stored rows, in slot order) and
        ``sampler/<key>`` (e.g. the prioritized sampler's leaves); with frames stored once,
        ``frames/<name>`` and ``frame_pool`` instead of the frame columns (see
        :meth:`FrameStackStorage.state_dict`). Suitable for ``np.savez``.
        """
        state = self._storage.state_dict()
        for key, value in self._sampler.state_dict(len(self._storage)).items():
            state[SAMPLER_PREFIX + key] = value
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray | int]) -> None:
        """Restore from :meth:`state_dict` into a buffer built with the same capacity and sampler.

        Either layout loads into either buffer: a state with whole stacks (saved before frames
        were stored once, or with ``store_frames_once=False``) into a frugal buffer, and the
        other way round.

        Raises:
            ValueError: A different capacity, missing keys, or inconsistent array lengths.
        """
        unknown = [
            k
            for k in state
            if k not in ("capacity", "num_added", FRAME_POOL_KEY)
            and not k.startswith((COLUMN_PREFIX, SAMPLER_PREFIX, FRAMES_PREFIX))
        ]
        if unknown:
            raise ValueError(f"load_state_dict: unknown keys {sorted(unknown)}")
        self._storage = storage_for_state(self.capacity, state, self._store_frames_once)
        sampler_state = {
            k[len(SAMPLER_PREFIX) :]: np.asarray(v)
            for k, v in state.items()
            if k.startswith(SAMPLER_PREFIX)
        }
        self._sampler.reset(self.capacity)
        self._sampler.load_state_dict(sampler_state, len(self._storage))


def _num_rows(batch: Mapping[str, npt.ArrayLike]) -> int:
    """Rows in ``batch``, without validating it (storage does that)."""
    if isinstance(batch, SampleBatch):
        return len(batch)
    if not isinstance(batch, Mapping):
        raise ValueError(
            f"add: expected a SampleBatch or a dict of columns, got {type(batch).__name__}"
        )
    for value in batch.values():
        shape = np.shape(value)
        return shape[0] if shape else 0
    return 0
