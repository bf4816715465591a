"""IMPALA: evaluators stream trajectories; the learner batches them and learns with V-trace.

The composition, in one read (Espeholt et al., 2018)::

    group = evaluator_group(ActorCriticEvaluator, RolloutConfig(..., gae_lambda=None), learner, N)
    v_trace = VTraceLearner(learner, VTraceLearnerConfig(rho_bar, c_bar, ...))
    optimizer = AsyncSamplesOptimizer(group, learner, v_trace, AsyncSamplesConfig(...))
    while budget left and not solved:
        optimizer.step()   # rollouts stream in; every rollouts_per_batch: V-trace step

A multi-role env (see :mod:`rlactors.algorithms.multi_agent`) is the same with policies by id::

    group = MultiAgentEvaluator group (gae_lambda=None: [T, S] segments of each seat's moves)
    v_trace = {id: VTraceLearner(learners[id], ...) for id in policies_to_train}
    optimizer = MultiAgentAsyncSamplesOptimizer(group, learners, v_trace, ..., league)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlactors.algorithms.actor_critic import ActorCriticBuilder, learner_of
from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.impala.config import IMPALAConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.multi_agent import MultiAgentActorCriticBuilder, learners_of
from rlactors.optimizers.async_samples import AsyncSamplesConfig, AsyncSamplesOptimizer
from rlactors.optimizers.multi_agent_async_samples import MultiAgentAsyncSamplesOptimizer

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner
    from rlactors.learners.v_trace import VTraceLearner


class IMPALABuilder(ActorCriticBuilder):
    """IMPALA's parts: the actor-critic ones, streaming raw trajectories to V-trace."""

    config: IMPALAConfig

    def optimizer(self, policies: PolicyMap, env_steps: int) -> AsyncSamplesOptimizer:
        learner = learner_of(policies)
        return AsyncSamplesOptimizer(
            self.evaluator_group(policies, env_steps, gae=False),
            learner,
            v_trace_learner(learner, self.config),
            async_samples_config(self.config),
        )


class MultiAgentIMPALABuilder(MultiAgentActorCriticBuilder):
    """IMPALA's parts for a multi-role env: each trained policy's segments learned with
    V-trace by a learner of its own."""

    config: IMPALAConfig

    def optimizer(self, policies: PolicyMap, env_steps: int) -> MultiAgentAsyncSamplesOptimizer:
        learners = learners_of(policies)
        return MultiAgentAsyncSamplesOptimizer(
            self.multi_agent_group(policies, env_steps, gae=False),
            learners,
            {pid: v_trace_learner(learners[pid], self.config) for pid in self.trained},
            async_samples_config(self.config),
            self.league,
        )


def v_trace_learner(learner: ActorCriticLearner, c: IMPALAConfig) -> VTraceLearner:
    """The V-trace step of ``learner``, with ``c``'s thresholds and loss weights."""
    # torch, imported when training starts (see algorithms.loop)
    from rlactors.learners.v_trace import VTraceLearner, VTraceLearnerConfig

    return VTraceLearner(
        learner,
        VTraceLearnerConfig(
            rollout_steps=c.rollout_steps,
            gamma=c.gamma,
            rho_bar=c.rho_bar,
            c_bar=c.c_bar,
            value_coef=c.value_coef,
            entropy_coef=c.entropy_coef,
        ),
    )


def async_samples_config(c: IMPALAConfig) -> AsyncSamplesConfig:
    """The streaming and batching fields of ``c``."""
    return AsyncSamplesConfig(
        rollouts_per_batch=c.rollouts_per_batch,
        max_inflight_per_worker=c.max_inflight_per_worker,
        max_queued_rollouts=c.max_queued_rollouts,
        weight_sync_period_learner_steps=c.weight_sync_period_learner_steps,
        iteration_env_steps=c.iteration_env_steps,
    )


class IMPALA(TrainingLoop):
    """Importance Weighted Actor-Learner Architecture; see the module docstring.

    Args:
        config: Everything; see :class:`IMPALAConfig`.
    """

    name = "impala"
    config: IMPALAConfig
    config_class: type[Any] = IMPALAConfig
    builder_class = IMPALABuilder
    multi_agent_builder_class = MultiAgentIMPALABuilder
