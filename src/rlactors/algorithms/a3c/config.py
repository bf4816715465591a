"""A3CConfig: every knob of A3C (asynchronous advantage actor-critic), with units in the names.

Mnih et al. (2016): workers compute gradients of the A2C loss on their own short rollouts and
the learner applies each as it arrives. Defaults match A2C's, with the per-worker batch of one
gradient being one rollout of ``rollout_steps * num_envs_per_worker`` env steps.

No torch here: the CLI reads this class to build ``rlactors train a3c --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlactors.algorithms.multi_agent_config import MultiAgentActorCriticConfig
from rlactors.validation import check_positive_ints


@dataclass(frozen=True)
class A3CConfig(MultiAgentActorCriticConfig):
    """Configuration of :class:`rlactors.algorithms.a3c.A3C`."""

    rollout_steps: int = 8
    """Lockstep steps per rollout (one gradient each)."""

    gae_lambda: float = 1.0
    """GAE lambda: 1 gives the paper's n-step returns bootstrapped at the rollout's end."""

    iteration_env_steps: int = 2048
    """Env steps per training iteration (metrics line, evaluation check)."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        check_positive_ints(self, "iteration_env_steps")
        super().__post_init__()
        if self.inference == "server":
            # A worker's gradient must be taken at the weights its rollout acted with; a
            # shared server loads other workers' updates in the middle of that rollout.
            raise ValueError(
                "A3CConfig.inference must be 'local': A3C's workers take gradients at the "
                "weights they acted with, which a shared policy server changes mid-rollout"
            )

    @property
    def env_steps_per_round(self) -> int:
        """Env steps of one training iteration."""
        return self.iteration_env_steps
