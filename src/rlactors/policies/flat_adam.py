"""FlatAdam: Adam over parameters that live in one flat buffer, a handful of tensor ops a step.

The update is ``torch.optim.Adam``'s (Kingma and Ba, 2015; no weight decay, no AMSGrad), op for
op, so the parameters follow the same trajectory. What differs is the bookkeeping, which on the
small networks of classic-control RL is most of the cost:

* the parameters and their gradients are views of two flat buffers, so zeroing, clipping and
  the Adam update are each one to five ops on one tensor instead of a few per parameter;
  ``torch.optim.Adam`` spent ~110 us of Python per step on a (128, 128) Q-network's eight
  tensors, a tenth of the learner step;
* building it imports nothing: constructing any ``torch.optim`` optimizer imports
  ``torch._dynamo``, ~1 s of start-up for every process that learns.

Usage::

    adam = FlatAdam(list(net.parameters()), lr=1e-3)
    adam.zero_grad()
    loss.backward()                       # accumulates into the flat gradient buffer
    norm = adam.clip_grad_norm(10.0)      # global L2 norm before clipping
    adam.step()

Its :meth:`~FlatAdam.state_dict` is ``torch.optim.Adam``'s format (one entry per parameter), so
checkpoints written with either load into the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch


class FlatAdam:
    """Adam over ``params``, whose storage it moves into one flat buffer.

    Args:
        params: The parameters (leaf tensors that require grad). From here on each one is a
            view of :attr:`params` and its ``.grad`` a view of :attr:`grads`, which backward
            accumulates into: zero them before each backward (:meth:`zero_grad`) and do not
            set a ``.grad`` to None.
        lr: Step size.
        betas: Decay rates of the first and second moment estimates.
        eps: Added to the denominator.

    Raises:
        ValueError: No parameters, or parameters of different dtypes or devices.
    """

    def __init__(
        self,
        params: Sequence[torch.nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if not params:
            raise ValueError("FlatAdam needs at least one parameter")
        first = params[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in params):
            raise ValueError("FlatAdam: every parameter must have the same dtype and device")
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self._shapes = [p.shape for p in params]
        self._bound = list(params)
        numel = sum(p.numel() for p in params)
        #: Every parameter, flat (the parameters are views of it).
        self.params = torch.empty(numel, dtype=first.dtype, device=first.device)
        #: Every gradient, flat (each parameter's ``.grad`` is a view of it).
        self.grads = torch.zeros_like(self.params)
        self._attach()
        self._exp_avg = torch.zeros_like(self.params)
        self._exp_avg_sq = torch.zeros_like(self.params)
        self.steps = 0

    def _attach(self) -> None:
        """Make each parameter a view of :attr:`params` (taking its value) and its ``.grad`` a
        view of :attr:`grads`."""
        offset = 0
        with torch.no_grad():
            for param in self._bound:
                n = param.numel()
                view = self.params[offset : offset + n].view_as(param)
                view.copy_(param)
                param.data = view
                param.grad = self.grads[offset : offset + n].view_as(param)
                offset += n

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A copy (copy.deepcopy of a policy, or pickle) gets new parameters, cloned out of the
        # flat buffer without their .grad: attach them again, or the copy would step a buffer
        # its network no longer reads and never learn.
        self.__dict__.update(state)
        self._attach()

    def zero_grad(self) -> None:
        """Set every gradient to zero (in place: the views stay attached)."""
        self.grads.zero_()

    def clip_grad_norm(self, max_norm: float | None) -> torch.Tensor:
        """Scale the gradients to a global L2 norm of at most ``max_norm`` (None: leave them).

        As ``torch.nn.utils.clip_grad_norm_``: multiplied by ``max_norm / (norm + 1e-6)`` when
        that is below 1.

        Returns:
            The norm before clipping (a 0-d tensor).
        """
        norm: torch.Tensor = torch.linalg.vector_norm(self.grads)
        if max_norm is not None:
            self.grads.mul_(torch.clamp(max_norm / (norm + 1e-6), max=1.0))
        return norm

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter from its gradient."""
        self.steps += 1
        beta1, beta2 = self.betas
        # torch.optim.Adam's single-tensor update, in its order of operations.
        self._exp_avg.lerp_(self.grads, 1 - beta1)
        self._exp_avg_sq.mul_(beta2).addcmul_(self.grads, self.grads, value=1 - beta2)
        bias_correction1 = 1 - beta1**self.steps
        bias_correction2_sqrt = math.sqrt(1 - beta2**self.steps)
        denom = (self._exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
        self.params.addcdiv_(self._exp_avg, denom, value=-self.lr / bias_correction1)

    def state_dict(self) -> dict[str, Any]:
        """The moments and step count in ``torch.optim.Adam.state_dict()``'s format (copies)."""
        state: dict[int, dict[str, torch.Tensor]] = {}
        if self.steps:
            step = torch.tensor(float(self.steps))
            for i, (avg, avg_sq) in enumerate(
                zip(self._split(self._exp_avg), self._split(self._exp_avg_sq), strict=True)
            ):
                state[i] = {
                    "step": step.clone(),
                    "exp_avg": avg.clone(),
                    "exp_avg_sq": avg_sq.clone(),
                }
        group = {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": 0,
            "amsgrad": False,
            "maximize": False,
            "params": list(range(len(self._shapes))),
        }
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (or ``torch.optim.Adam``'s, for the same parameters).

        The moments and the step count are restored; ``lr``, ``betas`` and ``eps`` stay this
        optimizer's own, as a config sets them.

        Raises:
            ValueError: The state is for other parameters (count or shapes differ).
        """
        groups = state_dict["param_groups"]
        count = sum(len(g["params"]) for g in groups)
        if count != len(self._shapes):
            raise ValueError(
                f"optimizer state for {count} parameters, this optimizer has {len(self._shapes)}"
            )
        per_param = state_dict["state"]
        if not per_param:
            self._exp_avg.zero_()
            self._exp_avg_sq.zero_()
            self.steps = 0
            return
        steps = set()
        with torch.no_grad():
            for i, (avg, avg_sq) in enumerate(
                zip(self._split(self._exp_avg), self._split(self._exp_avg_sq), strict=True)
            ):
                entry = per_param[i]
                for name, dest in (("exp_avg", avg), ("exp_avg_sq", avg_sq)):
                    value = torch.as_tensor(entry[name])
                    if value.shape != dest.shape:
                        raise ValueError(
                            f"optimizer state: {name} of parameter {i} has shape "
                            f"{tuple(value.shape)}, expected {tuple(dest.shape)}"
                        )
                    dest.copy_(value)
                steps.add(int(entry["step"]))
        self.steps = max(steps)

    def _split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """``flat`` cut into views shaped like the parameters."""
        views, offset = [], 0
        for shape in self._shapes:
            n = math.prod(shape)
            views.append(flat[offset : offset + n].view(shape))
            offset += n
        return views
