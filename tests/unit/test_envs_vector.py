"""EnvBatch: lockstep stepping and its autoreset semantics (what an n-step accumulator reads)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rlactors.core import EpisodeStats
from rlactors.envs import (
    CheckedEnv,
    CorridorEnv,
    EnvBatch,
    EnvCheckError,
    NimEnv,
    ResetNeededError,
    make_env,
)

RIGHT, LEFT = 1, 0


def test_reset_observation() -> None:
    batch = EnvBatch([CorridorEnv(3), CorridorEnv(3, max_steps=2)])
    batch.reset(seed=0)
    step = batch.observe()
    np.testing.assert_array_equal(step.states, [[1, 0, 0], [1, 0, 0]])
    assert step.states.dtype == np.float32 and step.rewards.dtype == np.float64
    np.testing.assert_array_equal(step.next_states, step.states)
    assert not step.done.any() and step.rewards.tolist() == [0.0, 0.0]


def test_terminated_env_returns_final_state_then_acts_on_reset_state() -> None:
    batch = EnvBatch([CorridorEnv(3), CorridorEnv(3, max_steps=10)])
    batch.reset(seed=0)
    batch.interact([RIGHT, LEFT])
    batch.interact([RIGHT, LEFT])
    after = batch.observe()
    # Env 0 reached the goal: next_states holds the true final state, states the new episode.
    np.testing.assert_array_equal(after.next_states[0], [0, 0, 1])
    np.testing.assert_array_equal(after.states[0], [1, 0, 0])
    assert after.terminated.tolist() == [True, False] and after.truncated.tolist() == [False] * 2
    assert after.rewards.tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(after.next_states[1], after.states[1])
    assert after.infos[0]["position"] == 2  # info of the final step
    # The next interact applies env 0's action to the new episode: no action is ignored.
    batch.interact([RIGHT, LEFT])
    nxt = batch.observe()
    np.testing.assert_array_equal(nxt.next_states[0], [0, 1, 0])
    assert not nxt.done.any() and nxt.rewards.tolist() == [0.0, 0.0]
    assert batch.pop_episode_stats() == [EpisodeStats(1.0, 2)]
    assert batch.pop_episode_stats() == []


def test_truncated_env_keeps_its_final_state_for_bootstrapping() -> None:
    batch = EnvBatch([CorridorEnv(5, max_steps=3)])
    batch.reset()
    for _ in range(3):
        batch.interact([RIGHT])
    after = batch.observe()
    assert after.truncated.tolist() == [True] and after.terminated.tolist() == [False]
    np.testing.assert_array_equal(after.next_states[0], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(after.states[0], [1, 0, 0, 0, 0])
    assert batch.pop_episode_stats() == [EpisodeStats(0.0, 3)]


def test_transitions_never_span_two_episodes() -> None:
    """What an n-step accumulator sees: (obs, next_obs) pairs are always one real env step."""
    batch = EnvBatch([CorridorEnv(3, max_steps=4) for _ in range(3)])
    batch.reset(seed=1)
    step = batch.observe()
    rng = np.random.default_rng(0)
    for _ in range(40):
        actions = rng.integers(0, 2, size=3)
        batch.interact(actions)
        after = batch.observe()
        pos = step.states.argmax(axis=1)
        nxt = after.next_states.argmax(axis=1)
        expected = np.clip(pos + np.where(actions == RIGHT, 1, -1), 0, None)
        np.testing.assert_array_equal(nxt, expected)
        assert (after.states[after.done].argmax(axis=1) == 0).all()  # fresh episodes
        step = after
    stats = batch.pop_episode_stats()
    assert stats and all(s.length <= 4 for s in stats)


def test_cartpole_batch_seeds_are_derived_and_reproducible() -> None:
    def first_states(seed: int | list[int | None]) -> np.ndarray:
        batch = EnvBatch([make_env("CartPole-v1") for _ in range(3)])
        batch.reset(seed)
        return batch.observe().states

    a, b = first_states(0), first_states(0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 4)
    assert not np.array_equal(a[0], a[1])  # each env gets its own derived seed
    assert not np.array_equal(first_states(1)[0], a[1])  # root seeds 0 and 1 share no env seed
    np.testing.assert_array_equal(first_states([5, 5, 5])[0], first_states([5, 6, 7])[0])
    with pytest.raises(ValueError, match="expected 3 seeds"):
        first_states([1, 2])


def test_cartpole_batch_autoresets_and_continues_seeded_streams() -> None:
    def run() -> tuple[np.ndarray, list[EpisodeStats]]:
        batch = EnvBatch([make_env("CartPole-v1") for _ in range(2)])
        batch.reset(seed=3)
        for _ in range(30):
            batch.interact(np.ones(2, dtype=np.int64))
        return batch.observe().states, batch.pop_episode_stats()

    (states_a, stats_a), (states_b, stats_b) = run(), run()
    np.testing.assert_array_equal(states_a, states_b)
    assert stats_a == stats_b and len(stats_a) >= 2  # pushing right ends episodes fast


def test_interact_only_steps_the_masked_envs() -> None:
    batch = EnvBatch([CorridorEnv(3), CorridorEnv(3)])
    batch.reset(seed=0)
    batch.interact([RIGHT, RIGHT], only=np.array([True, False]))
    after = batch.observe()
    np.testing.assert_array_equal(after.states, [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(after.next_states, after.states)
    assert after.infos == ({"position": 1}, {})
    batch.interact([RIGHT, LEFT], only=np.array([True, False]))  # env 0 reaches the goal
    after = batch.observe()
    assert after.rewards.tolist() == [1.0, 0.0] and after.done.tolist() == [True, False]
    np.testing.assert_array_equal(after.states[1], [1, 0, 0])  # env 1 never moved
    # Only env 0's episode ended, in 2 steps: the skipped steps count for nothing.
    assert batch.pop_episode_stats() == [EpisodeStats(1.0, 2)]
    batch.interact([LEFT, RIGHT])
    np.testing.assert_array_equal(batch.observe().states[1], [0, 1, 0])
    with pytest.raises(ValueError, match="mask of 2 envs"):
        batch.interact([RIGHT, RIGHT], only=np.array([True]))


def test_send_and_receive_step_the_envs_that_answered() -> None:
    """receive(wait="any") collects what ``ready`` says answered; the others stay in flight."""
    answered: list[list[int]] = [[1], [0, 2]]
    asked: list[list[int]] = []

    def ready(envs: Any, stepping: list[int]) -> list[int]:
        asked.append(stepping)
        return answered.pop(0)

    batch = EnvBatch([CorridorEnv(3), CorridorEnv(3), CorridorEnv(3)], ready=ready)
    batch.reset(seed=0)
    batch.send([RIGHT, RIGHT, RIGHT])
    assert batch.receive(wait="any").tolist() == [False, True, False]
    after = batch.observe()
    np.testing.assert_array_equal(after.states, [[1, 0, 0], [0, 1, 0], [1, 0, 0]])
    assert after.rewards.tolist() == [0.0, 0.0, 0.0] and after.infos[0] == {}
    assert batch.stepping.tolist() == [True, False, True]
    with pytest.raises(ValueError, match=r"env\(s\) \[0\] are still stepping"):
        batch.send([RIGHT, RIGHT, RIGHT], only=np.array([True, True, False]))
    batch.send([RIGHT, RIGHT, RIGHT], only=np.array([False, True, False]))  # env 1 again
    assert asked == [[0, 1, 2]]
    assert batch.receive(wait="any").tolist() == [True, False, True]
    assert asked[-1] == [0, 1, 2]
    np.testing.assert_array_equal(batch.observe().states[[0, 2]], [[0, 1, 0], [0, 1, 0]])
    # Lockstep collects every env still stepping; env 1 took its second step.
    assert batch.receive(wait="all").tolist() == [False, True, False]
    after = batch.observe()
    assert after.rewards.tolist() == [0.0, 1.0, 0.0] and after.done.tolist() == [False, True, False]
    assert batch.pop_episode_stats() == [EpisodeStats(1.0, 2)]
    assert not batch.stepping.any()
    batch.send([RIGHT, RIGHT, RIGHT])
    batch.reset(seed=0)  # drops the steps in flight
    assert not batch.stepping.any()


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one env"):
        EnvBatch([])
    with pytest.raises(ValueError, match="single-role"):
        EnvBatch([NimEnv()])
    with pytest.raises(ValueError, match=r"env 1 \(CorridorEnv\(length=4.*differs from env 0"):
        EnvBatch([CorridorEnv(3), CorridorEnv(4)])
    batch = EnvBatch([CheckedEnv(CorridorEnv(3)), CheckedEnv(CorridorEnv(3))])
    with pytest.raises(ResetNeededError):
        batch.observe()
    with pytest.raises(ResetNeededError):
        batch.interact([RIGHT, RIGHT])
    batch.reset()
    with pytest.raises(ValueError, match="expected 2 actions"):
        batch.interact([RIGHT])
    with pytest.raises(EnvCheckError, match="CorridorEnv, role 'agent'"):
        batch.interact([RIGHT, 7])


def test_an_observation_of_another_shape_is_refused_even_without_checks() -> None:
    """Regression: building each step's arrays with one reshape let an unchecked env's (2, 2)
    observation pass as the space's (4,), silently reordered."""
    import gymnasium as gym

    from rlactors.envs import GymnasiumEnv

    class Misshapen(gym.Wrapper):  # type: ignore[type-arg]
        def step(self, action: Any) -> Any:
            obs, *rest = self.env.step(action)
            return (obs.reshape(2, 2), *rest)

    batch = EnvBatch([GymnasiumEnv(Misshapen(gym.make("CartPole-v1"))) for _ in range(2)])
    batch.reset(seed=0)
    match = r"observations of shape\(s\) \[\(2, 2\)\] do not fit the observation space's shape"
    with pytest.raises(ValueError, match=match):
        batch.interact(np.zeros(2, dtype=np.int64))
