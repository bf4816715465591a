"""An actor-critic policy: a stochastic actor and a state-value critic, for A2C, A3C, PPO, IMPALA.

The actor is categorical for ``Discrete`` action spaces (masked by an action mask when the
observation has one) and a diagonal Gaussian with a learned, state-independent log standard
deviation for ``Box`` ones (Schulman et al., 2017, PPO, section 6.1). Actor and critic read the
observation through the network spec's encoder, with separate torsos by default or one shared
torso (``ActorCriticConfig.shared_torso``, as A3C's Atari network; Mnih et al., 2016).

This policy acts; :class:`~rlactors.learners.ActorCriticLearner` trains it:

- evaluators act with :meth:`ActorCriticPolicy.act_with_info`, which also returns the log-probs
  and values a rollout records (``behaviour_log_probs`` for V-trace, ``old_log_probs`` and
  ``old_values`` for PPO) and :meth:`~ActorCriticPolicy.value` for the bootstrap value;
- :meth:`~ActorCriticPolicy.evaluate_actions` gives the differentiable log-probs, entropies and
  values every actor-critic loss is built from.

Usage::

    policy = ActorCriticPolicy(obs_space, act_space, ActorCriticConfig(), seed=0)
    info = policy.act_with_info(obs)              # actions, log_probs [B], values [B]
    env_actions = policy.clip_actions(info.actions)
    learner = ActorCriticLearner(policy, ActorCriticLearnerConfig())
    log_probs, entropy, values = policy.evaluate_actions(obs, info.actions)
    out = ppo_loss(log_probs, info.log_probs, advantages, values, ...)
    learner.gradient_step(out.loss.mean())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlactors.core import Policy, Weights
from rlactors.policies.actor_critic_config import (
    ActionInfo,
    ActorCriticConfig,
    check_actor_critic_spaces,
    clip_to_space,
    join_weights,
    split_weights,
)
from rlactors.policies.actor_critic_network import ActorCriticNetwork
from rlactors.policies.normalization import RunningMeanStd
from rlactors.policies.weights import load_module_arrays
from rlactors.seeding import POLICY_ACT_STREAM, POLICY_INIT_STREAM, seed_sequence


class ActorCriticPolicy(Policy):
    """Actor-critic policy for Discrete or Box actions and observations of any space with a
    layout (:class:`~rlactors.envs.observations.ObservationLayout`), optionally action-masked.

    Sampling draws from a torch generator derived from ``seed``, never from global random state.
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        config: ActorCriticConfig,
        seed: int,
    ) -> None:
        """Builds the network.

        Args:
            observation_space: Any space with a layout; observations arrive as its layout
                says (Dict and Tuple observations packed into rows).
            action_space: A ``gymnasium.spaces.Discrete`` (any ``start``) or a
                ``gymnasium.spaces.Box`` (any shape; flattened for the Gaussian).
            config: Hyperparameters (``ActorCriticConfig()`` for the defaults).
            seed: Root seed of the initialisation and of action sampling.

        Raises:
            SpaceError: A space is of a kind this policy does not handle; the message names it.
        """
        spaces = check_actor_critic_spaces(
            "ActorCriticPolicy", observation_space, action_space, config
        )
        self.spec = config.network_spec(spaces)
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config
        self._obs_shape = spaces.obs_shape
        self._gaussian = spaces.gaussian
        self._action_shape = spaces.action_shape
        # Discrete(n, start=s) holds actions s..s+n-1; the network indexes them from 0.
        self._action_start = spaces.action_start

        init_seq = seed_sequence(seed, POLICY_INIT_STREAM)
        act_seq = seed_sequence(seed, POLICY_ACT_STREAM)
        # fork_rng: seed the initialisation without touching the caller's global torch RNG.
        # One thread: the orthogonal initialisation's QR decomposition differs in its last bits
        # with torch's thread count, and a seed must give the same network everywhere.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(init_seq.generate_state(1, dtype=np.uint64)[0]))
                self.network = ActorCriticNetwork(self.spec)
        finally:
            torch.set_num_threads(threads)
        self._generator = torch.Generator().manual_seed(
            int(act_seq.generate_state(1, dtype=np.uint64)[0])
        )
        #: Running observation statistics (None unless ``config.normalize_observations``).
        self.obs_stats = RunningMeanStd(self._obs_shape) if config.normalize_observations else None

    # -- acting ---------------------------------------------------------------------------------

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Actions for the environment.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: Sample from the policy; False: its mode (argmax of the logits, or the mean).

        Returns:
            ``[B]`` int64 actions (Discrete) or ``[B, *action_shape]`` actions of the space's
            dtype clipped to its bounds (Box).
        """
        with torch.no_grad():
            actor_out, _ = self.network(self._obs_tensor(obs, "obs"))
            actions = self._pick(actor_out, explore)
        return self.clip_actions(self._to_env_actions(actions))

    def act_with_info(self, obs: np.ndarray, *, explore: bool = True) -> ActionInfo:
        """Sampled actions with their log-probs and the values, for a rollout.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: Sample; False: take the mode (whose log-prob is still reported).

        Returns:
            :class:`ActionInfo`; its ``actions`` are unclipped (see there).
        """
        with torch.no_grad():
            actor_out, values = self.network(self._obs_tensor(obs, "obs"))
            actions = self._pick(actor_out, explore)
            log_probs, _ = self.network.log_prob_entropy(actor_out, actions)
        return ActionInfo(
            actions=self._to_env_actions(actions),
            log_probs=log_probs.numpy().astype(np.float32),
            values=values.numpy().astype(np.float32),
        )

    def clip_actions(self, actions: np.ndarray) -> np.ndarray:
        """Clips Box actions to the space's bounds and casts them to its dtype (Discrete: as is).

        Args:
            actions: ``[B, *action_shape]`` actions, e.g. :attr:`ActionInfo.actions`.

        Returns:
            The actions to send to the environment, same shape.
        """
        return clip_to_space(actions, self.action_space)

    def value(self, obs: np.ndarray) -> np.ndarray:
        """Critic values, e.g. the bootstrap value ``V(s_T)`` after a rollout.

        Args:
            obs: ``[B, *obs_shape]`` observations.

        Returns:
            ``[B]`` float32 values.
        """
        with torch.no_grad():
            values = self.network.value(self._obs_tensor(obs, "obs"))
        result: np.ndarray = values.numpy().astype(np.float32)
        return result

    def evaluate_actions(
        self, obs: np.ndarray | torch.Tensor, actions: np.ndarray | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probs of given actions, entropies and values under the current network, with
        gradient: the inputs of :func:`~rlactors.losses.a2c_loss`, :func:`~rlactors.losses.ppo_loss`
        and :func:`~rlactors.losses.vtrace`.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            actions: ``[B, *action_shape]`` actions as sampled (:attr:`ActionInfo.actions`);
                Discrete ones in ``[start, start + n)``.

        Returns:
            ``(log_probs, entropy, values)``, each a float32 ``[B]`` tensor.

        Raises:
            ValueError: A shape is wrong.
        """
        obs_t = self._obs_tensor(obs, "obs")
        actor_out, values = self.network(obs_t)
        log_probs, entropy = self.network.log_prob_entropy(
            actor_out, self._action_tensor(actions, len(obs_t))
        )
        return log_probs, entropy, values

    def _pick(self, actor_out: torch.Tensor, explore: bool) -> torch.Tensor:
        if explore:
            return self.network.sample(actor_out, self._generator)
        return self.network.mode(actor_out)

    # -- conversions ----------------------------------------------------------------------------

    def _to_env_actions(self, actions: torch.Tensor) -> np.ndarray:
        if self._gaussian:
            result: np.ndarray = actions.reshape(-1, *self._action_shape).numpy()
            return result.astype(np.float32)
        return actions.numpy().astype(np.int64) + self._action_start

    def _action_tensor(self, actions: np.ndarray | torch.Tensor, batch: int) -> torch.Tensor:
        tensor = torch.as_tensor(actions)
        expected = (batch, *self._action_shape)
        if tuple(tensor.shape) != expected:
            raise ValueError(
                f"ActorCriticPolicy: actions must be [B, *{self._action_shape}]={expected}, "
                f"got shape {tuple(tensor.shape)}"
            )
        if self._gaussian:
            return tensor.to(torch.float32).reshape(batch, -1)
        if tensor.is_floating_point() or tensor.is_complex():
            raise ValueError(
                f"ActorCriticPolicy: discrete actions must be integers, got {tensor.dtype}"
            )
        return tensor.long() - self._action_start

    def _obs_tensor(self, obs: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
        if self.obs_stats is not None:
            raw = obs.numpy() if isinstance(obs, torch.Tensor) else np.asarray(obs)
            if raw.shape[1:] == self._obs_shape:
                obs = self.obs_stats.normalize(raw)
        tensor = torch.as_tensor(obs, dtype=torch.float32)
        if tuple(tensor.shape[1:]) != self._obs_shape or tensor.dim() != len(self._obs_shape) + 1:
            raise ValueError(
                f"ActorCriticPolicy: {name} must be [B, *{self._obs_shape}], "
                f"got shape {tuple(tensor.shape)}"
            )
        return tensor

    # -- weights and checkpoints ----------------------------------------------------------------

    def get_weights(self) -> Weights:
        """The network's parameters (both heads, torso(s) and ``log_std``) as float32 arrays,
        plus the observation statistics (``obs_stats/mean``, ``/var``, ``/count``, float64)
        when observations are normalized.

        Returns:
            ``{state_dict key: array}`` copies; the optimizer is not included.
        """
        network = {k: v.detach().numpy().copy() for k, v in self.network.state_dict().items()}
        return join_weights(network, self.obs_stats)

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads parameters (and observation statistics) from :meth:`get_weights`.

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it
                and nothing is changed.
        """
        network, new_stats = split_weights(weights, self.obs_stats is not None, self._obs_shape)
        load_module_arrays(self.network, network, "weights")
        if new_stats is not None and self.obs_stats is not None:
            self.obs_stats.set_state(new_stats.get_state())
