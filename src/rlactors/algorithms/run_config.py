"""RunConfig: the fields of a run that every algorithm's config has, stated once.

The env, the root seed, the backend, the budget, the stop criterion and its greedy evaluations,
the training-return window and the learner's torch threads: what
:class:`~rlactors.algorithms.loop.TrainingLoop` reads. Each algorithm's config extends it
(:class:`~rlactors.algorithms.q_learning_config.QLearningConfig` for DQN and Ape-X,
:class:`~rlactors.algorithms.actor_critic_config.ActorCriticRunConfig` for the actor-critics)
and re-declares, with a docstring saying why, only a field whose default, type or meaning is
its own. No torch here: the CLI reads these classes to build ``rlactors train ... --help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from rlactors.algorithms.env_fields import (
    EnvField,
    EnvKwargsField,
    EnvWrappersField,
    check_env_fields,
)
from rlactors.envs.crashes import EnvCrashPolicy
from rlactors.envs.spec import NO_KWARGS
from rlactors.validation import (
    check_field_types,
    check_finite_numbers,
    check_fractions,
    check_non_negative_ints,
    check_non_negative_numbers,
    check_positive_ints,
    check_positive_numbers,
)

if TYPE_CHECKING:
    from rlactors.evaluators.config import EnvActorsConfig
    from rlactors.inference.config import ServerConfig

#: The backends an algorithm may run its actors on (see :class:`rlactors.actors.Runtime`; not
#: imported from there, so that ``--help`` does not import the actor runtime).
Backend = Literal["inline", "process", "ray"]

#: Where evaluators get their actions (see :mod:`rlactors.inference`; not imported from
#: there, for the same reason).
Inference = Literal["local", "server"]

#: Where the evaluators' envs live (see :mod:`rlactors.evaluators.env_actors`).
EnvActors = Literal["none", "colocated", "process"]

#: How evaluators step their env actors (``rlactors.evaluators.config.EnvStepping``).
EnvStepping = Literal["lockstep", "ready", "double_buffer"]


@dataclass(frozen=True)
class RunConfig:
    """Fields of every algorithm's config: the env, the backend, the budget, evaluations."""

    env: EnvField = "CartPole-v1"
    """The env: a Gymnasium id (``CartPole-v1``, ``module:EnvId``), an importable factory
    ``package.module:function``, or (from Python) an rlactors ``Env`` or ``gymnasium.Env``
    subclass or factory, or an ``EnvSpec``; see docs/envs.md. DQN and Ape-X need Discrete
    actions; the actor-critics take Discrete or Box actions."""

    env_kwargs: EnvKwargsField = NO_KWARGS
    """Keyword arguments of the env's factory or of ``gymnasium.make`` (CLI: a JSON object,
    ``--env-kwargs '{"length": 10}'``)."""

    env_wrappers: EnvWrappersField = ()
    """Gymnasium wrappers, innermost first: ``gymnasium.wrappers`` names, ``module:name``, or
    (CLI) names, comma-separated, or a JSON list of names and ``{"name": {kwargs}}``:
    ``'["FlattenObservation", {"TimeLimit": {"max_episode_steps": 50}}]'``."""

    seed: int = 0
    """Root seed; every other seed (envs, exploration or action sampling, network init,
    replay) derives from it."""

    backend: Backend = "process"
    """Where the actors (evaluators, workers, replay shards) run: ``process`` (one OS process
    each, sampling while the learner learns), ``ray`` (Ray actors: a local instance, or a
    cluster with the CLI's ``--address``) or ``inline`` (this process, deterministic: for
    tests and debugging)."""

    env_actors: EnvActors = "none"
    """Where the evaluators' envs live: ``none`` (plain objects in each evaluator's process),
    ``colocated`` (env actors in its process) or ``process`` (each env an actor with a process
    of its own: slow simulators then step in parallel, and one that dies or hangs is replaced
    without taking its evaluator down; see docs/envs.md)."""

    env_step_timeout_s: float = 60.0
    """With ``env_actors``: seconds an env actor may take for one step before it counts as
    hung, and is killed and replaced like an env that crashed."""

    env_stepping: EnvStepping = "lockstep"
    """With ``env_actors``: ``lockstep`` (each step waits for every env, then acts on all;
    repeatable from the seed), ``ready`` (act on the env actors that have answered while the
    others still step: for simulators whose step times vary; not repeatable from the seed, as
    the order of the answers decides the order of the policy's random draws) or
    ``double_buffer`` (two halves of the envs in turn, one stepping while the policy acts on
    the other: for forward passes about as long as a step; repeatable). See docs/envs.md."""

    inference: Inference = "local"
    """Where the evaluators get their actions: ``local`` (a numpy copy of the policy in each
    evaluator: no message per step, best for small networks) or ``server`` (one policy server
    actor acts for all of them in batches, and holds the only copy of the weights: for larger
    networks and many evaluators; see docs/inference.md). Greedy evaluations act locally."""

    inference_max_batch_rows: int = 1024
    """With ``inference="server"``: observations that make a server's batch full."""

    inference_max_wait_ms: float = 0.0
    """With ``inference="server"``: milliseconds a request may wait for the rest of the
    server's last batch (its evaluators) to join it (0: answer whenever its mailbox is
    empty; waiting makes larger batches, which were slower on 2 cores)."""

    max_env_steps: int = 100_000
    """Budget: training never takes more env steps than this (asynchronous optimizers send
    no request that could pass it, so their last iteration may end short)."""

    stop_reward: float | None = None
    """Stop once a greedy evaluation's mean return reaches this, and the larger confirming
    evaluation (``final_eval_episodes``) of the same policy does too (None: use the whole
    budget)."""

    eval_episodes: int = 20
    """Greedy episodes per evaluation (their mean is compared with ``stop_reward``, and the
    highest decides the best policy a checkpoint keeps)."""

    final_eval_episodes: int = 100
    """Greedy episodes of the confirming evaluation, run when an evaluation's mean meets
    ``stop_reward``: the run is solved only if their mean meets it too, else training goes
    on. A mean over 20 episodes is noisy (on LunarLander one of 208.4 was 178.2 over 50), and
    the evaluation that first crosses the line is the luckiest of many. 0: no confirmation."""

    eval_interval_env_steps: int = 2048
    """With ``stop_reward`` set, consider a greedy evaluation every this many env steps."""

    eval_trigger_fraction: float = 0.0
    """...and run it only once the training return mean reaches this fraction of a positive
    ``stop_reward`` (0: always; a target <= 0 is not gated). 0 by default: an exploring
    policy's training mean understates its greedy return (on CartPole DQN's was 10-55% of the
    target when the greedy policy first reached it, and Ape-X's includes its most exploring
    workers), so a gate near 1 delayed solving twofold, while an evaluation of a poor policy
    costs little (its episodes are short)."""

    return_window_episodes: int = 20
    """``episode_return_mean`` averages the training returns of this many latest episodes."""

    learner_torch_threads: int | None = 1
    """``torch.set_num_threads`` for this process when training starts (None: leave it).
    Small batches gain nothing from more threads, and the evaluators need the cores."""

    max_env_crashes: int = 5
    """An env that raises is rebuilt and its episode dropped (``env_crashes`` in the metrics);
    more crashes than this within ``env_crash_window_s`` in one evaluator end the run with a
    one-line error naming the env and the last exception (0: the first crash ends it)."""

    env_crash_window_s: float = 60.0
    """The sliding window, in seconds, that ``max_env_crashes`` counts over."""

    @property
    def env_actors_config(self) -> EnvActorsConfig:
        """``env_actors`` and ``env_step_timeout_s``, for the evaluators."""
        # Imported here: the evaluators package imports the actor runtime.
        from rlactors.evaluators.config import EnvActorsConfig

        return EnvActorsConfig(self.env_actors, self.env_step_timeout_s, self.env_stepping)

    @property
    def server_config(self) -> ServerConfig | None:
        """The policy servers' config with ``inference="server"``, else None."""
        # Imported here: the package imports the actor runtime, which --help must not.
        from rlactors.inference.config import ServerConfig

        if self.inference != "server":
            return None
        return ServerConfig(self.inference_max_batch_rows, self.inference_max_wait_ms)

    @property
    def env_crash_policy(self) -> EnvCrashPolicy:
        """``max_env_crashes`` within ``env_crash_window_s``, for the evaluators."""
        return EnvCrashPolicy(self.max_env_crashes, self.env_crash_window_s)

    def __post_init__(self) -> None:
        """Checks the run fields (each subclass checks its own, then calls this).

        Raises:
            EnvSpecError: ``env`` is empty or not an env, or a wrapper is not one.
            ValueError: A field is out of range; the message names it as ``Class.field``.
        """
        name = type(self).__name__
        check_env_fields(self)
        if self.backend not in get_args(Backend):
            raise ValueError(
                f"{name}.backend must be one of {', '.join(get_args(Backend))}, "
                f"got {self.backend!r}"
            )
        if self.env_actors not in get_args(EnvActors):
            raise ValueError(
                f"{name}.env_actors must be one of {', '.join(get_args(EnvActors))}, "
                f"got {self.env_actors!r}"
            )
        check_positive_numbers(self, "env_step_timeout_s")
        if self.env_stepping not in get_args(EnvStepping):
            raise ValueError(
                f"{name}.env_stepping must be one of {', '.join(get_args(EnvStepping))}, "
                f"got {self.env_stepping!r}"
            )
        if self.env_stepping != "lockstep" and self.env_actors == "none":
            raise ValueError(
                f"{name}.env_stepping={self.env_stepping!r} overlaps the steps of env actors; "
                "it needs env_actors='process' (colocated env actors step one after the other "
                "in the evaluator's thread, so nothing would overlap)"
            )
        if self.inference not in get_args(Inference):
            raise ValueError(
                f"{name}.inference must be one of {', '.join(get_args(Inference))}, "
                f"got {self.inference!r}"
            )
        check_positive_ints(self, "inference_max_batch_rows")
        check_non_negative_numbers(self, "inference_max_wait_ms")
        check_non_negative_ints(self, "seed", "final_eval_episodes")
        check_positive_ints(
            self,
            "max_env_steps",
            "eval_episodes",
            "eval_interval_env_steps",
            "return_window_episodes",
        )
        check_finite_numbers(self, "stop_reward", none_ok=True)
        check_fractions(self, "eval_trigger_fraction")
        if self.learner_torch_threads is not None:
            check_positive_ints(self, "learner_torch_threads")
        check_field_types(self)
        check_non_negative_ints(self, "max_env_crashes")
        check_positive_numbers(self, "env_crash_window_s")
