"""Turn-based two-role games small enough to work out every transition by hand.

Shared by the multi-role evaluators' unit tests (tests/unit/test_multiagent_evaluator.py,
tests/unit/test_multiagent_q_evaluator.py). Rewards follow the AEC convention: what a role
collected since it last acted. The observation is the move number, one-hot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlactors.core import Env, Observation

P0, P1 = "p0", "p1"


class TurnGame(Env):
    """p0 and p1 alternate (p0 first) for ``moves`` moves.

    Args:
        moves: How many moves a game has.
        rewards: ``{t: {role: reward}}``: what each role collects when move ``t`` (1-based)
            is made.
        end: How the last observation flags the game over: ``"terminated"``, ``"truncated"``
            (a time limit) or ``None`` (not at all: a limit the env does not report).
        bad_turn: List p1 as acting once more after it is done.
    """

    def __init__(
        self,
        moves: int,
        rewards: Mapping[int, Mapping[str, float]],
        end: Literal["terminated", "truncated"] | None,
        bad_turn: bool,
    ) -> None:
        self.moves, self.rewards, self.end, self.bad_turn = moves, rewards, end, bad_turn
        self._space = gym.spaces.Box(0.0, 1.0, (moves + 1,), np.float32)
        self._t = 0
        self._rewards = {P0: 0.0, P1: 0.0}

    @property
    def roles(self) -> tuple[str, ...]:
        return (P0, P1)

    def observation_space(self, role: str) -> gym.Space[Any]:
        return self._space

    def action_space(self, role: str) -> gym.Space[Any]:
        return gym.spaces.Discrete(2)

    def reset(self, seed: int | None = None) -> None:
        self._t = 0
        self._rewards = {P0: 0.0, P1: 0.0}

    def acting_roles(self) -> tuple[str, ...]:
        if self.bad_turn and self._t == self.moves:
            return (P1,)
        return () if self._t >= self.moves else ((P0,) if self._t % 2 == 0 else (P1,))

    def interact(self, actions: Mapping[str, Any]) -> None:
        mover = self.acting_roles()[0]
        assert set(actions) == {mover}
        self._rewards[mover] = 0.0
        self._t += 1
        for role, reward in self.rewards.get(self._t, {}).items():
            self._rewards[role] += reward

    def observe(self, role: str) -> Observation:
        state = np.eye(self.moves + 1, dtype=np.float32)[min(self._t, self.moves)]
        over = self._t >= self.moves
        return Observation(
            state,
            self._rewards[role],
            terminated=over and self.end == "terminated",
            truncated=over and self.end == "truncated",
        )


class FourMoves(TurnGame):
    """Four moves (p0, p1, p0, p1): p1 collects 0.5 when p0 makes its second move; the game
    ends after p1's second move with +1 for p0 and -1 for p1. ``cut`` ends it truncated (a
    time limit), not terminated."""

    def __init__(self, *, bad_turn: bool = False, cut: bool = False) -> None:
        rewards = {3: {P1: 0.5}, 4: {P0: 1.0, P1: -1.0}}
        super().__init__(4, rewards, "truncated" if cut else "terminated", bad_turn)


class SixMoves(TurnGame):
    """Six moves (p0, p1, p0, p1, p0, p1): p0's first move earns p0 0.25 (seen at its next
    move); p0's second move deals p1 0.5; the game ends after p1's third move with +1 for p0
    and -1 for p1. ``cut`` ends the game after the six moves without that reward and without
    flagging it done (a time limit the env does not report)."""

    def __init__(self, *, cut: bool = False, bad_turn: bool = False) -> None:
        rewards: dict[int, dict[str, float]] = {1: {P0: 0.25}, 3: {P1: 0.5}}
        if not cut:
            rewards[6] = {P0: 1.0, P1: -1.0}
        super().__init__(6, rewards, None if cut else "terminated", bad_turn)
