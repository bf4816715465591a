"""A2CConfig: every knob of A2C (synchronous advantage actor-critic), with units in the names.

A2C is A3C made synchronous (Mnih et al., 2016; OpenAI Baselines' A2C): every round each
evaluator returns a short rollout, and the learner takes one step of the A2C loss on all of
them. Defaults follow RL-Zoo's CartPole-v1 A2C (8 envs, 5-step rollouts, learning rate 7e-4,
no entropy bonus), spread over 2 evaluators of 4 envs, with Adam and GAE.

No torch here: the CLI reads this class to build ``rlactors train a2c --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlactors.algorithms.multi_agent_config import MultiAgentActorCriticConfig


@dataclass(frozen=True)
class A2CConfig(MultiAgentActorCriticConfig):
    """Configuration of :class:`rlactors.algorithms.a2c.A2C`."""

    rollout_steps: int = 8
    """Lockstep steps per rollout: A2C learns from short rollouts, often."""

    gae_lambda: float = 1.0
    """GAE lambda: 1 gives the paper's n-step returns bootstrapped at the rollout's end."""
