"""MultiAgentSamplesOptimizer: synchronous rounds of multi-role evaluators, a learner per policy.

One :meth:`~MultiAgentSamplesOptimizer.step` is one round, as
:class:`~rlactors.optimizers.sync_samples.SyncSamplesOptimizer`'s, with policies by id::

    rollouts = gather(evaluator.ask("rollout") for each evaluator)   # MultiAgentRollouts
    for policy id in policies_to_train:
        stats[id] = learn[id](concat(rollout.batches[id] for each rollout))
    league: count the episodes against snapshots; maybe add a snapshot; new sampling odds
    broadcast {policy id: weights} (league snapshots included)

Policies that are not trained (frozen, or not in ``policies_to_train``) still act with the
weights they were given: their batches are dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rlactors.actors import ActorDiedError
from rlactors.core import EpisodeStats, Optimizer, SampleBatch, Weights
from rlactors.optimizers.group_optimizer import learner_stats
from rlactors.optimizers.worker_group import WorkerGroup

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner
    from rlactors.multiagent.evaluator import MultiAgentRollout
    from rlactors.multiagent.league import League

log = logging.getLogger(__name__)

#: Learns on one round's batch of one policy; returns scalar statistics.
LearnFn = Callable[[SampleBatch], dict[str, float]]


class MultiAgentSamplesOptimizer(Optimizer):
    """Synchronous multi-policy sampling and learning; see the module docstring.

    Args:
        group: The :class:`~rlactors.multiagent.evaluator.MultiAgentEvaluator` actors.
        learners: Every learned policy's learner, by id.
        learn: What each trained policy's batch is learned with, by id (the ids trained).
        league: The self-play league, or None.
        timeout_s: Longest wait for a rollout before the step fails.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learners: Mapping[str, ActorCriticLearner],
        learn: Mapping[str, LearnFn],
        league: League | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.group = group
        self.learners = dict(learners)
        self.learn = dict(learn)
        self.league = league
        self.timeout_s = timeout_s
        self.env_steps = 0
        tell_league(league, group)

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """One round (``last`` changes nothing: nothing is asked ahead).

        Returns:
            See :meth:`rlactors.core.Optimizer.step`. ``learners`` has every trained
            policy's statistics; ``metrics`` has ``worker_restarts``, ``lost_rollouts``,
            ``role_return_mean`` (``{role: mean return}`` over the round's episodes) and, with
            a league, its :meth:`~rlactors.multiagent.league.League.metrics`.
        """
        start = time.perf_counter()
        rollouts: list[MultiAgentRollout] = self.group.gather("rollout", self.timeout_s)
        wait_s = time.perf_counter() - start
        learn_start = time.perf_counter()
        learned: dict[str, dict[str, Any]] = {}
        for pid, learn in self.learn.items():
            batch = SampleBatch.concat([r.batches[pid] for r in rollouts if pid in r.batches])
            stats = learn(batch) if len(batch) else {}
            learned[pid] = {**learner_stats(stats, self.learners[pid]), "samples": len(batch)}
        learn_s = time.perf_counter() - learn_start
        episodes = [e for r in rollouts for e in r.episodes]
        steps = sum(r.env_steps for r in rollouts)
        self.env_steps += steps
        update_league(self.league, episodes, self.learners, self.env_steps, self.group)
        self.group.broadcast()
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": steps,
            "learner_steps": sum(learner.learner_steps for learner in self.learners.values()),
            "episode_returns": [e.episode_return for e in episodes],
            "episode_lengths": [e.length for e in episodes],
            "sample_wait_s": wait_s,
            "learn_time_s": learn_s,
            "learners": learned,
            "metrics": {
                "worker_restarts": self.group.restarts,
                "lost_rollouts": self.group.lost_requests,
                "env_crashes": 0,
                **multi_agent_metrics(episodes, self.league),
            },
        }

    def broadcast_weights(self) -> None:
        """Send every policy's weights (and the league's snapshots) to the evaluators."""
        tell_league(self.league, self.group)
        self.group.broadcast()

    def state_dict(self) -> dict[str, int]:
        """``env_steps`` (learners and the league keep their own state)."""
        return {"env_steps": self.env_steps}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from :meth:`state_dict` counters."""
        self.env_steps = int(state.get("env_steps", 0))

    def stop(self) -> None:
        """Stop the evaluators."""
        self.group.stop()


# -- what the multi-policy optimizers share (this one and MultiAgentAsyncSamplesOptimizer) ---------


def update_league(
    league: League | None,
    episodes: list[EpisodeStats],
    learners: Mapping[str, ActorCriticLearner],
    env_steps: int,
    group: WorkerGroup[Any],
) -> None:
    """Score ``episodes`` in the league, add the learner's current weights as a snapshot if it
    earned one, and tell the evaluators the new sampling odds (nothing without a league or
    episodes: the odds only move with results). A new snapshot's weights reach the evaluators
    with the next weights broadcast (:func:`league_weights`)."""
    if league is None or not episodes:
        return
    for episode in episodes:
        league.record(episode)
    if league.ready_to_join():
        sid = league.add(learners[league.learner_id].get_weights(), env_steps)
        log.info("%s joined the self-play league (rating %.0f)", sid, league.rating)
    tell_league(league, group)


def tell_league(league: League | None, group: WorkerGroup[Any]) -> None:
    """Send the league's sampling odds to every evaluator (nothing without a league)."""
    if league is None:
        return
    probabilities = league.probabilities()
    for ref in group.refs:
        try:
            ref.tell("set_league", probabilities)
        except ActorDiedError:
            log.debug("%s is down; it gets the league with its next round", ref.name)


def multi_agent_metrics(episodes: list[EpisodeStats], league: League | None) -> dict[str, Any]:
    """A multi-policy step's own ``metrics``: ``role_return_mean`` and, with a league, its
    :meth:`~rlactors.multiagent.league.League.metrics`."""
    return {
        "role_return_mean": role_return_means(episodes),
        **(league.metrics() if league is not None else {}),
    }


def role_return_means(episodes: list[EpisodeStats]) -> dict[str, float]:
    """``{role: mean return}`` over multi-role episodes ({} for none)."""
    sums: dict[str, list[float]] = {}
    for episode in episodes:
        for role, value in (episode.role_returns or {}).items():
            sums.setdefault(role, []).append(value)
    return {role: sum(v) / len(v) for role, v in sums.items()}


def league_weights(league: League | None) -> dict[str, Weights]:
    """The league's snapshots as a weights broadcast ({} without a league)."""
    return dict(league.snapshots) if league is not None else {}
