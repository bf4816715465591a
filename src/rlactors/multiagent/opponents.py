"""Scripted players: fixed opponents for evaluation and for training against.

Every player answers one batched call, :meth:`ScriptedPolicy.act_states`: the raw
``Observation.state`` of one role in ``B`` envs in, ``[B]`` int64 actions out, so a vectorized
evaluator asks once for all its envs. Each player draws from its own ``np.random.Generator``,
seeded at construction, so a match between seeded players is the same match every run.

* :class:`RandomPlayer` — uniform over the legal actions (any env with a Discrete action space).
* :class:`TicTacToeMinimax` — perfect play for PettingZoo's ``tictactoe_v3``.
* :class:`ConnectFourHeuristic` — win now, else block, else random, for ``connect_four_v3``.
* :class:`BiasedRockPlayer` — a rock-heavy rock-paper-scissors player with a known best response.
* :func:`scripted_player` — the lookup by name that the CLI's ``--opponent`` uses.

Board conventions of PettingZoo 1.25's classic games, checked by playing them: a state is
``{"observation": int8 planes, "action_mask": int8 [n]}``; plane 0 holds the marks of the
player to move (the observing role), plane 1 its opponent's. In ``tictactoe_v3`` (``[3, 3, 2]``)
action ``a`` marks ``observation[a // 3, a % 3]``. In ``connect_four_v3`` (``[6, 7, 2]``) action
``c`` drops a piece into column ``c``, where it lands on the empty cell of largest row index
(row 5 is the bottom).
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from rlactors.errors import UserError

#: The Dict key of the action mask in PettingZoo's classic games.
MASK_KEY = "action_mask"
#: The Dict key of the board planes in PettingZoo's classic games.
BOARD_KEY = "observation"


class PlayerError(UserError, ValueError):
    """A scripted player that cannot play what it was given: an unknown name, an action space
    or a state it does not know (a :class:`~rlactors.errors.UserError`: the CLI prints it as
    one line)."""


class ScriptedPolicy(Protocol):
    """Anything that picks actions for one role in many envs at once."""

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """Actions for ``B`` raw observations of one role.

        Args:
            states: ``B`` values of ``Observation.state`` (one per env), e.g. PettingZoo's
                ``{"observation": planes, "action_mask": [n]}`` dicts.

        Returns:
            ``[B]`` int64 actions.
        """
        ...


class RandomPlayer:
    """Uniformly random legal actions.

    A state that is a dict with an ``action_mask`` is played from its mask (indices whose
    entry is 1); any other state from ``action_space``, all of whose actions are legal.

    Args:
        action_space: The role's action space, for states without a mask; None if every state
            has one. Actions are ``action_space.start`` plus the drawn index.
        seed: Seed of this player's generator.

    Raises:
        PlayerError: ``action_space`` is not Discrete.
    """

    def __init__(self, action_space: gym.Space[Any] | None = None, *, seed: int) -> None:
        if action_space is not None and not isinstance(action_space, gym.spaces.Discrete):
            raise PlayerError(f"RandomPlayer plays Discrete action spaces, got {action_space}")
        self._space = action_space
        self._rng = np.random.default_rng(seed)

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` actions, each uniform over its state's legal actions.

        Raises:
            PlayerError: A state without a mask and no ``action_space``, or a mask with no
                legal action.
        """
        if not states:
            return np.zeros(0, dtype=np.int64)
        legal = np.stack([self._legal(state) for state in states])  # [B, n] bool
        stuck = np.flatnonzero(~legal.any(axis=1))
        if stuck.size:
            raise PlayerError(
                f"RandomPlayer: state {int(stuck[0])} of the batch has no legal action (is the "
                "episode over, or is it another role's turn?)"
            )
        # The argmax of i.i.d. uniforms over the legal entries is uniform among them, for
        # every row at once.
        scores = np.where(legal, self._rng.random(legal.shape), -1.0)
        start = int(self._space.start) if self._space is not None else 0
        actions: np.ndarray = scores.argmax(axis=1).astype(np.int64) + start
        return actions

    def _legal(self, state: Any) -> np.ndarray:
        if isinstance(state, Mapping) and MASK_KEY in state:
            return np.asarray(state[MASK_KEY]).reshape(-1) > 0
        if self._space is None:
            raise PlayerError(
                f"RandomPlayer got a state without {MASK_KEY!r} ({_describe(state)}) and has "
                "no action space to draw from; pass action_space"
            )
        return np.ones(int(self._space.n), dtype=bool)


class _SeededPlayer(abc.ABC):
    """A player of one game, with its own generator.

    Args:
        seed: Seed of this player's generator.
    """

    def __init__(self, *, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    @abc.abstractmethod
    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` int64 actions for ``B`` states (see :class:`ScriptedPolicy`)."""


# -- tic-tac-toe: boards as two 9-bit ints, bit a = cell a = observation[a // 3, a % 3] -------

_TTT_CELLS = 9
_TTT_FULL = (1 << _TTT_CELLS) - 1
_TTT_LINES = tuple(
    sum(1 << a for a in line)
    for line in (
        (0, 1, 2), (3, 4, 5), (6, 7, 8),  # rows
        (0, 3, 6), (1, 4, 7), (2, 5, 8),  # columns
        (0, 4, 8), (2, 4, 6),  # diagonals
    )
)  # fmt: skip
_TTT_BITS = 1 << np.arange(_TTT_CELLS, dtype=np.int64)


def _ttt_has_line(marks: int) -> bool:
    return any(marks & line == line for line in _TTT_LINES)


def _ttt_empty_cells(mine: int, theirs: int) -> Iterator[int]:
    empty = ~(mine | theirs) & _TTT_FULL
    return (a for a in range(_TTT_CELLS) if empty >> a & 1)


@functools.cache
def _ttt_value(mine: int, theirs: int) -> int:
    """The game-theoretic value for the player to move (who holds ``mine``): 1 a win, 0 a
    draw, -1 a loss, with perfect play by both. Cached: there are 5,478 legal positions."""
    if _ttt_has_line(theirs):
        return -1  # the opponent's last mark completed a line
    moves = [-_ttt_value(theirs, mine | 1 << a) for a in _ttt_empty_cells(mine, theirs)]
    return max(moves, default=0)  # no empty cell and no line: a draw


@functools.cache
def _ttt_best_moves(mine: int, theirs: int) -> tuple[int, ...]:
    """Every move that keeps the position's value (empty on a finished board)."""
    if _ttt_has_line(mine) or _ttt_has_line(theirs):
        return ()
    value = _ttt_value(mine, theirs)
    cells = _ttt_empty_cells(mine, theirs)
    return tuple(a for a in cells if -_ttt_value(theirs, mine | 1 << a) == value)


class TicTacToeMinimax(_SeededPlayer):
    """Perfect tic-tac-toe for PettingZoo's ``tictactoe_v3``: never loses, and wins whatever
    its opponent's mistakes leave winnable.

    It plays uniformly at random among *all* the moves of the best game-theoretic value, with
    no preference among them (not for quicker wins, not for the center), so its games against
    itself, all draws, still vary. The solver is exhaustive and cached: the 5,478 legal
    positions, solved in ~12 ms on first use.

    Args:
        seed: Seed of this player's generator.
    """

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` actions 0..8, one best move for each ``[3, 3, 2]`` board.

        Raises:
            PlayerError: A state that is not a ``tictactoe_v3`` observation of the player to
                move, or a finished board.
        """
        actions = np.zeros(len(states), dtype=np.int64)
        for i, state in enumerate(states):
            mine_cells, theirs_cells, legal = _board_planes(state, (3, 3, 2), "TicTacToeMinimax")
            mine = int(mine_cells.reshape(-1) @ _TTT_BITS)
            theirs = int(theirs_cells.reshape(-1) @ _TTT_BITS)
            best = _ttt_best_moves(mine, theirs)
            empty = tuple(_ttt_empty_cells(mine, theirs))
            if not best or tuple(np.flatnonzero(legal)) != empty:
                raise PlayerError(
                    f"TicTacToeMinimax: state {i} of the batch is a finished board, or its "
                    f"action_mask {legal.astype(int).tolist()} is not its empty cells "
                    f"{list(empty)} (is it another role's turn?)"
                )
            actions[i] = best[self._rng.integers(len(best))]
        return actions


# -- connect four: observation[row, column, plane], row 5 the bottom ---------------------------

_C4_SHAPE = (6, 7, 2)
_C4_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _c4_completes_four(marks: np.ndarray, row: int, col: int) -> bool:
    """A piece at ``(row, col)`` would join ``marks`` ([6, 7] bool) in a line of four or more."""
    rows, cols = marks.shape
    for dr, dc in _C4_DIRECTIONS:
        count = 1
        for sign in (1, -1):
            r, c = row + sign * dr, col + sign * dc
            while 0 <= r < rows and 0 <= c < cols and marks[r, c]:  # at most 6 cells
                count += 1
                r, c = r + sign * dr, c + sign * dc
        if count >= 4:
            return True
    return False


class ConnectFourHeuristic(_SeededPlayer):
    """A one-ply Connect Four player for PettingZoo's ``connect_four_v3``: it takes a win when
    one move makes four, else blocks a column where the opponent's next piece would make four,
    else plays a uniformly random legal column (ties among wins or blocks broken at random too).

    It does not look further: it will play under a cell the opponent needs, and cannot stop two
    threats at once. Still, a random player lost 96% of 500 games to it on either seat.

    Args:
        seed: Seed of this player's generator.
    """

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` columns 0..6, one for each ``[6, 7, 2]`` board.

        Raises:
            PlayerError: A state that is not a ``connect_four_v3`` observation of the player to
                move, or a board with no legal column.
        """
        actions = np.zeros(len(states), dtype=np.int64)
        for i, state in enumerate(states):
            mine, theirs, legal = _board_planes(state, _C4_SHAPE, "ConnectFourHeuristic")
            filled = mine | theirs
            columns = np.flatnonzero(legal)
            if not columns.size or not np.array_equal(legal, ~filled[0]):
                raise PlayerError(
                    f"ConnectFourHeuristic: state {i} of the batch has action_mask "
                    f"{legal.astype(int).tolist()}, which is not its open columns "
                    f"{(~filled[0]).astype(int).tolist()} or has none (is the game over, or "
                    "is it another role's turn?)"
                )
            # Where a piece dropped into each open column lands: its lowest empty cell.
            landing = {int(c): int(np.flatnonzero(~filled[:, c])[-1]) for c in columns}
            wins = [c for c, r in landing.items() if _c4_completes_four(mine, r, c)]
            blocks = [c for c, r in landing.items() if _c4_completes_four(theirs, r, c)]
            choices = wins or blocks or list(landing)
            actions[i] = choices[self._rng.integers(len(choices))]
        return actions


class BiasedRockPlayer(_SeededPlayer):
    """Rock-paper-scissors with a bias to exploit: rock with probability 1/2, else uniform over
    all three actions (0 rock, 1 paper, 2 scissors), so rock 2/3, paper and scissors 1/6 each.

    Its best response is always paper, which earns ``2/3 - 1/6 = 0.5`` per round on average
    (rock earns 0, scissors -0.5): the target of a learner trained against it. The state is
    ignored. The numbering is that of :class:`~rlactors.envs.toy.RockPaperScissorsEnv` and of
    PettingZoo's ``rps_v2`` with its default ``num_actions=3`` (checked: in ``rps_v2`` paper, 1,
    beats rock, 0); ``rps_v2`` with 5 actions adds Spock and lizard, which this player never
    plays.

    Args:
        seed: Seed of this player's generator.
    """

    #: Probability of rock before the uniform draw over all three.
    ROCK_BIAS = 0.5

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` actions in 0..2, whatever the states."""
        batch = len(states)
        rock = self._rng.random(batch) < self.ROCK_BIAS
        uniform = self._rng.integers(0, 3, size=batch)
        return np.where(rock, 0, uniform).astype(np.int64)


class NearestLandmarkPlayer(_SeededPlayer):
    """MPE2 ``simple_spread``'s greedy baseline: each agent steps toward its nearest landmark,
    along the axis where it is farther (issue #11's bar for a learned cooperative policy).

    An agent's observation is ``[self_vel (2), self_pos (2), landmark_rel (2N), other_rel
    (2(N-1)), comm]``, so the landmarks' relative positions start at index 4; MPE's discrete
    actions are 0 no-op, 1 -x, 2 +x, 3 -y, 4 +y (checked: swapping the signs takes the
    agents away, a mean return of -63 instead of -17 at N = 3). It ignores coordination: two
    agents may head for the same landmark.

    Args:
        landmarks: N, the landmarks in the observation.
        seed: Unused (it draws nothing); kept for :func:`scripted_player`'s signature.
    """

    def __init__(self, landmarks: int = 3, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.landmarks = landmarks

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` actions in 1..4."""
        obs = np.asarray(states, np.float64).reshape(len(states), -1)
        rel = obs[:, 4 : 4 + 2 * self.landmarks].reshape(len(states), self.landmarks, 2)
        nearest = rel[np.arange(len(states)), np.argmin((rel**2).sum(axis=2), axis=1)]
        dx, dy = nearest[:, 0], nearest[:, 1]
        along_x = np.abs(dx) >= np.abs(dy)
        return np.where(along_x, np.where(dx > 0, 2, 1), np.where(dy > 0, 4, 3)).astype(np.int64)


#: The names :func:`scripted_player` knows.
PLAYER_NAMES = ("random", "minimax", "heuristic", "rock", "landmark")

#: The players of one game: name -> (the ``n`` of the ``Discrete(n)`` they play, class).
_ONE_GAME_PLAYERS: dict[str, tuple[int, type[_SeededPlayer]]] = {
    "minimax": (9, TicTacToeMinimax),
    "heuristic": (7, ConnectFourHeuristic),
    "rock": (3, BiasedRockPlayer),
    "landmark": (5, NearestLandmarkPlayer),
}


def scripted_player(name: str, action_space: gym.Space[Any], seed: int) -> ScriptedPolicy:
    """The scripted player called ``name`` (the CLI's ``--opponent``).

    Args:
        name: ``random`` (:class:`RandomPlayer`), ``minimax`` (:class:`TicTacToeMinimax`),
            ``heuristic`` (:class:`ConnectFourHeuristic`), ``rock``
            (:class:`BiasedRockPlayer`) or ``landmark`` (:class:`NearestLandmarkPlayer`, for
            MPE2's ``simple_spread`` with 3 landmarks).
        action_space: The action space of the role it plays: any Discrete for ``random``,
            ``Discrete(9)``, ``Discrete(7)``, ``Discrete(3)`` and ``Discrete(5)`` for the
            others.
        seed: Seed of the player's generator.

    Raises:
        PlayerError: An unknown name (the message lists the known ones), or an action space
            the player cannot play.
    """
    if name == "random":
        return RandomPlayer(action_space, seed=seed)
    if name not in _ONE_GAME_PLAYERS:
        raise PlayerError(
            f"unknown scripted player {name!r}; the known ones are {', '.join(PLAYER_NAMES)}"
        )
    actions, player = _ONE_GAME_PLAYERS[name]
    if (
        not isinstance(action_space, gym.spaces.Discrete)
        or int(action_space.n) != actions
        or int(action_space.start) != 0
    ):
        raise PlayerError(
            f"scripted player {name!r} ({player.__name__}) plays Discrete({actions}), the env's "
            f"action space is {action_space}"
        )
    return player(seed=seed)


def _board_planes(
    state: Any, shape: tuple[int, ...], player: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mover's marks, the opponent's (each ``shape[:-1]`` bool) and the legal actions
    (``[n]`` bool) of a PettingZoo board game's state, checked against its conventions."""
    if not isinstance(state, Mapping) or BOARD_KEY not in state or MASK_KEY not in state:
        raise PlayerError(
            f"{player} plays dicts of {BOARD_KEY!r} {list(shape)} and {MASK_KEY!r}, got "
            f"{_describe(state)}"
        )
    board = np.asarray(state[BOARD_KEY])
    if board.shape != shape:
        raise PlayerError(
            f"{player} plays {BOARD_KEY!r} of shape {list(shape)}, got {list(board.shape)}"
        )
    mine, theirs = board[..., 0] > 0, board[..., 1] > 0
    # The first player to move has as many marks as its opponent, the second one fewer: more
    # than the opponent means the planes are not (mover, opponent), and play would be wrong.
    lead = int(theirs.sum()) - int(mine.sum())
    if lead not in (0, 1) or bool((mine & theirs).any()):
        raise PlayerError(
            f"{player}: a board with {int(mine.sum())} marks in plane 0 and {int(theirs.sum())} "
            "in plane 1 (or a cell in both) is not one where plane 0's player is to move"
        )
    return mine, theirs, np.asarray(state[MASK_KEY]).reshape(-1) > 0


def _describe(state: Any) -> str:
    """A short one-line description of a state: its type, and a dict's keys and shapes."""
    if isinstance(state, Mapping):
        parts = ", ".join(f"{k!r}: {list(np.shape(v))}" for k, v in state.items())
        return f"a dict {{{parts}}}"
    return f"a {type(state).__name__} of shape {list(np.shape(state))}"
