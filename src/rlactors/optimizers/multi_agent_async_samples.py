"""MultiAgentAsyncSamplesOptimizer: IMPALA's streaming loop with a V-trace learner per policy.

:class:`~rlactors.optimizers.async_samples.AsyncSamplesOptimizer`'s loop (requests kept in
flight at every evaluator, back-pressure, a learner step per ``rollouts_per_batch`` rollouts),
with multi-role evaluators in trajectory mode
(:class:`~rlactors.multiagent.evaluator.MultiAgentEvaluator`, ``gae_lambda=None``), whose
rollouts hold one batch of ``[T, S]`` segments per policy id::

    until iteration_env_steps more env steps are in:
        keep rollout requests in flight; queue the rollouts that come back
        while the queue holds rollouts_per_batch:
            for policy id in policies_to_train:       # skipped if it has no segment in them
                stats[id] += learn[id]([rollout.batches[id] for each rollout that has it])
            maybe broadcast {policy id: weights} (league snapshots included)
        league: score the episodes that came back; maybe add a snapshot; new sampling odds

A policy learns on the segments its seats completed in those rollouts; one whose seats filled
none (a turn-based seat fills its ``T`` moves in about two rollouts) waits for the next step.
What the two multi-policy optimizers share (the league's bookkeeping, the statistics) is in
:mod:`rlactors.optimizers.multi_agent_samples`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rlactors.core import EpisodeStats
from rlactors.optimizers.async_samples import (
    AsyncSamplesConfig,
    AsyncSamplesOptimizer,
    BatchLearnFn,
)
from rlactors.optimizers.group_optimizer import learner_stats, mean_stats
from rlactors.optimizers.multi_agent_samples import multi_agent_metrics, tell_league, update_league
from rlactors.optimizers.worker_group import WorkerGroup

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner
    from rlactors.multiagent.evaluator import MultiAgentRollout
    from rlactors.multiagent.league import League


class MultiAgentAsyncSamplesOptimizer(AsyncSamplesOptimizer):
    """Streamed multi-role trajectories, learned per policy; see the module docstring.

    Args:
        group: The multi-role evaluators, in trajectory mode; their weights are every learned
            policy's and the league's snapshots.
        learners: Every learned policy's learner, by id.
        learn: What each trained policy's segments are learned with (V-trace), by id.
        config: Streaming and batching.
        league: The self-play league, or None.
        timeout_s: Longest wait for any evaluator before the step fails.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learners: Mapping[str, ActorCriticLearner],
        learn: Mapping[str, BatchLearnFn],
        config: AsyncSamplesConfig,
        league: League | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        first = next(iter(learn))
        # The base class reports one learner; _stats reports every policy instead, and
        # multi-role rollouts carry no observation statistics for it to merge.
        super().__init__(group, learners[first], learn[first], config, timeout_s)
        self.learners = dict(learners)
        self.learn_by_policy = dict(learn)
        self.league = league
        self._episodes: list[EpisodeStats] = []  # came back, not scored in the league yet
        self._learned: dict[str, list[dict[str, float]]] = {}  # this step's, by policy id
        self._samples: dict[str, int] = {}  # rows learned on this step, by policy id
        tell_league(league, group)

    def broadcast_weights(self) -> None:
        """Send every policy's weights (and the league's snapshots) to the evaluators."""
        tell_league(self.league, self.group)
        self.group.broadcast()

    def _take(self, index: int, answer: MultiAgentRollout) -> tuple[list[dict[str, float]], float]:
        self._episodes += answer.episodes
        return super()._take(index, answer)

    def _after_answers(self) -> tuple[list[dict[str, float]], float]:
        learned = super()._after_answers()
        update_league(self.league, self._episodes, self.learners, self.env_steps, self.group)
        self._episodes = []
        return learned

    def _learn(self, rollouts: list[MultiAgentRollout]) -> dict[str, float]:
        """One V-trace step per trained policy with segments in ``rollouts``; the statistics
        are kept by policy for :meth:`_stats` (the base class's mean of them stays empty)."""
        for pid, learn in self.learn_by_policy.items():
            batches = [r.batches[pid] for r in rollouts if pid in r.batches]
            if batches:
                self._learned.setdefault(pid, []).append(learn(batches))
                self._samples[pid] = self._samples.get(pid, 0) + sum(len(b) for b in batches)
        return {}

    def _stats(
        self,
        steps: int,
        episodes: list[EpisodeStats],
        wait_s: float,
        learn_s: float,
        learned: dict[str, float],
    ) -> dict[str, Any]:
        """As the base class's, with ``learners`` holding every trained policy's mean
        statistics and ``samples`` (rows learned on this step), ``learner_steps`` summed over
        the policies, and the multi-agent ``metrics``."""
        stats = super()._stats(steps, episodes, wait_s, learn_s, learned)
        stats["learner_steps"] = sum(learner.learner_steps for learner in self.learners.values())
        stats["learners"] = {
            pid: {
                **learner_stats(mean_stats(self._learned.get(pid, [])), self.learners[pid]),
                "samples": self._samples.get(pid, 0),
            }
            for pid in self.learn_by_policy
        }
        stats["metrics"].update(multi_agent_metrics(episodes, self.league))
        self._learned, self._samples = {}, {}
        return stats
