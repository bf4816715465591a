"""Policies (``act`` / ``learn`` / ``get_weights`` / ``set_weights``) and their networks.

Nothing here knows about actors: a policy is a plain object that an evaluator or a learner holds.
"""

from rlactors.policies.actor_critic import ActionInfo, ActorCriticPolicy
from rlactors.policies.actor_critic_config import ActorCriticConfig
from rlactors.policies.actor_critic_network import ActorCriticNetwork
from rlactors.policies.dqn import DQNPolicy, DQNPolicyConfig
from rlactors.policies.networks import DuelingHead, QNetwork, mlp
from rlactors.policies.normalization import RunningMeanStd

__all__ = [
    "ActionInfo",
    "ActorCriticConfig",
    "ActorCriticNetwork",
    "ActorCriticPolicy",
    "DQNPolicy",
    "DQNPolicyConfig",
    "DuelingHead",
    "QNetwork",
    "RunningMeanStd",
    "mlp",
]
