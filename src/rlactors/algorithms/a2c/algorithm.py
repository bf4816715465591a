"""A2C: evaluators sample short rollouts in rounds, the learner takes one step per round.

The composition, in one read (Mnih et al., 2016, made synchronous)::

    group = EvaluatorGroup(RolloutConfig(..., gae_lambda), learner, num_workers)
    optimizer = SyncSamplesOptimizer(group, learn=learner.learn)   # one A2C-loss Adam step
    while budget left and not solved:
        optimizer.step()          # gather rollouts -> one gradient step -> broadcast
"""

from __future__ import annotations

from rlactors.algorithms.a2c.config import A2CConfig
from rlactors.algorithms.actor_critic import ActorCriticAlgorithm
from rlactors.optimizers.sync_samples import SyncSamplesOptimizer


class A2C(ActorCriticAlgorithm):
    """Synchronous advantage actor-critic; see the module docstring.

    Args:
        config: Everything; see :class:`A2CConfig`.
    """

    name = "a2c"
    config: A2CConfig
    config_class = A2CConfig

    def _build_optimizer(self) -> SyncSamplesOptimizer:
        return SyncSamplesOptimizer(self.evaluator_group(), self.learner.learn)
