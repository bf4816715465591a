"""MultiAgentQEvaluator: turn-based n-step transitions by hand, per-stream carry-over, the
league's seats, priorities, bad envs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from multiagent_envs import P0, P1, SixMoves

from rlactors.envs import EnvSpec
from rlactors.envs.errors import EnvCheckError
from rlactors.envs.toy import NimEnv, RockPaperScissorsEnv
from rlactors.multiagent.evaluator import SelfPlay
from rlactors.multiagent.mapping import RoleMapping
from rlactors.multiagent.q_evaluator import (
    PRIORITIES,
    MultiAgentQConfig,
    MultiAgentQEvaluator,
    MultiAgentQSample,
)
from rlactors.policies import DQNPolicyConfig


def _evaluator(
    env: Any, mapping: str = "independent", index: int = 0, **kwargs: Any
) -> MultiAgentQEvaluator:
    roles = tuple(env().roles)
    m = RoleMapping(roles, mapping)
    networks = {p: DQNPolicyConfig(hidden_sizes=(8,)) for p in m.learned_ids()}
    return MultiAgentQEvaluator(MultiAgentQConfig(EnvSpec.of(env), m, networks, **kwargs), index)


def _moves(batch: Any, column: str) -> list[int]:
    """The move numbers of a column of one-hot observations."""
    return list(batch[column].argmax(1))


def test_two_step_transitions_of_each_role_by_hand() -> None:
    ev = _evaluator(SixMoves, rollout_steps=6, n_step=2, gamma=0.5)
    out = ev.sample()
    p0, p1 = out.batches[P0], out.batches[P1]
    # p0: 0.25 + 0.5 * 0 to move 4; 0 + 0.5 * 1 to the end; 1 to the end. p1: 0.5 + 0.5 * 0 to
    # move 5; 0 + 0.5 * -1 to the end; -1 to the end.
    np.testing.assert_allclose(p0["rewards"], [0.25, 0.5, 1.0])
    np.testing.assert_allclose(p1["rewards"], [0.5, -0.5, -1.0])
    np.testing.assert_allclose(p0["discounts"], [0.25, 0.0, 0.0])
    np.testing.assert_allclose(p1["discounts"], [0.25, 0.0, 0.0])
    assert _moves(p0, "obs") == [0, 2, 4] and _moves(p1, "obs") == [1, 3, 5]
    # s_{t+2} of p0's first transition is its observation at its third move (move 4).
    assert _moves(p0, "next_obs") == [4, 6, 6] and _moves(p1, "next_obs") == [5, 6, 6]
    assert out.episodes == []  # the env is seen over on the next step
    (episode,) = ev.sample().episodes
    assert episode.role_returns == {P0: 1.25, P1: -0.5}
    assert episode.policy_ids == {P0: P0, P1: P1} and episode.length == 6


def test_moves_short_of_n_carry_over_to_the_next_sample() -> None:
    whole = _evaluator(SixMoves, rollout_steps=6, n_step=3, gamma=0.9).sample()
    split = _evaluator(SixMoves, rollout_steps=4, n_step=3, gamma=0.9)
    first = split.sample()
    # After 4 moves each role has made two, fewer than n = 3: nothing is complete yet.
    assert first.batches == {}
    second = split.sample()
    for role in (P0, P1):
        for column in ("obs", "actions", "rewards", "next_obs", "discounts"):
            np.testing.assert_allclose(second.batches[role][column], whole.batches[role][column])


def test_a_cut_game_bootstraps_from_where_each_role_stands() -> None:
    out = _evaluator(lambda: SixMoves(cut=True), rollout_steps=7, n_step=2, gamma=0.5).sample()
    # No role is flagged done: at the end (no acting role) every open move is cut there.
    np.testing.assert_allclose(out.batches[P0]["rewards"], [0.25, 0.0, 0.0])
    np.testing.assert_allclose(out.batches[P0]["discounts"], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(out.batches[P1]["discounts"], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(out.batches[P1]["rewards"], [0.5, 0.0, 0.0])


def test_a_shared_policy_learns_from_both_seats_and_episodes_do_not_mix() -> None:
    ev = _evaluator(NimEnv, "shared", num_envs=3, rollout_steps=40, n_step=3, gamma=1.0)
    out = ev.sample()
    assert set(out.batches) == {"default"} and out.env_steps == 120
    batch = out.batches["default"]
    # Undiscounted, and every stream flushed at its game's end: a return is 0 (the game goes
    # on) or +-1 (its end), never a sum across two games.
    assert set(np.unique(batch["rewards"])) <= {-1.0, 0.0, 1.0}
    ended = batch["discounts"] == 0.0
    assert np.all(np.abs(batch["rewards"][ended]) == 1.0)
    assert np.all(batch["rewards"][~ended] == 0.0)
    for episode in out.episodes:
        assert sorted(episode.role_returns.values()) == [-1.0, 1.0]


def test_a_league_snapshot_plays_one_seat_and_its_moves_are_not_returned() -> None:
    roles = ("player_0", "player_1")
    mapping = RoleMapping(roles, "shared")
    config = MultiAgentQConfig(
        EnvSpec.of(NimEnv),
        mapping,
        {"default": DQNPolicyConfig(hidden_sizes=(8,))},
        rollout_steps=60,
        n_step=1,
        self_play=SelfPlay("default", latest_prob=0.0),
    )
    ev = MultiAgentQEvaluator(config)
    ev.set_weights({"league:1": ev.get_weights()["default"]})
    ev.set_league({"league:1": 1.0})
    out = ev.sample()
    league_episodes = [e for e in out.episodes if "league:1" in e.policy_ids.values()]
    assert league_episodes and set(out.batches) == {"default"}
    # Episode 0 started before the league existed (both seats learn); every later one has the
    # learner on one seat: about half the moves of a two-seat game are returned.
    seats = [next(r for r, p in e.policy_ids.items() if p == "default") for e in league_episodes]
    assert set(seats) == set(roles)
    moves = sum(e.length for e in out.episodes)
    assert len(out.batches["default"]) < 0.75 * moves


def test_priorities_are_the_policy_copys_td_errors() -> None:
    ev = _evaluator(RockPaperScissorsEnv, num_envs=2, rollout_steps=6, compute_priorities=True)
    out: MultiAgentQSample = ev.sample()
    assert set(out.batches) == {"player_0", "player_1"}
    for pid, batch in out.batches.items():
        policy = ev._policies[pid]
        expected = np.abs(policy.compute_td_error(batch))
        np.testing.assert_allclose(batch[PRIORITIES], expected, rtol=1e-6)
        assert batch[PRIORITIES].shape == (len(batch),) and len(batch) > 0


def test_epsilon_reaches_the_learned_copies_only() -> None:
    ev = _evaluator(NimEnv, "shared", epsilon=0.3)
    assert ev.get_metrics()["epsilon"] == 0.3
    ev.set_epsilon(0.1)
    assert ev._policies["default"].epsilon == 0.1
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        ev.set_epsilon(1.5)


def test_an_env_that_asks_a_done_role_to_act_is_named() -> None:
    ev = _evaluator(lambda: SixMoves(bad_turn=True), rollout_steps=8)
    with pytest.raises(EnvCheckError, match=r"role 'p1', episode step 6.*role is done"):
        ev.sample()


def test_weights_for_an_unknown_policy_are_refused() -> None:
    ev = _evaluator(NimEnv, "shared")
    with pytest.raises(ValueError, match="was sent weights for 'player_9'"):
        ev.set_weights({"player_9": {}})
