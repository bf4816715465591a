"""QLearningConfig: the fields DQN and Ape-X share, the run's plus n-step Q-learning's.

The returns (``n_step``, ``gamma``), the rollouts, replay's capacity and batch, the Q-network
and the learner step, and the multi-agent fields (:class:`MultiAgentFields`: the role mapping,
scripted opponents, self-play), which a multi-role env reads (turn-based games with action
masks; see :mod:`rlactors.algorithms.multi_agent_q`).
:class:`~rlactors.algorithms.dqn.DQNConfig` and :class:`~rlactors.algorithms.apex.ApexConfig`
extend it with their own sampling, exploration and replay fields; Ape-X re-declares, saying
why, the defaults it tuned on its own. No torch here: the CLI reads these classes to build
``rlactors train dqn --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlactors.algorithms.multi_agent_config import MultiAgentFields
from rlactors.algorithms.run_config import RunConfig
from rlactors.validation import (
    check_fractions,
    check_layer_widths,
    check_positive_ints,
    check_positive_numbers,
    shown,
)


@dataclass(frozen=True)
class QLearningConfig(MultiAgentFields, RunConfig):
    """Fields of every Q-learning algorithm's config (DQN's defaults)."""

    # -- sampling ---------------------------------------------------------------------------------

    rollout_steps: int = 256
    """Lockstep steps per rollout of an evaluator; a rollout (this many steps of each of its
    envs) reaches replay as one batch."""

    n_step: int = 3
    """Env steps summed into each transition's return (n-step Q-learning)."""

    gamma: float = 0.99
    """Discount per env step."""

    # -- replay -----------------------------------------------------------------------------------

    buffer_capacity_transitions: int = 100_000
    """Replay capacity in (n-step) transitions, across all replay shards (FIFO eviction)."""

    batch_size: int = 64
    """Transitions per learner step."""

    store_frames_once: bool = True
    """Frame-stack observations (uint8/bool ``[k, H, W]`` with ``k < H, W``: Atari's
    ``[4, 84, 84]``) are kept one frame at a time, each distinct frame once (~7 KB a transition
    instead of ~56 KB; see docs/pixels.md); false stores every transition's stacks in full.
    What is sampled is the same either way, and other observations are stored in full."""

    # -- the network ------------------------------------------------------------------------------

    hidden_sizes: tuple[int, ...] = (256, 256)
    """Widths of the Q-network's hidden ReLU layers."""

    dueling: bool = True
    """Dueling head (Wang et al., 2016)."""

    encoder: Literal["auto", "flat", "cnn"] = "auto"
    """How the network reads observations: ``auto`` is ``cnn`` for image-shaped Box
    observations, else ``flat`` (Box parts flattened, Discrete parts one-hot)."""

    action_mask_key: str = "action_mask"
    """Dict observation key of the legal actions (1 = legal), honoured when acting, exploring
    and learning."""

    # -- the learner ------------------------------------------------------------------------------

    double_q: bool = True
    """Double-Q targets (van Hasselt et al., 2016)."""

    learning_rate: float = 2.3e-3
    """Adam step size."""

    huber_delta: float | None = 1.0
    """TD error (return units) where the Huber loss turns linear; None for squared loss."""

    max_grad_norm: float | None = 10.0
    """Clip the gradient's global L2 norm to this; None to skip clipping."""

    target_update_period_learner_steps: int = 128
    """Copy the online network into the target network every this many learner steps."""

    def __post_init__(self) -> None:
        """Checks these fields, then the run's, then the multi-agent ones.

        Raises:
            ValueError: A field is out of range; the message names it as ``Class.field``.
        """
        check_positive_ints(
            self,
            "rollout_steps",
            "n_step",
            "buffer_capacity_transitions",
            "batch_size",
            "target_update_period_learner_steps",
        )
        check_fractions(self, "gamma")
        check_layer_widths(self, "hidden_sizes")
        if not (isinstance(self.action_mask_key, str) and self.action_mask_key):
            raise ValueError(
                f"{type(self).__name__}.action_mask_key must name a Dict observation key, "
                f"got {shown(self.action_mask_key)}"
            )
        check_positive_numbers(self, "learning_rate")
        check_positive_numbers(self, "huber_delta", "max_grad_norm", none_ok=True)
        super().__post_init__()
        self.check_multi_agent_fields()
