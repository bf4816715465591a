"""DQNLearnerConfig: the hyperparameters of :class:`~rlactors.learners.DQNLearner`'s step.

Apart from :class:`~rlactors.policies.DQNPolicyConfig` (the network and acting), so what only
acts (an evaluator's policy copy) holds none of it. Plain values only (no torch): the
algorithms build it from their configs without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlactors.validation import check_positive_ints, check_positive_numbers


@dataclass(frozen=True)
class DQNLearnerConfig:
    """The loss, Adam and the target network of :class:`~rlactors.learners.DQNLearner`."""

    double_q: bool = True
    """Double-Q targets: online net selects, target net evaluates (van Hasselt et al., 2016)."""

    learning_rate: float = 1e-3
    """Adam step size."""

    adam_epsilon: float = 1e-8
    """Adam's denominator epsilon (larger values damp updates of rarely-seen features)."""

    huber_delta: float | None = 1.0
    """TD error (in return units) where the Huber loss turns linear; None for squared loss."""

    max_grad_norm: float | None = 10.0
    """Clip the global L2 norm of the gradient to this; None to skip clipping."""

    target_update_period_learner_steps: int = 500
    """Update the target network every this many calls to :meth:`DQNLearner.learn`."""

    target_update_tau: float = 1.0
    """Weight of the online net in each target update: 1.0 is a hard copy (Mnih et al., 2015),
    smaller values a soft (Polyak) update ``target <- tau * online + (1 - tau) * target``."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        check_positive_numbers(self, "learning_rate", "adam_epsilon")
        check_positive_numbers(self, "huber_delta", "max_grad_norm", none_ok=True)
        check_positive_ints(self, "target_update_period_learner_steps")
        if not 0.0 < self.target_update_tau <= 1.0:
            raise ValueError(
                "DQNLearnerConfig.target_update_tau must be in (0, 1], "
                f"got {self.target_update_tau}"
            )
