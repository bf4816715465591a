"""MultiAgentEvaluator: turn-based credit by hand, batches per policy, bad envs."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from multiagent_envs import P0, P1, FourMoves

from rlactors.envs import EnvSpec
from rlactors.envs.errors import EnvCheckError
from rlactors.envs.toy import NimEnv, RockPaperScissorsEnv
from rlactors.multiagent.evaluator import MultiAgentEvaluator, MultiAgentRolloutConfig, SelfPlay
from rlactors.multiagent.mapping import RoleMapping
from rlactors.policies import ActorCriticConfig, ActorCriticPolicy


def _evaluator(env: Any, mapping: str = "shared", **kwargs: Any) -> MultiAgentEvaluator:
    roles = tuple(env().roles)
    m = RoleMapping(roles, mapping)
    config = MultiAgentRolloutConfig(
        EnvSpec.of(env), m, {p: ActorCriticConfig() for p in m.learned_ids()}, **kwargs
    )
    return MultiAgentEvaluator(config)


@pytest.mark.parametrize(
    ("gamma", "expected"), [(1.0, [1.0, 1.0, -0.5, -1.0]), (0.5, [0.5, 1.0, 0.0, -1.0])]
)
def test_turn_based_returns_by_hand(gamma: float, expected: list[float]) -> None:
    # lambda 1: returns are the discounted sums of each role's own transitions. p0: 0 then +1;
    # p1: 0.5 (dealt by p0's second move, inside p1's first transition) then -1.
    ev = _evaluator(FourMoves, "independent", rollout_steps=4, gamma=gamma, gae_lambda=1.0)
    out = ev.rollout()
    got = list(out.batches[P0]["returns"]) + list(out.batches[P1]["returns"])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # Each row's observation is the move it was made at.
    assert list(out.batches[P0]["obs"].argmax(1)) == [0, 2]
    assert list(out.batches[P1]["obs"].argmax(1)) == [1, 3]
    assert out.env_steps == 4 and out.episodes == []  # the env is seen over on the next step
    following = ev.rollout()
    (episode,) = [e for e in following.episodes]
    assert episode.role_returns == {P0: 1.0, P1: -0.5}
    assert episode.length == 4 and episode.policy_ids == {P0: P0, P1: P1}
    assert episode.episode_return == pytest.approx(0.25)


def test_a_move_open_at_the_end_of_a_rollout_closes_in_the_next() -> None:
    ev = _evaluator(FourMoves, "independent", rollout_steps=3, gamma=1.0, gae_lambda=1.0)
    first = ev.rollout()
    # p0's first move closed at its second (reward 0, bootstrapped from V(move 2)); p1's is open.
    assert len(first.batches[P0]) == 1 and P1 not in first.batches
    values = first.batches[P0]["values"]
    second = ev.rollout()  # step 4 closes all three open moves
    assert len(second.batches[P0]) == 1 and len(second.batches[P1]) == 2
    np.testing.assert_allclose(second.batches[P1]["returns"], [-0.5, -1.0], atol=1e-6)
    np.testing.assert_allclose(second.batches[P0]["returns"], [1.0], atol=1e-6)
    assert np.isfinite(values).all()


def test_shared_policy_gets_every_role_in_one_batch() -> None:
    ev = _evaluator(NimEnv, "shared", num_envs=3, rollout_steps=20)
    out = ev.rollout()
    assert set(out.batches) == {"default"}
    assert out.env_steps == 60
    for e in out.episodes:  # zero-sum: the winner's +1 is the loser's -1
        assert sorted(e.role_returns.values()) == [-1.0, 1.0]


def test_simultaneous_envs_give_one_batch_per_independent_policy() -> None:
    ev = _evaluator(RockPaperScissorsEnv, "independent", num_envs=2, rollout_steps=6)
    out = ev.rollout()
    assert set(out.batches) == {"player_0", "player_1"}
    # 2 envs x 6 steps of 3-round episodes: the first episode of each env is seen over (and
    # recorded) at step 4; the second ends at step 6 and is recorded in the next rollout.
    assert len(out.episodes) == 2
    assert len(out.batches["player_0"]) == 2 * 6
    for batch in out.batches.values():
        assert batch["obs"].shape[1] == 4


def test_an_env_that_asks_a_done_role_to_act_is_named() -> None:
    ev = _evaluator(lambda: FourMoves(bad_turn=True), "independent", rollout_steps=6)
    with pytest.raises(EnvCheckError, match=r"role 'p1', episode step 4.*role is done"):
        ev.rollout()


def test_weights_for_an_unknown_policy_are_refused() -> None:
    ev = _evaluator(NimEnv)
    with pytest.raises(ValueError, match="'player_9'"):
        ev.set_weights({"player_9": {}})


# -- trajectories (gae_lambda=None, IMPALA) ------------------------------------------------------


def _time_major(batch: Any, name: str, steps: int) -> np.ndarray:
    column = np.asarray(batch[name])
    return column.reshape(steps, len(column) // steps, *column.shape[1:])


@pytest.mark.parametrize("cut", [False, True])
def test_trajectory_segments_by_hand(cut: bool) -> None:
    # Shared policy, 2 envs, T = 3 moves. Each 4-step episode gives every seat 2 moves, and the
    # step that sees it over starts the next: after 3 rollouts (9 steps) each of the 4 seats
    # has closed 4 moves, one segment of 3 plus 1 left; rollout 4 closes 2 more: a second
    # segment, starting with that left-over move (the end of episode 2).
    gamma = 0.5
    ev = _evaluator(
        lambda: FourMoves(cut=cut), num_envs=2, rollout_steps=3, gamma=gamma, gae_lambda=None
    )
    assert ev.rollout().batches == {} and ev.rollout().batches == {}
    third, fourth = ev.rollout(), ev.rollout()
    p0_moves = [([0, 2, 0], [0.0, 1.0, 0.0], [gamma, 0.0, gamma], [2, 4, 2])]
    p1_moves = [([1, 3, 1], [0.5, -1.0, 0.5], [gamma, 0.0, gamma], [3, 4, 3])]
    p0_moves.append(([2, 0, 2], [1.0, 0.0, 1.0], [0.0, gamma, 0.0], [4, 2, 4]))
    p1_moves.append(([3, 1, 3], [-1.0, 0.5, -1.0], [0.0, gamma, 0.0], [4, 3, 4]))
    for n, out in enumerate((third, fourth)):
        (batch,) = out.batches.values()
        assert len(batch) == 3 * 4  # [T, S]: one segment per (env, role) seat
        # Segments are side by side in seat order: (env 0, p0), (env 0, p1), (env 1, p0), ...
        expected = [p0_moves[n], p1_moves[n], p0_moves[n], p1_moves[n]]
        obs, next_obs = _time_major(batch, "obs", 3), _time_major(batch, "next_obs", 3)
        np.testing.assert_array_equal(obs.argmax(-1).T, [e[0] for e in expected])
        np.testing.assert_allclose(_time_major(batch, "rewards", 3).T, [e[1] for e in expected])
        np.testing.assert_allclose(_time_major(batch, "discounts", 3).T, [e[2] for e in expected])
        np.testing.assert_array_equal(next_obs.argmax(-1).T, [e[3] for e in expected])
        ended = _time_major(batch, "discounts", 3) == 0.0
        np.testing.assert_array_equal(_time_major(batch, "truncated", 3), ended & cut)
        assert not batch["crashed"].any()
        # The behaviour policy's log-probs and values, at those observations and actions.
        policy = ActorCriticPolicy(
            FourMoves().observation_space(P0), gym.spaces.Discrete(2), ActorCriticConfig(), seed=0
        )
        policy.set_weights(ev.get_weights()["default"])
        log_probs, _, values = policy.evaluate_actions(batch["obs"], batch["actions"])
        np.testing.assert_allclose(batch["log_probs"], log_probs.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(batch["values"], values.detach().numpy(), atol=1e-5)


def test_trajectories_hold_no_league_snapshot_moves() -> None:
    # T = 2 = a seat's moves in one game, so every segment is one seat of one episode. After
    # the first episode (the learner against itself), every game is the learner against a
    # snapshot: only the learner's seat makes a segment.
    roles = FourMoves().roles
    config = MultiAgentRolloutConfig(
        EnvSpec.of(FourMoves),
        RoleMapping(roles, "shared"),
        {"default": ActorCriticConfig()},
        rollout_steps=2,
        gae_lambda=None,
        self_play=SelfPlay("default", latest_prob=0.0),
    )
    ev = MultiAgentEvaluator(config)
    ev.set_weights({"league:1": ev.get_weights()["default"]})
    ev.set_league({"league:1": 1.0})
    segments: list[list[int]] = []
    episodes = []
    for _ in range(11):  # 22 steps: 5 games closed and recorded, the 6th not closed yet
        out = ev.rollout()
        episodes += out.episodes
        if "default" in out.batches:
            obs = _time_major(out.batches["default"], "obs", 2).argmax(-1)
            segments += obs.T.tolist()
    assert len(episodes) == 5
    learned_seats = [[0, 2] if e.policy_ids[P0] == "default" else [1, 3] for e in episodes[1:]]
    assert all(sorted(e.policy_ids.values()) == ["default", "league:1"] for e in episodes[1:])
    assert sorted(segments) == sorted([[0, 2], [1, 3], *learned_seats])


def test_gae_lambda_is_none_or_a_fraction() -> None:
    with pytest.raises(ValueError, match="gae_lambda must lie in"):
        _evaluator(FourMoves, gae_lambda=1.5)


def test_a3c_workers_compute_a_gradient_per_trained_policy() -> None:
    from rlactors.multiagent.gradients import MultiAgentGradientEvaluator

    roles = (P0, P1)
    m = RoleMapping(roles, "independent")
    networks = {p: ActorCriticConfig(hidden_sizes=(8,)) for p in roles}
    config = MultiAgentRolloutConfig(
        EnvSpec.of(FourMoves), m, networks, rollout_steps=4, trained=(P1,)
    )
    worker = MultiAgentGradientEvaluator(config)
    answer = worker.compute_gradients()
    assert set(answer.gradients) == {P1}  # p0 moved too, but is not trained
    weights = worker.get_weights()[P1]
    assert {k: v.shape for k, v in answer.gradients[P1].items()} == {
        k: v.shape for k, v in weights.items()
    }
    assert all(np.isfinite(g).all() for g in answer.gradients[P1].values())
    assert answer.stats[P1]["samples"] == 2 and answer.env_steps == 4
