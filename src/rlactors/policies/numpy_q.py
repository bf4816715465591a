"""NumpyQPolicy: DQNPolicy's acting half in numpy, for processes that only act.

An evaluator steps envs with an epsilon-greedy copy of the learner's Q-network and, for Ape-X,
prices each transition with its TD error; it never learns. Doing that in numpy means its
process need not import torch: ~1.2 s and ~200 MB per process at start-up (the process
backend's fork server imported torch for its actors, which delayed an Ape-X run's first
learner step by that much), and a forward pass on the handful of rows an evaluator acts on
costs a third of torch's (~20 us against ~55 us for 4 rows of CartPole, (128, 128) hidden
units; from ~100 rows on torch is as fast or faster, and both are well under a rollout's env
steps).

The network is the :class:`~rlactors.networks.spec.NetworkSpec` ``DQNPolicyConfig.network_spec``
gives, run by the numpy interpreter (:mod:`rlactors.networks.numpy_forward`) on the named
arrays ``DQNPolicy.get_weights()`` returns; the spec, not this module, knows their names.

Usage::

    policy = NumpyQPolicy(obs_space, act_space, DQNPolicyConfig(), seed=0)
    policy.set_weights(learner.get_weights())
    actions = policy.act(obs_batch)                     # [B, *obs_shape] -> [B]
    priorities = np.abs(policy.compute_td_error(batch))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Policy, SampleBatch, Weights
from rlactors.envs.observations import ObservationLayout
from rlactors.networks.numpy_forward import forward
from rlactors.policies.arrays import checked_float32_arrays
from rlactors.policies.dqn_config import (
    REQUIRED_COLUMNS,
    DQNPolicyConfig,
    EpsilonGreedy,
    check_q_spaces,
)
from rlactors.seeding import POLICY_ACT_STREAM, POLICY_INIT_STREAM, seed_sequence


class NumpyQPolicy(EpsilonGreedy, Policy):
    """Epsilon-greedy acting and TD errors with a numpy copy of a DQN's Q-network.

    Args:
        observation_space: Any space with a layout (as ``DQNPolicy``).
        action_space: A ``gymnasium.spaces.Discrete`` (any ``start``).
        config: The network's shape (``hidden_sizes``, ``dueling``, ``encoder``,
            ``action_mask_key``) and ``initial_epsilon``.
        seed: Seeds the initial weights (the spec's initialisation, uniform in
            ``+-1/sqrt(fan_in)``; a learner's weights replace them) and exploration.

    Raises:
        SpaceError: A space is of a kind DQN does not handle; the message names it.
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        config: DQNPolicyConfig,
        seed: int,
    ) -> None:
        self.spec = config.network_spec(observation_space, action_space, "NumpyQPolicy")
        self.config = config
        self._layout = self.spec.encoder.layout
        self._obs_shape: tuple[int, ...] = self._layout.shape
        discrete = check_q_spaces("NumpyQPolicy", observation_space, action_space)
        self._num_actions = int(discrete.n)
        self._action_start = int(discrete.start)
        init_seq = seed_sequence(seed, POLICY_INIT_STREAM)
        explore_seq = seed_sequence(seed, POLICY_ACT_STREAM)
        self._weights = self.spec.initial_parameters(np.random.default_rng(init_seq))
        self._rng = np.random.default_rng(explore_seq)
        self._epsilon = config.initial_epsilon

    # -- acting ---------------------------------------------------------------------------------

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q-values, ``[B, *obs_shape]`` observations -> ``[B, A]`` float32."""
        array = np.asarray(obs)
        if array.shape[1:] != self._obs_shape or array.ndim != len(self._obs_shape) + 1:
            raise ValueError(
                f"NumpyQPolicy: observations must be [B, *{self._obs_shape}], "
                f"got shape {array.shape}"
            )
        return forward(self.spec, self._weights, array, ("q",))["q"]

    def _acting_layout(self) -> tuple[ObservationLayout, int]:
        return self._layout, self._action_start

    def compute_td_error(self, batch: SampleBatch) -> np.ndarray:
        """TD errors ``target - Q(obs, actions)``, ``[B]`` float32 (initial priorities).

        ``target = rewards + discounts * max_a Q(next_obs, a)`` (over legal actions, with a
        mask: the network gives illegal ones MASKED values; 0 where none is legal). This copy
        has one network,
        so it is its own target network too, as a ``DQNPolicy`` is after ``set_weights``, and
        the double-Q target (online argmax, target value) is this same max.

        Raises:
            ValueError: A column is missing.
        """
        missing = [name for name in REQUIRED_COLUMNS if name not in batch]
        if missing:
            raise ValueError(f"NumpyQPolicy: batch lacks column(s) {missing}; it has {list(batch)}")
        q = self.q_values(batch["obs"])
        taken = q[np.arange(len(q)), np.asarray(batch["actions"]) - self._action_start]
        bootstrap = self.q_values(batch["next_obs"]).max(axis=1)
        legal_t = self._layout.mask(np.asarray(batch["next_obs"]))
        if legal_t is not None:
            # No legal next action: nothing to bootstrap from (see DQNLearner._loss_output).
            bootstrap = np.where(legal_t.any(axis=1), bootstrap, 0.0)
        target = batch["rewards"] + batch["discounts"] * bootstrap
        td_error: np.ndarray = (target - taken).astype(np.float32)
        return td_error

    # -- weights --------------------------------------------------------------------------------

    def get_weights(self) -> Weights:
        """The network's parameters as named float32 arrays (copies), as ``DQNPolicy``'s."""
        return {k: v.copy() for k, v in self._weights.items()}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads ``DQNPolicy.get_weights()`` (or :meth:`get_weights`) arrays.

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it.
        """
        self._weights = checked_float32_arrays(self._weights, weights, "weights")
