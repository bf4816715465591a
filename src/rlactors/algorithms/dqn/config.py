"""DQNConfig: every knob of the DQN algorithm, with units in the names.

Defaults solve CartPole-v1 (greedy mean return >= 475 over 20 episodes) in well under 100,000
env steps: 4,096 to 16,384 (median 12,288) on seeds 0-9 (``benchmarks/dqn_cartpole.py``).
They start from RL-Zoo's tuned CartPole DQN (lr 2.3e-3, batch 64, [256, 256], 128 learner
steps per 256 env steps, target synced every round, epsilon to 0.04) and add 3-step returns,
double-Q and a dueling head, as Ape-X does (Horgan et al., 2018).

The run, replay and network fields are :class:`QLearningConfig`'s (shared with Ape-X); this
class adds DQN's synchronous sampling, exploration schedule and optional prioritized replay.
No torch here: the CLI reads this class to build ``rlactors train dqn --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlactors.algorithms.q_learning_config import QLearningConfig
from rlactors.validation import (
    check_fractions,
    check_non_negative_ints,
    check_non_negative_numbers,
    check_positive_ints,
)


@dataclass(frozen=True)
class DQNConfig(QLearningConfig):
    """Configuration of :class:`rlactors.algorithms.dqn.DQN`."""

    backend: Literal["inline", "process"] = "inline"
    """Where the evaluator actors run: ``inline`` (this process) or ``process`` (one OS process
    each, sampling while the learner trains). Both give the same run, bit for bit. Inline is
    the default because with one evaluator sampling is ~15% of the time and, on a 2-core
    machine, a second busy process slowed the learner by as much as the overlap saved.
    Re-declared: DQN takes no ``ray`` backend, and its default is not the run's ``process``."""

    # -- sampling ---------------------------------------------------------------------------------

    num_evaluators: int = 1
    """Evaluator actors sampling in parallel (each with its own envs); a round is
    ``rollout_steps * num_envs_per_evaluator * num_evaluators`` env steps."""

    num_envs_per_evaluator: int = 1
    """Envs each evaluator steps in lockstep, with one batched policy call per step."""

    # -- exploration ------------------------------------------------------------------------------

    exploration_initial_epsilon: float = 1.0
    """Epsilon (probability of a uniformly random action) at the start."""

    exploration_final_epsilon: float = 0.04
    """Epsilon once the schedule ends."""

    exploration_fraction: float = 0.1
    """Fraction of ``max_env_steps`` over which epsilon decays linearly."""

    # -- replay -----------------------------------------------------------------------------------

    learning_starts_env_steps: int = 1000
    """No learner step before this many env steps were sampled."""

    train_steps_per_sample: int = 128
    """Learner steps per round of samples (RL-Zoo: 128 gradient steps per 256 env steps)."""

    prioritized_replay: bool = False
    """Proportional prioritized replay (Schaul et al., 2016) instead of uniform."""

    prioritized_replay_alpha: float = 0.6
    """Priority exponent (0: uniform)."""

    prioritized_replay_beta: float = 0.4
    """Initial importance-sampling exponent, annealed linearly to 1 over the budget."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it and the range.
        """
        if self.backend not in ("inline", "process"):
            raise ValueError(
                f"DQNConfig.backend must be 'inline' or 'process', got {self.backend!r}"
            )
        check_positive_ints(self, "num_evaluators", "num_envs_per_evaluator")
        check_non_negative_ints(self, "learning_starts_env_steps", "train_steps_per_sample")
        check_fractions(
            self,
            "exploration_initial_epsilon",
            "exploration_final_epsilon",
            "exploration_fraction",
            "prioritized_replay_beta",
        )
        check_non_negative_numbers(self, "prioritized_replay_alpha")
        super().__post_init__()
        if self.env_steps_per_round > self.max_env_steps:
            raise ValueError(
                f"DQNConfig.max_env_steps ({self.max_env_steps}) is less than one round of "
                f"sampling ({self.env_steps_per_round} env steps = rollout_steps x "
                "num_envs_per_evaluator x num_evaluators)"
            )

    @property
    def env_steps_per_round(self) -> int:
        """Env steps of one optimizer round (all evaluators, all their envs)."""
        return self.rollout_steps * self.num_envs_per_evaluator * self.num_evaluators
