"""Greedy evaluations of a training loop: in this process, or beside learning on an actor.

:class:`GreedyEvaluations` is the part of :class:`~rlactors.algorithms.loop.TrainingLoop` that
decides when a greedy evaluation is due (every ``eval_interval_env_steps``, gated by the
training return), runs or dispatches it, collects its answer and records whether it solved.
An algorithm that spawns a greedy evaluator actor (:meth:`~GreedyEvaluations.
_spawn_greedy_evaluator`) has its evaluations run there, on a snapshot of the weights, while the
learner goes on; see :meth:`~GreedyEvaluations._maybe_evaluate`.

Two things keep what a run reports honest:

* **The best policy.** The weights of the evaluation with the highest mean return so far are
  kept (:class:`BestPolicy`, every policy id together: a run has one greedy score), and a
  checkpoint holds them beside the last ones: a policy that peaked and then collapsed is
  not lost with the collapse (SB3's ``EvalCallback`` keeps a ``best_model`` for this).
* **Confirmed solves.** An evaluation that meets ``stop_reward`` solves the run only if a
  larger one of the same weights (``final_eval_episodes``, in this process) meets it too: the
  first of many noisy 20-episode means to cross the line is biased upwards (on LunarLander a
  greedy 208.4 over 20 episodes was 178.2 over 50). RL Zoo and CleanRL report a final
  evaluation of 10-100 episodes for the same reason.
"""

from __future__ import annotations

import abc
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np

from rlactors.actors import (
    ActorDiedError,
    ActorOptions,
    ActorRef,
    Future,
    RestartPolicy,
    spawn_with,
    wait_any,
)
from rlactors.algorithms.builder import PolicyEntry, policy_weights
from rlactors.core import EpisodeStats, Weights
from rlactors.envs import EnvBatch, EnvSpec
from rlactors.evaluators import make_env_batch, run_episodes
from rlactors.seeding import GREEDY_EVAL_STREAM, derive_seed
from rlactors.validation import is_finite_number

log = logging.getLogger(__name__)


#: Seconds to wait for an evaluation still running when the budget is spent.
_EVAL_TIMEOUT_S = 300.0

#: Env actors an evaluation in this process steps at most at once (``env_actors="process"``):
#: more episodes run in waves of this many (a confirming evaluation of 100 episodes is 4 waves
#: of 25, not 100 processes).
DRIVER_EVAL_ENV_ACTORS = 25

#: The confirming evaluation's entries in metrics rows, results and checkpoints (see
#: :meth:`GreedyEvaluations._confirm`).
FINAL_EVAL_KEYS = (
    "final_eval_return_mean",
    "final_eval_return_std",
    "final_eval_episodes",
    "final_eval_env_steps",
)


@dataclass(frozen=True)
class BestPolicy:
    """The policies of a run's highest greedy evaluation so far.

    Attributes:
        weights: ``{policy id: weights}``, every policy of the run as it was evaluated.
        env_steps: The env steps those weights had been trained for.
        eval_return_mean: That evaluation's mean greedy return (over ``eval_episodes``).
    """

    weights: dict[str, Weights]
    env_steps: int
    eval_return_mean: float

    def to_state(self) -> dict[str, Any]:
        """For a checkpoint's ``state["best"]`` (plain arrays and numbers)."""
        return {
            "policies": self.weights,
            "env_steps": self.env_steps,
            "eval_return_mean": self.eval_return_mean,
        }

    @classmethod
    def from_state(cls, state: Any, policy_ids: set[str]) -> BestPolicy:
        """Read :meth:`to_state` back (tensors become numpy arrays).

        Raises:
            ValueError: ``state`` is not what :meth:`to_state` wrote, or holds other policy
                ids than ``policy_ids``; the message says what.
        """
        if not isinstance(state, dict) or not isinstance(state.get("policies"), dict):
            raise ValueError("its best policy is not a dict of policies")
        policies = state["policies"]
        if set(policies) != policy_ids:
            raise ValueError(
                f"its best policy holds the ids {sorted(map(str, policies))}, "
                f"the run {sorted(policy_ids)}"
            )
        weights: dict[str, Weights] = {}
        for pid, arrays in policies.items():
            if not isinstance(arrays, dict) or not all(isinstance(k, str) for k in arrays):
                raise ValueError(f"its best policy {pid!r} is not named arrays")
            weights[pid] = {key: np.asarray(value) for key, value in arrays.items()}
            if any(array.dtype.kind not in "fiub" for array in weights[pid].values()):
                raise ValueError(f"its best policy {pid!r} holds arrays that are not numbers")
        env_steps, eval_return = state.get("env_steps"), state.get("eval_return_mean")
        if type(env_steps) is not int or not is_finite_number(eval_return):
            raise ValueError("its best policy has no env_steps or eval_return_mean")
        return cls(weights, env_steps, float(cast(float, eval_return)))


@dataclass
class _Evaluation:
    """A greedy evaluation in flight: its answer and the policy it evaluates."""

    future: Future[list[EpisodeStats]]
    weights: dict[str, Weights]  # by policy id
    env_steps: int


class GreedyEvaluations(abc.ABC):
    """The greedy-evaluation half of the training loop (a mixin of ``TrainingLoop``, which
    sets every attribute below)."""

    name: ClassVar[str]
    config: Any
    policies: dict[str, PolicyEntry]
    env_spec: EnvSpec
    env_steps: int
    evaluations: int
    _eval_envs: EnvBatch | None
    _other_eval_envs: EnvBatch | None  # evaluate()'s of another size (the confirming one)
    _actor_eval_envs: dict[int, EnvBatch]  # by size: env actors of evaluate(), in a session
    _optimizer: Any  # not None while a session runs (its runtime entered)
    _next_eval_env_steps: int
    _returns: deque[float]
    _last_eval: float | None
    _last_eval_env_steps: int | None
    _solved: bool
    _best: BestPolicy | None
    _final_eval: dict[str, Any] | None  # the latest confirming evaluation (final_eval_*)
    _final_eval_now: dict[str, Any] | None  # ... if it ran this iteration
    _greedy_evaluator: ActorRef[Any] | None
    _evaluation: _Evaluation | None
    greedy_evaluator_restarts: int

    @abc.abstractmethod
    def _greedy(self, obs: np.ndarray) -> np.ndarray:
        """The learner policy's greedy actions for ``[B, *obs_shape]`` observations."""

    @abc.abstractmethod
    def _evaluate_matches(self, episodes: int, seed: int) -> dict[str, Any]:
        """A multi-role run's greedy evaluation (see
        :func:`rlactors.multiagent.evaluation.evaluate_policies`)."""

    @abc.abstractmethod
    def _budget_spent(self, env_steps: int) -> bool:
        """Whether another round after ``env_steps`` would exceed the budget."""

    @property
    def episode_return_mean(self) -> float | None:
        """Mean training return of the latest ``return_window_episodes`` episodes."""
        return float(np.mean(self._returns)) if self._returns else None

    def evaluate(self, episodes: int | None = None) -> dict[str, Any]:
        """Greedy episodes with the learner's current policy, in this process.

        With ``env_actors="process"``, while a training session runs, the envs are env actors
        in processes of their own (:meth:`_greedy_on_env_actors`), else plain envs here.

        Args:
            episodes: How many (default ``config.eval_episodes``); they run in lockstep.

        Returns:
            ``episodes``, ``eval_return_mean``, ``eval_return_std``, ``eval_return_min``,
            ``eval_return_max`` and ``eval_length_mean``.
        """
        count = self.config.eval_episodes if episodes is None else episodes
        if count < 1:
            raise ValueError(f"evaluate: episodes must be >= 1, got {count}")
        if self._eval_envs is None:
            return self._evaluate_matches(count, self._next_evaluation_seed())
        if self.config.env_actors == "process" and self._optimizer is not None:
            stats = self._greedy_on_env_actors(count, self._next_evaluation_seed())
            return _evaluation_figures(count, stats)
        envs = self._eval_envs
        if envs.num_envs != count:
            # Kept apart: the confirming evaluations' batch would otherwise replace the
            # regular ones' at each, and an Atari env costs a ROM load to build.
            if self._other_eval_envs is None or self._other_eval_envs.num_envs != count:
                if self._other_eval_envs is not None:
                    self._other_eval_envs.close()
                self._other_eval_envs = make_env_batch(
                    self.env_spec,
                    count,
                    mask_key=self.config.action_mask_key,
                    crash_policy=self.config.env_crash_policy,
                )
            envs = self._other_eval_envs
        return _evaluation_figures(count, self.greedy_episodes(envs, self._next_evaluation_seed()))

    def _greedy_on_env_actors(self, count: int, seed: int) -> list[EpisodeStats]:
        """``count`` greedy episodes on env actors in their own processes, in waves of at most
        :data:`DRIVER_EVAL_ENV_ACTORS` (a slow simulator steps them all at once, not one after
        the other). One wave uses ``seed`` as plain envs would, so its episodes are the ones
        plain envs play; wave ``w > 0`` derives its seed from ``(seed, w)``."""
        size = min(count, DRIVER_EVAL_ENV_ACTORS)
        envs = self._actor_eval_envs.get(size)
        if envs is None:
            envs = self._actor_eval_envs[size] = make_env_batch(
                self.env_spec,
                size,
                mask_key=self.config.action_mask_key,
                crash_policy=self.config.env_crash_policy,
                env_actors=self.config.env_actors_config,
            )
        stats: list[EpisodeStats] = []
        wave = 0
        while len(stats) < count:
            wave_seed = seed if wave == 0 else derive_seed(seed, wave)
            stats += run_episodes(envs, self._greedy, wave_seed)[: count - len(stats)]
            wave += 1
        return stats

    def _close_actor_eval_envs(self) -> None:
        """Stop the env actors of this session's evaluations (before its runtime ends)."""
        for envs in self._actor_eval_envs.values():
            try:
                envs.close()
            except Exception:  # best effort at shutdown: report it and go on
                log.exception("closing the evaluation's env actors failed")
        self._actor_eval_envs = {}

    def greedy_episodes(self, envs: EnvBatch, seed: int) -> list[EpisodeStats]:
        """One greedy episode in each of ``envs``, acting as :meth:`evaluate` does: for callers
        that bring envs of their own (``rlactors enjoy`` renders them).

        Args:
            envs: Single-role envs of this run's env spec (see :func:`~rlactors.evaluators.
                make_env_batch`); they are reset here.
            seed: Root seed of the episodes.
        """
        return run_episodes(envs, self._greedy, seed)

    def _maybe_evaluate(self) -> float | None:
        """Collect a finished greedy evaluation, and start the next one when it is due (see
        ``eval_interval_env_steps``).

        With a greedy evaluator actor (:meth:`_spawn_greedy_evaluator`), evaluations run there,
        on a snapshot of the weights, while the learner goes on: 20 CartPole episodes late in
        a run are ~10,000 env steps, ~0.3 s in which learning would stop, and on the process
        backend the evaluator uses a core the others leave idle (the learner waits for
        samples, or the evaluators for the learner). The answer is read at the end of the
        first iteration after it arrived; a policy that solves is the one the learner keeps
        (its weights are restored), so what the run returns is what was evaluated, and the
        solve counts at the env steps of the snapshot. One evaluation runs at a time; one that
        falls due meanwhile starts when it ends. When the budget is spent, the one in flight
        is waited for and a due one runs here. Without such an actor, evaluations run here.
        An evaluation that meets ``stop_reward`` is confirmed here (see
        :meth:`_record_evaluation`).

        Returns:
            The mean return of the evaluation collected now, or None.
        """
        self._final_eval_now = None
        evaluation, eval_return = self._evaluation, None
        last = self._budget_spent(self.env_steps)
        if evaluation is not None and (last or _answered(evaluation.future)):
            self._evaluation = None
            eval_return = self._finish_evaluation(evaluation)
        if self._solved or self._evaluation is not None or not self._evaluation_due():
            return eval_return
        if last or self._greedy_evaluator is None:
            now = float(self.evaluate()["eval_return_mean"])
            self._record_evaluation(now, self.env_steps)
            return now
        weights = policy_weights(self.policies)
        try:
            self._greedy_evaluator.tell("set_weights", weights)
            future = self._greedy_evaluator.ask(
                "evaluate", self.config.eval_episodes, self._next_evaluation_seed()
            )
        except ActorDiedError as exc:
            # Past its restart limit (or stopped): it is not essential, so evaluate here.
            log.warning("the greedy evaluator is gone (%s); evaluating in this process", exc)
            self._greedy_evaluator = None
            now = float(self.evaluate()["eval_return_mean"])
            self._record_evaluation(now, self.env_steps)
            return now
        self._evaluation = _Evaluation(future, weights, self.env_steps)
        return eval_return

    def _finish_evaluation(self, evaluation: _Evaluation) -> float | None:
        try:
            stats = evaluation.future.result(_EVAL_TIMEOUT_S)
        except ActorDiedError as exc:
            log.warning("the greedy evaluator died (%s); its evaluation is dropped", exc)
            return None
        eval_return = float(np.mean([s.episode_return for s in stats]))
        self._record_evaluation(eval_return, evaluation.env_steps, evaluation.weights)
        if self._solved:
            for pid, weights in evaluation.weights.items():
                self.policies[pid].learner.set_weights(weights)
        return eval_return

    def _evaluation_due(self) -> bool:
        """Whether a greedy evaluation is due now (moves the schedule on when it is)."""
        c = self.config
        if c.stop_reward is None or self.env_steps < self._next_eval_env_steps:
            return False
        while self._next_eval_env_steps <= self.env_steps:
            self._next_eval_env_steps += c.eval_interval_env_steps
        train_mean = self.episode_return_mean
        # The gate is a fraction of a positive target; a target <= 0 (Pendulum's -400, say)
        # has no such fraction, so every due evaluation runs. Nor is a multi-role run gated:
        # its training return is against whoever it played (itself, in self-play: ~0), not
        # what its evaluations measure.
        gated = c.stop_reward > 0 and c.eval_trigger_fraction > 0 and self._eval_envs is not None
        if train_mean is None:
            return False
        return not gated or train_mean >= c.eval_trigger_fraction * c.stop_reward

    def _next_evaluation_seed(self) -> int:
        """Counts a greedy evaluation; returns the root seed of its episodes (fresh each time)."""
        self.evaluations += 1
        return derive_seed(self.config.seed, GREEDY_EVAL_STREAM, self.evaluations)

    def _record_evaluation(
        self, eval_return: float, env_steps: int, weights: dict[str, Weights] | None = None
    ) -> None:
        """Keep a greedy evaluation's mean return, of the policy trained for ``env_steps``
        (``weights``, by policy id; None: the current ones): the best policy if it is the
        highest so far; solved if it meets ``stop_reward`` and so does the confirming
        evaluation of the same weights (:meth:`_confirm`)."""
        stop_reward = self.config.stop_reward
        self._last_eval = eval_return
        self._last_eval_env_steps = env_steps
        if self._best is None or eval_return > self._best.eval_return_mean:
            kept = policy_weights(self.policies) if weights is None else weights
            self._best = BestPolicy(kept, env_steps, eval_return)
        met = stop_reward is not None and eval_return >= stop_reward
        self._solved = met and self._confirm(env_steps, weights)
        log.info(
            "greedy evaluation of the policy at %d env steps: mean return %.1f (%s)",
            env_steps,
            eval_return,
            "solved" if self._solved else "met, not confirmed" if met else "not yet",
        )

    def _confirm(self, env_steps: int, weights: dict[str, Weights] | None) -> bool:
        """Whether ``final_eval_episodes`` greedy episodes of ``weights`` (None: the current
        ones) meet ``stop_reward`` too; runs here, keeps the result as ``final_eval_*``."""
        episodes = self.config.final_eval_episodes
        if episodes == 0:
            return True
        stats = self._evaluate_weights(weights, episodes)
        values = (stats["eval_return_mean"], stats["eval_return_std"], episodes, env_steps)
        self._final_eval = self._final_eval_now = dict(zip(FINAL_EVAL_KEYS, values, strict=True))
        confirmed = bool(stats["eval_return_mean"] >= self.config.stop_reward)
        log.info(
            "confirming evaluation of the policy at %d env steps: mean return %.1f +- %.1f over "
            "%d episodes (%s)",
            env_steps,
            stats["eval_return_mean"],
            stats["eval_return_std"],
            episodes,
            "solved" if confirmed else "below the stop reward: training goes on",
        )
        return confirmed

    def _evaluate_weights(
        self, weights: dict[str, Weights] | None, episodes: int
    ) -> dict[str, Any]:
        """:meth:`evaluate` of ``weights`` by policy id (None: the current ones), lent to the
        policies for the evaluation and taken back after it."""
        if weights is None:
            return self.evaluate(episodes)
        # The policies' own (copies): loading them back leaves the learners' networks, which
        # the policies' are, as they were (set_weights copies into the same tensors, so the
        # optimizers' references stay valid).
        current = {pid: self.policies[pid].policy.get_weights() for pid in weights}
        try:
            for pid, snapshot in weights.items():
                self.policies[pid].policy.set_weights(snapshot)
            return self.evaluate(episodes)
        finally:
            for pid, own in current.items():
                self.policies[pid].policy.set_weights(own)

    def _final_eval_metrics(self) -> dict[str, Any]:
        """An iteration's ``final_eval_*`` metrics: the confirming evaluation run in it (None
        when none was)."""
        now = self._final_eval_now or {}
        return {key: now.get(key) for key in FINAL_EVAL_KEYS}

    @property
    def best_policy(self) -> BestPolicy | None:
        """The policies of the highest greedy evaluation so far (restored from a checkpoint
        too); None when no greedy evaluation ran (they run with ``stop_reward`` set) or the
        checkpoint is of a release that kept none."""
        return self._best

    def load_best_policy(self) -> BestPolicy:
        """Load :attr:`best_policy` into the learners (and so the policies), to evaluate or
        act with it. The learners' optimizer state stays the last one: resume training from a
        checkpoint's last policy (``restore(path)``), not from this.

        Raises:
            ValueError: There is no best policy (see :attr:`best_policy`).
        """
        best = self._best
        if best is None:
            raise ValueError(
                f"{self.name} has no best policy: no greedy evaluation ran (they run with "
                "stop_reward set), or its checkpoint is of a release that kept none"
            )
        for pid, weights in best.weights.items():
            self.policies[pid].learner.set_weights(weights)
        return best

    def _spawn_greedy_evaluator(self) -> ActorRef[Any] | None:
        """The actor that runs the greedy evaluations beside learning (see
        :meth:`_maybe_evaluate`), spawned when training starts with ``stop_reward`` set and
        restarted if its process dies; None without a :meth:`_greedy_evaluator_spec`."""
        spec = self._greedy_evaluator_spec()
        if spec is None:
            return None
        factory, config = spec
        options = ActorOptions(
            name=f"{self.name}-greedy-evaluator",
            restart=RestartPolicy.on_failure(max_restarts=self.config.max_worker_restarts),
            on_restart=self._count_greedy_evaluator_restart,
        )
        return spawn_with(options, factory, config)

    def _count_greedy_evaluator_restart(self, _ref: ActorRef[Any]) -> None:
        # Runs in the supervisor's thread; the metrics rows report the count.
        self.greedy_evaluator_restarts += 1

    def _greedy_evaluator_spec(self) -> tuple[Callable[[Any], Any], Any] | None:
        """``(evaluator class, its config)`` of a greedy evaluator actor: it must take
        ``set_weights({policy id: weights})`` and answer ``evaluate(episodes, seed)`` with a
        list of :class:`~rlactors.core.EpisodeStats`. None (the default): evaluate here."""
        return None


def _answered(future: Future[Any]) -> bool:
    """Whether ``future`` has its answer, reading it if it arrived (waits at most 0.1 ms)."""
    done, _ = wait_any([future], timeout=1e-4)
    return bool(done)


def _evaluation_figures(count: int, stats: list[EpisodeStats]) -> dict[str, Any]:
    """:meth:`GreedyEvaluations.evaluate`'s summary of its episodes."""
    returns = np.array([s.episode_return for s in stats])
    return {
        "episodes": count,
        "eval_return_mean": float(returns.mean()),
        "eval_return_std": float(returns.std()),
        "eval_return_min": float(returns.min()),
        "eval_return_max": float(returns.max()),
        "eval_length_mean": float(np.mean([s.length for s in stats])),
    }
