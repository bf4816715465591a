"""The toy envs, played to the end: single-role, turn-based and simultaneous."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rlactors.envs import (
    DEFAULT_ROLE,
    CheckedEnv,
    CorridorEnv,
    NimEnv,
    ResetNeededError,
    RockPaperScissorsEnv,
)
from rlactors.envs.toy import PLAYERS, SlowEnv

P0, P1 = PLAYERS


def test_corridor_walking_right_reaches_the_goal() -> None:
    env = CheckedEnv(CorridorEnv(length=4))
    env.reset(seed=0)
    np.testing.assert_array_equal(env.observe(DEFAULT_ROLE).state, [1, 0, 0, 0])
    rewards = []
    for _ in range(3):
        env.interact({DEFAULT_ROLE: 1})
        rewards.append(env.observe(DEFAULT_ROLE).reward)
    obs = env.observe(DEFAULT_ROLE)
    np.testing.assert_array_equal(obs.state, [0, 0, 0, 1])
    assert rewards == [0.0, 0.0, 1.0] and obs.terminated and not obs.truncated
    with pytest.raises(ResetNeededError):
        env.interact({DEFAULT_ROLE: 1})


def test_corridor_wall_and_time_limit() -> None:
    env = CheckedEnv(CorridorEnv(length=4, max_steps=3))
    env.reset()
    for action in (0, 1, 0):  # bump the wall, step right, step back
        env.interact({DEFAULT_ROLE: action})
    obs = env.observe(DEFAULT_ROLE)
    assert obs.info["position"] == 0 and obs.truncated and not obs.terminated
    assert obs.reward == 0.0


def test_nim_turn_based_game_played_to_the_end() -> None:
    env = CheckedEnv(NimEnv(pile=7, max_take=3))
    env.reset()
    # player_0 plays the winning strategy (leave a multiple of 4), player_1 always takes 1.
    moves = []
    while env.acting_roles():
        (role,) = env.acting_roles()
        obs = env.observe(role)
        assert obs.state[-1] == 1.0  # "my turn" flag
        other = P1 if role == P0 else P0
        assert env.observe(other).state[-1] == 0.0
        left = obs.info["left"]
        take = left % 4 if role == P0 else 1
        moves.append((role, take))
        env.interact({role: take - 1})
    assert moves == [(P0, 3), (P1, 1), (P0, 3)]
    winner, loser = env.observe(P0), env.observe(P1)
    assert winner.reward == 1.0 and loser.reward == -1.0
    assert winner.terminated and loser.terminated
    np.testing.assert_array_equal(winner.state[:8], np.eye(8)[0])  # the pile is empty
    with pytest.raises(ResetNeededError):
        env.interact({P1: 0})


def test_nim_takes_at_most_what_is_left() -> None:
    env = NimEnv(pile=2, max_take=3)
    env.reset()
    env.interact({P0: 2})  # asks for 3, takes the 2 left
    assert env.observe(P0).info["left"] == 0 and env.observe(P0).reward == 1.0


def test_nim_refuses_moves_out_of_turn() -> None:
    env = NimEnv()
    env.reset()
    with pytest.raises(ValueError, match="acting role"):
        env.interact({P1: 0})


def test_rock_paper_scissors_simultaneous_game_played_to_the_end() -> None:
    env = CheckedEnv(RockPaperScissorsEnv(rounds=3))
    env.reset()
    np.testing.assert_array_equal(env.observe(P0).state, [0, 0, 0, 1])  # no round yet
    rounds = [(0, 2), (0, 1), (2, 2)]  # rock beats scissors, paper beats rock, tie
    returns = dict.fromkeys(PLAYERS, 0.0)
    for a, b in rounds:
        assert env.acting_roles() == PLAYERS
        assert not env.observe(P0).done
        env.interact({P0: a, P1: b})
        for role in PLAYERS:
            returns[role] += env.observe(role).reward
    assert [env.observe(r).reward for r in PLAYERS] == [0.0, 0.0]
    assert returns == {P0: 0.0, P1: 0.0}
    np.testing.assert_array_equal(env.observe(P0).state, [0, 0, 1, 0])  # P1's scissors
    final = env.observe(P1)
    assert final.truncated and not final.terminated and env.acting_roles() == ()


def test_rock_paper_scissors_round_rewards_are_zero_sum() -> None:
    env = RockPaperScissorsEnv()
    for a in range(3):
        for b in range(3):
            env.reset()
            env.interact({P0: a, P1: b})
            r0, r1 = env.observe(P0).reward, env.observe(P1).reward
            assert r0 == -r1 and r0 == {0: 0.0, 1: 1.0, 2: -1.0}[(a - b) % 3]
    env.reset()
    env.interact({P0: 1, P1: 0})
    assert env.observe(P0).reward == 1.0  # paper beats rock


def test_toys_refuse_unknown_roles_and_use_before_reset() -> None:
    for env in (CorridorEnv(), NimEnv(), RockPaperScissorsEnv()):
        with pytest.raises(ResetNeededError):
            env.observe(env.roles[0])
        with pytest.raises(ValueError, match="no role"):
            env.action_space("nobody")


def _slow_episode(slow: SlowEnv, seed: int | None, policy: str) -> tuple[list[np.ndarray], float]:
    """One episode through CheckedEnv (which checks every observation against its space)."""
    env = CheckedEnv(slow)
    env.reset(seed=seed)
    states, total = [], 0.0
    while True:
        obs = env.observe(DEFAULT_ROLE)
        states.append(obs.state)
        if obs.truncated:
            return states, total
        # The target is readable from the observation itself, as a policy would read it.
        target = int(obs.state[0] * slow.n_actions)
        assert slow.target_action() == target
        env.interact({DEFAULT_ROLE: target if policy == "target" else 0})
        total += env.observe(DEFAULT_ROLE).reward


def test_slow_env_shapes_rewards_and_time_limit() -> None:
    slow = SlowEnv(step_ms=0, obs_size=64, episode_steps=50, n_actions=3)
    assert slow.observation_space(DEFAULT_ROLE).shape == (64,)
    assert slow.action_space(DEFAULT_ROLE).n == 3  # type: ignore[attr-defined]
    states, best = _slow_episode(slow, 0, "target")
    assert len(states) == 51 and all(s.shape == (64,) and s.dtype == np.float32 for s in states)
    assert best == 50.0  # reading observation[0] earns every reward
    _, fixed = _slow_episode(slow, 1, "always-0")
    assert 5 <= fixed <= 30  # a fixed action earns about a third of them
    obs = slow.observe(DEFAULT_ROLE)
    assert obs.truncated and not obs.terminated
    with pytest.raises(ResetNeededError):
        slow.interact({DEFAULT_ROLE: 0})


def test_slow_env_is_deterministic_under_its_seed() -> None:
    a, _ = _slow_episode(SlowEnv(step_ms=0, obs_size=8, episode_steps=10), 7, "target")
    b, _ = _slow_episode(SlowEnv(step_ms=0, obs_size=8, episode_steps=10), 7, "target")
    c, _ = _slow_episode(SlowEnv(step_ms=0, obs_size=8, episode_steps=10), 8, "target")
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.array_equal(np.stack(a), np.stack(c))
    env = SlowEnv(step_ms=0, obs_size=8, episode_steps=10)
    first, _ = _slow_episode(env, 7, "target")
    second, _ = _slow_episode(env, None, "target")  # no seed: the stream goes on
    assert not np.array_equal(np.stack(first), np.stack(second))


def test_slow_env_step_takes_its_latency() -> None:
    env = SlowEnv(step_ms=20, obs_size=4, episode_steps=5)
    env.reset(seed=0)
    t0 = time.monotonic()
    for _ in range(5):
        env.interact({DEFAULT_ROLE: 0})
    assert time.monotonic() - t0 >= 5 * 0.020


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"step_ms": -1}, "step_ms"),
        ({"step_ms": float("nan")}, "step_ms"),
        ({"obs_size": 0}, "obs_size"),
        ({"episode_steps": 0}, "episode_steps"),
        ({"n_actions": 1}, "n_actions"),
    ],
)
def test_slow_env_names_a_bad_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^SlowEnv: {field} must be >= ") as info:
        SlowEnv(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
