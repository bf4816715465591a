"""MultiAgentReplayOptimizer: DQN's replay rounds for multi-role envs, a replay per policy id.

One :meth:`~MultiAgentReplayOptimizer.step` is one round, as
:class:`~rlactors.optimizers.sync_replay.SyncReplayOptimizer`'s, with policies by id::

    samples = gather(evaluator.ask("sample") for each evaluator)   # asked one round earlier
    for policy id in policies_to_train:
        replay[id].add(concat(sample.batches[id] for each sample))
    ask every evaluator for its next sample        # they step envs while the learners train
    for policy id in policies_to_train:
        train_steps_per_sample learner steps of learner[id] on replay[id]
    league: count the episodes against snapshots; maybe add a snapshot; new sampling odds
    broadcast {policy id: weights} (league snapshots included)

A replay buffer per trained policy: a policy's transitions are its own roles' moves, and a
learner step samples one policy's buffer only, so buffers by id are the simplest layout that
never mixes them. Each gets the whole ``buffer_capacity_transitions``. Policies that are not
trained act with the weights they were given; their transitions are dropped.

The league helpers (:func:`update_league`, :func:`tell_league`) serve Ape-X's multi-role
optimizer too.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rlactors.actors import ActorDiedError, ActorRef, Future
from rlactors.core import EpisodeStats, Learner, Optimizer
from rlactors.optimizers.multi_agent_samples import role_return_means
from rlactors.optimizers.sync_replay import (
    Schedule,
    SyncReplayConfig,
    learn_from_replay,
    replay_buffer,
)
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.seeding import derive_seed

if TYPE_CHECKING:
    from rlactors.multiagent.league import League
    from rlactors.multiagent.q_evaluator import MultiAgentQSample

log = logging.getLogger(__name__)


class MultiAgentReplayOptimizer(Optimizer):
    """Synchronous multi-policy replay rounds; see the module docstring.

    Args:
        group: The :class:`~rlactors.multiagent.q_evaluator.MultiAgentQEvaluator` actors, fed
            every learned policy's weights and the league's snapshots.
        learners: The trained policies' learners, by id (each gets a replay buffer).
        config: Replay and learning settings, the same for every policy.
        seed: Seed of the replay sampling streams (one per policy derives from it).
        epsilon_schedule: Env steps -> the learned policies' exploration epsilon.
        beta_schedule: Env steps -> importance-sampling exponent (default 0.4 throughout).
        league: The self-play league, or None.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learners: Mapping[str, Learner],
        config: SyncReplayConfig,
        *,
        seed: int,
        epsilon_schedule: Schedule,
        beta_schedule: Schedule | None = None,
        league: League | None = None,
    ) -> None:
        self.group = group
        self.learners = dict(learners)
        self.config = config
        self.league = league
        self._epsilon_schedule = epsilon_schedule
        self._beta_schedule = beta_schedule or (lambda _step: 0.4)
        #: ``{policy id: its replay buffer}``.
        self.replays = {pid: replay_buffer(config) for pid in self.learners}
        self._rngs = {
            pid: np.random.default_rng(derive_seed(seed, n)) for n, pid in enumerate(self.learners)
        }
        self._stat_keys: dict[str, set[str]] = {
            pid: {"loss", "q_mean", "grad_norm"} for pid in self.learners
        }
        self.env_steps = 0
        self.learner_steps = 0
        self._pending: list[Future[MultiAgentQSample]] | None = None
        self._pending_epsilon: float | None = None
        tell_league(league, group.refs)

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """One round (``last``: the next round's samples are not asked for).

        Returns:
            See :meth:`rlactors.core.Optimizer.step`. ``learners`` has every trained policy's
            statistics (as ``SyncReplayOptimizer``'s, plus ``replay_size``); ``metrics`` has
            ``epsilon``, ``replay_size`` (all buffers), ``worker_restarts``,
            ``lost_rollouts``, ``role_return_mean`` and, with a league, its metrics.
        """
        wait_start = time.perf_counter()
        if self._pending is None:
            self._request_samples()
        assert self._pending is not None
        pending, self._pending = self._pending, None  # a failed round is not waited on again
        epsilon, self._pending_epsilon = self._pending_epsilon, None
        episodes: list[EpisodeStats] = []
        added = 0
        for i, future in enumerate(pending):
            try:
                sample = future.result(self.config.sample_timeout_s)
            except ActorDiedError as exc:
                self.group.lost(i, "sample", exc)
                continue
            for pid, batch in sample.batches.items():
                if pid in self.replays and len(batch):
                    self.replays[pid].add(batch.columns)
            episodes.extend(sample.episodes)
            added += sample.env_steps
        sample_wait_s = time.perf_counter() - wait_start
        self.env_steps += added
        if not last:
            self._request_samples()
        learn_start = time.perf_counter()
        beta = float(self._beta_schedule(self.env_steps))
        learned: dict[str, dict[str, Any]] = {}
        for pid, learner in self.learners.items():
            stats = learn_from_replay(
                self.replays[pid],
                learner,
                self.config,
                self._rngs[pid],
                beta,
                self.env_steps,
                self._stat_keys[pid],
            )
            self.learner_steps += stats["learner_steps_this_step"]
            loss = stats.get("loss")
            if loss is not None and not math.isfinite(loss):
                log.warning("policy %s: non-finite loss %s", pid, loss)
            learned[pid] = {**stats, "replay_size": len(self.replays[pid])}
        learn_time_s = time.perf_counter() - learn_start
        update_league(self.league, self.learners, episodes, self.env_steps)
        tell_league(self.league, self.group.refs)
        self.group.broadcast()
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": added,
            "learner_steps": self.learner_steps,
            "episode_returns": [e.episode_return for e in episodes],
            "episode_lengths": [e.length for e in episodes],
            "sample_wait_s": sample_wait_s,
            "learn_time_s": learn_time_s,
            "learners": learned,
            "metrics": {
                "epsilon": epsilon,
                "replay_size": sum(len(r) for r in self.replays.values()),
                "worker_restarts": self.group.restarts,
                "lost_rollouts": self.group.lost_requests,
                "env_crashes": 0,
                "role_return_mean": role_return_means(episodes),
                **(self.league.metrics() if self.league is not None else {}),
            },
        }

    def broadcast_weights(self) -> None:
        """Send every policy's weights (and the league's snapshots) to the evaluators."""
        tell_league(self.league, self.group.refs)
        self.group.broadcast()

    def stop(self) -> None:
        """Stop the evaluators (after any sample they are still working on). Idempotent."""
        self._pending = None
        self.group.stop()

    def state_dict(self) -> dict[str, int]:
        """The counters a restored run continues from (replay is saved separately)."""
        return {"env_steps": self.env_steps, "learner_steps": self.learner_steps}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Restore the counters of :meth:`state_dict`."""
        self.env_steps = int(state.get("env_steps", 0))
        self.learner_steps = int(state.get("learner_steps", 0))

    def replay_state(self) -> dict[str, np.ndarray]:
        """Every buffer as plain arrays, keyed ``{policy id}/{name}`` (for a checkpoint)."""
        return {
            f"{pid}/{key}": np.asarray(value)
            for pid, replay in self.replays.items()
            for key, value in replay.state_dict().items()
        }

    def load_replay_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Refill the buffers from :meth:`replay_state`.

        Raises:
            ValueError: The arrays are of a policy this run does not train.
        """
        states: dict[str, dict[str, np.ndarray]] = {pid: {} for pid in self.replays}
        # Longest first: an id may itself contain a "/" and be a prefix of another.
        ids = sorted(self.replays, key=len, reverse=True)
        for key, value in arrays.items():
            pid = next((p for p in ids if key.startswith(f"{p}/")), None)
            if pid is None:
                raise ValueError(
                    f"the checkpoint's replay key {key!r} is of no policy this run trains "
                    f"({', '.join(self.replays)})"
                )
            states[pid][key[len(pid) + 1 :]] = value
        for pid, state in states.items():
            if state:
                self.replays[pid].load_state_dict(state)

    def _request_samples(self) -> None:
        epsilon = float(self._epsilon_schedule(self.env_steps))
        for ref in self.group.refs:
            with contextlib.suppress(ActorDiedError):  # restarted: it gets the next one
                ref.tell("set_epsilon", epsilon)
        self._pending_epsilon = epsilon
        self._pending = [ref.ask("sample") for ref in self.group.refs]


def update_league(
    league: League | None,
    learners: Mapping[str, Learner],
    episodes: Sequence[EpisodeStats],
    env_steps: int,
) -> None:
    """Score ``episodes`` against the league's snapshots; add a snapshot of the learner when it
    has beaten them often enough (nothing without a league)."""
    if league is None:
        return
    for episode in episodes:
        league.record(episode)
    if league.ready_to_join():
        sid = league.add(learners[league.learner_id].get_weights(), env_steps)
        log.info("%s joined the self-play league (rating %.0f)", sid, league.rating)


def tell_league(league: League | None, refs: Sequence[ActorRef[Any]]) -> None:
    """Send the league's sampling probabilities to every evaluator (nothing without one)."""
    if league is None:
        return
    probabilities = league.probabilities()
    for ref in refs:
        try:
            ref.tell("set_league", probabilities)
        except ActorDiedError:
            log.debug("%s is down; it gets the league with its next round", ref.name)
