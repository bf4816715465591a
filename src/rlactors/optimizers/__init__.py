"""Optimizers: how evaluators, replay and learning are coordinated (``step() -> stats``).

* :class:`SyncReplayOptimizer` — evaluator actors sample in rounds, one learner in this process
  trains from a replay buffer (DQN).
* :class:`LinearSchedule` — epsilon and beta as functions of env steps.
"""

from rlactors.optimizers.schedules import LinearSchedule
from rlactors.optimizers.sync_replay import SyncReplayConfig, SyncReplayOptimizer

__all__ = ["LinearSchedule", "SyncReplayConfig", "SyncReplayOptimizer"]
