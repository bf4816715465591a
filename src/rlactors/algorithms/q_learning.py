"""What DQN and Ape-X build alike: a Q-policy and its learner, and their evaluators' config.

:class:`QLearningBuilder` is the part of :class:`~rlactors.algorithms.dqn.DQNBuilder` and
:class:`~rlactors.algorithms.apex.ApexBuilder` that is the same, as
:class:`~rlactors.algorithms.q_learning_config.QLearningConfig` is the part of their configs;
each adds its optimizer.
"""

from __future__ import annotations

from rlactors.algorithms.builder import Builder, PolicyEntry
from rlactors.algorithms.q_learning_config import QLearningConfig
from rlactors.core import DEFAULT_POLICY_ID
from rlactors.evaluators import EvaluatorConfig
from rlactors.learners.dqn_config import DQNLearnerConfig
from rlactors.policies import DQNPolicyConfig
from rlactors.seeding import LEARNER_STREAM, derive_seed


class QLearningBuilder(Builder):
    """The parts of a Q-learning algorithm but its optimizer: one Q-policy and its learner
    (torch, in this process), and the config of the evaluators that act with its weights."""

    config: QLearningConfig
    has_replay = True

    def policy_config(self) -> DQNPolicyConfig:
        """The learner's (and the evaluators') policy configuration: the network."""
        c = self.config
        return DQNPolicyConfig(
            hidden_sizes=c.hidden_sizes,
            dueling=c.dueling,
            encoder=c.encoder,
            action_mask_key=c.action_mask_key,
        )

    def learner_config(self) -> DQNLearnerConfig:
        """The learner step's configuration (Adam's epsilon and tau keep their defaults)."""
        c = self.config
        return DQNLearnerConfig(
            double_q=c.double_q,
            learning_rate=c.learning_rate,
            huber_delta=c.huber_delta,
            max_grad_norm=c.max_grad_norm,
            target_update_period_learner_steps=c.target_update_period_learner_steps,
        )

    def policies(self) -> dict[str, PolicyEntry]:
        from rlactors.learners import DQNLearner  # torch (see algorithms.loop)
        from rlactors.policies import DQNPolicy

        policy = DQNPolicy(
            self.env.observation_space,
            self.env.action_space,
            self.policy_config(),
            seed=derive_seed(self.config.seed, LEARNER_STREAM),
        )
        return {DEFAULT_POLICY_ID: PolicyEntry(policy, DQNLearner(policy, self.learner_config()))}

    def evaluator_config(
        self, num_envs: int, stream: int, epsilon: float, env_steps: int
    ) -> EvaluatorConfig:
        """The evaluators' config: ``num_envs`` each, seeds from ``derive_seed`` path
        ``stream``; a restored run (``env_steps`` > 0) continues with fresh env seeds, not
        the first episodes."""
        c = self.config
        return EvaluatorConfig(
            env=self.env.spec,
            num_envs=num_envs,
            rollout_steps=c.rollout_steps,
            n_step=c.n_step,
            gamma=c.gamma,
            epsilon=epsilon,
            seed=derive_seed(c.seed, stream, env_steps),
            policy=self.policy_config(),
            env_crash_policy=c.env_crash_policy,
            env_actors=c.env_actors_config,
        )
