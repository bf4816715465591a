"""IMPALA's learner step: V-trace targets and the actor-critic loss on a batch of trajectories.

Espeholt et al. (2018), section 4.2: with V-trace targets ``v_s`` and advantages
``rho_s * (r_s + gamma * v_{s+1} - V(x_s))`` (both from :func:`rlactors.losses.vtrace`), the
loss is ``-log pi(a_s|x_s) * advantage + value_coef * 0.5 * (v_s - V(x_s))**2 -
entropy_coef * H(pi(.|x_s))``, averaged over the batch. The learner's current network gives
``pi`` and ``V``; the evaluators' recorded log-probs give ``mu``.

Steps lost with a crashed env (an optional ``crashed`` column, see
:mod:`rlactors.evaluators.actor_critic`) keep their place in the ``[T, K]`` layout the
recursion needs, but teach nothing: their reward is this learner's ``V(x_s)`` with discount 0, so
their TD error is 0 and the step before them bootstraps from ``V(x_s)`` as a truncation would;
and they are left out of every mean of the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlactors.core import SampleBatch
from rlactors.learners.actor_critic import ActorCriticLearner
from rlactors.losses import vtrace

#: Columns of a trajectory rollout (``ActorCriticEvaluator`` with ``gae_lambda=None``).
TRAJECTORY_COLUMNS = (
    "obs",
    "actions",
    "log_probs",
    "rewards",
    "discounts",
    "truncated",
    "next_obs",
)

#: An optional column: True where the step was lost with a crashed env (rebuilt since).
CRASHED = "crashed"


@dataclass(frozen=True)
class VTraceLearnerConfig:
    """V-trace's thresholds and the loss weights of :class:`VTraceLearner`."""

    rollout_steps: int
    """T of every rollout: rows are time-major, ``t * K + k``."""

    gamma: float = 0.99
    """Discount per env step (to bootstrap time-limit truncations)."""

    rho_bar: float = 1.0
    """Truncation of the importance weights in the value targets (the paper's rho-bar)."""

    c_bar: float = 1.0
    """Truncation of the trace coefficients (the paper's c-bar)."""

    value_coef: float = 0.5
    """Weight of the value loss."""

    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""


class VTraceLearner:
    """Callable on a list of rollout batches: one Adam step of the V-trace actor-critic loss.

    Args:
        learner: The actor-critic learner whose policy IMPALA trains.
        config: Thresholds and weights.
    """

    def __init__(self, learner: ActorCriticLearner, config: VTraceLearnerConfig) -> None:
        self.learner = learner
        self.policy = learner.policy
        self.config = config

    def __call__(self, batches: list[SampleBatch]) -> dict[str, float]:
        """Learn on ``batches`` (each ``T * K_i`` rows), side by side as ``[T, sum K_i]``.

        Returns:
            ``loss``, ``policy_loss``, ``value_loss``, ``entropy``, ``grad_norm`` and
            ``rho_mean`` (the mean untruncated importance weight, 1 when on-policy).

        Raises:
            ValueError: A column is missing or a batch is not a whole number of ``T`` steps.
        """
        c = self.config
        columns = {name: self._time_major(batches, name) for name in TRAJECTORY_COLUMNS}
        crashed = None
        if all(CRASHED in batch for batch in batches):
            crashed = self._time_major(batches, CRASHED).astype(bool)
            if not crashed.any():
                crashed = None
        steps, width = columns["log_probs"].shape[:2]
        flat = steps * width
        obs = columns["obs"].reshape(flat, *columns["obs"].shape[2:])
        actions = columns["actions"].reshape(flat, *columns["actions"].shape[2:])
        log_probs, entropy, values = self.policy.evaluate_actions(obs, actions)
        rewards = torch.as_tensor(columns["rewards"], dtype=torch.float32)
        with torch.no_grad():
            bootstrap = torch.as_tensor(self.policy.value(columns["next_obs"][-1]))
            truncated = columns["truncated"]
            if crashed is not None:
                truncated = truncated & ~crashed
            if truncated.any():
                # A time limit is not terminal (Pardo et al., 2018): fold gamma * V(s_T) into
                # the reward; the evaluator already set the discount there to 0.
                final_values = self.policy.value(columns["next_obs"][truncated])
                rewards[torch.from_numpy(truncated)] += c.gamma * torch.from_numpy(final_values)
        values_tm = values.reshape(steps, width)
        keep: torch.Tensor | None = None
        if crashed is not None:
            lost = torch.from_numpy(crashed)
            rewards[lost] = values_tm.detach()[lost]  # TD error 0 (the discount there is 0)
            keep = ~lost.reshape(flat)

        def mean(rows: torch.Tensor) -> torch.Tensor:
            """The mean over the steps that were not lost to a crash."""
            return rows.mean() if keep is None else rows.reshape(flat)[keep].mean()

        target = vtrace(
            torch.as_tensor(columns["log_probs"]),
            log_probs.detach().reshape(steps, width),
            rewards,
            values_tm.detach(),
            bootstrap,
            torch.as_tensor(columns["discounts"]),
            rho_bar=c.rho_bar,
            c_bar=c.c_bar,
        )
        policy_loss = mean(-(log_probs * target.pg_advantages.reshape(flat)))
        value_loss = 0.5 * mean((target.vs.reshape(flat) - values).square())
        entropy_mean = mean(entropy)
        loss = policy_loss + c.value_coef * value_loss - c.entropy_coef * entropy_mean
        grad_norm = self.learner.gradient_step(loss)
        with torch.no_grad():
            rho = (log_probs.reshape(steps, width) - torch.as_tensor(columns["log_probs"])).exp()
        return {
            "loss": float(loss.detach()),
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "entropy": float(entropy_mean.detach()),
            "grad_norm": grad_norm,
            "rho_mean": float(mean(rho)),
        }

    def _time_major(self, batches: list[SampleBatch], name: str) -> np.ndarray:
        """Column ``name`` of every batch as ``[T, sum K, ...]``."""
        steps = self.config.rollout_steps
        parts = []
        for batch in batches:
            if name not in batch:
                raise ValueError(
                    f"VTraceLearner: batch lacks column {name!r}; it has {list(batch)}"
                )
            column = np.asarray(batch[name])
            if len(column) % steps:
                raise ValueError(
                    f"VTraceLearner: {len(column)} rows is not a whole number of "
                    f"rollout_steps={steps}"
                )
            parts.append(column.reshape(steps, len(column) // steps, *column.shape[1:]))
        return np.concatenate(parts, axis=1)
