"""Policies (``act`` / ``learn`` / ``get_weights`` / ``set_weights``) and their networks.

Nothing here knows about actors: a policy is a plain object that an evaluator or a learner holds.

The torch-backed members (``DQNPolicy``, the networks, ``ActorCriticPolicy``) are imported on
first use, so a process that only acts with :class:`NumpyQPolicy` (an Ape-X or DQN evaluator) or
:class:`NumpyActorCriticPolicy` (an A2C, PPO or IMPALA evaluator) never imports torch (~1.2 s
and ~200 MB per process).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rlactors.policies.actor_critic_config import ActionInfo, ActorCriticConfig
from rlactors.policies.dqn_config import DQNPolicyConfig
from rlactors.policies.normalization import RunningMeanStd
from rlactors.policies.numpy_actor_critic import NumpyActorCriticPolicy
from rlactors.policies.numpy_q import NumpyQPolicy

if TYPE_CHECKING:
    from rlactors.policies.actor_critic import ActorCriticPolicy
    from rlactors.policies.actor_critic_network import ActorCriticNetwork
    from rlactors.policies.dqn import DQNPolicy

#: Members that need torch, and the module each comes from.
_TORCH_MEMBERS = {
    "ActorCriticPolicy": "rlactors.policies.actor_critic",
    "ActorCriticNetwork": "rlactors.policies.actor_critic_network",
    "DQNPolicy": "rlactors.policies.dqn",
}


def __getattr__(name: str) -> Any:
    module = _TORCH_MEMBERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ActionInfo",
    "ActorCriticConfig",
    "ActorCriticNetwork",
    "ActorCriticPolicy",
    "DQNPolicy",
    "DQNPolicyConfig",
    "NumpyActorCriticPolicy",
    "NumpyQPolicy",
    "RunningMeanStd",
]
