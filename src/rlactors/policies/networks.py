"""Torch network builders for value-based policies: an MLP torso and a (dueling) Q head.

Shapes use ``B`` for the batch, ``D`` for the flattened observation size and ``A`` for the number
of discrete actions. Parameter initialisation uses torch's global generator: callers that need a
seeded network build it inside ``torch.random.fork_rng()`` (as :class:`DQNPolicy` does) so the
global random state is left untouched.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn


def mlp(
    input_size: int,
    hidden_sizes: Sequence[int],
    output_size: int | None = None,
    activation: type[nn.Module] = nn.ReLU,
) -> nn.Sequential:
    """A multilayer perceptron ``[B, input_size] -> [B, out]``.

    Args:
        input_size: Features per input row.
        hidden_sizes: Width of each hidden layer, each followed by ``activation``; may be empty.
        output_size: Width of a final linear layer without activation; None to end on the last
            hidden activation (a torso, whose width is then ``hidden_sizes[-1]``).
        activation: Module class applied after each hidden layer.

    Returns:
        The network as an ``nn.Sequential``.

    Raises:
        ValueError: A size is not positive.
    """
    sizes = [input_size, *hidden_sizes] + ([] if output_size is None else [output_size])
    if any(size <= 0 for size in sizes):
        raise ValueError(
            f"mlp: sizes must be positive, got input_size={input_size}, "
            f"hidden_sizes={tuple(hidden_sizes)}, output_size={output_size}"
        )
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers.append(nn.Linear(fan_in, fan_out))
        layers.append(activation())
    if output_size is not None:
        layers.pop()  # the output layer is linear: Q-values are unbounded
    return nn.Sequential(*layers)


class DuelingHead(nn.Module):
    """Dueling Q head (Wang et al., 2016): ``Q = V + (Adv - mean_a Adv)``.

    Separate value and advantage streams let the network learn how good a state is without
    having to learn the effect of every action in it. Subtracting the mean advantage (their
    equation 9) makes the split identifiable and was more stable than subtracting the max.
    """

    def __init__(self, in_features: int, num_actions: int) -> None:
        """Builds the two linear streams.

        Args:
            in_features: Width of the torso output feeding the head.
            num_actions: ``A``, the number of discrete actions.
        """
        super().__init__()
        self.value = nn.Linear(in_features, 1)
        self.advantage = nn.Linear(in_features, num_actions)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Q-values from torso features.

        Args:
            features: ``[B, in_features]``.

        Returns:
            ``[B, A]`` Q-values.
        """
        value: torch.Tensor = self.value(features)
        advantage: torch.Tensor = self.advantage(features)
        return value + advantage - advantage.mean(dim=1, keepdim=True)


class QNetwork(nn.Module):
    """An MLP Q-network: flattened observations ``[B, *obs_shape]`` -> Q-values ``[B, A]``."""

    def __init__(
        self,
        obs_size: int,
        num_actions: int,
        hidden_sizes: Sequence[int] = (64, 64),
        dueling: bool = False,
    ) -> None:
        """Builds the torso and the head.

        Args:
            obs_size: ``D``, the number of features in one flattened observation.
            num_actions: ``A``, the number of discrete actions.
            hidden_sizes: Widths of the ReLU torso layers; empty for a linear Q-function.
            dueling: Use a :class:`DuelingHead` instead of one linear layer.
        """
        super().__init__()
        self.torso = mlp(obs_size, hidden_sizes)
        features = hidden_sizes[-1] if len(hidden_sizes) else obs_size
        self.head: nn.Module = (
            DuelingHead(features, num_actions) if dueling else nn.Linear(features, num_actions)
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Q-values for a batch of observations.

        Args:
            obs: ``[B, *obs_shape]`` float observations (flattened to ``[B, D]`` here).

        Returns:
            ``[B, A]`` Q-values.
        """
        features: torch.Tensor = self.torso(obs.flatten(start_dim=1))
        q_values: torch.Tensor = self.head(features)
        return q_values
