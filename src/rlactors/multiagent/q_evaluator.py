"""MultiAgentQEvaluator: K multi-role envs, epsilon-greedy Q policies per role, n-step moves.

The multi-role evaluator of DQN and Ape-X, as
:class:`~rlactors.multiagent.evaluator.MultiAgentEvaluator` is the actor-critics'. At every step
it asks each env for its acting roles, groups them by the policy that plays them this episode
(the :class:`~rlactors.multiagent.mapping.RoleMapping`, or the self-play matchmaker) and asks
each policy once for all of its roles in all K envs: a learned policy's epsilon-greedy
:class:`~rlactors.policies.NumpyQPolicy` copy, a scripted player, or a league snapshot (greedy:
a snapshot is an opponent to beat, not a learner that explores).

Turn-based credit is exact, as in the actor-critics' evaluator. A role's transition runs from
its move to its next move: ``s_{t+1}`` is its observation at its next move (or at its end) and
the reward is everything it collected in between (``observe(role).reward``, the AEC
convention), so the last transition of a game carries the reward the opponent's final move
dealt it. Each (env, role) is a stream of moves with an
:class:`~rlactors.replay.NStepAccumulator` of its own, ``gamma`` per move of the role; the
accumulator flushes when the role's episode ends (terminated: discount 0; cut: bootstrapped
from where it stands), so an n-step transition never spans two episodes or two roles, and moves
still short of ``n`` at the end of a sample carry over to the next. In a simultaneous env every
role moves at every step, and these are the usual single-agent transitions.

Usage::

    evaluator = spawn(MultiAgentQEvaluator, config, index=0)
    sample = evaluator.ask("sample").result(timeout=60)     # MultiAgentQSample
    sample.batches["default"]        # obs, actions, rewards, next_obs, discounts (+priorities)
    evaluator.tell("set_weights", {"default": weights, "league:1": snapshot})
    evaluator.tell("set_epsilon", 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rlactors.core import EpisodeStats, Observation, SampleBatch
from rlactors.envs.spec import EnvSpec
from rlactors.multiagent.mapping import RoleMapping, is_learned
from rlactors.multiagent.stepping import (
    MultiRoleStepper,
    SelfPlay,
    check_networks,
    check_stepping_fields,
)
from rlactors.policies import DQNPolicyConfig
from rlactors.policies.dqn_config import check_epsilon
from rlactors.policies.numpy_q import NumpyQPolicy
from rlactors.replay import NStepAccumulator

#: The extra column of each batch when ``compute_priorities`` is set (as ``DQNEvaluator``'s).
PRIORITIES = "priorities"


@dataclass(frozen=True)
class MultiAgentQConfig:
    """How a :class:`MultiAgentQEvaluator` builds its envs and policy copies. Plain values only,
    so it pickles to any backend."""

    env: EnvSpec
    """The multi-role env to build; give one resolved in the caller's process."""

    mapping: RoleMapping
    """Which policy plays which role (scripted opponents included)."""

    policies: Mapping[str, DQNPolicyConfig]
    """Every learned policy's network, by id; must match its learner's so weights fit."""

    num_envs: int = 1
    """K envs stepped together, with one batched call per policy per step."""

    rollout_steps: int = 256
    """Steps of all K envs per sample: a sample is ``rollout_steps * num_envs`` env steps
    (interactions), whichever roles act in them."""

    n_step: int = 3
    """Moves of a role summed into each of its transitions' returns."""

    gamma: float = 0.99
    """Discount per move of a role."""

    epsilon: float = 0.0
    """Initial exploration of the learned policies (change it with ``set_epsilon``)."""

    seed: int = 0
    """Root seed: env seeds, exploration and the scripts' draws derive from it and the
    evaluator's index."""

    self_play: SelfPlay | None = None
    """Self-play matchmaking (None: ``mapping`` alone decides)."""

    compute_priorities: bool = False
    """Add a ``priorities`` column, ``|TD error|`` by the policy's own copy (Ape-X)."""

    check_env: bool = True
    """Validate observations, rewards and actions at every step (``CheckedEnv``)."""

    mask_key: str = "action_mask"
    """The Dict observation key of the action mask, for the checks."""

    max_episode_steps: int = 100_000
    """An episode longer than this is an error naming the env (a game that never ends)."""

    def __post_init__(self) -> None:
        check_stepping_fields(self, ints=("n_step",), fractions=("gamma",))
        check_epsilon("MultiAgentQConfig.epsilon", self.epsilon)
        check_networks(self)

    @property
    def env_steps_per_sample(self) -> int:
        """``rollout_steps * num_envs``."""
        return self.rollout_steps * self.num_envs


class MultiAgentQSample(NamedTuple):
    """What :meth:`MultiAgentQEvaluator.sample` returns.

    Attributes:
        batches: One :class:`SampleBatch` per learned policy with transitions completed in the
            sample: ``obs`` ``[N, P]`` (packed), ``actions`` ``[N]`` int64, ``rewards`` ``[N]``
            float32 (the discounted n-step return over the role's moves), ``next_obs``
            ``[N, P]``, ``discounts`` ``[N]`` float32 (``gamma**m``, 0 where the role's game
            terminated), plus ``priorities`` ``[N]`` float32 with ``compute_priorities``.
        episodes: The episodes that ended, with ``role_returns`` and ``policy_ids`` (what the
            league records); ``episode_return`` is the mean return of the learned roles.
        env_steps: ``rollout_steps * num_envs`` interactions.
    """

    batches: dict[str, SampleBatch]
    episodes: list[EpisodeStats]
    env_steps: int


@dataclass
class _Move:
    """A learned policy's move whose outcome (the role's next move, or the end) is not known yet."""

    policy_id: str
    row: np.ndarray
    action: Any


#: What one sample collects: each policy's n-step transitions, in the order they completed.
_Pieces = dict[str, list[SampleBatch]]


class MultiAgentQEvaluator(MultiRoleStepper[MultiAgentQConfig, NumpyQPolicy, _Move, _Pieces]):
    """Steps K multi-role envs with Q policies; see the module docstring (the envs, episodes
    and matchmaking are :class:`~rlactors.multiagent.stepping.MultiRoleStepper`'s).

    Args:
        config: Envs, mapping, networks, n-step, seeds.
        index: This evaluator's number among its siblings (names its random streams).

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        SpaceError: A learned policy's role has no Discrete actions (Q-learning needs them).
        ValueError: The env has one role (use :class:`~rlactors.evaluators.DQNEvaluator`).
    """

    def __init__(self, config: MultiAgentQConfig, index: int = 0) -> None:
        super().__init__(config, index, NumpyQPolicy)
        self._epsilon = config.epsilon
        self.set_epsilon(config.epsilon)
        self._accumulators = {
            (k, role): NStepAccumulator(config.n_step, config.gamma)
            for k in range(config.num_envs)
            for role in self.roles
        }

    # -- messages -------------------------------------------------------------------------------

    def sample(self) -> MultiAgentQSample:
        """Step every env ``rollout_steps`` times; see :class:`MultiAgentQSample`.

        Raises:
            EnvCheckError: An env names a role as acting that is already done, or an episode ran
                past ``max_episode_steps``.
        """
        with self._timed():
            pieces: _Pieces = {}
            finished = self._play(pieces)
            batches: dict[str, SampleBatch] = {}
            for pid, chunks in pieces.items():
                batch = SampleBatch.concat(chunks)
                if self.config.compute_priorities:
                    td_error = self._policies[pid].compute_td_error(batch)
                    batch = SampleBatch({**batch.columns, PRIORITIES: np.abs(td_error)})
                batches[pid] = batch
        return MultiAgentQSample(batches, finished, self.config.env_steps_per_sample)

    def set_epsilon(self, epsilon: float) -> None:
        """The learned policies' exploration for the following samples (snapshots act greedily).

        Raises:
            ValueError: ``epsilon`` is outside ``[0, 1]``.
        """
        check_epsilon("epsilon", epsilon)
        self._epsilon = float(epsilon)
        for pid in self.config.policies:
            self._policies[pid].set_epsilon(epsilon)

    def env_steps_per_sample(self) -> int:
        """Env steps each ``sample()`` call takes (``rollout_steps * num_envs``)."""
        return self.config.env_steps_per_sample

    def new_env_crashes(self) -> int:
        """Always 0: a multi-role env that raises ends the sample (see MultiAgentEvaluator)."""
        return 0

    def get_metrics(self) -> dict[str, Any]:
        """The stepper's metrics (``env_steps``, ``env_steps_per_s``, ``env_crashes``) and
        ``epsilon``."""
        return {**super().get_metrics(), "epsilon": self._epsilon}

    # -- the stepper's hooks --------------------------------------------------------------------

    def _act_policy(self, pid: str, rows: np.ndarray) -> tuple[np.ndarray, list[_Move]]:
        """Epsilon-greedy actions of a learned policy; a league snapshot plays greedily: it is
        the opponent to beat, not a learner."""
        chosen = self._policies[pid].act(rows, explore=is_learned(pid))
        return chosen, [_Move(pid, rows[i], chosen[i]) for i in range(len(rows))]

    def _close_at_next(
        self, k: int, role: str, move: _Move, reward: float, next_move: _Move, out: _Pieces
    ) -> None:
        self._add(k, role, move, reward, next_move.row, False, False, out)

    def _close_at_end(
        self, k: int, role: str, move: _Move, obs: Observation, row: np.ndarray, out: _Pieces
    ) -> None:
        # Cut (not terminated): the state it reached still has a value to bootstrap from.
        self._add(k, role, move, float(obs.reward), row, obs.terminated, True, out)

    def _add(
        self,
        k: int,
        role: str,
        move: _Move,
        reward: float,
        next_row: np.ndarray,
        terminated: bool,
        truncated: bool,
        pieces: _Pieces,
    ) -> None:
        """One move of (env ``k``, ``role``) into its stream's n-step accumulator."""
        accumulator = self._accumulators[k, role]
        out = accumulator.add(move.row, move.action, reward, next_row, terminated, truncated)
        if len(out):
            pieces.setdefault(move.policy_id, []).append(out)
