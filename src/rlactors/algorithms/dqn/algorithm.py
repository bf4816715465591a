"""DQN: evaluator actors sample, a learner in this process trains from replay.

The composition, in one read::

    evaluators = [spawn(DQNEvaluator, EvaluatorConfig(...), index=i) for i in ...]
    learner = DQNPolicy(obs_space, action_space, DQNPolicyConfig(...))
    optimizer = SyncReplayOptimizer(evaluators, learner, SyncReplayConfig(...),
                                    epsilon_schedule=LinearSchedule(1.0, 0.04, ...))
    while budget left and not solved:
        stats = optimizer.step()                  # sample -> replay -> learn -> broadcast
        every eval_interval_env_steps, once training returns near stop_reward:
            solved = mean greedy return over eval_episodes >= stop_reward

Usage::

    with DQN(DQNConfig(env="CartPole-v1", stop_reward=475)) as dqn:
        result = dqn.train()              # {"solved": True, "env_steps": ..., ...}
        dqn.save("runs/cartpole/checkpoint")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlactors.actors import ActorOptions, ActorRef, spawn_with
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.evaluators import DQNEvaluator, EvaluatorConfig
from rlactors.learners.dqn_config import DQNLearnerConfig
from rlactors.optimizers import LinearSchedule, SyncReplayConfig, SyncReplayOptimizer
from rlactors.policies import DQNPolicyConfig
from rlactors.seeding import EVALUATORS_STREAM, LEARNER_STREAM, REPLAY_STREAM, derive_seed

if TYPE_CHECKING:
    from rlactors.learners import DQNLearner
    from rlactors.policies import DQNPolicy


class DQN(TrainingLoop):
    """DQN with n-step returns, double-Q, a dueling head and optional prioritized replay.

    The training loop, evaluation and checkpoints are :class:`TrainingLoop`'s; evaluators
    are spawned on ``config.backend`` when training starts.

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
    policy: DQNPolicy
    learner: DQNLearner
    #: The config dataclass a checkpoint's ``config.json`` is read into.
    config_class: type[Any] = DQNConfig

    def __init__(self, config: DQNConfig) -> None:
        super().__init__(config)
        from rlactors.learners import DQNLearner  # torch (see algorithms.loop)
        from rlactors.policies import DQNPolicy

        self.policy = DQNPolicy(
            self._eval_envs.observation_space,
            self._eval_envs.action_space,
            self.policy_config(),
            seed=derive_seed(config.seed, LEARNER_STREAM),
        )
        self.learner = DQNLearner(self.policy, self.learner_config())
        self.epsilon_schedule, self.beta_schedule = self._schedules()
        #: Replay arrays held while no optimizer runs (from a checkpoint, or kept at stop()).
        self._pending_replay: dict[str, np.ndarray] | None = None

    def _schedules(self) -> tuple[LinearSchedule, LinearSchedule]:
        """Exploration epsilon and importance-sampling beta, as functions of env steps."""
        c = self.config
        epsilon = LinearSchedule(
            c.exploration_initial_epsilon,
            c.exploration_final_epsilon,
            int(c.exploration_fraction * c.max_env_steps),
        )
        return epsilon, LinearSchedule(c.prioritized_replay_beta, 1.0, c.max_env_steps)

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

    # -- the loop's hooks -----------------------------------------------------------------------

    def _optimizer_step(self) -> dict[str, Any]:
        """One optimizer round; its statistics under the keys :meth:`train_iter` reads."""
        optimizer = self._start()
        stats: dict[str, Any] = optimizer.step(
            prefetch=not self._budget_spent(self.env_steps + self._round)
        )
        return stats

    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.act(obs, explore=False)

    def _evaluator_config(self, num_envs: int, stream: int, epsilon: float) -> EvaluatorConfig:
        """The evaluators' config: ``num_envs`` each, seeds from ``derive_seed`` path
        ``stream``; a restored run continues with fresh env seeds, not the first episodes."""
        c = self.config
        return EvaluatorConfig(
            env=self.env_spec,
            num_envs=num_envs,
            rollout_steps=c.rollout_steps,
            n_step=c.n_step,
            gamma=c.gamma,
            epsilon=epsilon,
            seed=derive_seed(c.seed, stream, self.env_steps),
            policy=self.policy_config(),
        )

    def _build_optimizer(self) -> Any:
        """Spawn the evaluators and build the optimizer (inside this session's runtime)."""
        c = self.config
        evaluator_config = self._evaluator_config(
            c.num_envs_per_evaluator, EVALUATORS_STREAM, self.epsilon_schedule(self.env_steps)
        )
        evaluators: list[ActorRef[DQNEvaluator]] = [
            spawn_with(
                ActorOptions(name=f"dqn-evaluator-{i}"), DQNEvaluator, evaluator_config, index=i
            )
            for i in range(c.num_evaluators)
        ]
        return SyncReplayOptimizer(
            evaluators,
            self.learner,
            SyncReplayConfig(
                buffer_capacity_transitions=c.buffer_capacity_transitions,
                batch_size=c.batch_size,
                train_steps_per_sample=c.train_steps_per_sample,
                learning_starts_env_steps=c.learning_starts_env_steps,
                prioritized_replay=c.prioritized_replay,
                prioritized_replay_alpha=c.prioritized_replay_alpha,
            ),
            seed=derive_seed(c.seed, REPLAY_STREAM, self.env_steps),
            epsilon_schedule=self.epsilon_schedule,
            beta_schedule=self.beta_schedule,
        )

    def _iteration_metrics(self, stats: dict[str, Any]) -> dict[str, Any]:
        return {
            "loss": stats["loss"],
            "q_mean": stats["q_mean"],
            "grad_norm": stats["grad_norm"],
            "epsilon": stats["epsilon"],
            "replay_size": stats["replay_size"],
            **stats.get("extra", {}),
        }

    # -- replay across sessions and checkpoints (Ape-X overrides the snapshot and load) ---------

    def _on_started(self, optimizer: Any) -> None:
        if self._pending_replay is not None:
            self._load_replay(optimizer, self._pending_replay)
            self._pending_replay = None

    def _before_stop(self) -> None:
        # Keep the replay buffer: a checkpoint saved after stop() can still include it.
        self._pending_replay = self._snapshot_replay()

    def _replay_arrays(self) -> dict[str, np.ndarray] | None:
        return self._snapshot_replay() if self._optimizer is not None else self._pending_replay

    def _restore_replay(self, arrays: dict[str, np.ndarray] | None) -> None:
        self._pending_replay = arrays

    def _snapshot_replay(self) -> dict[str, np.ndarray]:
        """The live replay buffer as plain arrays (for a checkpoint)."""
        state = self._optimizer.replay.state_dict()
        return {k: np.asarray(v) for k, v in state.items()}

    def _load_replay(self, optimizer: Any, arrays: dict[str, np.ndarray]) -> None:
        """Refill ``optimizer``'s replay from :meth:`_snapshot_replay` arrays."""
        optimizer.replay.load_state_dict(arrays)
