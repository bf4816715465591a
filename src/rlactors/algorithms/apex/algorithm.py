"""Ape-X DQN: N worker actors sample and prioritize, replay shards remember, one learner learns.

The composition, in one read (Horgan et al., 2018)::

    shards  = [spawn(ReplayShard, capacity, alpha=0.6) for j in range(M)]
    workers = [spawn(ApexWorker, EvaluatorConfig(..., epsilon=0.4 ** (1 + 7 i / (N - 1))),
                     i, shards) for i in range(N)]          # restarted if their process dies
    policies = ApexBuilder(...).policies()                   # the learner, in this process
    while budget left and not solved:
        AsyncReplayOptimizer.step()   # workers push prioritized n-step transitions to shards;
                                      # the learner samples, learns, updates priorities and
                                      # broadcasts weights, all under a replay-ratio control
        every eval_interval_env_steps: a greedy evaluation of a snapshot of the weights
        starts on an evaluator actor of its own; training goes on, and once its mean return
        reaches stop_reward the run is solved (and the learner keeps those weights)

Everything else is DQN's: :class:`ApexBuilder` and DQN's builder share the Q-learning parts
(:class:`~rlactors.algorithms.q_learning.QLearningBuilder`: policy, learner, evaluator config);
Ape-X adds its optimizer and a greedy evaluator actor for evaluations beside learning, which is
the point of the design. The stop criterion, checkpoints and metrics are the training loop's.

A multi-role env is built by :class:`MultiAgentApexBuilder`: multi-role workers, and replay
shards per trained policy id (:mod:`rlactors.optimizers.multi_agent_async_replay`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlactors.algorithms.apex.config import ApexConfig
from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.multi_agent_q import MultiAgentQBuilder
from rlactors.algorithms.q_learning import QLearningBuilder
from rlactors.core import DEFAULT_POLICY_ID
from rlactors.evaluators import DQNEvaluator
from rlactors.optimizers.async_replay import AsyncReplayConfig, AsyncReplayOptimizer
from rlactors.optimizers.multi_agent_async_replay import MultiAgentAsyncReplayOptimizer
from rlactors.seeding import APEX_GREEDY_EVALUATOR_STREAM, APEX_WORKERS_STREAM

#: Modules the process backend's fork server imports once, so actor processes start in
#: milliseconds. The actors need no torch (their policy copies are NumpyQPolicy), so the fork
#: server is ready in ~0.3 s instead of ~1.4 s. ``__main__``, the user's script, comes first:
#: each actor process imports it, and whatever it imports is imported once here instead of once
#: per actor (the algorithm modules import no torch until an algorithm is built; a script that
#: imports torch itself at its top pays that here, once).
_PRELOAD = (
    "__main__",
    "rlactors.optimizers.async_replay",
    "rlactors.optimizers.multi_agent_async_replay",
)


class ApexBuilder(QLearningBuilder):
    """Ape-X's parts: DQN's policy and learner (the Q-learning ones), workers and replay shards,
    and a greedy evaluator actor. Each worker's epsilon is fixed (``apex_epsilons``) and beta
    is ``importance_beta`` throughout: no schedules."""

    config: ApexConfig
    preload = _PRELOAD

    def optimizer(self, policies: PolicyMap, env_steps: int) -> AsyncReplayOptimizer:
        c = self.config
        # Each worker's epsilon comes from apex_epsilons, not from this config.
        evaluator_config = self.evaluator_config(
            c.num_envs_per_worker, APEX_WORKERS_STREAM, 0.0, env_steps
        )
        learner = policies[DEFAULT_POLICY_ID].learner
        return AsyncReplayOptimizer(
            self.async_replay_config(),
            evaluator_config,
            learner,
            iteration_env_steps=c.iteration_env_steps,
            server=self.policy_server("q", evaluator_config.policy, evaluator_config.seed, learner),
        )

    def async_replay_config(self) -> AsyncReplayConfig:
        """How the workers, the replay shards and the learner are coordinated."""
        c = self.config
        return AsyncReplayConfig(
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
            max_replay_restarts=c.max_replay_restarts,
            store_frames_once=c.store_frames_once,
        )

    def greedy_evaluator(self, env_steps: int) -> tuple[Callable[..., Any], Any] | None:
        # Greedy evaluations run beside learning (see GreedyEvaluations._maybe_evaluate).
        return DQNEvaluator, self.evaluator_config(1, APEX_GREEDY_EVALUATOR_STREAM, 0.0, env_steps)


class MultiAgentApexBuilder(MultiAgentQBuilder, ApexBuilder):
    """Ape-X's parts for a multi-role env: multi-role workers with Ape-X's epsilons, replay
    shards and a learner per trained policy id; greedy evaluations are matches in this
    process (no greedy evaluator actor)."""

    config: ApexConfig

    def optimizer(self, policies: PolicyMap, env_steps: int) -> MultiAgentAsyncReplayOptimizer:
        c = self.config
        learners = self.trained_learners(policies, env_steps)
        return MultiAgentAsyncReplayOptimizer(
            self.async_replay_config(),
            self.q_config(c.num_envs_per_worker, APEX_WORKERS_STREAM, 0.0, env_steps),
            learners,
            self.weights_fn(policies),
            self.league,
            iteration_env_steps=c.iteration_env_steps,
        )


class Apex(TrainingLoop):
    """Ape-X DQN; see the module docstring. Same API as :class:`~rlactors.algorithms.DQN`.

    Args:
        config: Everything; see :class:`ApexConfig`.
    """

    name = "apex"
    config: ApexConfig
    config_class: type[Any] = ApexConfig
    builder_class = ApexBuilder
    multi_agent_builder_class = MultiAgentApexBuilder
