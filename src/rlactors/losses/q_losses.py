"""Q-learning losses with trfl's names: ``q_tm1, a_tm1, r_t, discount_t, q_t``.

``tm1`` is "t minus 1": the transition goes from ``s_tm1`` with action ``a_tm1`` to ``s_t`` with
reward ``r_t``. In rlactors the transitions are n-step ones and arrive precomputed (see
:class:`rlactors.core.SampleBatch`): ``r_t`` is already the discounted n-step return and
``discount_t`` is ``gamma**n`` (0 where the episode terminated inside the n steps), so these
functions are the same for one-step and n-step targets.

Every loss returns the unreduced per-sample loss ``[B]`` together with the TD error ``[B]``:
the caller weights and reduces the loss (importance-sampling weights of prioritized replay), and
prioritized replay takes its new priorities from the TD error.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from rlactors.losses.huber import huber_loss


class LossOutput(NamedTuple):
    """The result of a Q-learning loss.

    Attributes:
        loss: ``[B]`` per-sample loss, unreduced (weight it, then take the mean).
        td_error: ``[B]`` ``target - q_tm1[a_tm1]``. It carries gradient through ``q_tm1``;
            detach it before using it as a priority.
        target: ``[B]`` ``r_t + discount_t * q_t[a*]``, gradient stopped.
    """

    loss: torch.Tensor
    td_error: torch.Tensor
    target: torch.Tensor


def q_learning(
    q_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    q_t: torch.Tensor,
    huber_delta: float | None = 1.0,
) -> LossOutput:
    """Q-learning loss with a max over the target network (Mnih et al., 2015).

    ``target = r_t + discount_t * max_a q_t[a]`` (gradient stopped),
    ``td_error = target - q_tm1[a_tm1]``, ``loss = huber(td_error)``.

    Args:
        q_tm1: ``[B, A]`` online-network Q-values at ``s_tm1``.
        a_tm1: ``[B]`` integer actions taken at ``s_tm1``, in ``[0, A)``.
        r_t: ``[B]`` rewards (the discounted n-step return).
        discount_t: ``[B]`` discounts (``gamma**n``, or 0 at a terminal state).
        q_t: ``[B, A]`` target-network Q-values at ``s_t``.
        huber_delta: Huber threshold (see :func:`huber_loss`); None for ``0.5 * td_error**2``.

    Returns:
        :class:`LossOutput` with ``loss``, ``td_error`` and ``target``, each ``[B]``.

    Raises:
        ValueError: The shapes do not agree.
    """
    _check_shapes(q_tm1, a_tm1, r_t, discount_t, q_t=q_t)
    with torch.no_grad():
        bootstrap = q_t.max(dim=1).values
    return _td_loss(q_tm1, a_tm1, r_t, discount_t, bootstrap, huber_delta)


def double_q_learning(
    q_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    q_t_value: torch.Tensor,
    q_t_selector: torch.Tensor,
    huber_delta: float | None = 1.0,
) -> LossOutput:
    """Double Q-learning loss (van Hasselt, Guez and Silver, 2016).

    The online network picks the bootstrap action and the target network values it,
    ``target = r_t + discount_t * q_t_value[argmax_a q_t_selector[a]]`` (gradient stopped):
    decoupling selection from evaluation removes most of the overestimation bias of the max in
    :func:`q_learning`. Ties in the argmax go to the lowest action index.

    Args:
        q_tm1: ``[B, A]`` online-network Q-values at ``s_tm1``.
        a_tm1: ``[B]`` integer actions taken at ``s_tm1``, in ``[0, A)``.
        r_t: ``[B]`` rewards (the discounted n-step return).
        discount_t: ``[B]`` discounts (``gamma**n``, or 0 at a terminal state).
        q_t_value: ``[B, A]`` target-network Q-values at ``s_t`` (evaluate the action).
        q_t_selector: ``[B, A]`` online-network Q-values at ``s_t`` (select the action).
        huber_delta: Huber threshold (see :func:`huber_loss`); None for ``0.5 * td_error**2``.

    Returns:
        :class:`LossOutput` with ``loss``, ``td_error`` and ``target``, each ``[B]``.

    Raises:
        ValueError: The shapes do not agree.
    """
    _check_shapes(q_tm1, a_tm1, r_t, discount_t, q_t_value=q_t_value, q_t_selector=q_t_selector)
    with torch.no_grad():
        best_t = q_t_selector.argmax(dim=1, keepdim=True)
        bootstrap = q_t_value.gather(1, best_t).squeeze(1)
    return _td_loss(q_tm1, a_tm1, r_t, discount_t, bootstrap, huber_delta)


def _td_loss(
    q_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    bootstrap_t: torch.Tensor,
    huber_delta: float | None,
) -> LossOutput:
    # The target is a constant for this update (Mnih et al., 2015): without the stop-gradient,
    # the loss would also pull the bootstrap value towards the prediction.
    target = (r_t + discount_t * bootstrap_t).detach()
    qa_tm1 = q_tm1.gather(1, a_tm1.long().unsqueeze(1)).squeeze(1)
    td_error = target - qa_tm1
    loss = 0.5 * td_error.square() if huber_delta is None else huber_loss(td_error, huber_delta)
    return LossOutput(loss=loss, td_error=td_error, target=target)


def _check_shapes(
    q_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    **q_t: torch.Tensor,
) -> None:
    if q_tm1.dim() != 2:
        raise ValueError(f"q_tm1 must be [B, A], got shape {tuple(q_tm1.shape)}")
    batch = q_tm1.shape[0]
    for name, value in (("a_tm1", a_tm1), ("r_t", r_t), ("discount_t", discount_t)):
        if value.shape != (batch,):
            raise ValueError(f"{name} must be [B]=[{batch}], got shape {tuple(value.shape)}")
    if a_tm1.is_floating_point() or a_tm1.is_complex():
        raise ValueError(f"a_tm1 must hold integer actions, got dtype {a_tm1.dtype}")
    for name, value in q_t.items():
        if value.shape != q_tm1.shape:
            raise ValueError(
                f"{name} must be [B, A]={tuple(q_tm1.shape)} like q_tm1, "
                f"got shape {tuple(value.shape)}"
            )
