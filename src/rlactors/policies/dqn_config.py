"""DQNPolicyConfig: the Q-network and how it acts, importable without torch.

Evaluator processes build their policy copy from it (see :class:`~rlactors.policies.NumpyQPolicy`)
and never import torch; :class:`~rlactors.policies.DQNPolicy` is built from it too. What the
learner step needs is :class:`~rlactors.learners.dqn_config.DQNLearnerConfig`'s.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlactors.envs.observations import DEFAULT_MASK_KEY, ObservationLayout
from rlactors.errors import SpaceError
from rlactors.networks.spec import NetworkSpec, q_network_spec

#: Columns :meth:`DQNLearner.learn` needs (see :class:`rlactors.core.SampleBatch`).
REQUIRED_COLUMNS = ("obs", "actions", "rewards", "next_obs", "discounts")


@dataclass(frozen=True)
class DQNPolicyConfig:
    """Hyperparameters of :class:`DQNPolicy` and :class:`NumpyQPolicy`: the network, acting."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    """Widths of the ReLU MLP layers; empty for a linear Q-function."""

    dueling: bool = True
    """Dueling head, ``Q = V + Adv - mean(Adv)`` (Wang et al., 2016)."""

    initial_epsilon: float = 0.0
    """Probability of a uniformly random action in ``act(explore=True)`` until it is set."""

    encoder: Literal["auto", "flat", "cnn"] = "auto"
    """How the network reads observations: ``auto`` picks ``cnn`` for image-shaped Box
    observations and ``flat`` (Box parts flattened, Discrete parts one-hot) otherwise."""

    action_mask_key: str = DEFAULT_MASK_KEY
    """Dict observation key holding the legal actions (1 = legal): greedy actions, exploration
    and bootstrap targets range over legal actions only."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        if not all(isinstance(size, int) and size > 0 for size in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive integers, got {self.hidden_sizes!r}")
        check_epsilon("initial_epsilon", self.initial_epsilon)
        if self.encoder not in ("auto", "flat", "cnn"):
            raise ValueError(f"encoder must be 'auto', 'flat' or 'cnn', got {self.encoder!r}")
        if not self.action_mask_key:
            raise ValueError("action_mask_key must name a Dict observation key, got ''")

    def network_spec(
        self, observation_space: gym.Space[Any], action_space: gym.Space[Any], owner: str
    ) -> NetworkSpec:
        """The Q-network for these spaces (see :func:`rlactors.networks.q_network_spec`).

        Raises:
            SpaceError: The actions are not Discrete, the observations have no layout, or an
                action mask does not fit the actions; the message names ``owner``.
        """
        discrete = check_q_spaces(owner, observation_space, action_space)
        return q_network_spec(
            observation_space,
            int(discrete.n),
            hidden_sizes=self.hidden_sizes,
            dueling=self.dueling,
            mask_key=self.action_mask_key,
            encoder=self.encoder,
        )


def check_epsilon(name: str, value: float) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a probability in ``[0, 1]``."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def check_q_spaces(
    owner: str, observation_space: gym.Space[Any], action_space: gym.Space[Any]
) -> gym.spaces.Discrete:
    """Checks the action space a Q-network policy handles: Discrete (observations of any
    space with a layout, :class:`~rlactors.envs.observations.ObservationLayout`).

    Returns:
        The action space, typed as what it was checked to be.

    Raises:
        SpaceError: Actions of another kind; the message names ``owner`` and the space.
    """
    del observation_space  # any layout; the network spec checks it
    if not isinstance(action_space, gym.spaces.Discrete):
        raise SpaceError(f"{owner} needs Discrete actions, got {action_space}")
    return action_space


def epsilon_greedy(
    q_values: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    action_start: int,
    legal: np.ndarray | None = None,
) -> np.ndarray:
    """Epsilon-greedy actions from ``[B, A]`` Q-values: each row's argmax (ties to the lowest
    action) or, with probability ``epsilon``, a uniformly random action (no draws at 0).

    Args:
        q_values: ``[B, A]``; with a mask, illegal actions' values are already
            :data:`~rlactors.networks.spec.MASKED`, so the argmax is legal.
        epsilon: Probability of a random action per row.
        rng: The exploration stream.
        action_start: The Discrete space's ``start``.
        legal: ``[B, A]`` bool legal actions, or None (all legal): random actions are drawn
            uniformly among the legal ones.

    Returns:
        ``[B]`` int64 actions of a ``Discrete(A, start=action_start)`` space.
    """
    actions: np.ndarray = q_values.argmax(axis=1)
    if epsilon > 0.0:
        batch, num_actions = q_values.shape
        random_rows = rng.random(batch) < epsilon
        if legal is None:
            random_actions = rng.integers(num_actions, size=batch)
        else:
            # The argmax of uniform noise over the legal entries is uniform among them.
            random_actions = (rng.random((batch, num_actions)) * legal).argmax(axis=1)
        actions = np.where(random_rows, random_actions, actions)
    result: np.ndarray = actions.astype(np.int64) + action_start
    return result


class EpsilonGreedy(abc.ABC):
    """Epsilon-greedy acting over :meth:`q_values`: what :class:`~rlactors.policies.DQNPolicy`,
    :class:`~rlactors.policies.NumpyQPolicy` and the policy server's
    :class:`~rlactors.inference.QServerClient` share, so that all three explore alike (the
    same draws from the same stream, illegal actions never explored).

    A subclass sets ``_epsilon`` (checked) and ``_rng`` (its exploration stream) and gives
    :meth:`q_values` and :meth:`_acting_layout`.
    """

    _epsilon: float
    _rng: np.random.Generator

    @abc.abstractmethod
    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """``[B, *obs_shape]`` observations -> ``[B, A]`` float32 Q-values (column ``i`` is
        action ``start + i``; illegal actions already :data:`~rlactors.networks.spec.MASKED`)."""

    @abc.abstractmethod
    def _acting_layout(self) -> tuple[ObservationLayout, int]:
        """The observations' layout (where an action mask is read from) and the Discrete
        action space's ``start``."""

    @property
    def epsilon(self) -> float:
        """Probability of a uniformly random (legal) action when acting with ``explore=True``."""
        return self._epsilon

    @epsilon.setter
    def epsilon(self, value: float) -> None:
        check_epsilon("epsilon", value)
        self._epsilon = float(value)

    def set_epsilon(self, epsilon: float) -> None:
        """Sets :attr:`epsilon` (a method, so it can be sent as an actor message).

        Raises:
            ValueError: ``epsilon`` is outside ``[0, 1]``.
        """
        self.epsilon = epsilon

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Epsilon-greedy actions.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: With probability :attr:`epsilon` per row take a uniformly random action
                (a legal one, with an action mask); False: always greedy (ties go to the
                lowest action).

        Returns:
            ``[B]`` int64 actions from the action space.
        """
        epsilon = self._epsilon if explore else 0.0
        obs = np.asarray(obs)
        layout, start = self._acting_layout()
        legal = layout.mask(obs) if epsilon > 0.0 else None
        return epsilon_greedy(self.q_values(obs), epsilon, self._rng, start, legal)
