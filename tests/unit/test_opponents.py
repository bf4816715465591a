"""Scripted players, against PettingZoo's own classic games and on hand-built boards."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.classic import connect_four_v3, rps_v2, tictactoe_v3

from rlactors.errors import UserError
from rlactors.multiagent.opponents import (
    PLAYER_NAMES,
    BiasedRockPlayer,
    ConnectFourHeuristic,
    NearestLandmarkPlayer,
    PlayerError,
    RandomPlayer,
    ScriptedPolicy,
    TicTacToeMinimax,
    scripted_player,
)

#: More moves than any tic-tac-toe or Connect Four game (and its final dead steps) takes.
MAX_AEC_STEPS = 100


def play_aec(env: Any, players: Mapping[str, ScriptedPolicy], seed: int) -> dict[str, float]:
    """One game of a PettingZoo AEC env: each agent's reward at the end (these games reward
    nothing before). Every move is checked against the mask before it is stepped (PettingZoo
    would end the game on an illegal move rather than raise)."""
    env.reset(seed=seed)
    final: dict[str, float] = {}
    for agent in env.agent_iter(max_iter=MAX_AEC_STEPS):
        obs, reward, terminated, truncated, _ = env.last()
        if terminated or truncated:
            final[agent] = float(reward)  # collected since it last acted: the game's result
            env.step(None)
            continue
        action = int(players[agent].act_states([obs])[0])
        assert obs["action_mask"][action] == 1, f"{agent} played illegal {action}"
        env.step(action)
    assert not env.agents, f"the game did not end within {MAX_AEC_STEPS} steps"
    return final


def results(env: Any, players: Mapping[str, ScriptedPolicy], games: int) -> list[float]:
    """The first agent's reward in each of ``games`` games."""
    first = env.possible_agents[0]
    return [play_aec(env, players, seed)[first] for seed in range(games)]


def ttt_state(mine: list[int], theirs: list[int]) -> dict[str, np.ndarray]:
    """A ``tictactoe_v3`` state of the player to move, from its marks and its opponent's."""
    board = np.zeros((9, 2), dtype=np.int8)
    board[mine, 0] = 1
    board[theirs, 1] = 1
    mask = (board.sum(axis=1) == 0).astype(np.int8)
    return {"observation": board.reshape(3, 3, 2), "action_mask": mask}


def c4_state(mine: list[tuple[int, int]], theirs: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """A ``connect_four_v3`` state from (row, column) cells; row 5 is the bottom."""
    board = np.zeros((6, 7, 2), dtype=np.int8)
    for plane, cells in enumerate((mine, theirs)):
        for row, col in cells:
            board[row, col, plane] = 1
    mask = (board[0].sum(axis=1) == 0).astype(np.int8)
    return {"observation": board, "action_mask": mask}


def chosen(player: ScriptedPolicy, state: dict[str, np.ndarray], times: int) -> set[int]:
    """Every action ``player`` picks for ``state`` over ``times`` asks (in one batch)."""
    return {int(a) for a in player.act_states([state] * times)}


# -- the conventions the players rely on, read off PettingZoo itself ---------------------------


def test_tictactoe_planes_and_action_indexing_are_what_the_players_assume() -> None:
    env = tictactoe_v3.env()
    env.reset(seed=0)
    env.step(3)  # player_1
    env.step(7)  # player_2
    state = env.last()[0]  # player_1 to move: plane 0 is its marks
    np.testing.assert_array_equal(np.flatnonzero(state["observation"][..., 0]), [3])
    np.testing.assert_array_equal(state["observation"][1, 0], [1, 0])  # action 3 = [3 // 3, 3 % 3]
    np.testing.assert_array_equal(state["observation"][2, 1], [0, 1])  # action 7 = [2, 1]


def test_connect_four_planes_and_gravity_are_what_the_players_assume() -> None:
    env = connect_four_v3.env()
    env.reset(seed=0)
    env.step(3)  # player_0 into column 3
    env.step(3)  # player_1 on top of it
    state = env.last()[0]  # player_0 to move
    assert state["observation"][5, 3, 0] == 1 and state["observation"][4, 3, 1] == 1
    assert state["observation"].sum() == 2


def test_rps_v2_numbers_rock_paper_scissors_as_rlactors_does() -> None:
    env = rps_v2.parallel_env()
    env.reset(seed=0)
    _, rewards, *_ = env.step({"player_0": 1, "player_1": 0})  # paper against rock
    assert rewards == {"player_0": 1, "player_1": -1}
    _, rewards, *_ = env.step({"player_0": 2, "player_1": 1})  # scissors against paper
    assert rewards == {"player_0": 1, "player_1": -1}


# -- tic-tac-toe minimax ------------------------------------------------------------------------


@pytest.mark.parametrize("minimax_seat", [0, 1])
def test_minimax_never_loses_to_random_on_either_seat(minimax_seat: int) -> None:
    env = tictactoe_v3.env()
    agents = env.possible_agents
    minimax, random = TicTacToeMinimax(seed=1), RandomPlayer(seed=2)
    players = {agents[minimax_seat]: minimax, agents[1 - minimax_seat]: random}
    start = time.perf_counter()
    outcomes = [play_aec(env, players, seed)[agents[minimax_seat]] for seed in range(200)]
    elapsed = time.perf_counter() - start
    assert min(outcomes) >= 0.0
    # It also wins: random play blunders (over 1,000 games it won 97% first, 78% second).
    assert outcomes.count(1.0) > 100
    assert elapsed < 3.0, f"200 games took {elapsed:.2f} s"


def test_minimax_against_itself_always_draws() -> None:
    env = tictactoe_v3.env()
    a, b = env.possible_agents
    outcomes = results(env, {a: TicTacToeMinimax(seed=1), b: TicTacToeMinimax(seed=2)}, 100)
    assert outcomes == [0.0] * 100


def test_minimax_chooses_among_all_its_best_moves() -> None:
    # Every first move draws with perfect play, so every cell is a best move on the empty
    # board; a player that always took the first (or the center) would show one, over seeds.
    firsts = Counter(
        int(TicTacToeMinimax(seed=seed).act_states([ttt_state([], [])])[0]) for seed in range(90)
    )
    assert len(firsts) == 9 and max(firsts.values()) < 30
    # X on 0 and 1 (to move), O on 3 and 4: X wins with 2 only; O threatens 5, which is no
    # reason to block when winning now.
    assert chosen(TicTacToeMinimax(seed=0), ttt_state([0, 1], [3, 4]), 50) == {2}
    # X on 0 and 8 (to move), O on 1 and 4: O threatens 7, and every other move loses.
    assert chosen(TicTacToeMinimax(seed=0), ttt_state([0, 8], [1, 4]), 50) == {7}
    # The mover (second player) on the center, the first on opposite corners 0 and 8: only the
    # edges 1, 3, 5, 7 draw; a corner forces a block that lets the first player fork.
    assert chosen(TicTacToeMinimax(seed=0), ttt_state([4], [0, 8]), 200) == {1, 3, 5, 7}


def test_minimax_best_moves_match_an_independent_negamax() -> None:
    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]

    def value(mine: frozenset[int], theirs: frozenset[int]) -> int:
        if any(set(line) <= theirs for line in lines):
            return -1
        empty = set(range(9)) - mine - theirs
        return max((-value(theirs, mine | {a}) for a in empty), default=0)

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(40):  # random positions: 2 marks of the mover, 3 of its opponent
        cells = rng.permutation(9)
        mine, theirs = frozenset(cells[:2].tolist()), frozenset(cells[2:5].tolist())
        if any(set(line) <= mine or set(line) <= theirs for line in lines):
            continue
        best = value(mine, theirs)
        empty = set(range(9)) - mine - theirs
        expected = {a for a in empty if -value(theirs, mine | {a}) == best}
        assert chosen(TicTacToeMinimax(seed=3), ttt_state(sorted(mine), sorted(theirs)), 60) == (
            expected
        )
        checked += 1
    assert checked > 20


def test_minimax_refuses_boards_it_cannot_play() -> None:
    player = TicTacToeMinimax(seed=0)
    with pytest.raises(PlayerError, match=r"\[3, 3, 2\]"):
        player.act_states([c4_state([], [])])
    with pytest.raises(PlayerError, match="plane 0"):
        player.act_states([ttt_state([0, 1], [4])])  # planes swapped: the mover has more marks
    with pytest.raises(PlayerError, match="finished board"):
        player.act_states([ttt_state([3, 5], [0, 1, 2])])
    not_my_turn = ttt_state([0], [4, 8])
    not_my_turn["action_mask"][:] = 0  # what PettingZoo shows a role that is not to move
    with pytest.raises(PlayerError, match="another role's turn"):
        player.act_states([not_my_turn])


# -- Connect Four heuristic ---------------------------------------------------------------------


def test_heuristic_takes_an_immediate_win() -> None:
    player = ConnectFourHeuristic(seed=0)
    # Three of mine along the bottom in columns 1-3: 0 and 4 both win.
    bottom = c4_state([(5, 1), (5, 2), (5, 3)], [(4, 1), (4, 2), (4, 3)])
    assert chosen(player, bottom, 50) == {0, 4}
    # Three stacked in column 6, and the opponent threatens the bottom row: winning comes first.
    stacked = c4_state([(5, 6), (4, 6), (3, 6)], [(5, 0), (5, 1), (5, 2)])
    assert chosen(player, stacked, 50) == {6}
    # A diagonal from (5, 0) up to (2, 3): the piece must land on (2, 3), above three others.
    diagonal = c4_state(
        [(5, 0), (4, 1), (3, 2), (5, 3)],
        [(5, 1), (5, 2), (4, 2), (4, 3), (3, 3)],
    )
    assert chosen(player, diagonal, 50) == {3}


def test_heuristic_blocks_an_immediate_loss() -> None:
    player = ConnectFourHeuristic(seed=0)
    # The opponent has three stacked in column 2; nothing of mine wins.
    vertical = c4_state([(5, 0), (5, 4), (5, 6)], [(5, 2), (4, 2), (3, 2)])
    assert chosen(player, vertical, 50) == {2}
    # The opponent's three on the bottom row, open on the right only.
    horizontal = c4_state([(5, 0), (4, 1), (4, 2)], [(5, 1), (5, 2), (5, 3)])
    assert chosen(player, horizontal, 50) == {4}


def test_heuristic_without_threats_plays_every_legal_column_and_no_full_one() -> None:
    # Column 0 full, nothing threatened.
    cells = [(r, 0) for r in range(6)]
    state = c4_state(cells[0::2], cells[1::2])
    assert state["action_mask"][0] == 0
    assert chosen(ConnectFourHeuristic(seed=0), state, 200) == set(range(1, 7))


def test_heuristic_beats_random_in_most_games() -> None:
    env = connect_four_v3.env()
    a, b = env.possible_agents
    outcomes = results(env, {a: ConnectFourHeuristic(seed=1), b: RandomPlayer(seed=2)}, 50)
    assert outcomes.count(1.0) >= 40


# -- random and rock players, and the lookup by name ---------------------------------------------


def test_random_player_never_plays_an_illegal_move_and_tries_every_legal_one() -> None:
    rng = np.random.default_rng(0)
    masks = (rng.random((500, 9)) < 0.4).astype(np.int8)
    masks[np.arange(500), rng.integers(0, 9, 500)] = 1  # at least one legal action each
    states = [{"observation": np.zeros(3), "action_mask": m} for m in masks]
    actions = RandomPlayer(seed=1).act_states(states)
    assert actions.shape == (500,) and actions.dtype == np.int64
    assert masks[np.arange(500), actions].all()
    # A mask with legal 2 and 7 only: both come up, nothing else does.
    two = {"action_mask": np.array([0, 0, 1, 0, 0, 0, 0, 1, 0])}
    assert chosen(RandomPlayer(seed=2), two, 100) == {2, 7}
    # Whole games of both PettingZoo boards, every move checked by play_aec.
    for make in (tictactoe_v3.env, connect_four_v3.env):
        env = make()
        a, b = env.possible_agents
        results(env, {a: RandomPlayer(seed=3), b: RandomPlayer(seed=4)}, 20)


def test_random_player_without_a_mask_draws_from_its_space() -> None:
    player = RandomPlayer(gym.spaces.Discrete(3, start=5), seed=0)
    actions = player.act_states([np.zeros(4, dtype=np.float32)] * 300)
    assert set(actions.tolist()) == {5, 6, 7}
    assert RandomPlayer(seed=0).act_states([]).shape == (0,)


def test_random_player_errors_are_one_line() -> None:
    with pytest.raises(PlayerError, match="pass action_space") as excinfo:
        RandomPlayer(seed=0).act_states([np.zeros(4)])
    assert "\n" not in str(excinfo.value)
    with pytest.raises(PlayerError, match="no legal action"):
        RandomPlayer(seed=0).act_states([{"action_mask": np.zeros(3)}])
    with pytest.raises(PlayerError, match="Discrete"):
        RandomPlayer(gym.spaces.Box(0, 1, (2,)), seed=0)


def test_players_with_the_same_seed_play_the_same_moves() -> None:
    states = [ttt_state([], [])] * 20
    first = TicTacToeMinimax(seed=7).act_states(states)
    np.testing.assert_array_equal(first, TicTacToeMinimax(seed=7).act_states(states))
    assert not np.array_equal(first, TicTacToeMinimax(seed=8).act_states(states))


def test_biased_rock_player_frequencies_and_its_best_response() -> None:
    draws = 30_000
    actions = BiasedRockPlayer(seed=0).act_states([None] * draws)
    freq = np.bincount(actions, minlength=3) / draws
    # Standard errors are ~0.003 and ~0.002: these bounds are 5 of them.
    np.testing.assert_allclose(freq, [2 / 3, 1 / 6, 1 / 6], atol=0.015)
    # Paper's reward against each of its actions: +1 rock, 0 paper, -1 scissors.
    assert float(np.mean(np.array([1.0, 0.0, -1.0])[actions])) == pytest.approx(0.5, abs=0.02)


def test_scripted_player_by_name() -> None:
    expected = {
        "random": (RandomPlayer, gym.spaces.Discrete(4)),
        "minimax": (TicTacToeMinimax, gym.spaces.Discrete(9)),
        "heuristic": (ConnectFourHeuristic, gym.spaces.Discrete(7)),
        "rock": (BiasedRockPlayer, gym.spaces.Discrete(3)),
        "landmark": (NearestLandmarkPlayer, gym.spaces.Discrete(5)),
    }
    assert set(expected) == set(PLAYER_NAMES)
    for name, (cls, space) in expected.items():
        assert type(scripted_player(name, space, seed=0)) is cls


def test_scripted_player_errors_are_one_line_and_name_the_fix() -> None:
    with pytest.raises(PlayerError) as excinfo:
        scripted_player("alphazero", gym.spaces.Discrete(9), seed=0)
    message = str(excinfo.value)
    assert "\n" not in message and isinstance(excinfo.value, UserError)
    assert "'alphazero'" in message and all(name in message for name in PLAYER_NAMES)
    with pytest.raises(PlayerError, match=r"Discrete\(9\)"):
        scripted_player("minimax", gym.spaces.Discrete(7), seed=0)
    with pytest.raises(PlayerError, match=r"Discrete\(3\)"):
        scripted_player("rock", gym.spaces.Discrete(5), seed=0)


def test_nearest_landmark_steps_toward_the_nearest_landmark_on_the_larger_axis() -> None:
    def obs(*landmarks: tuple[float, float]) -> np.ndarray:
        rel = np.asarray(landmarks, np.float32).reshape(-1)
        return np.concatenate([np.zeros(4, np.float32), rel, np.zeros(8, np.float32)])

    player = NearestLandmarkPlayer(3, seed=0)
    states = [
        obs((0.5, 0.1), (2.0, 2.0), (-3.0, 0.0)),  # nearest is +x mostly: 2
        obs((-0.5, 0.1), (2.0, 2.0), (-3.0, 0.0)),  # -x: 1
        obs((3.0, 3.0), (0.1, -0.4), (-3.0, 0.0)),  # the second, -y: 3
        obs((3.0, 3.0), (2.0, 2.0), (0.0, 0.2)),  # the third, +y: 4
    ]
    assert list(player.act_states(states)) == [2, 1, 3, 4]
