"""PPO's learner step: epochs of shuffled minibatches of the clipped objective on one batch.

Schulman et al. (2017), algorithm 1: "optimize surrogate L wrt theta, with K epochs and
minibatch size M <= NT". The loss is :func:`rlactors.losses.ppo_loss`; this module only shuffles,
slices and steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlactors.core import SampleBatch
from rlactors.losses import normalize_advantages, ppo_loss
from rlactors.policies import ActorCriticPolicy

#: Columns a PPO batch needs (an ``ActorCriticEvaluator`` rollout with GAE).
PPO_COLUMNS = ("obs", "actions", "log_probs", "values", "advantages", "returns")


@dataclass(frozen=True)
class PPOLearnerConfig:
    """The epochs, minibatches and clipping of :class:`PPOLearner`."""

    num_epochs: int = 10
    """Passes over each batch."""

    minibatch_size: int = 64
    """Rows per gradient step (the batch's last, smaller minibatch is kept)."""

    clip_epsilon: float = 0.2
    """Ratio clip range."""

    value_clip_epsilon: float | None = None
    """Value clip range in return units; None for none (see ``ppo_loss``)."""

    value_coef: float = 0.5
    """Weight of the value loss."""

    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""

    normalize_advantages: bool = True
    """Normalize advantages per minibatch (as SB3 and OpenAI Baselines do)."""


class PPOLearner:
    """Callable on a batch: runs :class:`PPOLearnerConfig`'s epochs on ``policy``.

    Args:
        policy: The learner policy (its Adam steps; its ``max_grad_norm`` clips).
        config: Epochs, minibatches, clipping.
        seed: Seed of the minibatch shuffling.
    """

    def __init__(self, policy: ActorCriticPolicy, config: PPOLearnerConfig, seed: int) -> None:
        self.policy = policy
        self.config = config
        self.clip_epsilon = config.clip_epsilon
        self._rng = np.random.default_rng(seed)

    def __call__(self, batch: SampleBatch) -> dict[str, float]:
        """Learn on ``batch``.

        Args:
            batch: The :data:`PPO_COLUMNS`, ``N`` rows.

        Returns:
            Means over every minibatch step: ``loss``, ``policy_loss``, ``value_loss``,
            ``entropy``, ``approx_kl``, ``clip_fraction`` and ``grad_norm``.

        Raises:
            ValueError: A column is missing.
        """
        missing = [c for c in PPO_COLUMNS if c not in batch]
        if missing:
            raise ValueError(f"PPOLearner: batch lacks column(s) {missing}; it has {list(batch)}")
        c = self.config
        size = len(batch)
        tensors = {
            name: torch.as_tensor(np.asarray(batch[name]))
            for name in ("log_probs", "values", "advantages", "returns")
        }
        obs, actions = np.asarray(batch["obs"]), np.asarray(batch["actions"])
        sums: dict[str, float] = {}
        steps = 0
        for _ in range(c.num_epochs):
            order = self._rng.permutation(size)
            for begin in range(0, size, c.minibatch_size):
                index = order[begin : begin + c.minibatch_size]
                stats = self._minibatch_step(obs[index], actions[index], tensors, index)
                for key, value in stats.items():
                    sums[key] = sums.get(key, 0.0) + value
                steps += 1
        return {key: value / steps for key, value in sums.items()}

    def _minibatch_step(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        tensors: dict[str, torch.Tensor],
        index: np.ndarray,
    ) -> dict[str, Any]:
        c = self.config
        take = torch.from_numpy(index)
        advantages = tensors["advantages"][take]
        if c.normalize_advantages and len(index) > 1:
            advantages = normalize_advantages(advantages)
        log_probs, entropy, values = self.policy.evaluate_actions(obs, actions)
        out = ppo_loss(
            log_probs,
            tensors["log_probs"][take],
            advantages,
            values,
            tensors["values"][take],
            tensors["returns"][take],
            entropy,
            clip_epsilon=self.clip_epsilon,
            value_clip_epsilon=c.value_clip_epsilon,
            value_coef=c.value_coef,
            entropy_coef=c.entropy_coef,
        )
        grad_norm = self.policy.gradient_step(out.loss.mean())
        return {
            "loss": float(out.loss.detach().mean()),
            "policy_loss": float(out.policy_loss.detach().mean()),
            "value_loss": float(out.value_loss.detach().mean()),
            "entropy": float(out.entropy.detach().mean()),
            "approx_kl": float(out.approx_kl.mean()),
            "clip_fraction": float(out.clip_fraction.mean()),
            "grad_norm": grad_norm,
        }
