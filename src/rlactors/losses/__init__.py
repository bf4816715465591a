"""Losses as pure torch functions, with trfl's argument names and unreduced ``[B]`` outputs;
GAE also on numpy arrays (:mod:`rlactors.losses.advantages_numpy`), for torch-free evaluators.

The members are imported on first use, so a torch-free process (an evaluator acting with a
numpy policy) can import :mod:`rlactors.losses.advantages_numpy` without importing torch. (No
module may share a member's name, or importing it would shadow the member: hence ``v_trace`` and
``q_losses``.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlactors.losses.advantages import (
        AdvantageOutput,
        generalized_advantage_estimation,
        normalize_advantages,
    )
    from rlactors.losses.huber import huber_loss
    from rlactors.losses.policy_gradient import (
        A2CLossOutput,
        PPOLossOutput,
        a2c_loss,
        ppo_loss,
    )
    from rlactors.losses.q_losses import LossOutput, double_q_learning, q_learning
    from rlactors.losses.v_trace import VTraceOutput, vtrace

#: Every member, and the module it comes from.
_MEMBERS = {
    "A2CLossOutput": "rlactors.losses.policy_gradient",
    "AdvantageOutput": "rlactors.losses.advantages",
    "LossOutput": "rlactors.losses.q_losses",
    "PPOLossOutput": "rlactors.losses.policy_gradient",
    "VTraceOutput": "rlactors.losses.v_trace",
    "a2c_loss": "rlactors.losses.policy_gradient",
    "double_q_learning": "rlactors.losses.q_losses",
    "generalized_advantage_estimation": "rlactors.losses.advantages",
    "huber_loss": "rlactors.losses.huber",
    "normalize_advantages": "rlactors.losses.advantages",
    "ppo_loss": "rlactors.losses.policy_gradient",
    "q_learning": "rlactors.losses.q_losses",
    "vtrace": "rlactors.losses.v_trace",
}


def __getattr__(name: str) -> Any:
    module = _MEMBERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


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
