"""Several runs on one figure: grouping by config, the mean ± std on a common grid, labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from rlactors.metrics.plot import (
    RunCurve,
    aggregate,
    comparison_figure,
    group_curves,
    group_labels,
)

DQN = {"algorithm": "dqn", "env": "CartPole-v1", "learning_rate": 1e-3, "n_step": 3}
PPO = {"algorithm": "ppo", "env": "CartPole-v1", "learning_rate": 3e-4, "clip": 0.2}


def curve(name: str, config: dict[str, Any], x: list[float], y: list[float]) -> RunCurve:
    return RunCurve(name, config, np.array(x, dtype=float), np.array(y, dtype=float))


def test_aggregate_interpolates_on_the_range_every_curve_covers() -> None:
    # y = x sampled at 0, 10, 20 and y = x + 2 at 5, 15, 25: both cover [5, 20] only.
    grid, mean, std = aggregate(
        [
            (np.array([0.0, 10, 20]), np.array([0.0, 10, 20])),
            (np.array([5.0, 15, 25]), np.array([7.0, 17, 27])),
        ],
        grid_points=4,
    )
    np.testing.assert_allclose(grid, [5, 10, 15, 20])
    np.testing.assert_allclose(mean, grid + 1)  # the mean of x and x + 2
    np.testing.assert_allclose(std, [1, 1, 1, 1])  # population std of two values 2 apart


def test_aggregate_refuses_curves_without_a_common_range() -> None:
    with pytest.raises(ValueError, match="share no range of x"):
        aggregate(
            [(np.array([0.0, 10]), np.array([1.0, 2])), (np.array([20.0, 30]), np.array([1.0, 2]))]
        )


def test_seeds_of_one_config_are_one_group_with_a_band_and_others_are_plain_lines() -> None:
    seeds = [
        curve(f"s{i}", {**DQN, "seed": i}, [0, 100, 200], [i, 10 + i, 20 + i]) for i in range(3)
    ]
    other = curve("lr", {**DQN, "seed": 0, "learning_rate": 1e-2}, [0, 200], [5, 5])
    groups = group_curves([seeds[0], other, seeds[1], seeds[2]], grid_points=3)
    assert [g.names for g in groups] == [("s0", "s1", "s2"), ("lr",)]
    band, line = groups
    assert band.label == "learning_rate=0.001 (3 seeds)"
    np.testing.assert_allclose(band.x, [0, 100, 200])
    np.testing.assert_allclose(band.mean, [1, 11, 21])
    assert band.std is not None
    np.testing.assert_allclose(band.std, np.std([0, 1, 2]))
    assert line.label == "learning_rate=0.01" and line.std is None
    np.testing.assert_array_equal(line.mean, [5, 5])


def test_a_group_whose_runs_share_no_range_names_them() -> None:
    runs = [
        curve("a", {**DQN, "seed": 0}, [0, 10], [1, 1]),
        curve("b", {**DQN, "seed": 1}, [20, 30], [1, 1]),
    ]
    with pytest.raises(ValueError, match=r"^a, b: the curves share no range"):
        group_curves(runs)


def test_the_band_is_drawn_for_a_group_of_several_runs_only() -> None:
    seeds = [curve(f"s{i}", {**DQN, "seed": i}, [0, 100], [i, 2 * i]) for i in range(3)]
    single = curve("ppo", {**PPO, "seed": 0}, [0, 100], [1, 2])
    fig = comparison_figure(group_curves([*seeds, single]), x_label="env steps", y_label="return")
    (ax,) = fig.axes
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1 and len(ax.lines) == 2
    # The band spans mean ± std of the three seeds: 1 ± std(0, 1, 2) at x = 0 (its lowest)
    # and 2 ± std(0, 2, 4) at x = 100 (its highest).
    ys = bands[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(1 - np.std([0, 1, 2]))
    assert ys.max() == pytest.approx(2 + np.std([0, 2, 4]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["dqn (3 seeds)", "ppo"]


@pytest.mark.parametrize(
    ("configs", "labels"),
    [
        # Another algorithm: its own fields and defaults follow from it; only its name shows.
        ([DQN, PPO], ["dqn", "ppo"]),
        # Within one algorithm a field that differs is named; across both as well.
        (
            [DQN, {**DQN, "learning_rate": 1e-2}, PPO],
            ["dqn, learning_rate=0.001", "dqn, learning_rate=0.01", "ppo, learning_rate=0.0003"],
        ),
        # The env comes first, then the other fields in name order.
        (
            [DQN, {**DQN, "env": "Acrobot-v1", "n_step": 1}],
            ["env=CartPole-v1, n_step=3", "env=Acrobot-v1, n_step=1"],
        ),
        # A JSON value (an env with kwargs) is shown as JSON, cut at 40 characters.
        (
            [
                DQN,
                {**DQN, "env": {"env": "Acrobot-v1"}},
                {**DQN, "env": {"env": "CartPole-v1", "kwargs": {"a": 1}}},
            ],
            [
                "env=CartPole-v1",
                'env={"env": "Acrobot-v1"}',
                'env={"env": "CartPole-v1", "kwargs": {"a": …',
            ],
        ),
        # Nothing differs: the algorithm and env.
        ([DQN], ["dqn CartPole-v1"]),
    ],
)
def test_labels_name_what_differs_between_groups(
    configs: list[dict[str, Any]], labels: list[str]
) -> None:
    assert group_labels(configs) == labels
