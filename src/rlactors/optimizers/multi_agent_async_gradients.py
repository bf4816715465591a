"""MultiAgentAsyncGradientsOptimizer: A3C's loop with a learner per policy.

:class:`~rlactors.optimizers.async_gradients.AsyncGradientsOptimizer`'s loop, with multi-role
workers (:class:`~rlactors.multiagent.gradients.MultiAgentGradientEvaluator`) whose answers
hold a gradient per trained policy::

    ask every worker for compute_gradients()
    until iteration_env_steps more env steps are in:
        done = wait_any(in-flight requests)
        for policy id, gradient in answer: learners[id].apply_gradients(gradient)
        worker.tell("set_weights", {policy id: weights} + the league's snapshots)
        worker.ask("compute_gradients")
        league: score the episodes; maybe add a snapshot; new sampling odds
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rlactors.core import EpisodeStats
from rlactors.optimizers.async_gradients import AsyncGradientsOptimizer
from rlactors.optimizers.group_optimizer import learner_stats, mean_stats
from rlactors.optimizers.multi_agent_samples import multi_agent_metrics, tell_league, update_league
from rlactors.optimizers.worker_group import WorkerGroup

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner
    from rlactors.multiagent.gradients import MultiAgentGradients
    from rlactors.multiagent.league import League


class MultiAgentAsyncGradientsOptimizer(AsyncGradientsOptimizer):
    """Asynchronous gradients of several policies; see the module docstring.

    Args:
        group: The multi-role workers.
        learners: Every learned policy's learner, by id.
        trained: The ids whose gradients are applied.
        iteration_env_steps: Env steps per :meth:`step`.
        league: The self-play league, or None.
        timeout_s: Longest wait for any worker before the step fails.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learners: Mapping[str, ActorCriticLearner],
        trained: tuple[str, ...],
        iteration_env_steps: int,
        league: League | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        # The base class reports one learner; _stats reports every trained policy instead.
        super().__init__(group, learners[trained[0]], iteration_env_steps, timeout_s)
        self.learners = dict(learners)
        self.trained = trained
        self.league = league
        self._episodes: list[EpisodeStats] = []  # came back, not scored in the league yet
        self._learned: dict[str, list[dict[str, float]]] = {}  # this step's, by policy id
        self._samples: dict[str, int] = {}  # rows of this step's gradients, by policy id
        tell_league(league, group)

    def broadcast_weights(self) -> None:
        """Send every policy's weights (and the league's snapshots) to the workers."""
        tell_league(self.league, self.group)
        self.group.broadcast()

    def _take(self, index: int, answer: Any) -> tuple[list[dict[str, float]], float]:
        # answer: a MultiAgentGradients (the base class types it as one policy's).
        gradients_of: MultiAgentGradients = answer
        start = time.perf_counter()
        for pid, gradients in gradients_of.gradients.items():
            if pid in self.trained:
                self.learners[pid].apply_gradients(gradients)
                stats = dict(gradients_of.stats[pid])
                self._samples[pid] = self._samples.get(pid, 0) + int(stats.pop("samples", 0))
                self._learned.setdefault(pid, []).append(stats)
        self._episodes += gradients_of.episodes
        seconds = time.perf_counter() - start
        self.group.send_weights(index)  # to that worker only, before its next request
        return [], seconds

    def _after_answers(self) -> tuple[list[dict[str, float]], float]:
        update_league(self.league, self._episodes, self.learners, self.env_steps, self.group)
        self._episodes = []
        return [], 0.0

    def _stats(
        self,
        steps: int,
        episodes: list[EpisodeStats],
        wait_s: float,
        learn_s: float,
        learned: dict[str, float],
    ) -> dict[str, Any]:
        """As the base class's, with ``learners`` holding every trained policy's mean loss
        statistics, ``gradients`` (applied this step) and ``samples`` (their rows),
        ``learner_steps`` summed over the
        policies, and the multi-agent ``metrics``."""
        stats = super()._stats(steps, episodes, wait_s, learn_s, learned)
        stats["learner_steps"] = sum(learner.learner_steps for learner in self.learners.values())
        stats["learners"] = {
            pid: {
                **learner_stats(mean_stats(self._learned.get(pid, [])), self.learners[pid]),
                "gradients": len(self._learned.get(pid, [])),
                "samples": self._samples.get(pid, 0),
            }
            for pid in self.trained
        }
        stats["metrics"].update(multi_agent_metrics(episodes, self.league))
        self._learned, self._samples = {}, {}
        return stats
