"""An env spec built to be watched: in a window, or frame by frame for a video.

:func:`make_rendering_env` builds a spec with Gymnasium's ``render_mode`` (``"human"``: the env
draws itself in a window on every reset and step; ``"rgb_array"``: its ``render()`` returns
the frame) and checks that the env really renders so. :class:`FrameTap` wraps the result for
a video: it hands each frame to a callback, one for the start of each episode and one per
step. Usage::

    env, frames = make_rendering_env(spec, "rgb_array")
    tap = FrameTap(env, frames, on_frame=writer.append)
    batch = EnvBatch([tap])                       # then run_episodes(batch, act, seed)

Only a Gymnasium env renders: an rlactors :class:`~rlactors.core.Env` or a PettingZoo env has no
``render_mode`` to ask for, and is refused with a one-line :class:`EnvSpecError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from rlactors.core import Env, Observation
from rlactors.envs.checks import CheckedEnv
from rlactors.envs.gymnasium import GymnasiumEnv
from rlactors.errors import EnvSpecError

if TYPE_CHECKING:
    import gymnasium as gym

    from rlactors.envs.spec import EnvSpec

#: The render modes :func:`make_rendering_env` builds.
RENDER_MODES = ("human", "rgb_array")


def make_rendering_env(
    spec: EnvSpec, mode: str, *, mask_key: str | None = None
) -> tuple[Env, gym.Env[Any, Any]]:
    """``spec`` built with ``render_mode=mode`` (added to its kwargs).

    Args:
        spec: The env to build, e.g. a run's ``env_spec``.
        mode: One of :data:`RENDER_MODES`.
        mask_key: As :meth:`EnvSpec.make`.

    Returns:
        The env (checked, as :meth:`EnvSpec.make` builds it) and the ``gymnasium.Env`` inside
        it, outermost wrapper first, whose ``render()`` draws (``"human"``) or returns the
        frame (``"rgb_array"``).

    Raises:
        EnvSpecError: The env cannot be built with that ``render_mode`` (a factory that takes
            no such argument, a missing dependency such as pygame), or it is not a Gymnasium
            env, or it does not render in that mode.
    """
    from rlactors.envs.spec import EnvSpec

    if mode not in RENDER_MODES:
        raise ValueError(f"render mode must be one of {RENDER_MODES}, got {mode!r}")
    try:
        with warnings.catch_warnings():
            # gymnasium.make only warns about a mode the env does not list, and passes it on;
            # that is checked below, with an error that says what is missing.
            warnings.filterwarnings("ignore", message=".*not in the possible render_modes")
            env = EnvSpec.of(spec, kwargs={"render_mode": mode}).make(mask_key=mask_key)
    except EnvSpecError as exc:
        if "unexpected keyword argument 'render_mode'" in str(exc):
            raise EnvSpecError(
                f"{spec.name} has no {mode!r} render mode: it takes no render_mode argument"
            ) from None
        raise EnvSpecError(
            f"{spec.name} cannot be built with render_mode={mode!r}: {exc}"
        ) from None
    inner = _gymnasium_env(env)
    modes = [] if inner is None else list(inner.metadata.get("render_modes", ()))
    if inner is None or inner.render_mode != mode or mode not in modes:
        env.close()
        listed = ", ".join(map(str, modes)) or "none"
        raise EnvSpecError(f"{spec.name} has no {mode!r} render mode (its render modes: {listed})")
    return env, inner


class FrameTap(Env):
    """An env whose frames go to ``on_frame``: the first frame of each episode when its first
    step is taken, then the frame after every step.

    The first frame waits for the first step so that a reset no step follows adds none: an
    :class:`~rlactors.envs.EnvBatch` resets an env as soon as its episode ends, and
    :func:`~rlactors.evaluators.run_episodes` resets it again before the next episode. A video
    of ``E`` episodes of ``L_1 .. L_E`` steps therefore holds ``E + L_1 + ... + L_E`` frames,
    as Gymnasium's ``RecordVideo`` would.

    Args:
        env: The env (e.g. from :func:`make_rendering_env`); this object owns it.
        renders: The ``gymnasium.Env`` inside ``env`` that renders in ``rgb_array`` mode.
        on_frame: Takes each frame, ``[H, W, 3]`` uint8.

    Raises:
        EnvSpecError: (From ``interact``) a frame that is not an ``[H, W, 3]`` (or RGBA)
            uint8 image.
    """

    def __init__(
        self,
        env: Env,
        renders: gym.Env[Any, Any],
        on_frame: Callable[[np.ndarray], None],
    ) -> None:
        self.env = env
        self.renders = renders
        self.on_frame = on_frame
        self._episode_started = False

    @property
    def roles(self) -> tuple[str, ...]:
        """The wrapped env's roles."""
        return self.env.roles

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's observation space."""
        return self.env.observation_space(role)

    def action_space(self, role: str) -> gym.Space[Any]:
        """The wrapped env's action space."""
        return self.env.action_space(role)

    def reset(self, seed: int | None = None) -> None:
        """Reset the wrapped env; its frame is taken at the first step."""
        self.env.reset(seed)
        self._episode_started = False

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step the wrapped env, taking the episode's first frame before its first step."""
        if not self._episode_started:
            self.on_frame(self._frame())
            self._episode_started = True
        self.env.interact(actions)
        self.on_frame(self._frame())

    def observe(self, role: str) -> Observation:
        """The wrapped env's observation."""
        return self.env.observe(role)

    def acting_roles(self) -> tuple[str, ...]:
        """The wrapped env's acting roles."""
        return self.env.acting_roles()

    def close(self) -> None:
        """Close the wrapped env."""
        self.env.close()

    def __repr__(self) -> str:
        return f"FrameTap({self.env!r})"

    def _frame(self) -> np.ndarray:
        frame = self.renders.render()
        if (
            not isinstance(frame, np.ndarray)
            or frame.ndim != 3
            or frame.shape[2] not in (3, 4)
            or frame.dtype != np.uint8
        ):
            shown = (
                f"an array of shape {frame.shape} and dtype {frame.dtype}"
                if isinstance(frame, np.ndarray)
                else type(frame).__name__
            )
            raise EnvSpecError(
                f"{self.env!r}: render() returned {shown}, not an [H, W, 3] uint8 RGB frame"
            )
        return frame[:, :, :3]


def _gymnasium_env(env: Env) -> gym.Env[Any, Any] | None:
    """The ``gymnasium.Env`` an env built by :meth:`EnvSpec.make` adapts, if it adapts one."""
    while isinstance(env, CheckedEnv):
        env = env.env
    return env.gym_env if isinstance(env, GymnasiumEnv) else None
