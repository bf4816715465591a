"""Whole episodes with a fixed policy (greedy evaluation), and an evaluator's envs.

Usage, 20 greedy episodes at once, one batched policy call per step::

    envs = EnvBatch([make_env("CartPole-v1") for _ in range(20)])
    stats = run_episodes(envs, lambda obs: policy.act(obs, explore=False), seed=7)
    mean_return = np.mean([s.episode_return for s in stats])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from rlactors.core import Env, EpisodeStats
from rlactors.envs import EnvBatch, EnvSpec
from rlactors.envs.crashes import EnvCrashPolicy
from rlactors.envs.observations import DEFAULT_MASK_KEY
from rlactors.envs.vector import ReadyFn, reported_episode
from rlactors.evaluators.config import EnvActorsConfig
from rlactors.seeding import ENV_STREAM, EVAL_STREAM, derive_seed

#: Maps ``[B, *obs_shape]`` observations to ``[B]`` actions.
ActFn = Callable[[np.ndarray], np.ndarray]


def make_env_batch(
    env: EnvSpec | str,
    num_envs: int,
    *,
    check: bool = True,
    mask_key: str = DEFAULT_MASK_KEY,
    crash_policy: EnvCrashPolicy | None = None,
    first: Env | None = None,
    env_actors: EnvActorsConfig | None = None,
) -> EnvBatch:
    """``num_envs`` fresh envs of ``env`` (a spec, or a Gymnasium id) in an :class:`EnvBatch`
    that rebuilds a crashed env from the same spec, within ``crash_policy`` (default
    :class:`EnvCrashPolicy`'s). ``first``, an env of the same spec built with the same
    ``check`` and ``mask_key``, is used as the first of them (the caller built it already).
    ``env_actors`` makes each env an actor (:mod:`rlactors.evaluators.env_actors`; default:
    plain envs in this process).

    Raises:
        EnvSpecError: The env cannot be built (e.g. an unknown id: the message lists close
            matches).
    """
    spec = EnvSpec.of(env)
    if spec.registration is None and not callable(spec.env):
        spec = spec.resolve()  # once, not once per env

    placement = env_actors or EnvActorsConfig()
    envs: list[Env] = [first] if first is not None else []
    ready: ReadyFn | None = None
    if placement.mode == "none":

        def build() -> Env:
            return spec.make(check=check, mask_key=mask_key)

        envs += [build() for _ in range(num_envs - len(envs))]
    else:
        # Imported here: a plain env batch needs no actor runtime.
        from rlactors.evaluators.env_actors import EnvActor, answered

        ready = answered

        mode, timeout = placement.mode, placement.step_timeout_s

        def build() -> Env:
            return EnvActor(spec, mode, check=check, mask_key=mask_key, step_timeout_s=timeout)

        envs += EnvActor.many(
            spec, num_envs - len(envs), mode, check=check, mask_key=mask_key, step_timeout_s=timeout
        )
    return EnvBatch(envs, rebuild=build, crash_policy=crash_policy, name=spec.name, ready=ready)


def run_episodes(
    envs: EnvBatch, act: ActFn, seed: int, *, max_steps: int = 1_000_000
) -> list[EpisodeStats]:
    """Run exactly one episode in each env of ``envs``, stepping them in lockstep.

    The policy acts on all K rows at every step (one batched call; the rows of finished
    episodes are ignored) but only envs whose episode is still running are stepped: stepping
    every env until the slowest episode ended cost K times the longest episode, e.g. 10,000
    CartPole steps for a mean return of 150 with one episode of 500, ~0.35 s on one core.

    An env that crashes (and is rebuilt by ``envs``) starts its episode again: every returned
    episode is one that ran to its end.

    Args:
        envs: K envs; they are reset here (running episodes are discarded).
        act: The policy, ``[K, *obs_shape] -> [K]`` actions (greedy, for an evaluation).
        seed: Root seed of this set of episodes (each env's seed is derived from it).
        max_steps: Give up after this many lockstep steps (guards against envs without a
            time limit).

    Returns:
        K episode statistics, in env order.

    Raises:
        RuntimeError: Some episode was still running after ``max_steps`` steps.
    """
    k = envs.num_envs
    envs.reset(seed=seed)
    returns = np.zeros(k, dtype=np.float64)
    lengths = np.zeros(k, dtype=np.int64)
    running = np.ones(k, dtype=bool)
    episodes: list[EpisodeStats | None] = [None] * k
    states = envs.observe().states
    for _ in range(max_steps):
        envs.interact(act(states), only=running)
        after = envs.observe()
        returns += np.where(running, after.rewards, 0.0)
        lengths += running
        for i in np.flatnonzero(running & after.done & ~after.crashed):
            # As the batch reports it: a lost Atari life ends no episode, and an Atari
            # game's return is its raw score, not the sum of the clipped rewards.
            episodes[i] = reported_episode(after.infos[i], returns[i], lengths[i])
            running[i] = episodes[i] is None
        if after.crashed.any():
            # The rebuilt env is at the start of a new episode: that one is the env's episode.
            returns[after.crashed], lengths[after.crashed] = 0.0, 0
        if not running.any():
            envs.pop_episode_stats()  # counted here already; keep the batch's list short
            return [e for e in episodes if e is not None]  # all: no row is running
        states = after.states
    raise RuntimeError(
        f"run_episodes: {int(running.sum())} of {k} episodes still running after "
        f"{max_steps} steps; does the env have a time limit?"
    )


class GreedyEpisodes:
    """An evaluator's greedy evaluations: :func:`run_episodes` on envs of its own (built on
    first use, rebuilt when the episode count changes), so its training envs are untouched.

    Args:
        env: The env to build.
        check: Validate every step (``CheckedEnv``).
        seed_path: Names the seeds of the evaluations a caller does not seed itself: the n-th
            one's episodes derive from ``derive_seed(*seed_path, n)``.
        mask_key: The observation key of the action mask (Dict observations).
        crash_policy: How many env crashes to survive (a crashed episode is run again).
        env_actors: Whether its envs are actors (default: plain envs in this process).
    """

    def __init__(
        self,
        env: EnvSpec,
        *,
        check: bool,
        seed_path: tuple[int, ...],
        mask_key: str = DEFAULT_MASK_KEY,
        crash_policy: EnvCrashPolicy | None = None,
        env_actors: EnvActorsConfig | None = None,
    ) -> None:
        self._env = env
        self._env_actors = env_actors
        self._check = check
        self._mask_key = mask_key
        self._crash_policy = crash_policy
        self._seed_path = seed_path
        self._envs: EnvBatch | None = None
        self._calls = 0
        self._closed_crashes = 0  # of the env batches closed so far

    @property
    def crashes(self) -> int:
        """Env crashes survived in the evaluations since construction."""
        return self._closed_crashes + (self._envs.crashes if self._envs is not None else 0)

    def run(self, act: ActFn, episodes: int, seed: int | None = None) -> list[EpisodeStats]:
        """``episodes`` greedy episodes in lockstep, one per env.

        Args:
            act: The policy's greedy actions.
            episodes: How many (>= 1).
            seed: Root seed of the episodes' env seeds; None derives a fresh one.

        Raises:
            ValueError: ``episodes`` < 1.
        """
        if episodes < 1:
            raise ValueError(f"evaluate: episodes must be >= 1, got {episodes}")
        if self._envs is None or self._envs.num_envs != episodes:
            self.close()
            self._envs = make_env_batch(
                self._env,
                episodes,
                check=self._check,
                mask_key=self._mask_key,
                crash_policy=self._crash_policy,
                env_actors=self._env_actors,
            )
        self._calls += 1
        if seed is None:
            seed = derive_seed(*self._seed_path, self._calls)
        return run_episodes(self._envs, act, seed)

    def close(self) -> None:
        """Close the envs (a later :meth:`run` builds new ones)."""
        if self._envs is not None:
            self._closed_crashes += self._envs.crashes
            self._envs.close()
            self._envs = None


class EvaluatorEnvConfig(Protocol):
    """What :func:`evaluator_envs` reads from an evaluator's config."""

    @property
    def env(self) -> EnvSpec: ...
    @property
    def num_envs(self) -> int: ...
    @property
    def check_env(self) -> bool: ...
    @property
    def seed(self) -> int: ...
    @property
    def policy(self) -> _MaskKeyed: ...
    @property
    def env_crash_policy(self) -> EnvCrashPolicy: ...
    @property
    def env_actors(self) -> EnvActorsConfig: ...


class _MaskKeyed(Protocol):
    @property
    def action_mask_key(self) -> str: ...


def evaluator_envs(config: EvaluatorEnvConfig, index: int) -> tuple[EnvBatch, GreedyEpisodes]:
    """An evaluator's envs: its ``num_envs`` training envs (actors, with
    ``config.env_actors``), reset with the seed of its :data:`~rlactors.seeding.ENV_STREAM`,
    and the :class:`GreedyEpisodes` of its evaluations (:data:`~rlactors.seeding.EVAL_STREAM`;
    built when an evaluation runs, actors too).

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
    """
    mask_key = config.policy.action_mask_key
    envs = make_env_batch(
        config.env,
        config.num_envs,
        check=config.check_env,
        mask_key=mask_key,
        crash_policy=config.env_crash_policy,
        env_actors=config.env_actors,
    )
    envs.reset(seed=derive_seed(config.seed, index, ENV_STREAM))
    greedy = GreedyEpisodes(
        config.env,
        check=config.check_env,
        seed_path=(config.seed, index, EVAL_STREAM),
        mask_key=mask_key,
        crash_policy=config.env_crash_policy,
        env_actors=config.env_actors,
    )
    return envs, greedy
