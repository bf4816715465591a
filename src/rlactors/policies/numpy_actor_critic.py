"""NumpyActorCriticPolicy: ActorCriticPolicy's acting half in numpy, for processes that only act.

A2C's, PPO's and IMPALA's evaluators step envs with a copy of the learner's actor-critic and
record each step's log-probability and value; they never learn. Doing that in numpy means their
processes need not import torch (~1.2 s and ~200 MB per process at start-up, which the process
backend's fork server paid before the first evaluator could start), and a forward pass on the
handful of rows an evaluator acts on is several times cheaper than torch's (~25 us against
~170 us for ``act_with_info`` on 4 rows of CartPole with (64, 64) torsos).

The network is the :class:`~rlactors.networks.spec.NetworkSpec` ``ActorCriticConfig.network_spec``
gives, run by the numpy interpreter (:mod:`rlactors.networks.numpy_forward`) on the named arrays
``ActorCriticPolicy.get_weights()`` returns (with observation normalization, the ``obs_stats/*``
statistics too). The distribution arithmetic matches the torch network's (the tests compare
log-probs, values and modes on the same weights).

Usage::

    policy = NumpyActorCriticPolicy(obs_space, act_space, ActorCriticConfig(), seed=0)
    policy.set_weights(learner.get_weights())
    info = policy.act_with_info(obs)                  # actions, log_probs [B], values [B]
    env_actions = policy.clip_actions(info.actions)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Policy, Weights
from rlactors.networks.numpy_forward import forward
from rlactors.policies.actor_critic_config import (
    ActionInfo,
    ActorCriticConfig,
    check_actor_critic_spaces,
    clip_to_space,
    join_weights,
    split_weights,
)
from rlactors.policies.arrays import checked_float32_arrays
from rlactors.policies.normalization import RunningMeanStd
from rlactors.seeding import POLICY_ACT_STREAM, POLICY_INIT_STREAM, seed_sequence

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class NumpyActorCriticPolicy(Policy):
    """Stochastic acting, log-probs and values with a numpy copy of an actor-critic network.

    Args:
        observation_space: Any space with a layout (as ``ActorCriticPolicy``).
        action_space: A ``gymnasium.spaces.Discrete`` (any ``start``) or ``gymnasium.spaces.Box``.
        config: The network's shape (``hidden_sizes``, ``shared_torso``, ``activation``,
            ``initial_log_std``, ``normalize_observations``, ``encoder``,
            ``action_mask_key``); the learner fields are ignored.
        seed: Seeds the initial weights (the spec's initialisation; a learner's weights
            replace them, so they need not equal torch's draw) and the action sampling.

    Raises:
        SpaceError: A space is of a kind the actor-critic policies do not handle.
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        config: ActorCriticConfig,
        seed: int,
    ) -> None:
        spaces = check_actor_critic_spaces(
            "NumpyActorCriticPolicy", observation_space, action_space, config
        )
        self.spec = config.network_spec(spaces)
        self.action_space = action_space
        self.config = config
        self._spaces = spaces
        self._actor_output = self.spec.heads[0].output
        init_seq = seed_sequence(seed, POLICY_INIT_STREAM)
        act_seq = seed_sequence(seed, POLICY_ACT_STREAM)
        self._weights = self.spec.initial_parameters(np.random.default_rng(init_seq))
        self._rng = np.random.default_rng(act_seq)
        #: The learner's observation statistics (None unless ``config.normalize_observations``).
        self.obs_stats = RunningMeanStd(spaces.obs_shape) if config.normalize_observations else None

    # -- acting ---------------------------------------------------------------------------------

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Actions for the environment, as ``ActorCriticPolicy.act``.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: Sample from the policy; False: its mode (argmax of the logits, or the mean).

        Returns:
            ``[B]`` int64 actions (Discrete) or ``[B, *action_shape]`` actions of the space's
            dtype clipped to its bounds (Box).
        """
        actor_out = self._forward(obs, (self._actor_output,))[self._actor_output]
        return self.clip_actions(self._to_env_actions(self._pick(actor_out, explore)))

    def act_with_info(self, obs: np.ndarray, *, explore: bool = True) -> ActionInfo:
        """Sampled actions with their log-probs and the values, for a rollout.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: Sample; False: take the mode (whose log-prob is still reported).

        Returns:
            :class:`~rlactors.policies.ActionInfo`; its ``actions`` are unclipped.
        """
        out = self._forward(obs)
        actor_out = out[self._actor_output]
        actions = self._pick(actor_out, explore)
        return ActionInfo(
            actions=self._to_env_actions(actions),
            log_probs=self._log_probs(actor_out, actions),
            values=out["value"].astype(np.float32),
        )

    def value(self, obs: np.ndarray) -> np.ndarray:
        """``[B]`` float32 critic values of ``[B, *obs_shape]`` observations."""
        values: np.ndarray = self._forward(obs, ("value",))["value"].astype(np.float32)
        return values

    def clip_actions(self, actions: np.ndarray) -> np.ndarray:
        """Clips Box actions to the space's bounds and casts them to its dtype (Discrete: as is)."""
        return clip_to_space(actions, self.action_space)

    # -- weights --------------------------------------------------------------------------------

    def get_weights(self) -> Weights:
        """The network's arrays (copies), plus the observation statistics when normalizing:
        the keys of ``ActorCriticPolicy.get_weights()``."""
        return join_weights({k: v.copy() for k, v in self._weights.items()}, self.obs_stats)

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads ``ActorCriticPolicy.get_weights()`` (or :meth:`get_weights`) arrays.

        Raises:
            ValueError: A key is missing or unexpected, a shape differs, or the observation
                statistics do not fit; the message names it and nothing is changed.
        """
        network, stats = split_weights(weights, self.obs_stats is not None, self._spaces.obs_shape)
        self._weights = checked_float32_arrays(self._weights, network, "weights")
        if stats is not None and self.obs_stats is not None:
            self.obs_stats.set_state(stats.get_state())

    # -- the network ----------------------------------------------------------------------------

    def _forward(
        self, obs: np.ndarray, outputs: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray]:
        shape = self._spaces.obs_shape
        array = np.asarray(obs)
        if array.shape[1:] != shape or array.ndim != len(shape) + 1:
            raise ValueError(
                f"NumpyActorCriticPolicy: obs must be [B, *{shape}], got shape {array.shape}"
            )
        if self.obs_stats is not None:
            array = self.obs_stats.normalize(array).astype(np.float32, copy=False)
        return forward(self.spec, self._weights, array, outputs)

    # -- the distribution (ActorCriticNetwork's arithmetic) ---------------------------------------

    def _pick(self, actor_out: np.ndarray, explore: bool) -> np.ndarray:
        if self._spaces.gaussian:
            if not explore:
                return actor_out
            noise = self._rng.standard_normal(actor_out.shape).astype(np.float32)
            sampled: np.ndarray = actor_out + np.exp(self._weights["log_std"]) * noise
            return sampled
        if not explore:
            mode: np.ndarray = actor_out.argmax(axis=1)
            return mode
        # Inverse-CDF sampling in float64, so rounding cannot push a draw past the last action.
        probs = np.exp(_log_softmax(actor_out.astype(np.float64)))
        cdf = np.cumsum(probs, axis=1)
        draws = self._rng.random((len(cdf), 1)) * cdf[:, -1:]
        indices: np.ndarray = np.minimum((draws >= cdf).sum(axis=1), cdf.shape[1] - 1)
        return indices

    def _log_probs(self, actor_out: np.ndarray, actions: np.ndarray) -> np.ndarray:
        if self._spaces.gaussian:
            log_std = self._weights["log_std"]
            z = (actions - actor_out) / np.exp(log_std)
            gaussian: np.ndarray = (-0.5 * z**2 - log_std - _HALF_LOG_2PI).sum(axis=1)
            return gaussian.astype(np.float32)
        log_probs = _log_softmax(actor_out)[np.arange(len(actions)), actions]
        result: np.ndarray = log_probs.astype(np.float32)
        return result

    def _to_env_actions(self, actions: np.ndarray) -> np.ndarray:
        if self._spaces.gaussian:
            gaussian: np.ndarray = actions.reshape(-1, *self._spaces.action_shape)
            return gaussian.astype(np.float32)
        discrete: np.ndarray = actions.astype(np.int64) + self._spaces.action_start
        return discrete


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    result: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result
