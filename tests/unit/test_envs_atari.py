"""ALE/ and MinAtar/ ids without a prefix, the Atari preprocessing, and the one-line errors
when their packages are missing (rlactors.envs.atari, rlactors.envs.lookup)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlactors.cli.main import main
from rlactors.core import EpisodeStats
from rlactors.envs import EnvBatch, EnvSpec, make_env
from rlactors.envs.atari import AtariPreprocessingConfig
from rlactors.errors import EnvSpecError
from rlactors.evaluators.episodes import run_episodes

needs_ale = pytest.mark.skipif(
    importlib.util.find_spec("ale_py") is None or importlib.util.find_spec("cv2") is None,
    reason="the atari extra (ale-py, opencv) is not installed",
)
needs_minatar = pytest.mark.skipif(
    importlib.util.find_spec("minatar") is None, reason="the minatar extra is not installed"
)


def _batch(env_id: str, **kwargs: object) -> EnvBatch:
    return EnvBatch([EnvSpec(env_id, kwargs=kwargs).make()])


def _play_one_game(
    batch: EnvBatch, seed: int
) -> tuple[list[float], list[bool], list[EpisodeStats]]:
    """Random actions (from ``seed``) until the batch reports an episode: the rewards and
    life-lost flags of every step, and what the batch reported."""
    rng = np.random.default_rng(seed)
    batch.reset(seed=seed)
    rewards: list[float] = []
    lives_lost: list[bool] = []
    for _ in range(5_000):
        batch.interact(rng.integers(batch.action_space.n, size=1))  # type: ignore[attr-defined]
        step = batch.observe()
        rewards.append(float(step.rewards[0]))
        lives_lost.append(bool(step.infos[0].get("life_lost", False)))
        reported = batch.pop_episode_stats()
        if reported:
            return rewards, lives_lost, reported
    raise AssertionError("no game ended in 5,000 steps")


@needs_ale
def test_ale_ids_resolve_without_a_prefix_to_uint8_frame_stacks() -> None:
    batch = _batch("ALE/Pong-v5")
    assert batch.observation_space.shape == (4, 84, 84)
    assert batch.observation_space.dtype == np.uint8
    batch.reset(seed=0)
    states = batch.observe().states
    assert states.shape == (1, 4, 84, 84) and states.dtype == np.uint8
    batch.close()
    # The prefix form, and make_env, build the same env.
    for env in (EnvSpec("ale_py:ALE/Pong-v5").make(), make_env("ALE/Pong-v5")):
        assert env.observation_space(env.roles[0]).shape == (4, 84, 84)
        env.close()


@needs_ale
def test_the_preprocessing_turns_off_and_rejects_unknown_fields() -> None:
    raw = _batch("ALE/Pong-v5", atari_preprocessing=False)
    assert raw.observation_space.shape == (210, 160, 3)
    unstacked = _batch("ALE/Pong-v5", atari_preprocessing={"frame_stack": 1, "screen_size": 64})
    assert unstacked.observation_space.shape == (64, 64)
    with pytest.raises(EnvSpecError, match="has no field frame_stacks; its fields: noop_max"):
        EnvSpec("ALE/Pong-v5", kwargs={"atari_preprocessing": {"frame_stacks": 2}}).make()
    with pytest.raises(EnvSpecError, match="frameskip conflicts with the Atari preprocessing"):
        EnvSpec("ALE/Pong-v5", kwargs={"frameskip": 2}).make()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"frame_stack": 84}, "frame_stack 84 must be below screen_size 84"),
        ({"frame_stack": 8, "screen_size": 8}, "frame_stack 8 must be below screen_size 8"),
        ({"frame_stack": 0}, "frame_stack must be an integer >= 1, got 0"),
        ({"screen_size": "84"}, "screen_size must be an integer >= 1, got '84'"),
    ],
)
def test_a_frame_stack_longer_than_a_frame_is_wide_is_one_line_naming_the_field(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(EnvSpecError, match=f"^env kwarg atari_preprocessing: {message}"):
        AtariPreprocessingConfig.of(fields)


@needs_ale
def test_a_frame_stack_never_crosses_an_episode() -> None:
    # Breakout has 5 lives: each lost one ends a learning episode, and the game one more.
    batch = _batch("ALE/Breakout-v5")
    rng = np.random.default_rng(0)
    batch.reset(seed=0)
    first = batch.observe().states[0]
    assert all((frame == first[-1]).all() for frame in first)  # the reset frame, 4 times
    ends = 0
    for _ in range(5_000):
        batch.interact(rng.integers(batch.action_space.n, size=1))  # type: ignore[attr-defined]
        step = batch.observe()
        if step.done[0]:
            ends += 1
            start, final = step.states[0], step.next_states[0]
            assert all((frame == start[-1]).all() for frame in start)
            assert any((frame != final[-1]).any() for frame in final)  # a stack of that episode
        if batch.pop_episode_stats():
            break
    assert ends == 5


@needs_ale
def test_learning_sees_clipped_rewards_and_episodes_report_raw_scores() -> None:
    # SpaceInvaders scores 5 to 30 per invader; the same seed and actions give the same game.
    clipped, lives_lost, [reported] = _play_one_game(_batch("ALE/SpaceInvaders-v5"), seed=3)
    raw, _, [raw_reported] = _play_one_game(
        _batch("ALE/SpaceInvaders-v5", atari_preprocessing={"clip_reward": False}), seed=3
    )
    assert set(clipped) <= {-1.0, 0.0, 1.0} and max(raw) > 1.0
    assert np.array_equal(np.sign(raw), clipped)
    assert any(lives_lost)  # a lost life ended a learning episode, not the reported game
    assert reported == raw_reported == EpisodeStats(sum(raw), len(raw))
    assert reported.episode_return > sum(clipped)


@needs_ale
def test_greedy_evaluations_report_whole_games_with_raw_scores() -> None:
    rng = np.random.default_rng(3)
    batch = _batch("ALE/SpaceInvaders-v5")

    def act(states: np.ndarray) -> np.ndarray:
        return rng.integers(batch.action_space.n, size=len(states))  # type: ignore[attr-defined]

    [episode] = run_episodes(batch, act, seed=3)
    # _play_one_game draws the same actions from the same seed: the same game.
    _, lives_lost, [reported] = _play_one_game(_batch("ALE/SpaceInvaders-v5"), seed=3)
    assert any(lives_lost) and episode == reported


@needs_minatar
def test_minatar_ids_resolve_without_a_prefix_to_their_bool_images() -> None:
    for env_id in ("MinAtar/Breakout-v1", "minatar.gym:MinAtar/Breakout-v1"):
        batch = _batch(env_id)
        assert batch.observation_space.shape == (10, 10, 4)
        batch.reset(seed=0)
        states = batch.observe().states
        assert states.shape == (1, 10, 10, 4) and states.dtype == np.bool_


def test_importing_rlactors_imports_neither_package() -> None:
    code = (
        "import sys, rlactors, rlactors.envs.spec, rlactors.envs.gymnasium; "
        "print(sorted(m for m in ('ale_py', 'minatar') if m in sys.modules))"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": src, "PATH": ""},
        check=True,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "env_id", "expected"),
    [
        ("ale_py", "ALE/Pong-v5", "ALE/Pong-v5 needs ale-py: pip install 'rlactors[atari]'"),
        (
            "minatar",
            "MinAtar/Breakout-v1",
            "MinAtar/Breakout-v1 needs MinAtar: pip install 'rlactors[minatar]'",
        ),
    ],
)
def test_a_missing_package_names_the_extra_in_one_line(
    module: str,
    env_id: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: its import fails
    with pytest.raises(EnvSpecError) as info:
        EnvSpec(env_id).resolve()
    assert str(info.value) == expected
    assert main(["train", "dqn", "--env", env_id, "--run-dir", str(tmp_path / "run")]) == 2
    out, err = capsys.readouterr()
    assert err == f"rlactors: error: {expected}\n" and out == ""
    assert not (tmp_path / "run").exists()


def test_a_missing_ale_py_behind_the_prefix_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ale_py", None)
    with pytest.raises(EnvSpecError, match=r"no module named 'ale_py'; pip install 'rlactors\["):
        EnvSpec("ale_py:ALE/Pong-v5").resolve()


@needs_ale
def test_a_missing_opencv_names_the_atari_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # AtariPreprocessing imports it to resize
    with pytest.raises(EnvSpecError) as info:
        EnvSpec("ALE/Pong-v5").make()
    expected = "ALE/Pong-v5 needs opencv-python, which is not installed: pip install "
    assert str(info.value) == expected + "'rlactors[atari]'"
