"""V-trace off-policy value targets (Espeholt et al., 2018, "IMPALA: Scalable Distributed Deep-RL
with Importance Weighted Actor-Learner Architectures", section 4).

In IMPALA the actors act with a policy ``mu`` that lags behind the learner's ``pi``. V-trace
corrects the n-step value targets with truncated importance weights: ``rho_bar`` decides which
value function the targets converge to (``V^pi`` for ``rho_bar = inf``, something between
``V^mu`` and ``V^pi`` below it), ``c_bar`` how fast (it truncates the trace, like Retrace).

Sequences are time-major ``[T, B]``, with the row layout of :mod:`rlactors.losses.advantages`:
``values[t] = V(x_t)``, ``rewards[t]`` and ``discounts[t]`` (``gamma * (1 - terminated)``) for the
transition ``x_t -> x_{t+1}``, and ``bootstrap_value = V(x_T)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from rlactors.losses.advantages_numpy import check_time_major


class VTraceOutput(NamedTuple):
    """V-trace targets, without gradient.

    Attributes:
        vs: ``[T, B]`` the value targets ``v_s`` (regress ``V(x_s)`` on them).
        pg_advantages: ``[T, B]`` ``min(pg_rho_bar, rho_s) * (r_s + discount_s * v_{s+1} -
            V(x_s))``, the advantages of the policy-gradient term (multiply by
            ``-log pi(a_s|x_s)`` for a loss); ``v_T = bootstrap_value``.
    """

    vs: torch.Tensor
    pg_advantages: torch.Tensor


def vtrace(
    behaviour_log_probs: torch.Tensor,
    target_log_probs: torch.Tensor,
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    discounts: torch.Tensor,
    rho_bar: float = 1.0,
    c_bar: float = 1.0,
    pg_rho_bar: float = 1.0,
) -> VTraceOutput:
    """V-trace targets ``v_s`` and policy-gradient advantages (Espeholt et al., 2018).

    With ``rho_t = min(rho_bar, pi(a_t|x_t) / mu(a_t|x_t))``, ``c_i = min(c_bar, pi / mu)`` and
    ``delta_t V = rho_t * (r_t + discount_t * V(x_{t+1}) - V(x_t))``, the paper's definition
    (equation 1) is ``v_s = V(x_s) + sum_{t>=s} (prod_{i=s}^{t-1} discount_i * c_i) delta_t V``;
    it is computed with the equivalent recursion (their Remark 1)
    ``v_s - V(x_s) = delta_s V + discount_s * c_s * (v_{s+1} - V(x_{s+1}))``. A discount of 0
    cuts both the sum and the recursion at an episode end. On-policy (``pi = mu``) and with
    ``rho_bar, c_bar >= 1``, ``v_s`` is the n-step return bootstrapped at ``T``.

    Targets are constants for the update, so everything is computed without gradient.

    Args:
        behaviour_log_probs: ``[T, B]`` ``log mu(a_t|x_t)``, recorded by the actor.
        target_log_probs: ``[T, B]`` ``log pi(a_t|x_t)`` under the learner's policy.
        rewards: ``[T, B]`` rewards.
        values: ``[T, B]`` ``V(x_t)`` from the learner's critic.
        bootstrap_value: ``[B]`` ``V(x_T)``.
        discounts: ``[T, B]`` ``gamma * (1 - terminated)``.
        rho_bar: Truncation of the importance weights in ``delta_t V``, > 0 (``inf`` for none).
        c_bar: Truncation of the trace coefficients ``c_i``, > 0; the paper assumes
            ``rho_bar >= c_bar``.
        pg_rho_bar: Truncation of the importance weight in ``pg_advantages``, > 0.

    Returns:
        :class:`VTraceOutput` with ``vs`` and ``pg_advantages``, each ``[T, B]``.

    Raises:
        ValueError: The shapes do not agree, or a threshold is not positive.
    """
    check_time_major(
        "vtrace",
        bootstrap_value,
        behaviour_log_probs=behaviour_log_probs,
        target_log_probs=target_log_probs,
        rewards=rewards,
        values=values,
        discounts=discounts,
    )
    for name, value in (("rho_bar", rho_bar), ("c_bar", c_bar), ("pg_rho_bar", pg_rho_bar)):
        if not (value > 0.0 and not math.isnan(value)):
            raise ValueError(f"vtrace: {name} must be positive, got {value}")

    with torch.no_grad():
        # Ratios in log space, exponentiated once: pi/mu of tiny probabilities stays finite.
        ratios = (target_log_probs - behaviour_log_probs).exp()
        rhos = ratios.clamp(max=rho_bar)
        cs = ratios.clamp(max=c_bar)
        next_values = torch.cat([values[1:], bootstrap_value.unsqueeze(0)], dim=0)
        deltas = rhos * (rewards + discounts * next_values - values)

        # Backward recursion over T for vs - V(x_s); starts from v_T - V(x_T) = 0.
        vs_minus_v = torch.empty_like(deltas)
        acc = torch.zeros_like(bootstrap_value, dtype=deltas.dtype)
        for t in range(deltas.shape[0] - 1, -1, -1):
            acc = deltas[t] + discounts[t] * cs[t] * acc
            vs_minus_v[t] = acc
        vs = vs_minus_v + values

        # The policy gradient uses q_s = r_s + discount_s * v_{s+1} (section 4.2).
        next_vs = torch.cat([vs[1:], bootstrap_value.unsqueeze(0)], dim=0)
        pg_rhos = ratios.clamp(max=pg_rho_bar)
        pg_advantages = pg_rhos * (rewards + discounts * next_vs - values)
        return VTraceOutput(vs=vs, pg_advantages=pg_advantages)
