"""Tiny deterministic envs for tests and examples, one per shape of interaction.

* :class:`CorridorEnv` — one role walks right to a goal. A DQN learns it in a few thousand
  steps, which makes it the env of fast integration and learning tests.
* :class:`NimEnv` — two roles take turns (turn-based): :meth:`~NimEnv.acting_roles` names the
  role whose turn it is.
* :class:`RockPaperScissorsEnv` — two roles act at once (simultaneous), for a fixed number of
  rounds.
* :class:`CrashingCorridorEnv` — a :class:`CorridorEnv` that raises on a schedule, for the
  tests of crash recovery (``EnvBatch``'s rebuild, and the evaluators' handling of lost steps).
* :class:`SlowEnv` — one role, each step taking a configurable time (a sleep, as a robot
  simulator or a game server would), with an observation of any size: the env of the fleet
  benchmarks (issue #13), where the time goes into waiting on envs, not into computing.

Only :class:`SlowEnv` draws random numbers, from the seed given to ``reset(seed)``; the others
accept a seed for the :class:`~rlactors.core.Env` contract and ignore it. Every ``observe``
returns a new array.

Rewards in multi-role envs follow PettingZoo's AEC convention: ``observe(role).reward`` is the
reward ``role`` collected since it last acted (for simultaneous envs that is the last
interaction), so a role that observes only on its own turn still sees every reward — including
the loss its opponent's winning move dealt it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import DEFAULT_ROLE, Env, Observation
from rlactors.envs.errors import ResetNeededError, check_action_roles, unknown_role_error
from rlactors.errors import EnvSpecError

#: The two roles of the two-player toy games; ``PLAYERS[0]`` moves first in Nim.
PLAYERS = ("player_0", "player_1")


def _one_hot(index: int, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float32)
    out[index] = 1.0
    return out


class _ToyEnv(Env):
    """What the toys share: fixed roles, one observation and action space, episode guards."""

    def __init__(self, roles: tuple[str, ...], obs_space: gym.spaces.Box, n_actions: int) -> None:
        self.name: str = type(self).__name__
        self._roles = roles
        self._obs_space = obs_space
        self._act_space = gym.spaces.Discrete(n_actions)
        self._started = False
        self._over = False  # the episode ended; interact() needs a reset first

    @property
    def roles(self) -> tuple[str, ...]:
        """The env's roles, in a fixed order."""
        return self._roles

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The same Box for every role."""
        self._check_role(role)
        return self._obs_space

    def action_space(self, role: str) -> gym.Space[Any]:
        """The same Discrete space for every role."""
        self._check_role(role)
        return self._act_space

    def _check_role(self, role: str) -> None:
        if role not in self._roles:
            raise unknown_role_error(self.name, role, self._roles)

    def _start(self) -> None:
        self._started, self._over = True, False

    def _begin_interact(self, actions: Mapping[str, Any]) -> None:
        if not self._started:
            raise ResetNeededError(f"{self.name}: call reset() before interact()")
        if self._over:
            raise ResetNeededError(f"{self.name}: the episode ended; call reset() first")
        check_action_roles(self.name, actions, self.acting_roles())

    def _begin_observe(self, role: str) -> None:
        self._check_role(role)
        if not self._started:
            raise ResetNeededError(f"{self.name}: call reset() before observe()")


class CorridorEnv(_ToyEnv):
    """Walk right along a corridor of ``length`` cells to the goal at its end (one role).

    * Observation: one-hot position, ``[length]`` float32; the episode starts in cell 0.
    * Actions: ``Discrete(2)``: 0 steps left (a wall stops it at cell 0), 1 steps right.
    * Reward: 1.0 on reaching cell ``length - 1``, which terminates the episode; 0.0 otherwise.
    * Truncated after ``max_steps`` interactions (default ``2 * length``) without the goal.

    Walking right returns 1.0 in ``length - 1`` steps; with the defaults (length 6, 12 steps)
    uniformly random actions reach the goal in about a quarter of the episodes, so an
    epsilon-greedy DQN finds it early and learns it fast.

    Args:
        length: Number of cells, at least 2.
        max_steps: Interactions per episode before truncation; default ``2 * length``.
    """

    def __init__(self, length: int = 6, max_steps: int | None = None) -> None:
        if length < 2:
            raise ValueError(f"CorridorEnv needs length >= 2, got {length}")
        space = gym.spaces.Box(0.0, 1.0, shape=(length,), dtype=np.float32)
        super().__init__((DEFAULT_ROLE,), space, 2)
        self.length = length
        self.max_steps = 2 * length if max_steps is None else max_steps
        self._pos = 0
        self._steps = 0
        self._reward = 0.0

    def reset(self, seed: int | None = None) -> None:
        """Back to cell 0 (``seed`` is ignored: the corridor is deterministic)."""
        self._start()
        self._pos, self._steps, self._reward = 0, 0, 0.0

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step left (0) or right (1)."""
        self._begin_interact(actions)
        move = 1 if int(actions[DEFAULT_ROLE]) == 1 else -1
        self._pos = max(0, self._pos + move)
        self._steps += 1
        self._reward = 1.0 if self._at_goal else 0.0
        self._over = self._at_goal or self._steps >= self.max_steps

    def observe(self, role: str) -> Observation:
        """Position one-hot, the last step's reward, and whether the goal or limit was hit."""
        self._begin_observe(role)
        truncated = not self._at_goal and self._steps >= self.max_steps
        return Observation(
            _one_hot(self._pos, self.length),
            self._reward,
            terminated=self._at_goal,
            truncated=truncated,
            info={"position": self._pos},
        )

    def __repr__(self) -> str:
        return f"CorridorEnv(length={self.length}, max_steps={self.max_steps})"

    @property
    def _at_goal(self) -> bool:
        return self._pos == self.length - 1


class NimEnv(_ToyEnv):
    """One-pile Nim: players take turns removing 1 to ``max_take`` tokens; who takes the last wins.

    Turn-based: :meth:`acting_roles` is ``("player_0",)`` or ``("player_1",)``, alternating from
    ``player_0``, and ``()`` once the pile is empty.

    * Observation, per role: one-hot of the tokens left (``pile + 1`` entries) followed by 1.0 if
      it is this role's turn, else 0.0: ``[pile + 2]`` float32.
    * Actions: ``Discrete(max_take)``: action ``a`` takes ``a + 1`` tokens (at most what is left).
    * Reward: +1.0 to the winner and -1.0 to the loser when the pile empties (terminated);
      0.0 before. Each role's reward is what it collected since it last acted (see the module
      docstring), so the loser sees its -1.0 even though the winner made the last move.

    With the defaults (7 tokens, take 1-3) the first player wins by always leaving a multiple
    of 4.

    Args:
        pile: Tokens at the start, at least 1.
        max_take: Most tokens one move may take, at least 1.
    """

    def __init__(self, pile: int = 7, max_take: int = 3) -> None:
        if pile < 1 or max_take < 1:
            raise ValueError(f"NimEnv needs pile >= 1 and max_take >= 1, got {pile}, {max_take}")
        space = gym.spaces.Box(0.0, 1.0, shape=(pile + 2,), dtype=np.float32)
        super().__init__(PLAYERS, space, max_take)
        self.pile = pile
        self._left = pile
        self._turn = 0  # index into PLAYERS of the role to move
        self._rewards = dict.fromkeys(PLAYERS, 0.0)

    def __repr__(self) -> str:
        return f"NimEnv(pile={self.pile}, max_take={self._act_space.n})"

    def reset(self, seed: int | None = None) -> None:
        """A full pile, ``player_0`` to move (``seed`` is ignored)."""
        self._start()
        self._left, self._turn = self.pile, 0
        self._rewards = dict.fromkeys(PLAYERS, 0.0)

    def acting_roles(self) -> tuple[str, ...]:
        """The role whose turn it is; none once the game is over."""
        return () if self._left == 0 else (PLAYERS[self._turn],)

    def interact(self, actions: Mapping[str, Any]) -> None:
        """The player to move takes ``action + 1`` tokens."""
        self._begin_interact(actions)
        mover, other = PLAYERS[self._turn], PLAYERS[1 - self._turn]
        # A role's reward accumulates from its own move until its next one.
        self._rewards[mover] = 0.0
        self._left -= min(int(actions[mover]) + 1, self._left)
        if self._left == 0:
            self._rewards[mover] += 1.0
            self._rewards[other] += -1.0
            self._over = True
        else:
            self._turn = 1 - self._turn

    def observe(self, role: str) -> Observation:
        """Tokens left and whose turn, this role's reward since it last moved, game over."""
        self._begin_observe(role)
        my_turn = 1.0 if role in self.acting_roles() else 0.0
        state = np.append(_one_hot(self._left, self.pile + 1), np.float32(my_turn))
        over = self._left == 0
        return Observation(state, self._rewards[role], terminated=over, info={"left": self._left})


class RockPaperScissorsEnv(_ToyEnv):
    """Repeated rock-paper-scissors: both roles act at once, for ``rounds`` rounds.

    Simultaneous: :meth:`acting_roles` is both players until the last round is played.

    * Observation, per role: one-hot of the opponent's last action, with a fourth entry for
      "no round played yet": ``[4]`` float32.
    * Actions: ``Discrete(3)``: 0 rock, 1 paper, 2 scissors.
    * Reward, per round: +1.0 win, -1.0 loss, 0.0 tie (zero-sum).
    * After ``rounds`` rounds the episode is *truncated*, not terminated: the observation does
      not show the round number, so the horizon is a time limit outside the state (Pardo et
      al., 2018, "Time Limits in Reinforcement Learning").

    Args:
        rounds: Rounds per episode, at least 1.
    """

    def __init__(self, rounds: int = 3) -> None:
        if rounds < 1:
            raise ValueError(f"RockPaperScissorsEnv needs rounds >= 1, got {rounds}")
        space = gym.spaces.Box(0.0, 1.0, shape=(4,), dtype=np.float32)
        super().__init__(PLAYERS, space, 3)
        self.rounds = rounds
        self._played = 0
        self._last: dict[str, int] = {}  # the last action of each role; empty before round 1
        self._rewards = dict.fromkeys(PLAYERS, 0.0)

    def __repr__(self) -> str:
        return f"RockPaperScissorsEnv(rounds={self.rounds})"

    def reset(self, seed: int | None = None) -> None:
        """Round 0, no history (``seed`` is ignored)."""
        self._start()
        self._played, self._last = 0, {}
        self._rewards = dict.fromkeys(PLAYERS, 0.0)

    def acting_roles(self) -> tuple[str, ...]:
        """Both players, until the last round has been played."""
        return () if self._played >= self.rounds else PLAYERS

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Play one round."""
        self._begin_interact(actions)
        a, b = (int(actions[role]) for role in PLAYERS)
        # With 0 rock, 1 paper, 2 scissors, a beats b exactly when a - b = 1 (mod 3).
        outcome = {0: 0.0, 1: 1.0, 2: -1.0}[(a - b) % 3]
        self._rewards = {PLAYERS[0]: outcome, PLAYERS[1]: -outcome}
        self._last = {PLAYERS[0]: a, PLAYERS[1]: b}
        self._played += 1
        self._over = self._played >= self.rounds

    def observe(self, role: str) -> Observation:
        """The opponent's last action, this role's reward for the round, the time limit."""
        self._begin_observe(role)
        opponent = PLAYERS[1 - PLAYERS.index(role)]
        state = _one_hot(self._last.get(opponent, 3), 4)
        return Observation(
            state,
            self._rewards[role],
            truncated=self._played >= self.rounds,
            info={"round": self._played},
        )


class SimulatedCrash(RuntimeError):
    """What :class:`CrashingCorridorEnv` raises: a stand-in for a simulator that died."""


class CrashingCorridorEnv(CorridorEnv):
    """A :class:`CorridorEnv` that raises :class:`SimulatedCrash` on a schedule.

    Calls are counted per instance from 1, over all episodes, so a rebuilt env starts its
    schedule again (a crash every ``crash_every_interacts`` steps stays periodic).

    Args:
        length: As :class:`CorridorEnv`'s.
        max_steps: As :class:`CorridorEnv`'s.
        crash_every_interacts: Raise in every n-th ``interact`` (before moving); None never.
        crash_interacts: Raise in these ``interact`` calls (1 is the first).
        crash_observes: Raise in these ``observe`` calls.
        crash_resets: Raise in these ``reset`` calls (before resetting).
    """

    def __init__(
        self,
        length: int = 6,
        max_steps: int | None = None,
        *,
        crash_every_interacts: int | None = None,
        crash_interacts: Collection[int] = (),
        crash_observes: Collection[int] = (),
        crash_resets: Collection[int] = (),
    ) -> None:
        super().__init__(length, max_steps)
        if crash_every_interacts is not None and crash_every_interacts < 1:
            raise ValueError(f"crash_every_interacts must be >= 1, got {crash_every_interacts}")
        self.crash_every_interacts = crash_every_interacts
        self.crash_interacts = frozenset(crash_interacts)
        self.crash_observes = frozenset(crash_observes)
        self.crash_resets = frozenset(crash_resets)
        self.calls = {"interact": 0, "observe": 0, "reset": 0}
        self.closed = False

    def reset(self, seed: int | None = None) -> None:
        """Back to cell 0, unless this reset is one that crashes."""
        self._maybe_crash("reset", self.crash_resets)
        super().reset(seed)

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step left or right, unless this interact is one that crashes."""
        every = self.crash_every_interacts
        calls = self.calls["interact"] + 1
        if every is not None and calls % every == 0:
            self.calls["interact"] = calls
            raise SimulatedCrash(f"{self.name}: simulated crash in interact #{calls}")
        self._maybe_crash("interact", self.crash_interacts)
        super().interact(actions)

    def observe(self, role: str) -> Observation:
        """As :class:`CorridorEnv`'s, unless this observe is one that crashes."""
        self._maybe_crash("observe", self.crash_observes)
        return super().observe(role)

    def close(self) -> None:
        """Remember that it was closed (the tests check that a crashed env is)."""
        self.closed = True

    def _maybe_crash(self, call: str, schedule: frozenset[int]) -> None:
        self.calls[call] += 1
        if self.calls[call] in schedule:
            raise SimulatedCrash(f"{self.name}: simulated crash in {call} #{self.calls[call]}")


class SlowEnv(_ToyEnv):
    """An env whose every step takes ``step_ms`` milliseconds, with observations of any size.

    It stands for a simulator or game server that answers slowly: ``interact`` sleeps (the
    CPU is free meanwhile, as it is while a remote simulator computes), so N of them in
    processes of their own can step N times as fast as one. From the CLI::

        rlactors train dqn --env rlactors.envs.toy:SlowEnv \\
            --env-kwargs '{"step_ms": 2, "obs_size": 64}'

    * Observation: ``[obs_size]`` float32, uniform in [0, 1), drawn anew at every step.
    * Actions: ``Discrete(n_actions)``. The step's target action is
      ``floor(observation[0] * n_actions)``: what a policy can learn from the first entry.
    * Reward: 1.0 when the action is the target of the observation it answered, else 0.0.
      Random actions earn ``1 / n_actions`` per step; a policy that reads ``observation[0]``
      earns 1.0.
    * Truncated after ``episode_steps`` interactions (a time limit outside the state); it never
      terminates.

    Deterministic under its seed: ``reset(seed)`` restarts the observation stream from
    ``seed``; ``reset()`` without one goes on with the stream (seed 0 if never seeded). Step
    times drawn with ``step_ms_max`` come from a stream of their own, so they never change the
    observations.

    Args:
        step_ms: Milliseconds each ``interact`` sleeps, >= 0 (0: no sleep, for tests).
        step_ms_max: If given (>= ``step_ms``), each ``interact`` sleeps a time drawn
            uniformly from ``[step_ms, step_ms_max]`` ms: a simulator whose steps take unequal
            times (physics with contacts, a game server under load).
        obs_size: Length of the observation vector, >= 1.
        episode_steps: Interactions per episode before truncation, >= 1.
        n_actions: Number of actions, >= 2.

    Raises:
        EnvSpecError: A field out of range, named in the message (a ``ValueError``).
    """

    def __init__(
        self,
        step_ms: float = 2.0,
        obs_size: int = 16,
        episode_steps: int = 200,
        n_actions: int = 2,
        step_ms_max: float | None = None,
    ) -> None:
        for field, value, low in (
            ("step_ms", step_ms, 0),
            ("step_ms_max", step_ms if step_ms_max is None else step_ms_max, step_ms),
            ("obs_size", obs_size, 1),
            ("episode_steps", episode_steps, 1),
            ("n_actions", n_actions, 2),
        ):
            if not value >= low:  # written so that NaN fails too
                # An EnvSpecError (a ValueError) is printed by the CLI as one line.
                raise EnvSpecError(f"SlowEnv: {field} must be >= {low}, got {value!r}")
        space = gym.spaces.Box(0.0, 1.0, shape=(int(obs_size),), dtype=np.float32)
        super().__init__((DEFAULT_ROLE,), space, int(n_actions))
        self.step_ms = float(step_ms)
        self.obs_size = int(obs_size)
        self.episode_steps = int(episode_steps)
        self.n_actions = int(n_actions)
        self.step_ms_max = None if step_ms_max is None else float(step_ms_max)
        self._rng = np.random.default_rng(0)
        self._latency_rng = np.random.default_rng([0, 1])
        self._state = np.zeros(self.obs_size, dtype=np.float32)
        self._steps = 0
        self._reward = 0.0

    def __repr__(self) -> str:
        return (
            f"SlowEnv(step_ms={self.step_ms}, obs_size={self.obs_size}, "
            f"episode_steps={self.episode_steps}, n_actions={self.n_actions}"
            + ("" if self.step_ms_max is None else f", step_ms_max={self.step_ms_max}")
            + ")"
        )

    def reset(self, seed: int | None = None) -> None:
        """A new episode; ``seed`` restarts the observation stream (None: it goes on)."""
        self._start()
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._latency_rng = np.random.default_rng([seed, 1])
        self._steps, self._reward = 0, 0.0
        self._state = self._draw()

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Wait ``step_ms`` (or a draw up to ``step_ms_max``), score the action against the
        current observation, draw the next."""
        self._begin_interact(actions)
        wait_ms = self.step_ms
        if self.step_ms_max is not None:
            wait_ms = float(self._latency_rng.uniform(self.step_ms, self.step_ms_max))
        if wait_ms > 0:
            time.sleep(wait_ms / 1000.0)
        self._reward = 1.0 if int(actions[DEFAULT_ROLE]) == self.target_action() else 0.0
        self._steps += 1
        self._over = self._steps >= self.episode_steps
        self._state = self._draw()

    def observe(self, role: str) -> Observation:
        """The observation vector, the last step's reward, and the time limit."""
        self._begin_observe(role)
        return Observation(
            self._state.copy(),
            self._reward,
            truncated=self._steps >= self.episode_steps,
            info={"step": self._steps},
        )

    def target_action(self) -> int:
        """The action that earns 1.0 in the current state: ``floor(state[0] * n_actions)``."""
        return min(int(self._state[0] * self.n_actions), self.n_actions - 1)

    def _draw(self) -> np.ndarray:
        return self._rng.random(self.obs_size, dtype=np.float32)
