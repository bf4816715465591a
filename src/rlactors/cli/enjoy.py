"""``rlactors enjoy``: watch a run's greedy agent, in a window or as an mp4.

    rlactors enjoy runs/dqn-CartPole-v1-20250101-120000                 # a window (a display)
    rlactors enjoy runs/dqn-CartPole-v1-20250101-120000 --video run.mp4 --episodes 3

The agent acts as ``rlactors evaluate`` does (the same loader, the same greedy act, through
:meth:`~rlactors.algorithms.greedy_evaluation.GreedyEvaluations.greedy_episodes`), on the
run's own env spec built with Gymnasium's ``render_mode`` (:mod:`rlactors.envs.rendering`).

The video is written by imageio's ffmpeg writer, whose ffmpeg is the binary that the
imageio-ffmpeg wheel ships (the ``video`` extra): no system ffmpeg is needed. Gymnasium's
``RecordVideo`` is not used because it encodes through moviepy (Gymnasium 1.x raises
``DependencyNotInstalled`` without it), a heavier dependency that wraps the same ffmpeg, and it
writes one file per episode into a folder where ``--video`` names one file. The mp4 goes to a
hidden temporary file beside the target, moved into place when every episode is written: a
failure or Ctrl-C leaves no half-written video.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rlactors.algorithms.loop import PolicyChoice
from rlactors.cli import output
from rlactors.cli.args import CliError
from rlactors.cli.commands import EXIT_INTERRUPTED, _load_run, _policy_line
from rlactors.errors import EnvSpecError

#: Frames per second of a video of an env whose metadata has no ``render_fps``.
DEFAULT_FPS = 30.0


def has_display() -> bool:
    """Whether a window can be opened: an X11 or Wayland display is named."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def enjoy(
    run_dir: str,
    episodes: int,
    video: str | None = None,
    seed: int = 0,
    *,
    policy: PolicyChoice = "best",
) -> int:
    """Play ``episodes`` greedy episodes of the run in ``run_dir`` (with its ``policy``: the
    best-evaluated one or the last, as ``evaluate`` loads it): in a window with a display,
    into the mp4 ``video`` when given, else unseen; print each episode's return and length
    and, last, one JSON line ``{"returns": [...], "lengths": [...]}``. Returns the exit status.

    Episode ``i`` (from 0) is reset with ``derive_seed(seed, i)``: the same episodes for the
    same ``seed``, however many are played. A video holds the first frame of each episode and
    one frame per env step (``episodes + sum(lengths)`` frames), at the env's ``render_fps``.

    Raises:
        CliError: ``episodes`` < 1; a ``video`` not named ``*.mp4`` or that cannot be written
            (or imageio-ffmpeg not installed), checked before the run is loaded; not a run or
            checkpoint directory; a multi-role run; an env that cannot render (no
            ``rgb_array`` mode, for a video).
    """
    if episodes < 1:
        raise CliError(f"enjoy: --episodes must be >= 1, got {episodes}")
    mp4 = Mp4File(video) if video is not None else None
    try:
        status = _play(run_dir, episodes, mp4, seed, policy)
    except BaseException:
        if mp4 is not None:
            mp4.discard()
        raise
    return status


def _play(run_dir: str, episodes: int, mp4: Mp4File | None, seed: int, policy: PolicyChoice) -> int:
    from rlactors.envs import EnvBatch
    from rlactors.envs.rendering import FrameTap, make_rendering_env
    from rlactors.evaluators import make_env_batch
    from rlactors.seeding import derive_seed

    algorithm = _load_run(run_dir, policy, command="enjoy")
    output.say(_policy_line(algorithm, policy, doing="playing"))
    with algorithm:
        if len(algorithm.roles) > 1:
            raise CliError(
                f"enjoy: {run_dir} is a multi-role run (roles {', '.join(algorithm.roles)}); "
                "enjoy plays single-role runs for now (rlactors evaluate --opponent plays "
                "its seats)"
            )
        spec, mask_key = algorithm.env_spec, algorithm.config.action_mask_key
        mode = "rgb_array" if mp4 is not None else "human" if has_display() else None
        if mode is None:
            output.say(
                "no display (DISPLAY and WAYLAND_DISPLAY are unset): playing without a window; "
                "--video out.mp4 records the episodes"
            )
            envs = make_env_batch(spec, 1, mask_key=mask_key)
        else:
            if mode == "rgb_array":
                # Gymnasium's pygame renderers draw offscreen for rgb_array, but call
                # pygame.init(), which starts sound and (without a display) looks for Wayland,
                # printing ten lines of SDL and ALSA errors on a headless machine.
                os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
                if not has_display():
                    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
            try:
                env, renders = make_rendering_env(spec, mode, mask_key=mask_key)
            except EnvSpecError as exc:
                raise CliError(f"enjoy: {exc}") from None
            if mp4 is not None:
                mp4.fps = float(renders.metadata.get("render_fps") or DEFAULT_FPS)
                env = FrameTap(env, renders, mp4.append)
            envs = EnvBatch([env], name=spec.name)
        returns: list[float] = []
        lengths: list[int] = []
        try:
            for i in range(episodes):
                (stats,) = algorithm.greedy_episodes(envs, derive_seed(seed, i))
                returns.append(stats.episode_return)
                lengths.append(stats.length)
                output.say(
                    f"episode {i + 1}/{episodes}: return "
                    f"{output.format_return(stats.episode_return)}, length {stats.length}"
                )
        except KeyboardInterrupt:
            if mp4 is not None:
                mp4.discard()
            output.say(f"interrupted after {len(returns)} of {episodes} episodes")
            output.say(json.dumps({"returns": returns, "lengths": lengths}))
            return EXIT_INTERRUPTED
        finally:
            envs.close()
    if mp4 is not None:
        path = mp4.commit()
        output.say(
            f"video: {path} ({mp4.frames} frames at {mp4.fps:g} fps: {sum(lengths)} env steps "
            f"and the first frame of each of the {episodes} episodes)"
        )
    output.say(json.dumps({"returns": returns, "lengths": lengths}))
    return 0


class Mp4File:
    """An mp4 being written: frames go to a hidden temporary file beside ``path``, which
    :meth:`commit` moves into place and :meth:`discard` removes.

    Args:
        path: The video to write, ``*.mp4`` (replaced if it exists).

    Raises:
        CliError: ``path`` is not named ``*.mp4``, is a directory or cannot be written (its
            folder is missing or read-only); imageio or imageio-ffmpeg is not installed.

    Attributes:
        fps: Frames per second; set it before the first :meth:`append`.
        frames: Frames appended so far.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise CliError(f"enjoy: --video writes an mp4: name it *.mp4, got {path!r}")
        if self.path.is_dir():
            raise CliError(f"enjoy: --video {path} is a directory; name the .mp4 file to write")
        # Checked here, before the run is loaded (imageio finds its ffmpeg plugin at the
        # first frame).
        if any(importlib.util.find_spec(name) is None for name in ("imageio", "imageio_ffmpeg")):
            raise CliError(
                "enjoy: --video needs imageio and imageio-ffmpeg: pip install 'rlactors[video]'"
            )
        try:
            # The suffix tells ffmpeg the container; the file exists from here on, so a
            # folder that cannot be written fails now, not after every episode has run.
            fd, temporary = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".mp4"
            )
        except OSError as exc:
            raise CliError(f"enjoy: cannot write the video {path}: {exc.strerror}") from None
        os.close(fd)
        self._temporary = Path(temporary)
        self._writer: Any = None
        self.fps = DEFAULT_FPS
        self.frames = 0

    def append(self, frame: Any) -> None:
        """Write one ``[H, W, 3]`` uint8 frame (every frame of a video has the first's size)."""
        import imageio.v2

        if self._writer is None:
            # macro_block_size=2: H.264 in yuv420p needs even sizes, and imageio's default of
            # 16 would rescale CartPole's 600x400 frames to 608x400.
            self._writer = imageio.v2.get_writer(
                self._temporary,
                format="FFMPEG",
                mode="I",
                fps=self.fps,
                codec="libx264",
                macro_block_size=2,
                ffmpeg_log_level="error",
            )
        self._writer.append_data(frame)
        self.frames += 1

    def commit(self) -> Path:
        """Finish the file and move it to ``path``; returns ``path``.

        Raises:
            CliError: No frame was written, or the file cannot be moved into place.
        """
        if self._writer is None:
            self.discard()
            raise CliError("enjoy: no frame was rendered, so no video was written")
        self._writer.close()
        self._writer = None
        umask = os.umask(0)
        os.umask(umask)
        try:
            # mkstemp made it readable by its owner only; a video is an ordinary file.
            self._temporary.chmod(0o666 & ~umask)
            os.replace(self._temporary, self.path)
        except OSError as exc:
            self.discard()
            raise CliError(f"enjoy: cannot write the video {self.path}: {exc.strerror}") from None
        return self.path

    def discard(self) -> None:
        """Stop writing and remove the temporary file (idempotent)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            # ffmpeg may have died already; the file goes either way.
            with contextlib.suppress(Exception):
                writer.close()
        self._temporary.unlink(missing_ok=True)
