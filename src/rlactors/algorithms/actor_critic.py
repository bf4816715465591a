"""What A2C, A3C, PPO and IMPALA share: an actor-critic learner, its evaluators, the loop.

Each of them is a config, a loss and an optimizer (the RLlib paper's claim, which the seed
repeats). :class:`ActorCriticBuilder` makes the policy
:class:`~rlactors.policies.ActorCriticPolicy`, its :class:`~rlactors.learners.ActorCriticLearner`,
the supervised evaluators (:meth:`ActorCriticBuilder.evaluator_group`) and a greedy evaluator; a
subclass makes the optimizer in ``optimizer``::

    A2C:    SyncSamplesOptimizer(group, learner, learn=learner.learn)    # one step per round
    PPO:    SyncSamplesOptimizer(group, learner, learn=PPOLearner(...))  # epochs of minibatches
    A3C:    AsyncGradientsOptimizer(group, learner)                      # gradients from workers
    IMPALA: AsyncSamplesOptimizer(group, learner, learn=VTraceLearner(...))  # streamed rollouts

The training loop, greedy evaluation, stop criterion and checkpoints are
:class:`~rlactors.algorithms.loop.TrainingLoop`'s, as for DQN and Ape-X.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, cast

from rlactors.algorithms.actor_critic_config import ActorCriticRunConfig
from rlactors.algorithms.builder import Builder, PolicyEntry, PolicyMap
from rlactors.core import DEFAULT_POLICY_ID
from rlactors.evaluators import ActorCriticEvaluator, RolloutConfig
from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
from rlactors.optimizers.worker_group import WorkerGroup, evaluator_group
from rlactors.policies import ActorCriticConfig
from rlactors.seeding import (
    EVALUATORS_STREAM,
    GREEDY_EVALUATOR_STREAM,
    LEARNER_STREAM,
    MINIBATCH_STREAM,
    derive_seed,
)

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner

#: Modules the process backend's fork server imports once, so evaluator processes start in
#: milliseconds. The evaluators act in numpy (no torch), so the server is ready in ~0.3 s
#: instead of ~1.4 s, unless the user's script (``__main__``, which every actor process
#: imports) imports torch at its top: then that happens once, here, not once per evaluator.
#: A3C's evaluators compute gradients with torch, so A3C preloads it too.
PRELOAD: tuple[str, ...] = ("__main__", "rlactors.evaluators.actor_critic")


class ActorCriticBuilder(Builder):
    """The shared part of the actor-critic builders; see the module docstring. A subclass
    makes the ``optimizer``."""

    config: ActorCriticRunConfig
    preload = PRELOAD

    def policy_config(self) -> ActorCriticConfig:
        """The learner's (and the evaluators') policy configuration: the networks."""
        c = self.config
        return ActorCriticConfig(
            hidden_sizes=c.hidden_sizes,
            shared_torso=c.shared_torso,
            activation=c.activation,
            encoder=c.encoder,
            action_mask_key=c.action_mask_key,
            normalize_observations=c.normalize_observations,
        )

    def learner_config(self) -> ActorCriticLearnerConfig:
        """The learner step's configuration (and A3C's workers', which take its gradients)."""
        c = self.config
        return ActorCriticLearnerConfig(
            learning_rate=c.learning_rate,
            value_coef=c.value_coef,
            entropy_coef=c.entropy_coef,
            max_grad_norm=c.max_grad_norm,
            normalize_advantages=c.normalize_advantages,
        )

    def policies(self) -> dict[str, PolicyEntry]:
        from rlactors.learners import ActorCriticLearner  # torch (see algorithms.loop)
        from rlactors.policies import ActorCriticPolicy

        policy = ActorCriticPolicy(
            self.env.observation_space,
            self.env.action_space,
            self.policy_config(),
            seed=derive_seed(self.config.seed, LEARNER_STREAM),
        )
        learner = ActorCriticLearner(policy, self.learner_config())
        return {DEFAULT_POLICY_ID: PolicyEntry(policy, learner)}

    def rollout_config(self, env_steps: int, *, gae: bool = True) -> RolloutConfig:
        """The evaluators' config; env seeds continue from the ``env_steps`` taken so far, so
        a restored run does not replay its first episodes.

        Args:
            env_steps: Env steps of earlier sessions.
            gae: Rollouts carry GAE advantages (False: raw trajectories, for V-trace).
        """
        c = self.config
        return RolloutConfig(
            env=self.env.spec,
            num_envs=c.num_envs_per_worker,
            rollout_steps=c.rollout_steps,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda if gae else None,
            scale_rewards=c.scale_rewards,
            seed=derive_seed(c.seed, EVALUATORS_STREAM, env_steps),
            policy=self.policy_config(),
            learner=self.learner_config(),
            env_crash_policy=c.env_crash_policy,
            env_actors=c.env_actors_config,
        )

    def evaluator_group(
        self, policies: PolicyMap, env_steps: int, *, gae: bool = True
    ) -> WorkerGroup[ActorCriticEvaluator]:
        """Spawn the evaluators (inside this session's runtime); see :meth:`rollout_config`."""
        config = self.rollout_config(env_steps, gae=gae)
        learner = learner_of(policies)
        return evaluator_group(
            ActorCriticEvaluator,
            config,
            learner,
            self.config.num_workers,
            max_restarts=self.config.max_worker_restarts,
            name=f"{self.name}-evaluator",
            request_env_steps=config.env_steps_per_rollout,
            server=self.policy_server("actor_critic", config.policy, config.seed, learner),
        )

    def minibatch_seed(self, env_steps: int) -> int:
        """Seed of minibatch shuffling (PPO), continuing across restores like the env seeds."""
        return derive_seed(self.config.seed, MINIBATCH_STREAM, env_steps)

    def greedy_evaluator(
        self, env_steps: int
    ) -> tuple[type[ActorCriticEvaluator], RolloutConfig] | None:
        # Greedy evaluations run beside learning (see GreedyEvaluations._maybe_evaluate). Its one
        # rollout env is never stepped: evaluate() builds envs of its own.
        seed = derive_seed(self.config.seed, GREEDY_EVALUATOR_STREAM)
        return ActorCriticEvaluator, dataclasses.replace(
            self.rollout_config(env_steps), num_envs=1, seed=seed
        )

    def update_schedules(self, policies: PolicyMap, env_steps: int) -> None:
        c = self.config
        if c.learning_rate_schedule == "linear":
            remaining = max(0.0, 1.0 - env_steps / c.max_env_steps)
            learner_of(policies).set_learning_rate(c.learning_rate * remaining)


def learner_of(policies: PolicyMap) -> ActorCriticLearner:
    """The actor-critic learner of a single-policy run."""
    return cast("ActorCriticLearner", policies[DEFAULT_POLICY_ID].learner)
