"""MultiAgentQEvaluator: K multi-role envs, epsilon-greedy Q policies per role, n-step moves.

The multi-role evaluator of DQN and Ape-X, as
:class:`~rlactors.multiagent.evaluator.MultiAgentEvaluator` is the actor-critics'. At every step
it asks each env for its acting roles, groups them by the policy that plays them this episode
(the :class:`~rlactors.multiagent.mapping.RoleMapping`, or the self-play matchmaker) and asks
each policy once for all of its roles in all K envs: a learned policy's epsilon-greedy
:class:`~rlactors.policies.NumpyQPolicy` copy, a scripted player, or a league snapshot (greedy:
a snapshot is an opponent to beat, not a learner that explores).

Turn-based credit is exact, as in the actor-critics' evaluator. A role's transition runs from
its move to its next move: ``s_{t+1}`` is its observation at its next move (or at its end) and
the reward is everything it collected in between (``observe(role).reward``, the AEC
convention), so the last transition of a game carries the reward the opponent's final move
dealt it. Each (env, role) is a stream of moves with an
:class:`~rlactors.replay.NStepAccumulator` of its own, ``gamma`` per move of the role; the
accumulator flushes when the role's episode ends (terminated: discount 0; cut: bootstrapped
from where it stands), so an n-step transition never spans two episodes or two roles, and moves
still short of ``n`` at the end of a sample carry over to the next. In a simultaneous env every
role moves at every step, and these are the usual single-agent transitions.

Usage::

    evaluator = spawn(MultiAgentQEvaluator, config, index=0)
    sample = evaluator.ask("sample").result(timeout=60)     # MultiAgentQSample
    sample.batches["default"]        # obs, actions, rewards, next_obs, discounts (+priorities)
    evaluator.tell("set_weights", {"default": weights, "league:1": snapshot})
    evaluator.tell("set_epsilon", 0.1)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rlactors.core import Env, EpisodeStats, Observation, PolicyWeights, SampleBatch, Weights
from rlactors.envs.errors import EnvCheckError
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.spec import EnvSpec
from rlactors.errors import EnvSpecError
from rlactors.multiagent.evaluator import SelfPlay
from rlactors.multiagent.mapping import LEAGUE_PREFIX, SCRIPTED_PREFIX, RoleMapping, is_learned
from rlactors.policies import DQNPolicyConfig
from rlactors.policies.dqn_config import check_epsilon
from rlactors.policies.numpy_q import NumpyQPolicy
from rlactors.replay import NStepAccumulator
from rlactors.seeding import ENV_STREAM, POLICY_STREAM, derive_seed
from rlactors.validation import check_positive_ints

#: The extra column of each batch when ``compute_priorities`` is set (as ``DQNEvaluator``'s).
PRIORITIES = "priorities"


@dataclass(frozen=True)
class MultiAgentQConfig:
    """How a :class:`MultiAgentQEvaluator` builds its envs and policy copies. Plain values only,
    so it pickles to any backend."""

    env: EnvSpec
    """The multi-role env to build; give one resolved in the caller's process."""

    mapping: RoleMapping
    """Which policy plays which role (scripted opponents included)."""

    policies: Mapping[str, DQNPolicyConfig]
    """Every learned policy's network, by id; must match its learner's so weights fit."""

    num_envs: int = 1
    """K envs stepped together, with one batched call per policy per step."""

    rollout_steps: int = 256
    """Steps of all K envs per sample: a sample is ``rollout_steps * num_envs`` env steps
    (interactions), whichever roles act in them."""

    n_step: int = 3
    """Moves of a role summed into each of its transitions' returns."""

    gamma: float = 0.99
    """Discount per move of a role."""

    epsilon: float = 0.0
    """Initial exploration of the learned policies (change it with ``set_epsilon``)."""

    seed: int = 0
    """Root seed: env seeds, exploration and the scripts' draws derive from it and the
    evaluator's index."""

    self_play: SelfPlay | None = None
    """Self-play matchmaking (None: ``mapping`` alone decides)."""

    compute_priorities: bool = False
    """Add a ``priorities`` column, ``|TD error|`` by the policy's own copy (Ape-X)."""

    check_env: bool = True
    """Validate observations, rewards and actions at every step (``CheckedEnv``)."""

    mask_key: str = "action_mask"
    """The Dict observation key of the action mask, for the checks."""

    max_episode_steps: int = 100_000
    """An episode longer than this is an error naming the env (a game that never ends)."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "env", EnvSpec.of(self.env))
        except EnvSpecError as exc:
            raise EnvSpecError(f"MultiAgentQConfig.{exc}") from None
        check_positive_ints(self, "num_envs", "rollout_steps", "n_step", "max_episode_steps")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"MultiAgentQConfig.gamma must lie in [0, 1], got {self.gamma}")
        check_epsilon("MultiAgentQConfig.epsilon", self.epsilon)
        missing = [p for p in self.mapping.learned_ids() if p not in self.policies]
        if self.self_play is not None and self.self_play.policy_id not in self.policies:
            missing.append(self.self_play.policy_id)
        if missing:
            raise ValueError(f"MultiAgentQConfig: policy {missing[0]!r} has no network")

    @property
    def env_steps_per_sample(self) -> int:
        """``rollout_steps * num_envs``."""
        return self.rollout_steps * self.num_envs


class MultiAgentQSample(NamedTuple):
    """What :meth:`MultiAgentQEvaluator.sample` returns.

    Attributes:
        batches: One :class:`SampleBatch` per learned policy with transitions completed in the
            sample: ``obs`` ``[N, P]`` (packed), ``actions`` ``[N]`` int64, ``rewards`` ``[N]``
            float32 (the discounted n-step return over the role's moves), ``next_obs``
            ``[N, P]``, ``discounts`` ``[N]`` float32 (``gamma**m``, 0 where the role's game
            terminated), plus ``priorities`` ``[N]`` float32 with ``compute_priorities``.
        episodes: The episodes that ended, with ``role_returns`` and ``policy_ids`` (what the
            league records); ``episode_return`` is the mean return of the learned roles.
        env_steps: ``rollout_steps * num_envs`` interactions.
    """

    batches: dict[str, SampleBatch]
    episodes: list[EpisodeStats]
    env_steps: int


@dataclass
class _Episode:
    """One env's episode in progress: who plays, the roles' open moves and returns."""

    assignment: dict[str, str]
    length: int = 0
    returns: dict[str, float] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    # A learned role's last move, ``(packed row, action)``, whose outcome is not known yet.
    open: dict[str, tuple[np.ndarray, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.returns = dict.fromkeys(self.assignment, 0.0)


class MultiAgentQEvaluator:
    """Steps K multi-role envs with Q policies; see the module docstring.

    Args:
        config: Envs, mapping, networks, n-step, seeds.
        index: This evaluator's number among its siblings (names its random streams).

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        SpaceError: A learned policy's role has no Discrete actions (Q-learning needs them).
        ValueError: The env has one role (use :class:`~rlactors.evaluators.DQNEvaluator`).
    """

    def __init__(self, config: MultiAgentQConfig, index: int = 0) -> None:
        self.config = config
        self.index = index
        self._envs: list[Env] = [
            config.env.make(check=config.check_env, mask_key=config.mask_key)
            for _ in range(config.num_envs)
        ]
        first = self._envs[0]
        self.name = config.env.name
        if len(first.roles) < 2:
            raise ValueError(
                f"MultiAgentQEvaluator needs a multi-role env; {self.name} has roles {first.roles}"
            )
        self.roles: tuple[str, ...] = tuple(first.roles)
        self._layouts = {r: ObservationLayout.of(first.observation_space(r)) for r in self.roles}
        mapping = config.mapping
        self._policies: dict[str, NumpyQPolicy] = {}
        self._policy_roles: dict[str, str] = {}  # a role each policy plays (for its spaces)
        for n, pid in enumerate(sorted(config.policies)):
            role = (mapping.roles_of(pid) or self.roles)[0]
            self._policy_roles[pid] = role
            self._policies[pid] = self._policy(pid, role, n)
        self._scripts: dict[str, Any] = {}
        for n, (role, name) in enumerate(sorted(mapping.opponents.items())):
            pid = f"{SCRIPTED_PREFIX}{name}"
            if pid not in self._scripts:
                from rlactors.multiagent.opponents import scripted_player

                self._scripts[pid] = scripted_player(
                    name, first.action_space(role), derive_seed(config.seed, index, 7, n)
                )
        self._epsilon = config.epsilon
        self.set_epsilon(config.epsilon)
        self._accumulators = {
            (k, role): NStepAccumulator(config.n_step, config.gamma)
            for k in range(config.num_envs)
            for role in self.roles
        }
        self._league_probs: dict[str, float] = {}
        self._rng = np.random.default_rng(derive_seed(config.seed, index, 8))
        self._episode_count = 0
        self._episodes = [self._start(k) for k in range(config.num_envs)]
        self._env_steps = 0
        self._sample_time_s = 0.0

    # -- messages -------------------------------------------------------------------------------

    def sample(self) -> MultiAgentQSample:
        """Step every env ``rollout_steps`` times; see :class:`MultiAgentQSample`.

        Raises:
            EnvCheckError: An env names a role as acting that is already done, or an episode ran
                past ``max_episode_steps``.
        """
        start = time.perf_counter()
        pieces: dict[str, list[SampleBatch]] = {}
        finished: list[EpisodeStats] = []
        for _ in range(self.config.rollout_steps):
            self._step(pieces, finished)
        batches: dict[str, SampleBatch] = {}
        for pid, chunks in pieces.items():
            batch = SampleBatch.concat(chunks)
            if self.config.compute_priorities:
                td_error = self._policies[pid].compute_td_error(batch)
                batch = SampleBatch({**batch.columns, PRIORITIES: np.abs(td_error)})
            batches[pid] = batch
        self._env_steps += self.config.env_steps_per_sample
        self._sample_time_s += time.perf_counter() - start
        return MultiAgentQSample(batches, finished, self.config.env_steps_per_sample)

    def set_weights(self, weights: PolicyWeights) -> None:
        """Load weights by policy id: learned policies' and league snapshots' (a snapshot id
        seen for the first time gets a policy copy of its own).

        Raises:
            ValueError: An id that is neither a learned policy nor a league snapshot.
        """
        for pid, w in weights.items():
            if pid not in self._policies:
                if not (pid.startswith(LEAGUE_PREFIX) and self.config.self_play is not None):
                    raise ValueError(
                        f"MultiAgentQEvaluator {self.index} acts with policies "
                        f"{sorted(self._policies)} and was sent weights for {pid!r}"
                    )
                learner_id = self.config.self_play.policy_id
                self._policies[pid] = self._policy(learner_id, self._policy_roles[learner_id], 1000)
            self._policies[pid].set_weights(w)

    def set_epsilon(self, epsilon: float) -> None:
        """The learned policies' exploration for the following samples (snapshots act greedily).

        Raises:
            ValueError: ``epsilon`` is outside ``[0, 1]``.
        """
        check_epsilon("epsilon", epsilon)
        self._epsilon = float(epsilon)
        for pid in self.config.policies:
            self._policies[pid].set_epsilon(epsilon)

    def set_league(self, probabilities: Mapping[str, float]) -> None:
        """The self-play opponents' sampling probabilities, ``{league id: p}`` (summing to 1;
        ids without weights yet are skipped until they arrive)."""
        self._league_probs = dict(probabilities)

    def get_weights(self) -> dict[str, Weights]:
        """Every learned policy copy's weights, by id."""
        return {pid: self._policies[pid].get_weights() for pid in self.config.policies}

    def env_steps_per_sample(self) -> int:
        """Env steps each ``sample()`` call takes (``rollout_steps * num_envs``)."""
        return self.config.env_steps_per_sample

    def new_env_crashes(self) -> int:
        """Always 0: a multi-role env that raises ends the sample (see MultiAgentEvaluator)."""
        return 0

    def get_metrics(self) -> dict[str, Any]:
        """``env_steps`` since construction, ``epsilon``, ``env_steps_per_s`` inside
        :meth:`sample` and ``env_crashes`` (0)."""
        rate = self._env_steps / self._sample_time_s if self._sample_time_s > 0 else 0.0
        return {
            "env_steps": self._env_steps,
            "epsilon": self._epsilon,
            "env_steps_per_s": rate,
            "env_crashes": 0,
        }

    def close(self) -> None:
        """Close the envs."""
        for env in self._envs:
            env.close()

    # -- one step of every env ------------------------------------------------------------------

    def _step(self, pieces: dict[str, list[SampleBatch]], finished: list[EpisodeStats]) -> None:
        requests: dict[str, list[tuple[int, str, Observation]]] = {}
        for k, env in enumerate(self._envs):
            episode = self._episodes[k]
            acting = env.acting_roles()
            if not acting:  # over: every role's last reward, then a new episode
                self._finish(k, pieces, finished)
                episode = self._episodes[k] = self._start(k)
                acting = env.acting_roles()
            for role in acting:
                if role in episode.finished:
                    raise EnvCheckError(
                        self.name,
                        role,
                        episode.length,
                        self._env_steps,
                        "the env lists this role as acting, but the role is done",
                        acting,
                    )
                requests.setdefault(episode.assignment[role], []).append(
                    (k, role, env.observe(role))
                )
        actions: dict[int, dict[str, Any]] = {k: {} for k in range(len(self._envs))}
        for pid, asked in requests.items():
            self._act(pid, asked, actions, pieces)
        for k, env in enumerate(self._envs):
            env.interact(actions[k])
            episode = self._episodes[k]
            episode.length += 1
            if episode.length > self.config.max_episode_steps:
                raise EnvCheckError(
                    self.name,
                    ",".join(env.acting_roles()),
                    episode.length,
                    self._env_steps,
                    f"the episode ran past max_episode_steps ({self.config.max_episode_steps})",
                    None,
                )
            for role in self.roles:
                if role not in episode.finished:
                    obs = env.observe(role)
                    if obs.done:
                        self._end_role(k, role, obs, pieces)

    def _act(
        self,
        pid: str,
        asked: list[tuple[int, str, Observation]],
        actions: dict[int, dict[str, Any]],
        pieces: dict[str, list[SampleBatch]],
    ) -> None:
        """One batched call to policy ``pid`` for every role it plays that must act now."""
        for k, role, obs in asked:
            self._episodes[k].returns[role] += float(obs.reward)
        if pid in self._scripts:
            chosen = self._scripts[pid].act_states([obs.state for _, _, obs in asked])
            for (k, role, _), action in zip(asked, chosen, strict=True):
                actions[k][role] = action
            return
        rows = self._layouts[asked[0][1]].pack_many([obs.state for _, _, obs in asked])
        learned = is_learned(pid)
        # A league snapshot plays greedily: it is the opponent to beat, not a learner.
        chosen = self._policies[pid].act(rows, explore=learned)
        for i, (k, role, obs) in enumerate(asked):
            actions[k][role] = chosen[i]
            if not learned:
                continue  # a league snapshot: it acts, its moves teach nothing
            episode = self._episodes[k]
            previous = episode.open.get(role)
            if previous is not None:  # its last move's outcome: everything up to this move
                self._add(k, role, pid, previous, float(obs.reward), rows[i], False, False, pieces)
            episode.open[role] = (rows[i], chosen[i])

    def _end_role(
        self, k: int, role: str, obs: Observation, pieces: dict[str, list[SampleBatch]]
    ) -> None:
        """``role`` is done in env ``k``: its last reward, and its open move closed."""
        episode = self._episodes[k]
        episode.finished.add(role)
        episode.returns[role] += float(obs.reward)
        move = episode.open.pop(role, None)
        if move is None:
            return
        row = self._layouts[role].pack_many([obs.state])[0]
        pid = episode.assignment[role]
        # Cut (not terminated): the state it reached still has a value to bootstrap from.
        self._add(k, role, pid, move, float(obs.reward), row, obs.terminated, True, pieces)

    def _add(
        self,
        k: int,
        role: str,
        pid: str,
        move: tuple[np.ndarray, Any],
        reward: float,
        next_row: np.ndarray,
        terminated: bool,
        truncated: bool,
        pieces: dict[str, list[SampleBatch]],
    ) -> None:
        """One move of (env ``k``, ``role``) into its stream's n-step accumulator."""
        row, action = move
        out = self._accumulators[k, role].add(row, action, reward, next_row, terminated, truncated)
        if len(out):
            pieces.setdefault(pid, []).append(out)

    def _finish(
        self, k: int, pieces: dict[str, list[SampleBatch]], finished: list[EpisodeStats]
    ) -> None:
        """Env ``k`` has no acting role: collect what every role still has, record the episode."""
        env, episode = self._envs[k], self._episodes[k]
        for role in self.roles:
            if role not in episode.finished:
                obs = env.observe(role)
                # No role acts, so the episode is over even for a role the env has not flagged
                # done: treat it as cut (truncated), bootstrapping from where it stands.
                if not obs.done:
                    obs = Observation(obs.state, obs.reward, False, True, obs.info)
                self._end_role(k, role, obs, pieces)
        learned = [r for r in self.roles if is_learned(episode.assignment[r])]
        mean = float(np.mean([episode.returns[r] for r in learned])) if learned else 0.0
        finished.append(
            EpisodeStats(
                mean,
                episode.length,
                role_returns=dict(episode.returns),
                policy_ids=dict(episode.assignment),
            )
        )

    def _start(self, k: int) -> _Episode:
        """Reset env ``k`` for a new episode and pick who plays it."""
        seed = derive_seed(self.config.seed, self.index, ENV_STREAM, k, self._episode_count)
        self._envs[k].reset(seed=seed)
        assignment = self._assignment(self._episode_count)
        self._episode_count += 1
        return _Episode(assignment)

    def _assignment(self, episode: int) -> dict[str, str]:
        """The mapping's players, or (self-play) a league snapshot on all seats but one."""
        assignment = self.config.mapping.assignment(episode)
        self_play = self.config.self_play
        if self_play is None:
            return assignment
        league = [pid for pid in self._league_probs if pid in self._policies]
        if not league or self._rng.random() < self_play.latest_prob:
            return assignment
        p = np.array([self._league_probs[pid] for pid in league], dtype=np.float64)
        opponent = league[int(self._rng.choice(len(league), p=p / p.sum()))]
        free = [r for r in self.roles if r not in self.config.mapping.opponents]
        learner_seat = free[int(self._rng.integers(len(free)))]
        for role in free:
            if role != learner_seat:
                assignment[role] = opponent
        return assignment

    def _policy(self, pid: str, role: str, n: int) -> NumpyQPolicy:
        first = self._envs[0]
        return NumpyQPolicy(
            first.observation_space(role),
            first.action_space(role),
            self.config.policies[pid],
            seed=derive_seed(self.config.seed, self.index, POLICY_STREAM, n),
        )
