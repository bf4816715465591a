"""What an evaluator acts through: the seed's ``a = ev.policy_actor(s)`` as a seam.

An evaluator does not care where its actions come from. By default it builds a local copy of
the learner's policy in numpy (:class:`~rlactors.policies.NumpyQPolicy`,
:class:`~rlactors.policies.NumpyActorCriticPolicy`), which is what makes sampling fast for
small networks (no message per step, no torch in the process). Given any object with the
methods below instead, it acts through that object: a client of a policy-server actor that
batches the requests of many evaluators, a scripted or frozen opponent, a torch policy for a
network too large for numpy. The protocols name exactly what each evaluator calls.

Usage::

    evaluator = DQNEvaluator(config, index=0, policy=my_acting_policy)
    spawn(DQNEvaluator, config, index=0, policy=my_acting_policy)   # it travels with the spec
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np

from rlactors.core import PolicyWeights, SampleBatch, Weights
from rlactors.policies.actor_critic_config import ActionInfo


@runtime_checkable
class QActing(Protocol):
    """What :class:`~rlactors.evaluators.DQNEvaluator` acts through (an epsilon-greedy Q
    policy; ``NumpyQPolicy`` is one)."""

    @property
    def epsilon(self) -> float:
        """The probability of a random (legal) action when exploring."""
        ...

    def set_epsilon(self, epsilon: float) -> None:
        """Sets :attr:`epsilon`."""
        ...

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """``[B, *obs_shape]`` observations -> ``[B]`` actions."""
        ...

    def compute_td_error(self, batch: SampleBatch) -> np.ndarray:
        """``[B]`` TD errors of n-step transitions (Ape-X's initial priorities)."""
        ...

    def get_weights(self) -> Weights:
        """The weights acted with."""
        ...

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads the learner's weights."""
        ...


@runtime_checkable
class ActorCriticActing(Protocol):
    """What :class:`~rlactors.evaluators.ActorCriticEvaluator` acts through (a stochastic
    actor with a critic; ``NumpyActorCriticPolicy`` is one)."""

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Actions for the env (greedy evaluation calls it with ``explore=False``)."""
        ...

    def act_with_info(self, obs: np.ndarray, *, explore: bool = True) -> ActionInfo:
        """Sampled actions with their log-probs and the critic's values."""
        ...

    def value(self, obs: np.ndarray) -> np.ndarray:
        """``[B]`` critic values (the bootstrap value of a rollout's last state)."""
        ...

    def clip_actions(self, actions: np.ndarray) -> np.ndarray:
        """Sampled actions as the env takes them (Box actions clipped to the space)."""
        ...

    def get_weights(self) -> Weights:
        """The weights acted with."""
        ...

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads the learner's weights."""
        ...


def weights_of(
    weights: PolicyWeights, policy_id: str, holder: str
) -> Mapping[str, np.ndarray] | None:
    """An evaluator's share of a ``{policy id: weights}`` broadcast.

    Args:
        weights: The broadcast.
        policy_id: The id of the policy ``holder`` acts with.
        holder: Who asks, for the message (e.g. ``"DQNEvaluator 3"``).

    Returns:
        ``weights[policy_id]``, or None when the broadcast has none for it (it keeps its own).

    Raises:
        ValueError: The broadcast names a policy ``holder`` does not act with (weights for
            the wrong run, or a plain weights dict not keyed by policy id).
    """
    unknown = [key for key in weights if key != policy_id]
    if unknown:
        raise ValueError(
            f"{holder} acts with policy {policy_id!r} and was sent weights for {unknown[:3]!r}; "
            f"weights travel keyed by policy id: {{{policy_id!r}: policy.get_weights()}}"
        )
    return weights.get(policy_id)
