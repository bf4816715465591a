"""DQN: evaluator actors sample, a learner in this process trains from replay.

The composition, in one read (:class:`DQNBuilder` makes the parts)::

    policies = {"default": PolicyEntry(DQNPolicy(...), DQNLearner(policy))}
    evaluators = evaluator_group(DQNEvaluator, EvaluatorConfig(...), learner, num_evaluators)
    optimizer = SyncReplayOptimizer(evaluators, learner, SyncReplayConfig(...),
                                    epsilon_schedule=LinearSchedule(1.0, 0.04, ...))
    while budget left and not solved:             # TrainingLoop
        stats = optimizer.step()                  # sample -> replay -> learn -> broadcast
        every eval_interval_env_steps, once training returns near stop_reward:
            solved = mean greedy return over eval_episodes >= stop_reward

A multi-role env (``pettingzoo:classic/tictactoe_v3``, with ``self_play`` or scripted
``opponents``) is built by :class:`MultiAgentDQNBuilder` instead: a Q-policy per policy id,
multi-role evaluators and a replay buffer per trained id (see
:mod:`rlactors.algorithms.multi_agent_q`).

Usage::

    with DQN(DQNConfig(env="CartPole-v1", stop_reward=475)) as dqn:
        result = dqn.train()              # {"solved": True, "env_steps": ..., ...}
        dqn.save("runs/cartpole")         # the run directory rlactors train writes
"""

from __future__ import annotations

from typing import Any

from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.multi_agent_q import MultiAgentQBuilder
from rlactors.algorithms.q_learning import QLearningBuilder
from rlactors.core import DEFAULT_POLICY_ID, Optimizer
from rlactors.evaluators import DQNEvaluator
from rlactors.multiagent.q_evaluator import MultiAgentQEvaluator
from rlactors.optimizers import LinearSchedule, SyncReplayConfig, SyncReplayOptimizer
from rlactors.optimizers.multi_agent_replay import MultiAgentReplayOptimizer
from rlactors.optimizers.worker_group import WorkerGroup, evaluator_group
from rlactors.seeding import EVALUATORS_STREAM, REPLAY_STREAM, derive_seed


class DQNBuilder(QLearningBuilder):
    """DQN's parts: the Q-learning ones, evaluators stepped in rounds and a replay buffer in
    this process (:class:`SyncReplayOptimizer`), with an epsilon schedule."""

    config: DQNConfig

    def epsilon_schedule(self) -> LinearSchedule:
        """Exploration epsilon as a function of env steps."""
        c = self.config
        return LinearSchedule(
            c.exploration_initial_epsilon,
            c.exploration_final_epsilon,
            int(c.exploration_fraction * c.max_env_steps),
        )

    def optimizer(self, policies: PolicyMap, env_steps: int) -> Optimizer:
        c = self.config
        learner = policies[DEFAULT_POLICY_ID].learner
        epsilon = self.epsilon_schedule()
        config = self.evaluator_config(
            c.num_envs_per_evaluator, EVALUATORS_STREAM, epsilon(env_steps), env_steps
        )
        evaluators = evaluator_group(
            DQNEvaluator,
            config,
            learner,
            c.num_evaluators,
            name="dqn-evaluator",
            server=self.policy_server("q", config.policy, config.seed, learner),
        )
        return SyncReplayOptimizer(
            evaluators,
            learner,
            self.replay_config(),
            seed=derive_seed(c.seed, REPLAY_STREAM, env_steps),
            epsilon_schedule=epsilon,
            beta_schedule=self.beta_schedule(),
        )

    def replay_config(self) -> SyncReplayConfig:
        """Replay and learning per round."""
        c = self.config
        return SyncReplayConfig(
            buffer_capacity_transitions=c.buffer_capacity_transitions,
            batch_size=c.batch_size,
            train_steps_per_sample=c.train_steps_per_sample,
            learning_starts_env_steps=c.learning_starts_env_steps,
            prioritized_replay=c.prioritized_replay,
            prioritized_replay_alpha=c.prioritized_replay_alpha,
            store_frames_once=c.store_frames_once,
        )

    def beta_schedule(self) -> LinearSchedule:
        """Prioritized replay's importance-sampling exponent, annealed to 1 over the budget."""
        c = self.config
        return LinearSchedule(c.prioritized_replay_beta, 1.0, c.max_env_steps)


class MultiAgentDQNBuilder(MultiAgentQBuilder, DQNBuilder):
    """DQN's parts for a multi-role env: a learner and a replay buffer per trained policy id,
    multi-role evaluators stepped in rounds, one epsilon schedule for every learned policy."""

    config: DQNConfig

    def optimizer(self, policies: PolicyMap, env_steps: int) -> Optimizer:
        c = self.config
        learners = self.trained_learners(policies, env_steps)
        epsilon = self.epsilon_schedule()
        config = self.q_config(
            c.num_envs_per_evaluator, EVALUATORS_STREAM, epsilon(env_steps), env_steps
        )
        group: WorkerGroup[MultiAgentQEvaluator] = WorkerGroup(
            MultiAgentQEvaluator,
            lambda i: (config,),
            c.num_evaluators,
            weights=self.weights_fn(policies),
            name="dqn-evaluator",
        )
        return MultiAgentReplayOptimizer(
            group,
            learners,
            self.replay_config(),
            seed=derive_seed(c.seed, REPLAY_STREAM, env_steps),
            epsilon_schedule=epsilon,
            beta_schedule=self.beta_schedule(),
            league=self.league,
        )


class DQN(TrainingLoop):
    """DQN with n-step returns, double-Q, a dueling head and optional prioritized replay.

    The parts are :class:`DQNBuilder`'s; the training loop, evaluation and checkpoints are
    :class:`TrainingLoop`'s. Evaluators are spawned on ``config.backend`` when training
    starts.

    Args:
        config: Everything; see :class:`DQNConfig`.

    Raises:
        EnvSpecError: ``config.env`` cannot be built (raised here, in the caller's process,
            before any actor starts).
        SpaceError: The env's actions are not Discrete (ditto).
        SpaceError: The env's observations have no layout (see ObservationLayout).
    """

    name = "dqn"
    config: DQNConfig
    config_class: type[Any] = DQNConfig
    builder_class = DQNBuilder
    multi_agent_builder_class = MultiAgentDQNBuilder
