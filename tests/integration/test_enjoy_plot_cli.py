"""``rlactors enjoy`` records a run's greedy agent into an mp4; ``rlactors plot`` compares runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import imageio.v3 as iio
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from rlactors.cli.main import EXIT_USAGE, main
from rlactors.metrics import read_metrics

TINY = [
    "--max-env-steps", "300", "--rollout-steps", "100", "--learning-starts-env-steps", "100",
    "--train-steps-per-sample", "2", "--batch-size", "16", "--hidden-sizes", "16",
    "--eval-episodes", "1", "--stop-reward", "10000", "--backend", "inline", "-q",
]  # fmt: skip


def train(run_dir: Path, *flags: str) -> Path:
    assert main(["train", "dqn", "--run-dir", str(run_dir), *TINY, *flags]) == 0
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny DQN runs: CartPole with three seeds, a toy env that cannot render, a two-role game."""
    root = tmp_path_factory.mktemp("runs")
    made = {f"seed{s}": train(root / f"seed{s}", "--seed", str(s)) for s in range(3)}
    made["corridor"] = train(root / "corridor", "--env", "rlactors.envs.toy:CorridorEnv")
    made["rps"] = train(root / "rps", "--env", "rlactors.envs.toy:RockPaperScissorsEnv")
    return made


@pytest.fixture(autouse=True)
def _headless(monkeypatch: pytest.MonkeyPatch) -> None:
    # No window, whatever the machine running the tests has; enjoy's SDL defaults are set
    # here, so that they are undone after each test.
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


def last_json(out: str) -> dict[str, list[float]]:
    result: dict[str, list[float]] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(60)
def test_enjoy_records_one_frame_per_env_step_and_one_per_episode_start(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    video = tmp_path / "cartpole.mp4"
    assert main(["enjoy", str(runs["seed0"]), "--episodes", "2", "--video", str(video)]) == 0
    out = capsys.readouterr().out
    result = last_json(out)
    lengths = result["lengths"]
    assert len(result["returns"]) == 2 and all(n > 0 for n in lengths)
    assert "episode 1/2: return " in out and f"length {lengths[1]}" in out
    frames = sum(1 for _ in iio.imiter(video, plugin="FFMPEG"))
    assert frames == sum(lengths) + 2
    assert f"video: {video} ({frames} frames at 50 fps: {sum(lengths)} env steps" in out
    assert [p.name for p in tmp_path.iterdir()] == ["cartpole.mp4"]  # no temporary left
    # The same seed plays the same episodes; without a display and a video, nothing renders.
    assert main(["enjoy", str(runs["seed0"]), "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # No greedy evaluation ran in these runs (no --stop-reward): the last policy plays.
    assert "holds no best policy" in lines[0] and lines[1].startswith("playing the last policy")
    assert lines[2].startswith("no display") and last_json(out) == result


@pytest.mark.timeout(60)
def test_enjoy_with_a_display_renders_in_human_mode(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlactors.envs import rendering

    modes: list[str] = []
    make = rendering.make_rendering_env

    def spy(spec: object, mode: str, **kwargs: object) -> object:
        modes.append(mode)
        return make(spec, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rendering, "make_rendering_env", spy)
    monkeypatch.setenv("DISPLAY", ":0")  # SDL's dummy video driver (the fixture) draws nowhere
    capsys.readouterr()
    assert main(["enjoy", str(runs["seed0"]), "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert modes == ["human"] and "no display" not in out
    assert len(last_json(out)["returns"]) == 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("run", "video", "message"),
    [
        (None, "out.mp4", "enjoy: no checkpoint at"),
        ("corridor", "out.mp4", "enjoy: CorridorEnv has no 'rgb_array' render mode"),
        (
            "rps",
            "out.mp4",
            "is a multi-role run (roles player_0, player_1); enjoy plays single-role",
        ),
        ("seed0", "missing/out.mp4", "enjoy: cannot write the video"),
        ("seed0", "out.avi", "enjoy: --video writes an mp4: name it *.mp4"),
    ],
)
def test_enjoy_mistakes_are_one_line_and_leave_no_video(
    run: str | None,
    video: str,
    message: str,
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    run_dir = runs[run] if run is not None else tmp_path
    assert main(["enjoy", str(run_dir), "--video", str(tmp_path / video)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("rlactors: error: ") and err.count("\n") == 1
    assert message in err
    assert not list(tmp_path.rglob("*.mp4"))


@pytest.mark.timeout(60)
def test_enjoy_stopped_mid_video_leaves_no_half_written_file(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rlactors.algorithms.greedy_evaluation import GreedyEvaluations

    original = GreedyEvaluations.greedy_episodes
    played: list[int] = []

    def ctrl_c_in_the_second(self: GreedyEvaluations, envs: object, seed: int) -> object:
        played.append(seed)
        if len(played) == 2:
            raise KeyboardInterrupt
        return original(self, envs, seed)  # type: ignore[arg-type]

    monkeypatch.setattr(GreedyEvaluations, "greedy_episodes", ctrl_c_in_the_second)
    video = tmp_path / "out.mp4"
    assert main(["enjoy", str(runs["seed0"]), "--episodes", "3", "--video", str(video)]) == 130
    out = capsys.readouterr().out
    assert "interrupted after 1 of 3 episodes" in out and len(last_json(out)["returns"]) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(60)
def test_plot_draws_three_seeds_as_one_band_and_another_config_as_a_line(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import rlactors.metrics.plot as plot_module

    drawn: list[Figure] = []
    figure = plot_module.comparison_figure

    def keep(*args: object, **kwargs: object) -> Figure:
        drawn.append(figure(*args, **kwargs))  # type: ignore[arg-type]
        return drawn[-1]

    monkeypatch.setattr(plot_module, "comparison_figure", keep)
    capsys.readouterr()
    png = tmp_path / "compare.png"
    seeds = [str(runs[f"seed{s}"]) for s in range(3)]
    assert main(["plot", *seeds, str(runs["corridor"]), "--out", str(png)]) == 0
    assert capsys.readouterr().out.strip() == f"plot: {png} (4 runs in 2 groups)"
    assert png.read_bytes()[:4] == b"\x89PNG"
    (ax,) = drawn[0].axes
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "env=CartPole-v1 (3 seeds)",
        "env=rlactors.envs.toy:CorridorEnv",
    ]
    assert main(["plot", *seeds, "--x", "seconds", "--out", str(png)]) == 0
    assert ax.get_xlabel() == "env steps" and drawn[1].axes[0].get_xlabel() == "seconds of training"


@pytest.mark.timeout(60)
def test_plot_mistakes_are_one_line(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A run written before time_s was recorded.
    old = tmp_path / "old"
    shutil.copytree(runs["seed1"], old)
    rows = [
        {k: v for k, v in r.items() if k != "time_s"} for r in read_metrics(old / "metrics.jsonl")
    ]
    (old / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    seed0 = str(runs["seed0"])
    cases = [
        ([seed0, str(tmp_path)], f"plot: {tmp_path} has no metrics.jsonl"),
        ([seed0, "--y", "nope"], "plot: no run has the metric 'nope'; their numeric metrics: "),
        ([seed0, str(old), "--x", "seconds"], f"--x seconds reads time_s, which the rows of {old}"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(["plot", *argv, "--out", str(tmp_path / "x.png")]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("rlactors: error: ") and err.count("\n") == 1
        assert message in err
    assert not (tmp_path / "x.png").exists()
