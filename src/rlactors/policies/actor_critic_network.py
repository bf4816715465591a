"""The network of :class:`rlactors.policies.ActorCriticPolicy`: a spec'd actor and critic.

The network itself is a :class:`~rlactors.networks.spec.NetworkSpec` (from
:func:`~rlactors.networks.spec.actor_critic_spec`) run by
:class:`~rlactors.networks.torch_module.SpecNetwork`; this module adds the action distribution.
Shapes use ``B`` for the batch, ``A`` for the number of discrete actions and ``K`` for the number
of action dimensions of a Box space. Initialisation draws from torch's global generator;
:class:`~rlactors.policies.ActorCriticPolicy` builds the network inside
``torch.random.fork_rng()`` with a derived seed.
"""

from __future__ import annotations

import math

import torch

from rlactors.networks.spec import NetworkSpec
from rlactors.networks.torch_module import SpecNetwork

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class ActorCriticNetwork(SpecNetwork):
    """An actor-critic spec as a module: observations -> (actor output, values ``[B]``).

    The actor output is ``[B, A]`` logits for a categorical actor (illegal actions at
    :data:`~rlactors.networks.spec.MASKED` under an action mask) or ``[B, K]`` means for a
    Gaussian one, whose log standard deviation is the free parameter ``log_std`` ``[K]``.

    Args:
        spec: An :func:`~rlactors.networks.spec.actor_critic_spec`.
    """

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__(spec)
        self.actor_output = spec.heads[0].output
        self.log_std: torch.nn.Parameter | None = (
            self.free("log_std") if self.actor_output == "mean" else None
        )

    def forward(  # type: ignore[override]
        self, obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor output and values.

        Args:
            obs: ``[B, *layout.shape]`` float observations.

        Returns:
            ``([B, A or K] logits or means, [B] values)``.
        """
        out = super().forward(obs)
        return out[self.actor_output], out["value"]

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B]`` values of observations (skips the actor head)."""
        return super().forward(obs, ("value",))["value"]

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
