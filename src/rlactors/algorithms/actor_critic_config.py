"""The fields A2C, A3C, PPO and IMPALA share: the run, the evaluators, the network, Adam.

Each algorithm's config subclasses :class:`ActorCriticRunConfig`, adds its own fields and
re-declares (with a docstring saying why) the defaults it changes. No torch here: the CLI reads
these classes to build ``rlactors train ppo --help``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rlactors.algorithms.env_fields import (
    EnvField,
    EnvKwargsField,
    EnvWrappersField,
    check_env_fields,
)
from rlactors.envs.spec import NO_KWARGS
from rlactors.validation import check_positive_ints


@dataclass(frozen=True)
class ActorCriticRunConfig:
    """Fields of every actor-critic algorithm's config."""

    # -- the run ----------------------------------------------------------------------------------

    env: EnvField = "CartPole-v1"
    """The env: a Gymnasium id (``CartPole-v1``, ``module:EnvId``), an importable factory
    ``package.module:function``, or (from Python) an rlactors ``Env`` or ``gymnasium.Env``
    subclass or factory, or an ``EnvSpec``; see docs/envs.md. Discrete or Box actions."""

    env_kwargs: EnvKwargsField = NO_KWARGS
    """Keyword arguments of the env's factory or of ``gymnasium.make`` (CLI: a JSON object,
    ``--env-kwargs '{"length": 10}'``)."""

    env_wrappers: EnvWrappersField = ()
    """Gymnasium wrappers, innermost first: ``gymnasium.wrappers`` names, ``module:name``, or
    (CLI) names, comma-separated, or a JSON list of names and ``{"name": {kwargs}}``:
    ``'["FlattenObservation", {"TimeLimit": {"max_episode_steps": 50}}]'``."""

    seed: int = 0
    """Root seed; every other seed (envs, action sampling, network init) derives from it."""

    backend: Literal["inline", "process", "ray"] = "process"
    """Where the evaluator actors run: ``inline`` (this process), ``process`` (one OS process
    each) or ``ray`` (a Ray cluster)."""

    max_env_steps: int = 500_000
    """Budget: training stops before it would take more env steps than this."""

    stop_reward: float | None = None
    """Stop once a greedy evaluation's mean return reaches this (None: use the whole budget)."""

    eval_episodes: int = 20
    """Greedy episodes per evaluation (the stop criterion averages over them)."""

    eval_interval_env_steps: int = 4096
    """With ``stop_reward`` set, consider a greedy evaluation every this many env steps."""

    eval_trigger_fraction: float = 0.5
    """...and run it only once the training return mean reaches this fraction of a positive
    ``stop_reward`` (a target <= 0 is not gated): a stochastic policy's training return
    tracks its greedy return closely, so evaluations before that are wasted time."""

    return_window_episodes: int = 20
    """``episode_return_mean`` averages the training returns of this many latest episodes."""

    learner_torch_threads: int | None = 1
    """torch threads of the learner (this process); None leaves torch's default."""

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
        """Checks the run-level fields (the parts check their own).

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        name = type(self).__name__
        check_env_fields(self)
        check_positive_ints(
            self,
            "max_env_steps",
            "eval_episodes",
            "eval_interval_env_steps",
            "return_window_episodes",
            "num_workers",
            "num_envs_per_worker",
            "rollout_steps",
        )
        if self.max_worker_restarts < 0:
            raise ValueError(
                f"{name}.max_worker_restarts must be >= 0, got {self.max_worker_restarts}"
            )
        for field in ("gamma", "gae_lambda"):
            value = getattr(self, field)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name}.{field} must lie in [0, 1], got {value}")
        if not 0.0 <= self.eval_trigger_fraction <= 1.0:
            raise ValueError(
                f"{name}.eval_trigger_fraction must lie in [0, 1], got {self.eval_trigger_fraction}"
            )
        if self.env_steps_per_round > self.max_env_steps:
            raise ValueError(
                f"{name}: max_env_steps ({self.max_env_steps}) is less than one training "
                f"iteration ({self.env_steps_per_round} env steps)"
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
