"""A3C: evaluators compute gradients on their own rollouts; the learner applies each as it comes.

The composition, in one read (Mnih et al., 2016)::

    group = EvaluatorGroup(RolloutConfig(..., gae_lambda), learner, num_workers)
    optimizer = AsyncGradientsOptimizer(group, iteration_env_steps)
    while budget left and not solved:
        optimizer.step()   # wait_any(gradient) -> apply -> fresh weights to that worker only
"""

from __future__ import annotations

from rlactors.algorithms.a3c.config import A3CConfig
from rlactors.algorithms.actor_critic import PRELOAD, ActorCriticAlgorithm
from rlactors.optimizers.async_gradients import AsyncGradientsOptimizer


class A3C(ActorCriticAlgorithm):
    """Asynchronous advantage actor-critic; see the module docstring.

    Args:
        config: Everything; see :class:`A3CConfig`.
    """

    name = "a3c"
    config: A3CConfig
    config_class = A3CConfig
    # Its evaluators compute gradients with a torch policy (and its losses), imported once.
    preload = (*PRELOAD, "rlactors.learners.actor_critic", "rlactors.losses.policy_gradient")

    def _build_optimizer(self) -> AsyncGradientsOptimizer:
        return AsyncGradientsOptimizer(self.evaluator_group(), self.config.iteration_env_steps)
