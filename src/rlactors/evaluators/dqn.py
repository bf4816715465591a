"""DQNEvaluator: K envs plus an epsilon-greedy DQN policy, producing n-step transitions.

It serves a synchronous learner (``SyncReplayOptimizer``) and Ape-X alike: it is a plain object
built from a picklable :class:`EvaluatorConfig`, so ``spawn(DQNEvaluator, config, index=i)`` runs
it as an actor on any backend, with its envs created inside it (colocated). Usage::

    evaluator = spawn(DQNEvaluator, EvaluatorConfig(EnvSpec("CartPole-v1"), n_step=3, epsilon=1.0))
    batch, episodes = evaluator.ask("sample").result(timeout=60)
    evaluator.tell("set_weights", learner.get_weights())
    evaluator.tell("set_epsilon", 0.05)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rlactors.core import EpisodeStats, Evaluator, PolicyWeights, SampleBatch, Weights
from rlactors.envs import BatchObservation
from rlactors.evaluators.acting import QActing, weights_of
from rlactors.evaluators.config import EvaluatorConfig
from rlactors.evaluators.episodes import evaluator_envs
from rlactors.evaluators.stepping import step_each_env
from rlactors.policies.numpy_q import NumpyQPolicy
from rlactors.replay import NStepAccumulator, VectorNStepAccumulator
from rlactors.seeding import POLICY_STREAM, derive_seed

#: The extra column :meth:`DQNEvaluator.sample` adds when ``compute_priorities`` is set.
PRIORITIES = "priorities"


class DQNEvaluator(Evaluator):
    """Steps K envs with an epsilon-greedy Q policy and returns n-step transitions.

    In lockstep the env streams feed one :class:`~rlactors.replay.VectorNStepAccumulator` (as
    one ``NStepAccumulator`` per env would, with array operations; out of lockstep, with
    ``env_actors.stepping``, each env has its ``NStepAccumulator``), so a transition never spans
    two envs or two episodes; steps still short of ``n`` at the end of a ``sample()`` call are
    carried over to the next one, so no env step is lost between calls.

    An env that crashes is rebuilt by its :class:`~rlactors.envs.EnvBatch` (within
    ``config.env_crash_policy``): the lost step ``(s_t, a_t)`` is not added, and the steps
    pending before it are emitted as a truncation at ``s_t``, so every transition is one the
    env really made and bootstraps from the state it really reached.

    Args:
        config: Env id, K, rollout length, n, gamma, epsilon, seed and network.
        index: This evaluator's number among its siblings (0, 1, ...); together with
            ``config.seed`` it names the evaluator's random streams.
        policy: What to act through (see :mod:`rlactors.evaluators.acting`); None builds a
            local :class:`~rlactors.policies.NumpyQPolicy` from ``config.policy``. Either way
            its epsilon starts at ``config.epsilon``.

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        SpaceError: The env's actions are not Discrete, or its observations have no layout.
    """

    def __init__(
        self, config: EvaluatorConfig, index: int = 0, policy: QActing | None = None
    ) -> None:
        self.config = config
        self.index = index
        self._envs, self._greedy_episodes = evaluator_envs(config, index)
        # numpy, not torch, by default: an evaluator only acts (see NumpyQPolicy).
        self._policy: QActing = (
            policy
            if policy is not None
            else NumpyQPolicy(
                self._envs.observation_space,
                self._envs.action_space,
                config.policy,
                seed=derive_seed(config.seed, index, POLICY_STREAM),
            )
        )
        self._policy.set_epsilon(config.epsilon)
        self._nstep = VectorNStepAccumulator(config.n_step, config.gamma, config.num_envs)
        self._env_nsteps: list[NStepAccumulator] | None = None  # one per env, out of lockstep
        self._env_steps = 0
        self._episodes = 0
        self._sample_time_s = 0.0
        self._reported_crashes = 0  # by new_env_crashes

    # -- messages -------------------------------------------------------------------------------

    def sample(self) -> tuple[SampleBatch, list[EpisodeStats]]:
        """Step every env ``config.rollout_steps`` times with the current epsilon.

        Returns:
            ``(batch, episodes)``. ``batch`` holds the n-step transitions completed during the
            call: ``obs`` ``[N, *obs_shape]``, ``actions`` ``[N]`` int64, ``rewards`` ``[N]``
            float32 (discounted n-step return), ``next_obs`` ``[N, *obs_shape]``,
            ``discounts`` ``[N]`` float32 (``gamma**m``, 0 at a terminal state), plus
            ``priorities`` ``[N]`` float32 (``|TD error|`` by this evaluator's policy copy)
            when ``config.compute_priorities`` is set. ``N`` is about ``rollout_steps * K``
            (up to ``(n - 1) * K`` rows move between neighbouring calls). ``episodes`` lists
            the episodes that ended during the call.
        """
        start = time.perf_counter()
        if self.config.env_actors.stepping == "lockstep":
            batch = self._sample_lockstep()
        else:
            batch = self._sample_out_of_lockstep()
        if self.config.compute_priorities and len(batch):
            td_error = self._policy.compute_td_error(batch)
            batch = SampleBatch({**batch.columns, PRIORITIES: np.abs(td_error)})
        episodes = self._envs.pop_episode_stats()
        self._env_steps += self.config.env_steps_per_sample
        self._episodes += len(episodes)
        self._sample_time_s += time.perf_counter() - start
        return batch, episodes

    def _sample_lockstep(self) -> SampleBatch:
        """``rollout_steps`` steps of every env at once; the n-step rows completed."""
        envs = self._envs
        nstep = self._nstep
        step = envs.observe()
        for _ in range(self.config.rollout_steps):
            states = step.states
            actions = self._policy.act(states)
            envs.interact(actions)
            step = envs.observe()
            # A crashed env's step (s_t, a_t) was lost with it: its pending steps end as a
            # truncation at s_t (the row's next_states), which they reached for real.
            nstep.add(
                states,
                actions,
                step.rewards,
                step.next_states,
                step.terminated,
                step.truncated,
                lost=step.crashed if step.crashed.any() else None,
            )
        return nstep.flush()

    def _sample_out_of_lockstep(self) -> SampleBatch:
        """``rollout_steps`` steps of each env in ``env_actors.stepping``'s order
        (:func:`~rlactors.evaluators.stepping.step_each_env`).

        Each env then runs at its own pace, so each has an :class:`NStepAccumulator` of its
        own (pending steps carry over between calls, as in lockstep); rows come env by env
        in the order the answers came."""
        c = self.config
        if self._env_nsteps is None:
            self._env_nsteps = [NStepAccumulator(c.n_step, c.gamma) for _ in range(c.num_envs)]
        nsteps = self._env_nsteps
        rows: list[SampleBatch] = []

        def act(now: np.ndarray, states: np.ndarray, t: np.ndarray) -> np.ndarray:
            return self._policy.act(states)

        def record(
            came: np.ndarray,
            step: BatchObservation,
            t: np.ndarray,
            states: np.ndarray,
            actions: np.ndarray,
        ) -> None:
            for i, state, action in zip(came.tolist(), states, actions, strict=True):
                if step.crashed[i]:
                    # The step (s_t, a_t) was lost with the env: its pending steps end as a
                    # truncation at s_t (the row's next_states), which they reached for real.
                    rows.append(nsteps[i].truncate(step.next_states[i]))
                    continue
                rows.append(
                    nsteps[i].add(
                        state,
                        action,
                        float(step.rewards[i]),
                        step.next_states[i],
                        bool(step.terminated[i]),
                        bool(step.truncated[i]),
                    )
                )

        step_each_env(self._envs, c.rollout_steps, c.env_actors.stepping, act, record)
        return SampleBatch.concat(rows)

    def set_weights(self, weights: PolicyWeights) -> None:
        """Load the learner's online-network weights, ``{config.policy_id:
        DQNPolicy.get_weights()}``.

        Raises:
            ValueError: ``weights`` holds another policy id.
        """
        mine = weights_of(weights, self.config.policy_id, f"DQNEvaluator {self.index}")
        if mine is not None:
            self._policy.set_weights(mine)

    def get_weights(self) -> Weights:
        """The policy copy's weights (named arrays)."""
        return self._policy.get_weights()

    def set_epsilon(self, epsilon: float) -> None:
        """Set the exploration probability used by the following ``sample()`` calls.

        Raises:
            ValueError: ``epsilon`` is outside ``[0, 1]``.
        """
        self._policy.set_epsilon(epsilon)

    def env_steps_per_sample(self) -> int:
        """Env steps each ``sample()`` call takes (``rollout_steps * num_envs``)."""
        return self.config.env_steps_per_sample

    def get_metrics(self) -> dict[str, Any]:
        """Counters since construction.

        Returns:
            ``env_steps`` (int), ``episodes`` (int), ``epsilon`` (float),
            ``env_steps_per_s`` (float: env steps per second spent inside ``sample()``, so
            the sampling speed, not counting the time the evaluator waited for messages) and
            ``env_crashes`` (int: envs rebuilt after a crash, training and evaluation envs).
        """
        rate = self._env_steps / self._sample_time_s if self._sample_time_s > 0 else 0.0
        return {
            "env_steps": self._env_steps,
            "episodes": self._episodes,
            "epsilon": self._policy.epsilon,
            "env_steps_per_s": rate,
            "env_crashes": self.env_crashes,
        }

    @property
    def env_crashes(self) -> int:
        """Envs rebuilt after a crash since construction (training and evaluation envs)."""
        return self._envs.crashes + self._greedy_episodes.crashes

    def new_env_crashes(self) -> int:
        """Env crashes since the last call (so an optimizer's running total survives a
        restarted evaluator, whose own count starts again at 0)."""
        crashes = self.env_crashes
        new, self._reported_crashes = crashes - self._reported_crashes, crashes
        return new

    def evaluate(self, episodes: int, seed: int | None = None) -> list[EpisodeStats]:
        """Run ``episodes`` greedy episodes on separate envs (the training envs are untouched).

        Args:
            episodes: How many, one per env, in lockstep.
            seed: Root seed of the episodes' env seeds; None (the default) derives fresh ones
                from the evaluator's seed and a call counter.

        Returns:
            One :class:`EpisodeStats` per episode.
        """
        return self._greedy_episodes.run(self._greedy, episodes, seed)

    def close(self) -> None:
        """Close the envs."""
        self._envs.close()
        self._greedy_episodes.close()

    def on_stop(self) -> None:
        """As an actor, when stopped: close the envs (env actors stop with them)."""
        self.close()

    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        return self._policy.act(obs, explore=False)
