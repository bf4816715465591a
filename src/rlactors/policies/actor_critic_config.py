"""ActorCriticConfig: the hyperparameters of :class:`~rlactors.policies.ActorCriticPolicy`.

Plain values only (no torch), so the config pickles to any actor and the CLI can read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: Nonlinearities an :class:`ActorCriticConfig` may name.
ACTIVATION_NAMES = ("relu", "tanh")


@dataclass(frozen=True)
class ActorCriticConfig:
    """Hyperparameters of :class:`ActorCriticPolicy` (the networks and the learner step)."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    """Widths of the MLP torso layers; empty for linear actor and critic."""

    shared_torso: bool = False
    """One torso feeding both heads (A3C's network) instead of one torso each (PPO's)."""

    activation: Literal["tanh", "relu"] = "tanh"
    """Nonlinearity after each torso layer."""

    orthogonal_init: bool = True
    """Orthogonal initialisation with gains sqrt(2) (torso), 0.01 (actor head) and 1 (critic
    head), zero biases, as in OpenAI Baselines (Engstrom et al., 2020); False: torch's default."""

    initial_log_std: float = 0.0
    """Initial log standard deviation of the Gaussian actor (Box action spaces), in log action
    units; the same for every action dimension."""

    learning_rate: float = 7e-4
    """Adam step size."""

    adam_epsilon: float = 1e-5
    """Adam's denominator epsilon."""

    value_coef: float = 0.5
    """Weight of the value loss in :meth:`ActorCriticPolicy.learn`."""

    entropy_coef: float = 0.01
    """Weight of the entropy bonus in :meth:`ActorCriticPolicy.learn`."""

    max_grad_norm: float | None = 0.5
    """Clip the global L2 norm of the gradient to this; None to skip clipping."""

    normalize_advantages: bool = False
    """Normalize the batch's advantages to mean 0, std 1 in :meth:`ActorCriticPolicy.learn`."""

    normalize_observations: bool = False
    """Feed the networks ``(obs - mean) / std`` (clipped to +-10) with running statistics the
    policy holds (:attr:`ActorCriticPolicy.obs_stats`); callers always pass raw observations.
    The statistics travel with :meth:`ActorCriticPolicy.get_weights` and are updated only by
    :meth:`ActorCriticPolicy.merge_obs_stats`, so acting copies use the learner's numbers."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        if not all(isinstance(size, int) and size > 0 for size in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive integers, got {self.hidden_sizes!r}")
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATION_NAMES)}, got {self.activation!r}"
            )
        if not math.isfinite(self.initial_log_std):
            raise ValueError(f"initial_log_std must be finite, got {self.initial_log_std}")
        _check_positive("learning_rate", self.learning_rate)
        _check_positive("adam_epsilon", self.adam_epsilon)
        for name in ("value_coef", "entropy_coef"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ValueError(f"{name} must be >= 0 and finite, got {value}")
        if self.max_grad_norm is not None:
            _check_positive("max_grad_norm", self.max_grad_norm)


def _check_positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value}")
