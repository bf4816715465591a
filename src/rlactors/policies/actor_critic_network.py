"""The network of :class:`rlactors.policies.ActorCriticPolicy`: MLP actor and critic.

Shapes use ``B`` for the batch, ``D`` for the flattened observation size, ``A`` for the number of
discrete actions and ``K`` for the number of action dimensions of a Box space. Initialisation
draws from torch's global generator; :class:`~rlactors.policies.ActorCriticPolicy` builds the
network inside ``torch.random.fork_rng()`` with a derived seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from rlactors.policies.networks import mlp

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

#: Torso nonlinearities by config name.
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


class ActorCriticNetwork(nn.Module):
    """Actor and critic MLPs: flattened observations ``[B, D]`` -> (actor output, values ``[B]``).

    The actor output is ``[B, A]`` logits for a categorical actor or ``[B, K]`` means for a
    Gaussian one, whose log standard deviation is the parameter ``log_std`` ``[K]``.
    """

    def __init__(
        self,
        obs_size: int,
        actor_size: int,
        hidden_sizes: Sequence[int] = (64, 64),
        shared_torso: bool = False,
        activation: type[nn.Module] = nn.Tanh,
        orthogonal_init: bool = True,
        initial_log_std: float | None = None,
    ) -> None:
        """Builds the torso(s), the heads and, for a Gaussian actor, ``log_std``.

        Args:
            obs_size: ``D``, features in one flattened observation.
            actor_size: ``A`` (number of discrete actions) or ``K`` (action dimensions).
            hidden_sizes: Widths of the torso layers; empty for linear heads on the observation.
            shared_torso: One torso for both heads instead of one each.
            activation: Module class applied after each torso layer.
            orthogonal_init: Orthogonal weights (gains sqrt(2) torso, 0.01 actor head, 1 critic
                head) and zero biases, as OpenAI Baselines; False keeps torch's default.
            initial_log_std: For a Gaussian actor, the initial value of every entry of
                ``log_std``; None for a categorical actor (no ``log_std``).
        """
        super().__init__()
        sizes = tuple(hidden_sizes)
        features = sizes[-1] if sizes else obs_size
        self.shared_torso = shared_torso
        self.policy_torso = mlp(obs_size, sizes, activation=activation)
        # With a shared torso there is no value_torso at all (not an alias of policy_torso), so
        # every parameter appears once in state_dict() and get_weights().
        self.value_torso: nn.Sequential | None = (
            None if shared_torso else mlp(obs_size, sizes, activation=activation)
        )
        self.policy_head = nn.Linear(features, actor_size)
        self.value_head = nn.Linear(features, 1)
        self.log_std: nn.Parameter | None = (
            None
            if initial_log_std is None
            else nn.Parameter(torch.full((actor_size,), float(initial_log_std)))
        )
        if orthogonal_init:
            for torso in (self.policy_torso, self.value_torso):
                if torso is not None:
                    _orthogonal_init_(torso, gain=math.sqrt(2.0))
            # A small actor head starts near-uniform / near-zero-mean (Andrychowicz et al., 2021,
            # "What Matters in On-Policy RL"); the critic head keeps unit scale.
            _orthogonal_init_(self.policy_head, gain=0.01)
            _orthogonal_init_(self.value_head, gain=1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor output and values.

        Args:
            obs: ``[B, D]`` float observations.

        Returns:
            ``([B, A or K] logits or means, [B] values)``.
        """
        policy_features: torch.Tensor = self.policy_torso(obs)
        value_features = policy_features if self.value_torso is None else self.value_torso(obs)
        actor_out: torch.Tensor = self.policy_head(policy_features)
        values: torch.Tensor = self.value_head(value_features).squeeze(-1)
        return actor_out, values

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B]`` values of ``[B, D]`` observations (skips the actor head)."""
        torso = self.policy_torso if self.value_torso is None else self.value_torso
        values: torch.Tensor = self.value_head(torso(obs)).squeeze(-1)
        return values

    # The action distribution, written out rather than through torch.distributions: fewer checks
    # and allocations on the acting path (the tests compare against torch.distributions).

    def sample(self, actor_out: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Samples actions: ``[B]`` int64 indices, or ``[B, K]`` float (unclipped) Gaussian draws.

        Args:
            actor_out: ``[B, A]`` logits or ``[B, K]`` means, from :meth:`forward`.
            generator: The random stream to draw from.
        """
        if self.log_std is not None:
            noise = torch.randn(actor_out.shape, generator=generator)
            return actor_out + self.log_std.exp() * noise
        probs = torch.softmax(actor_out, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)

    def mode(self, actor_out: torch.Tensor) -> torch.Tensor:
        """The most likely actions: argmax of the logits ``[B]``, or the means ``[B, K]``."""
        return actor_out if self.log_std is not None else actor_out.argmax(dim=-1)

    def log_prob_entropy(
        self, actor_out: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of ``actions`` and entropies of the distributions.

        Args:
            actor_out: ``[B, A]`` logits or ``[B, K]`` means, from :meth:`forward`.
            actions: ``[B]`` int64 indices in ``[0, A)``, or ``[B, K]`` float actions.

        Returns:
            ``(log_probs [B], entropy [B])``.
        """
        if self.log_std is not None:
            log_std = self.log_std.expand_as(actor_out)
            z = (actions - actor_out) / log_std.exp()
            # Independent action dimensions: the joint log-prob and entropy are sums over them.
            log_probs = (-0.5 * z.square() - log_std - _HALF_LOG_2PI).sum(-1)
            entropy = (0.5 + _HALF_LOG_2PI + log_std).sum(-1)
            return log_probs, entropy
        all_log_probs = torch.log_softmax(actor_out, dim=-1)
        log_probs = all_log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        entropy = -(all_log_probs.exp() * all_log_probs).sum(-1)
        return log_probs, entropy


def _orthogonal_init_(module: nn.Module, gain: float) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.orthogonal_(layer.weight, gain=gain)
            nn.init.zeros_(layer.bias)
