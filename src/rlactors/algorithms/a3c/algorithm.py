"""A3C: evaluators compute gradients on their own rollouts; the learner applies each as it comes.

The composition, in one read (Mnih et al., 2016)::

    group = evaluator_group(ActorCriticEvaluator, RolloutConfig(..., gae_lambda), learner, N)
    optimizer = AsyncGradientsOptimizer(group, learner, iteration_env_steps)
    while budget left and not solved:
        optimizer.step()   # wait_any(gradient) -> apply -> fresh weights to that worker only
"""

from __future__ import annotations

from typing import Any

from rlactors.algorithms.a3c.config import A3CConfig
from rlactors.algorithms.actor_critic import PRELOAD, ActorCriticBuilder, learner_of
from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.multi_agent import MultiAgentActorCriticBuilder, learners_of
from rlactors.multiagent.gradients import MultiAgentGradientEvaluator
from rlactors.optimizers.async_gradients import AsyncGradientsOptimizer
from rlactors.optimizers.multi_agent_async_gradients import MultiAgentAsyncGradientsOptimizer


class A3CBuilder(ActorCriticBuilder):
    """A3C's parts: the actor-critic ones, with gradients computed by the evaluators."""

    config: A3CConfig
    # Its evaluators compute gradients with a torch policy (and its losses), imported once.
    preload = (*PRELOAD, "rlactors.learners.actor_critic", "rlactors.losses.policy_gradient")

    def optimizer(self, policies: PolicyMap, env_steps: int) -> AsyncGradientsOptimizer:
        return AsyncGradientsOptimizer(
            self.evaluator_group(policies, env_steps),
            learner_of(policies),
            self.config.iteration_env_steps,
        )


class MultiAgentA3CBuilder(MultiAgentActorCriticBuilder):
    """A3C's parts for a multi-role env: workers compute each trained policy's gradient."""

    config: A3CConfig
    preload = A3CBuilder.preload

    def optimizer(self, policies: PolicyMap, env_steps: int) -> MultiAgentAsyncGradientsOptimizer:
        return MultiAgentAsyncGradientsOptimizer(
            self.multi_agent_group(policies, env_steps, factory=MultiAgentGradientEvaluator),
            learners_of(policies),
            self.trained,
            self.config.iteration_env_steps,
            self.league,
        )


class A3C(TrainingLoop):
    """Asynchronous advantage actor-critic; see the module docstring.

    Args:
        config: Everything; see :class:`A3CConfig`.
    """

    name = "a3c"
    config: A3CConfig
    config_class: type[Any] = A3CConfig
    builder_class = A3CBuilder
    multi_agent_builder_class = MultiAgentA3CBuilder
