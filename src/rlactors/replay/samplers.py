"""Which stored slots a batch is drawn from: uniformly, or in proportion to priority.

A sampler sees only slots ``[0, size)`` of a storage, never the data, so the same storage serves
both. :class:`PrioritizedSampler` is proportional prioritized replay (Schaul et al., 2016,
"Prioritized Experience Replay") as Ape-X uses it (Horgan et al., 2018, "Distributed Prioritized
Experience Replay"): ``P(i) = p_i**alpha / sum_k p_k**alpha`` with ``p_i = |priority_i| + eps``,
stratified sampling, and importance-sampling weights with an annealable exponent ``beta``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rlactors.replay.storage import check_capacity
from rlactors.replay.sum_tree import SumTree

IndexArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
WeightArray = npt.NDArray[np.float32]


class Sampler(Protocol):
    """Chooses slots of a storage; a sampler belongs to one storage at a time."""

    def reset(self, capacity: int) -> None:
        """Forget all slots and size internal state for a storage of ``capacity`` slots."""

    def on_add(self, slots: IndexArray, priorities: FloatArray | None) -> None:
        """Slots ``[n]`` were (over)written with new rows; ``priorities`` ``[n]`` or None."""

    def sample(
        self, batch_size: int, size: int, rng: np.random.Generator, beta: float
    ) -> tuple[IndexArray, WeightArray]:
        """Draw ``[batch_size]`` slots from ``[0, size)``, with ``[batch_size]`` IS weights."""

    def update(self, slots: IndexArray, priorities: FloatArray) -> None:
        """Set new priorities (``[n]``, e.g. ``|td_error|``) for rows still in ``slots``."""

    def state_dict(self, size: int) -> dict[str, np.ndarray]:
        """Plain numpy arrays describing slots ``[0, size)``."""

    def load_state_dict(self, state: Mapping[str, np.ndarray], size: int) -> None:
        """Restore from :meth:`state_dict` for a storage holding ``size`` rows."""


class UniformSampler:
    """Every stored row equally likely, with replacement; priorities are ignored, weights are 1."""

    def reset(self, capacity: int) -> None:
        """Nothing to size: uniform sampling keeps no per-slot state."""

    def on_add(self, slots: IndexArray, priorities: FloatArray | None) -> None:
        """Nothing to record."""

    def sample(
        self, batch_size: int, size: int, rng: np.random.Generator, beta: float = 0.0
    ) -> tuple[IndexArray, WeightArray]:
        """``[batch_size]`` slots uniform over ``[0, size)``, unit weights; ignores ``beta``."""
        slots = rng.integers(0, size, size=batch_size, dtype=np.int64)
        return slots, np.ones(batch_size, dtype=np.float32)

    def update(self, slots: IndexArray, priorities: FloatArray) -> None:
        """Ignored: a uniform sampler has no priorities."""

    def state_dict(self, size: int) -> dict[str, np.ndarray]:
        """Empty: no state."""
        return {}

    def load_state_dict(self, state: Mapping[str, np.ndarray], size: int) -> None:
        """Nothing to restore."""


def check_priorities(priorities: npt.ArrayLike, count: int) -> FloatArray:
    """``priorities`` as ``[count]`` float64, or ValueError naming what is wrong with them.

    Raises:
        ValueError: Wrong length, or any NaN, infinite or negative priority.
    """
    p = np.asarray(priorities, dtype=np.float64).reshape(-1)
    if p.shape[0] != count:
        raise ValueError(f"expected {count} priorities (one per row), got {p.shape[0]}")
    # One cheap combined test on the hot path; the detailed diagnosis only when it fails.
    if p.size and not (np.isfinite(p).all() and p.min() >= 0.0):
        if np.isnan(p).any():
            problem = f"{int(np.isnan(p).sum())} NaN"
        elif np.isinf(p).any():
            problem = f"{int(np.isinf(p).sum())} infinite"
        else:
            problem = f"{int((p < 0).sum())} negative (min {p.min()})"
        raise ValueError(
            f"priorities must be finite and >= 0 (pass |td_error|), got {problem} value(s)"
        )
    return p


class PrioritizedSampler:
    """Proportional prioritized sampling over a :class:`SumTree`.

    Args:
        alpha: Priority exponent, >= 0: 0 is uniform, 1 fully proportional (Ape-X: 0.6).
        eps: Added to every priority so that no row gets probability 0 (a TD error of 0 today
            may not be 0 after the next learner step), > 0.

    Raises:
        ValueError: ``alpha`` or ``eps`` out of range.
    """

    def __init__(self, alpha: float = 0.6, eps: float = 1e-6) -> None:
        if not (math.isfinite(alpha) and alpha >= 0.0):
            raise ValueError(f"PrioritizedSampler: alpha must be finite and >= 0, got {alpha}")
        if not (math.isfinite(eps) and eps > 0.0):
            raise ValueError(f"PrioritizedSampler: eps must be finite and > 0, got {eps}")
        self._alpha = float(alpha)
        self._eps = float(eps)
        self._tree = SumTree(1)
        # New rows get the largest priority seen so far, so that each is replayed at least about
        # once before its TD error is known (Schaul et al., 2016, algorithm 1, line 6). Starts at
        # 1.0 as in the paper; never decreases.
        self._max_priority = 1.0

    @property
    def alpha(self) -> float:
        """Priority exponent (fixed: the tree stores priorities already raised to it)."""
        return self._alpha

    @property
    def eps(self) -> float:
        """Added to every priority before the exponent."""
        return self._eps

    @property
    def max_priority(self) -> float:
        """Largest ``priority + eps`` seen so far (before the exponent ``alpha``)."""
        return self._max_priority

    def reset(self, capacity: int) -> None:
        """Forget all priorities and size the sum tree for ``capacity`` slots."""
        self._tree = SumTree(check_capacity(capacity, "PrioritizedSampler"))
        self._max_priority = 1.0

    def on_add(self, slots: IndexArray, priorities: FloatArray | None) -> None:
        """Give the new rows ``priorities`` (``[n]``, >= 0), or the running max if None.

        Raises:
            ValueError: Bad priorities (see :func:`check_priorities`).
        """
        if priorities is None:
            values = np.full(slots.shape[0], self._max_priority**self.alpha)
        else:
            values = self._leaf_values(check_priorities(priorities, slots.shape[0]))
        if slots.shape[0] > 1 and (np.diff(slots) == 1).all():
            # Contiguous, the usual case: the storage writes rows in order and wraps only once
            # per `capacity` rows. A slice update is about 3x cheaper than a scatter.
            self._tree._write_range(int(slots[0]), values)
        else:
            self._tree._write(slots, values)

    def sample(
        self, batch_size: int, size: int, rng: np.random.Generator, beta: float = 0.4
    ) -> tuple[IndexArray, WeightArray]:
        """Draw ``[batch_size]`` slots from ``[0, size)`` with ``P(i) ∝ p_i**alpha``.

        Stratified as in Schaul et al. (2016), appendix B.2.1: ``[0, total)`` is cut into
        ``batch_size`` equal segments and one prefix sum is drawn uniformly inside each, which
        lowers the variance of the batch composition; the slots come out sorted by position.

        The importance-sampling weights ``w_i = (size * P(i))**-beta`` are divided by their
        maximum *over this batch*, as in the PER paper's algorithm 1 and Ape-X, so they only
        scale updates down and their scale does not depend on the rarest row in the whole
        buffer. After that division ``w_i = (p_i**alpha / min_batch p**alpha)**-beta``: neither
        ``size`` nor the total is needed.

        Args:
            batch_size: Number of slots, > 0.
            size: Slots in use (``[0, size)``), > 0.
            rng: Source of randomness.
            beta: IS exponent in ``[0, 1]``: 0 gives unit weights, 1 fully corrects the bias
                (anneal it towards 1 over training; Ape-X keeps 0.4).

        Returns:
            ``([batch_size]`` int64 slots, ``[batch_size]`` float32 weights in ``(0, 1]``).

        Raises:
            ValueError: ``beta`` outside ``[0, 1]``.
        """
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"PrioritizedSampler.sample: beta must lie in [0, 1], got {beta}")
        tree = self._tree
        segment = tree.total / batch_size
        prefix = (np.arange(batch_size, dtype=np.float64) + rng.random(batch_size)) * segment
        slots = tree.find(prefix)
        # Slots past `size` hold priority 0 and are reachable only through rounding at the top end.
        np.minimum(slots, size - 1, out=slots)
        leaf = tree._get(slots)
        if beta == 0.0:
            return slots, np.ones(batch_size, dtype=np.float32)
        weights = (leaf / leaf.min()) ** -beta
        return slots, weights.astype(np.float32)

    def update(self, slots: IndexArray, priorities: FloatArray) -> None:
        """Set the priorities of ``slots`` to ``priorities + eps`` (``[n]``, >= 0).

        Raises:
            ValueError: Bad priorities (see :func:`check_priorities`).
        """
        self._tree._write(slots, self._leaf_values(check_priorities(priorities, slots.shape[0])))

    def priorities(self, slots: npt.ArrayLike) -> FloatArray:
        """Sampling weights ``(priority + eps)**alpha`` of ``slots`` (``[B]`` float64)."""
        return self._tree.get(slots)

    def state_dict(self, size: int) -> dict[str, np.ndarray]:
        """``leaves`` ``[size]`` (``(priority + eps)**alpha``), ``max_priority`` and ``alpha``.

        The scalars are 0-d float64 arrays, so the whole state stays plain numpy.
        """
        return {
            "leaves": self._tree.values()[:size],
            "max_priority": np.array(self._max_priority),
            "alpha": np.array(self.alpha),
        }

    def load_state_dict(self, state: Mapping[str, np.ndarray], size: int) -> None:
        """Restore from :meth:`state_dict` (after :meth:`reset` sized the tree).

        Raises:
            ValueError: A missing key, a different ``alpha``, or ``leaves`` of the wrong length.
        """
        for key in ("leaves", "max_priority", "alpha"):
            if key not in state:
                raise ValueError(f"PrioritizedSampler.load_state_dict: missing key {key!r}")
        alpha = float(state["alpha"])
        if alpha != self.alpha:
            # The leaves hold p**alpha: reusing them under another alpha would silently mix both.
            raise ValueError(
                f"PrioritizedSampler.load_state_dict: state was saved with alpha={alpha}, "
                f"this sampler has alpha={self.alpha}"
            )
        leaves = np.asarray(state["leaves"], dtype=np.float64).reshape(-1)
        if leaves.shape[0] != size:
            raise ValueError(
                f"PrioritizedSampler.load_state_dict: {leaves.shape[0]} leaves for {size} rows"
            )
        self._tree.set_all(leaves)
        self._max_priority = float(state["max_priority"])

    def _leaf_values(self, priorities: FloatArray) -> FloatArray:
        """``(priorities + eps)**alpha`` for the tree; raises the running max on the way."""
        p = priorities + self.eps
        if p.size:
            self._max_priority = max(self._max_priority, float(p.max()))
        return p**self.alpha
