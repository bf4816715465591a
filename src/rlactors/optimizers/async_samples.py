"""AsyncSamplesOptimizer: evaluators stream rollouts, the learner learns on batches (IMPALA).

Espeholt et al. (2018), "IMPALA": actors never wait for the learner. Each evaluator always has
its next rollout request queued (``max_inflight_per_worker``), so it samples while the learner
learns; the learner takes ``rollouts_per_batch`` rollouts at a time, corrects for the policy
lag with V-trace (the ``learn`` function's job) and broadcasts its weights every
``weight_sync_period_learner_steps`` learner steps, which evaluators load between rollouts::

    until iteration_env_steps more env steps are in:
        keep up to max_inflight_per_worker rollout requests at every evaluator,
            unless max_queued_rollouts wait for the learner already (back-pressure)
        done = wait_any(in-flight requests); queue their rollouts
        while the queue holds rollouts_per_batch: learn on them; maybe broadcast

Memory stays bounded: at most ``num_workers * max_inflight_per_worker`` rollouts are in flight
and at most ``max_queued_rollouts`` wait, whatever the learner's speed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlactors.core import SampleBatch
from rlactors.optimizers.group_optimizer import GroupOptimizer
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.validation import check_positive_ints

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner  # torch: the learner's process has it

#: Learns on a list of rollout batches (each ``T * K`` time-major rows); returns statistics.
BatchLearnFn = Callable[[list[SampleBatch]], dict[str, float]]


@dataclass(frozen=True)
class AsyncSamplesConfig:
    """How :class:`AsyncSamplesOptimizer` streams rollouts and batches them."""

    rollouts_per_batch: int = 2
    """Rollouts (each ``T * K`` env steps) per learner step."""

    max_inflight_per_worker: int = 2
    """Rollout requests queued at each evaluator: 2 lets it start the next rollout the moment
    it returns one, without waiting for a round trip."""

    max_queued_rollouts: int = 8
    """Rollouts received but not learned on yet; at this bound no new request is sent, so a
    slow learner makes evaluators wait instead of filling memory (back-pressure)."""

    weight_sync_period_learner_steps: int = 1
    """Broadcast the learner's weights every this many learner steps."""

    iteration_env_steps: int = 2048
    """Env steps per :meth:`AsyncSamplesOptimizer.step` (one training iteration)."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is below 1, or the queue cannot hold one batch.
        """
        check_positive_ints(
            self,
            "rollouts_per_batch",
            "max_inflight_per_worker",
            "max_queued_rollouts",
            "weight_sync_period_learner_steps",
            "iteration_env_steps",
        )
        if self.max_queued_rollouts < self.rollouts_per_batch:
            raise ValueError(
                f"AsyncSamplesConfig.max_queued_rollouts ({self.max_queued_rollouts}) must be "
                f">= rollouts_per_batch ({self.rollouts_per_batch})"
            )


class AsyncSamplesOptimizer(GroupOptimizer):
    """IMPALA's loop; see the module docstring.

    Args:
        group: The evaluators (their config must return raw trajectories: ``gae_lambda=None``).
        learner: The learner whose weights the evaluators act with.
        learn: What a batch of rollouts is learned with (V-trace, for IMPALA).
        config: Streaming and batching.
        timeout_s: Longest wait for any evaluator before the step fails.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learner: ActorCriticLearner,
        learn: BatchLearnFn,
        config: AsyncSamplesConfig,
        timeout_s: float = 120.0,
    ) -> None:
        super().__init__(group, learner, timeout_s)
        self.learn = learn
        self.config = config
        #: Rollouts received, not learned on yet (``MultiAgentRollout`` s in the subclass).
        self.queued: deque[Any] = deque()
        self._steps_since_sync = 0

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """Stream and learn until ``iteration_env_steps`` more env steps are in (``last``
        changes nothing: the rollouts in flight are abandoned at :meth:`stop`).

        Returns:
            See :meth:`rlactors.core.Optimizer.step`; ``metrics`` adds ``queued_rollouts``
            (waiting for the learner at the end of the step).

        Raises:
            TimeoutError: No evaluator answered within ``timeout_s``.
        """
        stats = self._stream(self.config.iteration_env_steps, "rollout")
        stats["metrics"]["queued_rollouts"] = len(self.queued)
        return stats

    def _take(self, index: int, answer: Any) -> tuple[list[dict[str, float]], float]:
        self.queued.append(answer)
        return [], 0.0

    def _after_answers(self) -> tuple[list[dict[str, float]], float]:
        c = self.config
        learned: list[dict[str, float]] = []
        seconds = 0.0
        while len(self.queued) >= c.rollouts_per_batch:
            rollouts = [self.queued.popleft() for _ in range(c.rollouts_per_batch)]
            start = time.perf_counter()
            learned.append(self._learn(rollouts))
            seconds += time.perf_counter() - start
            self._steps_since_sync += 1
            if self._steps_since_sync >= c.weight_sync_period_learner_steps:
                self.group.broadcast()
                self._steps_since_sync = 0
        return learned, seconds

    def _learn(self, rollouts: list[Any]) -> dict[str, float]:
        """One learner step on ``rollouts``; its statistics."""
        return self.learn([rollout.batch for rollout in rollouts])

    def _top_up(self) -> None:
        c = self.config
        counts = [0] * len(self.group)
        for index in self._inflight.values():
            counts[index] += 1
        room = self._room()
        for index, ref in enumerate(self.group.refs):
            while (
                room > 0
                and counts[index] < c.max_inflight_per_worker
                and len(self.queued) + len(self._inflight) < c.max_queued_rollouts
            ):
                self._inflight[ref.ask("rollout")] = index
                counts[index] += 1
                room -= 1

    def stop(self) -> None:
        """Stop the evaluators (abandoning rollouts in flight or queued)."""
        self.queued.clear()
        super().stop()
