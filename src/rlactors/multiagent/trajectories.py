"""What a multi-role evaluator keeps of each role's moves, and the batches made of them.

:class:`ClosedMoves` are one (env, role)'s transitions closed in a rollout, in move order;
:func:`gae_batches` turns them into PPO's and A2C's rows (GAE over each role's own moves).
:class:`MoveStream` holds one seat's closed moves until a segment of ``T`` of them is full;
:func:`segment_batches` lays the full ones out ``[T, S]`` for V-trace (IMPALA). See
:mod:`rlactors.multiagent.evaluator` for the credit rule both follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlactors.core import SampleBatch


@dataclass
class ClosedMoves:
    """Transitions of one (env, role) closed in this rollout, in move order."""

    policy_id: list[str] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    log_probs: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    next_values: list[float] = field(default_factory=list)  # 0 where it terminated
    ended: list[bool] = field(default_factory=list)  # no next move follows (episode over)


@dataclass
class MoveStream:
    """Closed moves of one learned policy in one (env, role) seat not emitted in a segment yet
    (trajectory mode), in move order."""

    obs: list[np.ndarray] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    log_probs: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    discounts: list[float] = field(default_factory=list)
    truncated: list[bool] = field(default_factory=list)
    next_obs: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rewards)

    def pop_segment(self, steps: int) -> dict[str, np.ndarray]:
        """The first ``steps`` moves as ``[steps, ...]`` columns, removed from the stream."""
        segment = {
            "obs": np.stack(self.obs[:steps]),
            "actions": np.asarray(self.actions[:steps]),
            "log_probs": np.asarray(self.log_probs[:steps], np.float32),
            "values": np.asarray(self.values[:steps], np.float32),
            "rewards": np.asarray(self.rewards[:steps], np.float32),
            "discounts": np.asarray(self.discounts[:steps], np.float32),
            "truncated": np.asarray(self.truncated[:steps], bool),
            "next_obs": np.stack(self.next_obs[:steps]),
        }
        columns = (self.obs, self.actions, self.log_probs, self.values, self.rewards)
        for column in (*columns, self.discounts, self.truncated, self.next_obs):
            del column[:steps]
        return segment


def gae_batches(
    closed: Mapping[tuple[int, str], ClosedMoves], gamma: float, lam: float
) -> dict[str, SampleBatch]:
    """GAE(``lam``) over each (env, role)'s closed moves, ``gamma`` per move; rows grouped
    by policy id (the columns PPO and A2C learn from)."""
    parts: dict[str, list[dict[str, np.ndarray]]] = {}
    for (_, _), c in sorted(closed.items()):
        n = len(c.rewards)
        values = np.asarray(c.values, np.float32)
        deltas = (
            np.asarray(c.rewards, np.float32)
            + gamma * np.asarray(c.next_values, np.float32)
            - values
        )
        advantages = np.zeros(n, np.float32)
        running = 0.0
        for i in range(n - 1, -1, -1):
            # The next closed move of this role continues the sum, unless the episode ended
            # here or this is the last closed move (its successor is still open).
            continues = i + 1 < n and not c.ended[i]
            running = float(deltas[i]) + (gamma * lam * running if continues else 0.0)
            advantages[i] = running
        pids = np.asarray(c.policy_id)
        for pid in dict.fromkeys(c.policy_id):
            rows = np.flatnonzero(pids == pid)
            parts.setdefault(pid, []).append(
                {
                    "obs": np.stack([c.rows[i] for i in rows]),
                    "actions": np.asarray([c.actions[i] for i in rows]),
                    "log_probs": np.asarray(c.log_probs, np.float32)[rows],
                    "values": values[rows],
                    "advantages": advantages[rows],
                    "returns": (advantages + values)[rows],
                }
            )
    return {
        pid: SampleBatch.concat([SampleBatch(p) for p in chunks]) for pid, chunks in parts.items()
    }


def segment_batches(
    streams: Mapping[tuple[int, str, str], MoveStream], steps: int
) -> dict[str, SampleBatch]:
    """Every full segment of ``steps`` moves of every stream, popped from it, ``[T, S]``
    time-major per policy id (see :mod:`rlactors.multiagent.evaluator`); shorter
    remainders stay for the next rollout."""
    segments: dict[str, list[dict[str, np.ndarray]]] = {}
    for (_, _, pid), stream in sorted(streams.items()):
        while len(stream) >= steps:
            segments.setdefault(pid, []).append(stream.pop_segment(steps))
    batches: dict[str, SampleBatch] = {}
    for pid, parts in segments.items():
        columns = {name: np.stack([p[name] for p in parts], axis=1) for name in parts[0]}
        # All False: an env crash ends the rollout (see the module docstring).
        columns["crashed"] = np.zeros((steps, len(parts)), bool)
        rows = steps * len(parts)
        batches[pid] = SampleBatch(
            {name: v.reshape(rows, *v.shape[2:]) for name, v in columns.items()}
        )
    return batches
