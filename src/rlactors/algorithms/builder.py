"""What an algorithm is: a config plus a builder that makes its parts.

The training loop (:class:`~rlactors.algorithms.loop.TrainingLoop`) holds the parts and runs
them; it is the same for every algorithm. A builder makes, from the config and the env:

* the **policies**, by id (:class:`PolicyEntry`: the policy that acts and the learner that
  trains it), once per algorithm, in the caller's process: they outlive sessions;
* the **optimizer** (:class:`~rlactors.core.Optimizer`), once per session, inside its runtime:
  it spawns the evaluators or workers (one :class:`~rlactors.optimizers.worker_group.WorkerGroup`),
  replay, and whatever coordinates them;
* optionally a **greedy evaluator** actor, for evaluations beside learning;
* the **schedules** that move with env steps (learning rate, PPO's clip range).

An algorithm extends another by extending its builder: Ape-X's is DQN's with another
optimizer and a greedy evaluator; PPO's is the actor-critic one with another learning step::

    class Apex(TrainingLoop):
        name = "apex"
        config_class = ApexConfig
        builder_class = ApexBuilder       # DQNBuilder + optimizer() + greedy_evaluator()

The builder is made in the caller's process before any torch import (its constructor only
keeps the config); :meth:`Builder.policies` is where torch comes in.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym

from rlactors.core import Learner, Optimizer, Policy, Weights
from rlactors.envs import EnvSpec

if TYPE_CHECKING:
    from rlactors.algorithms.multi_agent import MultiAgentParts
    from rlactors.inference import ServedPolicy


@dataclass(frozen=True)
class PolicyEntry:
    """One policy of a run and what trains it."""

    policy: Policy
    """Acts: greedy evaluations in the caller's process use it."""

    learner: Learner
    """Trains ``policy`` in place; its ``state_dict`` is the policy's part of a checkpoint."""


#: A run's policies: ``{policy id: PolicyEntry}`` (one id, ``DEFAULT_POLICY_ID``, for a
#: single-agent run).
PolicyMap = Mapping[str, PolicyEntry]


def policy_weights(policies: PolicyMap) -> dict[str, Weights]:
    """Every learner's current weights, ``{policy id: weights}`` (what evaluators are sent)."""
    return {pid: entry.learner.get_weights() for pid, entry in policies.items()}


@dataclass(frozen=True)
class EnvInfo:
    """What a builder knows of the env: how every process builds it, and its spaces."""

    spec: EnvSpec
    """The resolved env; every evaluator builds it."""

    observation_space: gym.Space[Any]
    """One env's observation space."""

    action_space: gym.Space[Any]
    """One env's action space."""


class Builder(abc.ABC):
    """Makes an algorithm's parts; see the module docstring.

    Args:
        name: The algorithm's name (actors are named after it).
        config: The algorithm's config.
        env: The env every process builds, and its spaces.
    """

    #: Modules the process backend's fork server imports once before forking the actors
    #: (empty: no fork server). See the algorithms' ``PRELOAD`` notes.
    preload: ClassVar[tuple[str, ...]] = ()
    #: Whether the optimizer keeps a replay buffer a checkpoint can include.
    has_replay: ClassVar[bool] = False
    #: A multi-role builder's mapping, policy spaces and league
    #: (:class:`~rlactors.algorithms.multi_agent.MultiAgentParts`); None for a single-role env.
    multi_agent: MultiAgentParts | None = None

    def __init__(self, name: str, config: Any, env: EnvInfo) -> None:
        self.name = name
        self.config = config
        self.env = env
        #: This session's policy server (:meth:`policy_server`), if any.
        self.served: ServedPolicy | None = None

    @abc.abstractmethod
    def policies(self) -> dict[str, PolicyEntry]:
        """The run's policies by id, freshly initialized (imports torch)."""

    @abc.abstractmethod
    def optimizer(self, policies: PolicyMap, env_steps: int) -> Optimizer:
        """This session's optimizer, its actors spawned (called inside the session's runtime).

        Args:
            policies: The run's policies (the optimizer's learners are theirs).
            env_steps: Env steps taken in earlier sessions: the actors' seeds continue from
                them, so a restored run does not replay its first episodes.
        """

    def policy_server(
        self, kind: str, policy_config: Any, seed: int, learner: Learner
    ) -> ServedPolicy | None:
        """The policy server the evaluators act through with ``inference="server"`` (spawned
        in this session's runtime), else None.

        Args:
            kind: ``"q"`` or ``"actor_critic"``.
            policy_config: The evaluators' network config.
            seed: The evaluators' config seed (the server's and the clients' derive from it).
            learner: Whose weights the server acts with.
        """
        server_config = self.config.server_config
        if server_config is None:
            return None
        # Imported here: the inference package imports the actor runtime.
        from rlactors.inference import ServedPolicy

        self.served = ServedPolicy(
            server_config,
            kind,
            self.env.observation_space,
            self.env.action_space,
            policy_config,
            seed=seed,
            weights=learner.get_weights,
            name=f"{self.name}-policy-server",
        )
        return self.served

    def greedy_evaluator(self, env_steps: int) -> tuple[Callable[..., Any], Any] | None:
        """``(evaluator class, its config)`` of an actor for greedy evaluations beside
        learning: it must take ``set_weights({policy id: weights})`` and answer
        ``evaluate(episodes, seed)`` with a list of :class:`~rlactors.core.EpisodeStats`.
        None (the default): greedy evaluations run in the caller's process."""
        return None

    def update_schedules(self, policies: PolicyMap, env_steps: int) -> None:  # noqa: B027
        """Move what is scheduled on env steps (learning rate, clip range) to ``env_steps``;
        called before every optimizer step. Nothing by default."""

    def state_dict(self) -> dict[str, Any]:
        """What the builder keeps across sessions beyond the policies (a self-play league),
        for checkpoints: tensors, arrays and plain values. Nothing by default."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Restore :meth:`state_dict`. Nothing by default."""
