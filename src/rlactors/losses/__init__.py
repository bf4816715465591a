"""Losses as pure torch functions, with trfl's argument names and unreduced ``[B]`` outputs."""

from rlactors.losses.advantages import (
    AdvantageOutput,
    generalized_advantage_estimation,
    normalize_advantages,
)
from rlactors.losses.huber import huber_loss
from rlactors.losses.policy_gradient import A2CLossOutput, PPOLossOutput, a2c_loss, ppo_loss
from rlactors.losses.q_learning import LossOutput, double_q_learning, q_learning
from rlactors.losses.vtrace import VTraceOutput, vtrace

__all__ = [
    "A2CLossOutput",
    "AdvantageOutput",
    "LossOutput",
    "PPOLossOutput",
    "VTraceOutput",
    "a2c_loss",
    "double_q_learning",
    "generalized_advantage_estimation",
    "huber_loss",
    "normalize_advantages",
    "ppo_loss",
    "q_learning",
    "vtrace",
]
