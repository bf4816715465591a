"""The vocabulary of rlactors: environment, policy, sample batch, evaluator, optimizer.

These are the seed design's concepts (``AbstractEnv``, ``AbstractPolicy``, ``AbstractEvaluator``
and the optimizer), readable in one sitting. Nothing here knows about actors: any of these objects
can be spawned as an actor with :func:`rlactors.actors.spawn`, and every public method then becomes
a message. The usage loop, as it runs inside an evaluator::

    env.reset(seed=0)
    while not done:
        obs = env.observe(role)                     # Observation(state, reward, terminated, ...)
        actions = policy.act(obs.state[None])       # batched: [1, *obs_shape] -> [1]
        env.interact({role: actions[0]})
    # ...and inside an optimizer, across evaluators and replay:
    batch = evaluator.sample()                      # SampleBatch of n-step transitions
    stats = learner.learn(batch)                    # trains learner.policy's network
    evaluator.set_weights({DEFAULT_POLICY_ID: learner.get_weights()})   # keyed by policy id
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

#: The role of the one agent in a single-agent environment.
DEFAULT_ROLE = "agent"

#: The id of the one policy of a single-agent run. A run holds its policies by id (a
#: multi-agent run maps roles to several); weights, checkpoints and metrics are keyed by it.
DEFAULT_POLICY_ID = "default"

#: Weights travel as plain named arrays, never as pickled objects.
Weights = dict[str, np.ndarray]

#: What evaluators are sent: ``{policy id: weights}`` (RLlib's ``set_weights`` takes the same).
PolicyWeights = Mapping[str, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Observation:
    """What one role sees after a step (the seed's ``observe(env, role)``).

    Attributes:
        state: This role's observation, a member of ``observation_space(role)``: an array for
            Box, Discrete, MultiDiscrete and MultiBinary spaces; a dict or tuple of them for
            Dict and Tuple spaces (packed into one array where observations are batched, see
            :class:`rlactors.envs.observations.ObservationLayout`).
        reward: Reward this role received for the last interaction (0.0 after ``reset``).
        terminated: The episode ended in a terminal state (no bootstrapping past it).
        truncated: The episode was cut (time limit): bootstrapping from ``state`` is right.
        info: Extra diagnostics from the environment.
    """

    state: Any
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """The episode is over, for whichever reason."""
        return self.terminated or self.truncated


class Env(abc.ABC):
    """An environment with one or more roles (the seed's ``AbstractEnv``).

    Simultaneous games ask every role in :meth:`acting_roles` for an action at each step;
    turn-based games name only the role whose turn it is. A single-agent env has the one role
    :data:`DEFAULT_ROLE`.
    """

    @property
    @abc.abstractmethod
    def roles(self) -> tuple[str, ...]:
        """Every role of this environment, in a fixed order."""

    @abc.abstractmethod
    def observation_space(self, role: str) -> gym.Space[Any]:
        """The observation space of ``role``."""

    @abc.abstractmethod
    def action_space(self, role: str) -> gym.Space[Any]:
        """The action space of ``role``."""

    @abc.abstractmethod
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; ``seed`` reseeds the environment's random generator."""

    @abc.abstractmethod
    def interact(self, actions: Mapping[str, Any]) -> None:
        """Apply one action per acting role (a mapping role -> action)."""

    @abc.abstractmethod
    def observe(self, role: str) -> Observation:
        """What ``role`` sees now."""

    def acting_roles(self) -> tuple[str, ...]:
        """Roles that must act in the next :meth:`interact` (default: all of them)."""
        return self.roles

    def close(self) -> None:  # noqa: B027 - optional hook, most envs hold nothing to release
        """Release resources held by the environment."""


class Policy(abc.ABC):
    """Maps batched observations to actions (the seed's policy, without its ``learn``: that
    is a :class:`Learner`'s, so that whatever only acts holds no optimizer or target network)."""

    @abc.abstractmethod
    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Actions for a batch of observations.

        Args:
            obs: ``[B, *obs_shape]`` observations.
            explore: Use the exploration strategy (False: greedy/deterministic).

        Returns:
            ``[B, *action_shape]`` actions.
        """

    @abc.abstractmethod
    def get_weights(self) -> Weights:
        """The parameters as named numpy arrays (copies)."""

    @abc.abstractmethod
    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Load parameters produced by :meth:`get_weights`."""


class Learner(abc.ABC):
    """Trains one policy: its loss, optimizer, target network and schedules (the seed's
    ``learn(pg, batch)``). It updates ``policy``'s network in place, so ``policy`` acts with
    what was learned and :meth:`get_weights` is what evaluators receive."""

    @property
    @abc.abstractmethod
    def policy(self) -> Policy:
        """The policy this learner trains."""

    @property
    @abc.abstractmethod
    def learner_steps(self) -> int:
        """Optimizer steps taken so far."""

    @abc.abstractmethod
    def learn(self, batch: SampleBatch) -> dict[str, Any]:
        """One update from ``batch``; returns statistics (scalars, or per-sample arrays)."""

    @abc.abstractmethod
    def get_weights(self) -> Weights:
        """The policy's parameters as named numpy arrays (copies)."""

    @abc.abstractmethod
    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Load the policy's parameters (and sync whatever the learner derives from them)."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """A checkpoint of everything learning needs (tensors and plain numbers)."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""


class SampleBatch(Mapping[str, np.ndarray]):
    """Named numpy columns of equal length (axis 0 is the sample axis).

    The transition columns used across rlactors, with trfl's names in parentheses:
    ``obs`` (s_tm1) ``[B, *obs_shape]``, ``actions`` (a_tm1) ``[B]``, ``rewards`` (r_t: the
    discounted n-step return) ``[B]``, ``next_obs`` (s_t) ``[B, *obs_shape]`` and ``discounts``
    (discount_t: gamma**n, or 0 where the episode terminated) ``[B]``.
    """

    __slots__ = ("_columns",)

    def __init__(self, columns: Mapping[str, np.ndarray] | None = None, **kwargs: np.ndarray):
        cols = {**(columns or {}), **kwargs}
        arrays = {k: np.asarray(v) for k, v in cols.items()}
        lengths = {k: len(v) for k, v in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"SampleBatch columns differ in length: {lengths}")
        self._columns = arrays

    def __getitem__(self, key: str) -> np.ndarray:
        return self._columns[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        """Number of samples (rows), not columns."""
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def __repr__(self) -> str:
        cols = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self._columns.items())
        return f"SampleBatch({cols})"

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The columns as a plain dict (for pickling and for ``**`` unpacking)."""
        return dict(self._columns)

    def take(self, index: np.ndarray | slice) -> SampleBatch:
        """Rows at ``index`` of every column."""
        return SampleBatch({k: v[index] for k, v in self._columns.items()})

    @staticmethod
    def concat(batches: Sequence[SampleBatch]) -> SampleBatch:
        """Stack batches with the same columns along the sample axis."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return SampleBatch()
        keys = list(batches[0])
        return SampleBatch({k: np.concatenate([b[k] for b in batches]) for k in keys})

    def __reduce__(self) -> tuple[Any, ...]:
        return (SampleBatch, (self._columns,))


@dataclass(frozen=True)
class EpisodeStats:
    """One episode that finished: its undiscounted return and its length in env steps.

    In a multi-role env ``episode_return`` is the mean return of the roles played by learned
    policies, and the other two fields say who played and what each role got.
    """

    episode_return: float
    length: int
    role_returns: Mapping[str, float] | None = None
    """``{role: undiscounted return}`` (multi-role envs; None for single-role)."""
    policy_ids: Mapping[str, str] | None = None
    """``{role: the policy id that played it}`` (multi-role envs; None for single-role)."""


class Evaluator(abc.ABC):
    """An environment plus a policy: produces experience (the seed's ``AbstractEvaluator``)."""

    @abc.abstractmethod
    def sample(self) -> tuple[SampleBatch, list[EpisodeStats]]:
        """Step the environment(s) and return transitions plus the episodes finished meanwhile."""

    @abc.abstractmethod
    def set_weights(self, weights: PolicyWeights) -> None:
        """Load fresh weights of the policies this evaluator acts with, by policy id (ids it
        does not hold are an error; ids it holds may be missing: those keep their weights)."""


class Optimizer(abc.ABC):
    """Coordinates evaluators, replay and learners; one :meth:`step` is one round of it.

    This is everything the training loop (:class:`rlactors.algorithms.TrainingLoop`) calls,
    so any optimizer with these methods trains under it: the loop counts, evaluates,
    checkpoints and resumes through them, and knows nothing of workers, shards or schedules.
    An optimizer is built inside a runtime (it spawns its actors) and lives for one session:
    :meth:`stop` ends it, a later session builds a new one and hands it the counters
    (:meth:`load_state_dict`) and replay (:meth:`load_replay_state`) of the last.
    """

    #: Total env steps the run may not pass (the loop sets it, to ``max_env_steps``, before
    #: every :meth:`step`; None: no limit). An optimizer that keeps requests in flight sends
    #: none that could take the total past it, and a round that meets it ends short (one of
    #: fixed size never meets it: the loop starts no round that would pass the limit).
    env_step_limit: int | None = None

    def requests_within_limit(self, env_steps: int, request_env_steps: int, in_flight: int) -> int:
        """How many more requests of ``request_env_steps`` env steps each fit within
        :attr:`env_step_limit` at ``env_steps``, beside the ``in_flight`` ones sent already (a
        large number when there is no limit; zero or less when none fits)."""
        if self.env_step_limit is None:
            return 1 << 62
        return (self.env_step_limit - env_steps) // request_env_steps - in_flight

    @abc.abstractmethod
    def step(self, *, last: bool = False) -> dict[str, Any]:
        """Run one round.

        Args:
            last: No round follows in this session (an optimizer that starts the next round's
                sampling early does not).

        Returns:
            ``env_steps`` and ``learner_steps`` (totals, int), ``env_steps_this_step`` (int),
            ``episode_returns`` and ``episode_lengths`` (the episodes that ended in the round),
            ``sample_wait_s`` and ``learn_time_s`` (seconds blocked on samples, and learning),
            ``learners`` (``{policy id: that learner's statistics over the round}``: scalars,
            None before learning starts) and ``metrics`` (the optimizer's own entries of the
            iteration's metrics row: epsilon, replay size, worker restarts, ...); an optimizer
            that keeps requests in flight adds ``env_step_limit_met`` (True: the round ended
            short because no further request fits within :attr:`env_step_limit`).
        """

    @abc.abstractmethod
    def broadcast_weights(self) -> None:
        """Send every learner's current weights to the actors that act with them."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, int]:
        """The counters a later session continues from (``env_steps``, ``learner_steps`` and
        the optimizer's own, e.g. Ape-X's inserted and learned samples)."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from :meth:`state_dict` counters. A counter missing from ``state`` (a
        checkpoint older than it) starts at 0."""

    def replay_state(self) -> dict[str, np.ndarray] | None:
        """Replay's contents as plain named arrays (for a checkpoint); None: no replay."""
        return None

    def load_replay_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Refill replay from :meth:`replay_state`.

        Raises:
            ValueError: This optimizer has no replay.
        """
        raise ValueError(f"{type(self).__name__} has no replay to load")

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the actors this optimizer started (abandoning what is in flight)."""
