"""DQN as a :class:`rlactors.core.Policy`: epsilon-greedy acting and (double, dueling) Q-learning.

The pieces follow the papers the Ape-X agent (Horgan et al., 2018) combines: a target network
and Huber (error-clipped) loss from Mnih et al. (2015), double-Q targets from van Hasselt et al.
(2016), the dueling head from Wang et al. (2016), and importance-sampling weights from prioritized
replay (Schaul et al., 2016). n-step returns arrive precomputed in the batch (``rewards`` is the
discounted n-step return, ``discounts`` is ``gamma**n`` or 0), so gamma and n are not this
policy's concern: they belong to the n-step accumulator.

Usage::

    policy = DQNPolicy(obs_space, act_space, DQNPolicyConfig(), seed=0)
    policy.set_epsilon(0.1)
    actions = policy.act(obs_batch)               # [B, *obs_shape] -> [B]
    stats = policy.learn(batch)                   # SampleBatch of n-step transitions
    priorities = np.abs(stats["td_error"])        # [B], for prioritized replay
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlactors.core import Policy, SampleBatch, Weights
from rlactors.losses import LossOutput, double_q_learning, q_learning
from rlactors.policies.arrays import check_keys
from rlactors.policies.dqn_config import (
    REQUIRED_COLUMNS,
    DQNPolicyConfig,
    check_epsilon,
    check_q_spaces,
    epsilon_greedy,
)
from rlactors.policies.flat_adam import FlatAdam
from rlactors.policies.networks import QNetwork
from rlactors.policies.weights import load_module_arrays
from rlactors.seeding import POLICY_ACT_STREAM, POLICY_INIT_STREAM, seed_sequence


class DQNPolicy(Policy):
    """Deep Q-network policy for Box observations and Discrete actions.

    Holds an online Q-network, a target network and an Adam optimizer. Acting is epsilon-greedy
    with :attr:`epsilon`; learning is one gradient step per :meth:`learn` call.
    """

    def __init__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        config: DQNPolicyConfig,
        seed: int,
    ) -> None:
        """Builds the networks and the optimizer.

        Args:
            observation_space: A ``gymnasium.spaces.Box``; observations are flattened.
            action_space: A ``gymnasium.spaces.Discrete`` (any ``start``).
            config: Hyperparameters (``DQNPolicyConfig()`` for the defaults).
            seed: Root seed: network initialisation and exploration draw from streams derived
                from it, never from global random state.

        Raises:
            TypeError: A space is of a kind DQN does not handle; the message names it.
        """
        box, discrete = check_q_spaces("DQNPolicy", observation_space, action_space)
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config
        self._obs_shape: tuple[int, ...] = tuple(box.shape)
        self._num_actions = int(discrete.n)
        # Discrete(n, start=s) holds actions s..s+n-1; networks index them from 0.
        self._action_start = int(discrete.start)

        init_seq = seed_sequence(seed, POLICY_INIT_STREAM)
        explore_seq = seed_sequence(seed, POLICY_ACT_STREAM)
        # fork_rng: seed the initialisation without touching the caller's global torch RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(init_seq.generate_state(1, dtype=np.uint64)[0]))
            self._online = QNetwork(
                int(np.prod(self._obs_shape)),
                self._num_actions,
                self.config.hidden_sizes,
                dueling=self.config.dueling,
            )
        self._target = copy.deepcopy(self._online).requires_grad_(False)
        # Built on first use: an acting-only copy (an evaluator's) never needs one.
        self._adam: FlatAdam | None = None
        self._rng = np.random.default_rng(explore_seq)
        self._epsilon = self.config.initial_epsilon
        self._learner_steps = 0

    # -- acting ---------------------------------------------------------------------------------

    @property
    def epsilon(self) -> float:
        """Probability of a uniformly random action when acting with ``explore=True``."""
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

    @property
    def learner_steps(self) -> int:
        """Number of :meth:`learn` calls so far (restored by :meth:`load_state_dict`)."""
        return self._learner_steps

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online-network Q-values.

        Args:
            obs: ``[B, *obs_shape]`` observations.

        Returns:
            ``[B, A]`` float32 Q-values; column ``i`` is action ``action_space.start + i``.
        """
        with torch.no_grad():
            q: torch.Tensor = self._online(self._obs_tensor(obs, "obs"))
        q_values: np.ndarray = q.numpy()
        return q_values

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Epsilon-greedy actions.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: With probability :attr:`epsilon` per row take a uniformly random action;
                False: always greedy (ties go to the lowest action).

        Returns:
            ``[B]`` int64 actions from the action space.
        """
        epsilon = self._epsilon if explore else 0.0
        return epsilon_greedy(self.q_values(obs), epsilon, self._rng, self._action_start)

    # -- learning -------------------------------------------------------------------------------

    def _optimizer(self) -> FlatAdam:
        if self._adam is None:
            # FlatAdam rather than torch.optim.Adam: the same update, but zeroing, clipping
            # and stepping all parameters at once made a (128, 128) learner step ~20% cheaper,
            # and it does not import torch._dynamo (~1 s at start-up); see its module.
            self._adam = FlatAdam(
                list(self._online.parameters()),
                lr=self.config.learning_rate,
                eps=self.config.adam_epsilon,
            )
        return self._adam

    def learn(self, batch: SampleBatch) -> dict[str, Any]:
        """One Adam step on the (importance-weighted) mean Huber TD loss of ``batch``.

        Args:
            batch: Columns ``obs`` ``[B, *obs_shape]``, ``actions`` ``[B]``, ``rewards`` ``[B]``
                (discounted n-step return), ``next_obs`` ``[B, *obs_shape]``, ``discounts``
                ``[B]`` (``gamma**n``, or 0 at a terminal state); optional ``weights`` ``[B]``,
                importance-sampling weights that multiply each sample's loss.

        Returns:
            ``loss`` (weighted mean, float), ``q_mean`` (mean Q of the taken actions, float),
            ``grad_norm`` (global L2 gradient norm before clipping, float), ``learner_steps``
            (int, after this step) and ``td_error``: ``[B]`` float32 TD errors computed before
            the step, for prioritized replay.
        """
        tensors = self._batch_tensors(batch)
        out = self._loss_output(tensors)
        loss = out.loss
        if "weights" in tensors:
            # Prioritized replay's importance-sampling correction (Schaul et al., 2016): a row of
            # weight 0 contributes no gradient at all.
            loss = loss * tensors["weights"]
        mean_loss = loss.mean()
        adam = self._optimizer()
        adam.zero_grad()
        torch.autograd.backward(mean_loss)
        grad_norm = adam.clip_grad_norm(self.config.max_grad_norm)
        adam.step()
        self._learner_steps += 1
        if self._learner_steps % self.config.target_update_period_learner_steps == 0:
            self._update_target(self.config.target_update_tau)
        td_error = out.td_error.detach()
        return {
            "loss": float(mean_loss.detach()),
            "q_mean": float((out.target - td_error).mean()),  # td = target - q[a]
            "grad_norm": float(grad_norm),
            "learner_steps": self._learner_steps,
            "td_error": td_error.numpy().astype(np.float32),
        }

    def compute_td_error(self, batch: SampleBatch) -> np.ndarray:
        """TD errors of ``batch`` without learning (initial priorities for Ape-X evaluators).

        Args:
            batch: The columns :meth:`learn` needs (``weights`` is ignored).

        Returns:
            ``[B]`` float32 ``target - Q(obs, actions)``.
        """
        with torch.no_grad():
            out = self._loss_output(self._batch_tensors(batch))
        return out.td_error.numpy().astype(np.float32)

    def _loss_output(self, t: Mapping[str, torch.Tensor]) -> LossOutput:
        q_tm1: torch.Tensor = self._online(t["obs"])
        # Only q_tm1 needs a graph: the bootstrap side is a constant target (the losses detach
        # it too; no_grad here just skips building graphs for the next_obs forward passes).
        with torch.no_grad():
            q_t_value: torch.Tensor = self._target(t["next_obs"])
            q_t_selector: torch.Tensor | None = (
                self._online(t["next_obs"]) if self.config.double_q else None
            )
        args = (q_tm1, t["actions"], t["rewards"], t["discounts"], q_t_value)
        if q_t_selector is None:
            return q_learning(*args, huber_delta=self.config.huber_delta)
        return double_q_learning(*args, q_t_selector, huber_delta=self.config.huber_delta)

    def _batch_tensors(self, batch: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        missing = [name for name in REQUIRED_COLUMNS if name not in batch]
        if missing:
            raise ValueError(f"DQNPolicy: batch lacks column(s) {missing}; it has {list(batch)}")
        tensors = {
            "obs": self._obs_tensor(batch["obs"], "obs"),
            "next_obs": self._obs_tensor(batch["next_obs"], "next_obs"),
            "actions": torch.as_tensor(np.asarray(batch["actions"]) - self._action_start).long(),
        }
        scalars = ["rewards", "discounts"] + (["weights"] if "weights" in batch else [])
        for name in scalars:
            tensors[name] = torch.as_tensor(np.asarray(batch[name]), dtype=torch.float32)
        for name in ("actions", *scalars):
            if tensors[name].dim() != 1:
                raise ValueError(
                    f"DQNPolicy: column {name!r} must be [B], got {tuple(tensors[name].shape)}"
                )
        return tensors

    def _obs_tensor(self, obs: np.ndarray, name: str) -> torch.Tensor:
        array = np.asarray(obs)
        if array.shape[1:] != self._obs_shape or array.ndim != len(self._obs_shape) + 1:
            raise ValueError(
                f"DQNPolicy: {name} must be [B, *{self._obs_shape}], got shape {array.shape}"
            )
        return torch.as_tensor(array, dtype=torch.float32)

    def _update_target(self, tau: float) -> None:
        with torch.no_grad():
            for target, online in zip(
                self._target.parameters(), self._online.parameters(), strict=True
            ):
                target.lerp_(online, tau)  # tau == 1.0 is an exact copy

    # -- weights and checkpoints ----------------------------------------------------------------

    def get_weights(self) -> Weights:
        """The online network's parameters as named float32 arrays (copies).

        Returns:
            ``{state_dict key: array}``; the target network and optimizer are not included.
        """
        return {k: v.detach().numpy().copy() for k, v in self._online.state_dict().items()}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads online-network parameters from :meth:`get_weights` and syncs the target to them.

        Syncing the target keeps a policy built from weights self-consistent; a learner
        resuming training should use :meth:`load_state_dict` instead.

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it.
        """
        load_module_arrays(self._online, weights, "weights")
        self._update_target(1.0)

    def state_dict(self) -> dict[str, Any]:
        """A checkpoint of everything learning needs, as tensors and plain numbers.

        Safe for ``torch.save`` and ``torch.load(weights_only=True)``. Exploration's random
        stream is not included: restoring it is the evaluator's business, and epsilon is.

        Returns:
            ``online``/``target`` network state dicts, ``optimizer`` (Adam state),
            ``learner_steps`` and ``epsilon``; tensors are copies.
        """
        return {
            "online": {k: v.detach().clone() for k, v in self._online.state_dict().items()},
            "target": {k: v.detach().clone() for k, v in self._target.state_dict().items()},
            "optimizer": self._optimizer().state_dict(),
            "learner_steps": self._learner_steps,
            "epsilon": self._epsilon,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores a checkpoint made by :meth:`state_dict`.

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it.
        """
        check_keys(set(state), {"online", "target", "optimizer", "learner_steps", "epsilon"}, "")
        load_module_arrays(self._online, state["online"], "state['online']")
        load_module_arrays(self._target, state["target"], "state['target']")
        self._optimizer().load_state_dict(state["optimizer"])
        self._learner_steps = int(state["learner_steps"])
        self.epsilon = float(state["epsilon"])
