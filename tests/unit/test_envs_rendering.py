"""Envs built to be watched: rgb_array frames per reset and step, and envs that cannot render."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlactors.core import DEFAULT_ROLE
from rlactors.envs import EnvBatch, EnvSpec
from rlactors.envs.rendering import FrameTap, make_rendering_env
from rlactors.errors import EnvSpecError
from rlactors.evaluators import run_episodes


@pytest.fixture(autouse=True)
def _headless(monkeypatch: pytest.MonkeyPatch) -> None:
    # CartPole's pygame renderer draws offscreen; keep SDL from looking for a display or sound.
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


def test_a_video_gets_each_episodes_first_frame_and_one_per_step() -> None:
    env, renders = make_rendering_env(EnvSpec("CartPole-v1"), "rgb_array")
    frames: list[np.ndarray] = []
    batch = EnvBatch([FrameTap(env, renders, frames.append)])
    push_left = lambda obs: np.zeros(len(obs), dtype=np.int64)  # noqa: E731 - ends in ~10 steps
    lengths = [run_episodes(batch, push_left, seed)[0].length for seed in (1, 2)]
    batch.close()
    # The batch resets an env as its episode ends, and run_episodes again before the next:
    # neither reset is followed by a step of that episode, so neither adds a frame.
    assert len(frames) == sum(lengths) + 2
    assert frames[0].shape == (400, 600, 3) and frames[0].dtype == np.uint8
    # The first frame is the reset state, the last of the episode after its final step.
    assert not np.array_equal(frames[0], frames[lengths[0]])


class _HumanOnly(gym.Env[np.ndarray, int]):
    metadata: dict[str, Any] = {"render_modes": ["human"]}  # noqa: RUF012 - gymnasium's convention

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # An rlactors Env takes no render_mode at all.
        (
            "rlactors.envs.toy:CorridorEnv",
            "CorridorEnv has no 'rgb_array' render mode: it takes no ",
        ),
        # A Gymnasium env that does not list the mode (gymnasium.make passes it on regardless).
        (_HumanOnly, "_HumanOnly has no 'rgb_array' render mode (its render modes: human)"),
    ],
)
def test_an_env_without_rgb_array_frames_is_one_line(env: Any, message: str) -> None:
    with pytest.raises(EnvSpecError) as info:
        make_rendering_env(EnvSpec(env), "rgb_array")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_frame_that_is_not_an_rgb_image_is_refused() -> None:
    env, renders = make_rendering_env(EnvSpec("CartPole-v1"), "rgb_array")
    renders.render = lambda: np.zeros((4, 4), dtype=np.float32)  # type: ignore[method-assign]
    tap = FrameTap(env, renders, lambda frame: None)
    tap.reset(0)
    with pytest.raises(EnvSpecError, match=r"render\(\) returned an array of shape \(4, 4\)"):
        tap.interact({DEFAULT_ROLE: 0})
    tap.close()
