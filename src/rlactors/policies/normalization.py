"""Running observation statistics for normalization, mergeable across evaluators.

Each evaluator can keep its own :class:`RunningMeanStd` over the observations it sees; a learner
merges their states exactly with :meth:`RunningMeanStd.merge` (the pairwise update of Chan, Golub
and LeVeque, 1979, "Updating Formulae and a Pairwise Algorithm for Computing Sample Variances")
and broadcasts the result. The state is three plain numpy arrays (:meth:`get_state`), so it
travels and checkpoints like policy weights. Numpy only: no torch import.

Usage::

    stats = RunningMeanStd(shape=obs_space.shape)
    stats.update(obs_batch)                   # [B, *shape]
    obs_for_policy = stats.normalize(obs_batch)
    learner_stats.merge(RunningMeanStd.from_state(evaluator_state))
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

#: The keys of :meth:`RunningMeanStd.get_state`.
STATE_KEYS = ("mean", "var", "count")


class RunningMeanStd:
    """Mean and (population) variance of a stream of arrays, per element, in float64.

    Starts empty: ``mean`` 0, ``var`` 1 and ``count`` 0, so normalizing before any update is the
    identity (up to ``epsilon``).
    """

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        """Starts empty.

        Args:
            shape: The shape of one sample (e.g. the observation shape).
        """
        self.shape = tuple(shape)
        self.mean = np.zeros(self.shape, dtype=np.float64)
        self.var = np.ones(self.shape, dtype=np.float64)
        self.count = 0.0

    def update(self, batch: np.ndarray) -> None:
        """Adds a batch of samples.

        Args:
            batch: ``[B, *shape]``; ``B`` may be 0.

        Raises:
            ValueError: ``batch`` is not ``[B, *shape]``.
        """
        array = np.asarray(batch, dtype=np.float64)
        if array.shape[1:] != self.shape or array.ndim != len(self.shape) + 1:
            raise ValueError(
                f"RunningMeanStd.update: batch must be [B, *{self.shape}], got shape {array.shape}"
            )
        if len(array) == 0:
            return
        self._merge_moments(array.mean(axis=0), array.var(axis=0), float(len(array)))

    def merge(self, other: RunningMeanStd) -> None:
        """Adds every sample ``other`` has seen (exactly: as if they had been updated here).

        Raises:
            ValueError: The shapes differ.
        """
        if other.shape != self.shape:
            raise ValueError(f"RunningMeanStd.merge: shape {other.shape} != {self.shape}")
        self._merge_moments(other.mean, other.var, other.count)

    def normalize(
        self, x: np.ndarray, clip: float | None = 10.0, epsilon: float = 1e-8
    ) -> np.ndarray:
        """``(x - mean) / sqrt(var + epsilon)``, clipped to ``[-clip, clip]``, as float32.

        Args:
            x: ``[..., *shape]``, e.g. a batch of observations.
            clip: Bound on the normalized values (in standard deviations); None for no clipping.
            epsilon: Added to the variance so constant features do not divide by zero.

        Returns:
            Same shape as ``x``, float32.
        """
        scaled = (np.asarray(x, dtype=np.float64) - self.mean) / np.sqrt(self.var + epsilon)
        if clip is not None:
            scaled = np.clip(scaled, -clip, clip)
        result: np.ndarray = scaled.astype(np.float32)
        return result

    def get_state(self) -> dict[str, np.ndarray]:
        """The statistics as float64 arrays (copies): ``mean``, ``var`` and a 0-d ``count``."""
        return {
            "mean": self.mean.copy(),
            "var": self.var.copy(),
            "count": np.asarray(self.count, dtype=np.float64),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Loads a state from :meth:`get_state`.

        Raises:
            ValueError: A key is missing or unexpected, a shape differs, the variance is negative
                or the count is negative or not finite; nothing is changed then.
        """
        missing = sorted(set(STATE_KEYS) - set(state))
        unexpected = sorted(set(state) - set(STATE_KEYS))
        if missing or unexpected:
            raise ValueError(
                f"RunningMeanStd.set_state: missing keys {missing}, unexpected keys {unexpected}"
            )
        mean = np.array(state["mean"], dtype=np.float64)
        var = np.array(state["var"], dtype=np.float64)
        count = np.asarray(state["count"], dtype=np.float64)
        for name, value in (("mean", mean), ("var", var)):
            if value.shape != self.shape:
                raise ValueError(
                    f"RunningMeanStd.set_state: {name!r} has shape {value.shape}, "
                    f"expected {self.shape}"
                )
        if count.shape != () or not (float(count) >= 0.0 and math.isfinite(float(count))):
            raise ValueError(
                f"RunningMeanStd.set_state: count must be a finite scalar >= 0, got {count}"
            )
        if np.any(var < 0.0):
            raise ValueError("RunningMeanStd.set_state: var must be >= 0")
        self.mean, self.var, self.count = mean, var, float(count)

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray]) -> RunningMeanStd:
        """A new instance holding ``state`` (see :meth:`set_state`)."""
        stats = cls(tuple(np.shape(state["mean"])))
        stats.set_state(state)
        return stats

    def _merge_moments(self, mean: np.ndarray, var: np.ndarray, count: float) -> None:
        if count == 0.0:
            return
        if self.count == 0.0:
            self.mean, self.var, self.count = mean.astype(np.float64), var.astype(np.float64), count
            return
        # Chan et al. (1979): combine the sums of squared deviations M2 = var * n of two parts.
        total = self.count + count
        delta = mean - self.mean
        new_mean = self.mean + delta * (count / total)
        m2 = self.var * self.count + var * count + delta**2 * (self.count * count / total)
        self.mean, self.var, self.count = new_mean, m2 / total, total
