"""PPOConfig: every knob of PPO, with units in the names.

Defaults are RL-Zoo's tuned CartPole-v1 PPO (8 envs, 32 steps each per rollout, 20 epochs of
minibatch 256, gae_lambda 0.8, gamma 0.98, learning rate and clip range 1e-3 and 0.2 decaying
linearly, no entropy bonus), spread over 2 evaluators of 4 envs.

No torch here: the CLI reads this class to build ``rlactors train ppo --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlactors.algorithms.multi_agent_config import MultiAgentActorCriticConfig
from rlactors.validation import check_positive_ints, check_positive_numbers


@dataclass(frozen=True)
class PPOConfig(MultiAgentActorCriticConfig):
    """Configuration of :class:`rlactors.algorithms.ppo.PPO`."""

    max_env_steps: int = 200_000
    """Budget: training stops before it would take more env steps than this."""

    gamma: float = 0.98
    """Discount per env step (RL-Zoo's CartPole value)."""

    gae_lambda: float = 0.8
    """GAE lambda (RL-Zoo's CartPole value)."""

    learning_rate: float = 1e-3
    """Adam step size at the start."""

    learning_rate_schedule: Literal["constant", "linear"] = "linear"
    """Decay the step size linearly to 0 at ``max_env_steps``."""

    normalize_advantages: bool = True
    """Normalize advantages per minibatch."""

    value_coef: float = 1.0
    """Weight of the value loss ``0.5 * (V(s) - R)**2``. 1.0 is SB3's (and so RL-Zoo's) scale:
    its ``vf_coef`` 0.5 weighs a mean squared error without the half. Over 10 CartPole seeds
    0.5 solved at a median of 26,624 env steps, 1.0 at 20,480, as SB3 did."""

    num_epochs: int = 20
    """Passes over each round's batch."""

    minibatch_size: int = 256
    """Rows per gradient step."""

    clip_epsilon: float = 0.2
    """Ratio clip range (at the start, with ``clip_schedule`` linear)."""

    clip_schedule: Literal["constant", "linear"] = "linear"
    """``linear`` decays the clip range to 0 at ``max_env_steps``, as RL-Zoo's ``lin_0.2``."""

    value_clip_epsilon: float | None = None
    """Value clip range in return units (PPO2's value clipping); None for none."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        super().__post_init__()
        check_positive_ints(self, "num_epochs", "minibatch_size")
        check_positive_numbers(self, "clip_epsilon")
        check_positive_numbers(self, "value_clip_epsilon", none_ok=True)
