"""Schedules: a hyperparameter as a function of training progress (env steps, usually)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinearSchedule:
    """Goes linearly from ``start`` to ``end`` over ``duration`` steps, then stays at ``end``.

    Used for DQN's epsilon (Mnih et al., 2015: 1.0 -> 0.1 over the first million frames) and
    for prioritized replay's importance-sampling exponent beta (Schaul et al., 2016). A pure
    function of the step, so a restored run needs only its step counter to resume it.

    Attributes:
        start: Value at step 0.
        end: Value from step ``duration`` on.
        duration: Steps over which the value moves; 0 gives ``end`` at once.
    """

    start: float
    end: float
    duration: int

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ValueError(f"LinearSchedule.duration must be >= 0, got {self.duration}")

    def __call__(self, step: int) -> float:
        """The value at ``step`` (>= 0)."""
        if step >= self.duration:
            return self.end
        fraction = max(step, 0) / self.duration
        return self.start + fraction * (self.end - self.start)
