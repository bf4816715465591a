"""PPO: evaluators sample in rounds, the learner runs epochs of the clipped objective.

The composition, in one read (Schulman et al., 2017)::

    group = evaluator_group(ActorCriticEvaluator, RolloutConfig(..., gae_lambda), learner, N)
    ppo = PPOLearner(learner, PPOLearnerConfig(num_epochs, minibatch_size, clip_epsilon))
    optimizer = SyncSamplesOptimizer(group, learner, learn=ppo)
    while budget left and not solved:
        optimizer.step()          # gather rollouts -> epochs of minibatches -> broadcast

Usage::

    with PPO(PPOConfig(env="CartPole-v1", stop_reward=475)) as ppo:
        result = ppo.train()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rlactors.algorithms.actor_critic import ActorCriticBuilder, learner_of
from rlactors.algorithms.builder import EnvInfo, PolicyMap
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.multi_agent import MultiAgentActorCriticBuilder
from rlactors.algorithms.ppo.config import PPOConfig
from rlactors.optimizers.multi_agent_samples import LearnFn
from rlactors.optimizers.sync_samples import SyncSamplesOptimizer
from rlactors.seeding import derive_seed

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner
    from rlactors.learners.ppo import PPOLearner, PPOLearnerConfig


class PPOBuilder(ActorCriticBuilder):
    """PPO's parts: the actor-critic ones, learning epochs of clipped minibatch steps."""

    config: PPOConfig

    def __init__(self, name: str, config: PPOConfig, env: EnvInfo) -> None:
        super().__init__(name, config, env)
        self._ppo: PPOLearner | None = None  # this session's; its clip range is scheduled

    def optimizer(self, policies: PolicyMap, env_steps: int) -> SyncSamplesOptimizer:
        # torch, imported when training starts (see algorithms.loop)
        from rlactors.learners.ppo import PPOLearner

        learner = learner_of(policies)
        self._ppo = PPOLearner(
            learner, ppo_learner_config(self.config), seed=self.minibatch_seed(env_steps)
        )
        return SyncSamplesOptimizer(self.evaluator_group(policies, env_steps), learner, self._ppo)

    def update_schedules(self, policies: PolicyMap, env_steps: int) -> None:
        super().update_schedules(policies, env_steps)
        if self._ppo is not None:
            schedule_clip(self._ppo, self.config, env_steps)


class MultiAgentPPOBuilder(MultiAgentActorCriticBuilder):
    """PPO's parts for a multi-role env: epochs of clipped minibatch steps per trained policy."""

    config: PPOConfig

    def __init__(self, name: str, config: PPOConfig, env: EnvInfo) -> None:
        super().__init__(name, config, env)
        self._ppo: dict[str, PPOLearner] = {}  # this session's, by policy id

    def learn_fns(
        self, learners: Mapping[str, ActorCriticLearner], env_steps: int
    ) -> dict[str, LearnFn]:
        from rlactors.learners.ppo import PPOLearner  # torch

        config = ppo_learner_config(self.config)
        seed = self.minibatch_seed(env_steps)
        self._ppo = {
            pid: PPOLearner(learners[pid], config, seed=derive_seed(seed, n))
            for n, pid in enumerate(self.trained)
        }
        return dict(self._ppo)

    def update_schedules(self, policies: PolicyMap, env_steps: int) -> None:
        super().update_schedules(policies, env_steps)
        for ppo in self._ppo.values():
            schedule_clip(ppo, self.config, env_steps)


def ppo_learner_config(c: PPOConfig) -> PPOLearnerConfig:
    """The learning step's fields of a :class:`PPOConfig`."""
    from rlactors.learners.ppo import PPOLearnerConfig  # torch

    return PPOLearnerConfig(
        num_epochs=c.num_epochs,
        minibatch_size=c.minibatch_size,
        clip_epsilon=c.clip_epsilon,
        value_clip_epsilon=c.value_clip_epsilon,
        value_coef=c.value_coef,
        entropy_coef=c.entropy_coef,
        normalize_advantages=c.normalize_advantages,
    )


def schedule_clip(ppo: PPOLearner, c: PPOConfig, env_steps: int) -> None:
    """Move ``ppo``'s clip range along ``c.clip_schedule`` to ``env_steps``."""
    if c.clip_schedule == "linear":
        remaining = max(0.0, 1.0 - env_steps / c.max_env_steps)
        # A clip range of exactly 0 would freeze the ratio; keep a sliver at the very end.
        ppo.clip_epsilon = max(c.clip_epsilon * remaining, 1e-8)


class PPO(TrainingLoop):
    """Proximal Policy Optimization; see the module docstring.

    Args:
        config: Everything; see :class:`PPOConfig`.
    """

    name = "ppo"
    config: PPOConfig
    config_class: type[Any] = PPOConfig
    builder_class = PPOBuilder
    multi_agent_builder_class = MultiAgentPPOBuilder
