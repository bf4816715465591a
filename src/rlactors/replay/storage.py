"""Circular FIFO storage of named numpy columns (the "storage" of TorchRL's storage/sampler split).

Rows are written at a cursor that wraps around; at capacity the oldest row is overwritten. Every
row gets an *id*: its position in the stream of all rows ever added (0, 1, 2, ...). The id names
both the slot (``id % capacity``) and the row's generation, and because eviction is strictly FIFO,
a row is still stored exactly when ``id >= num_added - capacity``. That is how the buffer drops
priority updates for rows overwritten since they were sampled, with no per-slot bookkeeping.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from rlactors.core import SampleBatch

IndexArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Prefix of column keys in :meth:`CircularStorage.state_dict`.
COLUMN_PREFIX = "column/"


def check_capacity(capacity: object, owner: str) -> int:
    """``capacity`` as an int, or ValueError naming ``owner`` if it is not a positive integer."""
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity <= 0:
        raise ValueError(f"{owner}: capacity must be a positive integer, got {capacity!r}")
    return int(capacity)


class CircularStorage:
    """Fixed-capacity columnar storage; the first :meth:`add` fixes column names, shapes, dtypes.

    Args:
        capacity: Maximum number of rows kept, > 0.

    Raises:
        ValueError: ``capacity`` is not a positive integer.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = check_capacity(capacity, "CircularStorage")
        self._num_added = 0
        self._columns: dict[str, np.ndarray] = {}

    @property
    def capacity(self) -> int:
        """Maximum number of rows kept."""
        return self._capacity

    @property
    def num_added(self) -> int:
        """Rows ever added, including those evicted since; the next row gets this id."""
        return self._num_added

    def __len__(self) -> int:
        """Rows currently stored: ``min(num_added, capacity)``."""
        return min(self._num_added, self._capacity)

    @property
    def spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Column name -> (per-row shape, dtype); empty before the first add."""
        return {k: (tuple(v.shape[1:]), v.dtype) for k, v in self._columns.items()}

    @property
    def nbytes(self) -> int:
        """Bytes of the columns, allocated for ``capacity`` rows at the first add."""
        return sum(column.nbytes for column in self._columns.values())

    def add(self, columns: Mapping[str, npt.ArrayLike]) -> IndexArray:
        """Append rows, overwriting the oldest ones at capacity.

        Args:
            columns: Column name -> ``[n, *shape]`` array (a :class:`SampleBatch` or a dict). The
                first add fixes names, per-row shapes and dtypes; later values are cast to those
                dtypes when numpy allows it without changing kind (int into a float column is fine,
                float into an int column is not). A mapping with no columns adds nothing.

        Returns:
            ``[n]`` int64 ids of the new rows. If ``n > capacity`` only the last ``capacity`` rows
            are kept, and the ids of the others are already stale.

        Raises:
            ValueError: Columns of unequal length, scalar columns, or names/shapes/dtypes that
                differ from the first add.
        """
        arrays = self.check_columns(columns)
        if not arrays:
            return np.empty(0, dtype=np.int64)
        n = len(next(iter(arrays.values())))
        if not self._columns:
            self._columns = {
                k: np.zeros((self._capacity, *v.shape[1:]), dtype=v.dtype)
                for k, v in arrays.items()
            }
        ids = np.arange(self._num_added, self._num_added + n, dtype=np.int64)
        # Rows beyond the last `capacity` would be overwritten within this same call: skip them.
        skip = max(0, n - self._capacity)
        kept = n - skip
        start = (self._num_added + skip) % self._capacity
        first = min(kept, self._capacity - start)
        # Two contiguous slice copies (before and after the wrap) instead of a fancy-index scatter.
        for name, column in self._columns.items():
            rows = arrays[name]
            column[start : start + first] = rows[skip : skip + first]
            if first < kept:
                column[: kept - first] = rows[skip + first :]
        self._num_added += n
        return ids

    def get(self, slots: npt.ArrayLike) -> SampleBatch:
        """Rows at ``slots`` (``[B]`` ints in ``[0, len(self))``), copied into a SampleBatch."""
        idx = np.asarray(slots, dtype=np.int64)
        return SampleBatch({k: v.take(idx, axis=0) for k, v in self._columns.items()})

    def ids_of_slots(self, slots: IndexArray) -> IndexArray:
        """The id of the row now stored in each of ``slots`` (``[B]``, each < ``len(self)``)."""
        # The newest row sits at slot (num_added - 1) % capacity; slot s holds the row that many
        # positions older, counting backwards around the ring.
        last = self._num_added - 1
        return last - (last - slots) % self._capacity

    def live(self, ids: IndexArray) -> BoolArray:
        """``[B]`` mask: the row with each id is still stored (not yet overwritten).

        Raises:
            ValueError: An id is negative or was never handed out (``>= num_added``).
        """
        if ids.size and (ids.min() < 0 or ids.max() >= self._num_added):
            raise ValueError(
                f"ids must lie in [0, {self._num_added}) (rows added so far), "
                f"got [{ids.min()}, {ids.max()}]"
            )
        return ids >= self._num_added - self._capacity

    def state_dict(self) -> dict[str, np.ndarray | int]:
        """Plain ints and copied numpy arrays: ``capacity``, ``num_added``, ``column/<name>``.

        Each column holds the ``len(self)`` stored rows in slot order.
        """
        size = len(self)
        state: dict[str, np.ndarray | int] = {
            "capacity": self._capacity,
            "num_added": self._num_added,
        }
        for name, column in self._columns.items():
            state[COLUMN_PREFIX + name] = column[:size].copy()
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray | int]) -> None:
        """Restore from :meth:`state_dict` (keys of other owners are ignored).

        Raises:
            ValueError: A different capacity, a missing key, or columns of the wrong length.
        """
        for key in ("capacity", "num_added"):
            if key not in state:
                raise ValueError(f"CircularStorage.load_state_dict: missing key {key!r}")
        capacity = int(state["capacity"])
        if capacity != self._capacity:
            raise ValueError(
                f"CircularStorage.load_state_dict: state has capacity {capacity}, "
                f"this storage {self._capacity}"
            )
        num_added = int(state["num_added"])
        if num_added < 0:
            raise ValueError(f"CircularStorage.load_state_dict: num_added {num_added} < 0")
        size = min(num_added, capacity)
        columns: dict[str, np.ndarray] = {}
        for key, value in state.items():
            if not key.startswith(COLUMN_PREFIX):
                continue
            rows = np.asarray(value)
            if rows.ndim == 0 or rows.shape[0] != size:
                raise ValueError(
                    f"CircularStorage.load_state_dict: column {key!r} has shape {rows.shape}, "
                    f"expected {size} rows"
                )
            column = np.zeros((capacity, *rows.shape[1:]), dtype=rows.dtype)
            column[:size] = rows
            columns[key[len(COLUMN_PREFIX) :]] = column
        if size and not columns:
            raise ValueError(
                "CircularStorage.load_state_dict: rows were stored but no columns given"
            )
        self._columns = columns
        self._num_added = num_added

    def check_columns(self, columns: Mapping[str, npt.ArrayLike]) -> dict[str, np.ndarray]:
        """``columns`` as arrays, checked as :meth:`add` checks them, without writing anything.

        Raises:
            ValueError: As :meth:`add`.
        """
        if not isinstance(columns, Mapping):
            raise ValueError(
                f"add: expected a SampleBatch or a dict of columns, got {type(columns).__name__}"
            )
        arrays = {k: np.asarray(v) for k, v in columns.items()}
        if not arrays:
            return arrays
        for name, array in arrays.items():
            if not isinstance(name, str):
                raise ValueError(f"add: column names must be strings, got {name!r}")
            if array.ndim == 0:
                raise ValueError(
                    f"add: column {name!r} is a scalar; columns need a leading row axis [n, ...]"
                )
        lengths = {k: v.shape[0] for k, v in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"add: columns differ in length (rows): {lengths}")
        if not self._columns:
            return arrays
        missing = sorted(set(self._columns) - set(arrays))
        extra = sorted(set(arrays) - set(self._columns))
        if missing or extra:
            raise ValueError(
                f"add: columns do not match the first add: missing {missing}, unexpected {extra} "
                f"(expected {sorted(self._columns)})"
            )
        for name, array in arrays.items():
            column = self._columns[name]
            if array.shape[1:] != column.shape[1:]:
                raise ValueError(
                    f"add: column {name!r} has per-row shape {array.shape[1:]}, "
                    f"but the first add had {column.shape[1:]}"
                )
            if not np.can_cast(array.dtype, column.dtype, casting="same_kind"):
                raise ValueError(
                    f"add: column {name!r} has dtype {array.dtype}, which does not fit the "
                    f"column's dtype {column.dtype} from the first add"
                )
        return arrays
