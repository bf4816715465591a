"""ActorCriticLearner: Adam on an :class:`~rlactors.policies.ActorCriticPolicy`'s network, apart
from the policy that acts with it.

It serves every actor-critic algorithm: :meth:`ActorCriticLearner.learn` is one Adam step of the
A2C loss (Mnih et al., 2016); :meth:`~ActorCriticLearner.compute_gradients` and
:meth:`~ActorCriticLearner.apply_gradients` split that step across processes, as A3C's workers
and learner do; :meth:`~ActorCriticLearner.gradient_step` applies any other loss built from
``policy.evaluate_actions`` (PPO's, V-trace's: :mod:`rlactors.learners.ppo`,
:mod:`rlactors.learners.v_trace`) with the same Adam state.

The optimizer is :class:`~rlactors.policies.flat_adam.FlatAdam`: ``torch.optim.Adam``'s update,
but zeroing, clipping and stepping the network's few small tensors at once (a PPO minibatch
step on CartPole's (64, 64) network got ~25% cheaper), and building it imports nothing, where
any ``torch.optim`` optimizer imports ``torch._dynamo`` (~1 s per process).

Usage::

    policy = ActorCriticPolicy(obs_space, act_space, ActorCriticConfig(), seed=0)
    learner = ActorCriticLearner(policy, ActorCriticLearnerConfig())
    stats = learner.learn(batch)           # obs, actions, advantages, returns
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from rlactors.core import Learner, SampleBatch, Weights
from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
from rlactors.losses import a2c_loss, normalize_advantages
from rlactors.policies.actor_critic import ActorCriticPolicy
from rlactors.policies.arrays import check_keys
from rlactors.policies.flat_adam import FlatAdam
from rlactors.policies.normalization import RunningMeanStd
from rlactors.policies.weights import copy_into, load_module_arrays

#: Columns :meth:`ActorCriticLearner.learn` needs.
REQUIRED_COLUMNS = ("obs", "actions", "advantages", "returns")


class ActorCriticLearner(Learner):
    """Adam, the A2C loss and gradient exchange for an actor-critic policy.

    Args:
        policy: The policy to train (its network; its config is the networks' and acting's).
        config: Adam's step size and epsilon, gradient clipping and the A2C loss weights.
    """

    def __init__(self, policy: ActorCriticPolicy, config: ActorCriticLearnerConfig) -> None:
        self._policy = policy
        self.config = config
        self._learning_rate = config.learning_rate
        # Built now, not on first use: it moves the parameters into its flat buffers, and every
        # later view of them (state_dict, weights) should see the final storage.
        self._adam = FlatAdam(
            list(policy.network.parameters()), lr=self._learning_rate, eps=self.config.adam_epsilon
        )
        self._learner_steps = 0

    @property
    def policy(self) -> ActorCriticPolicy:
        """The policy this learner trains."""
        return self._policy

    def get_weights(self) -> Weights:
        """The policy's weights (network and observation statistics)."""
        return self._policy.get_weights()

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads the policy's weights (see ``ActorCriticPolicy.set_weights``)."""
        self._policy.set_weights(weights)

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
        for name, param in self._policy.network.named_parameters():
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
        for name, param in self._policy.network.named_parameters():
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
        if self._policy.obs_stats is not None:
            self._policy.obs_stats.merge(RunningMeanStd.from_state(state))

    def gradient_step(self, loss: torch.Tensor) -> float:
        """One Adam step on a scalar ``loss`` built from the policy's outputs (e.g. PPO's).

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
                f"ActorCriticLearner: batch lacks column(s) {missing}; it has {list(batch)}"
            )
        targets = {}
        for name in ("advantages", "returns"):
            targets[name] = torch.as_tensor(np.asarray(batch[name]), dtype=torch.float32)
            if targets[name].dim() != 1:
                raise ValueError(
                    f"ActorCriticLearner: column {name!r} must be [B], "
                    f"got {tuple(targets[name].shape)}"
                )
        log_probs, entropy, values = self._policy.evaluate_actions(batch["obs"], batch["actions"])
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
        if self._policy.obs_stats is not None:
            stats = {k: torch.as_tensor(v) for k, v in self._policy.obs_stats.get_state().items()}
        return {
            "network": {
                k: v.detach().clone() for k, v in self._policy.network.state_dict().items()
            },
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
        if (state["obs_stats"] is None) != (self._policy.obs_stats is None):
            raise ValueError(
                "state: observation statistics "
                f"{'missing' if state['obs_stats'] is None else 'unexpected'} "
                f"(normalize_observations={self._policy.obs_stats is not None})"
            )
        load_module_arrays(self._policy.network, state["network"], "state['network']")
        self._adam.load_state_dict(state["optimizer"])
        self._learner_steps = int(state["learner_steps"])
        self.set_learning_rate(float(state["learning_rate"]))
        if self._policy.obs_stats is not None:
            self._policy.obs_stats.set_state(
                {k: np.asarray(v) for k, v in state["obs_stats"].items()}
            )

    @property
    def learner_steps(self) -> int:
        """Number of optimizer steps so far (restored by :meth:`load_state_dict`)."""
        return self._learner_steps
