"""Dict, Tuple and Discrete observations through GymnasiumEnv, CheckedEnv and EnvBatch; action
masks checked at the env boundary; the structured toy envs."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlactors.envs import CheckedEnv, EnvBatch, EnvCheckError, GymnasiumEnv, make_env
from rlactors.envs.toy_structured import DictMatchEnv, MaskedChoiceEnv
from rlactors.errors import SpaceError

ROLE = "agent"


class _Scripted(gym.Env[Any, Any]):
    """Returns the observations it is given, one per step, then terminates."""

    def __init__(self, space: gym.Space[Any], observations: list[Any], n_actions: int = 3):
        self.observation_space = space
        self.action_space = gym.spaces.Discrete(n_actions)
        self._observations = observations
        self._t = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        self._t = 0
        return self._observations[0], {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._t += 1
        done = self._t == len(self._observations) - 1
        return self._observations[self._t], 0.0, done, False, {}


MASKED = gym.spaces.Dict(
    {
        "observation": gym.spaces.Box(0, 1, (2,), np.float32),
        "action_mask": gym.spaces.MultiBinary(3),
    }
)


def _masked_obs(mask: list[int]) -> dict[str, Any]:
    return {"observation": np.zeros(2, np.float32), "action_mask": np.array(mask, np.int8)}


def test_blackjack_tuple_observations_are_checked_and_packed() -> None:
    batch = EnvBatch([make_env("Blackjack-v1") for _ in range(3)])
    batch.reset(seed=0)
    step = batch.observe()
    assert step.states.shape == (3, 3) and step.states.dtype == np.float32
    for _ in range(20):
        batch.interact(np.ones(3, np.int64))
        after = batch.observe()
        assert after.next_states.shape == (3, 3)
        assert np.all((after.states[:, 0] >= 0) & (after.states[:, 0] < 32))


def test_frozen_lake_discrete_observations_travel_as_indices() -> None:
    batch = EnvBatch([make_env("FrozenLake-v1") for _ in range(2)])
    batch.reset(seed=0)
    assert batch.observe().states.shape == (2,) and batch.observe().states.dtype == np.int64


def test_a_dict_leaf_outside_its_space_names_the_leaf_and_the_step() -> None:
    bad = {"observation": np.full(2, np.nan, np.float32), "action_mask": np.array([1, 0, 0])}
    env = CheckedEnv(GymnasiumEnv(_Scripted(MASKED, [_masked_obs([1, 1, 0]), bad]), name="S"))
    env.reset()
    env.observe(ROLE)
    env.interact({ROLE: 0})
    with pytest.raises(EnvCheckError, match=r"S, role 'agent', episode step 1.*\['observation'\]"):
        env.observe(ROLE)


def test_a_mask_with_no_legal_action_fails_with_env_role_and_step() -> None:
    observations = [_masked_obs([1, 0, 0]), _masked_obs([0, 0, 0]), _masked_obs([0, 0, 0])]
    env = CheckedEnv(GymnasiumEnv(_Scripted(MASKED, observations), name="S"))
    env.reset()
    env.observe(ROLE)
    env.interact({ROLE: 0})
    with pytest.raises(EnvCheckError, match=r"S, role 'agent', episode step 1.*allows no action"):
        env.observe(ROLE)


def test_an_empty_mask_at_the_end_of_an_episode_is_fine() -> None:
    # PettingZoo's games show an all-zero mask once the game is over.
    observations = [_masked_obs([1, 0, 0]), _masked_obs([0, 0, 0])]
    env = CheckedEnv(GymnasiumEnv(_Scripted(MASKED, observations), name="S"))
    env.reset()
    env.observe(ROLE)
    env.interact({ROLE: 0})
    assert env.observe(ROLE).terminated


def test_a_mask_of_the_wrong_length_is_refused_naming_env_and_role() -> None:
    with pytest.raises(SpaceError, match=r"S, role 'agent'.*3 entries.*Discrete\(4\) has 4"):
        CheckedEnv(GymnasiumEnv(_Scripted(MASKED, [_masked_obs([1, 1, 1])], 4), name="S"))


def test_dict_match_needs_both_parts() -> None:
    env = DictMatchEnv(episode_steps=1000)
    obs, _ = env.reset(seed=3)
    by_colour = np.zeros((3, 2))
    returns = {"both": 0.0, "colour": 0.0}
    for _ in range(1000):
        right = (obs["colour"] + int(obs["position"][0] > 0)) % 2
        colour_only = obs["colour"] % 2
        by_colour[obs["colour"], right] += 1
        nxt, reward, *_ = env.step(np.int64(right))
        returns["both"] += reward
        returns["colour"] += 1.0 if colour_only == right else -1.0
        obs = nxt
    assert returns["both"] == 1000
    assert abs(returns["colour"]) < 150  # about 0: half right
    assert np.all(by_colour > 100)  # every colour sees both right actions


def test_masked_choice_penalises_illegal_picks_and_ends_the_episode() -> None:
    env = MaskedChoiceEnv(num_actions=4, pettingzoo_style=True)
    masks = [env.reset(seed=seed)[0]["action_mask"] for seed in range(20)]
    assert all(mask.dtype == np.int8 and mask.any() for mask in masks)
    obs, _ = env.reset(seed=next(s for s, mask in enumerate(masks) if not mask.all()))
    assert set(obs) == {"observation", "action_mask"}
    illegal = int(np.flatnonzero(obs["action_mask"] == 0)[0])
    _, reward, terminated, _, info = env.step(np.int64(illegal))
    assert reward == -100.0 and terminated and info["illegal"]


def test_a_tuple_observing_rlactors_env_takes_wrappers() -> None:
    """Regression: wrapping an rlactors Env (to_gymnasium) copied its state with .copy(), which
    a Tuple observation does not have."""
    from rlactors.envs import EnvSpec

    spec = EnvSpec(
        lambda: GymnasiumEnv(gym.make("Blackjack-v1")),
        wrappers=({"TimeLimit": {"max_episode_steps": 5}},),
    )
    env = spec.make()
    env.reset(0)
    state = env.observe(ROLE).state
    assert isinstance(state, tuple) and len(state) == 3


def test_the_configured_mask_key_is_the_one_checked() -> None:
    """Regression: envs and their checks read the default key 'action_mask', whatever key the
    policy was told: a non-binary 'action_mask' leaf refused the env, and the real mask went
    unchecked."""
    space = gym.spaces.Dict(
        {"action_mask": gym.spaces.Discrete(3), "legal": gym.spaces.MultiBinary(3)}
    )
    observations = [
        {"action_mask": 1, "legal": np.array([1, 0, 0], np.int8)},
        {"action_mask": 2, "legal": np.array([0, 0, 0], np.int8)},
        {"action_mask": 2, "legal": np.array([0, 0, 0], np.int8)},
    ]
    env = CheckedEnv(GymnasiumEnv(_Scripted(space, observations), name="S"), mask_key="legal")
    env.reset()
    env.observe(ROLE)
    env.interact({ROLE: 0})
    with pytest.raises(EnvCheckError, match="allows no action"):
        env.observe(ROLE)
    batch = EnvBatch([GymnasiumEnv(_Scripted(space, observations))])
    batch.reset()
    assert batch.observe().states.shape == (1, 4)
