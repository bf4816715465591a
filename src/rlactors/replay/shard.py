"""ReplayShard: a prioritized buffer packaged to run as an actor (Ape-X's replay memory).

Ape-X keeps replay in its own process(es) so evaluators can push and the learner can sample
without either waiting on the other (Horgan et al., 2018, section 3). Every method takes and
returns plain arrays, so ``spawn(ReplayShard, capacity, alpha=0.6, seed=s)`` works on every
backend; several shards split the capacity and the learner samples from them in turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rlactors.replay.buffer import ReplayBuffer
from rlactors.replay.samplers import PrioritizedSampler


class ReplayShard:
    """One prioritized replay buffer with its own random stream.

    Args:
        capacity: Transitions this shard holds; the oldest are evicted first.
        alpha: Priority exponent (0: uniform, 1: fully proportional). Ape-X uses 0.6.
        seed: Seed of this shard's sampling stream.
        store_frames_once: Frame-stack observations stored a frame at a time (see
            :class:`ReplayBuffer`); what is added and sampled is whole stacks either way.
    """

    def __init__(
        self, capacity: int, alpha: float = 0.6, seed: int = 0, store_frames_once: bool = True
    ) -> None:
        self.buffer = ReplayBuffer(
            capacity, PrioritizedSampler(alpha=alpha), store_frames_once=store_frames_once
        )
        self.rng = np.random.default_rng(seed)
        self.samples_drawn = 0
        #: Names this instance: a shard restarted after its process died is another one, and
        #: priority updates for the rows of the one before must not reach it (see
        #: :meth:`sample_batches`). Not from ``rng``: it must differ between restarts.
        self.incarnation = uuid.uuid4().hex

    def add(self, columns: Mapping[str, np.ndarray], priorities: npt.ArrayLike | None) -> int:
        """Insert ``[n]`` transitions with their initial priorities; returns ``n``."""
        ids = self.buffer.add(columns, priorities)
        return int(ids.shape[0])

    def sample(
        self, batch_size: int, beta: float
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """``(columns, ids, weights)``: a prioritized batch of ``batch_size`` rows.

        ``ids`` ``[B]`` int64 go back to :meth:`update_priorities`; ``weights`` ``[B]`` float32
        are the importance-sampling weights (annealing ``beta`` is the caller's job).
        """
        sample = self.buffer.sample(batch_size, self.rng, beta)
        self.samples_drawn += batch_size
        return sample.batch.columns, sample.ids, sample.weights

    def sample_batches(
        self,
        num_batches: int,
        batch_size: int,
        beta: float,
        priority_updates: tuple[str, npt.ArrayLike, npt.ArrayLike] | None = None,
    ) -> tuple[list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]], int, str]:
        """``(batches, size, incarnation)``: ``num_batches`` results of :meth:`sample`, after
        applying ``priority_updates``, the rows this shard holds and :attr:`incarnation`.

        ``priority_updates``, ``(incarnation, ids, priorities)``, are applied first, as
        :meth:`update_priorities` would. One message that brings the learner's new priorities
        and asks for its next few batches wakes this actor's process once where one per batch
        and one per update would wake it many times.

        A shard holding fewer than ``batch_size`` rows (one restarted empty after its process
        died) answers no batches rather than a batch of a few rows repeated: the learner
        samples the other shards until this one has refilled. ``size`` tells the learner what
        it would lose if this process died next.
        """
        if priority_updates is not None:
            self.update_priorities(*priority_updates)
        if len(self.buffer) < batch_size:
            return [], len(self.buffer), self.incarnation
        batches = [self.sample(batch_size, beta) for _ in range(num_batches)]
        return batches, len(self.buffer), self.incarnation

    def update_priorities(
        self, incarnation: str, ids: npt.ArrayLike, priorities: npt.ArrayLike
    ) -> int:
        """New priorities for rows this instance (``incarnation``) sampled; rows evicted since
        are skipped, and so is every row of another incarnation (one that died before this
        shard was restarted). Returns how many were applied."""
        if incarnation != self.incarnation:
            return 0
        return self.buffer.update_priorities(ids, priorities)

    def size(self) -> int:
        """Transitions stored now."""
        return len(self.buffer)

    def stats(self) -> dict[str, Any]:
        """``size``, ``added`` (ever) and ``sampled`` (rows drawn, ever)."""
        return {
            "size": len(self.buffer),
            "added": self.buffer.num_added,
            "sampled": self.samples_drawn,
        }

    def state_dict(self) -> dict[str, np.ndarray | int]:
        """The buffer's state, plain arrays (see :meth:`ReplayBuffer.state_dict`)."""
        return self.buffer.state_dict()

    def load_state_dict(self, state: Mapping[str, np.ndarray | int]) -> None:
        """Restore :meth:`state_dict`."""
        self.buffer.load_state_dict(state)
