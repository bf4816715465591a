"""What PPO, A2C, A3C and IMPALA build for a multi-role env: a policy per id, multi-role evaluators,
a league.

When the env has several roles, :class:`~rlactors.algorithms.loop.TrainingLoop` makes the
algorithm's ``multi_agent_builder_class`` instead of its single-role builder. The composition::

    mapping = RoleMapping(roles, config.policy_mapping, config.opponents)  # roles -> ids
    policies = {id: (ActorCriticPolicy, ActorCriticLearner) for each learned id}
    group = WorkerGroup(MultiAgentEvaluator, MultiAgentRolloutConfig(...), N)
    learn = {id: PPOLearner(policies[id].learner, ...) for id in policies_to_train}   # or
            {id: policies[id].learner.learn ...}                                      # A2C
    optimizer = MultiAgentSamplesOptimizer(group, learners, learn, league)
    # IMPALA: the evaluators return trajectories (gae_lambda=None), a VTraceLearner per
    # trained id, MultiAgentAsyncSamplesOptimizer (algorithms.impala)

Bad mappings fail here, in the caller's process, before any actor starts: a role left out, a
policy id without a spec, roles that share a policy but not a space, ``policies_to_train``
naming a policy that does not exist (:class:`~rlactors.multiagent.mapping.PolicyMappingError`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import gymnasium as gym

from rlactors.algorithms.actor_critic import ActorCriticBuilder
from rlactors.algorithms.builder import EnvInfo, PolicyEntry, PolicyMap, policy_weights
from rlactors.algorithms.multi_agent_config import MultiAgentActorCriticConfig, MultiAgentFields
from rlactors.core import DEFAULT_POLICY_ID, Optimizer, Weights
from rlactors.envs import EnvSpec
from rlactors.multiagent.evaluator import MultiAgentEvaluator, MultiAgentRolloutConfig
from rlactors.multiagent.league import League, LeagueConfig
from rlactors.multiagent.mapping import PolicyMappingError, RoleMapping, check_shared_spaces
from rlactors.multiagent.stepping import SelfPlay
from rlactors.optimizers.multi_agent_samples import (
    LearnFn,
    MultiAgentSamplesOptimizer,
    league_weights,
)
from rlactors.optimizers.worker_group import WorkerGroup
from rlactors.policies import ActorCriticConfig
from rlactors.seeding import EVALUATORS_STREAM, LEARNER_STREAM, derive_seed

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner


@dataclass(frozen=True)
class MultiAgentEnvInfo(EnvInfo):
    """What a multi-agent builder knows of the env: every role's spaces. The inherited
    ``observation_space`` and ``action_space`` are the first role's."""

    roles: tuple[str, ...] = ()
    """The env's roles, in its order."""

    spaces: Mapping[str, tuple[gym.Space[Any], gym.Space[Any]]] = field(default_factory=dict)
    """``{role: (observation space, action space)}``."""

    @classmethod
    def of(cls, spec: EnvSpec, env: Any) -> MultiAgentEnvInfo:
        """The info of a built multi-role ``env`` of ``spec``."""
        roles = tuple(env.roles)
        spaces = {r: (env.observation_space(r), env.action_space(r)) for r in roles}
        return cls(spec, spaces[roles[0]][0], spaces[roles[0]][1], roles, spaces)


class MultiAgentParts:
    """What every multi-role builder shares, checked in the caller's process before any actor
    starts: the role mapping, each learned policy's spaces, the policies trained, the league.

    Args:
        name: The algorithm's name (for messages).
        config: A config with the :class:`MultiAgentFields`.
        env: The env's roles and spaces.

    Raises:
        PolicyMappingError: See the module docstring; also an unknown scripted player, and
            self-play without two roles for the learner.
    """

    def __init__(self, name: str, config: MultiAgentFields, env: MultiAgentEnvInfo) -> None:
        from rlactors.multiagent.opponents import PLAYER_NAMES

        c = config
        self.env = env
        players = {f"opponents[{r}]": p for r, p in c.opponents.items()}
        if c.eval_opponent is not None:
            players["eval_opponent"] = c.eval_opponent
        for where, player in players.items():
            if player not in PLAYER_NAMES:
                raise PolicyMappingError(
                    f"{name}: {where} is {player!r}, not a scripted player "
                    f"(players: {', '.join(PLAYER_NAMES)})"
                )
        self.mapping = RoleMapping(env.roles, c.policy_mapping, c.opponents, c.policies)
        #: ``{learned policy id: (observation space, action space)}``.
        self.policy_spaces = check_shared_spaces(self.mapping, env.spaces, env.spec.name)
        learned = tuple(self.policy_spaces)
        unknown = [p for p in c.policies_to_train if p not in learned]
        if unknown:
            raise PolicyMappingError(
                f"policies_to_train names {unknown[0]!r}, which no role plays "
                f"(policies: {', '.join(learned)})"
            )
        #: The learned policies that learn.
        self.trained = tuple(c.policies_to_train) or learned
        #: The self-play league (None without self-play).
        self.league: League | None = None
        if c.self_play:
            free = [r for r in env.roles if r not in self.mapping.opponents]
            if len(free) < 2:
                raise PolicyMappingError(
                    f"{name}: self_play needs two roles the learner plays; {env.spec.name} "
                    f"leaves {free} after the opponents"
                )
            self.league = League(
                LeagueConfig(
                    latest_prob=c.self_play_latest_prob,
                    sampling=c.league_sampling,
                    join_win_rate=c.league_join_win_rate,
                    join_min_games=c.league_join_min_games,
                    max_size=c.league_max_size,
                ),
                DEFAULT_POLICY_ID,
            )
        #: The scripted player greedy evaluations play against (None: as trained).
        self.eval_opponent = c.eval_opponent or ("random" if c.self_play else None)

    def self_play(self) -> SelfPlay | None:
        """The evaluators' matchmaking (None without self-play)."""
        if self.league is None:
            return None
        return SelfPlay(DEFAULT_POLICY_ID, self.league.config.latest_prob)

    def state_dict(self) -> dict[str, Any]:
        """The self-play league's state ({} without one)."""
        return {"league": self.league.state_dict()} if self.league is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (a checkpoint without a league leaves it empty)."""
        if self.league is not None and "league" in state:
            self.league.load_state_dict(state["league"])


class MultiAgentActorCriticBuilder(ActorCriticBuilder):
    """The multi-role parts of PPO, A2C, A3C and IMPALA (see the module docstring); a subclass makes
    the learning step of each policy in :meth:`learn_fns` (IMPALA: its own ``optimizer``).

    Raises:
        PolicyMappingError: See the module docstring.
    """

    config: MultiAgentActorCriticConfig
    env: MultiAgentEnvInfo
    multi_agent: MultiAgentParts

    def __init__(self, name: str, config: Any, env: EnvInfo) -> None:
        super().__init__(name, config, env)
        assert isinstance(env, MultiAgentEnvInfo)
        for unsupported in ("normalize_observations", "scale_rewards"):
            if getattr(config, unsupported):
                raise PolicyMappingError(
                    f"{name}: {unsupported} is not supported for multi-role envs yet "
                    f"({env.spec.name} has roles {', '.join(env.roles)})"
                )
        self.multi_agent = MultiAgentParts(name, config, env)
        self.mapping = self.multi_agent.mapping
        self.policy_spaces = self.multi_agent.policy_spaces
        self.trained = self.multi_agent.trained
        self.league = self.multi_agent.league

    def policy_config(self) -> ActorCriticConfig:
        """The actor-critic's networks; with ``centralized_critic`` the ``critic`` part of the
        observation is read by the critic only."""
        config = super().policy_config()
        if self.config.centralized_critic:
            from rlactors.multiagent.central_critic import CRITIC_KEY

            return dataclasses.replace(config, critic_only_key=CRITIC_KEY)
        return config

    def policies(self) -> dict[str, PolicyEntry]:
        from rlactors.learners import ActorCriticLearner  # torch (see algorithms.loop)
        from rlactors.policies import ActorCriticPolicy

        out: dict[str, PolicyEntry] = {}
        for n, (pid, (obs_space, act_space)) in enumerate(self.policy_spaces.items()):
            policy = ActorCriticPolicy(
                obs_space,
                act_space,
                self.policy_config(),
                seed=derive_seed(self.config.seed, LEARNER_STREAM, n),
            )
            out[pid] = PolicyEntry(policy, ActorCriticLearner(policy, self.learner_config()))
        return out

    def learn_fns(
        self, learners: Mapping[str, ActorCriticLearner], env_steps: int
    ) -> dict[str, LearnFn]:
        """What each trained policy's round batch is learned with (A2C: one step)."""
        return {pid: learners[pid].learn for pid in self.trained}

    def rollout_config(  # type: ignore[override]
        self, env_steps: int, *, gae: bool = True
    ) -> MultiAgentRolloutConfig:
        """The evaluators' config; env seeds continue from ``env_steps`` (as single-role)."""
        c = self.config
        return MultiAgentRolloutConfig(
            env=self.env.spec,
            mapping=self.mapping,
            policies={pid: self.policy_config() for pid in self.policy_spaces},
            num_envs=c.num_envs_per_worker,
            rollout_steps=c.rollout_steps,
            gamma=c.gamma,
            gae_lambda=c.gae_lambda if gae else None,
            seed=derive_seed(c.seed, EVALUATORS_STREAM, env_steps),
            self_play=self.multi_agent.self_play(),
            mask_key=c.action_mask_key,
            learner=self.learner_config(),
            trained=self.trained,
        )

    def optimizer(self, policies: PolicyMap, env_steps: int) -> Optimizer:
        learners = learners_of(policies)
        return MultiAgentSamplesOptimizer(
            self.multi_agent_group(policies, env_steps),
            learners,
            self.learn_fns(learners, env_steps),
            self.league,
        )

    def multi_agent_group(
        self,
        policies: PolicyMap,
        env_steps: int,
        *,
        gae: bool = True,
        factory: type[MultiAgentEvaluator] = MultiAgentEvaluator,
    ) -> WorkerGroup[MultiAgentEvaluator]:
        """Spawn the multi-role evaluators (inside this session's runtime), acting with every
        learned policy's weights and the league's snapshots; a league still empty gets the
        learner's weights as its first snapshot here.

        Args:
            policies: The run's policies.
            env_steps: Env steps of earlier sessions (the env seeds continue from them).
            gae: Rollouts carry GAE advantages (False: trajectory segments, for V-trace).
            factory: The evaluator class (A3C's computes gradients too).
        """
        league = self.league
        if league is not None and not league.snapshots:
            league.add(policies[DEFAULT_POLICY_ID].learner.get_weights(), env_steps)

        def weights() -> dict[str, Weights]:
            return {**policy_weights(policies), **league_weights(league)}

        config = self.rollout_config(env_steps, gae=gae)
        return WorkerGroup(
            factory,
            lambda i: (config,),
            self.config.num_workers,
            weights=weights,
            max_restarts=self.config.max_worker_restarts,
            name=f"{self.name}-evaluator",
            request_env_steps=config.env_steps_per_rollout,
        )

    def greedy_evaluator(self, env_steps: int) -> None:
        """None: a multi-role run's greedy evaluations (matches) run in the caller's process."""
        return None

    def update_schedules(self, policies: PolicyMap, env_steps: int) -> None:
        c = self.config
        if c.learning_rate_schedule == "linear":
            remaining = max(0.0, 1.0 - env_steps / c.max_env_steps)
            for pid in self.trained:
                learner = cast("ActorCriticLearner", policies[pid].learner)
                learner.set_learning_rate(c.learning_rate * remaining)

    def state_dict(self) -> dict[str, Any]:
        return self.multi_agent.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.multi_agent.load_state_dict(state)


def learners_of(policies: PolicyMap) -> dict[str, ActorCriticLearner]:
    """Every learned policy's actor-critic learner, by id."""
    return {pid: cast("ActorCriticLearner", e.learner) for pid, e in policies.items()}
