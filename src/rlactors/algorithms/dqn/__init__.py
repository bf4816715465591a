"""DQN (Mnih et al., 2015) with n-step returns, double-Q, dueling and prioritized replay.

``config.py`` holds :class:`DQNConfig` (no torch, for the CLI); ``algorithm.py`` composes the
evaluators, the replay optimizer and the learner into :class:`DQN`, imported on first use so
that reading the config does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlactors.algorithms.dqn.config import DQNConfig

if TYPE_CHECKING:
    from rlactors.algorithms.dqn.algorithm import DQN

__all__ = ["DQN", "DQNConfig"]


def __getattr__(name: str) -> Any:
    if name == "DQN":
        from rlactors.algorithms.dqn.algorithm import DQN

        return DQN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
