"""Learners: what trains a policy (loss, optimizer, target network, schedules), kept apart from
the policy, so that whatever only acts (an evaluator) holds none of it.

* :class:`DQNLearner` — (double) Q-learning with a target network, for a ``DQNPolicy``;
  its hyperparameters are a :class:`DQNLearnerConfig`.
* :class:`ActorCriticLearner` — Adam on an ``ActorCriticPolicy``: the A2C loss, A3C's gradient
  exchange, and any other loss through ``gradient_step`` (an :class:`ActorCriticLearnerConfig`);
  :class:`~rlactors.learners.ppo.PPOLearner` (PPO's epochs of minibatches) and
  :class:`~rlactors.learners.v_trace.VTraceLearner` (IMPALA) step through one.

Learners know nothing of actors; they import torch (their configs do not), so this package
imports its members on first use (an evaluator process that imports the package for a type
pays nothing).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlactors.learners.actor_critic import ActorCriticLearner
    from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
    from rlactors.learners.dqn import DQNLearner
    from rlactors.learners.dqn_config import DQNLearnerConfig
    from rlactors.learners.ppo import PPOLearner, PPOLearnerConfig
    from rlactors.learners.v_trace import VTraceLearner, VTraceLearnerConfig

_MODULES = {
    "ActorCriticLearner": "rlactors.learners.actor_critic",
    "ActorCriticLearnerConfig": "rlactors.learners.actor_critic_config",
    "DQNLearner": "rlactors.learners.dqn",
    "DQNLearnerConfig": "rlactors.learners.dqn_config",
    "PPOLearner": "rlactors.learners.ppo",
    "PPOLearnerConfig": "rlactors.learners.ppo",
    "VTraceLearner": "rlactors.learners.v_trace",
    "VTraceLearnerConfig": "rlactors.learners.v_trace",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ActorCriticLearner",
    "ActorCriticLearnerConfig",
    "DQNLearner",
    "DQNLearnerConfig",
    "PPOLearner",
    "PPOLearnerConfig",
    "VTraceLearner",
    "VTraceLearnerConfig",
]
