"""What DQN and Ape-X build for a multi-role env: Q-policies by id, multi-role evaluators, a league.

When the env has several roles, :class:`~rlactors.algorithms.loop.TrainingLoop` makes the
algorithm's ``multi_agent_builder_class``: DQN's and Ape-X's are this class plus their own
optimizer (turn-based games with action masks, such as PettingZoo's tic-tac-toe, and
simultaneous ones). The composition::

    parts = MultiAgentParts(name, config, env)      # mapping, policy spaces, trained ids, league
    policies = {id: (DQNPolicy, DQNLearner) for each learned id}
    evaluators: MultiAgentQEvaluator(MultiAgentQConfig(...))   # n-step over each role's moves
    DQN:   MultiAgentReplayOptimizer(group, learners, ...)      # a replay buffer per trained id
    Ape-X: MultiAgentAsyncReplayOptimizer(...)                  # replay shards per trained id

Only the ``trained`` ids learn; every learned id acts. Bad mappings fail here, in the caller's
process, before any actor starts (see :class:`~rlactors.algorithms.multi_agent.MultiAgentParts`).
Greedy evaluations are matches in the caller's process (``TrainingLoop._evaluate_matches``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rlactors.algorithms.builder import EnvInfo, PolicyEntry, PolicyMap, policy_weights
from rlactors.algorithms.multi_agent import MultiAgentEnvInfo, MultiAgentParts
from rlactors.algorithms.q_learning import QLearningBuilder
from rlactors.core import DEFAULT_POLICY_ID, Learner, Weights
from rlactors.multiagent.mapping import PolicyMappingError
from rlactors.multiagent.q_evaluator import MultiAgentQConfig
from rlactors.optimizers.multi_agent_samples import league_weights
from rlactors.seeding import LEARNER_STREAM, derive_seed


class MultiAgentQBuilder(QLearningBuilder):
    """The multi-role parts of DQN and Ape-X but their optimizer (see the module docstring).

    Raises:
        PolicyMappingError: See :class:`MultiAgentParts`; also ``centralized_critic``: a
            Q-learner has no critic.
    """

    env: MultiAgentEnvInfo
    multi_agent: MultiAgentParts

    def __init__(self, name: str, config: Any, env: EnvInfo) -> None:
        super().__init__(name, config, env)
        assert isinstance(env, MultiAgentEnvInfo)
        if config.centralized_critic:
            raise PolicyMappingError(
                f"{name}: centralized_critic is for the actor-critics (ppo, a2c); "
                f"{name} learns Q-values and has no critic"
            )
        self.multi_agent = MultiAgentParts(name, config, env)
        self.league = self.multi_agent.league
        self.trained = self.multi_agent.trained

    def policies(self) -> dict[str, PolicyEntry]:
        from rlactors.learners import DQNLearner  # torch (see algorithms.loop)
        from rlactors.policies import DQNPolicy

        out: dict[str, PolicyEntry] = {}
        for n, (pid, (obs_space, act_space)) in enumerate(self.multi_agent.policy_spaces.items()):
            policy = DQNPolicy(
                obs_space,
                act_space,
                self.policy_config(),
                seed=derive_seed(self.config.seed, LEARNER_STREAM, n),
            )
            out[pid] = PolicyEntry(policy, DQNLearner(policy, self.learner_config()))
        return out

    def trained_learners(self, policies: PolicyMap, env_steps: int) -> dict[str, Learner]:
        """The trained policies' learners, by id; the league's first snapshot (the learner as
        it starts) joins here."""
        league = self.league
        if league is not None and not league.snapshots:
            league.add(policies[DEFAULT_POLICY_ID].learner.get_weights(), env_steps)
        return {pid: policies[pid].learner for pid in self.trained}

    def weights_fn(self, policies: PolicyMap) -> Callable[[], dict[str, Weights]]:
        """What the evaluators are sent: every learned policy's weights and the snapshots."""
        league = self.league

        def weights() -> dict[str, Weights]:
            return {**policy_weights(policies), **league_weights(league)}

        return weights

    def q_config(
        self, num_envs: int, stream: int, epsilon: float, env_steps: int
    ) -> MultiAgentQConfig:
        """The evaluators' config: ``num_envs`` each, seeds from ``derive_seed`` path
        ``stream`` (continued from ``env_steps``, as single-role)."""
        c = self.config
        network = self.policy_config()
        return MultiAgentQConfig(
            env=self.env.spec,
            mapping=self.multi_agent.mapping,
            policies=dict.fromkeys(self.multi_agent.policy_spaces, network),
            num_envs=num_envs,
            rollout_steps=c.rollout_steps,
            n_step=c.n_step,
            gamma=c.gamma,
            epsilon=epsilon,
            seed=derive_seed(c.seed, stream, env_steps),
            self_play=self.multi_agent.self_play(),
            mask_key=c.action_mask_key,
        )

    def greedy_evaluator(self, env_steps: int) -> tuple[Callable[..., Any], Any] | None:
        """None: a multi-role run's greedy evaluations (matches) run in the caller's process."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return self.multi_agent.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.multi_agent.load_state_dict(state)
