"""The Huber loss (trfl's ``clipping_ops.huber_loss``)."""

from __future__ import annotations

import math

import torch


def huber_loss(x: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Elementwise Huber loss: quadratic for ``|x| <= delta``, linear beyond.

    ``0.5 * x**2`` where ``|x| <= delta``, else ``delta * (|x| - 0.5 * delta)``. Its gradient is
    ``x`` clipped to ``[-delta, delta]``, which is the error clipping of Mnih et al. (2015),
    "Human-level control through deep reinforcement learning": large TD errors early in training
    cannot blow up the update.

    Args:
        x: Any shape, typically TD errors ``[B]``.
        delta: Where the loss turns from quadratic to linear (same units as ``x``); > 0 and finite.

    Returns:
        The loss, same shape as ``x`` (unreduced).

    Raises:
        ValueError: ``delta`` is not a positive finite number.
    """
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"huber_loss: delta must be positive and finite, got {delta}")
    # torch's fused kernel (one autograd node instead of seven for abs, clamp, square, ...; a
    # learner step on a small network is mostly per-op overhead). Its backward is the clipped
    # x itself, so unlike torch.where over two branches no inf/nan from an unselected branch
    # can reach the gradient.
    return torch.nn.functional.huber_loss(x, torch.zeros_like(x), reduction="none", delta=delta)
