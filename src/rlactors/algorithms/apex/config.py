"""ApexConfig: every knob of Ape-X DQN, with units in the names.

Defaults follow the paper (Horgan et al., 2018: n = 3, alpha 0.6, beta 0.4, per-worker
epsilons ``0.4 ** (1 + 7 i / (N - 1))``, double-Q, dueling) scaled down for small problems
(a 100,000-transition buffer, small networks, weights broadcast every few learner steps),
tuned so CartPole-v1 solves with 2 workers on 2 cores (``benchmarks/apex_cartpole.py``).

No torch here: the CLI reads this class to build ``rlactors train apex --help``.
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
class ApexConfig:
    """Configuration of :class:`rlactors.algorithms.apex.Apex`."""

    # -- the run ----------------------------------------------------------------------------------

    env: EnvField = "CartPole-v1"
    """The env: a Gymnasium id (``CartPole-v1``, ``module:EnvId``), an importable factory
    ``package.module:function``, or (from Python) an rlactors ``Env`` or ``gymnasium.Env``
    subclass or factory, or an ``EnvSpec``; see docs/envs.md. Ape-X needs Discrete actions."""

    env_kwargs: EnvKwargsField = NO_KWARGS
    """Keyword arguments of the env's factory or of ``gymnasium.make`` (CLI: a JSON object,
    ``--env-kwargs '{"length": 10}'``)."""

    env_wrappers: EnvWrappersField = ()
    """Gymnasium wrappers, innermost first: ``gymnasium.wrappers`` names, ``module:name``, or
    (CLI) names, comma-separated, or a JSON list of names and ``{"name": {kwargs}}``:
    ``'["FlattenObservation", {"TimeLimit": {"max_episode_steps": 50}}]'``."""

    seed: int = 0
    """Root seed; every other seed (envs, exploration, network init, replay) derives from it."""

    backend: Literal["inline", "process", "ray"] = "process"
    """Where workers and replay shards run: ``process`` (one OS process each, sampling while
    the learner learns), ``ray`` (Ray actors: a local instance, or a cluster with the CLI's
    ``--address``) or ``inline`` (this process, deterministic: for tests and debugging)."""

    max_env_steps: int = 100_000
    """Budget: no iteration starts that would end past it. Rollouts are asynchronous, so the
    last iteration may overshoot by the rollouts already running (at most two per worker)."""

    stop_reward: float | None = None
    """Stop once a greedy evaluation's mean return reaches this (None: use the whole budget)."""

    eval_episodes: int = 20
    """Greedy episodes per evaluation (the stop criterion averages over them)."""

    eval_interval_env_steps: int = 2048
    """With ``stop_reward`` set, start a greedy evaluation every this many env steps. It runs
    on an evaluator actor of its own, on a snapshot of the weights, while training goes on
    (one at a time: one due meanwhile starts when it ends); the run is solved at the end of
    the iteration in which the answer arrives, and keeps the evaluated weights."""

    eval_trigger_fraction: float = 0.0
    """...once the training return mean reaches this fraction of ``stop_reward`` (0: always;
    Ape-X's training returns include the most exploring workers, so they understate the greedy
    policy)."""

    return_window_episodes: int = 20
    """``episode_return_mean`` averages the training returns of this many latest episodes."""

    iteration_env_steps: int = 500
    """Env steps per training iteration (one metrics row, one progress update). A greedy
    evaluation's answer is read when an iteration ends, so shorter iterations notice a solve
    sooner: 500 env steps are ~0.15 s of learning, and an iteration's own cost (metrics from
    the workers and the replay shard) was under 1 ms."""

    # -- workers ----------------------------------------------------------------------------------

    num_workers: int = 2
    """Sampling worker actors (N), each with its own epsilon."""

    num_envs_per_worker: int = 4
    """Envs each worker steps in lockstep (one batched policy call per step)."""

    rollout_steps: int = 25
    """Lockstep steps per rollout; a rollout is ``rollout_steps * num_envs_per_worker`` env
    steps, pushed to replay as one batch."""

    n_step: int = 3
    """Steps summed into each transition's return."""

    gamma: float = 0.99
    """Discount per env step."""

    max_worker_restarts: int = 3
    """A worker whose process dies is restarted this many times within a minute."""

    # -- replay -----------------------------------------------------------------------------------

    num_replay_shards: int = 1
    """Replay actors; the learner samples from them in turn."""

    buffer_capacity_transitions: int = 100_000
    """Transitions held across all shards (FIFO eviction)."""

    priority_alpha: float = 0.6
    """Priority exponent."""

    importance_beta: float = 0.4
    """Importance-sampling exponent."""

    learning_starts_transitions: int = 1000
    """Transitions in replay before learning starts."""

    replay_ratio: float = 32.0
    """Learner samples per inserted transition; whichever side runs ahead waits."""

    # -- learner ----------------------------------------------------------------------------------

    batch_size: int = 128
    """Transitions per learner step. With ``replay_ratio`` 32 (RL-Zoo's CartPole DQN learns on
    32 samples per env step too) this solved seeds 0-4 at 10k-22k env steps; batch 256 at
    ratio 16 took 2-4x the steps and varied more from run to run."""

    hidden_sizes: tuple[int, ...] = (128, 128)
    """Hidden layer widths of the Q-network."""

    dueling: bool = True
    """Dueling head (Wang et al., 2016)."""

    encoder: Literal["auto", "flat", "cnn"] = "auto"
    """How the network reads observations: ``auto`` is ``cnn`` for image-shaped Box
    observations, else ``flat`` (Box parts flattened, Discrete parts one-hot)."""

    action_mask_key: str = "action_mask"
    """Dict observation key of the legal actions (1 = legal), honoured when acting, exploring
    and learning."""

    double_q: bool = True
    """Double-Q targets (van Hasselt et al., 2016)."""

    learning_rate: float = 2e-3
    """Adam step size."""

    huber_delta: float | None = 1.0
    """TD error where the Huber loss turns linear; None for squared loss."""

    max_grad_norm: float | None = 10.0
    """Gradient-norm clipping; None to disable."""

    target_update_period_learner_steps: int = 200
    """Learner steps between target-network syncs."""

    weight_sync_period_learner_steps: int = 20
    """The learner broadcasts its weights to every worker this often."""

    learner_torch_threads: int | None = 1
    """torch threads of the learner (this process); None leaves torch's default."""

    def __post_init__(self) -> None:
        """Checks the run-level fields (the parts check their own).

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        check_env_fields(self)
        check_positive_ints(
            self,
            "max_env_steps",
            "eval_episodes",
            "eval_interval_env_steps",
            "return_window_episodes",
            "iteration_env_steps",
            "num_envs_per_worker",
            "rollout_steps",
            "n_step",
        )
        if not (math.isfinite(self.gamma) and 0.0 <= self.gamma <= 1.0):
            raise ValueError(f"ApexConfig.gamma must lie in [0, 1], got {self.gamma}")
        if self.iteration_env_steps > self.max_env_steps:
            raise ValueError(
                f"ApexConfig.iteration_env_steps ({self.iteration_env_steps}) exceeds "
                f"max_env_steps ({self.max_env_steps})"
            )

    @property
    def env_steps_per_round(self) -> int:
        """Env steps one training iteration takes."""
        return self.iteration_env_steps
