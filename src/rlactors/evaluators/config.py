"""The evaluator's configuration: plain, frozen and picklable, so it can cross into an actor."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from rlactors.core import DEFAULT_POLICY_ID
from rlactors.envs.crashes import EnvCrashPolicy
from rlactors.envs.spec import EnvSpec
from rlactors.errors import EnvSpecError
from rlactors.policies import DQNPolicyConfig
from rlactors.validation import check_positive_ints

#: Where an evaluator's envs live: ``none`` (plain objects in its process, the default),
#: ``colocated`` (env actors in its process) or ``process`` (an actor process each); see
#: :mod:`rlactors.evaluators.env_actors`.
EnvActorMode = Literal["none", "colocated", "process"]
#: :data:`EnvActorMode`'s values, in that order.
ENV_ACTOR_MODES: tuple[str, ...] = get_args(EnvActorMode)

#: How an evaluator steps its env actors: ``lockstep`` (every env, then act on all: the
#: default), ``ready`` (act on whichever have answered) or ``double_buffer`` (two halves in
#: turn); see :mod:`rlactors.evaluators.stepping`.
EnvStepping = Literal["lockstep", "ready", "double_buffer"]
#: :data:`EnvStepping`'s values, in that order.
ENV_STEPPINGS: tuple[str, ...] = get_args(EnvStepping)


@dataclass(frozen=True)
class EnvActorsConfig:
    """Whether an evaluator's envs are actors, and how long a step may take."""

    mode: EnvActorMode = "none"
    """One of :data:`ENV_ACTOR_MODES`."""

    step_timeout_s: float = 60.0
    """Seconds an env actor may take to answer a step or reset before it counts as hung: it
    is killed and replaced, like an env that crashed."""

    stepping: EnvStepping = "lockstep"
    """``lockstep``: each step sends every env its action, waits for all of them, then acts
    on all (one forward pass of K rows). ``ready``: the evaluator acts on the env actors that
    have answered and sends them their next actions while the others still step, so a slow
    step holds up only its own env (for simulators whose step times vary); the order of the
    policy's random draws then follows the answers, so a run is no longer repeatable from
    its seed. ``double_buffer``: two halves of the envs in turn, one stepping while the policy
    acts on the other (for a policy whose forward pass takes about as long as a step);
    repeatable from the seed. Both need env actors (``mode`` not ``none``)."""

    def __post_init__(self) -> None:
        """Checks the fields.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        if self.mode not in ENV_ACTOR_MODES:
            raise ValueError(
                f"EnvActorsConfig.mode must be one of {', '.join(ENV_ACTOR_MODES)}, "
                f"got {self.mode!r}"
            )
        if self.stepping not in ENV_STEPPINGS:
            raise ValueError(
                f"EnvActorsConfig.stepping must be one of {', '.join(ENV_STEPPINGS)}, "
                f"got {self.stepping!r}"
            )
        if self.stepping != "lockstep" and self.mode == "none":
            raise ValueError(
                f"EnvActorsConfig.stepping={self.stepping!r} overlaps env actors' steps; plain "
                "envs (mode 'none') step one after the other: set mode to 'process'"
            )
        timeout = self.step_timeout_s
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(
                f"EnvActorsConfig.step_timeout_s must be a number > 0, got {timeout!r}"
            )


@dataclass(frozen=True)
class EvaluatorConfig:
    """How a :class:`~rlactors.evaluators.DQNEvaluator` builds its envs and its policy copy.

    Everything here is a plain value, so ``spawn(DQNEvaluator, config)`` pickles it to any
    backend; the envs themselves are created inside the evaluator, next to it.
    """

    env: EnvSpec
    """The env to build (a Gymnasium id or factory is turned into an :class:`EnvSpec`); give
    one resolved in the caller's process (:meth:`EnvSpec.resolve`), as the algorithms do, so
    the evaluator builds exactly the caller's env."""

    num_envs: int = 1
    """K envs stepped in lockstep, acted on with one batched policy call per step."""

    rollout_steps: int = 256
    """Lockstep steps per :meth:`~DQNEvaluator.sample` call; one call is
    ``rollout_steps * num_envs`` env steps."""

    n_step: int = 1
    """Steps summed into each transition's return (1 gives one-step transitions)."""

    gamma: float = 0.99
    """Discount per env step."""

    epsilon: float = 0.0
    """Initial probability of a uniformly random action (change it with ``set_epsilon``)."""

    seed: int = 0
    """Root seed; each evaluator derives its env, exploration and evaluation seeds from it
    and its ``index``, so evaluators of one run share no random stream."""

    policy: DQNPolicyConfig = field(default_factory=DQNPolicyConfig)
    """The network architecture; must match the learner's so weights fit."""

    policy_id: str = DEFAULT_POLICY_ID
    """The id of the policy it acts with: ``set_weights`` takes ``{policy_id: weights}``."""

    compute_priorities: bool = False
    """Add a ``priorities`` column, ``|TD error|`` from the evaluator's own policy copy
    (Ape-X's initial priorities, Horgan et al., 2018)."""

    check_env: bool = True
    """Validate observations, rewards and actions at every step (see ``CheckedEnv``)."""

    env_crash_policy: EnvCrashPolicy = field(default_factory=EnvCrashPolicy)
    """How many env crashes to survive: an env that raises is rebuilt and its episode dropped
    (counted in ``get_metrics()["env_crashes"]``); more crashes than this within its window
    end the run with :class:`~rlactors.envs.errors.EnvCrashError`."""

    env_actors: EnvActorsConfig = field(default_factory=EnvActorsConfig)
    """Whether its envs are actors (in its process, or each in its own) and their step
    timeout; by default they are plain objects in its process."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        try:
            object.__setattr__(self, "env", EnvSpec.of(self.env))
        except EnvSpecError as exc:
            raise EnvSpecError(f"EvaluatorConfig.{exc}") from None
        check_positive_ints(self, "num_envs", "rollout_steps", "n_step")
        if not (math.isfinite(self.gamma) and 0.0 <= self.gamma <= 1.0):
            raise ValueError(f"EvaluatorConfig.gamma must lie in [0, 1], got {self.gamma}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"EvaluatorConfig.epsilon must lie in [0, 1], got {self.epsilon}")

    @property
    def env_steps_per_sample(self) -> int:
        """Env steps one ``sample()`` call takes: ``rollout_steps * num_envs``."""
        return self.rollout_steps * self.num_envs
