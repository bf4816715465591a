"""MultiAgentEvaluator: K multi-role envs stepped together, each role acted for by its policy.

The seed's evaluator, for envs with several roles (turn-based or simultaneous). At every step
it asks each env for its acting roles, groups them by the policy that plays them this episode
(:class:`~rlactors.multiagent.mapping.RoleMapping`, or the self-play matchmaker), and asks each
policy once for all of its roles in all K envs: vectorized across envs, unlike RLlib's
multi-agent env runners (ray#46521). A rollout returns one batch per learned policy.

Turn-based credit is exact. A role's transition runs from its move to its next move: its
reward is everything the role collected in between (``observe(role).reward``, the AEC
convention of :mod:`rlactors.envs.toy` and the PettingZoo adapter), so the last transition of a
game carries the reward the opponent's final move dealt it. The discount ``gamma`` is per move
of the role, and GAE runs over each role's own sequence of moves. In a simultaneous env every
role moves at every step, and this is the usual single-agent transition.

A transition still open when a rollout ends (the role moved and has not moved again) is closed
in the next rollout: its action was sampled by the weights of the rollout before, which PPO's
ratio corrects like any other stale sample.

Trajectories (``gae_lambda=None``, IMPALA). V-trace needs time-major sequences, so each stream
of a learned policy's closed moves in one seat, ``(env k, role, policy id)``, is cut into
segments of exactly ``T = rollout_steps`` moves. A stream's moves that do not fill a segment yet
wait for the next rollout (a turn-based role moves on about every other env step, so its
segment takes about two rollouts); nothing is padded and no move is dropped. A rollout emits,
per policy id, the segments completed in it side by side, ``[T, S]`` time-major as
:class:`~rlactors.evaluators.ActorCriticEvaluator`'s trajectories (row ``t * S + s``), so
:class:`~rlactors.learners.v_trace.VTraceLearner` learns them unchanged. A segment crosses an
episode end as a single-role rollout does: the last move of an episode has discount 0 (and
``truncated`` with its final observation in ``next_obs`` if the episode was cut, not
terminated); the stream goes on with the seat's moves in a later episode of that env. A league
snapshot's or a script's moves are not in any stream.

Usage::

    evaluator = spawn(MultiAgentEvaluator, config, index=0)
    rollout = evaluator.ask("rollout").result(timeout=60)   # MultiAgentRollout
    rollout.batches["default"]                 # a SampleBatch with GAE advantages and returns
    evaluator.tell("set_weights", {"default": weights, "league:1": snapshot})

Env crashes: an env that raises ends the rollout with the exception; the evaluator's
supervisor restarts it and the rollout is counted as lost (the single-role evaluators' rebuild
of crashed envs, :mod:`rlactors.envs.crashes`, does not cover multi-role envs yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rlactors.core import EpisodeStats, Observation, SampleBatch
from rlactors.envs.spec import EnvSpec
from rlactors.learners.actor_critic_config import ActorCriticLearnerConfig
from rlactors.multiagent.mapping import RoleMapping
from rlactors.multiagent.stepping import MultiRoleStepper, check_networks, check_stepping_fields
from rlactors.multiagent.stepping import SelfPlay as SelfPlay  # its home before stepping.py
from rlactors.multiagent.trajectories import ClosedMoves, MoveStream, gae_batches, segment_batches
from rlactors.policies import ActorCriticConfig, NumpyActorCriticPolicy

#: What one rollout collects (GAE mode): each (env k, role)'s closed moves.
_Closed = dict[tuple[int, str], ClosedMoves]


@dataclass(frozen=True)
class MultiAgentRolloutConfig:
    """How a :class:`MultiAgentEvaluator` builds its envs and policies. Plain values only, so
    it pickles to any backend."""

    env: EnvSpec
    """The multi-role env to build; give one resolved in the caller's process."""

    mapping: RoleMapping
    """Which policy plays which role (scripted opponents included)."""

    policies: Mapping[str, ActorCriticConfig]
    """Every learned policy's network, by id; must match its learner's so weights fit."""

    num_envs: int = 1
    """K envs stepped together, with one batched call per policy per step."""

    rollout_steps: int = 32
    """Steps of all K envs per rollout: a rollout is ``rollout_steps * num_envs`` env steps
    (interactions), whichever roles act in them. With trajectories, also T: the moves in one
    segment."""

    gamma: float = 0.99
    """Discount per move of a role."""

    gae_lambda: float | None = 0.95
    """GAE lambda over each role's moves; None for raw trajectories in segments of
    ``rollout_steps`` moves (IMPALA; see the module docstring)."""

    seed: int = 0
    """Root seed: env seeds, the policies' sampling and the scripts' draws derive from it and
    the evaluator's index."""

    self_play: SelfPlay | None = None
    """Self-play matchmaking (None: ``mapping`` alone decides)."""

    check_env: bool = True
    """Validate observations, rewards and actions at every step (``CheckedEnv``)."""

    mask_key: str = "action_mask"
    """The Dict observation key of the action mask, for the checks."""

    learner: ActorCriticLearnerConfig = field(default_factory=ActorCriticLearnerConfig)
    """The A2C loss weights and clipping of A3C's workers
    (:class:`~rlactors.multiagent.gradients.MultiAgentGradientEvaluator`): the learners'."""

    trained: tuple[str, ...] = ()
    """The learned policies that learn (A3C's workers compute only their gradients); empty:
    every learned policy."""

    max_episode_steps: int = 100_000
    """An episode longer than this is an error naming the env (a game that never ends)."""

    def __post_init__(self) -> None:
        check_stepping_fields(self, fractions=("gamma", "gae_lambda"))
        check_networks(self)

    @property
    def env_steps_per_rollout(self) -> int:
        """``rollout_steps * num_envs``."""
        return self.rollout_steps * self.num_envs


class MultiAgentRollout(NamedTuple):
    """What :meth:`MultiAgentEvaluator.rollout` returns.

    Attributes:
        batches: One :class:`SampleBatch` per learned policy that moved: ``obs`` ``[N, P]``
            (packed), ``actions`` ``[N, *action_shape]``, ``log_probs``, ``values``,
            ``advantages`` and ``returns`` ``[N]`` (the columns PPO and A2C learn from). Rows
            are the transitions closed during the rollout, each role's in order of its moves.
            Trajectories (``gae_lambda=None``) instead: per policy that completed a segment,
            ``N = T * S`` time-major rows of ``S`` segments of ``T = rollout_steps`` moves
            (row ``t * S + s``), with ``obs``, ``actions``, ``log_probs`` (behaviour),
            ``values``, ``rewards``, ``discounts`` (``gamma``, 0 at an episode end),
            ``truncated`` (bool), ``next_obs`` ``[N, P]`` (the observation of the seat's next
            move, or its final one) and ``crashed`` (all False).
        episodes: The episodes that ended: ``episode_return`` is the mean return of the roles
            played by learned policies; ``role_returns`` and ``policy_ids`` say who played and
            what each role got.
        env_steps: ``rollout_steps * num_envs`` interactions.
        obs_stats: Always None (observation normalization is not supported for multi-role
            envs); kept so the single-role optimizers' bookkeeping reads the same fields.
        env_crashes: Always 0 (see the module docstring).
    """

    batches: dict[str, SampleBatch]
    episodes: list[EpisodeStats]
    env_steps: int
    obs_stats: None = None
    env_crashes: int = 0


@dataclass
class _Move:
    """A learned policy's move whose outcome (the role's next move, or the end) is not known yet."""

    policy_id: str
    row: np.ndarray
    action: Any
    log_prob: float
    value: float


class MultiAgentEvaluator(
    MultiRoleStepper[MultiAgentRolloutConfig, NumpyActorCriticPolicy, _Move, _Closed]
):
    """Steps K multi-role envs with actor-critic policies; see the module docstring (the
    envs, episodes and matchmaking are :class:`~rlactors.multiagent.stepping.MultiRoleStepper`'s).

    Args:
        config: Envs, mapping, networks, rollout shape, seeds.
        index: This evaluator's number among its siblings (names its random streams).

    Raises:
        EnvSpecError: ``config.env`` cannot be built.
        ValueError: The env has one role (use the single-role evaluators).
    """

    def __init__(self, config: MultiAgentRolloutConfig, index: int = 0) -> None:
        super().__init__(config, index, NumpyActorCriticPolicy)
        # Trajectory mode: each (env, role, policy id) seat's moves not in a segment yet.
        self._streams: dict[tuple[int, str, str], MoveStream] = {}

    # -- messages -------------------------------------------------------------------------------

    def rollout(self) -> MultiAgentRollout:
        """Step every env ``rollout_steps`` times; see :class:`MultiAgentRollout`.

        Raises:
            EnvCheckError: An env names a role as acting that is already done, or an episode ran
                past ``max_episode_steps``.
        """
        with self._timed():
            closed: _Closed = {}
            finished = self._play(closed)
            lam = self.config.gae_lambda
            batches = (
                segment_batches(self._streams, self.config.rollout_steps)
                if lam is None
                else gae_batches(closed, self.config.gamma, lam)
            )
        return MultiAgentRollout(batches, finished, self.config.env_steps_per_rollout)

    # -- the stepper's hooks --------------------------------------------------------------------

    def _act_policy(self, pid: str, rows: np.ndarray) -> tuple[np.ndarray, list[_Move]]:
        """Sampled actions (clipped to the env's bounds), each with its log-prob and value."""
        policy = self._policies[pid]
        info = policy.act_with_info(rows)
        moves = [
            _Move(pid, rows[i], info.actions[i], float(info.log_probs[i]), float(info.values[i]))
            for i in range(len(rows))
        ]
        return policy.clip_actions(info.actions), moves

    def _close_at_next(
        self, k: int, role: str, move: _Move, reward: float, next_move: _Move, out: _Closed
    ) -> None:
        self._close(k, role, move, reward, next_move.value, next_move.row, None, out)

    def _close_at_end(
        self, k: int, role: str, move: _Move, obs: Observation, row: np.ndarray, out: _Closed
    ) -> None:
        next_value = 0.0
        if not obs.terminated and self.config.gae_lambda is not None:
            # Cut (time limit): the state it reached still has a value. (V-trace's learner
            # bootstraps a truncated trajectory itself, from next_obs.)
            next_value = float(self._policies[move.policy_id].value(row[None])[0])
        self._close(k, role, move, float(obs.reward), next_value, row, not obs.terminated, out)

    def _close(
        self,
        k: int,
        role: str,
        move: _Move,
        reward: float,
        next_value: float,
        next_row: np.ndarray,
        truncated: bool | None,
        closed: _Closed,
    ) -> None:
        """Close ``role``'s open ``move`` in env ``k``: at the role's next move (``truncated``
        None), or at the episode's end (``truncated``: cut rather than terminated)."""
        ended = truncated is not None
        if self.config.gae_lambda is None:
            stream = self._streams.setdefault((k, role, move.policy_id), MoveStream())
            stream.obs.append(move.row)
            stream.actions.append(move.action)
            stream.log_probs.append(move.log_prob)
            stream.values.append(move.value)
            stream.rewards.append(reward)
            stream.discounts.append(0.0 if ended else self.config.gamma)
            stream.truncated.append(bool(truncated))
            stream.next_obs.append(next_row)
            return
        out = closed.setdefault((k, role), ClosedMoves())
        out.policy_id.append(move.policy_id)
        out.rows.append(move.row)
        out.actions.append(move.action)
        out.log_probs.append(move.log_prob)
        out.values.append(move.value)
        out.rewards.append(reward)
        out.next_values.append(next_value)
        out.ended.append(ended)
