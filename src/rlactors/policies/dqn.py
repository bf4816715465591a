"""DQN's policy: epsilon-greedy acting with a (dueling) Q-network, in torch.

It acts; :class:`~rlactors.learners.DQNLearner` trains its network in place (target network,
loss, optimizer). Evaluator processes act with :class:`~rlactors.policies.NumpyQPolicy`, the
numpy interpreter of the same network spec, and never import torch.

Usage::

    policy = DQNPolicy(obs_space, act_space, DQNPolicyConfig(), seed=0)
    policy.set_epsilon(0.1)
    actions = policy.act(obs_batch)               # [B, *obs_shape] -> [B]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlactors.core import Policy, Weights
from rlactors.envs.observations import ObservationLayout
from rlactors.networks.torch_module import SpecNetwork
from rlactors.policies.dqn_config import (
    DQNPolicyConfig,
    EpsilonGreedy,
    check_q_spaces,
)
from rlactors.policies.weights import load_module_arrays
from rlactors.seeding import POLICY_ACT_STREAM, POLICY_INIT_STREAM, seed_sequence


class DQNPolicy(EpsilonGreedy, Policy):
    """Deep Q-network policy for Discrete actions and observations of any space with a layout
    (:class:`~rlactors.envs.observations.ObservationLayout`), optionally action-masked.

    Holds the Q-network (:attr:`network`, a :class:`~rlactors.networks.SpecNetwork` whose
    output ``q`` is ``[B, A]``); acting is epsilon-greedy with :attr:`epsilon`.
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        config: DQNPolicyConfig,
        seed: int,
    ) -> None:
        """Builds the network.

        Args:
            observation_space: Any space with a layout; observations arrive as its layout
                says (Dict and Tuple observations packed into rows).
            action_space: A ``gymnasium.spaces.Discrete`` (any ``start``).
            config: Hyperparameters (``DQNPolicyConfig()`` for the defaults).
            seed: Root seed: network initialisation and exploration draw from streams derived
                from it, never from global random state.

        Raises:
            SpaceError: A space is of a kind DQN does not handle; the message names it.
        """
        self.spec = config.network_spec(observation_space, action_space, "DQNPolicy")
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config
        self._layout = self.spec.encoder.layout
        self._obs_shape: tuple[int, ...] = self._layout.shape
        discrete = check_q_spaces("DQNPolicy", observation_space, action_space)
        self._num_actions = int(discrete.n)
        # Discrete(n, start=s) holds actions s..s+n-1; networks index them from 0.
        self._action_start = int(discrete.start)

        init_seq = seed_sequence(seed, POLICY_INIT_STREAM)
        explore_seq = seed_sequence(seed, POLICY_ACT_STREAM)
        # fork_rng: seed the initialisation without touching the caller's global torch RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(init_seq.generate_state(1, dtype=np.uint64)[0]))
            self.network = SpecNetwork(self.spec)
        self._rng = np.random.default_rng(explore_seq)
        self._epsilon = self.config.initial_epsilon

    # -- acting ---------------------------------------------------------------------------------

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online-network Q-values.

        Args:
            obs: ``[B, *obs_shape]`` observations.

        Returns:
            ``[B, A]`` float32 Q-values; column ``i`` is action ``action_space.start + i``.
        """
        with torch.no_grad():
            q: torch.Tensor = self.network(self.obs_tensor(obs, "obs"))["q"]
        q_values: np.ndarray = q.numpy()
        return q_values

    def _acting_layout(self) -> tuple[ObservationLayout, int]:
        return self._layout, self._action_start

    def legal_actions(self, obs: torch.Tensor) -> torch.Tensor | None:
        """``[B, A]`` bool legal actions of ``[B, *obs_shape]`` observations (packed rows), or
        None when the observations carry no action mask."""
        return self._layout.mask(obs)

    @property
    def action_start(self) -> int:
        """The Discrete action space's ``start`` (the network indexes actions from 0)."""
        return self._action_start

    def obs_tensor(self, obs: np.ndarray, name: str) -> torch.Tensor:
        """``[B, *obs_shape]`` observations as a float32 tensor, their shape checked.

        Raises:
            ValueError: The shape is not ``[B, *obs_shape]``; the message names ``name``.
        """
        array = np.asarray(obs)
        if array.shape[1:] != self._obs_shape or array.ndim != len(self._obs_shape) + 1:
            raise ValueError(
                f"DQNPolicy: {name} must be [B, *{self._obs_shape}], got shape {array.shape}"
            )
        return torch.as_tensor(array, dtype=torch.float32)

    # -- weights and checkpoints ----------------------------------------------------------------

    def get_weights(self) -> Weights:
        """The online network's parameters as named float32 arrays (copies).

        Returns:
            ``{state_dict key: array}``; the target network and optimizer are not included.
        """
        return {k: v.detach().numpy().copy() for k, v in self.network.state_dict().items()}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads network parameters from :meth:`get_weights` (a learner's, or another copy's).

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it.
        """
        load_module_arrays(self.network, weights, "weights")
