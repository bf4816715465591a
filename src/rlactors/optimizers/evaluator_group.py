"""The actor-critic evaluators an optimizer owns: spawned supervised, fed the learner's weights.

A2C, A3C, PPO and IMPALA all keep N :class:`~rlactors.evaluators.ActorCriticEvaluator` actors,
restart one whose process dies (Erlang/OTP style, at most ``max_restarts`` a minute) and hand
the restarted one the learner's current weights. This class is that part, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

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
from rlactors.core import EpisodeStats, Optimizer
from rlactors.evaluators import ActorCriticEvaluator, RolloutConfig

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner  # torch: the learner's process has it

log = logging.getLogger(__name__)

T = TypeVar("T")


class EvaluatorGroup:
    """N supervised evaluator actors with the learner's weights.

    Args:
        config: Every evaluator's config (each derives its own streams from its index).
        learner: The learner whose policy's weights the evaluators act with.
        num_workers: N >= 1.
        max_restarts: Restarts per evaluator within a minute before its failure escalates.
        name: Actor names are ``f"{name}-{i}"``.

    Raises:
        ValueError: ``num_workers`` < 1 or ``max_restarts`` < 0.
    """

    def __init__(
        self,
        config: RolloutConfig,
        learner: ActorCriticLearner,
        num_workers: int,
        max_restarts: int = 3,
        name: str = "evaluator",
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
        self.config = config
        self.learner = learner
        self.restarts = 0
        self._weights = learner.get_weights()
        restart = RestartPolicy.on_failure(max_restarts=max_restarts, within_s=60.0)
        self.refs: list[ActorRef[ActorCriticEvaluator]] = [
            spawn_with(
                ActorOptions(name=f"{name}-{i}", restart=restart, on_restart=self._on_restart),
                ActorCriticEvaluator,
                config,
                index=i,
            )
            for i in range(num_workers)
        ]
        self.broadcast()

    def __len__(self) -> int:
        return len(self.refs)

    def broadcast(self) -> None:
        """Send the learner's current weights to every evaluator."""
        self._weights = self.learner.get_weights()
        for ref in self.refs:
            self._tell_weights(ref)

    def send_weights(self, index: int) -> None:
        """Send the learner's current weights to evaluator ``index`` only (A3C)."""
        self._weights = self.learner.get_weights()
        self._tell_weights(self.refs[index])

    def _tell_weights(self, ref: ActorRef[Any]) -> None:
        try:
            ref.tell("set_weights", self._weights)
        except ActorDiedError:
            # Dead and not restarted yet: the restart hook hands the new instance the weights.
            log.debug("%s is down; it gets the weights when it is restarted", ref.name)

    def merge_obs_stats(self, state: dict[str, np.ndarray] | None) -> None:
        """Add an evaluator's observation statistics to the learner's (None: nothing)."""
        if state is not None:
            self.learner.merge_obs_stats(state)

    def stop(self) -> None:
        """Stop every evaluator (best effort: a failure is logged, the others still stop)."""
        for ref in self.refs:
            try:
                ref.stop(timeout=10.0)
            except Exception:  # shutting down: report and go on
                log.exception("stopping %s failed", ref.name)

    def _on_restart(self, ref: ActorRef[Any]) -> None:
        # Runs in the owner when an evaluator came back: hand it the weights it missed.
        self.restarts += 1
        ref.tell("set_weights", self._weights)


class GroupOptimizer(Optimizer):
    """What the actor-critic optimizers share: an :class:`EvaluatorGroup` and an env-step count.

    Subclasses implement ``step``; requests they keep in flight go in ``self._inflight``
    (``{future: evaluator index}``), abandoned by :meth:`stop`.
    """

    def __init__(self, group: EvaluatorGroup, timeout_s: float) -> None:
        self.group = group
        self.timeout_s = timeout_s
        self.env_steps = 0
        self._inflight: dict[Future[Any], int] = {}

    def broadcast_weights(self) -> None:
        """Send the learner's weights to every evaluator (after a restore)."""
        self.group.broadcast()

    def load_state_dict(self, counters: Mapping[str, int]) -> None:
        """Continue from restored counters (``env_steps``; the learner keeps its own steps)."""
        self.env_steps = int(counters["env_steps"])

    def stop(self) -> None:
        """Stop the evaluators (abandoning what is in flight)."""
        self._inflight.clear()
        self.group.stop()

    # -- the asynchronous optimizers' loop (A3C, IMPALA) ------------------------------------------

    def _stream(self, iteration_env_steps: int, asked: str) -> dict[str, Any]:
        """Keep requests in flight (:meth:`_top_up`) and take their answers (each a rollout or
        a gradient, with ``obs_stats``, ``episodes`` and ``env_steps``) until
        ``iteration_env_steps`` more env steps are in; returns :func:`step_stats`.

        Raises:
            TimeoutError: No evaluator answered within ``timeout_s``.
        """
        target = self.env_steps + iteration_env_steps
        start_steps = self.env_steps
        episodes: list[EpisodeStats] = []
        learned: list[dict[str, float]] = []
        wait_s = learn_s = 0.0
        while self.env_steps < target:
            self._top_up()
            answers, waited = wait_for_answers(self._inflight, self.timeout_s, asked)
            wait_s += waited
            for index, answer in answers:
                self.group.merge_obs_stats(answer.obs_stats)
                episodes += answer.episodes
                self.env_steps += answer.env_steps
                stats, seconds = self._take(index, answer)
                learned += stats
                learn_s += seconds
            stats, seconds = self._after_answers()
            learned += stats
            learn_s += seconds
        steps = self.env_steps - start_steps
        return step_stats(
            self.group, self.env_steps, steps, episodes, wait_s, learn_s, mean_stats(learned)
        )

    def _top_up(self) -> None:
        """Send the requests that should be in flight (for :meth:`_stream`)."""
        raise NotImplementedError

    def _take(self, index: int, answer: Any) -> tuple[list[dict[str, float]], float]:
        """Use evaluator ``index``'s answer; the learner steps' statistics and seconds."""
        raise NotImplementedError

    def _after_answers(self) -> tuple[list[dict[str, float]], float]:
        """Called once the answers of one wait are taken (nothing by default)."""
        return [], 0.0


def step_stats(
    group: EvaluatorGroup,
    env_steps: int,
    steps: int,
    episodes: list[EpisodeStats],
    wait_s: float,
    learn_s: float,
    learned: dict[str, float],
) -> dict[str, Any]:
    """The statistics every actor-critic optimizer's ``step`` returns.

    Returns:
        ``env_steps`` (total), ``env_steps_this_step``, ``learner_steps`` (the learner's),
        ``episode_returns`` and ``episode_lengths`` (episodes that ended in the step),
        ``sample_wait_s`` and ``learn_time_s`` (seconds), ``worker_restarts`` (so far) and
        the learning statistics under ``"learn"``.
    """
    return {
        "env_steps": env_steps,
        "env_steps_this_step": steps,
        "learner_steps": group.learner.learner_steps,
        "episode_returns": [e.episode_return for e in episodes],
        "episode_lengths": [e.length for e in episodes],
        "sample_wait_s": wait_s,
        "learn_time_s": learn_s,
        "worker_restarts": group.restarts,
        "learn": learned,
    }


def mean_stats(stats: list[dict[str, float]]) -> dict[str, float]:
    """Per-key means of several learner steps' statistics (keys of the first; {} for none)."""
    if not stats:
        return {}
    return {key: float(np.mean([s[key] for s in stats])) for key in stats[0]}


def wait_for_answers(
    inflight: dict[Future[T], int], timeout_s: float, what: str
) -> tuple[list[tuple[int, T]], float]:
    """Wait until at least one in-flight request is answered; take the answered ones out.

    An answer that is :class:`ActorDiedError` is dropped with a warning: the evaluator's
    supervisor restarts it, and the caller asks the new one again.

    Args:
        inflight: ``{future: evaluator index}``; answered futures are removed.
        timeout_s: Longest wait.
        what: What was asked, for the messages (``"rollout"``, ``"gradient"``).

    Returns:
        ``([(evaluator index, answer), ...], seconds waited)``.

    Raises:
        TimeoutError: Nothing was answered within ``timeout_s``.
    """
    start = time.perf_counter()
    done, _ = wait_any(list(inflight), timeout=timeout_s)
    waited = time.perf_counter() - start
    if not done:
        raise TimeoutError(f"no evaluator returned a {what} within {timeout_s} s")
    answers: list[tuple[int, T]] = []
    for future in done:
        index = inflight.pop(future)
        try:
            answers.append((index, future.result()))
        except ActorDiedError as exc:
            log.warning("evaluator %d lost a %s (%s); it is being restarted", index, what, exc)
    return answers, waited
