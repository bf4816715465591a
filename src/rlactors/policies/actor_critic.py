"""An actor-critic policy: a stochastic actor and a state-value critic, for A2C, A3C, PPO, IMPALA.

The actor is categorical for ``Discrete`` action spaces and a diagonal Gaussian with a learned,
state-independent log standard deviation for ``Box`` ones (Schulman et al., 2017, PPO, section
6.1). Actor and critic are MLPs over the flattened observation, with separate torsos by default or
one shared torso (``ActorCriticConfig.shared_torso``, as A3C's Atari network; Mnih et al., 2016).

The policy offers the pieces the actor-critic algorithms combine:

- evaluators act with :meth:`ActorCriticPolicy.act_with_info`, which also returns the log-probs
  and values a rollout records (``behaviour_log_probs`` for V-trace, ``old_log_probs`` and
  ``old_values`` for PPO) and :meth:`~ActorCriticPolicy.value` for the bootstrap value;
- :meth:`~ActorCriticPolicy.learn` is one Adam step of the A2C loss (Mnih et al., 2016);
- :meth:`~ActorCriticPolicy.compute_gradients` and :meth:`~ActorCriticPolicy.apply_gradients`
  split that step across processes, as A3C's workers and learner do;
- :meth:`~ActorCriticPolicy.evaluate_actions` and :meth:`~ActorCriticPolicy.gradient_step` let an
  optimizer apply any other loss (PPO's, V-trace's) with the same network and Adam state.

Usage::

    policy = ActorCriticPolicy(obs_space, act_space, ActorCriticConfig(), seed=0)
    info = policy.act_with_info(obs)              # actions, log_probs [B], values [B]
    env_actions = policy.clip_actions(info.actions)
    ...
    log_probs, entropy, values = policy.evaluate_actions(obs, info.actions)
    out = ppo_loss(log_probs, info.log_probs, advantages, values, ...)
    policy.gradient_step(out.loss.mean())
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlactors.core import Policy, SampleBatch, Weights
from rlactors.losses import a2c_loss, normalize_advantages
from rlactors.policies.actor_critic_config import (
    ActionInfo,
    ActorCriticConfig,
    check_actor_critic_spaces,
    clip_to_space,
    join_weights,
    split_weights,
)
from rlactors.policies.actor_critic_network import ACTIVATIONS, ActorCriticNetwork
from rlactors.policies.arrays import check_keys
from rlactors.policies.flat_adam import FlatAdam
from rlactors.policies.normalization import RunningMeanStd
from rlactors.policies.weights import copy_into, load_module_arrays
from rlactors.seeding import POLICY_ACT_STREAM, POLICY_INIT_STREAM, seed_sequence

#: Columns :meth:`ActorCriticPolicy.learn` needs.
REQUIRED_COLUMNS = ("obs", "actions", "advantages", "returns")


class ActorCriticPolicy(Policy):
    """Actor-critic policy for Box observations and Discrete or Box actions.

    Sampling draws from a torch generator derived from ``seed``, never from global random state.
    The optimizer is :class:`~rlactors.policies.flat_adam.FlatAdam`: ``torch.optim.Adam``'s
    update, but zeroing, clipping and stepping the network's few small tensors at once (a PPO
    minibatch step on CartPole's (64, 64) network got ~25% cheaper), and building it imports
    nothing, where any ``torch.optim`` optimizer imports ``torch._dynamo`` (~1 s per process).
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
            observation_space: A ``gymnasium.spaces.Box``; observations are flattened.
            action_space: A ``gymnasium.spaces.Discrete`` (any ``start``) or a
                ``gymnasium.spaces.Box`` (any shape; flattened for the Gaussian).
            config: Hyperparameters (``ActorCriticConfig()`` for the defaults).
            seed: Root seed of the initialisation and of action sampling.

        Raises:
            TypeError: A space is of a kind this policy does not handle; the message names it.
        """
        spaces = check_actor_critic_spaces("ActorCriticPolicy", observation_space, action_space)
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config
        self._obs_shape = spaces.obs_shape
        self._gaussian = spaces.gaussian
        self._action_shape = spaces.action_shape
        # Discrete(n, start=s) holds actions s..s+n-1; the network indexes them from 0.
        self._action_start = spaces.action_start
        actor_size = spaces.actor_size

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
                self.network = ActorCriticNetwork(
                    int(np.prod(self._obs_shape)),
                    actor_size,
                    hidden_sizes=config.hidden_sizes,
                    shared_torso=config.shared_torso,
                    activation=ACTIVATIONS[config.activation],
                    orthogonal_init=config.orthogonal_init,
                    initial_log_std=config.initial_log_std if self._gaussian else None,
                )
        finally:
            torch.set_num_threads(threads)
        self._generator = torch.Generator().manual_seed(
            int(act_seq.generate_state(1, dtype=np.uint64)[0])
        )
        #: Running observation statistics (None unless ``config.normalize_observations``).
        self.obs_stats = RunningMeanStd(self._obs_shape) if config.normalize_observations else None
        self._learning_rate = config.learning_rate
        # Built now, not on first use: it moves the parameters into its flat buffers, and every
        # later view of them (state_dict, weights) should see the final storage.
        self._adam = FlatAdam(
            list(self.network.parameters()), lr=self._learning_rate, eps=config.adam_epsilon
        )
        self._learner_steps = 0

    @property
    def learner_steps(self) -> int:
        """Number of optimizer steps so far (restored by :meth:`load_state_dict`)."""
        return self._learner_steps

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

    # -- learning -------------------------------------------------------------------------------

    def learn(self, batch: SampleBatch) -> dict[str, Any]:
        """One Adam step on the mean A2C loss of ``batch`` (:func:`rlactors.losses.a2c_loss`).

        Args:
            batch: Columns ``obs`` ``[B, *obs_shape]``, ``actions`` ``[B, *action_shape]`` (as
                sampled), ``advantages`` ``[B]`` and ``returns`` ``[B]`` (e.g. from
                :func:`rlactors.losses.generalized_advantage_estimation`, flattened).

        Returns:
            ``loss``, ``policy_loss``, ``value_loss``, ``entropy`` (batch means before the step),
            ``grad_norm`` (before clipping) and ``learner_steps`` (after the step).
        """
        stats = self._backward(batch)
        self._adam.step()
        self._learner_steps += 1
        return {**stats, "learner_steps": self._learner_steps}

    def compute_gradients(self, batch: SampleBatch) -> tuple[Weights, dict[str, Any]]:
        """The (clipped) gradient of :meth:`learn`'s loss, without applying it (A3C's workers).

        Args:
            batch: The columns :meth:`learn` needs.

        Returns:
            ``(gradients, stats)``: float32 arrays keyed like :meth:`get_weights`, and
            :meth:`learn`'s statistics without ``learner_steps``.
        """
        stats = self._backward(batch)
        gradients = {}
        for name, param in self.network.named_parameters():
            assert param.grad is not None  # a view of the optimizer's gradient buffer
            # A copy: the next backward overwrites the buffer.
            gradients[name] = param.grad.numpy().astype(np.float32, copy=True)
        return gradients, stats

    def apply_gradients(self, gradients: Mapping[str, np.ndarray]) -> None:
        """One Adam step along ``gradients`` from :meth:`compute_gradients` (A3C's learner).

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; nothing is changed.
        """
        grads = {}
        for name, param in self.network.named_parameters():
            assert param.grad is not None  # a view of the optimizer's gradient buffer
            grads[name] = param.grad
        copy_into(grads, gradients, "gradients")
        self._adam.step()
        self._learner_steps += 1

    @property
    def learning_rate(self) -> float:
        """Adam's current step size."""
        return self._learning_rate

    def set_learning_rate(self, learning_rate: float) -> None:
        """Change Adam's step size (a schedule, e.g. PPO's linear decay, calls this).

        Raises:
            ValueError: ``learning_rate`` is negative or not finite.
        """
        if not (learning_rate >= 0.0 and math.isfinite(learning_rate)):
            raise ValueError(f"learning_rate must be >= 0 and finite, got {learning_rate}")
        self._learning_rate = float(learning_rate)
        self._adam.lr = self._learning_rate

    def merge_obs_stats(self, state: Mapping[str, np.ndarray]) -> None:
        """Add observations summarised elsewhere (a :meth:`RunningMeanStd.get_state` of raw
        observations an evaluator saw) to :attr:`obs_stats`; a no-op without normalization.

        Raises:
            ValueError: The state is malformed or of another observation shape.
        """
        if self.obs_stats is not None:
            self.obs_stats.merge(RunningMeanStd.from_state(state))

    def gradient_step(self, loss: torch.Tensor) -> float:
        """One Adam step on a scalar ``loss`` built from this policy's outputs (e.g. PPO's).

        Args:
            loss: A 0-d tensor computed from :meth:`evaluate_actions`.

        Returns:
            The global L2 gradient norm before clipping.

        Raises:
            ValueError: ``loss`` is not a scalar.
        """
        if loss.dim() != 0:
            raise ValueError(f"gradient_step: loss must be a scalar, got {tuple(loss.shape)}")
        grad_norm = self._backward_loss(loss)
        self._adam.step()
        self._learner_steps += 1
        return grad_norm

    def _backward(self, batch: Mapping[str, np.ndarray]) -> dict[str, Any]:
        missing = [name for name in REQUIRED_COLUMNS if name not in batch]
        if missing:
            raise ValueError(
                f"ActorCriticPolicy: batch lacks column(s) {missing}; it has {list(batch)}"
            )
        targets = {}
        for name in ("advantages", "returns"):
            targets[name] = torch.as_tensor(np.asarray(batch[name]), dtype=torch.float32)
            if targets[name].dim() != 1:
                raise ValueError(
                    f"ActorCriticPolicy: column {name!r} must be [B], "
                    f"got {tuple(targets[name].shape)}"
                )
        log_probs, entropy, values = self.evaluate_actions(batch["obs"], batch["actions"])
        advantages = targets["advantages"]
        if self.config.normalize_advantages:
            advantages = normalize_advantages(advantages)
        out = a2c_loss(
            log_probs,
            advantages,
            values,
            targets["returns"],
            entropy,
            value_coef=self.config.value_coef,
            entropy_coef=self.config.entropy_coef,
        )
        mean_loss = out.loss.mean()
        grad_norm = self._backward_loss(mean_loss)
        return {
            "loss": float(mean_loss.detach()),
            "policy_loss": float(out.policy_loss.detach().mean()),
            "value_loss": float(out.value_loss.detach().mean()),
            "entropy": float(out.entropy.detach().mean()),
            "grad_norm": grad_norm,
        }

    def _backward_loss(self, loss: torch.Tensor) -> float:
        self._adam.zero_grad()
        torch.autograd.backward(loss)
        return float(self._adam.clip_grad_norm(self.config.max_grad_norm))

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
        return tensor.flatten(start_dim=1)

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

    def state_dict(self) -> dict[str, Any]:
        """A checkpoint of everything learning needs, as tensors and plain numbers.

        Safe for ``torch.save`` and ``torch.load(weights_only=True)``. The sampling generator's
        state is not included.

        Returns:
            ``network`` (its state dict), ``optimizer`` (Adam state), ``learner_steps``,
            ``learning_rate`` and ``obs_stats`` (tensors, or None without normalization);
            tensors are copies.
        """
        stats = None
        if self.obs_stats is not None:
            stats = {k: torch.as_tensor(v) for k, v in self.obs_stats.get_state().items()}
        return {
            "network": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
            "optimizer": self._adam.state_dict(),
            "learner_steps": self._learner_steps,
            "learning_rate": self._learning_rate,
            "obs_stats": stats,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores a checkpoint made by :meth:`state_dict`.

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it.
        """
        check_keys(
            set(state),
            {"network", "optimizer", "learner_steps", "learning_rate", "obs_stats"},
            "",
        )
        if (state["obs_stats"] is None) != (self.obs_stats is None):
            raise ValueError(
                "state: observation statistics "
                f"{'missing' if state['obs_stats'] is None else 'unexpected'} "
                f"(normalize_observations={self.obs_stats is not None})"
            )
        load_module_arrays(self.network, state["network"], "state['network']")
        self._adam.load_state_dict(state["optimizer"])
        self._learner_steps = int(state["learner_steps"])
        self.set_learning_rate(float(state["learning_rate"]))
        if self.obs_stats is not None:
            self.obs_stats.set_state({k: np.asarray(v) for k, v in state["obs_stats"].items()})
