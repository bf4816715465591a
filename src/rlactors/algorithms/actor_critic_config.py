"""The fields A2C, A3C, PPO and IMPALA share: the evaluators, the network, Adam.

The run's fields are :class:`~rlactors.algorithms.run_config.RunConfig`'s. Each algorithm's
config subclasses :class:`ActorCriticRunConfig`, adds its own fields and re-declares (with a
docstring saying why) the defaults it changes. No torch here: the CLI reads these classes to
build ``rlactors train ppo --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlactors.algorithms.run_config import RunConfig
from rlactors.validation import (
    check_fractions,
    check_layer_widths,
    check_non_negative_ints,
    check_non_negative_numbers,
    check_positive_ints,
    check_positive_numbers,
    shown,
)


@dataclass(frozen=True)
class ActorCriticRunConfig(RunConfig):
    """Fields of every actor-critic algorithm's config."""

    # -- the run: the actor-critics' own defaults -------------------------------------------------

    max_env_steps: int = 500_000
    """Budget: training stops before it would take more env steps than this. Larger than the
    Q-learners': an actor-critic learns from each fresh rollout once (or for a few epochs),
    not again and again from replay."""

    eval_interval_env_steps: int = 4096
    """With ``stop_reward`` set, consider a greedy evaluation every this many env steps (twice
    the Q-learners' interval, for budgets 2-5x theirs)."""

    eval_trigger_fraction: float = 0.5
    """...and run it only once the training return mean reaches this fraction of a positive
    ``stop_reward`` (a target <= 0 is not gated): a stochastic policy's training return
    tracks its greedy return closely, so evaluations before that are wasted time."""

    # -- sampling ---------------------------------------------------------------------------------

    num_workers: int = 2
    """Evaluator actors, each stepping its own envs."""

    num_envs_per_worker: int = 4
    """Envs each evaluator steps in lockstep, with one batched policy call per step."""

    rollout_steps: int = 32
    """Lockstep steps per rollout: a rollout is ``rollout_steps * num_envs_per_worker`` env
    steps."""

    gamma: float = 0.99
    """Discount per env step."""

    gae_lambda: float = 0.95
    """GAE lambda (Schulman et al., 2016); IMPALA, which uses V-trace, ignores it."""

    scale_rewards: bool = False
    """Divide rewards by a running std of the discounted return (the critic's targets stay near
    unit scale; episode returns are reported raw)."""

    normalize_observations: bool = False
    """Normalize observations with running statistics merged from every evaluator."""

    max_worker_restarts: int = 3
    """An evaluator whose process dies is restarted this many times within a minute; one more
    failure ends training with an error."""

    # -- network and learner ----------------------------------------------------------------------

    hidden_sizes: tuple[int, ...] = (64, 64)
    """Widths of the actor's and the critic's MLP layers."""

    shared_torso: bool = False
    """One torso for both heads (A3C's network) instead of one each."""

    activation: Literal["tanh", "relu"] = "tanh"
    """Nonlinearity after each hidden layer."""

    encoder: Literal["auto", "flat", "cnn"] = "auto"
    """How the network reads observations: ``auto`` is ``cnn`` for image-shaped Box
    observations, else ``flat`` (Box parts flattened, Discrete parts one-hot)."""

    action_mask_key: str = "action_mask"
    """Dict observation key of the legal actions (1 = legal), honoured when acting, exploring
    and learning."""

    learning_rate: float = 7e-4
    """Adam step size (at the start, with a linear schedule)."""

    learning_rate_schedule: Literal["constant", "linear"] = "constant"
    """``linear`` decays the step size to 0 at ``max_env_steps`` (RL-Zoo's ``lin_``)."""

    value_coef: float = 0.5
    """Weight of the value loss."""

    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""

    max_grad_norm: float | None = 0.5
    """Clip the gradient's global L2 norm to this; None to skip clipping."""

    normalize_advantages: bool = False
    """Normalize advantages to mean 0, std 1 per batch (or minibatch)."""

    def __post_init__(self) -> None:
        """Checks these fields, then the run's.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        name = type(self).__name__
        check_positive_ints(self, "num_workers", "num_envs_per_worker", "rollout_steps")
        check_non_negative_ints(self, "max_worker_restarts")
        check_layer_widths(self, "hidden_sizes")
        if not (isinstance(self.action_mask_key, str) and self.action_mask_key):
            raise ValueError(
                f"{name}.action_mask_key must name a Dict observation key, "
                f"got {shown(self.action_mask_key)}"
            )
        check_positive_numbers(self, "learning_rate")
        check_non_negative_numbers(self, "value_coef", "entropy_coef")
        check_positive_numbers(self, "max_grad_norm", none_ok=True)
        check_fractions(self, "gamma", "gae_lambda")
        super().__post_init__()
        if self.env_steps_per_round > self.max_env_steps:
            # Named, so that the field given (maybe not the budget) is in the message.
            per = (
                "iteration_env_steps"
                if hasattr(self, "iteration_env_steps")
                else "rollout_steps x num_envs_per_worker x num_workers"
            )
            raise ValueError(
                f"{name}: max_env_steps ({self.max_env_steps}) is less than one training "
                f"iteration ({self.env_steps_per_round} env steps = {per})"
            )

    @property
    def env_steps_per_rollout(self) -> int:
        """Env steps of one evaluator's rollout."""
        return self.rollout_steps * self.num_envs_per_worker

    @property
    def env_steps_per_round(self) -> int:
        """Env steps of one training iteration: one rollout from every evaluator (the
        asynchronous algorithms override this with their ``iteration_env_steps``)."""
        return self.env_steps_per_rollout * self.num_workers
