"""A2C: evaluators sample short rollouts in rounds, the learner takes one step per round.

The composition, in one read (Mnih et al., 2016, made synchronous)::

    group = evaluator_group(ActorCriticEvaluator, RolloutConfig(..., gae_lambda), learner, N)
    optimizer = SyncSamplesOptimizer(group, learner, learner.learn)  # one A2C-loss Adam step
    while budget left and not solved:
        optimizer.step()          # gather rollouts -> one gradient step -> broadcast
"""

from __future__ import annotations

from typing import Any

from rlactors.algorithms.a2c.config import A2CConfig
from rlactors.algorithms.actor_critic import ActorCriticBuilder, learner_of
from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.multi_agent import MultiAgentActorCriticBuilder
from rlactors.optimizers.sync_samples import SyncSamplesOptimizer


class A2CBuilder(ActorCriticBuilder):
    """A2C's parts: the actor-critic ones, one learner step per round."""

    config: A2CConfig

    def optimizer(self, policies: PolicyMap, env_steps: int) -> SyncSamplesOptimizer:
        learner = learner_of(policies)
        return SyncSamplesOptimizer(
            self.evaluator_group(policies, env_steps), learner, learner.learn
        )


class A2C(TrainingLoop):
    """Synchronous advantage actor-critic; see the module docstring.

    Args:
        config: Everything; see :class:`A2CConfig`.
    """

    name = "a2c"
    config: A2CConfig
    config_class: type[Any] = A2CConfig
    builder_class = A2CBuilder
    # A2C's step on each trained policy's batch is the base class's learner.learn.
    multi_agent_builder_class = MultiAgentActorCriticBuilder
