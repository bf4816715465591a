"""PPO's learner step: epochs of shuffled minibatches of the clipped objective on one batch.

Schulman et al. (2017), algorithm 1: "optimize surrogate L wrt theta, with K epochs and
minibatch size M <= NT". The loss is :func:`rlactors.losses.ppo_loss`; this module only shuffles,
slices and steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlactors.core import SampleBatch
from rlactors.learners.actor_critic import ActorCriticLearner
from rlactors.losses import normalize_advantages, ppo_loss

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
    """Callable on a batch: runs :class:`PPOLearnerConfig`'s epochs with ``learner``'s Adam.

    Args:
        learner: The actor-critic learner whose policy PPO trains (its Adam steps; its
            ``max_grad_norm`` clips).
        config: Epochs, minibatches, clipping.
        seed: Seed of the minibatch shuffling.
    """

    def __init__(self, learner: ActorCriticLearner, config: PPOLearnerConfig, seed: int) -> None:
        self.learner = learner
        self.policy = learner.policy
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
        columns = {
            name: torch.as_tensor(np.asarray(batch[name]))
            for name in ("obs", "actions", "log_probs", "values", "advantages", "returns")
        }
        # Each step's statistics stay tensors until the end: converted together, once.
        steps: list[torch.Tensor] = []
        if c.minibatch_size >= size:
            # One minibatch, the whole batch, every epoch: a shuffle would only reorder the rows
            # of a mean, and its advantages normalize to the same numbers each time.
            if c.normalize_advantages and size > 1:
                columns["advantages"] = normalize_advantages(columns["advantages"])
            for _ in range(c.num_epochs):
                steps.append(self._minibatch_step(columns, normalize=False))
        else:
            for _ in range(c.num_epochs):
                order = torch.from_numpy(self._rng.permutation(size))
                for begin in range(0, size, c.minibatch_size):
                    take = order[begin : begin + c.minibatch_size]
                    rows = {k: v[take] for k, v in columns.items()}
                    steps.append(self._minibatch_step(rows, normalize=c.normalize_advantages))
        means = torch.stack(steps).mean(dim=0).tolist()
        return dict(zip(_STAT_NAMES, means, strict=True))

    def _minibatch_step(self, rows: dict[str, torch.Tensor], normalize: bool) -> torch.Tensor:
        """One Adam step on ``rows`` (normalizing their advantages first if ``normalize``);
        returns the :data:`_STAT_NAMES` as a ``[7]`` tensor."""
        c = self.config
        advantages = rows["advantages"]
        if normalize and len(advantages) > 1:
            advantages = normalize_advantages(advantages)
        log_probs, entropy, values = self.policy.evaluate_actions(rows["obs"], rows["actions"])
        if c.entropy_coef == 0.0:
            entropy = entropy.detach()  # a statistic only: no backward pass through it
        out = ppo_loss(
            log_probs,
            rows["log_probs"],
            advantages,
            values,
            rows["values"],
            rows["returns"],
            entropy,
            clip_epsilon=self.clip_epsilon,
            value_clip_epsilon=c.value_clip_epsilon,
            value_coef=c.value_coef,
            entropy_coef=c.entropy_coef,
        )
        mean_loss = out.loss.mean()
        grad_norm = self.learner.gradient_step(mean_loss)
        return torch.stack(
            [
                mean_loss.detach(),
                out.policy_loss.detach().mean(),
                out.value_loss.detach().mean(),
                out.entropy.detach().mean(),  # detached: the step's graph is freed now
                out.approx_kl.mean(),
                out.clip_fraction.mean(),
                torch.as_tensor(grad_norm, dtype=mean_loss.dtype),
            ]
        )


#: The statistics :meth:`PPOLearner.__call__` returns, in ``_minibatch_step``'s order.
_STAT_NAMES = (
    "loss",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "grad_norm",
)
