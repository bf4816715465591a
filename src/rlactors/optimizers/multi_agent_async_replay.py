"""MultiAgentAsyncReplayOptimizer: Ape-X for multi-role envs, a set of replay shards per policy.

Ape-X's parts (:mod:`rlactors.optimizers.async_replay`) with policies by id:

* N :class:`MultiAgentApexWorker` actors step multi-role envs
  (:class:`~rlactors.multiagent.q_evaluator.MultiAgentQEvaluator`, each worker with its own
  epsilon for every learned policy), price each policy's n-step transitions with that policy's
  copy and push them to that policy's shards;
* ``num_replay_shards`` :class:`~rlactors.replay.shard.ReplayShard` actors per trained policy
  (each policy gets the whole ``buffer_capacity_transitions``): shard ``j`` holds policy
  ``shard_policies[j]``'s rows only, so a sampled batch is one policy's and goes to its learner;
* the learners, in this process, under the single-role loop: it samples the shards in turn
  (so the policies learn equally often), sends back priorities, broadcasts every policy's
  weights and the league's snapshots, and holds the replay ratio over all insertions.

Why shards per policy rather than transitions tagged by policy id in shared shards: a shard
then samples what one learner learns from, with no filtering and no new shard protocol, and
the single-role loop runs unchanged: every per-shard mechanism (restarts, refills, priority
updates by incarnation, checkpoints by shard index) holds for several policies as it is.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rlactors.actors import ActorDiedError, ActorRef
from rlactors.core import EpisodeStats, Learner, PolicyWeights, Weights
from rlactors.multiagent.q_evaluator import PRIORITIES, MultiAgentQConfig, MultiAgentQEvaluator
from rlactors.optimizers.async_replay import AsyncReplayConfig, AsyncReplayOptimizer
from rlactors.optimizers.multi_agent_replay import tell_league, update_league
from rlactors.optimizers.multi_agent_samples import role_return_means
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.replay.shard import ReplayShard

if TYPE_CHECKING:
    from rlactors.multiagent.league import League


class MultiAgentApexWorker:
    """A multi-role evaluator that pushes each policy's transitions to that policy's shards.

    Args:
        config: The evaluator's config (``compute_priorities`` is forced on).
        shards: ``{policy id: its replay shards}``: the trained policies; transitions of the
            others are dropped. The worker writes to each policy's shards in turn.
        index: This worker's number; names its random streams.
    """

    def __init__(
        self,
        config: MultiAgentQConfig,
        shards: Mapping[str, list[ActorRef[ReplayShard]]],
        index: int = 0,
    ) -> None:
        config = dataclasses.replace(config, compute_priorities=True)
        self.evaluator = MultiAgentQEvaluator(config, index)
        self.shards = dict(shards)
        self.next_shard = {pid: index % len(refs) for pid, refs in self.shards.items()}

    def run(self) -> dict[str, Any]:
        """One sample, pushed to replay; returns what ``ApexWorker.run`` does, each episode as
        ``(return, length, role returns, policy ids)``."""
        sample = self.evaluator.sample()
        transitions = undelivered = 0
        for pid, batch in sample.batches.items():
            refs = self.shards.get(pid)
            if refs is None or not len(batch):
                continue
            columns = batch.columns
            priorities = columns.pop(PRIORITIES)
            shard = refs[self.next_shard[pid]]
            self.next_shard[pid] = (self.next_shard[pid] + 1) % len(refs)
            try:
                shard.tell("add", columns, priorities)
                transitions += len(batch)
            except ActorDiedError:
                undelivered += len(batch)  # lost with the shard, and said so (as ApexWorker)
        return {
            "transitions": transitions,
            "undelivered": undelivered,
            "env_steps": sample.env_steps,
            "episodes": [
                (e.episode_return, e.length, e.role_returns, e.policy_ids) for e in sample.episodes
            ],
            "env_crashes": 0,
        }

    def set_weights(self, weights: PolicyWeights) -> None:
        """Learned policies' and league snapshots' weights, by id."""
        self.evaluator.set_weights(weights)

    def set_league(self, probabilities: Mapping[str, float]) -> None:
        """The self-play opponents' sampling probabilities (see the evaluator)."""
        self.evaluator.set_league(probabilities)

    def get_metrics(self) -> dict[str, Any]:
        """The evaluator's counters (env steps, env steps/s, epsilon)."""
        return self.evaluator.get_metrics()


class MultiAgentAsyncReplayOptimizer(AsyncReplayOptimizer):
    """Ape-X over multi-role envs; see the module docstring.

    Args:
        config: Coordination settings (``num_replay_shards`` and the capacity are per policy).
        evaluator_config: The workers' envs, mapping, networks and n-step (their epsilon is
            replaced by :func:`~rlactors.optimizers.async_replay.apex_epsilons`).
        learners: The trained policies' learners, by id.
        weights: Every learned policy's weights and the league's snapshots, by id (what the
            workers are sent).
        league: The self-play league, or None.
        iteration_env_steps: Env steps one :meth:`step` call waits for.
    """

    def __init__(
        self,
        config: AsyncReplayConfig,
        evaluator_config: MultiAgentQConfig,
        learners: Mapping[str, Learner],
        weights: Callable[[], dict[str, Weights]],
        league: League | None = None,
        iteration_env_steps: int = 2_000,
    ) -> None:
        self._spawn_shards(config, learners, evaluator_config.seed, iteration_env_steps)
        self.league = league
        by_policy: dict[str, list[ActorRef[ReplayShard]]] = {}
        for pid, shard in zip(self.shard_policies, self.shards, strict=True):
            by_policy.setdefault(pid, []).append(shard)
        self.workers = WorkerGroup(
            MultiAgentApexWorker,
            functools.partial(self._worker_args, evaluator_config, by_policy),
            config.num_workers,
            weights=weights,
            max_restarts=config.max_worker_restarts,
            name="worker",
        )
        self._start_counters(evaluator_config.env_steps_per_sample)
        tell_league(league, self.workers.refs)

    def _worker_args(
        self,
        evaluator_config: MultiAgentQConfig,
        shards: dict[str, list[ActorRef[ReplayShard]]],
        i: int,
    ) -> tuple[Any, ...]:
        return dataclasses.replace(evaluator_config, epsilon=self.epsilons[i]), shards

    def _episodes_finished(self, episodes: list[EpisodeStats]) -> dict[str, Any]:
        """Score the league with the step's episodes; ``role_return_mean`` and the league's
        metrics."""
        league = self.league
        if league is not None:
            before = list(league.snapshots)
            update_league(league, self.learners, episodes, self.env_steps)
            if list(league.snapshots) != before:
                self.broadcast_weights()  # the new snapshot, before the odds that name it
            tell_league(league, self.workers.refs)
        return {
            "role_return_mean": role_return_means(episodes),
            **(league.metrics() if league is not None else {}),
        }
