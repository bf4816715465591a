"""PPO: evaluators sample in rounds, the learner runs epochs of the clipped objective.

The composition, in one read (Schulman et al., 2017)::

    group = EvaluatorGroup(RolloutConfig(..., gae_lambda), learner, num_workers)
    learner = PPOLearner(policy, PPOLearnerConfig(num_epochs, minibatch_size, clip_epsilon))
    optimizer = SyncSamplesOptimizer(group, learn=learner)
    while budget left and not solved:
        optimizer.step()          # gather rollouts -> epochs of minibatches -> broadcast

Usage::

    with PPO(PPOConfig(env="CartPole-v1", stop_reward=475)) as ppo:
        result = ppo.train()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlactors.algorithms.actor_critic import ActorCriticAlgorithm
from rlactors.algorithms.ppo.config import PPOConfig
from rlactors.optimizers.sync_samples import SyncSamplesOptimizer

if TYPE_CHECKING:
    from rlactors.learners.ppo import PPOLearner


class PPO(ActorCriticAlgorithm):
    """Proximal Policy Optimization; see the module docstring.

    Args:
        config: Everything; see :class:`PPOConfig`.
    """

    name = "ppo"
    config: PPOConfig
    config_class = PPOConfig

    def __init__(self, config: PPOConfig) -> None:
        super().__init__(config)
        self._ppo: PPOLearner | None = None

    def _build_optimizer(self) -> SyncSamplesOptimizer:
        # torch, imported when training starts (see algorithms.loop)
        from rlactors.learners.ppo import PPOLearner, PPOLearnerConfig

        c = self.config
        self._ppo = PPOLearner(
            self.learner,
            PPOLearnerConfig(
                num_epochs=c.num_epochs,
                minibatch_size=c.minibatch_size,
                clip_epsilon=c.clip_epsilon,
                value_clip_epsilon=c.value_clip_epsilon,
                value_coef=c.value_coef,
                entropy_coef=c.entropy_coef,
                normalize_advantages=c.normalize_advantages,
            ),
            seed=self.minibatch_seed(),
        )
        return SyncSamplesOptimizer(self.evaluator_group(), self._ppo)

    def _optimizer_step(self) -> dict[str, Any]:
        self._start()
        c = self.config
        if self._ppo is not None and c.clip_schedule == "linear":
            remaining = max(0.0, 1.0 - self.env_steps / c.max_env_steps)
            # A clip range of exactly 0 would freeze the ratio; keep a sliver at the very end.
            self._ppo.clip_epsilon = max(c.clip_epsilon * remaining, 1e-8)
        return super()._optimizer_step()
