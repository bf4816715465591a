"""The pure parts of ``benchmarks/presets.py``'s SB3 peer: RL Zoo's schedules and table, the
peer's name, the criterion's gate and the summary maths (the learning runs are the benchmark's,
never a test's)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rlactors.cli.presets import preset_env_ids

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def presets() -> ModuleType:
    """``benchmarks/presets.py`` as a module (benchmarks/ is not a package; it imports its
    sibling ``_sb3_common`` by name, as when it runs as a script)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        path = BENCHMARKS / "presets.py"
        spec = importlib.util.spec_from_file_location("presets_benchmark", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["presets_benchmark"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def run(seed: int, solved: bool, wall_s: float, env_steps: int) -> dict[str, Any]:
    return {"seed": seed, "solved": solved, "wall_s": wall_s, "env_steps": env_steps}


def test_lin_schedules_decay_from_their_value_to_zero(presets: ModuleType) -> None:
    lr = presets.schedule("lin_0.001")
    assert lr(1.0) == pytest.approx(0.001)
    assert lr(0.25) == pytest.approx(0.00025)
    assert presets.schedule(0.2) == 0.2
    assert presets.schedule("auto") == "auto"
    with pytest.raises(ValueError, match="lin_<number>"):
        presets.schedule("lin_fast")


def test_sb3_arguments_drop_zoo_keys_and_keep_rl_zoos_exploration_length(
    presets: ModuleType,
) -> None:
    entry = presets.RL_ZOO[("DQN", "CartPole-v1")]
    arguments = presets.sb3_arguments(entry, 100_000)
    assert not set(presets.ZOO_ONLY_KEYS) & set(arguments)
    # 16% of RL Zoo's 50,000 steps = 8,000 env steps = 8% of a 100,000-step budget.
    assert arguments["exploration_fraction"] == pytest.approx(0.08)
    assert arguments["policy_kwargs"] == {"net_arch": [256, 256]}
    assert presets.sb3_arguments(entry, 1_000)["exploration_fraction"] == 1.0
    ppo = presets.sb3_arguments(presets.RL_ZOO[("PPO", "CartPole-v1")], 200_000)
    assert ppo["clip_range"](0.5) == pytest.approx(0.1)
    assert "n_envs" not in ppo and ppo["n_steps"] == 32


def test_every_shipped_preset_has_a_peer_and_an_rl_zoo_entry(presets: ModuleType) -> None:
    for algorithm in presets.PEERS:
        for env_id in preset_env_ids(algorithm):
            sb3_algorithm, _ = presets.peer_of(algorithm)
            entry, source = presets.zoo_entry(sb3_algorithm, env_id)
            assert entry, f"{algorithm}/{env_id}: no RL Zoo entry for {sb3_algorithm}"
            assert source == f"RL Zoo's hyperparams/{sb3_algorithm.lower()}.yml, {env_id}"


def test_peers_name_the_closest_algorithm_and_missing_entries_say_defaults(
    presets: ModuleType,
) -> None:
    assert presets.peer_of("dqn") == ("DQN", "sb3 DQN")
    assert presets.peer_of("apex") == ("DQN", "sb3 DQN (closest to apex)")
    assert presets.peer_of("impala") == ("A2C", "sb3 A2C (closest to impala)")
    assert presets.peer_of("sac") is None
    entry, source = presets.zoo_entry("A2C", "Pendulum-v1")
    assert entry == {}
    assert source.startswith("SB3's defaults")


def test_the_gate_is_rlactors_only_for_a_positive_target(presets: ModuleType) -> None:
    criterion = presets.Criterion(475.0, 20, 100, 4096, 500_000, 0.5, 20)
    assert criterion.gate == (20, 237.5)
    assert presets.Criterion(-100.0, 20, 100, 4096, 500_000, 0.5, 20).gate is None
    assert presets.Criterion(475.0, 20, 100, 2048, 100_000, 0.0, 20).gate is None


def test_summary_and_ratios_count_only_the_seeds_both_solved(presets: ModuleType) -> None:
    ours = [run(0, True, 10.0, 1000), run(1, True, 30.0, 3000), run(2, False, 99.0, 9000)]
    theirs = [run(0, True, 20.0, 4000), run(1, False, 50.0, 5000), run(2, True, 5.0, 500)]
    assert presets.summary(ours) == {
        "seeds": 3,
        "solved": 2,
        "median_wall_s_solved": 20.0,
        "median_env_steps_solved": 2000,
    }
    # Only seed 0 solved for both: 10 / 20 and 1000 / 4000.
    assert presets.ratio_both_solved(ours, theirs, "wall_s") == 0.5
    assert presets.ratio_both_solved(ours, theirs, "env_steps") == 0.25
    assert presets.ratio_both_solved(ours[1:2], theirs, "wall_s") is None
    assert presets.summary([])["median_wall_s_solved"] is None


def test_the_peer_is_skipped_with_a_note_without_sb3_or_with_no_peer(
    presets: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    criterion = presets.Criterion(475.0, 20, 100, 2048, 100_000, 0.0, 20)
    assert presets.sb3_version_or_note("dqn", criterion, True) == (
        None,
        "peer: skipped (--no-peer)",
    )
    no_target = presets.Criterion(None, 20, 100, 2048, 100_000, 0.0, 20)
    assert presets.sb3_version_or_note("dqn", no_target, False)[0] is None
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # its import now fails
    version, note = presets.sb3_version_or_note("dqn", criterion, False)
    assert version is None
    assert "not installed" in note
