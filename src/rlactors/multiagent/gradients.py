"""A3C's worker for multi-role envs: a rollout turned into each trained policy's gradient.

As :meth:`rlactors.evaluators.ActorCriticEvaluator.compute_gradients` does for one role: the
rollout (with GAE, :class:`~rlactors.multiagent.evaluator.MultiAgentEvaluator`'s) is
differentiated here, with a torch copy of each trained policy at the weights it acted with,
and only the gradients travel. Usage::

    worker = spawn(MultiAgentGradientEvaluator, config, index=0)
    answer = worker.ask("compute_gradients").result(timeout=60)   # MultiAgentGradients
    answer.gradients["default"]          # float32 arrays keyed like the policy's weights
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from rlactors.core import EpisodeStats, Weights
from rlactors.multiagent.evaluator import MultiAgentEvaluator
from rlactors.seeding import POLICY_STREAM, derive_seed

if TYPE_CHECKING:
    from rlactors.learners import ActorCriticLearner


class MultiAgentGradients(NamedTuple):
    """What :meth:`MultiAgentGradientEvaluator.compute_gradients` returns.

    Attributes:
        gradients: ``{policy id: gradients}``, each float32 arrays keyed like its weights, for
            the trained policies that moved in the rollout.
        stats: ``{policy id: loss statistics}`` of the same policies, with ``samples`` (its
            rows in the rollout).
        episodes, env_steps, obs_stats, env_crashes: As in
            :class:`~rlactors.multiagent.evaluator.MultiAgentRollout`.
    """

    gradients: dict[str, Weights]
    stats: dict[str, dict[str, Any]]
    episodes: list[EpisodeStats]
    env_steps: int
    obs_stats: None = None
    env_crashes: int = 0


class MultiAgentGradientEvaluator(MultiAgentEvaluator):
    """A :class:`MultiAgentEvaluator` that also computes A3C's gradients; see the module
    docstring.

    Raises:
        ValueError: The config has no ``gae_lambda`` (A3C needs advantages).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.gae_lambda is None:
            raise ValueError("MultiAgentGradientEvaluator needs gae_lambda (advantages)")
        self._learners: dict[str, ActorCriticLearner] = {}  # torch copies, built on first use

    def compute_gradients(self) -> MultiAgentGradients:
        """One rollout, then the A2C loss's clipped gradient of each trained policy on its
        rows (policies without rows this rollout are left out)."""
        out = self.rollout()
        trained = self.config.trained or tuple(self.config.policies)
        gradients: dict[str, Weights] = {}
        stats: dict[str, dict[str, Any]] = {}
        for pid in trained:
            batch = out.batches.get(pid)
            if batch is None or not len(batch):
                continue
            learner = self._learner(pid)
            # The rollout's policy: its log-probs and values are the ones the gradient is at.
            learner.set_weights(self._policies[pid].get_weights())
            gradients[pid], stats[pid] = learner.compute_gradients(batch)
            stats[pid]["samples"] = len(batch)
        return MultiAgentGradients(gradients, stats, out.episodes, out.env_steps)

    def _learner(self, pid: str) -> ActorCriticLearner:
        if pid not in self._learners:
            from rlactors.learners import ActorCriticLearner  # torch, only in A3C's workers
            from rlactors.policies import ActorCriticPolicy

            role = self._policy_roles[pid]
            env = self._envs[0]
            policy = ActorCriticPolicy(
                env.observation_space(role),
                env.action_space(role),
                self.config.policies[pid],
                seed=derive_seed(self.config.seed, self.index, POLICY_STREAM, 2000),
            )
            self._learners[pid] = ActorCriticLearner(policy, self.config.learner)
        return self._learners[pid]
