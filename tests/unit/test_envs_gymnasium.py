"""The Gymnasium adapter: make_env, GymnasiumEnv, and the way back out with to_gymnasium."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlactors.envs import (
    DEFAULT_ROLE,
    CheckedEnv,
    CorridorEnv,
    Env,
    GymnasiumEnv,
    NimEnv,
    ResetNeededError,
    UnknownEnvError,
    make_env,
    to_gymnasium,
)
from rlactors.errors import SpaceError

ROLE = DEFAULT_ROLE


def test_cartpole_observe_after_reset() -> None:
    env = make_env("CartPole-v1")
    assert isinstance(env, CheckedEnv)
    assert env.roles == (ROLE,)
    env.reset(seed=0)
    obs = env.observe(ROLE)
    assert obs.state.shape == (4,) and obs.state.dtype == np.float32
    assert obs.reward == 0.0 and not obs.terminated and not obs.truncated
    assert env.observation_space(ROLE).shape == (4,)
    assert env.action_space(ROLE) == gym.spaces.Discrete(2)


def test_cartpole_steps_until_terminated_then_needs_reset() -> None:
    env = make_env("CartPole-v1", check=False)
    assert isinstance(env, GymnasiumEnv)
    env.reset(seed=0)
    steps = 0
    while not env.observe(ROLE).done:
        env.interact({ROLE: 1})  # always pushing right topples the pole within ~10 steps
        steps += 1
        assert env.observe(ROLE).reward == 1.0
    assert env.observe(ROLE).terminated and steps < 50
    with pytest.raises(ResetNeededError, match=r"CartPole-v1.*reset"):
        env.interact({ROLE: 1})
    env.reset()
    env.interact({ROLE: 0})


def test_truncation_via_gym_make_kwargs() -> None:
    env = make_env("CartPole-v1", max_episode_steps=3)
    env.reset(seed=0)
    for action in (0, 1, 0):
        env.interact({ROLE: action})
    obs = env.observe(ROLE)
    assert obs.truncated and not obs.terminated


def test_seeding_is_reproducible() -> None:
    def rollout(seed: int) -> list[np.ndarray]:
        env = make_env("CartPole-v1")
        env.reset(seed=seed)
        states = [env.observe(ROLE).state]
        for _ in range(5):
            env.interact({ROLE: 0})
            states.append(env.observe(ROLE).state)
        return states

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3)[0], rollout(4)[0])


def test_use_before_reset_and_bad_roles_are_refused() -> None:
    env = make_env("CartPole-v1", check=False)
    with pytest.raises(ResetNeededError):
        env.observe(ROLE)
    with pytest.raises(ResetNeededError):
        env.interact({ROLE: 0})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no role 'nobody'"):
        env.observe("nobody")
    with pytest.raises(ValueError, match="one action for each acting role"):
        env.interact({"nobody": 0})


def test_unknown_env_id_suggests_close_matches_in_one_line() -> None:
    with pytest.raises(UnknownEnvError) as info:
        make_env("CartPole-v2")
    err = info.value
    assert isinstance(err, ValueError)
    assert "CartPole-v1" in err.close_matches
    message = str(err)
    assert "'CartPole-v2'" in message and "'CartPole-v1'" in message and "\n" not in message
    assert err.__cause__ is None and err.__suppress_context__  # no gymnasium chain
    assert str(pickle.loads(pickle.dumps(err))) == message  # crosses process boundaries


def test_unknown_env_id_without_any_match_says_so() -> None:
    with pytest.raises(UnknownEnvError, match="no close match"):
        make_env("Zzzqqq-v0")


def test_dict_observations_are_accepted_and_spaces_without_a_layout_refused() -> None:
    class DictObs(gym.Env[dict[str, Any], Any]):
        observation_space = gym.spaces.Dict({"a": gym.spaces.Discrete(2)})
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
            return {"a": 1}, {}

    env = GymnasiumEnv(DictObs())
    env.reset()
    assert env.observe(DEFAULT_ROLE).state == {"a": 1}

    class TextObs(DictObs):
        observation_space = gym.spaces.Text(4)  # type: ignore[assignment]

    with pytest.raises(SpaceError, match=r"TextObs: observation.*Text.*no fixed-size layout"):
        GymnasiumEnv(TextObs())


@pytest.mark.parametrize("make", [lambda: make_env("CartPole-v1"), CorridorEnv])
def test_to_gymnasium_passes_check_env(make: Callable[[], Env]) -> None:
    gym_env = to_gymnasium(make())
    with warnings.catch_warnings():
        # Warnings are advice (CartPole's infinite bounds; no spec to remake alternative
        # render modes from); check_env fails by raising.
        warnings.simplefilter("ignore")
        check_env(gym_env)


def test_to_gymnasium_round_trip_matches_the_env() -> None:
    gym_env = to_gymnasium(make_env("CartPole-v1"))
    raw = gym.make("CartPole-v1")
    obs, _ = gym_env.reset(seed=7)
    raw_obs, _ = raw.reset(seed=7)
    np.testing.assert_array_equal(obs, raw_obs)
    for _ in range(3):
        got = gym_env.step(1)
        want = raw.step(1)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1:4] == want[1:4]


def test_to_gymnasium_refuses_multi_role_envs_and_wrong_roles() -> None:
    with pytest.raises(ValueError, match="single-role"):
        to_gymnasium(NimEnv())
    with pytest.raises(ValueError, match="no role 'x'"):
        to_gymnasium(CorridorEnv(), role="x")
