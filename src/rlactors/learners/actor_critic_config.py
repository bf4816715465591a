"""ActorCriticLearnerConfig: the hyperparameters of
:class:`~rlactors.learners.ActorCriticLearner`'s step (Adam, clipping, the A2C loss weights).

Apart from :class:`~rlactors.policies.ActorCriticConfig` (the networks and acting), so what
only acts holds none of it. Plain values only (no torch): the algorithms build it from their
configs, and A3C's evaluators, which take the learner's gradients, receive it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlactors.validation import check_non_negative_numbers, check_positive_numbers


@dataclass(frozen=True)
class ActorCriticLearnerConfig:
    """Adam, gradient clipping and the A2C loss of :class:`~rlactors.learners.ActorCriticLearner`
    (PPO's and V-trace's losses bring their own weights; they step through its Adam)."""

    learning_rate: float = 7e-4
    """Adam step size (at the start: a schedule may change it, ``set_learning_rate``)."""

    adam_epsilon: float = 1e-5
    """Adam's denominator epsilon."""

    value_coef: float = 0.5
    """Weight of the value loss in :meth:`ActorCriticLearner.learn`."""

    entropy_coef: float = 0.01
    """Weight of the entropy bonus in :meth:`ActorCriticLearner.learn`."""

    max_grad_norm: float | None = 0.5
    """Clip the global L2 norm of the gradient to this; None to skip clipping."""

    normalize_advantages: bool = False
    """Normalize the batch's advantages to mean 0, std 1 in :meth:`ActorCriticLearner.learn`."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        check_positive_numbers(self, "learning_rate", "adam_epsilon")
        check_non_negative_numbers(self, "value_coef", "entropy_coef")
        check_positive_numbers(self, "max_grad_norm", none_ok=True)
