"""IMPALA: evaluators stream trajectories; the learner batches them and learns with V-trace.

The composition, in one read (Espeholt et al., 2018)::

    group = evaluator_group(ActorCriticEvaluator, RolloutConfig(..., gae_lambda=None), learner, N)
    v_trace = VTraceLearner(learner, VTraceLearnerConfig(rho_bar, c_bar, ...))
    optimizer = AsyncSamplesOptimizer(group, learner, v_trace, AsyncSamplesConfig(...))
    while budget left and not solved:
        optimizer.step()   # rollouts stream in; every rollouts_per_batch: V-trace step
"""

from __future__ import annotations

from typing import Any

from rlactors.algorithms.actor_critic import ActorCriticBuilder, learner_of
from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.impala.config import IMPALAConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.optimizers.async_samples import AsyncSamplesConfig, AsyncSamplesOptimizer


class IMPALABuilder(ActorCriticBuilder):
    """IMPALA's parts: the actor-critic ones, streaming raw trajectories to V-trace."""

    config: IMPALAConfig

    def optimizer(self, policies: PolicyMap, env_steps: int) -> AsyncSamplesOptimizer:
        # torch, imported when training starts (see algorithms.loop)
        from rlactors.learners.v_trace import VTraceLearner, VTraceLearnerConfig

        c = self.config
        learner = learner_of(policies)
        v_trace = VTraceLearner(
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
        return AsyncSamplesOptimizer(
            self.evaluator_group(policies, env_steps, gae=False),
            learner,
            v_trace,
            AsyncSamplesConfig(
                rollouts_per_batch=c.rollouts_per_batch,
                max_inflight_per_worker=c.max_inflight_per_worker,
                max_queued_rollouts=c.max_queued_rollouts,
                weight_sync_period_learner_steps=c.weight_sync_period_learner_steps,
                iteration_env_steps=c.iteration_env_steps,
            ),
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
