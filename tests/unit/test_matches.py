"""Matches: play_games and seat_results on the toy games, hand-checked, and on tic-tac-toe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.classic import tictactoe_v3

from rlactors.core import Env, Observation, Policy, Weights
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.toy import PLAYERS, CorridorEnv, NimEnv, RockPaperScissorsEnv
from rlactors.errors import UserError
from rlactors.multiagent.matches import MatchError, PolicyPlayer, play_games, seat_results
from rlactors.multiagent.opponents import BiasedRockPlayer, RandomPlayer, TicTacToeMinimax
from rlactors.seeding import derive_seed

P0, P1 = PLAYERS


class Fixed:
    """Always the same action."""

    def __init__(self, action: int) -> None:
        self.action = action

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        return np.full(len(states), self.action, dtype=np.int64)


class NimOptimal:
    """Leaves a multiple of 4 when it can (takes 1 when it cannot): NimEnv's max_take=3."""

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        left = np.array([int(np.argmax(s[:-1])) for s in states])  # one-hot of tokens left
        take = np.where(left % 4 == 0, 1, left % 4)
        return (take - 1).astype(np.int64)


class PettingZooAEC(Env):
    """A turn-based PettingZoo AEC game as an rlactors Env, for these tests only (the real
    adapter is rlactors.envs.pettingzoo). The reward is PettingZoo's cumulative reward: what
    the role collected since it last acted, rlactors' convention."""

    def __init__(self, aec: Any) -> None:
        self.aec = aec
        self.name = f"pettingzoo {aec.metadata['name']}"

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.aec.possible_agents)

    def observation_space(self, role: str) -> gym.Space[Any]:
        return self.aec.observation_space(role)  # type: ignore[no-any-return]

    def action_space(self, role: str) -> gym.Space[Any]:
        return self.aec.action_space(role)  # type: ignore[no-any-return]

    def reset(self, seed: int | None = None) -> None:
        self.aec.reset(seed=seed)

    def acting_roles(self) -> tuple[str, ...]:
        agent = self.aec.agent_selection
        over = self.aec.terminations[agent] or self.aec.truncations[agent]
        return () if over else (agent,)

    def interact(self, actions: Mapping[str, Any]) -> None:
        (role,) = self.acting_roles()
        assert self.aec.observe(role)["action_mask"][int(actions[role])] == 1, "illegal move"
        self.aec.step(int(actions[role]))

    def observe(self, role: str) -> Observation:
        return Observation(
            self.aec.observe(role),
            float(self.aec.unwrapped._cumulative_rewards[role]),
            terminated=self.aec.terminations[role],
            truncated=self.aec.truncations[role],
        )


def tictactoe() -> Env:
    return PettingZooAEC(tictactoe_v3.env())


class FirstLegal(Policy):
    """A fake learned policy: the first legal action of each packed row; records its calls."""

    def __init__(self, layout: ObservationLayout) -> None:
        self.layout = layout
        self.calls: list[tuple[tuple[int, ...], bool]] = []

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        self.calls.append((obs.shape, explore))
        mask = self.layout.mask(obs)
        assert mask is not None
        return np.asarray(mask.argmax(axis=1), dtype=np.int64)

    def get_weights(self) -> Weights:
        return {}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        pass


# -- play_games, hand-checked on Nim and rock-paper-scissors ------------------------------------


def test_nim_first_player_wins_with_the_multiple_of_four_strategy() -> None:
    # 7 tokens: player_0 takes 3 (4 left), player_1 takes 1, player_0 takes 3: 3 moves.
    result = play_games(NimEnv, {P0: NimOptimal(), P1: Fixed(0)}, games=5, seed=0)
    assert result.games == 5
    np.testing.assert_array_equal(result.lengths, [3] * 5)
    first, second = result.record(P0), result.record(P1)
    assert (first.wins, first.draws, first.losses, first.mean_return) == (5, 0, 0, 1.0)
    # The loser's -1 comes from the winner's move: counted once, at the episode's end.
    assert (second.wins, second.draws, second.losses, second.mean_return) == (0, 0, 5, -1.0)


def test_nim_second_player_wins_when_the_first_takes_one_each_time() -> None:
    # 7 -> 6 (player_0 takes 1), player_1 takes 2 -> 4, 4 -> 3, player_1 takes 3: 4 moves.
    result = play_games(NimEnv, {P0: Fixed(0), P1: NimOptimal()}, games=3, seed=0)
    np.testing.assert_array_equal(result.lengths, [4, 4, 4])
    np.testing.assert_array_equal(result.returns[P1], [1.0, 1.0, 1.0])
    assert result.record(P0).losses == 3 and result.record(P1).wins == 3


def test_one_player_may_play_both_roles() -> None:
    # 5 tokens taken one at a time: player_0 takes the 1st, 3rd and 5th, and wins in 5 moves.
    take_one = Fixed(0)
    result = play_games(lambda: NimEnv(pile=5), {P0: take_one, P1: take_one}, 2, seed=0)
    np.testing.assert_array_equal(result.lengths, [5, 5])
    assert result.record(P0).fractions() == {"win": 1.0, "draw": 0.0, "loss": 0.0}


def test_rock_paper_scissors_sums_every_round_of_a_simultaneous_game() -> None:
    result = play_games(
        lambda: RockPaperScissorsEnv(rounds=3), {P0: Fixed(1), P1: Fixed(0)}, games=2, seed=0
    )
    np.testing.assert_array_equal(result.returns[P0], [3.0, 3.0])  # paper beats rock, 3 rounds
    np.testing.assert_array_equal(result.returns[P1], [-3.0, -3.0])
    np.testing.assert_array_equal(result.lengths, [3, 3])
    tie = play_games(RockPaperScissorsEnv, {P0: Fixed(2), P1: Fixed(2)}, games=4, seed=0)
    assert tie.record(P0).draws == 4 and tie.record(P1).draws == 4


def test_paper_earns_half_a_point_a_round_against_the_biased_rock_player() -> None:
    games = 2000
    result = play_games(
        lambda: RockPaperScissorsEnv(rounds=1),
        {P0: Fixed(1), P1: BiasedRockPlayer(seed=0)},
        games,
        seed=0,
    )
    record = result.record(P0)
    # The per-game standard deviation is sqrt(7/12) ~ 0.76; 0.07 is 4 standard errors.
    assert record.mean_return == pytest.approx(0.5, abs=0.07)
    fractions = record.fractions()
    assert fractions["win"] == pytest.approx(2 / 3, abs=0.045)
    assert fractions["draw"] == pytest.approx(1 / 6, abs=0.035)
    assert record.wins + record.draws + record.losses == games


# -- seat_results -------------------------------------------------------------------------------


def test_seat_results_on_nim_hand_checked() -> None:
    # The optimal player wins from either seat of 7 tokens against take-one (7 = 4 + 3 first;
    # second, take-one leaves 6 and it leaves 4).
    assert seat_results(NimEnv, NimOptimal(), Fixed(0), 3, seed=0) == {
        "first": {"win": 1.0, "draw": 0.0, "loss": 0.0},
        "second": {"win": 1.0, "draw": 0.0, "loss": 0.0},
    }
    # ...and take-one loses from either seat against it.
    losses = seat_results(NimEnv, Fixed(0), NimOptimal(), 3, seed=0)
    assert losses["first"]["loss"] == 1.0 and losses["second"]["loss"] == 1.0


def test_seat_results_minimax_never_loses_to_random_on_tictactoe() -> None:
    results = seat_results(tictactoe, TicTacToeMinimax(seed=1), RandomPlayer(seed=2), 100, seed=0)
    assert set(results) == {"first", "second"}
    for seat in results.values():
        assert seat["loss"] == 0.0 and seat["win"] > 0.5
        assert sum(seat.values()) == pytest.approx(1.0)


def test_seat_results_refuses_an_env_without_two_roles() -> None:
    with pytest.raises(MatchError, match="two-player"):
        seat_results(CorridorEnv, Fixed(1), Fixed(1), 1, seed=0)


# -- PolicyPlayer -------------------------------------------------------------------------------


def test_policy_player_packs_dict_states_and_acts_greedily() -> None:
    space = tictactoe().observation_space("player_1")
    policy = FirstLegal(ObservationLayout.of(space))
    learner = PolicyPlayer(policy, space)
    results = seat_results(tictactoe, learner, RandomPlayer(seed=0), 10, seed=0)
    assert sum(results["first"].values()) == pytest.approx(1.0)  # every move legal (asserted)
    # One state a call, packed as 9 mask slots and 18 board slots; greedy.
    assert policy.calls and all(call == ((1, 27), False) for call in policy.calls)
    policy.calls.clear()
    state = {"observation": np.zeros((3, 3, 2), np.int8), "action_mask": np.ones(9, np.int8)}
    actions = PolicyPlayer(policy, space, greedy=False).act_states([state, state])
    np.testing.assert_array_equal(actions, [0, 0])
    assert policy.calls == [((2, 27), True)]


# -- reproducibility and errors -----------------------------------------------------------------


def test_seeded_players_replay_the_same_match() -> None:
    def match(seed: int) -> tuple[np.ndarray, np.ndarray]:
        players = {"player_1": RandomPlayer(seed=seed), "player_2": RandomPlayer(seed=seed + 1)}
        result = play_games(tictactoe, players, games=30, seed=0)
        return result.returns["player_1"], result.lengths

    first, again, other = match(0), match(0), match(5)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_each_game_resets_the_env_with_its_own_derived_seed() -> None:
    seeds: list[int | None] = []

    class SeedRecordingNim(NimEnv):
        def reset(self, seed: int | None = None) -> None:
            seeds.append(seed)
            super().reset(seed)

    play_games(SeedRecordingNim, {P0: Fixed(0), P1: Fixed(0)}, 3, seed=7)
    assert seeds == [derive_seed(7, game) for game in range(3)] and len(set(seeds)) == 3


def test_an_episode_past_the_step_cap_is_an_error_naming_the_env() -> None:
    players = {P0: Fixed(0), P1: Fixed(1)}
    # Exactly at the cap is fine: 10 rounds in 10 interactions.
    result = play_games(lambda: RockPaperScissorsEnv(10), players, 1, seed=0, max_interactions=10)
    assert result.lengths.tolist() == [10]
    with pytest.raises(MatchError, match=r"RockPaperScissorsEnv.*within 10 interactions") as exc:
        play_games(lambda: RockPaperScissorsEnv(11), players, 1, seed=0, max_interactions=10)
    assert "\n" not in str(exc.value) and isinstance(exc.value, UserError)


def test_players_must_match_the_roles() -> None:
    with pytest.raises(MatchError, match=r"roles \['player_0', 'player_1'\].*\['player_0'\]"):
        play_games(NimEnv, {P0: Fixed(0)}, 1, seed=0)
    with pytest.raises(MatchError, match="answered 2 actions for 1 state"):

        class TwoActions(Fixed):
            def act_states(self, states: Sequence[Any]) -> np.ndarray:
                return np.zeros(2, dtype=np.int64)

        play_games(NimEnv, {P0: TwoActions(0), P1: Fixed(0)}, 1, seed=0)
    with pytest.raises(ValueError, match="games >= 1"):
        play_games(NimEnv, {P0: Fixed(0), P1: Fixed(0)}, 0, seed=0)
