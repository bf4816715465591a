"""Evaluators: an environment (colocated) plus a policy copy, producing experience.

* :class:`DQNEvaluator` — K envs stepped in lockstep with an epsilon-greedy DQN policy;
  ``sample()`` returns n-step transitions (optionally with Ape-X initial priorities) and the
  episodes that finished. Spawn it as an actor: ``spawn(DQNEvaluator, EvaluatorConfig(...))``.
* :class:`EvaluatorConfig` — its plain, picklable configuration.
* :class:`ActorCriticEvaluator` — K envs with a stochastic actor-critic policy; ``rollout()``
  returns fixed-length time-major rollouts (with GAE advantages, or raw trajectories for
  V-trace), ``compute_gradients()`` turns one into a gradient (A3C). Config:
  :class:`RolloutConfig`.
* :func:`run_episodes` — whole episodes with a fixed (e.g. greedy) policy, for evaluation.
* :class:`QActing`, :class:`ActorCriticActing` — what an evaluator acts through: a local
  numpy copy by default, or any object given as ``policy=`` (a policy server's client).
"""

from __future__ import annotations

from rlactors.evaluators.acting import ActorCriticActing, QActing
from rlactors.evaluators.actor_critic import (
    ActorCriticEvaluator,
    GradientResult,
    Rollout,
    RolloutConfig,
)
from rlactors.evaluators.config import ENV_ACTOR_MODES, EnvActorsConfig, EvaluatorConfig
from rlactors.evaluators.dqn import PRIORITIES, DQNEvaluator
from rlactors.evaluators.episodes import ActFn, make_env_batch, run_episodes

__all__ = [
    "ENV_ACTOR_MODES",
    "EnvActorsConfig",
    "PRIORITIES",
    "ActFn",
    "ActorCriticActing",
    "ActorCriticEvaluator",
    "GradientResult",
    "Rollout",
    "RolloutConfig",
    "DQNEvaluator",
    "EvaluatorConfig",
    "QActing",
    "make_env_batch",
    "run_episodes",
]
