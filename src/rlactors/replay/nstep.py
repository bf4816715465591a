"""Turns a stream of one-step transitions into n-step transitions (Sutton & Barto, ch. 7).

Ape-X (Horgan et al., 2018) learns from n-step targets ``r_t + gamma r_{t+1} + ... +
gamma^{n-1} r_{t+n-1} + gamma^n max_a Q(s_{t+n}, a)``. Computing the return on the actor side, as
the evaluator adds steps, lets replay store one row per transition and keeps the learner's loss
the same for any n: ``rewards`` already holds the discounted sum and ``discounts`` the factor in
front of the bootstrap (see :mod:`rlactors.losses.q_losses`).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

from rlactors.core import SampleBatch


class NStepAccumulator:
    """Collects steps of one environment stream and emits n-step transitions.

    Feed it every step, in order. Each emitted row starting at step ``t`` and spanning ``m`` steps
    (``m = n``, or fewer at the end of an episode) holds:

    - ``obs``: ``s_t``; ``actions``: ``a_t``;
    - ``rewards``: ``sum_{k<m} gamma**k * r_{t+k}`` (float32);
    - ``next_obs``: ``s_{t+m}``, the state to bootstrap from;
    - ``discounts``: ``gamma**m``, or 0.0 if the episode terminated within those m steps
      (float32).

    When an episode ends, every pending step is flushed at once: on ``terminated`` with discount
    0 (a terminal state has no future value), on ``truncated`` (a time limit, not a real end) with
    ``gamma**m`` and the last ``next_obs`` to bootstrap from. ``terminated`` wins if both are set,
    as in Gymnasium. For K parallel environments, keep one accumulator per environment and
    concatenate their outputs with :meth:`SampleBatch.concat`.

    Args:
        n: Steps per transition, >= 1 (1 gives ordinary one-step transitions).
        gamma: Discount per step, in ``[0, 1]``.

    Raises:
        ValueError: ``n`` or ``gamma`` out of range.
    """

    def __init__(self, n: int, gamma: float) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"NStepAccumulator: n must be an integer >= 1, got {n!r}")
        if not (math.isfinite(gamma) and 0.0 <= gamma <= 1.0):
            raise ValueError(f"NStepAccumulator: gamma must lie in [0, 1], got {gamma}")
        self.n = int(n)
        self.gamma = float(gamma)
        # gamma**k for k = 0..n, so a return is one dot product.
        self._powers = self.gamma ** np.arange(self.n + 1, dtype=np.float64)
        self._obs: deque[np.ndarray] = deque()
        self._actions: deque[np.ndarray] = deque()
        self._rewards: deque[float] = deque()

    def __len__(self) -> int:
        """Steps waiting for their n-step return (at most ``n - 1`` between calls)."""
        return len(self._obs)

    def clear(self) -> None:
        """Drop pending steps without emitting them (e.g. the env was reset mid-episode)."""
        self._obs.clear()
        self._actions.clear()
        self._rewards.clear()

    def add(
        self,
        obs: npt.ArrayLike,
        action: Any,
        reward: float,
        next_obs: npt.ArrayLike,
        terminated: bool,
        truncated: bool,
    ) -> SampleBatch:
        """Record one step ``(s_t, a_t, r_t, s_{t+1})`` and return the transitions now complete.

        Args:
            obs: ``s_t``, ``[*obs_shape]``.
            action: ``a_t``, a scalar or ``[*action_shape]``.
            reward: ``r_t``, received for ``a_t``.
            next_obs: ``s_{t+1}``, ``[*obs_shape]``.
            terminated: ``s_{t+1}`` is terminal.
            truncated: The episode was cut after this step (bootstrap from ``s_{t+1}``).

        Returns:
            A :class:`SampleBatch` of 0 to ``n`` rows with columns ``obs``, ``actions``,
            ``rewards``, ``next_obs``, ``discounts`` (0 rows mid-episode until ``n`` steps are
            pending; all pending steps at an episode's end).
        """
        # Copies: environments may hand out the same buffer every step and write into it.
        self._obs.append(np.array(obs, copy=True))
        self._actions.append(np.array(action, copy=True))
        self._rewards.append(float(reward))
        next_state = np.array(next_obs, copy=True)
        if terminated or truncated:
            # Every pending step ends here: the i-th oldest spans m = pending - i steps.
            count = len(self._obs)
            spans = np.arange(count, 0, -1)
            discounts = np.zeros(count) if terminated else self._powers[spans]
            return self._emit(count, spans, next_state, discounts)
        if len(self._obs) == self.n:
            return self._emit(1, np.array([self.n]), next_state, self._powers[[self.n]])
        return self._empty(next_state)

    def truncate(self, next_obs: npt.ArrayLike) -> SampleBatch:
        """End the episode as truncated at ``next_obs`` without adding a step: every pending
        step becomes a transition bootstrapping from it.

        For an env that crashed after ``s_t``: the step ``(s_t, a_t)`` was lost, but the pending
        steps before it are real transitions of a partial episode, and each one's next state
        after its ``m`` steps is ``s_t`` (so ``next_obs`` is ``s_t``, discount ``gamma**m``).

        Args:
            next_obs: The state to bootstrap from, ``[*obs_shape]``: the newest pending step's
                next state.

        Returns:
            The pending steps as transitions, oldest first; a batch with no columns if none
            were pending.
        """
        count = len(self._obs)
        if not count:
            return SampleBatch()
        spans = np.arange(count, 0, -1)
        return self._emit(count, spans, np.array(next_obs, copy=True), self._powers[spans])

    def _emit(
        self,
        count: int,
        spans: npt.NDArray[np.int64],
        next_state: np.ndarray,
        discounts: npt.NDArray[np.float64],
    ) -> SampleBatch:
        """Pop the ``count`` oldest pending steps as transitions spanning ``spans`` steps each."""
        rewards = np.fromiter(self._rewards, dtype=np.float64, count=len(self._rewards))
        # Row i sums rewards[i : i + spans[i]]; every row here ends at the newest step, so the
        # return of row i is the dot product of that suffix with gamma**0, gamma**1, ...
        returns = np.array(
            [rewards[i : i + span] @ self._powers[:span] for i, span in enumerate(spans)]
        )
        obs = [self._obs.popleft() for _ in range(count)]
        actions = [self._actions.popleft() for _ in range(count)]
        for _ in range(count):
            self._rewards.popleft()
        return SampleBatch(
            obs=np.stack(obs),
            actions=np.stack(actions),
            rewards=returns.astype(np.float32),
            next_obs=np.repeat(next_state[None], count, axis=0),
            discounts=discounts.astype(np.float32),
        )

    def _empty(self, next_state: np.ndarray) -> SampleBatch:
        """No rows, but with the column shapes and dtypes a full batch would have."""
        action = self._actions[-1]
        return SampleBatch(
            obs=np.empty((0, *self._obs[-1].shape), dtype=self._obs[-1].dtype),
            actions=np.empty((0, *action.shape), dtype=action.dtype),
            rewards=np.empty(0, dtype=np.float32),
            next_obs=np.empty((0, *next_state.shape), dtype=next_state.dtype),
            discounts=np.empty(0, dtype=np.float32),
        )
