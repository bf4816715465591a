"""CheckedEnv: broken observations, rewards and actions fail loudly, naming env, role and step."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlactors.core import DEFAULT_ROLE, Env, Observation
from rlactors.envs import (
    CheckedEnv,
    EnvCheckError,
    NimEnv,
    ResetNeededError,
    RockPaperScissorsEnv,
    make_env,
)

ROLE = DEFAULT_ROLE


class BrokenEnv(Env):
    """One role, Box [3] float32 observations, that turns bad from interaction ``at_step`` on."""

    def __init__(self, fault: str, at_step: int = 2, action_space: gym.Space[Any] | None = None):
        self.fault, self.at_step = fault, at_step
        self._act = action_space or gym.spaces.Discrete(2)
        self.steps = 0

    @property
    def roles(self) -> tuple[str, ...]:
        return (ROLE,)

    def observation_space(self, role: str) -> gym.Space[Any]:
        return gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)

    def action_space(self, role: str) -> gym.Space[Any]:
        return self._act

    def reset(self, seed: int | None = None) -> None:
        self.steps = 0

    def interact(self, actions: Mapping[str, Any]) -> None:
        self.steps += 1

    def observe(self, role: str) -> Observation:
        state = np.zeros(3, dtype=np.float32)
        reward = 0.5
        if self.steps >= self.at_step:
            if self.fault == "nan":
                state[1] = np.nan
            elif self.fault == "inf":
                state[2] = np.inf
            elif self.fault == "shape":
                state = np.zeros(4, dtype=np.float32)
            elif self.fault == "dtype":
                state = np.zeros(3, dtype=np.float64)
            elif self.fault == "reward":
                reward = float("nan")
        return Observation(state, reward)


def play(env: CheckedEnv, steps: int, action: Any = 0) -> None:
    env.observe(ROLE)
    for _ in range(steps):
        env.interact({ROLE: action})
        env.observe(ROLE)


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("nan", r"observation has 1 non-finite values \(first at index \(1,\)\)"),
        ("inf", r"observation has 1 non-finite values \(first at index \(2,\)\)"),
        ("shape", r"observation shape \(4,\) differs from Box"),
        ("dtype", r"observation dtype float64 differs from Box"),
        ("reward", r"reward is not a finite number"),
    ],
)
def test_bad_observation_names_env_role_and_step(fault: str, problem: str) -> None:
    env = CheckedEnv(BrokenEnv(fault, at_step=2))
    env.reset(seed=0)
    play(env, 1)  # a first episode of one good step, so episode and total counts differ
    env.reset()
    with pytest.raises(EnvCheckError, match=problem) as info:
        play(env, 3)
    err = info.value
    assert (err.env_name, err.role, err.episode_step, err.total_steps) == ("BrokenEnv", ROLE, 2, 3)
    assert str(err).startswith("BrokenEnv, role 'agent', episode step 2 (total steps 3): ")


def test_nan_message_shows_the_value() -> None:
    env = CheckedEnv(BrokenEnv("nan", at_step=0), name="my-env")
    env.reset()
    with pytest.raises(EnvCheckError, match=r"my-env.*got \[ 0. nan  0.\] \(ndarray"):
        env.observe(ROLE)


def test_out_of_space_discrete_action() -> None:
    env = CheckedEnv(BrokenEnv("none"))
    env.reset()
    play(env, 2)
    with pytest.raises(EnvCheckError, match=r"step 2 .*action is not in Discrete\(2\); got 5"):
        env.interact({ROLE: 5})
    assert env.episode_step == 2  # the rejected action never reached the env
    with pytest.raises(EnvCheckError, match="action is not in Discrete"):
        env.interact({ROLE: 1.0})  # a float is not a discrete action


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        (np.array([np.nan], dtype=np.float32), "action has 1 non-finite values"),
        (np.array([2.0], dtype=np.float32), "outside the bounds"),
        (np.array([0.1, 0.2], dtype=np.float32), r"action shape \(2,\) differs"),
        (np.array(["a"]), "cannot be cast"),
    ],
)
def test_out_of_space_box_action(action: np.ndarray, problem: str) -> None:
    env = CheckedEnv(BrokenEnv("none", action_space=gym.spaces.Box(-1.0, 1.0, shape=(1,))))
    env.reset()
    env.interact({ROLE: np.array([0.5])})  # float64 for a float32 space is accepted
    with pytest.raises(EnvCheckError, match=f"BrokenEnv, role 'agent', episode step 1.*{problem}"):
        env.interact({ROLE: action})


def test_make_env_checks_actions_by_default() -> None:
    env = make_env("CartPole-v1")
    env.reset(seed=0)
    with pytest.raises(EnvCheckError, match=r"CartPole-v1, role 'agent', episode step 0 "):
        env.interact({ROLE: 2})


def test_roles_out_of_turn_or_missing() -> None:
    nim = CheckedEnv(NimEnv())
    nim.reset()
    with pytest.raises(EnvCheckError, match=r"NimEnv, role 'player_1'.*out of turn"):
        nim.interact({"player_1": 0})
    rps = CheckedEnv(RockPaperScissorsEnv())
    rps.reset()
    with pytest.raises(EnvCheckError, match=r"role 'player_1'.*has no action"):
        rps.interact({"player_0": 0})


def test_roles_the_env_does_not_have() -> None:
    nim = CheckedEnv(NimEnv())
    nim.reset()
    with pytest.raises(EnvCheckError, match=r"NimEnv, role 'nobody', episode step 0 .*not a role"):
        nim.interact({"nobody": 0})
    with pytest.raises(ValueError, match=r"NimEnv has no role 'nobody'; its roles are"):
        nim.observe("nobody")


def test_interact_before_reset_or_after_the_end() -> None:
    env = CheckedEnv(BrokenEnv("none"))
    with pytest.raises(ResetNeededError):
        env.interact({ROLE: 0})
    rps = CheckedEnv(RockPaperScissorsEnv(rounds=1))
    rps.reset()
    rps.interact({"player_0": 0, "player_1": 1})
    assert rps.observe("player_0").truncated
    with pytest.raises(ResetNeededError):
        rps.interact({"player_0": 0, "player_1": 1})


def test_error_survives_pickling() -> None:
    err = EnvCheckError("E", "r", 1, 2, "bad", np.array([np.nan]))
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and (back.episode_step, back.total_steps) == (1, 2)


@pytest.mark.parametrize("size", [3, 16, 17, 1000])
def test_non_finite_values_are_found_in_small_and_large_observations(size: int) -> None:
    # Small float arrays are checked in Python, larger ones with numpy: both must find them.
    from rlactors.envs.checks import _non_finite_problem

    state = np.zeros(size, np.float32)
    assert _non_finite_problem("observation", state) is None
    state[-1] = np.nan
    assert _non_finite_problem("observation", state) == (
        f"observation has 1 non-finite values (first at index ({size - 1},))"
    )
