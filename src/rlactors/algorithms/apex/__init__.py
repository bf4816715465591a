"""Ape-X DQN (Horgan et al., 2018): :class:`ApexConfig` and the :class:`Apex` algorithm."""

from rlactors.algorithms.apex.config import ApexConfig

__all__ = ["ApexConfig"]
