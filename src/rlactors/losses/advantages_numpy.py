"""GAE on numpy arrays: the one implementation, for processes without torch.

Evaluators compute their rollouts' advantages where they sample, and they act with numpy
policies so that their processes need not import torch (~1.2 s and ~200 MB each). The torch
function :func:`rlactors.losses.generalized_advantage_estimation` converts and calls this one,
so learners and evaluators share the arithmetic. Row layout and truncation: see
:mod:`rlactors.losses.advantages`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class _Shaped(Protocol):
    @property
    def shape(self) -> Any: ...


def check_time_major(where: str, bootstrap_value: _Shaped, **sequences: _Shaped) -> None:
    """Checks that every sequence is ``[T, B]`` and ``bootstrap_value`` is ``[B]`` (arrays or
    tensors).

    Raises:
        ValueError: A shape differs; the message names the argument and the function.
    """
    first_name, first = next(iter(sequences.items()))
    shape = tuple(first.shape)
    if len(shape) != 2:
        raise ValueError(f"{where}: {first_name} must be [T, B], got shape {shape}")
    for name, value in sequences.items():
        if tuple(value.shape) != shape:
            raise ValueError(
                f"{where}: {name} must be [T, B]={shape} like {first_name}, "
                f"got shape {tuple(value.shape)}"
            )
    if tuple(bootstrap_value.shape) != shape[1:]:
        raise ValueError(
            f"{where}: bootstrap_value must be [B]=[{shape[1]}], "
            f"got shape {tuple(bootstrap_value.shape)}"
        )


def gae_numpy(
    rewards: np.ndarray,
    values: np.ndarray,
    bootstrap_value: np.ndarray,
    discounts: np.ndarray,
    lambda_: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimation on numpy arrays; see
    :func:`rlactors.losses.generalized_advantage_estimation` for the definition.

    Args:
        rewards: ``[T, B]`` rewards.
        values: ``[T, B]`` ``V(s_t)``.
        bootstrap_value: ``[B]`` ``V(s_T)``.
        discounts: ``[T, B]`` ``gamma * (1 - terminated)``.
        lambda_: The GAE lambda, in ``[0, 1]``.

    Returns:
        ``(advantages, returns)``, each ``[T, B]`` of ``values``' floating dtype.

    Raises:
        ValueError: The shapes do not agree, or ``lambda_`` is outside ``[0, 1]``.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(
            f"generalized_advantage_estimation: lambda_ must be in [0, 1], got {lambda_}"
        )
    check_time_major(
        "generalized_advantage_estimation",
        bootstrap_value,
        rewards=rewards,
        values=values,
        discounts=discounts,
    )
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.dtype(np.float32)
    values = values.astype(dtype, copy=False)
    next_values = np.concatenate([values[1:], bootstrap_value.astype(dtype)[None]], axis=0)
    deltas = rewards.astype(dtype) + discounts.astype(dtype) * next_values - values
    decay = discounts.astype(dtype) * dtype.type(lambda_)
    # A backward loop over T of [B] vector ops: rollouts are short, and a closed form via
    # cumulative products would divide by discounts that may be 0.
    advantages = np.empty_like(deltas)
    next_advantage = np.zeros(deltas.shape[1], dtype)
    for t in range(deltas.shape[0] - 1, -1, -1):
        next_advantage = deltas[t] + decay[t] * next_advantage
        advantages[t] = next_advantage
    return advantages, advantages + values
