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

    with DQN(DQNConfig(env_id="CartPole-v1", stop_reward=475)) as dqn:
        result = dqn.train()              # {"solved": True, "env_steps": ..., ...}
        dqn.save("runs/cartpole/checkpoint")
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlactors.actors import ActorOptions, ActorRef, Runtime, spawn_with
from rlactors.algorithms.base import Algorithm, Callback, config_from_dict, config_to_dict
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlactors.envs import EnvBatch
from rlactors.evaluators import (
    DQNEvaluator,
    EvaluatorConfig,
    derive_seed,
    make_env_batch,
    run_episodes,
)
from rlactors.optimizers import LinearSchedule, SyncReplayConfig, SyncReplayOptimizer
from rlactors.policies import DQNPolicy, DQNPolicyConfig

log = logging.getLogger(__name__)

#: ``derive_seed`` paths under the root seed, one per consumer.
_EVALUATORS, _LEARNER, _REPLAY, _GREEDY_EVAL = 0, 1, 2, 3


class DQN(Algorithm):
    """DQN with n-step returns, double-Q, a dueling head and optional prioritized replay.

    Evaluators are spawned on ``config.backend`` when training starts (not in the
    constructor), so building a DQN to evaluate or restore a checkpoint starts no actor. While
    it trains, its runtime is the current one (``rlactors.actors.current_runtime``) until
    :meth:`stop`.

    Args:
        config: Everything; see :class:`DQNConfig`.

    Raises:
        UnknownEnvError: ``config.env_id`` is not registered (raised here, in the caller's
            process, before any actor starts).
        TypeError: The env's spaces are not Box observations and Discrete actions.
    """

    name = "dqn"
    config: DQNConfig
    #: The config dataclass a checkpoint's ``config.json`` is read into.
    config_class: type[Any] = DQNConfig

    def __init__(self, config: DQNConfig) -> None:
        super().__init__(config)
        # Built here and kept: it checks the env id in this process, gives the learner its
        # spaces and runs the greedy evaluations.
        self._eval_envs: EnvBatch = make_env_batch(config.env_id, config.eval_episodes)
        self.policy = DQNPolicy(
            self._eval_envs.observation_space,
            self._eval_envs.action_space,
            self.policy_config(),
            seed=derive_seed(config.seed, _LEARNER),
        )
        self.epsilon_schedule, self.beta_schedule = self._schedules()
        self._runtime: Runtime | None = None
        self._optimizer: Any = None
        self._pending_replay: dict[str, np.ndarray] | None = None
        # Counters (all restored by restore()).
        self.env_steps = 0
        self.learner_steps = 0
        self.episodes = 0
        self.iteration = 0
        self.evaluations = 0
        self._time_s = 0.0  # training wall time of earlier sessions (before a restore)
        self._next_eval_env_steps = config.eval_interval_env_steps
        self._returns: deque[float] = deque(maxlen=config.return_window_episodes)
        self._lengths: deque[int] = deque(maxlen=config.return_window_episodes)
        self._last_eval: float | None = None
        self._last_eval_env_steps: int | None = None  # env steps of the policy it evaluated
        self._solved = False
        # This session's clock, for env steps per second.
        self._session_start: float | None = None
        self._session_env_steps = 0

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
        """The learner's (and the evaluators') policy configuration."""
        c = self.config
        return DQNPolicyConfig(
            hidden_sizes=c.hidden_sizes,
            dueling=c.dueling,
            double_q=c.double_q,
            learning_rate=c.learning_rate,
            huber_delta=c.huber_delta,
            max_grad_norm=c.max_grad_norm,
            target_update_period_learner_steps=c.target_update_period_learner_steps,
        )

    # -- training -------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Solved, or another round would exceed ``max_env_steps``."""
        return self._solved or self._budget_spent(self.env_steps)

    def train_iter(self) -> dict[str, Any]:
        """One optimizer round, then a greedy evaluation if one is due.

        Returns:
            The iteration's metrics: ``iteration``, ``env_steps``, ``learner_steps``,
            ``episodes`` (totals); ``episode_return_mean`` and ``episode_length_mean`` over the
            last ``return_window_episodes`` training episodes (None before the first ends);
            ``episode_returns`` (this round's); ``loss``, ``q_mean``, ``grad_norm`` (None before
            learning starts); ``epsilon``, ``replay_size``; ``eval_return_mean`` (None when no
            evaluation ran this iteration); ``env_steps_per_s`` (this session), ``time_s``
            (training wall time, all sessions); ``sample_wait_s``, ``learn_time_s`` and
            ``eval_time_s`` (where this iteration's time went); ``solved`` and ``done``.

        Raises:
            RuntimeError: Training is already done (solved or budget spent).
        """
        if self.done:
            raise RuntimeError(
                f"{self.name} training is done ({'solved' if self._solved else 'budget spent'} at "
                f"{self.env_steps} env steps); raise max_env_steps to continue"
            )
        stats = self._optimizer_step()
        self.iteration += 1
        self.env_steps = stats["env_steps"]
        self.learner_steps = stats["learner_steps"]
        self._session_env_steps += stats["env_steps_this_step"]
        self.episodes += len(stats["episode_returns"])
        self._returns.extend(stats["episode_returns"])
        self._lengths.extend(stats["episode_lengths"])
        eval_start = time.perf_counter()
        eval_return = self._maybe_evaluate()
        eval_time_s = time.perf_counter() - eval_start
        elapsed = time.perf_counter() - (self._session_start or time.perf_counter())
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "learner_steps": self.learner_steps,
            "episodes": self.episodes,
            "episode_return_mean": self.episode_return_mean,
            "episode_length_mean": float(np.mean(self._lengths)) if self._lengths else None,
            "episode_returns": stats["episode_returns"],
            "loss": stats["loss"],
            "q_mean": stats["q_mean"],
            "grad_norm": stats["grad_norm"],
            "epsilon": stats["epsilon"],
            "replay_size": stats["replay_size"],
            "eval_return_mean": eval_return,
            "env_steps_per_s": self._session_env_steps / elapsed if elapsed > 0 else 0.0,
            "time_s": self._time_s + elapsed,
            "sample_wait_s": stats["sample_wait_s"],
            "learn_time_s": stats["learn_time_s"],
            "eval_time_s": eval_time_s,
            **stats.get("extra", {}),
            "solved": self._solved,
            "done": self.done,
        }

    def _optimizer_step(self) -> dict[str, Any]:
        """One optimizer round; its statistics under the keys :meth:`train_iter` reads."""
        optimizer = self._start()
        stats: dict[str, Any] = optimizer.step(
            prefetch=not self._budget_spent(self.env_steps + self._round)
        )
        return stats

    def train(self, callback: Callback | None = None) -> dict[str, Any]:
        """Iterate until solved (``stop_reward``) or the budget is spent; see :meth:`result`.

        Args:
            callback: Called with each iteration's metrics (for progress displays, logging).
        """
        metrics: dict[str, Any] | None = None
        while not self.done:
            metrics = self.train_iter()
            if callback is not None:
                callback(metrics)
        if not self._solved and self._last_eval_env_steps != self.env_steps:
            # The result should say how good the final policy is, not an older one.
            self._last_eval = self.evaluate()["eval_return_mean"]
            self._last_eval_env_steps = self.env_steps
        return self.result()

    def result(self) -> dict[str, Any]:
        """Where training stands: ``env_steps``, ``learner_steps``, ``episodes``,
        ``episode_return_mean`` (training, latest window), ``eval_return_mean`` (the latest
        greedy evaluation, None if none ran), ``env_steps_per_s`` (this session), ``time_s``
        (training wall time) and ``solved``."""
        elapsed = (
            time.perf_counter() - self._session_start if self._session_start is not None else 0.0
        )
        return {
            "env_steps": self.env_steps,
            "learner_steps": self.learner_steps,
            "episodes": self.episodes,
            "episode_return_mean": self.episode_return_mean,
            "eval_return_mean": self._last_eval,
            "env_steps_per_s": self._session_env_steps / elapsed if elapsed > 0 else 0.0,
            "time_s": self._time_s + elapsed,
            "solved": self._solved,
        }

    @property
    def episode_return_mean(self) -> float | None:
        """Mean training return of the latest ``return_window_episodes`` episodes."""
        return float(np.mean(self._returns)) if self._returns else None

    def evaluate(self, episodes: int | None = None) -> dict[str, Any]:
        """Greedy (epsilon 0) episodes with the learner's current network, in this process.

        Args:
            episodes: How many (default ``config.eval_episodes``); they run in lockstep.

        Returns:
            ``episodes``, ``eval_return_mean``, ``eval_return_std``, ``eval_return_min``,
            ``eval_return_max`` and ``eval_length_mean``.
        """
        count = self.config.eval_episodes if episodes is None else episodes
        if count < 1:
            raise ValueError(f"evaluate: episodes must be >= 1, got {count}")
        if self._eval_envs.num_envs != count:
            self._eval_envs.close()
            self._eval_envs = make_env_batch(self.config.env_id, count)
        stats = run_episodes(self._eval_envs, self._greedy, self._next_evaluation_seed())
        returns = np.array([s.episode_return for s in stats])
        return {
            "episodes": count,
            "eval_return_mean": float(returns.mean()),
            "eval_return_std": float(returns.std()),
            "eval_return_min": float(returns.min()),
            "eval_return_max": float(returns.max()),
            "eval_length_mean": float(np.mean([s.length for s in stats])),
        }

    def stop(self) -> None:
        """Stop the evaluators and this algorithm's runtime (idempotent). Counters, weights and
        replay stay; training again starts new evaluators (and new episodes)."""
        if self._optimizer is not None:
            if self._pending_replay is None:
                self._pending_replay = self._snapshot_replay()
            self._optimizer.stop()
            self._optimizer = None
        if self._runtime is not None:
            self._runtime.__exit__(None, None, None)
            self._runtime = None
        if self._session_start is not None:
            self._time_s += time.perf_counter() - self._session_start
            self._session_start = None

    # -- checkpoints ----------------------------------------------------------------------------

    def save(self, path: str | Path, *, include_replay: bool = False) -> Path:
        """Write a checkpoint directory atomically (see :mod:`rlactors.checkpoint`).

        It holds the learner (online and target networks, Adam state), the counters (env and
        learner steps, which also place the epsilon and beta schedules), the recent training
        returns and the config as JSON; with ``include_replay`` also the replay buffer
        (``buffer_capacity_transitions`` rows at most).

        Returns:
            The checkpoint directory.
        """
        elapsed = (
            time.perf_counter() - self._session_start if self._session_start is not None else 0.0
        )
        state = {
            "policy": self.policy.state_dict(),
            "counters": {
                "env_steps": self.env_steps,
                "learner_steps": self.learner_steps,
                "episodes": self.episodes,
                "iteration": self.iteration,
                "evaluations": self.evaluations,
                "next_eval_env_steps": self._next_eval_env_steps,
                "time_s": self._time_s + elapsed,
                "solved": self._solved,
                "last_eval": self._last_eval,
                **self._extra_counters(),
            },
            "recent_returns": list(self._returns),
            "recent_lengths": list(self._lengths),
        }
        arrays = None
        if include_replay:
            arrays = (
                self._snapshot_replay() if self._optimizer is not None else self._pending_replay
            )
        return save_checkpoint(
            path,
            algorithm=self.name,
            config=config_to_dict(self.config),
            state=state,
            arrays=arrays,
        )

    def restore(self, path: str | Path) -> None:
        """Load a checkpoint written by :meth:`save` into this instance (keeping its config).

        Evaluators restart their episodes; a replay buffer in the checkpoint refills replay.

        Raises:
            CheckpointError: Not a DQN checkpoint, or it does not load safely.
            ValueError: The networks' shapes differ from this config's.
        """
        checkpoint = load_checkpoint(path)
        if checkpoint.algorithm != self.name:
            raise CheckpointError(
                f"{path} is a {checkpoint.algorithm!r} checkpoint, not {self.name!r}"
            )
        state = checkpoint.state
        self.policy.load_state_dict(state["policy"])
        counters = state["counters"]
        self.env_steps = int(counters["env_steps"])
        self.learner_steps = int(counters["learner_steps"])
        self.episodes = int(counters["episodes"])
        self.iteration = int(counters["iteration"])
        self.evaluations = int(counters["evaluations"])
        self._next_eval_env_steps = int(counters["next_eval_env_steps"])
        self._time_s = float(counters["time_s"])
        self._solved = bool(counters["solved"])
        last_eval = counters["last_eval"]
        self._last_eval = None if last_eval is None else float(last_eval)
        self._returns.clear()
        self._returns.extend(float(r) for r in state["recent_returns"])
        self._lengths.clear()
        self._lengths.extend(int(n) for n in state["recent_lengths"])
        self._pending_replay = checkpoint.arrays
        self._restore_extra_counters(counters)
        if self._optimizer is not None:
            self._sync_optimizer(self._optimizer)
            if self._pending_replay is not None:
                self._load_replay(self._optimizer, self._pending_replay)
            self._optimizer.broadcast_weights()

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> DQN:
        """A DQN built from the checkpoint's own config, with its state restored."""
        checkpoint = load_checkpoint(path)
        dqn = cls(config_from_dict(cls.config_class, checkpoint.config))
        dqn.restore(path)
        return dqn

    # -- internals ------------------------------------------------------------------------------

    @property
    def _round(self) -> int:
        return self.config.env_steps_per_round

    def _budget_spent(self, env_steps: int) -> bool:
        return env_steps + self._round > self.config.max_env_steps

    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.act(obs, explore=False)

    def _start(self) -> Any:
        """Start this session's runtime, actors and optimizer on its first iteration."""
        if self._optimizer is not None:
            return self._optimizer
        c = self.config
        if c.learner_torch_threads is not None:
            torch.set_num_threads(c.learner_torch_threads)
        self._runtime = Runtime(c.backend, **self._runtime_options())
        self._runtime.__enter__()
        try:
            optimizer = self._build_optimizer()
        except BaseException:
            self._runtime.__exit__(None, None, None)  # stops whatever was spawned
            self._runtime = None
            raise
        self._sync_optimizer(optimizer)
        if self._pending_replay is not None:
            self._load_replay(optimizer, self._pending_replay)
            self._pending_replay = None
        self._optimizer = optimizer
        self._session_start = time.perf_counter()
        self._session_env_steps = 0
        return optimizer

    def _evaluator_config(self, num_envs: int, stream: int, epsilon: float) -> EvaluatorConfig:
        """The evaluators' config: ``num_envs`` each, seeds from ``derive_seed`` path
        ``stream``; a restored run continues with fresh env seeds, not the first episodes."""
        c = self.config
        return EvaluatorConfig(
            env_id=c.env_id,
            num_envs=num_envs,
            rollout_steps=c.rollout_steps,
            n_step=c.n_step,
            gamma=c.gamma,
            epsilon=epsilon,
            seed=derive_seed(c.seed, stream, self.env_steps),
            policy=self.policy_config(),
        )

    def _runtime_options(self) -> dict[str, Any]:
        """Options of this algorithm's :class:`Runtime` (none for DQN)."""
        return {}

    def _build_optimizer(self) -> Any:
        """Spawn the evaluators and build the optimizer (inside this session's runtime)."""
        c = self.config
        evaluator_config = self._evaluator_config(
            c.num_envs_per_evaluator, _EVALUATORS, self.epsilon_schedule(self.env_steps)
        )
        evaluators: list[ActorRef[DQNEvaluator]] = [
            spawn_with(
                ActorOptions(name=f"dqn-evaluator-{i}"), DQNEvaluator, evaluator_config, index=i
            )
            for i in range(c.num_evaluators)
        ]
        return SyncReplayOptimizer(
            evaluators,
            self.policy,
            SyncReplayConfig(
                buffer_capacity_transitions=c.buffer_capacity_transitions,
                batch_size=c.batch_size,
                train_steps_per_sample=c.train_steps_per_sample,
                learning_starts_env_steps=c.learning_starts_env_steps,
                prioritized_replay=c.prioritized_replay,
                prioritized_replay_alpha=c.prioritized_replay_alpha,
            ),
            seed=derive_seed(c.seed, _REPLAY, self.env_steps),
            epsilon_schedule=self.epsilon_schedule,
            beta_schedule=self.beta_schedule,
        )

    def _maybe_evaluate(self) -> float | None:
        """Run the greedy evaluation if one is due (see ``eval_interval_env_steps``)."""
        if not self._evaluation_due():
            return None
        eval_return = float(self.evaluate()["eval_return_mean"])
        self._record_evaluation(eval_return, self.env_steps)
        return eval_return

    def _evaluation_due(self) -> bool:
        """Whether a greedy evaluation is due now (moves the schedule on when it is)."""
        c = self.config
        if c.stop_reward is None or self.env_steps < self._next_eval_env_steps:
            return False
        while self._next_eval_env_steps <= self.env_steps:
            self._next_eval_env_steps += c.eval_interval_env_steps
        train_mean = self.episode_return_mean
        return train_mean is not None and train_mean >= c.eval_trigger_fraction * c.stop_reward

    def _next_evaluation_seed(self) -> int:
        """Counts a greedy evaluation; returns the root seed of its episodes (fresh each time)."""
        self.evaluations += 1
        return derive_seed(self.config.seed, _GREEDY_EVAL, self.evaluations)

    def _record_evaluation(self, eval_return: float, env_steps: int) -> None:
        """Keep a greedy evaluation's mean return, of the policy trained for ``env_steps``."""
        stop_reward = self.config.stop_reward
        self._last_eval = eval_return
        self._last_eval_env_steps = env_steps
        self._solved = stop_reward is not None and eval_return >= stop_reward
        log.info(
            "greedy evaluation of the policy at %d env steps: mean return %.1f (%s)",
            env_steps,
            eval_return,
            "solved" if self._solved else "not yet",
        )

    # -- what differs between optimizers (Ape-X overrides these) --------------------------------

    def _sync_optimizer(self, optimizer: Any) -> None:
        """Hand the restored counters to a (new) optimizer."""
        optimizer.load_state_dict(
            {"env_steps": self.env_steps, "learner_steps": self.learner_steps}
        )

    def _snapshot_replay(self) -> dict[str, np.ndarray]:
        """The live replay buffer as plain arrays (for a checkpoint)."""
        state = self._optimizer.replay.state_dict()
        return {k: np.asarray(v) for k, v in state.items()}

    def _load_replay(self, optimizer: Any, arrays: dict[str, np.ndarray]) -> None:
        """Refill ``optimizer``'s replay from :meth:`_snapshot_replay` arrays."""
        optimizer.replay.load_state_dict(arrays)

    def _extra_counters(self) -> dict[str, Any]:
        """Counters beyond DQN's that a checkpoint keeps (none for DQN)."""
        return {}

    def _restore_extra_counters(self, counters: dict[str, Any]) -> None:
        """Restore :meth:`_extra_counters` (nothing for DQN)."""
