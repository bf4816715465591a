"""SyncReplayOptimizer: evaluator actors sample, one learner trains from replay, in rounds.

One :meth:`~SyncReplayOptimizer.step` is one round (DQN as in Mnih et al., 2015, with the
sampling spread over actors)::

    samples = gather(evaluator.ask("sample") for each evaluator)   # asked one round earlier
    replay.add(samples)
    ask every evaluator for its next sample           # they step envs while the learner trains
    repeat train_steps_per_sample times:              # once replay holds learning_starts steps
        batch, ids, weights = replay.sample(batch_size)
        stats = learner.learn(batch + weights)        # the policy syncs its target network
        replay.update_priorities(ids, |stats["td_error"]|)   # prioritized replay only
    evaluator.tell("set_weights", {policy_id: learner.get_weights()})   # for each evaluator

Asking for the next sample before learning lets sampling and learning overlap on the process
backend; the price is that a sample is collected with weights one round old, which off-policy
Q-learning does not mind. Messages from one sender arrive in order, so every evaluator sees the
same sequence (epsilon, sample, weights, ...) on every backend and a run is reproducible.

The evaluators are a supervised :class:`~rlactors.optimizers.worker_group.WorkerGroup`: one whose
process dies is restarted with the current weights, and the round goes on with the others'
samples (its own are lost; the env steps count only what arrived).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlactors.actors import ActorDiedError, Future, gather
from rlactors.core import (
    DEFAULT_POLICY_ID,
    EpisodeStats,
    Evaluator,
    Learner,
    Optimizer,
    SampleBatch,
)
from rlactors.evaluators import PRIORITIES
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.replay import PrioritizedSampler, ReplayBuffer, UniformSampler

log = logging.getLogger(__name__)

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class SyncReplayConfig:
    """How :class:`SyncReplayOptimizer` fills replay and how much it learns per round."""

    buffer_capacity_transitions: int = 100_000
    """Replay capacity in (n-step) transitions; the oldest are evicted first."""

    batch_size: int = 64
    """Transitions per learner step."""

    train_steps_per_sample: int = 128
    """Learner steps after each round of samples (one sample from every evaluator)."""

    learning_starts_env_steps: int = 1000
    """No learning until this many env steps have been sampled (fills replay first)."""

    prioritized_replay: bool = False
    """Proportional prioritized replay (Schaul et al., 2016) instead of uniform."""

    prioritized_replay_alpha: float = 0.6
    """Priority exponent: 0 is uniform, 1 fully proportional."""

    prioritized_replay_eps: float = 1e-6
    """Added to every priority so that no transition's probability is 0."""

    store_frames_once: bool = True
    """Frame-stack observations stored a frame at a time (see :class:`ReplayBuffer`)."""

    sample_timeout_s: float = 600.0
    """Longest wait for one round of samples before giving up with ``TimeoutError``."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        for name in ("buffer_capacity_transitions", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SyncReplayConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("train_steps_per_sample", "learning_starts_env_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"SyncReplayConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not self.sample_timeout_s > 0:
            raise ValueError(
                f"SyncReplayConfig.sample_timeout_s must be > 0, got {self.sample_timeout_s}"
            )


class SyncReplayOptimizer(Optimizer):
    """The single-learner replay loop over evaluator actors (see the module docstring).

    The evaluators are actors answering ``sample()`` (returning ``(SampleBatch, episodes)``),
    ``set_weights({policy id: weights})``, ``env_steps_per_sample()`` and, when an epsilon
    schedule is given, ``set_epsilon(epsilon)`` -- :class:`~rlactors.evaluators.DQNEvaluator`
    does. The optimizer owns them from now on: :meth:`stop` stops them. The learner lives in the
    caller's process; ``learn(batch)`` must return ``td_error`` (``[B]``) for prioritized replay.

    Args:
        evaluators: The evaluator actors, a supervised group (see
            :func:`~rlactors.optimizers.worker_group.evaluator_group`) fed ``learner``'s
            weights.
        learner: What learns (:class:`~rlactors.core.Learner`); its weights are broadcast
            after each round.
        config: Replay and learning settings.
        seed: Seed of the replay sampling stream.
        epsilon_schedule: Env steps -> exploration epsilon, sent to every evaluator before each
            sample is requested; None leaves the evaluators' epsilon alone (Ape-X's fixed
            per-evaluator epsilons).
        beta_schedule: Env steps -> importance-sampling exponent beta for prioritized replay
            (default: 0.4 throughout, as in Ape-X).
        policy_id: The id the learner's statistics are reported under.
    """

    def __init__(
        self,
        evaluators: WorkerGroup[Any],
        learner: Learner,
        config: SyncReplayConfig,
        *,
        seed: int,
        epsilon_schedule: Schedule | None = None,
        beta_schedule: Schedule | None = None,
        policy_id: str = DEFAULT_POLICY_ID,
    ) -> None:
        self.group = evaluators
        self.learner = learner
        self.policy_id = policy_id
        self.config = config
        self._epsilon_schedule = epsilon_schedule
        self._beta_schedule = beta_schedule or (lambda _step: 0.4)
        self.replay = replay_buffer(config)
        self._rng = np.random.default_rng(seed)
        self.env_steps = 0
        self.learner_steps = 0
        steps = gather(
            [ev.ask("env_steps_per_sample") for ev in self.group.refs], config.sample_timeout_s
        )
        self._steps_per_sample: list[int] = [int(s) for s in steps]
        self._pending: list[Future[tuple[SampleBatch, list[EpisodeStats]]]] | None = None
        # Asked right behind each sample (messages arrive in order): its env crashes.
        self._pending_crashes: list[Future[int]] = []
        #: Envs the evaluators rebuilt after a crash, so far.
        self.env_crashes = 0
        self._pending_epsilon: float | None = None
        self._stat_keys: set[str] = {"loss", "q_mean", "grad_norm"}

    @property
    def env_steps_per_round(self) -> int:
        """Env steps one :meth:`step` adds (the sum over evaluators)."""
        return sum(self._steps_per_sample)

    def broadcast_weights(self) -> None:
        """Send the learner's weights to every evaluator (fire-and-forget)."""
        self.group.broadcast()

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """One round: collect samples, add them to replay, learn, broadcast weights.

        Args:
            last: No round follows: the next round's samples are not asked for before
                learning (the overlap), so no evaluator works for nothing.

        Returns:
            See :meth:`rlactors.core.Optimizer.step`. The learner's statistics are ``loss``,
            ``q_mean``, ``grad_norm`` and whatever else scalar it returns (means over this
            round's learner steps; None before learning starts) and
            ``learner_steps_this_step``; ``metrics`` are ``replay_size``, ``epsilon`` the
            samples were collected with (None without a schedule), ``beta`` (prioritized
            replay only), ``worker_restarts`` and ``env_crashes`` (so far).
        """
        wait_start = time.perf_counter()
        if self._pending is None:
            self._request_samples()
        assert self._pending is not None
        pending, self._pending = self._pending, None  # a failed round is not waited on again
        pending_crashes, self._pending_crashes = self._pending_crashes, []
        epsilon, self._pending_epsilon = self._pending_epsilon, None
        episodes: list[EpisodeStats] = []
        added = 0
        for i, future in enumerate(pending):
            try:
                batch, finished = future.result(self.config.sample_timeout_s)
            except ActorDiedError as exc:
                # Its supervisor restarts it (with the current weights); the round goes on
                # with the others' samples.
                self.group.lost(i, "sample", exc)
                continue
            self._add(batch)
            episodes.extend(finished)
            added += self._steps_per_sample[i]
            # One that died right after its sample: its warning comes with the next round.
            with contextlib.suppress(ActorDiedError):
                self.env_crashes += pending_crashes[i].result(self.config.sample_timeout_s)
        sample_wait_s = time.perf_counter() - wait_start
        self.env_steps += added
        if not last:
            self._request_samples()
        learn_start = time.perf_counter()
        learned, beta = self._learn()
        learn_time_s = time.perf_counter() - learn_start
        if learned["learner_steps_this_step"]:
            self.broadcast_weights()
        metrics: dict[str, Any] = {
            "epsilon": epsilon,
            "replay_size": len(self.replay),
            "worker_restarts": self.group.restarts,
            "lost_rollouts": self.group.lost_requests,
            "env_crashes": self.env_crashes,
        }
        if self.config.prioritized_replay:
            metrics["beta"] = beta
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": added,
            "learner_steps": self.learner_steps,
            "episode_returns": [e.episode_return for e in episodes],
            "episode_lengths": [e.length for e in episodes],
            "sample_wait_s": sample_wait_s,
            "learn_time_s": learn_time_s,
            "learners": {self.policy_id: learned},
            "metrics": metrics,
        }

    def stop(self) -> None:
        """Stop the evaluators (after any sample they are still working on). Idempotent."""
        self._pending = None
        self._pending_crashes = []
        self.group.stop()

    def state_dict(self) -> dict[str, int]:
        """The counters a restored run continues from (replay is saved separately)."""
        return {"env_steps": self.env_steps, "learner_steps": self.learner_steps}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Restore the counters of :meth:`state_dict`."""
        self.env_steps = int(state.get("env_steps", 0))
        self.learner_steps = int(state.get("learner_steps", 0))

    def replay_state(self) -> dict[str, np.ndarray]:
        """The replay buffer as plain arrays (for a checkpoint)."""
        return {k: np.asarray(v) for k, v in self.replay.state_dict().items()}

    def load_replay_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Refill the replay buffer from :meth:`replay_state`."""
        self.replay.load_state_dict(dict(arrays))

    def _request_samples(self) -> None:
        if self._epsilon_schedule is not None:
            epsilon = float(self._epsilon_schedule(self.env_steps))
            for ev in self.group.refs:
                ev.tell("set_epsilon", epsilon)
            self._pending_epsilon = epsilon
        self._pending = [ev.ask(Evaluator.sample) for ev in self.group.refs]
        self._pending_crashes = [ev.ask("new_env_crashes") for ev in self.group.refs]

    def _add(self, batch: SampleBatch) -> None:
        if not len(batch):
            return
        columns = batch.columns
        priorities = columns.pop(PRIORITIES, None)
        if not self.config.prioritized_replay:
            priorities = None
        self.replay.add(columns, priorities=priorities)

    def _learn(self) -> tuple[dict[str, Any], float]:
        beta = float(self._beta_schedule(self.env_steps))
        learned = learn_from_replay(
            self.replay, self.learner, self.config, self._rng, beta, self.env_steps, self._stat_keys
        )
        self.learner_steps += learned["learner_steps_this_step"]
        loss = learned.get("loss")
        if loss is not None and not math.isfinite(loss):
            log.warning("non-finite loss %s at learner step %d", loss, self.learner_steps)
        return learned, beta


def replay_buffer(config: SyncReplayConfig) -> ReplayBuffer:
    """An empty buffer of ``config``'s capacity, prioritized or uniform."""
    sampler = (
        PrioritizedSampler(config.prioritized_replay_alpha, config.prioritized_replay_eps)
        if config.prioritized_replay
        else UniformSampler()
    )
    return ReplayBuffer(
        config.buffer_capacity_transitions, sampler, store_frames_once=config.store_frames_once
    )


def learn_from_replay(
    replay: ReplayBuffer,
    learner: Learner,
    config: SyncReplayConfig,
    rng: np.random.Generator,
    beta: float,
    env_steps: int,
    stat_keys: set[str],
) -> dict[str, Any]:
    """One round of learning: ``config.train_steps_per_sample`` learner steps on batches of
    ``replay`` (none before ``learning_starts_env_steps``), priorities updated when prioritized.

    Args:
        replay: The buffer to sample.
        learner: What learns; ``learn`` returns ``td_error`` ``[B]`` for prioritized replay.
        config: Batch size, learner steps per round, learning start, prioritized or not.
        rng: The sampling stream.
        beta: Importance-sampling exponent.
        env_steps: Env steps sampled so far (against ``learning_starts_env_steps``).
        stat_keys: The statistic names reported so far; updated with this round's, so a round
            without learning reports the same keys (as None).

    Returns:
        ``learner_steps_this_step`` and the means over the round of the learner's scalar
        statistics (``loss``, ``q_mean``, ``grad_norm`` for DQN; None without learning).
    """
    steps = 0
    totals: dict[str, float] = dict.fromkeys(stat_keys, 0.0)
    if env_steps >= config.learning_starts_env_steps and len(replay):
        for _ in range(config.train_steps_per_sample):
            batch, ids, weights = replay.sample(config.batch_size, rng, beta)
            stats = learner.learn(SampleBatch({**batch.columns, "weights": weights}))
            if config.prioritized_replay:
                replay.update_priorities(ids, np.abs(stats["td_error"]))
            for key, value in stats.items():
                if key != "learner_steps" and _is_scalar(value):
                    totals[key] = totals.get(key, 0.0) + float(value)
            steps += 1
    stat_keys.update(totals)
    means: dict[str, Any] = {k: (v / steps if steps else None) for k, v in totals.items()}
    return {"learner_steps_this_step": steps, **means}


def _is_scalar(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)
