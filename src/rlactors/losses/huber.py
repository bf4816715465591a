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
    abs_x = x.abs()
    # Split |x| into a quadratic part and a linear part (as rlax does) instead of torch.where over
    # two branches: where() back-propagates through the unselected branch too, so any inf/nan
    # there would poison the gradient.
    quadratic = abs_x.clamp(max=delta)
    linear = abs_x - quadratic
    return 0.5 * quadratic.square() + delta * linear
