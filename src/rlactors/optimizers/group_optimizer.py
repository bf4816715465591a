"""What the actor-critic optimizers share: a worker group of evaluators, one learner, counts.

A2C, A3C, PPO and IMPALA all keep N supervised
:class:`~rlactors.evaluators.ActorCriticEvaluator` actors (a
:class:`~rlactors.optimizers.worker_group.WorkerGroup`) and one
:class:`~rlactors.learners.ActorCriticLearner`; they differ in what they ask the evaluators for
and when they learn. :class:`GroupOptimizer` is the part they share.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from rlactors.actors import ActorDiedError, Future, wait_any
from rlactors.core import DEFAULT_POLICY_ID, EpisodeStats, Optimizer
from rlactors.optimizers.worker_group import WorkerGroup

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner  # torch: the learner's process has it


T = TypeVar("T")


class GroupOptimizer(Optimizer):
    """What the actor-critic optimizers share: a group of evaluators, the learner whose weights
    they act with (:func:`~rlactors.optimizers.worker_group.evaluator_group`), and an env-step
    count.

    Subclasses implement ``step``; requests they keep in flight go in ``self._inflight``
    (``{future: evaluator index}``), abandoned by :meth:`stop`.

    Args:
        group: The evaluators.
        learner: What learns (in this process); its policy is ``policy_id`` of the run.
        timeout_s: Longest wait for any evaluator before a step fails.
        policy_id: The id the learner's statistics are reported under.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learner: ActorCriticLearner,
        timeout_s: float,
        policy_id: str = DEFAULT_POLICY_ID,
    ) -> None:
        self.group = group
        self.learner = learner
        self.policy_id = policy_id
        self.timeout_s = timeout_s
        self.env_steps = 0
        #: Envs the evaluators rebuilt after a crash, so far (from each answer's count).
        self.env_crashes = 0
        self._inflight: dict[Future[Any], int] = {}

    def broadcast_weights(self) -> None:
        """Send the learner's weights to every evaluator (after a restore)."""
        self.group.broadcast()

    def state_dict(self) -> dict[str, int]:
        """``env_steps`` (the learner counts its own steps, in its state)."""
        return {"env_steps": self.env_steps}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from :meth:`state_dict` counters."""
        self.env_steps = int(state.get("env_steps", 0))

    def merge_obs_stats(self, state: dict[str, np.ndarray] | None) -> None:
        """Add an evaluator's observation statistics to the learner's (None: nothing)."""
        if state is not None:
            self.learner.merge_obs_stats(state)

    def stop(self) -> None:
        """Stop the evaluators (abandoning what is in flight)."""
        self._inflight.clear()
        self.group.stop()

    # -- the asynchronous optimizers' loop (A3C, IMPALA) ------------------------------------------

    def _stream(self, iteration_env_steps: int, asked: str) -> dict[str, Any]:
        """Keep requests in flight (:meth:`_top_up`) and take their answers (each a rollout or
        a gradient, with ``obs_stats``, ``episodes`` and ``env_steps``) until
        ``iteration_env_steps`` more env steps are in; returns :meth:`_stats`.

        Raises:
            TimeoutError: No evaluator answered within ``timeout_s``.
        """
        target = self.env_steps + iteration_env_steps
        start_steps = self.env_steps
        episodes: list[EpisodeStats] = []
        learned: list[dict[str, float]] = []
        wait_s = learn_s = 0.0
        limit_met = False
        while self.env_steps < target:
            self._top_up()
            if not self._inflight:
                limit_met = True  # no request fits within env_step_limit (see _room)
                break
            answers, waited = wait_for_answers(self._inflight, self.timeout_s, asked, self.group)
            wait_s += waited
            for index, answer in answers:
                self.merge_obs_stats(answer.obs_stats)
                episodes += answer.episodes
                self.env_steps += answer.env_steps
                self.env_crashes += answer.env_crashes
                stats, seconds = self._take(index, answer)
                learned += stats
                learn_s += seconds
            stats, seconds = self._after_answers()
            learned += stats
            learn_s += seconds
        steps = self.env_steps - start_steps
        result = self._stats(steps, episodes, wait_s, learn_s, mean_stats(learned))
        return {**result, "env_step_limit_met": limit_met}

    def _room(self) -> int:
        """New requests that fit within ``env_step_limit`` beside those in flight (a large
        number when there is no limit)."""
        size = self.group.request_env_steps
        if size is None and self.env_step_limit is not None:
            raise ValueError(
                f"{type(self).__name__} keeps requests in flight under an env_step_limit: "
                "give its WorkerGroup request_env_steps"
            )
        # Without a limit the size does not count (any stands in for an unknown one).
        return self.requests_within_limit(self.env_steps, size or 1, len(self._inflight))

    def _top_up(self) -> None:
        """Send the requests that should be in flight (for :meth:`_stream`)."""
        raise NotImplementedError

    def _take(self, index: int, answer: Any) -> tuple[list[dict[str, float]], float]:
        """Use evaluator ``index``'s answer; the learner steps' statistics and seconds."""
        raise NotImplementedError

    def _after_answers(self) -> tuple[list[dict[str, float]], float]:
        """Called once the answers of one wait are taken (nothing by default)."""
        return [], 0.0

    def _stats(
        self,
        steps: int,
        episodes: list[EpisodeStats],
        wait_s: float,
        learn_s: float,
        learned: dict[str, float],
    ) -> dict[str, Any]:
        """A step's statistics (see :meth:`rlactors.core.Optimizer.step`) after ``steps`` env
        steps; ``learned`` (the learner's mean statistics, {} if it did not learn) and its
        learning rate are under ``learners``; ``worker_restarts``, ``lost_rollouts``
        (requests lost with an evaluator that died) and ``env_crashes``, all so far, under
        ``metrics``."""
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": steps,
            "learner_steps": self.learner.learner_steps,
            "episode_returns": [e.episode_return for e in episodes],
            "episode_lengths": [e.length for e in episodes],
            "sample_wait_s": wait_s,
            "learn_time_s": learn_s,
            "learners": {self.policy_id: learner_stats(learned, self.learner)},
            "metrics": {
                "worker_restarts": self.group.restarts,
                "lost_rollouts": self.group.lost_requests,
                "env_crashes": self.env_crashes,
            },
        }


#: The learner statistics every actor-critic step reports (None where it did not learn).
LOSS_KEYS = ("loss", "policy_loss", "value_loss", "entropy", "grad_norm")


def learner_stats(stats: Mapping[str, Any], learner: ActorCriticLearner) -> dict[str, Any]:
    """A learner's entry of a step's ``learners``: :data:`LOSS_KEYS` (None where it did not
    learn), its other statistics, and its ``learning_rate``."""
    return {
        **{key: stats.get(key) for key in LOSS_KEYS},
        **{k: v for k, v in stats.items() if k not in LOSS_KEYS},
        "learning_rate": learner.learning_rate,
    }


def mean_stats(stats: list[dict[str, float]]) -> dict[str, float]:
    """Per-key means of several learner steps' statistics (keys of the first; {} for none)."""
    if not stats:
        return {}
    return {key: float(np.mean([s[key] for s in stats])) for key in stats[0]}


def wait_for_answers(
    inflight: dict[Future[T], int], timeout_s: float, what: str, group: WorkerGroup[Any]
) -> tuple[list[tuple[int, T]], float]:
    """Wait until at least one in-flight request is answered; take the answered ones out.

    An answer that is :class:`ActorDiedError` is dropped, and counted with a warning
    (:meth:`WorkerGroup.lost`): the evaluator's supervisor restarts it, and the caller asks the
    new one again.

    Args:
        inflight: ``{future: evaluator index}``; answered futures are removed.
        timeout_s: Longest wait.
        what: What was asked, for the messages (``"rollout"``, ``"gradient"``).
        group: The evaluators, which count the lost requests.

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
            group.lost(index, what, exc)
    return answers, waited
