"""ActorCriticConfig: the hyperparameters of :class:`~rlactors.policies.ActorCriticPolicy`,
and what it shares with its numpy acting copy, :class:`~rlactors.policies.NumpyActorCriticPolicy`.
What the learner step needs is
:class:`~rlactors.learners.actor_critic_config.ActorCriticLearnerConfig`'s.

Plain values only (no torch), so the config pickles to any actor and the CLI can read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import gymnasium as gym
import numpy as np

from rlactors.envs.observations import DEFAULT_MASK_KEY, ObservationLayout
from rlactors.errors import SpaceError
from rlactors.networks.spec import NetworkSpec, actor_critic_spec, encoder_spec
from rlactors.policies.normalization import RunningMeanStd

#: Prefix of the observation statistics' entries in an actor-critic policy's weights.
OBS_STATS_PREFIX = "obs_stats/"

#: Nonlinearities an :class:`ActorCriticConfig` may name.
ACTIVATION_NAMES = ("relu", "tanh")


@dataclass(frozen=True)
class ActorCriticConfig:
    """Hyperparameters of :class:`ActorCriticPolicy` and its numpy copy: the networks, acting."""

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

    normalize_observations: bool = False
    """Feed the networks ``(obs - mean) / std`` (clipped to +-10) with running statistics the
    policy holds (:attr:`ActorCriticPolicy.obs_stats`); callers always pass raw observations.
    The statistics travel with :meth:`ActorCriticPolicy.get_weights` and are updated only by
    :meth:`ActorCriticPolicy.merge_obs_stats`, so acting copies use the learner's numbers.
    Flat Box observations only: statistics of Discrete indices would be meaningless, and
    images are scaled inside the network."""

    encoder: Literal["auto", "flat", "cnn"] = "auto"
    """How the network reads observations: ``auto`` picks ``cnn`` for image-shaped Box
    observations and ``flat`` (Box parts flattened, Discrete parts one-hot) otherwise."""

    action_mask_key: str = DEFAULT_MASK_KEY
    """Dict observation key holding the legal actions (1 = legal): illegal actions' logits are
    masked, so they are never sampled and the entropy ranges over legal actions."""

    critic_only_key: str | None = None
    """A Dict observation key whose parts only the critic reads (a centralized critic: every
    role's observation, MAPPO's); the actor sees the rest. None: both read everything."""

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
        if self.encoder not in ("auto", "flat", "cnn"):
            raise ValueError(f"encoder must be 'auto', 'flat' or 'cnn', got {self.encoder!r}")
        if not self.action_mask_key:
            raise ValueError("action_mask_key must name a Dict observation key, got ''")

    def network_spec_encoder(self, observation_space: gym.Space[Any]) -> str:
        """The encoder kind (``flat`` or ``cnn``) the network would read ``observation_space``
        with."""
        return encoder_spec(
            observation_space, mask_key=self.action_mask_key, encoder=self.encoder
        ).kind

    def network_spec(self, spaces: ActorCriticSpaces) -> NetworkSpec:
        """The actor-critic network for checked spaces (:func:`check_actor_critic_spaces`)."""
        return actor_critic_spec(
            spaces.observation_space,
            spaces.actor_size,
            gaussian=spaces.gaussian,
            hidden_sizes=self.hidden_sizes,
            shared_torso=self.shared_torso,
            activation=self.activation,
            orthogonal_init=self.orthogonal_init,
            initial_log_std=self.initial_log_std,
            mask_key=self.action_mask_key,
            encoder=self.encoder,
            critic_only_key=self.critic_only_key,
        )


class ActionInfo(NamedTuple):
    """What a rollout records for each step (numpy, from ``act_with_info``).

    Attributes:
        actions: ``[B, *action_shape]`` the sampled actions, *not* clipped to a Box space: store
            these (so ``ActorCriticPolicy.evaluate_actions`` reproduces ``log_probs``) and send
            ``policy.clip_actions(actions)`` to the environment.
        log_probs: ``[B]`` float32 ``log pi(a|s)`` of ``actions``.
        values: ``[B]`` float32 ``V(s)``.
    """

    actions: np.ndarray
    log_probs: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class ActorCriticSpaces:
    """What an actor-critic policy reads off its spaces (:func:`check_actor_critic_spaces`).

    Attributes:
        observation_space: The observation space, as the env gives it.
        obs_shape: The shape of an observation as it travels (its layout's; packed rows for
            Dict and Tuple spaces).
        gaussian: A Box action space (diagonal Gaussian actor), else Discrete (categorical).
        action_shape: ``()`` for Discrete, the Box's shape otherwise.
        actor_size: Number of discrete actions, or of action dimensions.
        action_start: The Discrete space's ``start`` (the network indexes actions from 0).
    """

    observation_space: gym.Space[Any]
    obs_shape: tuple[int, ...]
    gaussian: bool
    action_shape: tuple[int, ...]
    actor_size: int
    action_start: int


def check_actor_critic_spaces(
    owner: str,
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    config: ActorCriticConfig | None = None,
) -> ActorCriticSpaces:
    """Checks the spaces an actor-critic policy handles and reads their shapes.

    Raises:
        SpaceError: Observations without a layout (or not a flat Box, with
            ``config.normalize_observations``), or actions neither Discrete nor Box; the
            message names ``owner`` and the space.
    """
    layout = ObservationLayout.of(
        observation_space, config.action_mask_key if config else DEFAULT_MASK_KEY
    )
    if config is not None and config.normalize_observations:
        # Statistics of one-hot indices would feed garbage to the encoder, and pixels are
        # already scaled inside the network (normalizing them too shrank them 255x).
        flat_box = (
            not layout.packed
            and layout.parts[0].kind == "box"
            and config.network_spec_encoder(observation_space) == "flat"
        )
        if not flat_box:
            raise SpaceError(
                f"{owner}: normalize_observations needs a flat Box observation space (not an "
                f"image for the CNN encoder), got {observation_space}"
            )
    obs_shape = layout.shape
    if isinstance(action_space, gym.spaces.Box):
        shape = tuple(action_space.shape)
        return ActorCriticSpaces(observation_space, obs_shape, True, shape, int(np.prod(shape)), 0)
    if isinstance(action_space, gym.spaces.Discrete):
        return ActorCriticSpaces(
            observation_space, obs_shape, False, (), int(action_space.n), int(action_space.start)
        )
    raise SpaceError(f"{owner} needs Discrete or Box actions, got {action_space}")


def clip_to_space(actions: np.ndarray, action_space: gym.Space[Any]) -> np.ndarray:
    """Box actions clipped to the space's bounds and cast to its dtype; others as they are.

    Args:
        actions: ``[B, *action_shape]`` actions, e.g. :attr:`ActionInfo.actions`.

    Returns:
        The actions to send to the environment, same shape.
    """
    if not isinstance(action_space, gym.spaces.Box):
        return np.asarray(actions)
    clipped: np.ndarray = np.clip(actions, action_space.low, action_space.high)
    return clipped.astype(action_space.dtype)


def join_weights(
    network: dict[str, np.ndarray], obs_stats: RunningMeanStd | None
) -> dict[str, np.ndarray]:
    """An actor-critic policy's weights: ``network``'s arrays plus, when observations are
    normalized, ``obs_stats``'s state under ``OBS_STATS_PREFIX`` (what :func:`split_weights`
    splits)."""
    if obs_stats is not None:
        network.update({OBS_STATS_PREFIX + k: v for k, v in obs_stats.get_state().items()})
    return network


def split_weights(
    weights: Mapping[str, np.ndarray], normalizing: bool, obs_shape: tuple[int, ...]
) -> tuple[dict[str, np.ndarray], RunningMeanStd | None]:
    """Splits an actor-critic policy's weights into the network's arrays and the observation
    statistics (``OBS_STATS_PREFIX`` entries), checking that the statistics fit.

    Args:
        weights: ``get_weights()`` of an actor-critic policy.
        normalizing: Whether the receiving policy normalizes observations (and so expects
            statistics).
        obs_shape: The receiving policy's observation shape.

    Returns:
        ``(network arrays, statistics or None)``.

    Raises:
        ValueError: Statistics are missing, unexpected, malformed or of another shape.
    """
    network = {k: v for k, v in weights.items() if not k.startswith(OBS_STATS_PREFIX)}
    stats = {
        k.removeprefix(OBS_STATS_PREFIX): v
        for k, v in weights.items()
        if k.startswith(OBS_STATS_PREFIX)
    }
    if normalizing != bool(stats):
        expected = "with" if normalizing else "without"
        raise ValueError(
            f"weights: expected weights {expected} {OBS_STATS_PREFIX}* entries "
            f"(normalize_observations={normalizing}), got keys {sorted(stats)}"
        )
    new_stats = RunningMeanStd.from_state(stats) if stats else None
    if new_stats is not None and new_stats.shape != obs_shape:
        raise ValueError(
            f"weights: observation statistics of shape {new_stats.shape}, expected {obs_shape}"
        )
    return network, new_stats
