"""The standard Atari preprocessing (Mnih et al. 2015, Machado et al. 2018), applied by default
to every ``ALE/...`` id (:meth:`rlactors.envs.EnvSpec.make` calls :func:`make_atari`).

Innermost first, from Gymnasium's own wrappers where one exists::

    gymnasium.make(id, frameskip=1)    ALE's frames, its sticky actions (v5: p = 0.25) as they are
    AtariPreprocessing                 no-op reset (1..30 no-ops), frame skip 4 with max-pooling
                                       over the last 2 frames, 84x84 grayscale, uint8
    RecordEpisodeStatistics            the raw game score and length: info["episode"] at game over
    EpisodicLife                       a lost life ends the *learning* episode (Gymnasium has none)
                                       and the next one starts where the game is
    ClipReward(-1, 1)                  the reward learning sees (Atari rewards are integers: sign)
    FrameStackObservation(4)           observations [4, 84, 84] uint8, oldest frame first

So the learner sees clipped rewards and one episode per life, while
:class:`~rlactors.envs.vector.EnvBatch` (and the greedy evaluations of
:func:`~rlactors.evaluators.episodes.run_episodes`) report whole games with their raw scores: a
done step flagged ``info["life_lost"]`` ends no reported episode, and ``info["episode"]`` is the
reported one (see :func:`~rlactors.envs.vector.reported_episode`). The frame stack sits outside
the episodic-life wrapper, so it restarts at every learning episode, as SB3's ``VecFrameStack``
after its ``EpisodicLifeEnv``: a stack never mixes frames of two episodes.

Channels first, ``[4, 84, 84]``: what ``FrameStackObservation`` produces and torch's ``Conv2d``
takes without a transpose per batch (the CNN encoder of :mod:`rlactors.networks.spec` reads
either order; a leading dimension smaller than the trailing one holds the channels).

Turn it off with ``env_kwargs={"atari_preprocessing": false}`` (ALE's own v5 env: frame skip 4,
210x160x3 RGB frames, raw rewards), or change it with a mapping of
:class:`AtariPreprocessingConfig` fields, e.g. ``{"atari_preprocessing": {"clip_reward":
false}}``; the other env kwargs go to ``gymnasium.make``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym
from gymnasium.wrappers import (
    AtariPreprocessing,
    ClipReward,
    FrameStackObservation,
    RecordEpisodeStatistics,
)

from rlactors.envs.vector import LIFE_LOST_KEY
from rlactors.errors import EnvSpecError
from rlactors.validation import shown

#: The env kwarg that turns the preprocessing off (false) or sets its fields (a mapping).
PREPROCESSING_KWARG = "atari_preprocessing"


@dataclass(frozen=True)
class AtariPreprocessingConfig:
    """What :func:`make_atari` applies; the defaults are the standard (DQN Nature) ones."""

    noop_max: int = 30
    """Reset with 1 to this many no-op actions (a random start); 0 for none."""

    frame_skip: int = 4
    """ALE frames per agent step, the action repeated; the observation max-pools the last 2."""

    screen_size: int = 84
    """Frames are resized to this square, in grayscale."""

    frame_stack: int = 4
    """Frames per observation, ``[frame_stack, screen_size, screen_size]``; 1 for no stack
    (``[screen_size, screen_size]``)."""

    episodic_life: bool = True
    """A lost life ends the learning episode (terminated), the game going on."""

    clip_reward: bool = True
    """The reward learning sees is clipped to [-1, 1]."""

    def __post_init__(self) -> None:
        """Checks the frame sizes.

        Raises:
            EnvSpecError: ``screen_size`` is not a positive integer, or ``frame_stack`` not one
                below ``screen_size`` (a stack of as many frames as a frame has rows reads as a
                channels-last image, to the CNN encoder and to replay, which stores a stack
                frame by frame only when it is the shortest axis).
        """
        for name in ("screen_size", "frame_stack"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EnvSpecError(
                    f"env kwarg {PREPROCESSING_KWARG}: {name} must be an integer >= 1, "
                    f"got {shown(value)}"
                )
        if self.frame_stack > 1 and self.frame_stack >= self.screen_size:
            raise EnvSpecError(
                f"env kwarg {PREPROCESSING_KWARG}: frame_stack {self.frame_stack} must be below "
                f"screen_size {self.screen_size}, or the stack reads as a channels-last image "
                f"(to the CNN and to replay, which stores a stack frame by frame)"
            )

    @classmethod
    def of(cls, value: Any) -> AtariPreprocessingConfig | None:
        """The config an ``atari_preprocessing`` env kwarg asks for: None for false.

        Raises:
            EnvSpecError: Neither a bool nor a mapping of this class's fields.
        """
        if value is True:
            return cls()
        if value is False:
            return None
        if not isinstance(value, Mapping):
            raise EnvSpecError(
                f"env kwarg {PREPROCESSING_KWARG} must be true, false or a mapping of its "
                f"fields, got {shown(value)}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise EnvSpecError(
                f"env kwarg {PREPROCESSING_KWARG} has no field {', '.join(unknown)}; its "
                f"fields: {', '.join(names)}"
            )
        return cls(**value)


class EpisodicLife(gym.Wrapper[Any, Any, Any, Any]):
    """A lost life ends the episode (``terminated``, with ``info["life_lost"]``) while the game
    goes on: the ``reset`` that follows does not restart it but returns the observation the life
    ended on, so later stages of the game are still reached (SB3's ``EpisodicLifeEnv``, which
    takes a no-op step there instead: a step no learner sees, which would make a game's length
    differ from the steps taken; Gymnasium's ``terminal_on_life_loss`` restarts the game at every
    life).
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self._lives = 0
        self._game_over = True
        self._last: tuple[Any, dict[str, Any]] | None = None

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """As the wrapped env's, with a lost life as a termination."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = self._ale_lives()
        self._last = (obs, info)
        if lives < self._lives and not self._game_over:
            terminated, info = True, {**info, LIFE_LOST_KEY: True}
        self._lives = lives
        return obs, reward, terminated, truncated, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """A new game after a game over (or with a seed), else the game where it is."""
        if self._game_over or seed is not None or self._last is None:
            obs, info = self.env.reset(seed=seed, options=options)
        else:
            obs, info = self._last
        self._game_over = False
        self._lives = self._ale_lives()
        return obs, info

    def _ale_lives(self) -> int:
        return int(self.env.unwrapped.ale.lives())  # type: ignore[attr-defined]


def is_atari(registration: Any) -> bool:
    """Whether a Gymnasium registration is one of ale-py's ``ALE/`` envs."""
    return getattr(registration, "namespace", None) == "ALE"


def make_atari(registration: Any, kwargs: Mapping[str, Any]) -> gym.Env[Any, Any]:
    """The ALE env of ``registration``, preprocessed as the module docstring says.

    Args:
        registration: A Gymnasium registration of an ``ALE/`` id.
        kwargs: ``gymnasium.make``'s kwargs, plus ``atari_preprocessing`` (true by default,
            false, or a mapping of :class:`AtariPreprocessingConfig` fields).

    Raises:
        EnvSpecError: A bad ``atari_preprocessing``, or a ``frameskip`` beside it (the
            preprocessing skips frames itself).
    """
    make_kwargs = {k: v for k, v in kwargs.items() if k != PREPROCESSING_KWARG}
    config = AtariPreprocessingConfig.of(kwargs.get(PREPROCESSING_KWARG, True))
    if config is None:
        return gym.make(registration, **make_kwargs)
    if "frameskip" in make_kwargs:
        raise EnvSpecError(
            f"{registration.id}: env kwarg frameskip conflicts with the Atari preprocessing, "
            f'which skips frames itself: give {{"{PREPROCESSING_KWARG}": {{"frame_skip": N}}}}, '
            f'or {{"{PREPROCESSING_KWARG}": false}} for ALE\'s own frame skip'
        )
    env: gym.Env[Any, Any] = gym.make(registration, frameskip=1, **make_kwargs)
    env = AtariPreprocessing(
        env,
        noop_max=config.noop_max,
        frame_skip=config.frame_skip,
        screen_size=config.screen_size,
        terminal_on_life_loss=False,  # EpisodicLife, above the statistics, does it
        grayscale_obs=True,
        scale_obs=False,  # uint8: 4x smaller in replay; the network scales
    )
    env = RecordEpisodeStatistics(env)
    if config.episodic_life:
        env = EpisodicLife(env)
    if config.clip_reward:
        env = ClipReward(env, -1.0, 1.0)
    if config.frame_stack > 1:
        env = FrameStackObservation(env, config.frame_stack)
    return env
