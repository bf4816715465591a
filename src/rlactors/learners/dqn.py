"""DQNLearner: the Q-learning half of DQN, apart from the policy it trains.

The pieces follow the papers the Ape-X agent (Horgan et al., 2018) combines: a target network
and Huber (error-clipped) loss from Mnih et al. (2015), double-Q targets from van Hasselt et al.
(2016), and importance-sampling weights from prioritized replay (Schaul et al., 2016). n-step
returns arrive precomputed in the batch (``rewards`` is the discounted n-step return,
``discounts`` is ``gamma**n`` or 0), so gamma and n are not the learner's concern: they belong to
the n-step accumulator.

The learner trains its policy's network in place (an Acme-style learner owning the parameters
an actor reads): ``learner.policy`` acts with what was just learned, and
``learner.get_weights()`` is what evaluators receive.

Usage::

    policy = DQNPolicy(obs_space, act_space, DQNPolicyConfig(), seed=0)
    learner = DQNLearner(policy, DQNLearnerConfig())
    stats = learner.learn(batch)                  # SampleBatch of n-step transitions
    priorities = np.abs(stats["td_error"])        # [B], for prioritized replay
    evaluator.set_weights(learner.get_weights())
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from rlactors.core import Learner, SampleBatch, Weights
from rlactors.learners.dqn_config import DQNLearnerConfig
from rlactors.losses import LossOutput, double_q_learning, q_learning
from rlactors.policies.arrays import check_keys
from rlactors.policies.dqn import DQNPolicy
from rlactors.policies.dqn_config import REQUIRED_COLUMNS
from rlactors.policies.flat_adam import FlatAdam
from rlactors.policies.weights import load_module_arrays


class DQNLearner(Learner):
    """A target network, an Adam optimizer and the (double) Q-learning loss for a
    :class:`~rlactors.policies.DQNPolicy`; one gradient step per :meth:`learn`.

    Args:
        policy: The policy to train (its network; its config is the network's and acting's).
        config: The learner step: double-Q, Adam, the Huber loss, clipping, target updates.
    """

    def __init__(self, policy: DQNPolicy, config: DQNLearnerConfig) -> None:
        self._policy = policy
        self.config = config
        self._online = policy.network
        self._target = copy.deepcopy(self._online).requires_grad_(False)
        # Built on first use, as before the split: state_dict() of a fresh learner has one.
        self._adam: FlatAdam | None = None
        self._learner_steps = 0

    @property
    def policy(self) -> DQNPolicy:
        """The policy this learner trains (it acts with the learned network)."""
        return self._policy

    @property
    def learner_steps(self) -> int:
        """Number of :meth:`learn` calls so far (restored by :meth:`load_state_dict`)."""
        return self._learner_steps

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
        """TD errors of ``batch`` without learning (initial priorities, e.g. after a restore).

        Args:
            batch: The columns :meth:`learn` needs (``weights`` is ignored).

        Returns:
            ``[B]`` float32 ``target - Q(obs, actions)``.
        """
        with torch.no_grad():
            out = self._loss_output(self._batch_tensors(batch))
        return out.td_error.numpy().astype(np.float32)

    def _loss_output(self, t: Mapping[str, torch.Tensor]) -> LossOutput:
        q_tm1: torch.Tensor = self._online(t["obs"])["q"]
        # Only q_tm1 needs a graph: the bootstrap side is a constant target (the losses detach
        # it too; no_grad here just skips building graphs for the next_obs forward passes).
        # With an action mask, both bootstrap networks give illegal actions MASKED values, so
        # the max (or the double-Q argmax) ranges over the legal actions of next_obs.
        with torch.no_grad():
            q_t_value: torch.Tensor = self._target(t["next_obs"])["q"]
            q_t_selector: torch.Tensor | None = (
                self._online(t["next_obs"])["q"] if self.config.double_q else None
            )
        discounts = t["discounts"]
        legal_t = self._policy.legal_actions(t["next_obs"])
        if legal_t is not None:
            # A next state with no legal action (a game over, reached by truncation or at the
            # end of an n-step window) has nothing to bootstrap from: its all-MASKED row would
            # put -1e9 into the target (and into Ape-X's priorities) wherever discount > 0.
            discounts = discounts * legal_t.any(dim=1)
        args = (q_tm1, t["actions"], t["rewards"], discounts, q_t_value)
        if q_t_selector is None:
            return q_learning(*args, huber_delta=self.config.huber_delta)
        return double_q_learning(*args, q_t_selector, huber_delta=self.config.huber_delta)

    def _batch_tensors(self, batch: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        missing = [name for name in REQUIRED_COLUMNS if name not in batch]
        if missing:
            raise ValueError(f"DQNLearner: batch lacks column(s) {missing}; it has {list(batch)}")
        policy = self._policy
        tensors = {
            "obs": policy.obs_tensor(batch["obs"], "obs"),
            "next_obs": policy.obs_tensor(batch["next_obs"], "next_obs"),
            "actions": torch.as_tensor(np.asarray(batch["actions"]) - policy.action_start).long(),
        }
        scalars = ["rewards", "discounts"] + (["weights"] if "weights" in batch else [])
        for name in scalars:
            tensors[name] = torch.as_tensor(np.asarray(batch[name]), dtype=torch.float32)
        for name in ("actions", *scalars):
            if tensors[name].dim() != 1:
                raise ValueError(
                    f"DQNLearner: column {name!r} must be [B], got {tuple(tensors[name].shape)}"
                )
        return tensors

    def _update_target(self, tau: float) -> None:
        with torch.no_grad():
            for target, online in zip(
                self._target.parameters(), self._online.parameters(), strict=True
            ):
                target.lerp_(online, tau)  # tau == 1.0 is an exact copy

    # -- weights and checkpoints ----------------------------------------------------------------

    def get_weights(self) -> Weights:
        """The policy's weights (the online network's; the target network is not included)."""
        return self._policy.get_weights()

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Loads the policy's weights and syncs the target network to them.

        Syncing the target keeps a learner built from weights self-consistent; a learner
        resuming training should use :meth:`load_state_dict` instead.

        Raises:
            ValueError: A key is missing or unexpected, or a shape differs; the message names it.
        """
        self._policy.set_weights(weights)
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
            "epsilon": self._policy.epsilon,
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
        self._policy.epsilon = float(state["epsilon"])
