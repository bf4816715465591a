"""Experience replay, composed of small parts (TorchRL's storage + sampler; Dopamine's sum tree).

- :class:`CircularStorage` keeps named numpy columns, FIFO, up to a capacity;
  :class:`FrameStackStorage` does the same with frame-stack observations stored a frame at a
  time, each distinct frame once (in a :class:`~rlactors.replay.frame_pool.FramePool`).
- :class:`UniformSampler` and :class:`PrioritizedSampler` choose which stored rows to replay; the
  latter walks a :class:`SumTree`.
- :class:`ReplayBuffer` composes a storage and a sampler: ``add``, ``sample``,
  ``update_priorities``, ``state_dict``.
- :class:`NStepAccumulator` turns one environment stream into n-step transitions before they are
  added; :class:`VectorNStepAccumulator` does it for K streams stepped in lockstep, with array
  operations.
"""

from rlactors.replay.buffer import ReplayBuffer, ReplaySample
from rlactors.replay.frame_storage import FrameStackStorage
from rlactors.replay.nstep import NStepAccumulator, VectorNStepAccumulator
from rlactors.replay.samplers import PrioritizedSampler, Sampler, UniformSampler, check_priorities
from rlactors.replay.storage import CircularStorage
from rlactors.replay.sum_tree import SumTree

__all__ = [
    "CircularStorage",
    "FrameStackStorage",
    "NStepAccumulator",
    "VectorNStepAccumulator",
    "PrioritizedSampler",
    "ReplayBuffer",
    "ReplaySample",
    "Sampler",
    "SumTree",
    "UniformSampler",
    "check_priorities",
]
