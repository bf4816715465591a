"""Ape-X DQN: N worker actors sample and prioritize, replay shards remember, one learner learns.

The composition, in one read (Horgan et al., 2018)::

    shards  = [spawn(ReplayShard, capacity, alpha=0.6) for j in range(M)]
    workers = [spawn(ApexWorker, EvaluatorConfig(..., epsilon=0.4 ** (1 + 7 i / (N - 1))),
                     i, shards) for i in range(N)]          # restarted if their process dies
    learner = DQNPolicy(...)                                 # in this process
    while budget left and not solved:
        AsyncReplayOptimizer.step()   # workers push prioritized n-step transitions to shards;
                                      # the learner samples, learns, updates priorities and
                                      # broadcasts weights, all under a replay-ratio control
        every eval_interval_env_steps: a greedy evaluation of a snapshot of the weights
        starts on an evaluator actor of its own; training goes on, and once its mean return
        reaches stop_reward the run is solved (and the learner keeps those weights)

Everything else (stop criterion, checkpoints, metrics) is DQN's: Ape-X is DQN with a different
optimizer and evaluations that run beside learning, which is the point of the design.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlactors.algorithms.apex.config import ApexConfig
from rlactors.algorithms.dqn.algorithm import DQN
from rlactors.evaluators import DQNEvaluator, EvaluatorConfig
from rlactors.optimizers import LinearSchedule
from rlactors.optimizers.async_replay import AsyncReplayConfig, AsyncReplayOptimizer
from rlactors.seeding import APEX_GREEDY_EVALUATOR_STREAM, APEX_WORKERS_STREAM

#: Modules the process backend's fork server imports once, so actor processes start in
#: milliseconds. The actors need no torch (their policy copies are NumpyQPolicy), so the fork
#: server is ready in ~0.3 s instead of ~1.4 s. ``__main__``, the user's script, comes first:
#: each actor process imports it, and whatever it imports is imported once here instead of once
#: per actor (the algorithm modules import no torch until an algorithm is built; a script that
#: imports torch itself at its top pays that here, once).
_PRELOAD = ("__main__", "rlactors.optimizers.async_replay")


class Apex(DQN):
    """Ape-X DQN; see the module docstring. Same API as :class:`DQN`.

    Args:
        config: Everything; see :class:`ApexConfig`.
    """

    name = "apex"
    config: ApexConfig  # type: ignore[assignment]
    config_class = ApexConfig

    def __init__(self, config: ApexConfig) -> None:
        super().__init__(config)  # type: ignore[arg-type]
        #: Replay-ratio counters a checkpoint restored, until an optimizer takes them over.
        self._apex_counters: dict[str, int] = {}

    def _schedules(self) -> tuple[LinearSchedule, LinearSchedule]:
        # Ape-X fixes each worker's epsilon (see apex_epsilons) and beta (0.4).
        beta = self.config.importance_beta
        return LinearSchedule(0.0, 0.0, 1), LinearSchedule(beta, beta, 1)

    def _runtime_options(self) -> dict[str, Any]:
        if self.config.backend == "process":
            return {"start_method": "forkserver", "preload": _PRELOAD}
        return {}

    def _greedy_evaluator_spec(self) -> tuple[type[DQNEvaluator], EvaluatorConfig]:
        # Greedy evaluations run beside learning (see GreedyEvaluations._maybe_evaluate).
        return DQNEvaluator, self._evaluator_config(1, APEX_GREEDY_EVALUATOR_STREAM, 0.0)

    def _build_optimizer(self) -> AsyncReplayOptimizer:
        c = self.config
        # Each worker's epsilon comes from apex_epsilons, not from this config.
        evaluator_config = self._evaluator_config(c.num_envs_per_worker, APEX_WORKERS_STREAM, 0.0)
        return AsyncReplayOptimizer(
            AsyncReplayConfig(
                num_workers=c.num_workers,
                num_replay_shards=c.num_replay_shards,
                buffer_capacity_transitions=c.buffer_capacity_transitions,
                priority_alpha=c.priority_alpha,
                importance_beta=c.importance_beta,
                batch_size=c.batch_size,
                learning_starts_transitions=c.learning_starts_transitions,
                replay_ratio=c.replay_ratio,
                weight_sync_period_learner_steps=c.weight_sync_period_learner_steps,
                max_worker_restarts=c.max_worker_restarts,
            ),
            evaluator_config,
            self.learner,
            iteration_env_steps=c.iteration_env_steps,
        )

    def _optimizer_step(self) -> dict[str, Any]:
        optimizer: AsyncReplayOptimizer = self._start()
        stats = optimizer.step()
        workers = optimizer.worker_metrics()
        stats["epsilon"] = None  # one per worker, below
        stats["replay_size"] = optimizer.replay_size()
        stats["extra"] = {
            "learner_updates_per_s": stats["learner_updates_per_s"],
            "replay_ratio": stats["replay_ratio"],
            "inserted_transitions": stats["inserted_transitions"],
            "worker_restarts": stats["worker_restarts"],
            "worker_epsilons": [w["epsilon"] for w in workers],
            "worker_env_steps_per_s": [w["env_steps_per_s"] for w in workers],
        }
        return stats

    # -- checkpoints: Ape-X's own counters and sharded replay -----------------------------------

    def _extra_counters(self) -> dict[str, Any]:
        if self._optimizer is not None:
            counters = self._optimizer.counters()
            self._apex_counters = {k: counters[k] for k in ("inserted", "learned_samples")}
        return dict(self._apex_counters)

    def _restore_extra_counters(self, counters: dict[str, Any]) -> None:
        self._apex_counters = {
            k: int(counters[k]) for k in ("inserted", "learned_samples") if k in counters
        }

    def _sync_optimizer(self, optimizer: Any) -> None:
        saved = self._apex_counters
        optimizer.load_counters(
            {
                "env_steps": self.env_steps,
                "learner_steps": self.learner_steps,
                "inserted": saved.get("inserted", 0),
                "learned_samples": saved.get("learned_samples", 0),
            }
        )

    def _snapshot_replay(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for j, state in enumerate(self._optimizer.replay_states()):
            arrays.update({f"shard{j}/{k}": np.asarray(v) for k, v in state.items()})
        return arrays

    def _load_replay(self, optimizer: Any, arrays: dict[str, np.ndarray]) -> None:
        states: list[dict[str, np.ndarray]] = [{} for _ in optimizer.shards]
        for key, value in arrays.items():
            shard, _, name = key.partition("/")
            states[int(shard.removeprefix("shard"))][name] = value
        optimizer.load_replay_states(states)
