"""rlactors: distributed reinforcement learning built out of actors."""

__version__ = "0.1.0"
