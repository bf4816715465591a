"""DQN and Ape-X train multi-role envs on every backend: mappings, turn-based games with action
masks (tic-tac-toe), scripted opponents, and a self-play league that survives save -> restore."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlactors.algorithms import get_algorithm
from rlactors.algorithms.loop import TrainingLoop
from rlactors.envs.toy import NimEnv, RockPaperScissorsEnv
from rlactors.multiagent.mapping import PolicyMappingError

TICTACTOE = "pettingzoo:classic/tictactoe_v3"
HAVE_PETTINGZOO = importlib.util.find_spec("pettingzoo") is not None


def tiny(name: str, backend: str = "inline", **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "env": NimEnv,
        "seed": 0,
        "backend": backend,
        "max_env_steps": 512,
        "hidden_sizes": (16,),
        "batch_size": 16,
        "eval_episodes": 4,
    }
    if name == "dqn":
        fields.update(
            num_evaluators=2,
            num_envs_per_evaluator=2,
            rollout_steps=32,
            learning_starts_env_steps=64,
            train_steps_per_sample=8,
        )
    else:
        fields.update(
            num_workers=2,
            num_envs_per_worker=2,
            rollout_steps=8,
            iteration_env_steps=128,
            learning_starts_transitions=32,
            replay_ratio=2.0,
        )
    return get_algorithm(name).config_class()(**{**fields, **overrides})


def build(name: str, config: Any) -> TrainingLoop:
    algorithm = get_algorithm(name).algorithm_class()(config)
    assert isinstance(algorithm, TrainingLoop)
    return algorithm


def backend_of(name: str, backend_name: str) -> str:
    if name == "dqn" and backend_name == "ray":
        pytest.skip("DQNConfig takes no ray backend (inline or process)")
    return backend_name


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["dqn", "apex"])
@pytest.mark.parametrize(
    ("env", "mapping", "ids"),
    [
        (NimEnv, "shared", {"default"}),
        (RockPaperScissorsEnv, "independent", {"player_0", "player_1"}),
        pytest.param(
            TICTACTOE,
            "shared",
            {"default"},
            marks=pytest.mark.skipif(not HAVE_PETTINGZOO, reason="pettingzoo is not installed"),
        ),
    ],
)
def test_trains_every_policy_of_a_mapping(
    name: str, env: Any, mapping: str, ids: set[str], backend_name: str
) -> None:
    config = tiny(name, backend_of(name, backend_name), env=env, policy_mapping=mapping)
    iterations: list[dict[str, Any]] = []
    with build(name, config) as algorithm:
        before = {pid: e.policy.get_weights() for pid, e in algorithm.policies.items()}
        result = algorithm.train(callback=iterations.append)
        after = {pid: e.policy.get_weights() for pid, e in algorithm.policies.items()}
    assert set(algorithm.policies) == ids
    assert result["env_steps"] >= 384 and result["eval_return_mean"] is not None
    last = iterations[-1]
    assert set(last["policies"]) == ids and set(last["role_return_mean"]) == set(algorithm.roles)
    for pid in ids:  # every policy learned
        assert last["policies"][pid]["loss"] is not None
        assert any(not np.array_equal(before[pid][k], after[pid][k]) for k in before[pid])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["dqn", "apex"])
def test_a_scripted_opponent_is_played_and_only_trained_ids_learn(name: str) -> None:
    config = tiny(
        name,
        env=RockPaperScissorsEnv,
        policy_mapping={"player_0": "a", "player_1": "b"},
        policies_to_train=("a",),
    )
    iterations: list[dict[str, Any]] = []
    with build(name, config) as algorithm:
        frozen = algorithm.policies["b"].policy.get_weights()
        algorithm.train(callback=iterations.append)
        still = algorithm.policies["b"].policy.get_weights()
    assert set(algorithm.policies) == {"a", "b"}
    assert set(iterations[-1]["policies"]) == {"a"} and iterations[-1]["loss"] is not None
    for key, value in frozen.items():
        np.testing.assert_array_equal(still[key], value)
    rock = tiny(
        name,
        env=RockPaperScissorsEnv,
        policy_mapping="independent",
        opponents={"player_1": "rock"},
    )
    with build(name, rock) as algorithm:
        algorithm.train()
    assert set(algorithm.policies) == {"player_0"}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", ["dqn", "apex"])
def test_a_self_play_league_is_saved_and_restored(
    name: str, backend_name: str, tmp_path: Path
) -> None:
    config = tiny(
        name,
        backend_of(name, backend_name),
        self_play=True,
        league_join_min_games=5,
        league_join_win_rate=0.0,  # every round adds a snapshot
        max_env_steps=768,
    )
    with build(name, config) as algorithm:
        iterations: list[dict[str, Any]] = []
        algorithm.train(callback=iterations.append)
        path = algorithm.save(tmp_path / "checkpoint", include_replay=True)
        league = algorithm.builder.league  # type: ignore[attr-defined]
        saved = {sid: dict(w) for sid, w in league.snapshots.items()}
        rating, results = league.rating, dict(league.results)
        steps = algorithm.env_steps
    assert len(saved) > 2 and iterations[-1]["league_size"] == len(saved)
    assert sum(sum(r) for r in results.values()) > 0  # games against snapshots were scored
    restored = build(name, tiny(name, **{**config.__dict__, "max_env_steps": 2048}))
    with restored:
        restored.restore(path)
        again = restored.builder.league  # type: ignore[attr-defined]
        assert list(again.snapshots) == list(saved) and again.rating == rating
        for sid, weights in saved.items():
            for key, value in weights.items():
                np.testing.assert_array_equal(np.asarray(again.snapshots[sid][key]), value)
        metrics = restored.train_iter()  # goes on with the league and the replay it saved
        assert metrics["league_size"] >= len(saved)
        assert metrics["replay_size"] > 2 * (metrics["env_steps"] - steps)


def test_bad_q_mappings_fail_before_any_actor_starts() -> None:
    with pytest.raises(PolicyMappingError, match="policies_to_train names 'ghost'"):
        build("dqn", tiny("dqn", policies_to_train=("ghost",)))
    with pytest.raises(PolicyMappingError, match="apex learns Q-values and has no critic"):
        build("apex", tiny("apex", centralized_critic=True))
    with pytest.raises(ValueError, match="self_play trains one shared policy"):
        tiny("dqn", self_play=True, policy_mapping="independent")


def test_role_input_reaches_a_shared_q_network() -> None:
    with build("dqn", tiny("dqn", env=RockPaperScissorsEnv, role_input=True)) as algorithm:
        algorithm.train_iter()
        weights = algorithm.policy.get_weights()
    # The opponent's last action (4) and the role, one-hot (2).
    assert min(w.shape[1] for k, w in weights.items() if k.endswith("0.weight")) == 4 + 2
