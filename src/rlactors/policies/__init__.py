"""Policies (``act`` / ``learn`` / ``get_weights`` / ``set_weights``) and their networks.

Nothing here knows about actors: a policy is a plain object that an evaluator or a learner holds.
"""

from rlactors.policies.dqn import DQNPolicy, DQNPolicyConfig
from rlactors.policies.networks import DuelingHead, QNetwork, mlp

__all__ = ["DQNPolicy", "DQNPolicyConfig", "DuelingHead", "QNetwork", "mlp"]
