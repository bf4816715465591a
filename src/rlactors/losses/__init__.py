"""Losses as pure torch functions, with trfl's argument names and unreduced ``[B]`` outputs."""

from rlactors.losses.huber import huber_loss
from rlactors.losses.q_learning import LossOutput, double_q_learning, q_learning

__all__ = ["LossOutput", "double_q_learning", "huber_loss", "q_learning"]
