"""IMPALAConfig: every knob of IMPALA, with units in the names.

Espeholt et al. (2018): evaluators stream fixed-length trajectories with their behaviour
log-probs; the learner batches them and corrects the policy lag with V-trace (rho-bar = c-bar =
1, the paper's choice). Scaled for small problems: 2 evaluators of 4 envs, 32-step rollouts,
2 rollouts per learner step. Multi-role envs too (:class:`MultiAgentFields`): each seat's moves
are cut into ``rollout_steps``-move segments (see :mod:`rlactors.multiagent.evaluator`).

No torch here: the CLI reads this class to build ``rlactors train impala --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlactors.algorithms.multi_agent_config import MultiAgentActorCriticConfig
from rlactors.validation import check_positive_ints, check_positive_numbers


@dataclass(frozen=True)
class IMPALAConfig(MultiAgentActorCriticConfig):
    """Configuration of :class:`rlactors.algorithms.impala.IMPALA`."""

    entropy_coef: float = 0.01
    """Weight of the entropy bonus (the paper's 0.01 range)."""

    rho_bar: float = 1.0
    """V-trace's truncation of the importance weights in the value targets."""

    c_bar: float = 1.0
    """V-trace's truncation of the trace coefficients."""

    rollouts_per_batch: int = 2
    """Rollouts per learner step."""

    max_inflight_per_worker: int = 2
    """Rollout requests queued at each evaluator (2: it never waits for a round trip)."""

    max_queued_rollouts: int = 8
    """Rollouts waiting for the learner at most; beyond, evaluators wait (back-pressure)."""

    weight_sync_period_learner_steps: int = 1
    """Broadcast the learner's weights every this many learner steps."""

    iteration_env_steps: int = 2048
    """Env steps per training iteration (metrics line, evaluation check)."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        check_positive_numbers(self, "rho_bar", "c_bar", inf_ok=True)  # inf: no truncation
        check_positive_ints(
            self,
            "rollouts_per_batch",
            "max_inflight_per_worker",
            "max_queued_rollouts",
            "weight_sync_period_learner_steps",
            "iteration_env_steps",
        )
        super().__post_init__()

    @property
    def env_steps_per_round(self) -> int:
        """Env steps of one training iteration."""
        return self.iteration_env_steps
