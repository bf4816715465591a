"""DQNConfig: every knob of the DQN algorithm, with units in the names.

Defaults solve CartPole-v1 (greedy mean return >= 475 over 20 episodes) in well under 100,000
env steps: 4,096 to 16,384 (median 12,288) on seeds 0-9 (``benchmarks/dqn_cartpole.py``).
They start from RL-Zoo's tuned CartPole DQN (lr 2.3e-3, batch 64, [256, 256], 128 learner
steps per 256 env steps, target synced every round, epsilon to 0.04) and add 3-step returns,
double-Q and a dueling head, as Ape-X does (Horgan et al., 2018).

No torch here: the CLI reads this class to build ``rlactors train dqn --help``.
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


@dataclass(frozen=True)
class DQNConfig:
    """Configuration of :class:`rlactors.algorithms.dqn.DQN`."""

    # -- the run ----------------------------------------------------------------------------------

    env: EnvField = "CartPole-v1"
    """The env: a Gymnasium id (``CartPole-v1``, ``module:EnvId``), an importable factory
    ``package.module:function``, or (from Python) an rlactors ``Env`` or ``gymnasium.Env``
    subclass or factory, or an ``EnvSpec``; see docs/envs.md. DQN needs Discrete actions."""

    env_kwargs: EnvKwargsField = NO_KWARGS
    """Keyword arguments of the env's factory or of ``gymnasium.make`` (CLI: a JSON object,
    ``--env-kwargs '{"length": 10}'``)."""

    env_wrappers: EnvWrappersField = ()
    """Gymnasium wrappers, innermost first: ``gymnasium.wrappers`` names, ``module:name``, or
    (CLI) names, comma-separated, or a JSON list of names and ``{"name": {kwargs}}``:
    ``'["FlattenObservation", {"TimeLimit": {"max_episode_steps": 50}}]'``."""

    seed: int = 0
    """Root seed; every other seed (envs, exploration, network init, replay) derives from it."""

    backend: Literal["inline", "process"] = "inline"
    """Where the evaluator actors run: ``inline`` (this process) or ``process`` (one OS process
    each, sampling while the learner trains). Both give the same run, bit for bit. Inline is
    the default because with one evaluator sampling is ~15% of the time and, on a 2-core
    machine, a second busy process slowed the learner by as much as the overlap saved."""

    max_env_steps: int = 100_000
    """Budget: training stops before it would take more env steps than this."""

    stop_reward: float | None = None
    """Stop once a greedy evaluation's mean return reaches this (None: use the whole budget)."""

    eval_episodes: int = 20
    """Greedy episodes per evaluation (the stop criterion averages over them)."""

    eval_interval_env_steps: int = 2048
    """With ``stop_reward`` set, consider a greedy evaluation every this many env steps."""

    eval_trigger_fraction: float = 0.0
    """...and run it only once the training return mean reaches this fraction of
    ``stop_reward``. 0 by default: on CartPole the training mean (exploring, and averaged over
    older episodes) was 10-55% of the target when the greedy policy first reached it, so a
    gate near 1 delayed solving twofold, while an evaluation of a poor policy costs little
    (its episodes are short)."""

    return_window_episodes: int = 20
    """``episode_return_mean`` averages the training returns of this many latest episodes."""

    # -- sampling ---------------------------------------------------------------------------------

    num_evaluators: int = 1
    """Evaluator actors sampling in parallel (each with its own envs)."""

    num_envs_per_evaluator: int = 1
    """Envs each evaluator steps in lockstep, with one batched policy call per step."""

    rollout_steps: int = 256
    """Lockstep steps per evaluator per round: a round is
    ``rollout_steps * num_envs_per_evaluator * num_evaluators`` env steps."""

    n_step: int = 3
    """Env steps summed into each transition's return (n-step Q-learning)."""

    gamma: float = 0.99
    """Discount per env step."""

    # -- exploration ------------------------------------------------------------------------------

    exploration_initial_epsilon: float = 1.0
    """Epsilon (probability of a uniformly random action) at the start."""

    exploration_final_epsilon: float = 0.04
    """Epsilon once the schedule ends."""

    exploration_fraction: float = 0.1
    """Fraction of ``max_env_steps`` over which epsilon decays linearly."""

    # -- replay -----------------------------------------------------------------------------------

    buffer_capacity_transitions: int = 100_000
    """Replay capacity in (n-step) transitions."""

    learning_starts_env_steps: int = 1000
    """No learner step before this many env steps were sampled."""

    batch_size: int = 64
    """Transitions per learner step."""

    train_steps_per_sample: int = 128
    """Learner steps per round of samples (RL-Zoo: 128 gradient steps per 256 env steps)."""

    prioritized_replay: bool = False
    """Proportional prioritized replay (Schaul et al., 2016) instead of uniform."""

    prioritized_replay_alpha: float = 0.6
    """Priority exponent (0: uniform)."""

    prioritized_replay_beta: float = 0.4
    """Initial importance-sampling exponent, annealed linearly to 1 over the budget."""

    # -- the network and the learner --------------------------------------------------------------

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

    learner_torch_threads: int | None = 1
    """``torch.set_num_threads`` for this process when training starts (None: leave it).
    Small batches gain nothing from more threads, and the evaluators need the cores."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names the field and the range.
        """
        check_env_fields(self)
        if self.backend not in ("inline", "process"):
            raise ValueError(f"backend must be 'inline' or 'process', got {self.backend!r}")
        _check_int("seed", self.seed, 0)
        for name in (
            "max_env_steps",
            "eval_episodes",
            "eval_interval_env_steps",
            "return_window_episodes",
            "num_evaluators",
            "num_envs_per_evaluator",
            "rollout_steps",
            "n_step",
            "buffer_capacity_transitions",
            "batch_size",
            "target_update_period_learner_steps",
        ):
            _check_int(name, getattr(self, name), 1)
        _check_int("learning_starts_env_steps", self.learning_starts_env_steps, 0)
        _check_int("train_steps_per_sample", self.train_steps_per_sample, 0)
        if self.learner_torch_threads is not None:
            _check_int("learner_torch_threads", self.learner_torch_threads, 1)
        if self.stop_reward is not None and not math.isfinite(self.stop_reward):
            raise ValueError(f"stop_reward must be finite or None, got {self.stop_reward}")
        for name in (
            "gamma",
            "exploration_initial_epsilon",
            "exploration_final_epsilon",
            "exploration_fraction",
            "eval_trigger_fraction",
            "prioritized_replay_beta",
        ):
            _check_unit(name, getattr(self, name))
        if not (
            math.isfinite(self.prioritized_replay_alpha) and self.prioritized_replay_alpha >= 0
        ):
            raise ValueError(
                f"prioritized_replay_alpha must be >= 0, got {self.prioritized_replay_alpha}"
            )
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        for name in ("huber_delta", "max_grad_norm"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0 or None, got {value}")
        if not all(isinstance(h, int) and h > 0 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive integers, got {self.hidden_sizes!r}")
        if self.env_steps_per_round > self.max_env_steps:
            raise ValueError(
                f"max_env_steps ({self.max_env_steps}) is less than one round of sampling "
                f"({self.env_steps_per_round} env steps = rollout_steps x "
                "num_envs_per_evaluator x num_evaluators)"
            )

    @property
    def env_steps_per_round(self) -> int:
        """Env steps of one optimizer round (all evaluators, all their envs)."""
        return self.rollout_steps * self.num_envs_per_evaluator * self.num_evaluators


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_unit(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
