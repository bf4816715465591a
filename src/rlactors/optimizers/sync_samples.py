"""SyncSamplesOptimizer: gather a rollout from every evaluator, learn on it, broadcast (A2C, PPO).

One :meth:`~SyncSamplesOptimizer.step` is one round::

    rollouts = gather(evaluator.ask("rollout") for each evaluator)   # in parallel
    stats = learn(concat(rollouts))      # A2C: one gradient step; PPO: epochs of minibatches
    learner.merge_obs_stats(...)         # after learning: the batch was acted on with the old
    broadcast weights                    # statistics, so it is learned on with them too

Everything is on-policy: every evaluator acts with the weights of the previous round, which is
what A2C and PPO assume (the rollouts are gathered before anything learns).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rlactors.core import SampleBatch
from rlactors.evaluators import Rollout
from rlactors.optimizers.group_optimizer import GroupOptimizer
from rlactors.optimizers.worker_group import WorkerGroup

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner  # torch: the learner's process has it


#: Learns on one round's batch; returns scalar statistics (e.g. ``loss``, ``entropy``).
LearnFn = Callable[[SampleBatch], dict[str, float]]


class SyncSamplesOptimizer(GroupOptimizer):
    """Synchronous sampling and learning; see the module docstring.

    Args:
        group: The evaluators (their rollouts carry GAE ``advantages`` and ``returns``).
        learner: The learner whose weights the evaluators act with.
        learn: What one round's batch is learned with (``learner.learn``, or PPO's epochs
            of minibatches over it).
        timeout_s: Longest wait for a rollout before the step fails.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learner: ActorCriticLearner,
        learn: LearnFn,
        timeout_s: float = 120.0,
    ) -> None:
        super().__init__(group, learner, timeout_s)
        self.learn = learn

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """One round (``last`` changes nothing: nothing is asked ahead).

        Returns:
            See :meth:`rlactors.core.Optimizer.step`; ``learn``'s statistics are the
            learner's.
        """
        start = time.perf_counter()
        # An evaluator that died answering is restarted by its supervisor (with the current
        # weights); this round goes on with the others' rollouts.
        rollouts: list[Rollout] = self.group.gather("rollout", self.timeout_s)
        wait_s = time.perf_counter() - start
        learned: dict[str, float] = {}
        learn_start = time.perf_counter()
        batch = SampleBatch.concat([r.batch for r in rollouts])
        if len(batch):  # none if every step of every rollout was lost to env crashes
            learned = self.learn(batch)
        learn_s = time.perf_counter() - learn_start
        for rollout in rollouts:
            self.merge_obs_stats(rollout.obs_stats)
        self.group.broadcast()
        episodes = [e for r in rollouts for e in r.episodes]
        steps = sum(r.env_steps for r in rollouts)
        self.env_steps += steps
        self.env_crashes += sum(r.env_crashes for r in rollouts)
        return self._stats(steps, episodes, wait_s, learn_s, learned)
