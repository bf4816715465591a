"""Small Gymnasium envs with structured observations and action masks, for tests and examples.

They are plain ``gymnasium.Env`` classes (so SB3, Gymnasium's checker and any other library can
use them too), registered under the ``rlactors/`` namespace when :mod:`rlactors.envs` is
imported — as in every actor process, so their ids work on every backend:

* ``rlactors/DictMatch-v0`` (:class:`DictMatchEnv`): a Dict observation whose reward needs
  both its Box part and its Discrete part.
* ``rlactors/MaskedChoice-v0`` (:class:`MaskedChoiceEnv`): a Dict observation with an
  ``action_mask`` (MultiBinary); an illegal action ends the episode with a large penalty.
* ``rlactors/MaskedChoicePZ-v0``: the same game observed as PettingZoo's classic games are,
  ``{"observation": Box, "action_mask": Box(0, 1, int8)}``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class _StepDrawingEnv(gym.Env[dict[str, Any], np.int64]):
    """What both envs share: every step draws the next observation; ``reset`` draws the first."""

    _t = 0  # steps into the episode

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode (``seed`` reseeds the draws)."""
        super().reset(seed=seed)
        self._t = 0
        return self._draw(), {}

    def _draw(self) -> dict[str, Any]:
        raise NotImplementedError


class DictMatchEnv(_StepDrawingEnv):
    """Each step shows a colour (``Discrete(3)``) and a position (``Box(-1, 1, (1,))``); the
    right action is ``(colour + [position > 0]) % 2``, worth +1, the wrong one -1.

    Colour and position are drawn independently and uniformly, so a policy that sees only one
    of them is right half of the time: its expected return is 0, the best possible with one
    part. Seeing both, every step is +1: the return of an episode is ``episode_steps``.

    Args:
        episode_steps: Steps per episode (it then truncates).
    """

    def __init__(self, episode_steps: int = 10) -> None:
        self.observation_space = gym.spaces.Dict(
            {
                "colour": gym.spaces.Discrete(3),
                "position": gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
            }
        )
        self.action_space = gym.spaces.Discrete(2)
        self.episode_steps = episode_steps
        self._t = 0
        self._obs: dict[str, Any] = {}

    def step(self, action: np.int64) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """+1 for the right action, -1 for the wrong one; a new colour and position."""
        right = (int(self._obs["colour"]) + int(self._obs["position"][0] > 0)) % 2
        reward = 1.0 if int(action) == right else -1.0
        self._t += 1
        return self._draw(), reward, False, self._t >= self.episode_steps, {}

    def _draw(self) -> dict[str, Any]:
        self._obs = {
            "colour": int(self.np_random.integers(3)),
            "position": self.np_random.uniform(-1.0, 1.0, (1,)).astype(np.float32),
        }
        return self._obs


class MaskedChoiceEnv(_StepDrawingEnv):
    """Pick one of ``num_actions`` offers; only some are legal, and an illegal pick costs.

    Each step shows a value in [0, 1] per action and a mask of the legal ones (each legal with
    probability 1/2, at least one). A legal pick earns its value; an illegal one earns
    ``illegal_penalty`` and ends the episode, which otherwise truncates after
    ``episode_steps``. A masked policy can never pick illegally; an unmasked one must learn to.

    Args:
        num_actions: Actions (and offers).
        episode_steps: Steps per episode when no illegal action ends it first.
        illegal_penalty: Reward of an illegal action (large and negative: any episode that
            holds one has a negative return).
        pettingzoo_style: Observe ``{"observation": Box, "action_mask": Box(0, 1, int8)}`` as
            PettingZoo's classic games do, instead of ``{"offers": Box, "action_mask":
            MultiBinary}``.
    """

    def __init__(
        self,
        num_actions: int = 4,
        episode_steps: int = 10,
        illegal_penalty: float = -100.0,
        pettingzoo_style: bool = False,
    ) -> None:
        values = gym.spaces.Box(0.0, 1.0, (num_actions,), np.float32)
        # Not "values": SB3's MultiInputPolicy keeps one module per key in an nn.ModuleDict,
        # where that name is taken (ModuleDict.values).
        self._value_key = "observation" if pettingzoo_style else "offers"
        mask: gym.Space[Any] = (
            gym.spaces.Box(0, 1, (num_actions,), np.int8)
            if pettingzoo_style
            else gym.spaces.MultiBinary(num_actions)
        )
        self.observation_space = gym.spaces.Dict({self._value_key: values, "action_mask": mask})
        self.action_space = gym.spaces.Discrete(num_actions)
        self.num_actions = num_actions
        self.episode_steps = episode_steps
        self.illegal_penalty = illegal_penalty
        self._t = 0
        self._values = np.zeros(num_actions, np.float32)
        self._mask = np.ones(num_actions, np.int8)

    def step(self, action: np.int64) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """The picked offer's value, or the penalty (ending the episode) if it was illegal."""
        a = int(action)
        if not self._mask[a]:
            return self._observation(), self.illegal_penalty, True, False, {"illegal": True}
        reward = float(self._values[a])
        self._t += 1
        return self._draw(), reward, False, self._t >= self.episode_steps, {"illegal": False}

    def action_masks(self) -> np.ndarray:
        """``[num_actions]`` bool: the actions legal now (what sb3-contrib's ``MaskablePPO``
        asks an env for; rlactors reads the mask from the observation)."""
        legal: np.ndarray = self._mask.astype(bool)
        return legal

    def _draw(self) -> dict[str, Any]:
        self._values = self.np_random.uniform(0.0, 1.0, self.num_actions).astype(np.float32)
        mask = (self.np_random.random(self.num_actions) < 0.5).astype(np.int8)
        mask[self.np_random.integers(self.num_actions)] = 1  # at least one legal action
        self._mask = mask
        return self._observation()

    def _observation(self) -> dict[str, Any]:
        return {self._value_key: self._values.copy(), "action_mask": self._mask.copy()}


def register() -> None:
    """Registers the ``rlactors/`` ids (idempotent: a second call changes nothing)."""
    module = __name__
    entries: dict[str, tuple[str, dict[str, Any]]] = {
        "rlactors/DictMatch-v0": (f"{module}:DictMatchEnv", {}),
        "rlactors/MaskedChoice-v0": (f"{module}:MaskedChoiceEnv", {}),
        "rlactors/MaskedChoicePZ-v0": (f"{module}:MaskedChoiceEnv", {"pettingzoo_style": True}),
    }
    for env_id, (entry_point, kwargs) in entries.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=entry_point, kwargs=kwargs)
