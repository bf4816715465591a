"""AsyncReplayOptimizer: Ape-X's distributed prioritized experience replay.

Horgan et al., "Distributed Prioritized Experience Replay", ICLR 2018. The parts, each an actor:

* N :class:`ApexWorker` actors step their envs continuously, each with its own epsilon
  ``eps_i = 0.4 ** (1 + 7 * i / (N - 1))`` (one worker: 0.4), build n-step transitions,
  compute initial priorities with their own copy of the network, and push straight to a replay
  shard (the data never passes through the learner).
* M :class:`~rlactors.replay.shard.ReplayShard` actors hold the prioritized memory; the
  learner samples from them in turn.
* The learner (this object, in the driver process) learns on prioritized batches, sends back
  new priorities, and **broadcasts its weights every** ``weight_sync_period_learner_steps``
  learner steps (rather than workers pulling them: one message per worker per period).

The learner never waits on a slow worker: :func:`~rlactors.actors.wait_any` serves whichever
answer comes first, each worker has a bounded number of rollouts in flight, and replay samples
are prefetched so learning and sampling overlap. A replay-ratio control (learner samples per
inserted transition) holds back whichever side runs ahead, so a run neither over- nor
under-trains when the number of workers changes.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import queue
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlactors.actors import (
    ActorDiedError,
    ActorOptions,
    ActorRef,
    Future,
    RestartLimitError,
    RestartPolicy,
    SpawnRequest,
    spawn_many,
    wait_any,
)
from rlactors.core import EpisodeStats, Learner, Optimizer, PolicyWeights, SampleBatch, Weights
from rlactors.evaluators import PRIORITIES, DQNEvaluator, EvaluatorConfig, QActing
from rlactors.inference import ServedPolicy
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.replay.shard import ReplayShard
from rlactors.seeding import SHARD_STREAM, derive_seed
from rlactors.validation import check_non_negative_ints, check_positive_ints

log = logging.getLogger("rlactors.optimizers")


def apex_epsilons(num_workers: int, base: float = 0.4, alpha: float = 7.0) -> list[float]:
    """Ape-X's per-worker exploration: ``base ** (1 + alpha * i / (N - 1))``; N = 1 gives base."""
    if num_workers == 1:
        return [base]
    return [base ** (1 + alpha * i / (num_workers - 1)) for i in range(num_workers)]


@dataclass(frozen=True)
class AsyncReplayConfig:
    """How the Ape-X optimizer coordinates workers, replay and the learner."""

    num_workers: int = 2
    """Evaluator actors sampling in parallel (N)."""

    num_replay_shards: int = 1
    """Replay actors; the capacity is split evenly and the learner samples them in turn."""

    buffer_capacity_transitions: int = 100_000
    """Transitions held across all shards (FIFO eviction)."""

    priority_alpha: float = 0.6
    """Priority exponent (Ape-X: 0.6)."""

    importance_beta: float = 0.4
    """Importance-sampling exponent (Ape-X: 0.4, not annealed)."""

    store_frames_once: bool = True
    """Frame-stack observations stored a frame at a time in the shards (see
    :class:`~rlactors.replay.ReplayShard`); workers send and the learner samples whole stacks."""

    batch_size: int = 64
    """Transitions per learner step."""

    learning_starts_transitions: int = 1_000
    """Transitions in replay before the learner starts."""

    replay_ratio: float = 8.0
    """Learner samples per inserted transition (``batch_size * learner_steps / inserted``).
    Sampling pauses when learning lags behind it, learning pauses when it runs ahead."""

    weight_sync_period_learner_steps: int = 50
    """The learner broadcasts its weights to every worker this often."""

    rollouts_in_flight_per_worker: int = 2
    """Rollout requests queued at each worker, so none idles while its result travels."""

    sample_requests_in_flight_per_shard: int = 2
    """Sample requests to each shard kept in flight, so batches are ready when the learner is."""

    batches_per_sample_request: int = 4
    """Batches one sample request asks for (fewer when the replay ratio allows fewer). Each
    request wakes the shard's process, and on a 2-core machine shared with other work a
    wake-up could cost the learner its core: with a request per batch, sending them took
    ~15% of the learner's time there. The learner's new priorities travel with the requests,
    so they reach the shard within two requests."""

    max_worker_restarts: int = 3
    """A worker whose process dies is restarted this many times within a minute; one more
    death stops the run with ``RestartLimitError``."""

    max_replay_restarts: int = 3
    """A replay shard whose process dies is restarted, empty, this many times within a
    minute; one more death stops the run with ``RestartLimitError``. What it held is lost and
    counted (``lost_transitions`` in the metrics)."""

    def __post_init__(self) -> None:
        positive = (
            "num_workers",
            "num_replay_shards",
            "buffer_capacity_transitions",
            "batch_size",
            "weight_sync_period_learner_steps",
            "rollouts_in_flight_per_worker",
            "sample_requests_in_flight_per_shard",
            "batches_per_sample_request",
        )
        check_positive_ints(self, *positive)
        check_non_negative_ints(self, "max_worker_restarts", "max_replay_restarts")
        if self.buffer_capacity_transitions < self.num_replay_shards:
            raise ValueError("AsyncReplayConfig: fewer transitions of capacity than shards")
        if not self.replay_ratio > 0:
            raise ValueError(f"AsyncReplayConfig.replay_ratio must be > 0, got {self.replay_ratio}")
        if not 0 <= self.priority_alpha <= 1 or not 0 <= self.importance_beta <= 1:
            raise ValueError("AsyncReplayConfig: priority_alpha and importance_beta lie in [0, 1]")
        if self.learning_starts_transitions < self.batch_size:
            raise ValueError(
                "AsyncReplayConfig.learning_starts_transitions must be >= batch_size, got "
                f"{self.learning_starts_transitions} < {self.batch_size}"
            )


class ApexWorker:
    """An evaluator that pushes its transitions (with initial priorities) to replay itself.

    Args:
        config: The evaluator's config (``compute_priorities`` is forced on).
        shards: The replay shards; the worker writes to them in turn, starting at ``index``.
        index: This worker's number; names its random streams.
        policy: What to act through (a policy server's client); None: a local copy.
    """

    def __init__(
        self,
        config: EvaluatorConfig,
        shards: list[ActorRef[ReplayShard]],
        index: int = 0,
        policy: QActing | None = None,
    ) -> None:
        config = dataclasses.replace(config, compute_priorities=True)
        self.evaluator = DQNEvaluator(config, index, policy)  # envs (and the policy) live here
        self.shards = shards
        self.next_shard = index % len(shards)

    def run(self) -> dict[str, Any]:
        """One rollout, pushed to replay. Returns counts and the episodes that finished:
        ``transitions`` (delivered to a shard), ``undelivered`` (sampled, but their shard was
        down: lost), ``env_steps``, ``env_crashes`` (since the last rollout) and ``episodes``."""
        batch, episodes = self.evaluator.sample()
        undelivered = 0
        if len(batch):
            columns = batch.columns
            priorities = columns.pop(PRIORITIES)
            shard = self.shards[self.next_shard]
            self.next_shard = (self.next_shard + 1) % len(self.shards)
            try:
                shard.tell("add", columns, priorities)
            except ActorDiedError:
                # The shard's process died and is being restarted (or is gone for good, which
                # the learner learns from its own calls): these transitions are lost, and said so.
                undelivered = len(batch)
        return {
            "transitions": len(batch) - undelivered,
            "undelivered": undelivered,
            "env_steps": self.evaluator.env_steps_per_sample(),
            "episodes": [(e.episode_return, e.length) for e in episodes],
            "env_crashes": self.evaluator.new_env_crashes(),
        }

    def set_weights(self, weights: PolicyWeights) -> None:
        """Load the learner's weights, ``{policy id: weights}`` (see ``DQNEvaluator``)."""
        self.evaluator.set_weights(weights)

    def get_metrics(self) -> dict[str, Any]:
        """The evaluator's counters (env steps, env steps/s, epsilon)."""
        return self.evaluator.get_metrics()


class AsyncReplayOptimizer(Optimizer):
    """Ape-X: N sampling workers, M replay shards, one learner; see the module docstring.

    Args:
        config: Coordination settings.
        evaluator_config: The workers' env, rollout, n-step and network settings (their
            ``epsilon`` is replaced by :func:`apex_epsilons`).
        learner: The learner (lives in this process).
        iteration_env_steps: Env steps one :meth:`step` call waits for.
        server: A policy server the workers act through (see :class:`WorkerGroup`); None:
            each keeps a local copy.
    """

    def __init__(
        self,
        config: AsyncReplayConfig,
        evaluator_config: EvaluatorConfig,
        learner: Learner,
        iteration_env_steps: int = 2_000,
        server: ServedPolicy | None = None,
    ) -> None:
        policy_id = evaluator_config.policy_id
        self.learner = learner
        self.policy_id = policy_id
        self._spawn_shards(config, {policy_id: learner}, evaluator_config.seed, iteration_env_steps)

        def weights() -> dict[str, Weights]:
            return {policy_id: learner.get_weights()}

        self.workers: WorkerGroup[Any] = WorkerGroup(
            ApexWorker,
            lambda i: (
                dataclasses.replace(evaluator_config, epsilon=self.epsilons[i]),
                self.shards,
            ),
            config.num_workers,
            weights=weights,
            max_restarts=config.max_worker_restarts,
            name="worker",
            server=server,
        )
        self._start_counters(evaluator_config.env_steps_per_sample)

    def _spawn_shards(
        self,
        config: AsyncReplayConfig,
        learners: Mapping[str, Learner],
        seed: int,
        iteration_env_steps: int,
    ) -> None:
        """The replay shards: ``num_replay_shards`` for each learner's policy (one policy for
        single-role Ape-X; see :mod:`rlactors.optimizers.multi_agent_async_replay`), each
        policy's capacity split evenly over its shards."""
        self.config = config
        #: The learners by policy id; shard ``j`` holds policy ``shard_policies[j]``'s rows.
        self.learners = dict(learners)
        self.shard_policies = [
            pid for pid in self.learners for _ in range(config.num_replay_shards)
        ]
        self.iteration_env_steps = iteration_env_steps
        per_shard = config.buffer_capacity_transitions // config.num_replay_shards
        # Shards that came back (their index), from the backend's supervisor thread; handled
        # by the learner's loop, which owns the counters.
        self._restarted_shards: queue.SimpleQueue[int] = queue.SimpleQueue()
        shard_restart = RestartPolicy.on_failure(
            max_restarts=config.max_replay_restarts, within_s=60.0
        )
        self.shards = spawn_many(  # started at once, as the workers are
            SpawnRequest(
                ReplayShard,
                (per_shard,),
                {
                    "alpha": config.priority_alpha,
                    "seed": derive_seed(seed, SHARD_STREAM, j),
                    "store_frames_once": config.store_frames_once,
                },
                ActorOptions(
                    name=f"replay-{j}",
                    restart=shard_restart,
                    on_restart=functools.partial(self._shard_restarted, j),
                ),
            )
            for j in range(len(self.shard_policies))
        )
        self.epsilons = apex_epsilons(config.num_workers)

    def _start_counters(self, env_steps_per_sample: int) -> None:
        """The counters and the learner loop's state (after the shards and workers)."""
        config = self.config
        self._rollout_env_steps = env_steps_per_sample  # what each worker's "run" brings
        # Counters (saved with checkpoints, so a restored run keeps its replay ratio).
        self.env_steps = 0
        self.inserted = 0
        self.env_crashes = 0  # envs the workers rebuilt after a crash, so far
        self.learned_samples = 0
        self.learner_steps = 0
        self._requested_samples = 0  # learned, being learned, or asked for
        # Supervision of the shards: restarts, transitions lost with them (what a shard held
        # when last heard from, plus rollouts workers could not deliver), each shard's size
        # as its last answer gave it, and shards left out of sampling until they refill.
        self.replay_restarts = 0
        self.lost_transitions = 0
        self._shard_sizes = [0] * len(self.shards)
        self._refill_until = [0] * len(self.shards)
        # How far learning may fall behind the replay ratio (in samples) before new rollouts
        # wait: one rollout per worker. Each rollout owes the learner replay_ratio * rollout
        # samples, so when rollouts restart the learner still has that much work queued, more
        # than a rollout takes to come back, and it never sits idle waiting for data. (With
        # a lag of two batches, the learner waited ~0.4 ms per 1.8 ms learner step, the
        # workers' round trip.)
        self._max_lag_samples = max(
            config.replay_ratio * env_steps_per_sample * config.num_workers,
            float(
                config.sample_requests_in_flight_per_shard
                * config.batches_per_sample_request
                * config.batch_size
            ),
        )
        # Each future's kind ("run" or "sample"), worker or shard index, and samples asked.
        self._inflight: dict[Future[Any], tuple[str, int, int]] = {}
        # New priorities not yet sent, per shard: they travel with the next sample request.
        # Each update names the shard instance whose rows it is for: one restarted since drops it.
        self._priorities: list[list[tuple[str, np.ndarray, np.ndarray]]] = [[] for _ in self.shards]
        self._next_shard = 0
        self._learn_time_s = 0.0
        self._started = time.perf_counter()

    # -- the loop ------------------------------------------------------------------------------

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """Run until ``iteration_env_steps`` more env steps are in; return their statistics
        (``last`` changes nothing: rollouts in flight are abandoned at :meth:`stop`).

        Returns:
            See :meth:`rlactors.core.Optimizer.step`. The learner's statistics are ``loss``,
            ``q_mean``, ``grad_norm`` (means over this step's learner steps, None before
            learning starts) and ``learner_updates_per_s``; ``metrics`` are
            ``inserted_transitions`` (so far), ``replay_ratio`` (learner samples per inserted
            transition, so far), ``replay_size``; ``worker_restarts``, ``replay_restarts``,
            ``lost_transitions`` (what restarted shards held when last heard from, and what
            workers could not deliver to them), ``lost_rollouts`` (rollouts of
            workers that died before pushing them) and ``env_crashes``, all so far; each
            worker's ``worker_epsilons`` and ``worker_env_steps_per_s``; ``epsilon`` is None
            (there is one per worker).
        """
        target = self.env_steps + self.iteration_env_steps
        env_steps0 = self.env_steps
        episodes: list[EpisodeStats] = []
        # Each policy's learner statistics of this step (one policy for single-role Ape-X).
        learned: dict[str, list[dict[str, float]]] = {pid: [] for pid in self.learners}
        t0, learn_time0 = time.perf_counter(), self._learn_time_s
        wait_s = 0.0
        limit_met = False
        while self.env_steps < target:
            self._note_shard_restarts()
            self._top_up()
            runs = sum(1 for kind, _, _ in self._inflight.values() if kind == "run")
            if not runs and self._rollouts_that_fit(runs) <= 0:
                limit_met = True  # no rollout fits within env_step_limit, none is coming
                break
            wait_start = time.perf_counter()
            done, _ = wait_any(list(self._inflight), timeout=60.0)
            wait_s += time.perf_counter() - wait_start
            if not done:
                raise TimeoutError("Ape-X: no worker or replay shard answered within 60 s")
            self._note_shard_restarts()  # before an answer of a restarted shard is read
            for fut in done:
                kind, who, asked = self._inflight.pop(fut)
                try:
                    value = fut.result()
                except RestartLimitError:
                    raise  # died more often than its restart policy allows: the run ends
                except ActorDiedError as exc:
                    if kind == "sample":
                        # Its supervisor restarts it empty (see _note_shard_restarts); the
                        # samples it owed are asked of the shards again.
                        self._requested_samples -= asked
                        log.warning("replay-%d lost a sample request (%s)", who, exc)
                    else:
                        self.workers.lost(who, "rollout", exc)
                    continue
                if kind == "run":
                    self.env_steps += value["env_steps"]
                    self.inserted += value["transitions"]
                    self.lost_transitions += value["undelivered"]
                    self.env_crashes += value.get("env_crashes", 0)
                    # (return, length), and a multi-role worker's role returns and players.
                    episodes += [EpisodeStats(*e) for e in value["episodes"]]
                else:
                    batches, self._shard_sizes[who], incarnation = value
                    if len(batches) * self.config.batch_size < asked:
                        # Refilling after a restart: its owed samples go to the other shards.
                        self._requested_samples -= asked - len(batches) * self.config.batch_size
                        self._refill_until[who] = self.inserted + self.config.batch_size * len(
                            self.shards
                        )
                    learned[self.shard_policies[who]] += [
                        self._learn(who, incarnation, *sample) for sample in batches
                    ]
        self._send_priorities()  # none wait past the iteration (a checkpoint may follow)
        elapsed = time.perf_counter() - t0

        def stats(steps: list[dict[str, float]]) -> dict[str, float | None]:
            means = {
                key: float(np.mean([s[key] for s in steps])) if steps else None
                for key in ("loss", "q_mean", "grad_norm")
            }
            return {**means, "learner_updates_per_s": len(steps) / elapsed}

        workers = self.worker_metrics()
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": self.env_steps - env_steps0,
            "env_step_limit_met": limit_met,
            "learner_steps": self.learner_steps,
            "episode_returns": [e.episode_return for e in episodes],
            "episode_lengths": [e.length for e in episodes],
            "sample_wait_s": wait_s,
            "learn_time_s": self._learn_time_s - learn_time0,
            "learners": {pid: stats(steps) for pid, steps in learned.items()},
            "metrics": {
                "epsilon": None,
                "replay_size": self.replay_size(),
                "inserted_transitions": self.inserted,
                "replay_ratio": self.learned_samples / max(1, self.inserted),
                "worker_restarts": self.workers.restarts,
                "replay_restarts": self.replay_restarts,
                "lost_transitions": self.lost_transitions,
                "lost_rollouts": self.workers.lost_requests,
                "env_crashes": self.env_crashes,
                "worker_epsilons": [w["epsilon"] for w in workers],
                "worker_env_steps_per_s": [w["env_steps_per_s"] for w in workers],
                **self._episodes_finished(episodes),
            },
        }

    def _episodes_finished(self, episodes: list[EpisodeStats]) -> dict[str, Any]:
        """The episodes of a step, once it ends; returns extra metrics (none here: the
        multi-role optimizer scores its league with them)."""
        return {}

    def _top_up(self) -> None:
        """Keep rollouts and replay samples in flight, within the replay ratio."""
        cfg = self.config
        runs = [0] * len(self.workers)
        requests = 0
        for kind, who, _ in self._inflight.values():
            if kind == "run":
                runs[who] += 1
            else:
                requests += 1
        learning = self.inserted >= cfg.learning_starts_transitions
        # Replay samples the replay ratio lets the learner ask for, beyond those it asked for.
        owed = cfg.replay_ratio * self.inserted - self._requested_samples
        # Shards refilling after a restart sit out until workers have inserted a little more.
        ready = [j for j, until in enumerate(self._refill_until) if self.inserted >= until]
        if learning and ready:
            slots = cfg.sample_requests_in_flight_per_shard * len(ready) - requests
            while slots > 0 and owed >= cfg.batch_size:
                n = min(cfg.batches_per_sample_request, int(owed // cfg.batch_size))
                j = self._next_shard
                self._next_shard = (j + 1) % len(self.shards)
                if j not in ready:
                    continue
                try:
                    fut = self.shards[j].ask(
                        "sample_batches",
                        n,
                        cfg.batch_size,
                        cfg.importance_beta,
                        self._take_priorities(j),
                    )
                except RestartLimitError:
                    raise
                except ActorDiedError:
                    # Down and not back yet: ask again once it is (its priorities are moot).
                    self._refill_until[j] = self.inserted + 1
                    ready.remove(j)
                    if not ready:
                        break
                    continue
                self._inflight[fut] = ("sample", j, n * cfg.batch_size)
                self._requested_samples += n * cfg.batch_size
                owed -= n * cfg.batch_size
                slots -= 1
                requests += 1
        # While learning lags further behind the ratio than _max_lag_samples, new rollouts wait:
        # the learner catches up instead of the buffer filling with unlearned transitions.
        lagging = learning and owed > self._max_lag_samples
        limit = 0 if lagging and requests else cfg.rollouts_in_flight_per_worker
        fit = self._rollouts_that_fit(sum(runs))
        for i, worker in enumerate(self.workers.refs):
            for _ in range(min(limit - runs[i], fit)):
                self._inflight[worker.ask("run")] = ("run", i, 0)
                fit -= 1

    def _rollouts_that_fit(self, runs: int) -> int:
        """New rollouts that fit within ``env_step_limit`` beside the ``runs`` in flight."""
        return self.requests_within_limit(self.env_steps, self._rollout_env_steps, runs)

    def _shard_restarted(self, j: int, _ref: ActorRef[ReplayShard]) -> None:
        # The backend's supervisor thread calls this; the learner's loop owns the counters.
        self._restarted_shards.put(j)

    def _note_shard_restarts(self) -> None:
        """Account for shards their supervisor restarted (empty) since the last look."""
        while not self._restarted_shards.empty():
            j = self._restarted_shards.get_nowait()
            lost, self._shard_sizes[j] = self._shard_sizes[j], 0
            self.replay_restarts += 1
            self.lost_transitions += lost
            self._priorities[j] = []  # for rows that no longer exist
            self._refill_until[j] = self.inserted + self.config.batch_size * len(self.shards)
            log.warning("replay-%d was restarted empty: %d transitions it held were lost", j, lost)

    def _learn(
        self,
        shard: int,
        incarnation: str,
        columns: dict[str, np.ndarray],
        ids: np.ndarray,
        weights: np.ndarray,
    ) -> dict[str, float]:
        start = time.perf_counter()
        batch = SampleBatch({**columns, "weights": weights})
        # Ask for this request's successor before learning, so the shard prepares it while
        # the learner learns: topping up only once every answer in hand was learned on left
        # the learner a full shard round trip (~0.6 ms) short of data after each burst.
        self._top_up()
        stats = self.learners[self.shard_policies[shard]].learn(batch)
        self.learned_samples += len(batch)
        # Not sent now but with the shard's next sample request (see
        # batches_per_sample_request): a message of their own per learner step took ~13% of
        # the learner's wall time on a busy 2-core machine.
        self._priorities[shard].append((incarnation, ids, np.abs(stats["td_error"])))
        self.learner_steps += 1
        if self.learner_steps % self.config.weight_sync_period_learner_steps == 0:
            self.broadcast_weights()
        self._learn_time_s += time.perf_counter() - start
        return {k: float(stats[k]) for k in ("loss", "q_mean", "grad_norm")}

    def _take_priorities(self, shard: int) -> tuple[str, np.ndarray, np.ndarray] | None:
        """Shard ``shard``'s unsent priority updates, as one ``(incarnation, ids,
        priorities)`` (or None). Around a restart, updates for the rows of the instance that
        died are dropped: only those of the newest answer's instance are kept."""
        pending = self._priorities[shard]
        if not pending:
            return None
        self._priorities[shard] = []
        if len(pending) == 1:
            return pending[0]
        incarnation = pending[-1][0]
        pending = [update for update in pending if update[0] == incarnation]
        return (
            incarnation,
            np.concatenate([ids for _, ids, _ in pending]),
            np.concatenate([priorities for _, _, priorities in pending]),
        )

    def _send_priorities(self) -> None:
        """Send every shard its unsent priority updates on their own."""
        for j, shard in enumerate(self.shards):
            updates = self._take_priorities(j)
            if updates is None:
                continue
            try:
                shard.tell("update_priorities", *updates)
            except RestartLimitError:
                raise
            except ActorDiedError:
                pass  # it died (and comes back empty): the rows these were for are gone

    def broadcast_weights(self) -> None:
        """Send the learner's current weights to every worker."""
        self.workers.broadcast()

    # -- introspection, checkpoints, shutdown --------------------------------------------------

    def worker_metrics(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Each worker's env steps, env steps/s and epsilon; a worker that died and is being
        restarted reports ``None`` for its env steps and env steps/s (and its fixed epsilon).
        """
        futures = [w.ask("get_metrics") for w in self.workers.refs]
        metrics = []
        for epsilon, future in zip(self.epsilons, futures, strict=True):
            try:
                metrics.append(future.result(timeout))
            except ActorDiedError:
                # A worker killed since the last iteration: its supervisor is restarting it, and
                # a metrics line is no reason to end the run.
                metrics.append({"env_steps": None, "env_steps_per_s": None, "epsilon": epsilon})
        return metrics

    def replay_size(self, timeout: float = 30.0) -> int:
        """Transitions held across the shards."""
        futures = [s.ask("size") for s in self.shards]
        for j, future in enumerate(futures):
            try:
                self._shard_sizes[j] = future.result(timeout)
            except RestartLimitError:
                raise
            except ActorDiedError:
                self._shard_sizes[j] = self._ask_shard(j, "size", timeout=timeout)
        return sum(self._shard_sizes)

    def _ask_shard(self, j: int, method: str, *args: Any, timeout: float) -> Any:
        """Shard ``j``'s answer to ``method``, asked again if it died meanwhile (a few times:
        its supervisor brings it back, empty; past its restart limit the error escalates)."""
        for attempt in range(3):
            try:
                return self.shards[j].ask(method, *args).result(timeout)
            except RestartLimitError:
                raise
            except ActorDiedError:
                if attempt == 2:
                    raise
                time.sleep(0.2)  # its death may not have reached the supervisor yet
        raise AssertionError("unreachable")

    def state_dict(self) -> dict[str, int]:
        """The counters a checkpoint keeps (replay ratio and schedules resume from them)."""
        return {
            "env_steps": self.env_steps,
            "inserted": self.inserted,
            "learned_samples": self.learned_samples,
            "learner_steps": self.learner_steps,
            "replay_restarts": self.replay_restarts,
            "lost_transitions": self.lost_transitions,
        }

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Restore :meth:`state_dict` (after the learner's state was loaded)."""
        self.env_steps = int(state.get("env_steps", 0))
        self.inserted = int(state.get("inserted", 0))
        self.learned_samples = int(state.get("learned_samples", 0))
        self._requested_samples = self.learned_samples  # nothing is in flight after a restore
        self.learner_steps = int(state.get("learner_steps", 0))
        self.replay_restarts = int(state.get("replay_restarts", 0))
        self.lost_transitions = int(state.get("lost_transitions", 0))
        self.broadcast_weights()

    def replay_state(self, timeout: float = 120.0) -> dict[str, np.ndarray]:
        """Every shard's contents as plain arrays, keyed ``shard{j}/{name}``."""
        self._send_priorities()
        states = [
            self._ask_shard(j, "state_dict", timeout=timeout) for j in range(len(self.shards))
        ]
        return {
            f"shard{j}/{key}": np.asarray(value)
            for j, state in enumerate(states)
            for key, value in state.items()
        }

    def load_replay_state(self, arrays: Mapping[str, np.ndarray], timeout: float = 120.0) -> None:
        """Refill the shards from :meth:`replay_state`.

        Raises:
            ValueError: The arrays are of another number of shards.
        """
        states: list[dict[str, np.ndarray]] = [{} for _ in self.shards]
        for key, value in arrays.items():
            shard, _, name = key.partition("/")
            j = int(shard.removeprefix("shard"))
            if not 0 <= j < len(states):
                raise ValueError(
                    f"replay of shard {j} does not fit {len(self.shards)} replay shards "
                    "(num_replay_shards must be the checkpoint's)"
                )
            states[j][name] = value
        for shard_ref, state in zip(self.shards, states, strict=True):
            shard_ref.ask("load_state_dict", state).result(timeout)

    def stop(self) -> None:
        """Stop the workers and the shards (abandoning what is in flight)."""
        self._inflight.clear()
        self.workers.stop()
        for ref in self.shards:
            try:
                ref.stop(timeout=10.0)
            except Exception:  # best effort at shutdown: report it and go on
                log.exception("stopping %s failed", ref.name)
