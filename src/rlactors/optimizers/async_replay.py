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
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlactors.actors import ActorDiedError, ActorOptions, ActorRef, Future, spawn_with, wait_any
from rlactors.core import EpisodeStats, Learner, Optimizer, PolicyWeights, SampleBatch, Weights
from rlactors.evaluators import PRIORITIES, DQNEvaluator, EvaluatorConfig
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.replay.shard import ReplayShard
from rlactors.seeding import SHARD_STREAM, derive_seed
from rlactors.validation import check_positive_ints

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
    """

    def __init__(
        self, config: EvaluatorConfig, shards: list[ActorRef[ReplayShard]], index: int = 0
    ) -> None:
        config = dataclasses.replace(config, compute_priorities=True)
        self.evaluator = DQNEvaluator(config, index)  # env and policy copy live here
        self.shards = shards
        self.next_shard = index % len(shards)

    def run(self) -> dict[str, Any]:
        """One rollout, pushed to replay. Returns counts (``env_crashes``: since the last
        rollout) and the episodes that finished."""
        batch, episodes = self.evaluator.sample()
        if len(batch):
            columns = batch.columns
            priorities = columns.pop(PRIORITIES)
            self.shards[self.next_shard].tell("add", columns, priorities)
            self.next_shard = (self.next_shard + 1) % len(self.shards)
        return {
            "transitions": len(batch),
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
    """

    def __init__(
        self,
        config: AsyncReplayConfig,
        evaluator_config: EvaluatorConfig,
        learner: Learner,
        iteration_env_steps: int = 2_000,
    ) -> None:
        self.config = config
        self.learner = learner
        self.iteration_env_steps = iteration_env_steps
        seed = evaluator_config.seed
        per_shard = config.buffer_capacity_transitions // config.num_replay_shards
        self.shards = [
            spawn_with(
                ActorOptions(name=f"replay-{j}"),
                ReplayShard,
                per_shard,
                alpha=config.priority_alpha,
                seed=derive_seed(seed, SHARD_STREAM, j),
            )
            for j in range(config.num_replay_shards)
        ]
        self.epsilons = apex_epsilons(config.num_workers)
        policy_id = evaluator_config.policy_id

        def weights() -> dict[str, Weights]:
            return {policy_id: learner.get_weights()}

        self.workers = WorkerGroup(
            ApexWorker,
            lambda i: (
                dataclasses.replace(evaluator_config, epsilon=self.epsilons[i]),
                self.shards,
            ),
            config.num_workers,
            weights=weights,
            max_restarts=config.max_worker_restarts,
            name="worker",
        )
        self.policy_id = policy_id
        # Counters (saved with checkpoints, so a restored run keeps its replay ratio).
        self.env_steps = 0
        self.inserted = 0
        self.env_crashes = 0  # envs the workers rebuilt after a crash, so far
        self.learned_samples = 0
        self.learner_steps = 0
        self._requested_samples = 0  # learned, being learned, or asked for
        # How far learning may fall behind the replay ratio (in samples) before new rollouts
        # wait: one rollout per worker. Each rollout owes the learner replay_ratio * rollout
        # samples, so when rollouts restart the learner still has that much work queued, more
        # than a rollout takes to come back, and it never sits idle waiting for data. (With
        # a lag of two batches, the learner waited ~0.4 ms per 1.8 ms learner step, the
        # workers' round trip.)
        self._max_lag_samples = max(
            config.replay_ratio * evaluator_config.env_steps_per_sample * config.num_workers,
            float(
                config.sample_requests_in_flight_per_shard
                * config.batches_per_sample_request
                * config.batch_size
            ),
        )
        self._inflight: dict[Future[Any], tuple[str, int]] = {}
        # New priorities not yet sent, per shard: they travel with the next sample request.
        self._priorities: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.shards]
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
            transition, so far), ``replay_size``, ``worker_restarts`` and ``env_crashes`` (so
            far), and each
            worker's ``worker_epsilons`` and ``worker_env_steps_per_s``; ``epsilon`` is None
            (there is one per worker).
        """
        target = self.env_steps + self.iteration_env_steps
        env_steps0 = self.env_steps
        episodes: list[EpisodeStats] = []
        learned: list[dict[str, float]] = []
        t0, learner_steps0, learn_time0 = (
            time.perf_counter(),
            self.learner_steps,
            self._learn_time_s,
        )
        wait_s = 0.0
        while self.env_steps < target:
            self._top_up()
            wait_start = time.perf_counter()
            done, _ = wait_any(list(self._inflight), timeout=60.0)
            wait_s += time.perf_counter() - wait_start
            if not done:
                raise TimeoutError("Ape-X: no worker or replay shard answered within 60 s")
            for fut in done:
                kind, who = self._inflight.pop(fut)
                try:
                    value = fut.result()
                except ActorDiedError as exc:
                    if kind == "sample":
                        raise  # replay shards are not restarted: their memory is the run
                    log.warning("worker-%d lost a rollout (%s); it is being restarted", who, exc)
                    continue
                if kind == "run":
                    self.env_steps += value["env_steps"]
                    self.inserted += value["transitions"]
                    self.env_crashes += value.get("env_crashes", 0)
                    episodes += [EpisodeStats(r, n) for r, n in value["episodes"]]
                else:
                    learned += [self._learn(who, *sample) for sample in value]
        self._send_priorities()  # none wait past the iteration (a checkpoint may follow)
        elapsed = time.perf_counter() - t0

        def mean(key: str) -> float | None:
            return float(np.mean([s[key] for s in learned])) if learned else None

        workers = self.worker_metrics()
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": self.env_steps - env_steps0,
            "learner_steps": self.learner_steps,
            "episode_returns": [e.episode_return for e in episodes],
            "episode_lengths": [e.length for e in episodes],
            "sample_wait_s": wait_s,
            "learn_time_s": self._learn_time_s - learn_time0,
            "learners": {
                self.policy_id: {
                    "loss": mean("loss"),
                    "q_mean": mean("q_mean"),
                    "grad_norm": mean("grad_norm"),
                    "learner_updates_per_s": (self.learner_steps - learner_steps0) / elapsed,
                }
            },
            "metrics": {
                "epsilon": None,
                "replay_size": self.replay_size(),
                "inserted_transitions": self.inserted,
                "replay_ratio": self.learned_samples / max(1, self.inserted),
                "worker_restarts": self.workers.restarts,
                "env_crashes": self.env_crashes,
                "worker_epsilons": [w["epsilon"] for w in workers],
                "worker_env_steps_per_s": [w["env_steps_per_s"] for w in workers],
            },
        }

    def _top_up(self) -> None:
        """Keep rollouts and replay samples in flight, within the replay ratio."""
        cfg = self.config
        runs = [0] * len(self.workers)
        requests = 0
        for kind, who in self._inflight.values():
            if kind == "run":
                runs[who] += 1
            else:
                requests += 1
        learning = self.inserted >= cfg.learning_starts_transitions
        # Replay samples the replay ratio lets the learner ask for, beyond those it asked for.
        owed = cfg.replay_ratio * self.inserted - self._requested_samples
        if learning:
            slots = cfg.sample_requests_in_flight_per_shard * len(self.shards) - requests
            while slots > 0 and owed >= cfg.batch_size:
                n = min(cfg.batches_per_sample_request, int(owed // cfg.batch_size))
                j = self._next_shard
                self._next_shard = (j + 1) % len(self.shards)
                fut = self.shards[j].ask(
                    "sample_batches",
                    n,
                    cfg.batch_size,
                    cfg.importance_beta,
                    self._take_priorities(j),
                )
                self._inflight[fut] = ("sample", j)
                self._requested_samples += n * cfg.batch_size
                owed -= n * cfg.batch_size
                slots -= 1
                requests += 1
        # While learning lags further behind the ratio than _max_lag_samples, new rollouts wait:
        # the learner catches up instead of the buffer filling with unlearned transitions.
        lagging = learning and owed > self._max_lag_samples
        limit = 0 if lagging and requests else cfg.rollouts_in_flight_per_worker
        for i, worker in enumerate(self.workers.refs):
            for _ in range(limit - runs[i]):
                self._inflight[worker.ask("run")] = ("run", i)

    def _learn(
        self, shard: int, columns: dict[str, np.ndarray], ids: np.ndarray, weights: np.ndarray
    ) -> dict[str, float]:
        start = time.perf_counter()
        batch = SampleBatch({**columns, "weights": weights})
        # Ask for this request's successor before learning, so the shard prepares it while
        # the learner learns: topping up only once every answer in hand was learned on left
        # the learner a full shard round trip (~0.6 ms) short of data after each burst.
        self._top_up()
        stats = self.learner.learn(batch)
        self.learned_samples += len(batch)
        # Not sent now but with the shard's next sample request (see
        # batches_per_sample_request): a message of their own per learner step took ~13% of
        # the learner's wall time on a busy 2-core machine.
        self._priorities[shard].append((ids, np.abs(stats["td_error"])))
        self.learner_steps += 1
        if self.learner_steps % self.config.weight_sync_period_learner_steps == 0:
            self.broadcast_weights()
        self._learn_time_s += time.perf_counter() - start
        return {k: float(stats[k]) for k in ("loss", "q_mean", "grad_norm")}

    def _take_priorities(self, shard: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Shard ``shard``'s unsent priority updates, as one ``(ids, priorities)`` (or None)."""
        pending = self._priorities[shard]
        if not pending:
            return None
        self._priorities[shard] = []
        if len(pending) == 1:
            return pending[0]
        return np.concatenate([i for i, _ in pending]), np.concatenate([p for _, p in pending])

    def _send_priorities(self) -> None:
        """Send every shard its unsent priority updates on their own."""
        for j, shard in enumerate(self.shards):
            updates = self._take_priorities(j)
            if updates is not None:
                shard.tell("update_priorities", *updates)

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
        return sum(s.ask("size").result(timeout) for s in self.shards)

    def state_dict(self) -> dict[str, int]:
        """The counters a checkpoint keeps (replay ratio and schedules resume from them)."""
        return {
            "env_steps": self.env_steps,
            "inserted": self.inserted,
            "learned_samples": self.learned_samples,
            "learner_steps": self.learner_steps,
        }

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Restore :meth:`state_dict` (after the learner's state was loaded)."""
        self.env_steps = int(state.get("env_steps", 0))
        self.inserted = int(state.get("inserted", 0))
        self.learned_samples = int(state.get("learned_samples", 0))
        self._requested_samples = self.learned_samples  # nothing is in flight after a restore
        self.learner_steps = int(state.get("learner_steps", 0))
        self.broadcast_weights()

    def replay_state(self, timeout: float = 120.0) -> dict[str, np.ndarray]:
        """Every shard's contents as plain arrays, keyed ``shard{j}/{name}``."""
        self._send_priorities()
        states = [s.ask("state_dict").result(timeout) for s in self.shards]
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
