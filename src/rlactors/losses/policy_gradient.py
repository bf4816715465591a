"""Actor-critic losses: A2C/A3C (Mnih et al., 2016) and PPO's clipped surrogate (Schulman et al.,
2017).

Every argument is per sample and all share one shape: ``[B]`` for a flat batch, or ``[T, B]`` for
a time-major one. Like the Q-learning losses, each returns the unreduced per-sample ``loss``
together with its parts, so the caller chooses the reduction (usually the mean) and the
statistics to log. Losses are to be minimized: the policy-gradient terms carry a minus sign and
the entropy bonus is subtracted.

Targets are constants: ``advantages``, ``returns`` and (for PPO) ``old_log_probs`` and
``old_values`` are detached here, so gradient flows only through ``log_probs``, ``values`` and
``entropy``, the outputs of the network being trained.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch


class A2CLossOutput(NamedTuple):
    """The result of :func:`a2c_loss`, every field shaped like the inputs.

    Attributes:
        loss: ``policy_loss + value_coef * value_loss - entropy_coef * entropy``, unreduced.
        policy_loss: ``-log_probs * advantages``.
        value_loss: ``0.5 * (returns - values)**2``.
        entropy: The policy entropy, as given.
    """

    loss: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor


class PPOLossOutput(NamedTuple):
    """The result of :func:`ppo_loss`, every field shaped like the inputs.

    The diagnostics are per sample too; their means are the usual logged scalars.

    Attributes:
        loss: ``policy_loss + value_coef * value_loss - entropy_coef * entropy``, unreduced.
        policy_loss: ``-min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)``.
        value_loss: ``0.5 * (values - returns)**2``, or its clipped pessimistic version.
        entropy: The policy entropy, as given.
        approx_kl: ``(ratio - 1) - log(ratio)`` without gradient: an unbiased, non-negative
            estimator of ``KL(old || new)`` (Schulman, 2020, "Approximating KL Divergence").
        clip_fraction: 1.0 where ``|ratio - 1| > clip_epsilon``, else 0.0, without gradient;
            its mean is the fraction of clipped samples.
    """

    loss: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def a2c_loss(
    log_probs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    returns: torch.Tensor,
    entropy: torch.Tensor,
    value_coef: float = 0.5,
    entropy_coef: float = 0.01,
) -> A2CLossOutput:
    """The advantage actor-critic loss of A3C (Mnih et al., 2016, "Asynchronous Methods for Deep
    Reinforcement Learning", algorithm S3), also used synchronously as A2C.

    ``policy_loss = -log pi(a|s) * A`` is the policy-gradient term with the critic as baseline;
    ``value_loss = 0.5 * (R - V(s))**2`` regresses the critic on the returns; the entropy bonus
    (their section 4, after Williams and Peng, 1991) discourages premature convergence to a
    deterministic policy.

    Args:
        log_probs: ``[B]`` ``log pi(a|s)`` of the actions taken, under the current policy.
        advantages: ``[B]`` advantage estimates (e.g. n-step returns minus values, or GAE).
        values: ``[B]`` ``V(s)`` from the current critic.
        returns: ``[B]`` value targets.
        entropy: ``[B]`` entropy of ``pi(.|s)``.
        value_coef: Weight of the value loss, >= 0.
        entropy_coef: Weight of the entropy bonus, >= 0.

    Returns:
        :class:`A2CLossOutput`, every field ``[B]``.

    Raises:
        ValueError: The shapes differ or a coefficient is negative or not finite.
    """
    _check_same_shape(
        "a2c_loss",
        log_probs=log_probs,
        advantages=advantages,
        values=values,
        returns=returns,
        entropy=entropy,
    )
    _check_coef("a2c_loss", "value_coef", value_coef)
    _check_coef("a2c_loss", "entropy_coef", entropy_coef)
    policy_loss = -log_probs * advantages.detach()
    value_loss = 0.5 * (returns.detach() - values).square()
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy
    return A2CLossOutput(loss=loss, policy_loss=policy_loss, value_loss=value_loss, entropy=entropy)


def ppo_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    entropy: torch.Tensor,
    clip_epsilon: float = 0.2,
    value_clip_epsilon: float | None = None,
    value_coef: float = 0.5,
    entropy_coef: float = 0.0,
) -> PPOLossOutput:
    """PPO's clipped surrogate objective (Schulman et al., 2017, "Proximal Policy Optimization
    Algorithms", equation 7), with its value loss and entropy bonus (equation 9).

    With ``ratio = exp(log_probs - old_log_probs)``, the policy loss is
    ``-min(ratio * A, clip(ratio, 1 - clip_epsilon, 1 + clip_epsilon) * A)``: a pessimistic bound
    that takes no credit for moving the ratio beyond the clip range in the direction the
    advantage favours, which keeps many epochs on one batch from moving the policy too far.

    ``value_clip_epsilon`` enables the value clipping of OpenAI Baselines' PPO2 (not in the paper;
    Engstrom et al., 2020, found it does not help and can hurt, so it is off by default):
    ``v_clipped = old_values + clip(values - old_values, -eps_v, eps_v)`` and
    ``value_loss = 0.5 * max((values - R)**2, (v_clipped - R)**2)``.

    Args:
        log_probs: ``[B]`` ``log pi(a|s)`` under the policy being trained.
        old_log_probs: ``[B]`` ``log pi_old(a|s)`` under the policy that collected the data.
        advantages: ``[B]`` advantage estimates (normalize them first if wanted).
        values: ``[B]`` ``V(s)`` from the critic being trained.
        old_values: ``[B]`` ``V(s)`` at collection time (only read with value clipping).
        returns: ``[B]`` value targets.
        entropy: ``[B]`` entropy of ``pi(.|s)``.
        clip_epsilon: The ratio clip range epsilon, > 0.
        value_clip_epsilon: The value clip range in return units, > 0; None for no value clipping.
        value_coef: Weight of the value loss (the paper's ``c1``), >= 0.
        entropy_coef: Weight of the entropy bonus (the paper's ``c2``), >= 0.

    Returns:
        :class:`PPOLossOutput`, every field ``[B]``.

    Raises:
        ValueError: The shapes differ or a coefficient is out of range.
    """
    _check_same_shape(
        "ppo_loss",
        log_probs=log_probs,
        old_log_probs=old_log_probs,
        advantages=advantages,
        values=values,
        old_values=old_values,
        returns=returns,
        entropy=entropy,
    )
    _check_positive("ppo_loss", "clip_epsilon", clip_epsilon)
    if value_clip_epsilon is not None:
        _check_positive("ppo_loss", "value_clip_epsilon", value_clip_epsilon)
    _check_coef("ppo_loss", "value_coef", value_coef)
    _check_coef("ppo_loss", "entropy_coef", entropy_coef)

    advantages = advantages.detach()
    returns = returns.detach()
    log_ratio = log_probs - old_log_probs.detach()
    ratio = log_ratio.exp()
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip_epsilon, 1.0 + clip_epsilon) * advantages
    policy_loss = -torch.minimum(unclipped, clipped)

    value_loss = 0.5 * (values - returns).square()
    if value_clip_epsilon is not None:
        old_values = old_values.detach()
        values_clipped = old_values + (values - old_values).clamp(
            -value_clip_epsilon, value_clip_epsilon
        )
        value_loss = torch.maximum(value_loss, 0.5 * (values_clipped - returns).square())

    loss = policy_loss + (value_loss if value_coef == 1.0 else value_coef * value_loss)
    if entropy_coef != 0.0:  # skipped at 0: two fewer ops and a backward node, every step
        loss = loss - entropy_coef * entropy
    with torch.no_grad():
        approx_kl = (ratio - 1.0) - log_ratio
        clip_fraction = ((ratio - 1.0).abs() > clip_epsilon).to(ratio.dtype)
    return PPOLossOutput(
        loss=loss,
        policy_loss=policy_loss,
        value_loss=value_loss,
        entropy=entropy,
        approx_kl=approx_kl,
        clip_fraction=clip_fraction,
    )


def _check_same_shape(where: str, **tensors: torch.Tensor) -> None:
    first_name, first = next(iter(tensors.items()))
    if first.dim() == 0:
        raise ValueError(f"{where}: {first_name} must be [B] or [T, B], got a scalar")
    for name, value in tensors.items():
        if value.shape != first.shape:
            raise ValueError(
                f"{where}: {name} must have the shape of {first_name}, "
                f"{tuple(first.shape)}, got {tuple(value.shape)}"
            )


def _check_coef(where: str, name: str, value: float) -> None:
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"{where}: {name} must be >= 0 and finite, got {value}")


def _check_positive(where: str, name: str, value: float) -> None:
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"{where}: {name} must be positive and finite, got {value}")
