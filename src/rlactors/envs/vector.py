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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Env, EpisodeStats
from rlactors.envs.errors import ResetNeededError
from rlactors.envs.observations import ObservationLayout


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
            episode ended; of the reset, after :meth:`EnvBatch.reset`).
    """

    states: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_states: np.ndarray
    infos: tuple[Mapping[str, Any], ...]

    @property
    def done(self) -> np.ndarray:
        """``[K]`` bool: the episode ended, for whichever reason."""
        done: np.ndarray = self.terminated | self.truncated
        return done


class EnvBatch:
    """Single-role envs stepped in lockstep, auto-resetting those that finish.

    All envs live in the caller's process and are stepped one after the other: this batches
    *policy* calls (one ``act`` on ``[K, *obs_shape]``), not env steps. The autoreset semantics
    are in the module docstring.

    Args:
        envs: ``K >= 1`` envs with one role each, the same role name and equal spaces. This
            object owns them (``close()`` closes them).

    Raises:
        ValueError: No envs, a multi-role env, or envs whose roles or spaces differ.
    """

    def __init__(self, envs: Sequence[Env]) -> None:
        if not envs:
            raise ValueError("EnvBatch needs at least one env")
        first = envs[0]
        if len(first.roles) != 1:
            raise ValueError(f"EnvBatch needs single-role envs; {first!r} has roles {first.roles}")
        self.role: str = first.roles[0]
        self.observation_space: gym.Space[Any] = first.observation_space(self.role)
        self.action_space: gym.Space[Any] = first.action_space(self.role)
        for i, env in enumerate(envs):
            same = (
                env.roles == first.roles
                and env.observation_space(self.role) == self.observation_space
                and env.action_space(self.role) == self.action_space
            )
            if not same:
                raise ValueError(
                    f"EnvBatch env {i} ({env!r}) differs from env 0 ({first!r}) in its role "
                    "or spaces; every env must have the same role and spaces"
                )
        self.envs: tuple[Env, ...] = tuple(envs)
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

    @property
    def num_envs(self) -> int:
        """K, the number of envs."""
        return len(self.envs)

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
        rows: list[Any] = []
        infos: list[Mapping[str, Any]] = []
        for env, env_seed in zip(self.envs, seeds, strict=True):
            env.reset(env_seed)
            obs = env.observe(self.role)
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
        )

    def interact(
        self, actions: np.ndarray | Sequence[Any], *, only: np.ndarray | None = None
    ) -> None:
        """Apply ``actions[i]`` to env ``i`` and reset every env whose episode ended.

        Args:
            actions: ``[K, *action_shape]``, one action per env.
            only: Optional ``[K]`` bool mask: step only the envs where it is True. The others
                do not move: in the next :meth:`observe` their rows keep their states, with
                reward 0, not terminated or truncated, and an empty info (their actions are
                ignored). For running whole episodes, where finished envs need no more steps.

        Raises:
            ResetNeededError: Before the first :meth:`reset`.
            ValueError: ``actions`` (or ``only``) does not hold exactly K entries.
        """
        if self._last is None:
            raise ResetNeededError("EnvBatch: call reset() before interact()")
        k = self.num_envs
        if len(actions) != k:
            raise ValueError(f"EnvBatch: expected {k} actions (one per env), got {len(actions)}")
        if only is not None and len(only) != k:
            raise ValueError(f"EnvBatch: expected a mask of {k} envs, got {len(only)}")
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
        for i, env in enumerate(self.envs):
            if only is not None and not only[i]:
                states.append(last.states[i])
                next_states.append(last.states[i])
                rewards.append(0.0)
                terminated.append(False)
                truncated.append(False)
                infos.append({})
                continue
            env.interact({role: actions[i]})
            obs = env.observe(role)
            state = obs.state if pack is None else pack(obs.state)
            next_states.append(state)
            rewards.append(obs.reward)
            terminated.append(obs.terminated)
            truncated.append(obs.truncated)
            infos.append(obs.info)
            returns[i] += obs.reward
            lengths[i] += 1
            if obs.done:
                self._finished.append(EpisodeStats(float(returns[i]), int(lengths[i])))
                returns[i], lengths[i] = 0.0, 0
                env.reset()
                first = env.observe(role).state
                states.append(first if pack is None else pack(first))
            else:
                states.append(state)
        self._last = BatchObservation(
            self._stack(states),
            np.array(rewards, dtype=np.float64),
            np.array(terminated, dtype=bool),
            np.array(truncated, dtype=bool),
            self._stack(next_states),
            tuple(infos),
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
        """Episodes finished since the last call (return and length), in the order they ended."""
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        """Close every env."""
        for env in self.envs:
            env.close()

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
            return [None] * k
        if isinstance(seed, int | np.integer):
            children = np.random.SeedSequence(int(seed)).spawn(k)
            # 31 bits: some envs (and older Gymnasium ones) reject seeds >= 2**31.
            return [int(c.generate_state(1)[0] >> 1) for c in children]
        if len(seed) != k:
            raise ValueError(f"EnvBatch: expected {k} seeds (one per env), got {len(seed)}")
        return list(seed)
