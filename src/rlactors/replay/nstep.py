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


class VectorNStepAccumulator:
    """:class:`NStepAccumulator` for ``K`` env streams stepped in lockstep, with array operations.

    An evaluator steps its ``K`` envs together (:class:`~rlactors.envs.EnvBatch`). Feeding ``K``
    scalar accumulators costs a Python call, three copies and a small ``SampleBatch`` per env
    step, which made the n-step bookkeeping cost more than CartPole's steps themselves. This
    keeps the steps as ``[K]`` rows and turns them into transitions once per :meth:`flush`, with
    a few array operations per offset ``0..n-1``.

    :meth:`flush` returns exactly the rows ``K`` :class:`NStepAccumulator` fed the same steps
    would have emitted (env ``k`` feeding accumulator ``k``; a lost step calling its
    ``truncate``), in the same order: by the step at which each was emitted, then by env, then
    oldest first (the rewards up to float rounding: they are summed in another order). Steps
    still short of ``n`` wait for the next flush (at most ``n - 1`` per env), so no step is
    lost between calls.

    Args:
        n: Steps per transition, >= 1.
        gamma: Discount per step, in ``[0, 1]``.
        num_envs: ``K``, the streams.

    Raises:
        ValueError: ``n``, ``gamma`` or ``num_envs`` out of range.
    """

    def __init__(self, n: int, gamma: float, num_envs: int) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"VectorNStepAccumulator: n must be an integer >= 1, got {n!r}")
        if not (math.isfinite(gamma) and 0.0 <= gamma <= 1.0):
            raise ValueError(f"VectorNStepAccumulator: gamma must lie in [0, 1], got {gamma}")
        if (
            isinstance(num_envs, bool)
            or not isinstance(num_envs, (int, np.integer))
            or num_envs < 1
        ):
            raise ValueError(
                f"VectorNStepAccumulator: num_envs must be an integer >= 1, got {num_envs!r}"
            )
        self.n = int(n)
        self.num_envs = int(num_envs)
        self._powers = float(gamma) ** np.arange(self.n + 1, dtype=np.float64)
        # One [K, ...] entry per lockstep step since the last flush, after the carried ones;
        # stacked at flush time. `_pending[t]` marks the real steps not yet emitted.
        self._obs: list[np.ndarray] = []
        self._actions: list[np.ndarray] = []
        self._rewards: list[np.ndarray] = []
        self._next_obs: list[np.ndarray] = []
        self._terminated: list[np.ndarray] = []
        self._truncated: list[np.ndarray] = []
        self._lost: list[np.ndarray] = []
        self._pending: list[np.ndarray] = []

    def __len__(self) -> int:
        """Steps, over all envs, waiting for their n-step return."""
        return sum(int(p.sum()) for p in self._pending)

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: npt.ArrayLike,
        next_obs: np.ndarray,
        terminated: npt.ArrayLike,
        truncated: npt.ArrayLike,
        lost: npt.ArrayLike | None = None,
    ) -> None:
        """Record one lockstep step of every env, ``(s_t, a_t, r_t, s_{t+1})`` per row.

        The arrays are kept, not copied, until :meth:`flush`: do not write into them (an
        :class:`~rlactors.envs.EnvBatch` hands out fresh ones every step).

        Args:
            obs: ``[K, *obs_shape]``, ``s_t``.
            actions: ``[K, *action_shape]``, ``a_t``.
            rewards: ``[K]``, ``r_t``.
            next_obs: ``[K, *obs_shape]``, ``s_{t+1}``; for a lost step, the state the env's
                pending steps bootstrap from (:meth:`NStepAccumulator.truncate`'s argument).
            terminated: ``[K]`` bool, ``s_{t+1}`` is terminal.
            truncated: ``[K]`` bool, the episode was cut after this step.
            lost: Optional ``[K]`` bool: the env crashed and this step was lost. The row is no
                transition; the env's pending steps end as a truncation at ``next_obs``.

        Raises:
            ValueError: A column does not have ``K`` rows.
        """
        k = self.num_envs
        lost_rows = np.zeros(k, dtype=bool) if lost is None else np.asarray(lost, dtype=bool)
        columns = {
            "obs": obs,
            "actions": actions,
            "rewards": np.asarray(rewards, dtype=np.float64),
            "next_obs": next_obs,
            "terminated": np.asarray(terminated, dtype=bool),
            "truncated": np.asarray(truncated, dtype=bool),
            "lost": lost_rows,
        }
        for name, column in columns.items():
            if column.ndim == 0 or len(column) != k:
                raise ValueError(
                    f"VectorNStepAccumulator.add: {name} has shape {column.shape}, expected "
                    f"{k} rows (one per env)"
                )
        self._obs.append(obs)
        self._actions.append(actions)
        self._rewards.append(columns["rewards"])
        self._next_obs.append(next_obs)
        self._terminated.append(columns["terminated"])
        self._truncated.append(columns["truncated"])
        self._lost.append(lost_rows)
        self._pending.append(~lost_rows)

    def flush(self) -> SampleBatch:
        """The transitions completed since the last flush.

        Returns:
            :class:`NStepAccumulator`'s columns, ``[N, ...]`` each: ``obs``, ``actions``,
            ``rewards`` (float32), ``next_obs``, ``discounts`` (float32); a batch with no
            columns if no transition was completed.
        """
        steps = len(self._pending)
        if not steps:
            return SampleBatch()
        n, powers = self.n, self._powers
        pending = np.stack(self._pending)  # [T, K]
        rewards = np.stack(self._rewards)
        terminated = np.stack(self._terminated) & pending
        natural_end = terminated | (np.stack(self._truncated) & pending)
        # A step lost at t + 1 ends env k's pending steps as a truncation after step t, whose
        # next_obs is the state they bootstrap from (the lost row's next_obs holds the same).
        lost_next = np.zeros_like(pending)
        lost_next[:-1] = np.stack(self._lost)[1:]
        ends = natural_end | (lost_next & pending)
        # span[t, k]: the steps in the transition starting at step t (0: not known yet).
        span = np.zeros(pending.shape, dtype=np.int64)
        returns = np.zeros(pending.shape, dtype=np.float64)
        open_ = pending.copy()
        for d in range(min(n, steps)):
            # Row t looks at step t + d; rows with t + d past the buffer wait for more steps.
            here = open_[: steps - d]
            if not here.any():
                break
            returns[: steps - d] += np.where(here, powers[d] * rewards[d:], 0.0)
            closes = here & (ends[d:] if d < n - 1 else True)
            span[: steps - d][closes] = d + 1
            here &= ~closes
        t_idx, k_idx = np.nonzero(span)
        spans = span[t_idx, k_idx]
        end_idx = t_idx + spans - 1
        # A scalar accumulator emits a row with its last step, except one cut short by a lost
        # step: that is emitted when the loss is reported, one step later.
        emitted = end_idx + (lost_next[end_idx, k_idx] & ~natural_end[end_idx, k_idx] & (spans < n))
        order = np.lexsort((t_idx, k_idx, emitted))
        t_idx, k_idx, spans, end_idx = t_idx[order], k_idx[order], spans[order], end_idx[order]
        discounts = np.where(terminated[end_idx, k_idx], 0.0, powers[spans])
        batch = SampleBatch(
            obs=np.stack(self._obs)[t_idx, k_idx],
            actions=np.stack(self._actions)[t_idx, k_idx],
            rewards=returns[t_idx, k_idx].astype(np.float32),
            next_obs=np.stack(self._next_obs)[end_idx, k_idx],
            discounts=discounts.astype(np.float32),
        )
        self._carry(pending & (span == 0))
        return batch if len(batch) else SampleBatch()

    def _carry(self, still_pending: np.ndarray) -> None:
        """Keep the last ``n - 1`` steps for the next flush, with the ``[T, K]`` mask of those
        still pending (steps before them are all emitted: their ``n`` steps were here)."""
        keep = min(self.n - 1, len(still_pending))
        assert not still_pending[: len(still_pending) - keep].any()
        lists = (
            self._obs, self._actions, self._rewards, self._next_obs,
            self._terminated, self._truncated, self._lost,
        )  # fmt: skip
        for column in lists:
            del column[: len(column) - keep]
        self._pending = list(still_pending[len(still_pending) - keep :])
