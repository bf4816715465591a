"""MultiAgentEvaluator: K multi-role envs stepped together, each role acted for by its policy.

The seed's evaluator, for envs with several roles (turn-based or simultaneous). At every step
it asks each env for its acting roles, groups them by the policy that plays them this episode
(:class:`~rlactors.multiagent.mapping.RoleMapping`, or the self-play matchmaker), and asks each
policy once for all of its roles in all K envs: vectorized across envs, unlike RLlib's
multi-agent env runners (ray#46521). A rollout returns one batch per learned policy.

Turn-based credit is exact. A role's transition runs from its move to its next move: its
reward is everything the role collected in between (``observe(role).reward``, the AEC
convention of :mod:`rlactors.envs.toy` and the PettingZoo adapter), so the last transition of a
game carries the reward the opponent's final move dealt it. The discount ``gamma`` is per move
of the role, and GAE runs over each role's own sequence of moves. In a simultaneous env every
role moves at every step, and this is the usual single-agent transition.

A transition still open when a rollout ends (the role moved and has not moved again) is closed
in the next rollout: its action was sampled by the weights of the rollout before, which PPO's
ratio corrects like any other stale sample.

Trajectories (``gae_lambda=None``, IMPALA). V-trace needs time-major sequences, so each stream
of a learned policy's closed moves in one seat, ``(env k, role, policy id)``, is cut into
segments of exactly ``T = rollout_steps`` moves. A stream's moves that do not fill a segment yet
wait for the next rollout (a turn-based role moves on about every other env step, so its
segment takes about two rollouts); nothing is padded and no move is dropped. A rollout emits,
per policy id, the segments completed in it side by side, ``[T, S]`` time-major as
:class:`~rlactors.evaluators.ActorCriticEvaluator`'s trajectories (row ``t * S + s``), so
:class:`~rlactors.learners.v_trace.VTraceLearner` learns them unchanged. A segment crosses an
episode end as a single-role rollout does: the last move of an episode has discount 0 (and
``truncated`` with its final observation in ``next_obs`` if the episode was cut, not
terminated); the stream goes on with the seat's moves in a later episode of that env. A league
snapshot's or a script's moves are not in any stream.

Usage::

    evaluator = spawn(MultiAgentEvaluator, config, index=0)
    rollout = evaluator.ask("rollout").result(timeout=60)   # MultiAgentRollout
    rollout.batches["default"]                 # a SampleBatch with GAE advantages and returns
    evaluator.tell("set_weights", {"default": weights, "league:1": snapshot})

Env crashes: an env that raises ends the rollout with the exception; the evaluator's
supervisor restarts it and the rollout is counted as lost (the single-role evaluators' rebuild
of crashed envs, :mod:`rlactors.envs.crashes`, does not cover multi-role envs yet).
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
from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
from rlactors.multiagent.mapping import LEAGUE_PREFIX, SCRIPTED_PREFIX, RoleMapping, is_learned
from rlactors.multiagent.trajectories import ClosedMoves, MoveStream, gae_batches, segment_batches
from rlactors.policies import ActorCriticConfig, NumpyActorCriticPolicy
from rlactors.seeding import ENV_STREAM, POLICY_STREAM, derive_seed
from rlactors.validation import check_positive_ints


@dataclass(frozen=True)
class SelfPlay:
    """How a self-play evaluator picks each episode's players (two-role envs).

    With probability ``latest_prob`` (or while the league is empty) the learned policy plays
    every role (both seats' moves train it); otherwise it plays one seat, drawn uniformly, and
    a league snapshot the other, drawn with the probabilities of the last ``set_league``.
    """

    policy_id: str
    """The learned policy."""

    latest_prob: float = 0.5
    """Probability that an episode is the learned policy against itself."""


@dataclass(frozen=True)
class MultiAgentRolloutConfig:
    """How a :class:`MultiAgentEvaluator` builds its envs and policies. Plain values only, so
    it pickles to any backend."""

    env: EnvSpec
    """The multi-role env to build; give one resolved in the caller's process."""

    mapping: RoleMapping
    """Which policy plays which role (scripted opponents included)."""

    policies: Mapping[str, ActorCriticConfig]
    """Every learned policy's network, by id; must match its learner's so weights fit."""

    num_envs: int = 1
    """K envs stepped together, with one batched call per policy per step."""

    rollout_steps: int = 32
    """Steps of all K envs per rollout: a rollout is ``rollout_steps * num_envs`` env steps
    (interactions), whichever roles act in them. With trajectories, also T: the moves in one
    segment."""

    gamma: float = 0.99
    """Discount per move of a role."""

    gae_lambda: float | None = 0.95
    """GAE lambda over each role's moves; None for raw trajectories in segments of
    ``rollout_steps`` moves (IMPALA; see the module docstring)."""

    seed: int = 0
    """Root seed: env seeds, the policies' sampling and the scripts' draws derive from it and
    the evaluator's index."""

    self_play: SelfPlay | None = None
    """Self-play matchmaking (None: ``mapping`` alone decides)."""

    check_env: bool = True
    """Validate observations, rewards and actions at every step (``CheckedEnv``)."""

    mask_key: str = "action_mask"
    """The Dict observation key of the action mask, for the checks."""

    learner: ActorCriticLearnerConfig = field(default_factory=ActorCriticLearnerConfig)
    """The A2C loss weights and clipping of A3C's workers
    (:class:`~rlactors.multiagent.gradients.MultiAgentGradientEvaluator`): the learners'."""

    trained: tuple[str, ...] = ()
    """The learned policies that learn (A3C's workers compute only their gradients); empty:
    every learned policy."""

    max_episode_steps: int = 100_000
    """An episode longer than this is an error naming the env (a game that never ends)."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "env", EnvSpec.of(self.env))
        except EnvSpecError as exc:
            raise EnvSpecError(f"MultiAgentRolloutConfig.{exc}") from None
        check_positive_ints(self, "num_envs", "rollout_steps", "max_episode_steps")
        for name in ("gamma", "gae_lambda"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"MultiAgentRolloutConfig.{name} must lie in [0, 1], got {value}")
        missing = [p for p in self.mapping.learned_ids() if p not in self.policies]
        if self.self_play is not None and self.self_play.policy_id not in self.policies:
            missing.append(self.self_play.policy_id)
        if missing:
            raise ValueError(f"MultiAgentRolloutConfig: policy {missing[0]!r} has no network")

    @property
    def env_steps_per_rollout(self) -> int:
        """``rollout_steps * num_envs``."""
        return self.rollout_steps * self.num_envs


class MultiAgentRollout(NamedTuple):
    """What :meth:`MultiAgentEvaluator.rollout` returns.

    Attributes:
        batches: One :class:`SampleBatch` per learned policy that moved: ``obs`` ``[N, P]``
            (packed), ``actions`` ``[N, *action_shape]``, ``log_probs``, ``values``,
            ``advantages`` and ``returns`` ``[N]`` (the columns PPO and A2C learn from). Rows
            are the transitions closed during the rollout, each role's in order of its moves.
            Trajectories (``gae_lambda=None``) instead: per policy that completed a segment,
            ``N = T * S`` time-major rows of ``S`` segments of ``T = rollout_steps`` moves
            (row ``t * S + s``), with ``obs``, ``actions``, ``log_probs`` (behaviour),
            ``values``, ``rewards``, ``discounts`` (``gamma``, 0 at an episode end),
            ``truncated`` (bool), ``next_obs`` ``[N, P]`` (the observation of the seat's next
            move, or its final one) and ``crashed`` (all False).
        episodes: The episodes that ended: ``episode_return`` is the mean return of the roles
            played by learned policies; ``role_returns`` and ``policy_ids`` say who played and
            what each role got.
        env_steps: ``rollout_steps * num_envs`` interactions.
        obs_stats: Always None (observation normalization is not supported for multi-role
            envs); kept so the single-role optimizers' bookkeeping reads the same fields.
        env_crashes: Always 0 (see the module docstring).
    """

    batches: dict[str, SampleBatch]
    episodes: list[EpisodeStats]
    env_steps: int
    obs_stats: None = None
    env_crashes: int = 0


@dataclass
class _Move:
    """A learned policy's move whose outcome (the role's next move, or the end) is not known yet."""

    policy_id: str
    row: np.ndarray
    action: Any
    log_prob: float
    value: float


class _Episode:
    """One env's episode in progress: who plays, what each role got, moves still open."""

    def __init__(self, assignment: dict[str, str]) -> None:
        self.assignment = assignment
        self.returns = dict.fromkeys(assignment, 0.0)
        self.open: dict[str, _Move] = {}
        self.finished: set[str] = set()  # roles whose final reward has been collected
        self.length = 0


class MultiAgentEvaluator:
    """Steps K multi-role envs; see the module docstring.

    Args:
        config: Envs, mapping, networks, rollout shape, seeds.
        index: This evaluator's number among its siblings (names its random streams).

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        ValueError: The env has one role (use the single-role evaluators).
    """

    def __init__(self, config: MultiAgentRolloutConfig, index: int = 0) -> None:
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
                f"MultiAgentEvaluator needs a multi-role env; {self.name} has roles {first.roles}"
            )
        self.roles: tuple[str, ...] = tuple(first.roles)
        self._layouts = {r: ObservationLayout.of(first.observation_space(r)) for r in self.roles}
        mapping = config.mapping
        self._policies: dict[str, NumpyActorCriticPolicy] = {}
        self._policy_roles: dict[str, str] = {}  # a role each policy plays (for its spaces)
        for n, pid in enumerate(sorted(config.policies)):
            roles = mapping.roles_of(pid) or self.roles
            role = roles[0]
            self._policy_roles[pid] = role
            self._policies[pid] = NumpyActorCriticPolicy(
                first.observation_space(role),
                first.action_space(role),
                config.policies[pid],
                seed=derive_seed(config.seed, index, POLICY_STREAM, n),
            )
        self._scripts: dict[str, Any] = {}
        for n, (role, name) in enumerate(sorted(mapping.opponents.items())):
            pid = f"{SCRIPTED_PREFIX}{name}"
            if pid not in self._scripts:
                from rlactors.multiagent.opponents import scripted_player

                self._scripts[pid] = scripted_player(
                    name, first.action_space(role), derive_seed(config.seed, index, 7, n)
                )
        self._league_probs: dict[str, float] = {}
        self._rng = np.random.default_rng(derive_seed(config.seed, index, 8))
        self._episode_count = 0
        # Trajectory mode: each (env, role, policy id) seat's moves not in a segment yet.
        self._streams: dict[tuple[int, str, str], MoveStream] = {}
        self._episodes: list[_Episode] = []
        for k in range(config.num_envs):
            self._episodes.append(self._start(k))
        self._env_steps = 0
        self._sample_time_s = 0.0

    # -- messages -------------------------------------------------------------------------------

    def rollout(self) -> MultiAgentRollout:
        """Step every env ``rollout_steps`` times; see :class:`MultiAgentRollout`.

        Raises:
            EnvCheckError: An env names a role as acting that is already done, or an episode ran
                past ``max_episode_steps``.
        """
        start = time.perf_counter()
        closed: dict[tuple[int, str], ClosedMoves] = {}
        finished: list[EpisodeStats] = []
        for _ in range(self.config.rollout_steps):
            self._step(closed, finished)
        lam = self.config.gae_lambda
        batches = (
            segment_batches(self._streams, self.config.rollout_steps)
            if lam is None
            else gae_batches(closed, self.config.gamma, lam)
        )
        self._env_steps += self.config.env_steps_per_rollout
        self._sample_time_s += time.perf_counter() - start
        return MultiAgentRollout(batches, finished, self.config.env_steps_per_rollout)

    def set_weights(self, weights: PolicyWeights) -> None:
        """Load weights by policy id: learned policies' and league snapshots' (a snapshot id
        seen for the first time gets a policy copy of its own).

        Raises:
            ValueError: An id that is neither a learned policy nor a league snapshot.
        """
        for pid, w in weights.items():
            if pid in self._policies:
                self._policies[pid].set_weights(w)
            elif pid.startswith(LEAGUE_PREFIX) and self.config.self_play is not None:
                learner_id = self.config.self_play.policy_id
                role = self._policy_roles[learner_id]
                first = self._envs[0]
                policy = NumpyActorCriticPolicy(
                    first.observation_space(role),
                    first.action_space(role),
                    self.config.policies[learner_id],
                    seed=derive_seed(self.config.seed, self.index, POLICY_STREAM, 1000),
                )
                policy.set_weights(w)
                self._policies[pid] = policy
            else:
                raise ValueError(
                    f"MultiAgentEvaluator {self.index} acts with policies "
                    f"{sorted(self._policies)} and was sent weights for {pid!r}"
                )

    def set_league(self, probabilities: Mapping[str, float]) -> None:
        """The self-play opponents' sampling probabilities, ``{league id: p}`` (summing to 1;
        ids without weights yet are skipped until they arrive)."""
        self._league_probs = dict(probabilities)

    def get_weights(self) -> dict[str, Weights]:
        """Every learned policy copy's weights, by id."""
        return {pid: self._policies[pid].get_weights() for pid in self.config.policies}

    def get_metrics(self) -> dict[str, Any]:
        """``env_steps`` since construction and ``env_steps_per_s`` inside :meth:`rollout`."""
        rate = self._env_steps / self._sample_time_s if self._sample_time_s > 0 else 0.0
        return {"env_steps": self._env_steps, "env_steps_per_s": rate, "env_crashes": 0}

    def close(self) -> None:
        """Close the envs."""
        for env in self._envs:
            env.close()

    # -- one step of every env ------------------------------------------------------------------

    def _step(
        self, closed: dict[tuple[int, str], ClosedMoves], finished: list[EpisodeStats]
    ) -> None:
        requests: dict[str, list[tuple[int, str, Observation]]] = {}
        for k, env in enumerate(self._envs):
            episode = self._episodes[k]
            acting = env.acting_roles()
            if not acting:  # over: every role's last reward, then a new episode
                self._finish(k, closed, finished)
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
            self._act(pid, asked, actions, closed)
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
                        self._end_role(k, role, obs, closed)

    def _act(
        self,
        pid: str,
        asked: list[tuple[int, str, Observation]],
        actions: dict[int, dict[str, Any]],
        closed: dict[tuple[int, str], ClosedMoves],
    ) -> None:
        """One batched call to policy ``pid`` for every role it plays that must act now."""
        for k, role, obs in asked:
            self._episodes[k].returns[role] += float(obs.reward)
        if pid in self._scripts:
            chosen = self._scripts[pid].act_states([obs.state for _, _, obs in asked])
            for (k, role, _), action in zip(asked, chosen, strict=True):
                actions[k][role] = action
            return
        policy = self._policies[pid]
        rows = self._layouts[asked[0][1]].pack_many([obs.state for _, _, obs in asked])
        info = policy.act_with_info(rows)
        env_actions = policy.clip_actions(info.actions)
        for i, (k, role, obs) in enumerate(asked):
            actions[k][role] = env_actions[i]
            if not is_learned(pid):
                continue  # a league snapshot: it acts, its moves teach nothing
            episode = self._episodes[k]
            previous = episode.open.get(role)
            if previous is not None:  # its last move's outcome: everything up to this move
                self._close(
                    k,
                    role,
                    previous,
                    float(obs.reward),
                    float(info.values[i]),
                    rows[i],
                    None,
                    closed,
                )
            episode.open[role] = _Move(
                pid, rows[i], info.actions[i], float(info.log_probs[i]), float(info.values[i])
            )

    def _end_role(
        self, k: int, role: str, obs: Observation, closed: dict[tuple[int, str], ClosedMoves]
    ) -> None:
        """``role`` is done in env ``k``: its last reward, and its open move closed."""
        episode = self._episodes[k]
        episode.finished.add(role)
        episode.returns[role] += float(obs.reward)
        move = episode.open.pop(role, None)
        if move is None:
            return
        row = self._layouts[role].pack_many([obs.state])
        next_value = 0.0
        if not obs.terminated and self.config.gae_lambda is not None:
            # Cut (time limit): the state it reached still has a value. (V-trace's learner
            # bootstraps a truncated trajectory itself, from next_obs.)
            next_value = float(self._policies[move.policy_id].value(row)[0])
        self._close(
            k, role, move, float(obs.reward), next_value, row[0], not obs.terminated, closed
        )

    def _finish(
        self, k: int, closed: dict[tuple[int, str], ClosedMoves], finished: list[EpisodeStats]
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
                self._end_role(k, role, obs, closed)
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

    def _close(
        self,
        k: int,
        role: str,
        move: _Move,
        reward: float,
        next_value: float,
        next_row: np.ndarray,
        truncated: bool | None,
        closed: dict[tuple[int, str], ClosedMoves],
    ) -> None:
        """Close ``role``'s open ``move`` in env ``k``: at the role's next move (``truncated``
        None), or at the episode's end (``truncated``: cut rather than terminated)."""
        ended = truncated is not None
        if self.config.gae_lambda is None:
            stream = self._streams.setdefault((k, role, move.policy_id), MoveStream())
            stream.obs.append(move.row)
            stream.actions.append(move.action)
            stream.log_probs.append(move.log_prob)
            stream.values.append(move.value)
            stream.rewards.append(reward)
            stream.discounts.append(0.0 if ended else self.config.gamma)
            stream.truncated.append(bool(truncated))
            stream.next_obs.append(next_row)
            return
        out = closed.setdefault((k, role), ClosedMoves())
        out.policy_id.append(move.policy_id)
        out.rows.append(move.row)
        out.actions.append(move.action)
        out.log_probs.append(move.log_prob)
        out.values.append(move.value)
        out.rewards.append(reward)
        out.next_values.append(next_value)
        out.ended.append(ended)

    def _start(self, k: int) -> _Episode:
        """Reset env ``k`` for a new episode and pick who plays it."""
        seed = derive_seed(self.config.seed, self.index, ENV_STREAM, k, self._episode_count)
        self._envs[k].reset(seed=seed)
        assignment = self._assignment(self._episode_count)
        self._episode_count += 1
        return _Episode(assignment)

    def _assignment(self, episode: int) -> dict[str, str]:
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
