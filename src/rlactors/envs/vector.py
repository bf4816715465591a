"""K single-role envs stepped in lockstep, so a policy acts on all of them in one batched call.

The loop an evaluator runs, feeding an n-step accumulator::

    batch = EnvBatch([make_env("CartPole-v1") for _ in range(8)])
    batch.reset(seed=root_seed)
    step = batch.observe()                            # step.states: [8, 4] initial states
    while collecting:
        actions = policy.act(step.states)            # [8]
        batch.interact(actions)
        after = batch.observe()
        accumulator.add(obs=step.states, actions=actions, rewards=after.rewards,
                        next_obs=after.next_states, terminated=after.terminated,
                        truncated=after.truncated)
        step = after
    episodes = batch.pop_episode_stats()

Autoreset. When env ``i`` ends an episode in ``interact``, the same ``interact`` records its
final observation and resets it, so the following ``observe()`` reports, in row ``i``:

* ``next_states[i]``: the true final state ``s_T``, with ``rewards[i]`` the last reward and
  ``terminated[i]`` / ``truncated[i]`` saying how the episode ended. A transition ends here;
  bootstrapping from ``s_T`` is right when truncated and masked out when terminated.
* ``states[i]``: the first state of the next episode, which the policy acts on next.

Elsewhere ``next_states`` and ``states`` are equal (separate arrays, so either may be kept or
modified). No action is ever ignored and no transition ever spans two episodes.

Crashes. An env that raises in ``reset``, ``interact`` or ``observe`` (any ``Exception`` but
:class:`~rlactors.envs.EnvCheckError`: a failed check is a bug that a rebuild would only repeat)
is, when the batch was given a ``rebuild`` factory, closed (best effort), rebuilt, reset with the
next seed of a stream derived from its own, and counted in :attr:`EnvBatch.crashes`; a warning
names the env, its index and the exception. Its running episode is dropped: never reported by
:meth:`EnvBatch.pop_episode_stats`, because its return and length are of an episode that did not
end. The following ``observe()`` marks the row in ``crashed[i]``:

* ``states[i]``: the first state of the fresh env's episode;
* ``next_states[i]``: the last good state ``s_t``, the one the lost action was taken in, with
  ``rewards[i]`` 0, ``terminated[i]`` False and ``truncated[i]`` True.

So a consumer that ignores ``crashed`` sees a truncation at ``s_t`` after a step that went
nowhere; one that honours it drops the step ``(s_t, a_t)`` and ends the partial episode as
truncated at ``s_t`` (what :class:`~rlactors.evaluators.DQNEvaluator` and
:class:`~rlactors.evaluators.ActorCriticEvaluator` do), which keeps every learning target exact.
A crash in the autoreset after an episode ended loses no step: that episode is reported and its
row is an ordinary end of episode (not marked), with the fresh env's first state in
``states[i]``. More crashes than the :class:`~rlactors.envs.crashes.EnvCrashPolicy` allows raise
:class:`~rlactors.envs.errors.EnvCrashError`; without a ``rebuild`` factory an env's exception
propagates unchanged.

Reported episodes. :meth:`EnvBatch.pop_episode_stats` reports an episode where one ends, with
the sum of its rewards and its number of steps, except as the infos of the final step say
(:func:`reported_episode`): ``info["life_lost"]`` ends the episode for learning only (the
game goes on, and so does its reported episode: Atari's episodic life), and Gymnasium's
``RecordEpisodeStatistics`` entry ``info["episode"]`` (``{"r": return, "l": length}``) is the
episode reported, which an env whose learning rewards are not its score (clipped, for Atari)
records under its reward wrappers. See :mod:`rlactors.envs.atari`.

Why not one of Gymnasium 1.x's modes. ``NEXT_STEP`` (its default) returns ``s_T`` as the
observation and resets inside the *next* ``step``, ignoring that step's action: one wasted
policy call per episode per env, and a fake ``s_T -> s_0`` transition every consumer must
remember to drop. ``SAME_STEP`` resets at once but returns ``s_0`` in the observation array and
hides ``s_T`` in ``info["final_obs"]``, so a consumer that forgets it bootstraps truncated
episodes from the wrong state. Resetting in the same step, like ``SAME_STEP``, while returning
``s_T`` as a first-class array keeps the final state where an n-step accumulator reads it and
wastes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlactors.core import Env, EpisodeStats
from rlactors.envs.crashes import CrashWindow, EnvCrashPolicy
from rlactors.envs.errors import EnvCheckError, ResetNeededError, one_line
from rlactors.envs.observations import ObservationLayout

#: A done step's info key: true where the step ended a life, not the game (the learning
#: episode ends, the reported one goes on; set by :class:`rlactors.envs.atari.EpisodicLife`).
LIFE_LOST_KEY = "life_lost"

#: A done step's info key: Gymnasium's ``RecordEpisodeStatistics`` entry, ``{"r": return, "l":
#: length, "t": seconds}``, which is then the episode reported.
EPISODE_STATS_KEY = "episode"


def reported_episode(
    info: Mapping[str, Any], own_return: float, own_length: int
) -> EpisodeStats | None:
    """The episode a done step ends, as it is reported (see "Reported episodes" above).

    Args:
        info: The final step's info.
        own_return: The sum of the rewards since the last reported episode ended.
        own_length: The steps since then.

    Returns:
        None where the step ended a life only; else the env's ``RecordEpisodeStatistics``
        numbers where it has them, or ``own_return`` and ``own_length``.
    """
    if info.get(LIFE_LOST_KEY):
        return None
    stats = info.get(EPISODE_STATS_KEY)
    if isinstance(stats, Mapping) and "r" in stats and "l" in stats:
        return EpisodeStats(float(stats["r"]), int(stats["l"]))
    return EpisodeStats(float(own_return), int(own_length))


log = logging.getLogger("rlactors.envs")

#: Given a batch's envs and the indices of those stepping, the indices of those that answered
#: (see :class:`EnvBatch`'s ``ready``).
ReadyFn = Callable[[Sequence[Env], list[int]], Sequence[int]]


@dataclass(frozen=True)
class BatchObservation:
    """What :meth:`EnvBatch.observe` returns: one row per env.

    Attributes:
        states: ``[K, *obs_shape]``, the observation space's dtype: what the policy acts on
            next. Dict and Tuple observations arrive packed, ``[K, P]`` float32 (see
            :class:`~rlactors.envs.observations.ObservationLayout`). Where an episode just
            ended this is already the next episode's first state.
        rewards: ``[K]`` float64: the reward of the last ``interact`` (0.0 after ``reset``).
        terminated: ``[K]`` bool: the last ``interact`` ended the episode in a terminal state.
        truncated: ``[K]`` bool: the last ``interact`` hit a time limit.
        next_states: ``[K, *obs_shape]``: the state the last ``interact`` led to. Equal to
            ``states`` except where an episode ended, where it is that episode's final state.
        infos: ``K`` info mappings of the last ``interact`` (of the final step, where an
            episode ended; of the reset, after :meth:`EnvBatch.reset`; empty where it crashed).
        crashed: ``[K]`` bool: env ``i`` crashed in the last ``interact`` and was rebuilt; its
            step is lost (see "Crashes" in the module docstring). Always False after
            :meth:`EnvBatch.reset`.
    """

    states: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_states: np.ndarray
    infos: tuple[Mapping[str, Any], ...]
    crashed: np.ndarray

    @property
    def done(self) -> np.ndarray:
        """``[K]`` bool: the episode ended, for whichever reason."""
        done: np.ndarray = self.terminated | self.truncated
        return done


class EnvBatch:
    """Single-role envs stepped in lockstep, auto-resetting those that finish.

    This batches *policy* calls (one ``act`` on ``[K, *obs_shape]``). Every env is sent its
    action before any is observed, so envs that are actors (an evaluator's env actors, see
    ``rlactors.evaluators.env_actors``) step in parallel, while plain envs in this process are
    stepped one after the other. The autoreset semantics are in the module docstring.

    Or each env as soon as it answers (acting on whichever are ready, for env actors whose
    steps take unequal times): :meth:`send` actions to some envs, :meth:`receive` with
    ``wait="any"`` those that answered, act on them, and so on; the rows of the envs received
    are the outcomes of their own last steps, so each env's transitions stay exact.

    Args:
        envs: ``K >= 1`` envs with one role each, the same role name and equal spaces. This
            object owns them (``close()`` closes them).
        rebuild: Builds a fresh env like the others, to replace one that crashed; None lets an
            env's exception propagate (no crash handling).
        crash_policy: How many crashes to survive (with ``rebuild``); default
            :class:`~rlactors.envs.crashes.EnvCrashPolicy`'s.
        name: The env's name in warnings and errors (an env id); default ``repr(envs[0])``.
        ready: For :meth:`receive` with ``wait="any"``: given the envs and the indices of
            those stepping, the indices that answered (waiting for at least one); an
            evaluator's env actors pass :func:`rlactors.evaluators.env_actors.answered`.
            None: every env stepping counts as answered (plain envs step in :meth:`send`).

    Raises:
        ValueError: No envs, a multi-role env, or envs whose roles or spaces differ.
    """

    def __init__(
        self,
        envs: Sequence[Env],
        *,
        rebuild: Callable[[], Env] | None = None,
        crash_policy: EnvCrashPolicy | None = None,
        name: str | None = None,
        ready: ReadyFn | None = None,
    ) -> None:
        if not envs:
            raise ValueError("EnvBatch needs at least one env")
        first = envs[0]
        if len(first.roles) != 1:
            raise ValueError(f"EnvBatch needs single-role envs; {first!r} has roles {first.roles}")
        self.role: str = first.roles[0]
        self.observation_space: gym.Space[Any] = first.observation_space(self.role)
        self.action_space: gym.Space[Any] = first.action_space(self.role)
        for i, env in enumerate(envs):
            self._check_like(env, i, f"env 0 ({first!r})")
        self.envs: tuple[Env, ...] = tuple(envs)
        self.name = repr(first) if name is None else name
        self._rebuild = rebuild
        self._crashes = CrashWindow(crash_policy or EnvCrashPolicy(), self.name)
        # Per env, the SeedSequence its seed came from: a rebuilt env is reset with the next
        # child of its env's sequence, so a run with crashes is as reproducible as one without.
        self._seed_sequences: list[np.random.SeedSequence | None] = [None] * len(envs)
        #: How observations travel: Dict and Tuple ones are packed into float32 rows.
        # Which leaf is a mask is the policy's business (its action_mask_key), not the batch's.
        self.layout = ObservationLayout.of(self.observation_space, mask_key=None)
        self._obs_shape = self.layout.shape
        self._obs_dtype = self.layout.dtype
        self._pack = self.layout.pack if self.layout.packed else None
        self._last: BatchObservation | None = None
        k = len(self.envs)
        self._returns = [0.0] * k  # undiscounted, of each running episode
        self._lengths = [0] * k
        self._finished: list[EpisodeStats] = []
        self._ready = ready
        #: ``[K]`` bool: the envs sent a step by send() that receive() has not collected.
        self._in_flight = np.zeros(k, dtype=bool)
        self._send_errors: dict[int, Exception] = {}  # env -> what its send raised

    @property
    def num_envs(self) -> int:
        """K, the number of envs."""
        return len(self.envs)

    @property
    def stepping(self) -> np.ndarray:
        """``[K]`` bool: the envs :meth:`send` sent a step that :meth:`receive` has not
        collected yet."""
        return self._in_flight.copy()

    @property
    def crashes(self) -> int:
        """Env crashes survived since construction (each one rebuilt an env)."""
        return self._crashes.total

    def reset(self, seed: int | Sequence[int | None] | None = None) -> None:
        """Reset every env and discard running (unfinished) episodes.

        Args:
            seed: One root seed, from which each env's seed is derived with
                ``numpy.random.SeedSequence(seed).spawn(K)`` (so batches with root seeds 0 and
                1 share no env seed, unlike ``seed + i``); or ``K`` seeds, one per env; or
                None, to continue each env's random stream. Later autoresets pass no seed:
                each env continues the stream its seed started, so a run is reproducible.
        """
        seeds = self._env_seeds(seed)
        self._in_flight[:] = False  # steps in flight are dropped: every env starts again
        self._send_errors = {}
        rows: list[Any] = []
        infos: list[Mapping[str, Any]] = []
        for i, (env, env_seed) in enumerate(zip(self.envs, seeds, strict=True)):
            try:
                env.reset(env_seed)
                obs = env.observe(self.role)
            except EnvCheckError:
                raise
            except Exception as exc:
                if self._rebuild is None:
                    raise
                rows.append(self._replace_crashed(i, exc, "reset"))
                infos.append({})
                continue
            rows.append(obs.state if self._pack is None else self._pack(obs.state))
            infos.append(obs.info)
        states = self._stack(rows)
        self._returns = [0.0] * self.num_envs
        self._lengths = [0] * self.num_envs
        k = self.num_envs
        self._last = BatchObservation(
            states=states,
            rewards=np.zeros(k, dtype=np.float64),
            terminated=np.zeros(k, dtype=bool),
            truncated=np.zeros(k, dtype=bool),
            next_states=states.copy(),
            infos=tuple(infos),
            crashed=np.zeros(k, dtype=bool),
        )

    def interact(
        self, actions: np.ndarray | Sequence[Any], *, only: np.ndarray | None = None
    ) -> None:
        """Apply ``actions[i]`` to env ``i`` and reset every env whose episode ended.

        :meth:`send` then :meth:`receive` with ``wait="all"``: the lockstep step.

        Args:
            actions: ``[K, *action_shape]``, one action per env.
            only: Optional ``[K]`` bool mask: step only the envs where it is True. The others
                do not move: in the next :meth:`observe` their rows keep their states, with
                reward 0, not terminated or truncated, and an empty info (their actions are
                ignored). For running whole episodes, where finished envs need no more steps.

        Raises:
            ResetNeededError: Before the first :meth:`reset`.
            ValueError: ``actions`` (or ``only``) does not hold exactly K entries, or an env
                is still stepping (sent by :meth:`send`, not received yet).
        """
        self.send(actions, only=only)
        self.receive(wait="all")

    def send(self, actions: np.ndarray | Sequence[Any], *, only: np.ndarray | None = None) -> None:
        """Send ``actions[i]`` to env ``i`` for every ``i`` in ``only`` (all by default),
        without waiting: env actors step from now on, while plain envs step here.

        Args:
            actions: ``[K, *action_shape]``, one per env (those outside ``only`` are ignored).
            only: Optional ``[K]`` bool mask of the envs to step.

        Raises:
            ResetNeededError: Before the first :meth:`reset`.
            ValueError: ``actions`` (or ``only``) does not hold exactly K entries, or an env
                in ``only`` was sent a step that :meth:`receive` has not collected.
        """
        if self._last is None:
            raise ResetNeededError("EnvBatch: call reset() before interact()")
        k = self.num_envs
        if len(actions) != k:
            raise ValueError(f"EnvBatch: expected {k} actions (one per env), got {len(actions)}")
        if only is not None and len(only) != k:
            raise ValueError(f"EnvBatch: expected a mask of {k} envs, got {len(only)}")
        # Lockstep (every env, none in flight) takes one check of the in-flight mask and no
        # other mask operations: at K = 16 CartPole envs they would add a tenth to the step.
        stepping = None if only is None else np.asarray(only, dtype=bool)
        if self._in_flight.any():
            busy = self._in_flight if stepping is None else stepping & self._in_flight
            if busy.any():
                raise ValueError(
                    f"EnvBatch: env(s) {np.flatnonzero(busy).tolist()} are still stepping; "
                    "receive() them first"
                )
        # A list, not the mask: indexing a numpy bool per env costs more than the check.
        skipped = None if stepping is None else (~stepping).tolist()
        role, failed = self.role, self._send_errors
        # Every env is sent its action before any is observed: envs that are actors (an
        # evaluator's env actors) step at once, in parallel, and plain envs step here. A try
        # block costs nothing in CPython 3.11+ until something raises, so the crash handling
        # leaves the ~10 us CartPole step as it was.
        for i, env in enumerate(self.envs):
            if skipped is not None and skipped[i]:
                continue
            try:
                env.interact({role: actions[i]})
            except EnvCheckError:
                raise
            except Exception as exc:
                if self._rebuild is None:
                    raise
                failed[i] = exc
        if stepping is None:
            self._in_flight[:] = True
        else:
            self._in_flight |= stepping

    def receive(
        self, wait: Literal["all", "any"] = "all", *, among: np.ndarray | None = None
    ) -> np.ndarray:
        """Collect the outcome of the steps :meth:`send` sent, auto-resetting envs whose
        episode ended; :meth:`observe` then reports them.

        Args:
            wait: ``"all"``: every env stepping (lockstep). ``"any"``: the envs that answered
                already, waiting for the first answer if none has (and, past an env actor's
                step timeout, that env: it counts as crashed). Without a ``ready`` function
                every env stepping counts as answered.
            among: Optional ``[K]`` bool mask: receive only envs in it (the others stay in
                flight), e.g. one half of a double-buffered batch.

        Returns:
            ``[K]`` bool: the envs received. In the following :meth:`observe`, the other rows
            keep their states, with reward 0, not terminated, truncated or crashed, and an
            empty info (an env still stepping is received by a later call).

        Raises:
            ResetNeededError: Before the first :meth:`reset`.
            ValueError: ``among`` does not hold exactly K entries.
        """
        if self._last is None:
            raise ResetNeededError("EnvBatch: call reset() before receive()")
        if wait not in ("all", "any"):
            raise ValueError(f"EnvBatch.receive: wait must be 'all' or 'any', got {wait!r}")
        k = self.num_envs
        if among is None and not self._send_errors and (wait == "all" or self._ready is None):
            # Every env stepping is received (lockstep's case): no mask operations.
            received, self._in_flight = self._in_flight, np.zeros(k, dtype=bool)
            self._collect(received, {})
            return received
        candidates = self._in_flight.copy()
        if among is not None:
            if len(among) != k:
                raise ValueError(f"EnvBatch: expected a mask of {k} envs, got {len(among)}")
            candidates &= np.asarray(among, dtype=bool)
        received = candidates
        if wait == "any" and self._ready is not None:
            stepping = np.flatnonzero(candidates).tolist()
            if stepping:
                received = np.zeros(k, dtype=bool)
                received[self._ready(self.envs, stepping)] = True
        failed: dict[int, Exception] = {}
        if self._send_errors:  # an env whose send raised is received at once: its step is lost
            failed = {i: e for i, e in self._send_errors.items() if candidates[i]}
            received[list(failed)] = True
            for i in failed:
                del self._send_errors[i]
        self._in_flight &= ~received
        self._collect(received, failed)
        return received

    def _collect(self, received: np.ndarray, failed: dict[int, Exception]) -> None:
        """Observe the ``received`` envs into :attr:`_last` (the others keep their rows)."""
        assert self._last is not None
        k = self.num_envs
        # Python lists, stacked once: per-element numpy writes cost more than the env steps of
        # a small env (a CartPole step is ~10 us).
        role, last = self.role, self._last
        states: list[Any] = []
        next_states: list[Any] = []
        rewards: list[float] = []
        terminated: list[bool] = []
        truncated: list[bool] = []
        infos: list[Mapping[str, Any]] = []
        returns, lengths = self._returns, self._lengths
        pack = self._pack
        crashed: list[int] = []
        waiting = None if received.all() else (~received).tolist()
        for i, env in enumerate(self.envs):
            if waiting is not None and waiting[i]:
                states.append(last.states[i])
                next_states.append(last.states[i])
                rewards.append(0.0)
                terminated.append(False)
                truncated.append(False)
                infos.append({})
                continue
            error = failed.get(i) if failed else None
            if error is None:
                try:
                    obs = env.observe(role)
                except EnvCheckError:
                    raise
                except Exception as exc:
                    if self._rebuild is None:
                        raise
                    error = exc
            if error is not None:
                # The step is lost: drop the episode, and end the row as a truncation at the
                # last good state (the module docstring says why).
                states.append(self._replace_crashed(i, error, "interact"))
                next_states.append(last.states[i])
                rewards.append(0.0)
                terminated.append(False)
                truncated.append(True)
                infos.append({})
                returns[i], lengths[i] = 0.0, 0
                crashed.append(i)
                continue
            state = obs.state if pack is None else pack(obs.state)
            next_states.append(state)
            rewards.append(obs.reward)
            terminated.append(obs.terminated)
            truncated.append(obs.truncated)
            infos.append(obs.info)
            returns[i] += obs.reward
            lengths[i] += 1
            if obs.done:
                ended = reported_episode(obs.info, returns[i], lengths[i])
                if ended is not None:
                    self._finished.append(ended)
                    returns[i], lengths[i] = 0.0, 0
                try:
                    env.reset()
                    first = env.observe(role).state
                except EnvCheckError:
                    raise
                except Exception as exc:
                    if self._rebuild is None:
                        raise
                    # The episode ended and is reported; only the next one's start is lost.
                    states.append(self._replace_crashed(i, exc, "autoreset"))
                    continue
                states.append(first if pack is None else pack(first))
            else:
                states.append(state)
        crashed_rows = np.zeros(k, dtype=bool)
        if crashed:
            crashed_rows[crashed] = True
        self._last = BatchObservation(
            self._stack(states),
            np.array(rewards, dtype=np.float64),
            np.array(terminated, dtype=bool),
            np.array(truncated, dtype=bool),
            self._stack(next_states),
            tuple(infos),
            crashed_rows,
        )

    def observe(self) -> BatchObservation:
        """The outcome of the last :meth:`interact` (or :meth:`reset`), one row per env.

        Raises:
            ResetNeededError: Before the first :meth:`reset`.
        """
        if self._last is None:
            raise ResetNeededError("EnvBatch: call reset() before observe()")
        return self._last

    def pop_episode_stats(self) -> list[EpisodeStats]:
        """Episodes finished since the last call (return and length, as :func:`reported_episode`
        says), in the order they ended."""
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        """Close every env."""
        for env in self.envs:
            env.close()

    def _replace_crashed(self, i: int, exc: Exception, where: str) -> Any:
        """Count env ``i``'s crash, close it, build and reset a fresh one in its place.

        Returns:
            The fresh env's first state, packed like every row.

        Raises:
            EnvCrashError: More crashes than the policy allows (rebuilds that crash count).
            ValueError: The fresh env's role or spaces differ from the batch's.
        """
        assert self._rebuild is not None
        attempts, since = 0, time.monotonic()
        while True:
            attempts += 1
            self._crashes.record(exc, attempts=attempts, since=since)
            log.warning(
                "env %s, index %d of %d, crashed in %s: %s; rebuilding it, and dropping the "
                "episode it was running (%d crashes so far)",
                self.name,
                i,
                self.num_envs,
                where,
                one_line(exc),
                self._crashes.total,
            )
            try:
                self.envs[i].close()
            except Exception as close_exc:  # it is broken already; its close may be too
                log.debug("closing crashed env %d of %s failed: %s", i, self, close_exc)
            try:
                fresh = self._rebuild()
            except EnvCheckError:
                raise
            except Exception as again:
                exc, where = again, "rebuild"
                continue
            self.envs = (*self.envs[:i], fresh, *self.envs[i + 1 :])
            self._check_like(fresh, i, "the batch's envs")  # a wrong factory is no crash
            try:
                fresh.reset(self._crash_seed(i))
                first = fresh.observe(self.role).state
            except EnvCheckError:
                raise
            except Exception as again:
                exc, where = again, "reset after a rebuild"
                continue
            return first if self._pack is None else self._pack(first)

    def _crash_seed(self, i: int) -> int | None:
        """The next seed of env ``i``'s crash stream (None if its env was never seeded)."""
        sequence = self._seed_sequences[i]
        if sequence is None:
            return None
        return int(sequence.spawn(1)[0].generate_state(1)[0] >> 1)

    def _check_like(self, env: Env, i: int, reference: str) -> None:
        """Raise unless ``env`` has the batch's one role and spaces (``reference`` names what
        it is compared with, for the message)."""
        same = (
            tuple(env.roles) == (self.role,)
            and env.observation_space(self.role) == self.observation_space
            and env.action_space(self.role) == self.action_space
        )
        if not same:
            raise ValueError(
                f"EnvBatch env {i} ({env!r}) differs from {reference} in its role "
                "or spaces; every env must have the same role and spaces"
            )

    def __repr__(self) -> str:
        return f"EnvBatch({self.num_envs} x {self.envs[0]!r})"

    def _stack(self, states: list[Any]) -> np.ndarray:
        """``[K, *obs_shape]`` of the space's dtype.

        Raises:
            ValueError: An observation's shape is not the space's (possible without checks).
        """
        stacked: np.ndarray = np.asarray(states, dtype=self._obs_dtype)
        expected = (self.num_envs, *self._obs_shape)
        if stacked.shape != expected:
            shapes = sorted({np.shape(state) for state in states})
            raise ValueError(
                f"EnvBatch: observations of shape(s) {shapes} do not fit the observation space's "
                f"shape {tuple(self._obs_shape)}"
            )
        return stacked

    def _env_seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        k = self.num_envs
        if seed is None:
            return [None] * k  # each env continues its stream, and so does its crash stream
        if isinstance(seed, int | np.integer):
            children = np.random.SeedSequence(int(seed)).spawn(k)
            self._seed_sequences = list(children)
            # 31 bits: some envs (and older Gymnasium ones) reject seeds >= 2**31.
            return [int(c.generate_state(1)[0] >> 1) for c in children]
        if len(seed) != k:
            raise ValueError(f"EnvBatch: expected {k} seeds (one per env), got {len(seed)}")
        self._seed_sequences = [None if s is None else np.random.SeedSequence(s) for s in seed]
        return list(seed)
