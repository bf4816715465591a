"""AsyncGradientsOptimizer: evaluators compute gradients, the learner applies each as it comes.

A3C: Mnih et al. (2016), "Asynchronous Methods for Deep Reinforcement Learning": each worker acts,
computes the A2C loss's gradient on its own rollout and hands it to the shared parameters. Here
the shared parameters live with the learner in this process, and the loop is::

    ask every evaluator for compute_gradients()
    until iteration_env_steps more env steps are in:
        done = wait_any(in-flight requests)          # whichever evaluator finishes first
        learner.apply_gradients(gradient)           # one Adam step (the paper used shared RMSProp)
        evaluator.tell("set_weights", learner)      # fresh weights to that evaluator only,
        evaluator.ask("compute_gradients")          # then its next gradient (ordered after them)

A gradient may have been computed with weights a few updates old (the others applied theirs in
between): that staleness is A3C's, and why its learning rate is modest.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rlactors.evaluators import GradientResult
from rlactors.optimizers.group_optimizer import GroupOptimizer
from rlactors.optimizers.worker_group import WorkerGroup

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner  # torch: the learner's process has it


class AsyncGradientsOptimizer(GroupOptimizer):
    """A3C's loop; see the module docstring.

    Args:
        group: The evaluators (their config must compute GAE advantages).
        learner: The learner that applies the gradients.
        iteration_env_steps: Env steps per :meth:`step`.
        timeout_s: Longest wait for any evaluator before the step fails.
    """

    def __init__(
        self,
        group: WorkerGroup[Any],
        learner: ActorCriticLearner,
        iteration_env_steps: int,
        timeout_s: float = 120.0,
    ) -> None:
        if iteration_env_steps < 1:
            raise ValueError(f"iteration_env_steps must be >= 1, got {iteration_env_steps}")
        super().__init__(group, learner, timeout_s)
        self.iteration_env_steps = iteration_env_steps

    def step(self, *, last: bool = False) -> dict[str, Any]:
        """Apply gradients until ``iteration_env_steps`` more env steps are in (``last``
        changes nothing: the requests in flight are abandoned at :meth:`stop`).

        Returns:
            See :meth:`rlactors.core.Optimizer.step`; the learner's statistics are the mean
            loss statistics of the applied gradients.

        Raises:
            TimeoutError: No evaluator answered within ``timeout_s``.
        """
        return self._stream(self.iteration_env_steps, "gradient")

    def _take(self, index: int, answer: GradientResult) -> tuple[list[dict[str, float]], float]:
        start = time.perf_counter()
        self.learner.apply_gradients(answer.gradients)
        seconds = time.perf_counter() - start
        self.group.send_weights(index)  # to that evaluator only, before its next request
        return [answer.stats], seconds

    def _top_up(self) -> None:
        busy = set(self._inflight.values())
        room = self._room()
        for index, ref in enumerate(self.group.refs):
            if index not in busy and room > 0:
                self._inflight[ref.ask("compute_gradients")] = index
                room -= 1
