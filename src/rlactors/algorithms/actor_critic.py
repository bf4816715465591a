"""What A2C, A3C, PPO and IMPALA share: an actor-critic learner, its evaluators, the loop.

Each of them is a config, a loss and an optimizer (the RLlib paper's claim, which the seed
repeats). This base builds the policy :class:`~rlactors.policies.ActorCriticPolicy`, its
:class:`~rlactors.learners.ActorCriticLearner` and the :class:`~rlactors.evaluators.RolloutConfig`
of its evaluators from the config; a subclass picks the optimizer in
:meth:`ActorCriticAlgorithm._build_optimizer`::

    A2C:    SyncSamplesOptimizer(group, learn=learner.learn)            # one step per round
    PPO:    SyncSamplesOptimizer(group, learn=PPOLearner(...))          # epochs of minibatches
    A3C:    AsyncGradientsOptimizer(group)                              # gradients from workers
    IMPALA: AsyncSamplesOptimizer(group, learn=VTraceLearner(...))      # streamed trajectories

The training loop, greedy evaluation, stop criterion and checkpoints are
:class:`~rlactors.algorithms.loop.TrainingLoop`'s, as for DQN and Ape-X.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from rlactors.algorithms.actor_critic_config import ActorCriticRunConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.evaluators import ActorCriticEvaluator, RolloutConfig
from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
from rlactors.optimizers.evaluator_group import EvaluatorGroup
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
    from rlactors.policies import ActorCriticPolicy

#: Modules the process backend's fork server imports once, so evaluator processes start in
#: milliseconds. The evaluators act in numpy (no torch), so the server is ready in ~0.3 s
#: instead of ~1.4 s, unless the user's script (``__main__``, which every actor process
#: imports) imports torch at its top: then that happens once, here, not once per evaluator.
#: A3C's evaluators compute gradients with torch, so A3C preloads it too.
PRELOAD: tuple[str, ...] = ("__main__", "rlactors.evaluators.actor_critic")


class ActorCriticAlgorithm(TrainingLoop):
    """The shared part of the actor-critic algorithms; see the module docstring.

    Args:
        config: An :class:`ActorCriticRunConfig` subclass.

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        SpaceError: The env's actions are not Discrete or Box.
        SpaceError: The env's observations have no layout (see ObservationLayout).
    """

    config: ActorCriticRunConfig
    policy: ActorCriticPolicy
    learner: ActorCriticLearner
    #: What the process backend's fork server imports before forking evaluators.
    preload: tuple[str, ...] = PRELOAD

    def __init__(self, config: ActorCriticRunConfig) -> None:
        super().__init__(config)
        from rlactors.learners import ActorCriticLearner  # torch (see algorithms.loop)
        from rlactors.policies import ActorCriticPolicy

        self.policy = ActorCriticPolicy(
            self._eval_envs.observation_space,
            self._eval_envs.action_space,
            self.policy_config(),
            seed=derive_seed(config.seed, LEARNER_STREAM),
        )
        self.learner = ActorCriticLearner(self.policy, self.learner_config())

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

    def rollout_config(self, *, gae: bool = True) -> RolloutConfig:
        """The evaluators' config; env seeds continue from the env steps taken so far, so a
        restored run does not replay its first episodes.

        Args:
            gae: Rollouts carry GAE advantages (False: raw trajectories, for V-trace).
        """
        c = self.config
        return RolloutConfig(
            env=self.env_spec,
            num_envs=c.num_envs_per_worker,
            rollout_steps=c.rollout_steps,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda if gae else None,
            scale_rewards=c.scale_rewards,
            seed=derive_seed(c.seed, EVALUATORS_STREAM, self.env_steps),
            policy=self.policy_config(),
            learner=self.learner_config(),
        )

    def evaluator_group(self, *, gae: bool = True) -> EvaluatorGroup:
        """Spawn the evaluators (inside this session's runtime)."""
        return EvaluatorGroup(
            self.rollout_config(gae=gae),
            self.learner,
            self.config.num_workers,
            max_restarts=self.config.max_worker_restarts,
            name=f"{self.name}-evaluator",
        )

    def minibatch_seed(self) -> int:
        """Seed of minibatch shuffling (PPO), continuing across restores like the env seeds."""
        return derive_seed(self.config.seed, MINIBATCH_STREAM, self.env_steps)

    # -- the loop's hooks -----------------------------------------------------------------------

    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.act(obs, explore=False)

    def _greedy_evaluator_spec(self) -> tuple[type[ActorCriticEvaluator], RolloutConfig]:
        # Greedy evaluations run beside learning (see GreedyEvaluations._maybe_evaluate). Its one
        # rollout env is never stepped: evaluate() builds envs of its own.
        seed = derive_seed(self.config.seed, GREEDY_EVALUATOR_STREAM)
        return ActorCriticEvaluator, dataclasses.replace(
            self.rollout_config(), num_envs=1, seed=seed
        )

    def _runtime_options(self) -> dict[str, Any]:
        if self.config.backend == "process":
            return {"start_method": "forkserver", "preload": self.preload}
        return {}

    def _optimizer_step(self) -> dict[str, Any]:
        optimizer = self._start()
        c = self.config
        if c.learning_rate_schedule == "linear":
            remaining = max(0.0, 1.0 - self.env_steps / c.max_env_steps)
            self.learner.set_learning_rate(c.learning_rate * remaining)
        stats: dict[str, Any] = optimizer.step()
        return stats

    def _iteration_metrics(self, stats: dict[str, Any]) -> dict[str, Any]:
        learned = stats["learn"]
        return {
            "loss": learned.get("loss"),
            "policy_loss": learned.get("policy_loss"),
            "value_loss": learned.get("value_loss"),
            "entropy": learned.get("entropy"),
            "grad_norm": learned.get("grad_norm"),
            **{k: v for k, v in learned.items() if k not in _LOSS_KEYS},
            "learning_rate": self.learner.learning_rate,
            "worker_restarts": stats["worker_restarts"],
            **({"queued_rollouts": stats["queued_rollouts"]} if "queued_rollouts" in stats else {}),
        }


_LOSS_KEYS = ("loss", "policy_loss", "value_loss", "entropy", "grad_norm")
