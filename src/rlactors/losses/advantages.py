"""Advantage estimates for actor-critic learners: GAE and advantage normalization.

Sequences are time-major, ``[T, B]``: ``T`` steps of a rollout for each of ``B`` environments.
Row ``t`` describes one transition ``s_t -> s_{t+1}``:

- ``values[t]`` is ``V(s_t)``, the critic's estimate at the state the action was taken in;
- ``rewards[t]`` is the reward received for that action (``r_{t+1}`` in Sutton and Barto);
- ``discounts[t]`` discounts ``V(s_{t+1})``: ``gamma * (1 - terminated)`` where ``terminated``
  says ``s_{t+1}`` is terminal, so a 0 cuts every sum at an episode end;
- ``bootstrap_value`` is ``V(s_T)``, the value of the state after the last row, which the rollout
  was cut before.

A time-limit truncation is not a terminal state (Pardo et al., 2018, "Time Limits in Reinforcement
Learning"): the return past it should be bootstrapped, but the next row already belongs to a new
episode. The caller handles it by folding the bootstrap into the reward and cutting the sum there:
``rewards[t] += gamma * V(final_obs)`` and ``discounts[t] = 0`` for a row that was truncated, where
``final_obs`` is the last observation of the truncated episode (not the reset observation).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from rlactors.losses.advantages_numpy import gae_numpy


class AdvantageOutput(NamedTuple):
    """Advantages and the value targets they imply, both without gradient.

    Attributes:
        advantages: ``[T, B]`` advantage estimates ``A_t``.
        returns: ``[T, B]`` value targets ``A_t + V(s_t)`` (the lambda-returns).
    """

    advantages: torch.Tensor
    returns: torch.Tensor


def generalized_advantage_estimation(
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    discounts: torch.Tensor,
    lambda_: float,
) -> AdvantageOutput:
    """Generalized advantage estimation (Schulman et al., 2016, "High-Dimensional Continuous
    Control Using Generalized Advantage Estimation").

    With ``V(s_T) = bootstrap_value``, the TD errors are
    ``delta_t = rewards[t] + discounts[t] * V(s_{t+1}) - V(s_t)`` and the advantages their
    exponentially weighted sum (the paper's equation 16, with a per-step discount so that episode
    ends cut it): ``A_t = delta_t + discounts[t] * lambda_ * A_{t+1}``, ``A_T = 0``.
    ``lambda_ = 0`` gives the one-step TD error, ``lambda_ = 1`` the Monte-Carlo return
    (bootstrapped at ``T``) minus ``V(s_t)``. See the module docstring for the row layout and
    for truncation.

    The result carries no gradient: advantages and returns are targets, constants for the update.

    Args:
        rewards: ``[T, B]`` rewards.
        values: ``[T, B]`` ``V(s_t)``.
        bootstrap_value: ``[B]`` ``V(s_T)``.
        discounts: ``[T, B]`` ``gamma * (1 - terminated)``.
        lambda_: The GAE lambda, in ``[0, 1]``.

    Returns:
        :class:`AdvantageOutput` with ``advantages`` and ``returns``, each ``[T, B]``.

    Raises:
        ValueError: The shapes do not agree, or ``lambda_`` is outside ``[0, 1]``.
    """
    # The arithmetic is gae_numpy's (shared with torch-free evaluators); targets carry no
    # gradient, so a round trip through numpy loses nothing.
    advantages, returns = gae_numpy(
        rewards.detach().cpu().numpy(),
        values.detach().cpu().numpy(),
        bootstrap_value.detach().cpu().numpy(),
        discounts.detach().cpu().numpy(),
        lambda_,
    )
    return AdvantageOutput(
        advantages=torch.from_numpy(advantages).to(values.device),
        returns=torch.from_numpy(returns).to(values.device),
    )


def normalize_advantages(advantages: torch.Tensor, epsilon: float = 1e-8) -> torch.Tensor:
    """Shifts and scales advantages to mean 0 and standard deviation 1 over all elements.

    A per-batch normalization common in PPO implementations (OpenAI Baselines; Engstrom et al.,
    2020, "Implementation Matters in Deep RL"): it keeps the policy step size independent of the
    reward scale. Uses the population standard deviation, so a single element normalizes to 0.

    Args:
        advantages: Any shape, typically ``[B]`` or ``[T, B]``; at least one element.
        epsilon: Added to the standard deviation, so constant advantages map to 0, not nan.

    Returns:
        Same shape as ``advantages``.

    Raises:
        ValueError: ``advantages`` is empty or ``epsilon`` is negative.
    """
    if advantages.numel() == 0:
        raise ValueError("normalize_advantages: advantages is empty")
    if not epsilon >= 0.0:
        raise ValueError(f"normalize_advantages: epsilon must be >= 0, got {epsilon}")
    mean = advantages.mean()
    std = advantages.std(correction=0)
    return (advantages - mean) / (std + epsilon)
