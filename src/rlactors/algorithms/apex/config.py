"""ApexConfig: every knob of Ape-X DQN, with units in the names.

Defaults follow the paper (Horgan et al., 2018: n = 3, alpha 0.6, beta 0.4, per-worker
epsilons ``0.4 ** (1 + 7 i / (N - 1))``, double-Q, dueling) scaled down for small problems
(a 100,000-transition buffer, small networks, weights broadcast every few learner steps),
tuned so CartPole-v1 solves with 2 workers on 2 cores (``benchmarks/apex_cartpole.py``).

The run, replay and network fields are :class:`QLearningConfig`'s (shared with DQN); this
class adds the workers, the replay shards and the replay-ratio control, and re-declares the
defaults Ape-X tuned on its own. No torch here: the CLI reads this class to build
``rlactors train apex --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlactors.algorithms.q_learning_config import QLearningConfig
from rlactors.validation import (
    check_fractions,
    check_non_negative_ints,
    check_positive_ints,
    check_positive_numbers,
)


@dataclass(frozen=True)
class ApexConfig(QLearningConfig):
    """Configuration of :class:`rlactors.algorithms.apex.Apex`."""

    # -- the run: re-declared where Ape-X's asynchrony changes the meaning ------------------------

    eval_interval_env_steps: int = 2048
    """With ``stop_reward`` set, start a greedy evaluation every this many env steps. It runs
    on an evaluator actor of its own, on a snapshot of the weights, while training goes on
    (one at a time: one due meanwhile starts when it ends); the run is solved at the end of
    the iteration in which the answer arrives, and keeps the evaluated weights."""

    # -- sampling ---------------------------------------------------------------------------------

    rollout_steps: int = 25
    """Lockstep steps per rollout; a rollout is ``rollout_steps * num_envs_per_worker`` env
    steps, pushed to replay as one batch (Ape-X's own default, tuned with the others,
    ``benchmarks/apex_cartpole.py``)."""

    # -- replay and the network: Ape-X's own defaults ---------------------------------------------

    batch_size: int = 128
    """Transitions per learner step. With ``replay_ratio`` 32 (RL-Zoo's CartPole DQN learns on
    32 samples per env step too) this solved seeds 0-4 at 10k-22k env steps; batch 256 at
    ratio 16 took 2-4x the steps and varied more from run to run."""

    hidden_sizes: tuple[int, ...] = (128, 128)
    """Hidden layer widths of the Q-network: narrower than DQN's, as the learner shares the
    cores with the workers (tuned with the other defaults, ``benchmarks/apex_cartpole.py``)."""

    learning_rate: float = 2e-3
    """Adam step size (tuned with the other defaults, ``benchmarks/apex_cartpole.py``)."""

    target_update_period_learner_steps: int = 200
    """Learner steps between target-network syncs (tuned with the other defaults,
    ``benchmarks/apex_cartpole.py``)."""

    # -- iterations -------------------------------------------------------------------------------

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

    max_worker_restarts: int = 3
    """A worker whose process dies is restarted this many times within a minute."""

    # -- replay -----------------------------------------------------------------------------------

    num_replay_shards: int = 1
    """Replay actors; the learner samples from them in turn."""

    max_replay_restarts: int = 3
    """A replay shard whose process dies is restarted, empty, this many times within a
    minute; what it held is lost and counted (``lost_transitions`` in the metrics)."""

    priority_alpha: float = 0.6
    """Priority exponent."""

    importance_beta: float = 0.4
    """Importance-sampling exponent."""

    learning_starts_transitions: int = 1000
    """Transitions in replay before learning starts."""

    replay_ratio: float = 32.0
    """Learner samples per inserted transition; whichever side runs ahead waits."""

    # -- the learner ------------------------------------------------------------------------------

    weight_sync_period_learner_steps: int = 20
    """The learner broadcasts its weights to every worker this often."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it as ``ApexConfig.field``.
        """
        check_positive_ints(
            self,
            "iteration_env_steps",
            "num_workers",
            "num_envs_per_worker",
            "num_replay_shards",
            "weight_sync_period_learner_steps",
        )
        check_non_negative_ints(
            self, "max_worker_restarts", "max_replay_restarts", "learning_starts_transitions"
        )
        check_fractions(self, "priority_alpha", "importance_beta")
        check_positive_numbers(self, "replay_ratio")
        super().__post_init__()
        if self.learning_starts_transitions < self.batch_size:
            # The learner's first sample must find a whole batch in replay.
            raise ValueError(
                "ApexConfig.learning_starts_transitions must be >= batch_size, got "
                f"{self.learning_starts_transitions} < {self.batch_size}"
            )
        if self.iteration_env_steps > self.max_env_steps:
            raise ValueError(
                f"ApexConfig.iteration_env_steps ({self.iteration_env_steps}) exceeds "
                f"max_env_steps ({self.max_env_steps})"
            )

    @property
    def env_steps_per_round(self) -> int:
        """Env steps one training iteration takes."""
        return self.iteration_env_steps
