"""ActorCriticEvaluator: K envs plus a stochastic actor-critic policy copy, producing rollouts.

It serves every actor-critic optimizer: A2C and PPO (``rollout`` with GAE advantages, learned
on synchronously), A3C (``compute_gradients``: the same rollout turned into a gradient here)
and IMPALA (``rollout`` as raw trajectories with behaviour log-probs, corrected by V-trace at
the learner). Like :class:`~rlactors.evaluators.DQNEvaluator` it is a plain object built from a
picklable config, so ``spawn(ActorCriticEvaluator, config, index=i)`` runs it on any backend
with its envs inside it. Usage::

    evaluator = spawn(ActorCriticEvaluator, RolloutConfig(EnvSpec("CartPole-v1"), num_envs=8))
    rollout = evaluator.ask("rollout").result(timeout=60)   # Rollout(batch, episodes, ...)
    evaluator.tell("set_weights", learner.get_weights())

Rows of a rollout's batch are time-major: row ``t * K + k`` is step ``t`` of env ``k``, so
``column.reshape(T, K, ...)`` recovers the ``[T, K]`` layout the losses use.

Env crashes. An env that raises is rebuilt by the :class:`~rlactors.envs.EnvBatch` (within
``config.env_crash_policy``), and its step ``t`` is lost: the env observed ``s_t`` and took
``a_t`` but never said what followed. That step must teach nothing, while the steps before it
end as a truncation at ``s_t``, which they really reached:

* With GAE, the crashed step's reward is set to ``V(s_t)`` with discount 0, so its TD error is
  exactly 0: its advantage is 0, and the step before it bootstraps from ``V(s_t)`` (its own
  ``values[t]``) as a truncation would. Its row is then removed from the batch, which holds
  ``T * K - crashes`` rows: a zero advantage is not "no signal" for the losses, since
  advantage normalization shifts it, the entropy bonus and PPO's value loss still act on the
  row, and only removal keeps the losses unchanged. Nothing downstream of GAE needs the
  ``[T, K]`` layout (the learners take rows).
* Raw trajectories (IMPALA) keep their ``[T, K]`` layout, which V-trace's recursion needs; a
  ``crashed`` ``[N]`` bool column marks the lost steps, and the V-trace learner sets their
  reward to its own ``V(s_t)`` (TD error 0, nothing propagates back) and leaves them out of
  every mean of its loss.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from rlactors.core import (
    DEFAULT_POLICY_ID,
    EpisodeStats,
    Evaluator,
    PolicyWeights,
    SampleBatch,
    Weights,
)
from rlactors.envs import BatchObservation
from rlactors.envs.crashes import EnvCrashPolicy
from rlactors.envs.spec import EnvSpec
from rlactors.errors import EnvSpecError
from rlactors.evaluators.acting import ActorCriticActing, weights_of
from rlactors.evaluators.config import EnvActorsConfig
from rlactors.evaluators.episodes import evaluator_envs
from rlactors.evaluators.stepping import step_each_env
from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
from rlactors.losses.advantages_numpy import gae_numpy
from rlactors.policies import ActorCriticConfig, NumpyActorCriticPolicy, RunningMeanStd
from rlactors.seeding import POLICY_STREAM, derive_seed
from rlactors.validation import check_positive_ints

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner


@dataclass(frozen=True)
class RolloutConfig:
    """How an :class:`ActorCriticEvaluator` builds its envs and policy copy, and what a rollout
    holds. Plain values only, so it pickles to any backend."""

    env: EnvSpec
    """The env to build (a Gymnasium id or factory is turned into an :class:`EnvSpec`); give
    one resolved in the caller's process (:meth:`EnvSpec.resolve`), as the algorithms do, so
    the evaluator builds exactly the caller's env."""

    num_envs: int = 1
    """K envs, stepped in lockstep (acted on with one batched policy call per step) unless
    ``env_actors.stepping`` says otherwise."""

    rollout_steps: int = 32
    """T: steps of each env per rollout; a rollout is ``T * K`` env steps."""

    gamma: float = 0.99
    """Discount per env step."""

    gae_lambda: float | None = 0.95
    """GAE lambda for the ``advantages`` and ``returns`` columns (A2C, A3C, PPO); None for raw
    trajectories (IMPALA), whose targets the learner computes with V-trace."""

    scale_rewards: bool = False
    """Divide the rewards the learner sees by a running standard deviation of each env's
    discounted return (as Gymnasium's ``NormalizeReward`` and SB3's ``VecNormalize`` do), so
    the critic's targets stay near unit scale; episode statistics keep the raw rewards."""

    seed: int = 0
    """Root seed; each evaluator derives its env and sampling seeds from it and its index."""

    policy: ActorCriticConfig = field(default_factory=ActorCriticConfig)
    """The network; must match the learner's so weights fit."""

    policy_id: str = DEFAULT_POLICY_ID
    """The id of the policy it acts with: ``set_weights`` takes ``{policy_id: weights}``."""

    learner: ActorCriticLearnerConfig = field(default_factory=ActorCriticLearnerConfig)
    """The A2C loss weights and clipping of :meth:`ActorCriticEvaluator.compute_gradients`
    (A3C's workers): the learner's, so a worker's gradient is the one the learner would take."""

    check_env: bool = True
    """Validate observations, rewards and actions at every step (see ``CheckedEnv``)."""

    env_crash_policy: EnvCrashPolicy = field(default_factory=EnvCrashPolicy)
    """How many env crashes to survive: an env that raises is rebuilt and its episode dropped
    (counted in ``get_metrics()["env_crashes"]``); more crashes than this within its window
    end the run with :class:`~rlactors.envs.errors.EnvCrashError`."""

    env_actors: EnvActorsConfig = field(default_factory=EnvActorsConfig)
    """Whether its envs are actors (in its process, or each in its own) and their step
    timeout; by default they are plain objects in its process."""

    def __post_init__(self) -> None:
        """Checks every field.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        try:
            object.__setattr__(self, "env", EnvSpec.of(self.env))
        except EnvSpecError as exc:
            raise EnvSpecError(f"RolloutConfig.{exc}") from None
        check_positive_ints(self, "num_envs", "rollout_steps")
        if not (math.isfinite(self.gamma) and 0.0 <= self.gamma <= 1.0):
            raise ValueError(f"RolloutConfig.gamma must lie in [0, 1], got {self.gamma}")
        if self.gae_lambda is not None and not 0.0 <= self.gae_lambda <= 1.0:
            raise ValueError(f"RolloutConfig.gae_lambda must lie in [0, 1], got {self.gae_lambda}")

    @property
    def env_steps_per_rollout(self) -> int:
        """``rollout_steps * num_envs``."""
        return self.rollout_steps * self.num_envs


class Rollout(NamedTuple):
    """What :meth:`ActorCriticEvaluator.rollout` returns.

    Attributes:
        batch: ``T * K`` time-major rows (see the module docstring). Always ``obs``
            ``[N, *obs_shape]`` (raw), ``actions`` ``[N, *action_shape]`` (as sampled, unclipped),
            ``log_probs`` ``[N]`` (behaviour policy) and ``values`` ``[N]`` (its critic). With
            GAE: ``advantages`` and ``returns`` ``[N]``. Without (trajectories): ``rewards``
            ``[N]`` (scaled if configured), ``discounts`` ``[N]`` (``gamma``, 0 where the episode
            ended), ``truncated`` ``[N]`` bool, ``next_obs`` ``[N, *obs_shape]`` (raw; where
            an episode ended, its final observation) and ``crashed`` ``[N]`` bool (steps lost
            with a crashed env, see the module docstring). ``N`` is ``T * K``, less the
            crashed steps with GAE.
        episodes: The episodes that ended during the rollout (raw returns).
        obs_stats: A ``RunningMeanStd`` state of the raw observations seen since the last
            rollout (merge it into the learner), or None without observation normalization.
        env_steps: ``T * K`` (crashed steps included: the env was stepped).
        env_crashes: Envs rebuilt after a crash since the evaluator's last rollout (its
            greedy evaluations' envs included), for the optimizers' running total.
    """

    batch: SampleBatch
    episodes: list[EpisodeStats]
    obs_stats: dict[str, np.ndarray] | None
    env_steps: int
    env_crashes: int = 0


class GradientResult(NamedTuple):
    """What :meth:`ActorCriticEvaluator.compute_gradients` returns (A3C).

    Attributes:
        gradients: Float32 arrays keyed like the policy's network weights.
        stats: The loss statistics (``loss``, ``policy_loss``, ``value_loss``, ``entropy``,
            ``grad_norm``).
        episodes, obs_stats, env_steps, env_crashes: As in :class:`Rollout`.
    """

    gradients: Weights
    stats: dict[str, Any]
    episodes: list[EpisodeStats]
    obs_stats: dict[str, np.ndarray] | None
    env_steps: int
    env_crashes: int = 0


class ActorCriticEvaluator(Evaluator):
    """Steps K envs with a copy of the learner's actor-critic and returns fixed-length rollouts.

    Envs are never reset between rollouts: an episode continues across ``rollout`` calls, and
    the last observation of one rollout is the first of the next.

    By default it acts with a :class:`~rlactors.policies.NumpyActorCriticPolicy`, so an
    evaluator that only samples (A2C, PPO, IMPALA) never imports torch.
    :meth:`compute_gradients` (A3C) builds a torch ``ActorCriticPolicy`` (and its learner) on
    its first call and keeps it in step with the acting weights.

    Args:
        config: Env id, K, T, gamma, GAE lambda, seed and network.
        index: This evaluator's number among its siblings; with ``config.seed`` it names the
            evaluator's random streams.
        policy: What to act through (see :mod:`rlactors.evaluators.acting`); None builds a
            local ``NumpyActorCriticPolicy`` from ``config.policy``.

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        SpaceError: The env's actions are not Discrete or Box, or its observations have no
            layout.
    """

    def __init__(
        self, config: RolloutConfig, index: int = 0, policy: ActorCriticActing | None = None
    ) -> None:
        self.config = config
        self.index = index
        self._envs, self._greedy_episodes = evaluator_envs(config, index)
        self._policy: ActorCriticActing = (
            policy
            if policy is not None
            else NumpyActorCriticPolicy(
                self._envs.observation_space,
                self._envs.action_space,
                config.policy,
                seed=derive_seed(config.seed, index, POLICY_STREAM),
            )
        )
        self._gradient_learner: ActorCriticLearner | None = None  # A3C's, built on first use
        obs_shape = tuple(self._envs.observation_space.shape or ())
        self._obs_seen = RunningMeanStd(obs_shape) if config.policy.normalize_observations else None
        # Reward scaling: each env's running discounted return, and their spread.
        self._discounted_returns = np.zeros(config.num_envs, np.float64)
        self._return_stats = RunningMeanStd(())
        self._env_steps = 0
        self._sample_time_s = 0.0
        self._reported_crashes = 0  # env crashes already reported in a Rollout

    # -- messages -------------------------------------------------------------------------------

    def rollout(self) -> Rollout:
        """Step every env ``rollout_steps`` times with the current policy; see :class:`Rollout`."""
        start = time.perf_counter()
        c, envs = self.config, self._envs
        if c.env_actors.stepping == "lockstep":
            steps = self._steps_lockstep()
        else:
            steps = self._steps_out_of_lockstep()
        obs, next_obs, last_states = steps["obs"], steps["next_obs"], steps["last_states"]
        if self._obs_seen is not None:
            self._obs_seen.update(obs.reshape(-1, *obs.shape[2:]))
        columns: dict[str, np.ndarray] = {
            "obs": obs,
            "actions": steps["actions"],
            "log_probs": steps["log_probs"],
            "values": steps["values"],
        }
        terminated, truncated, crashed = steps["terminated"], steps["truncated"], steps["crashed"]
        # Scaled step by step in time order, per env, as the rewards came.
        rewards = np.stack(
            [
                self._scaled(r, t | u, x)
                for r, t, u, x in zip(steps["rewards"], terminated, truncated, crashed, strict=True)
            ]
        ).astype(np.float32)
        discounts = (c.gamma * ~(terminated | truncated)).astype(np.float32)
        if c.gae_lambda is None:
            columns.update(
                rewards=rewards,
                discounts=discounts,
                truncated=truncated,
                next_obs=next_obs,
                crashed=crashed,
            )
        else:
            columns.update(
                self._advantages(
                    rewards, columns["values"], discounts, truncated, next_obs, last_states, crashed
                )
            )
        rows = c.rollout_steps * c.num_envs
        batch = SampleBatch({k: v.reshape(rows, *v.shape[2:]) for k, v in columns.items()})
        if c.gae_lambda is not None and crashed.any():
            batch = batch.take(np.flatnonzero(~crashed.reshape(rows)))
        episodes = envs.pop_episode_stats()
        obs_stats = None
        if self._obs_seen is not None:
            obs_stats = self._obs_seen.get_state()
            self._obs_seen = RunningMeanStd(self._obs_seen.shape)
        self._env_steps += rows
        self._sample_time_s += time.perf_counter() - start
        crashes = self.env_crashes
        new_crashes, self._reported_crashes = crashes - self._reported_crashes, crashes
        return Rollout(batch, episodes, obs_stats, rows, new_crashes)

    def _steps_lockstep(self) -> dict[str, np.ndarray]:
        """``rollout_steps`` steps of every env at once: ``[T, K, ...]`` columns (``obs``,
        ``actions``, ``log_probs``, ``values``, ``rewards`` unscaled, ``terminated``,
        ``truncated``, ``next_obs``, ``crashed``) and ``last_states`` ``[K, ...]``."""
        c, envs, policy = self.config, self._envs, self._policy
        names = ("obs", "actions", "log_probs", "values", "rewards", "terminated", "truncated")
        lists: dict[str, list[np.ndarray]] = {n: [] for n in (*names, "next_obs", "crashed")}
        step = envs.observe()
        for _ in range(c.rollout_steps):
            states = step.states
            info = policy.act_with_info(states)
            envs.interact(policy.clip_actions(info.actions))
            step = envs.observe()
            for name, value in (
                ("obs", states),
                ("actions", info.actions),
                ("log_probs", info.log_probs),
                ("values", info.values),
                ("rewards", step.rewards),
                ("terminated", step.terminated.copy()),
                ("truncated", step.truncated.copy()),
                ("next_obs", step.next_states),
                ("crashed", step.crashed),
            ):
                lists[name].append(value)
        return {**{n: np.stack(v) for n, v in lists.items()}, "last_states": step.states}

    def _steps_out_of_lockstep(self) -> dict[str, np.ndarray]:
        """As :meth:`_steps_lockstep`, in ``env_actors.stepping``'s order
        (:func:`~rlactors.evaluators.stepping.step_each_env`): env ``k``'s ``t``-th step is
        row ``[t, k]`` of each column, whenever it came."""
        c, policy = self.config, self._policy
        k, horizon = c.num_envs, c.rollout_steps
        columns: dict[str, np.ndarray] = {}

        def put(name: str, t: np.ndarray, envs_at: np.ndarray, values: np.ndarray) -> None:
            if name not in columns:
                columns[name] = np.zeros((horizon, k, *values.shape[1:]), values.dtype)
            columns[name][t, envs_at] = values

        def act(now: np.ndarray, states: np.ndarray, t: np.ndarray) -> np.ndarray:
            info = policy.act_with_info(states)
            for name, value in (
                ("obs", states),
                ("actions", info.actions),
                ("log_probs", info.log_probs),
                ("values", info.values),
            ):
                put(name, t, now, value)
            return policy.clip_actions(info.actions)

        def record(came: np.ndarray, step: BatchObservation, t: np.ndarray, *_: np.ndarray) -> None:
            for name, value in (
                ("rewards", step.rewards),
                ("terminated", step.terminated),
                ("truncated", step.truncated),
                ("next_obs", step.next_states),
                ("crashed", step.crashed),
            ):
                put(name, t, came, value[came])

        last_states = step_each_env(self._envs, horizon, c.env_actors.stepping, act, record)
        return {**columns, "last_states": last_states}

    def sample(self) -> tuple[SampleBatch, list[EpisodeStats]]:
        """:meth:`rollout`'s batch and episodes (the :class:`Evaluator` interface)."""
        out = self.rollout()
        return out.batch, out.episodes

    def compute_gradients(self) -> GradientResult:
        """A rollout (with GAE) turned into the A2C loss's clipped gradient, here (A3C's worker).

        Raises:
            ValueError: The config has no ``gae_lambda`` (A3C needs advantages).
        """
        if self.config.gae_lambda is None:
            raise ValueError("compute_gradients needs RolloutConfig.gae_lambda (advantages)")
        out = self.rollout()
        if self._gradient_learner is None:
            # torch, only in A3C's workers
            from rlactors.learners import ActorCriticLearner
            from rlactors.policies import ActorCriticPolicy

            self._gradient_learner = ActorCriticLearner(
                ActorCriticPolicy(
                    self._envs.observation_space,
                    self._envs.action_space,
                    self.config.policy,
                    seed=derive_seed(self.config.seed, self.index, POLICY_STREAM),
                ),
                self.config.learner,
            )
        # The rollout's policy: its log-probs and values are the ones the gradient is taken at.
        self._gradient_learner.set_weights(self._policy.get_weights())
        gradients, stats = self._gradient_learner.compute_gradients(out.batch)
        return GradientResult(
            gradients, stats, out.episodes, out.obs_stats, out.env_steps, out.env_crashes
        )

    def evaluate(self, episodes: int, seed: int | None = None) -> list[EpisodeStats]:
        """Run ``episodes`` greedy episodes (the policy's mode) on envs of their own; the
        rollout envs are untouched. An algorithm's greedy evaluations run here, beside learning.

        Args:
            episodes: How many, one per env, in lockstep.
            seed: Root seed of the episodes' env seeds; None derives fresh ones from the
                evaluator's seed and a call counter.

        Returns:
            One :class:`EpisodeStats` per episode.
        """
        return self._greedy_episodes.run(
            lambda obs: self._policy.act(obs, explore=False), episodes, seed
        )

    def set_weights(self, weights: PolicyWeights) -> None:
        """Load the learner's weights, ``{config.policy_id: ActorCriticPolicy.get_weights()}``
        (with the observation statistics when normalizing).

        Raises:
            ValueError: ``weights`` holds another policy id.
        """
        mine = weights_of(weights, self.config.policy_id, f"ActorCriticEvaluator {self.index}")
        if mine is not None:
            self._policy.set_weights(mine)

    def get_weights(self) -> Weights:
        """The policy copy's weights."""
        return self._policy.get_weights()

    def get_metrics(self) -> dict[str, Any]:
        """``env_steps`` since construction, ``env_steps_per_s`` inside :meth:`rollout` and
        ``env_crashes`` (envs rebuilt after a crash, training and evaluation envs)."""
        rate = self._env_steps / self._sample_time_s if self._sample_time_s > 0 else 0.0
        return {
            "env_steps": self._env_steps,
            "env_steps_per_s": rate,
            "env_crashes": self.env_crashes,
        }

    @property
    def env_crashes(self) -> int:
        """Envs rebuilt after a crash since construction (training and evaluation envs)."""
        return self._envs.crashes + self._greedy_episodes.crashes

    def close(self) -> None:
        """Close the envs."""
        self._envs.close()
        self._greedy_episodes.close()

    def on_stop(self) -> None:
        """As an actor, when stopped: close the envs (env actors stop with them)."""
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _scaled(self, rewards: np.ndarray, done: np.ndarray, crashed: np.ndarray) -> np.ndarray:
        if not self.config.scale_rewards:
            return rewards
        self._discounted_returns = self._discounted_returns * self.config.gamma + rewards
        if crashed.any():  # a lost step's 0 is no reward the env gave
            if not crashed.all():
                self._return_stats.update(self._discounted_returns[~crashed])
        else:
            self._return_stats.update(self._discounted_returns)
        self._discounted_returns[done] = 0.0
        scaled: np.ndarray = rewards / np.sqrt(self._return_stats.var + 1e-8)
        return scaled

    def _advantages(
        self,
        rewards: np.ndarray,
        values: np.ndarray,
        discounts: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
        last_states: np.ndarray,
        crashed: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """GAE over ``[T, K]``, bootstrapping truncated episodes from their final state; a
        crashed step gets a TD error of exactly 0 (see the module docstring)."""
        policy, gamma = self._policy, self.config.gamma
        rewards = rewards.copy()
        if crashed.any():
            truncated = truncated & ~crashed
            # delta_t = V(s_t) + 0 * V(.) - V(s_t) = 0 (discounts is 0 there: truncated).
            rewards[crashed] = values[crashed]
        if truncated.any():
            # Pardo et al. (2018): a time limit is not a terminal state; fold gamma * V(s_T)
            # into the reward (discounts is already 0 there). See losses.advantages.
            rewards[truncated] += gamma * policy.value(next_obs[truncated])
        assert self.config.gae_lambda is not None
        advantages, returns = gae_numpy(
            rewards, values, policy.value(last_states), discounts, self.config.gae_lambda
        )
        return {"advantages": advantages, "returns": returns}
