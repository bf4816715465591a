"""MultiRoleStepper: what every multi-role evaluator does before its algorithm's bookkeeping.

K multi-role envs stepped together. At every step it asks each env for its acting roles,
groups them by the policy that plays them this episode (the
:class:`~rlactors.multiagent.mapping.RoleMapping`, or the self-play matchmaker) and asks each
policy once for all of its roles in all K envs: vectorized across envs, unlike RLlib's
multi-agent env runners (ray#46521). A scripted player or a league snapshot only acts; a
learned policy's move stays *open* until the role moves again or its episode ends, and is then
*closed* with everything the role collected in between (``observe(role).reward``, the AEC
convention), which makes turn-based credit exact.

What a closed move becomes is the subclass's: GAE rows or V-trace segments
(:class:`~rlactors.multiagent.evaluator.MultiAgentEvaluator`), n-step transitions
(:class:`~rlactors.multiagent.q_evaluator.MultiAgentQEvaluator`). A subclass passes its
policy copies' class (``NumpyQPolicy``) and implements three hooks::

    _act_policy(pid, rows) -> (env actions, one move record per row)     # one batched call
    _close_at_next(k, role, move, reward, next_move, out)   # the role moved again
    _close_at_end(k, role, move, obs, row, out)             # the role is done

and its sampling message is ``with self._timed(): out = ...; episodes = self._play(out)``.
``out`` is what one call collects (any type the hooks agree on); state that outlives a call
(n-step accumulators, V-trace streams) is the subclass's own.

Random streams (with :func:`~rlactors.seeding.derive_seed` from ``config.seed`` and the
evaluator's ``index``): policy copy ``n`` of the sorted learned ids draws from
``(POLICY_STREAM, n)`` and a league snapshot's from ``(POLICY_STREAM, 1000)``; scripted player
``n`` of the sorted opponents from ``7, n``; the matchmaker from ``8``; env ``k``'s episode
``e`` (counted over all envs) resets with ``(ENV_STREAM, k, e)``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import gymnasium as gym
import numpy as np

from rlactors.core import Env, EpisodeStats, Observation, PolicyWeights, Weights
from rlactors.envs.errors import EnvCheckError
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.spec import EnvSpec
from rlactors.errors import EnvSpecError
from rlactors.multiagent.mapping import LEAGUE_PREFIX, SCRIPTED_PREFIX, RoleMapping, is_learned
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


class SteppingConfig(Protocol):
    """The fields every multi-role evaluator's config has (those :class:`MultiRoleStepper`
    reads); each config documents them for its algorithm."""

    @property
    def env(self) -> EnvSpec: ...
    @property
    def mapping(self) -> RoleMapping: ...
    @property
    def policies(self) -> Mapping[str, object]: ...
    @property
    def num_envs(self) -> int: ...
    @property
    def rollout_steps(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def self_play(self) -> SelfPlay | None: ...
    @property
    def check_env(self) -> bool: ...
    @property
    def mask_key(self) -> str: ...
    @property
    def max_episode_steps(self) -> int: ...


def check_stepping_fields(
    config: SteppingConfig, ints: tuple[str, ...] = (), fractions: tuple[str, ...] = ()
) -> None:
    """A config's ``__post_init__`` checks of the shared fields: resolves ``env`` to an
    :class:`EnvSpec`, and checks ``num_envs``, ``rollout_steps``, ``ints`` and
    ``max_episode_steps`` are positive ints and ``fractions`` (None allowed) lie in ``[0, 1]``.

    Raises:
        EnvSpecError: ``env`` is not a spec; the message starts with the config's class name.
        ValueError: The first field that fails, named as ``Class.field``.
    """
    name = type(config).__name__
    try:
        object.__setattr__(config, "env", EnvSpec.of(config.env))
    except EnvSpecError as exc:
        raise EnvSpecError(f"{name}.{exc}") from None
    check_positive_ints(config, "num_envs", "rollout_steps", *ints, "max_episode_steps")
    for field_name in fractions:
        value = getattr(config, field_name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}.{field_name} must lie in [0, 1], got {value}")


def check_networks(config: SteppingConfig) -> None:
    """Raises ``ValueError`` unless every learned policy id (the mapping's and the self-play
    learner) has a network in ``config.policies``."""
    missing = [p for p in config.mapping.learned_ids() if p not in config.policies]
    if config.self_play is not None and config.self_play.policy_id not in config.policies:
        missing.append(config.self_play.policy_id)
    if missing:
        raise ValueError(f"{type(config).__name__}: policy {missing[0]!r} has no network")


class _Weighted(Protocol):
    def get_weights(self) -> Weights: ...
    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None: ...


ConfigT = TypeVar("ConfigT", bound=SteppingConfig)
PolicyT = TypeVar("PolicyT", bound=_Weighted)
PolicyT_co = TypeVar("PolicyT_co", bound=_Weighted, covariant=True)


class PolicyClass(Protocol[PolicyT_co]):
    """How a policy copy is built (``NumpyActorCriticPolicy``, ``NumpyQPolicy``): spaces,
    the network config of its id in ``config.policies``, a seed."""

    def __call__(
        self,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        config: Any,
        seed: int,
    ) -> PolicyT_co: ...


MoveT = TypeVar("MoveT")
OutT = TypeVar("OutT")

#: ``(env k, role, its observation)`` of each role a policy acts for in one step.
Asked = list[tuple[int, str, Observation]]


@dataclass
class _Episode(Generic[MoveT]):
    """One env's episode in progress: who plays, what each role got, moves still open."""

    assignment: dict[str, str]
    length: int = 0
    returns: dict[str, float] = field(init=False)
    finished: set[str] = field(default_factory=set)  # roles whose final reward is collected
    open: dict[str, MoveT] = field(default_factory=dict)  # a learned role's last move

    def __post_init__(self) -> None:
        self.returns = dict.fromkeys(self.assignment, 0.0)


class MultiRoleStepper(ABC, Generic[ConfigT, PolicyT, MoveT, OutT]):
    """Envs, episodes, matchmaking and the step loop of a multi-role evaluator; see the
    module docstring.

    Type parameters: the config, the learned policies' copy type, a subclass's record of an
    open move, and what one sampling call collects.

    Args:
        config: Envs, mapping, networks, shape, seeds.
        index: This evaluator's number among its siblings (names its random streams).
        policy_class: Builds the learned policies' and the league snapshots' copies.

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        ValueError: The env has one role (use the single-role evaluators).
    """

    def __init__(self, config: ConfigT, index: int, policy_class: PolicyClass[PolicyT]) -> None:
        self.config = config
        self.index = index
        self._policy_class = policy_class
        self._envs: list[Env] = [
            config.env.make(check=config.check_env, mask_key=config.mask_key)
            for _ in range(config.num_envs)
        ]
        first = self._envs[0]
        self.name = config.env.name
        if len(first.roles) < 2:
            raise ValueError(
                f"{type(self).__name__} needs a multi-role env; {self.name} has roles {first.roles}"
            )
        self.roles: tuple[str, ...] = tuple(first.roles)
        self._layouts = {r: ObservationLayout.of(first.observation_space(r)) for r in self.roles}
        mapping = config.mapping
        self._policies: dict[str, PolicyT] = {}
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
        self._league_probs: dict[str, float] = {}
        self._rng = np.random.default_rng(derive_seed(config.seed, index, 8))
        self._episode_count = 0
        self._episodes = [self._start(k) for k in range(config.num_envs)]
        self._env_steps = 0
        self._sample_time_s = 0.0

    # -- the subclass's hooks -------------------------------------------------------------------

    @abstractmethod
    def _act_policy(self, pid: str, rows: np.ndarray) -> tuple[np.ndarray, list[MoveT]]:
        """One batched call to policy copy ``pid`` (learned, or a league snapshot) for packed
        ``rows`` ``[B, P]``: the ``B`` actions to send to the envs, and each row's move record
        (kept open only when ``pid`` is learned)."""

    @abstractmethod
    def _close_at_next(
        self, k: int, role: str, move: MoveT, reward: float, next_move: MoveT, out: OutT
    ) -> None:
        """``role`` moved again in env ``k``: close its open ``move``, which earned
        ``reward``, with ``next_move`` (whose row is the next observation)."""

    @abstractmethod
    def _close_at_end(
        self, k: int, role: str, move: MoveT, obs: Observation, row: np.ndarray, out: OutT
    ) -> None:
        """``role`` is done in env ``k``: close its open ``move`` with its final ``obs``
        (``truncated``: cut, not terminated), packed as ``row`` ``[P]``."""

    # -- messages -------------------------------------------------------------------------------

    def set_weights(self, weights: PolicyWeights) -> None:
        """Load weights by policy id: learned policies' and league snapshots' (a snapshot id
        seen for the first time gets a policy copy of its own).

        Raises:
            ValueError: An id that is neither a learned policy nor a league snapshot.
        """
        for pid, w in weights.items():
            if pid not in self._policies:
                self_play = self.config.self_play
                if not (pid.startswith(LEAGUE_PREFIX) and self_play is not None):
                    raise ValueError(
                        f"{type(self).__name__} {self.index} acts with policies "
                        f"{sorted(self._policies)} and was sent weights for {pid!r}"
                    )
                learner_id = self_play.policy_id
                self._policies[pid] = self._policy(learner_id, self._policy_roles[learner_id], 1000)
            self._policies[pid].set_weights(w)

    def set_league(self, probabilities: Mapping[str, float]) -> None:
        """The self-play opponents' sampling probabilities, ``{league id: p}`` (summing to 1;
        ids without weights yet are skipped until they arrive)."""
        self._league_probs = dict(probabilities)

    def get_weights(self) -> dict[str, Weights]:
        """Every learned policy copy's weights, by id."""
        return {pid: self._policies[pid].get_weights() for pid in self.config.policies}

    def get_metrics(self) -> dict[str, Any]:
        """``env_steps`` since construction, ``env_steps_per_s`` inside the sampling calls and
        ``env_crashes`` (always 0: an env that raises ends the call, and the evaluator's
        supervisor restarts it)."""
        rate = self._env_steps / self._sample_time_s if self._sample_time_s > 0 else 0.0
        return {"env_steps": self._env_steps, "env_steps_per_s": rate, "env_crashes": 0}

    def close(self) -> None:
        """Close the envs."""
        for env in self._envs:
            env.close()

    # -- for the subclasses' messages -----------------------------------------------------------

    @property
    def _env_steps_per_call(self) -> int:
        """``rollout_steps * num_envs``: the interactions of one :meth:`_play`."""
        return self.config.rollout_steps * self.config.num_envs

    @contextmanager
    def _timed(self) -> Iterator[None]:
        """Around one sampling call: counts its env steps and its time (not if it raises)."""
        start = time.perf_counter()
        yield
        self._env_steps += self._env_steps_per_call
        self._sample_time_s += time.perf_counter() - start

    def _play(self, out: OutT) -> list[EpisodeStats]:
        """Step every env ``rollout_steps`` times, closing moves into ``out``; the episodes
        that ended.

        Raises:
            EnvCheckError: An env names a role as acting that is already done, or an episode ran
                past ``max_episode_steps``.
        """
        finished: list[EpisodeStats] = []
        for _ in range(self.config.rollout_steps):
            self._step(out, finished)
        return finished

    # -- one step of every env ------------------------------------------------------------------

    def _step(self, out: OutT, finished: list[EpisodeStats]) -> None:
        requests: dict[str, Asked] = {}
        for k, env in enumerate(self._envs):
            episode = self._episodes[k]
            acting = env.acting_roles()
            if not acting:  # over: every role's last reward, then a new episode
                self._finish(k, out, finished)
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
            self._act(pid, asked, actions, out)
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
                        self._end_role(k, role, obs, out)

    def _act(self, pid: str, asked: Asked, actions: dict[int, dict[str, Any]], out: OutT) -> None:
        """One batched call to policy ``pid`` for every role it plays that must act now; a
        learned role's previous move closes, and this one opens."""
        for k, role, obs in asked:
            self._episodes[k].returns[role] += float(obs.reward)
        if pid in self._scripts:
            chosen = self._scripts[pid].act_states([obs.state for _, _, obs in asked])
            for (k, role, _), action in zip(asked, chosen, strict=True):
                actions[k][role] = action
            return
        rows = self._layouts[asked[0][1]].pack_many([obs.state for _, _, obs in asked])
        env_actions, moves = self._act_policy(pid, rows)
        learned = is_learned(pid)
        for i, (k, role, obs) in enumerate(asked):
            actions[k][role] = env_actions[i]
            if not learned:
                continue  # a league snapshot: it acts, its moves teach nothing
            episode = self._episodes[k]
            previous = episode.open.get(role)
            if previous is not None:  # its last move's outcome: everything up to this move
                self._close_at_next(k, role, previous, float(obs.reward), moves[i], out)
            episode.open[role] = moves[i]

    def _end_role(self, k: int, role: str, obs: Observation, out: OutT) -> None:
        """``role`` is done in env ``k``: its last reward, and its open move closed."""
        episode = self._episodes[k]
        episode.finished.add(role)
        episode.returns[role] += float(obs.reward)
        move = episode.open.pop(role, None)
        if move is not None:
            row = self._layouts[role].pack_many([obs.state])[0]
            self._close_at_end(k, role, move, obs, row, out)

    def _finish(self, k: int, out: OutT, finished: list[EpisodeStats]) -> None:
        """Env ``k`` has no acting role: collect what every role still has, record the episode."""
        env, episode = self._envs[k], self._episodes[k]
        for role in self.roles:
            if role not in episode.finished:
                obs = env.observe(role)
                # No role acts, so the episode is over even for a role the env has not flagged
                # done: treat it as cut (truncated), bootstrapping from where it stands.
                if not obs.done:
                    obs = Observation(obs.state, obs.reward, False, True, obs.info)
                self._end_role(k, role, obs, out)
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

    def _start(self, k: int) -> _Episode[MoveT]:
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

    def _policy(self, network_id: str, role: str, n: int) -> PolicyT:
        """Policy copy ``n``: ``network_id``'s network in ``role``'s spaces, seeded
        ``(POLICY_STREAM, n)``."""
        first = self._envs[0]
        return self._policy_class(
            first.observation_space(role),
            first.action_space(role),
            self.config.policies[network_id],
            derive_seed(self.config.seed, self.index, POLICY_STREAM, n),
        )
