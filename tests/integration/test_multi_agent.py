"""PPO, A2C and IMPALA train multi-role envs on every backend: mappings, scripted opponents,
and a self-play league that survives save -> restore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlactors.algorithms import get_algorithm
from rlactors.algorithms.loop import TrainingLoop
from rlactors.algorithms.ppo.algorithm import PPO
from rlactors.envs.toy import NimEnv, RockPaperScissorsEnv
from rlactors.errors import SpaceError
from rlactors.multiagent.mapping import PolicyMappingError


def tiny(name: str, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "env": NimEnv,
        "seed": 0,
        "max_env_steps": 512,
        "num_workers": 2,
        "num_envs_per_worker": 2,
        "rollout_steps": 16,
        "hidden_sizes": (16,),
        "eval_episodes": 4,
        "eval_interval_env_steps": 128,
        **overrides,
    }
    if name == "ppo":
        fields.setdefault("num_epochs", 2)
        fields.setdefault("minibatch_size", 32)
    if name in ("impala", "a3c"):
        fields.setdefault("iteration_env_steps", 128)
    return get_algorithm(name).config_class()(**fields)


def build(name: str, config: Any) -> TrainingLoop:
    algorithm = get_algorithm(name).algorithm_class()(config)
    assert isinstance(algorithm, TrainingLoop)
    return algorithm


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["ppo", "a2c", "a3c", "impala"])
@pytest.mark.parametrize(
    ("env", "mapping", "ids"),
    [
        (NimEnv, "shared", {"default"}),
        (RockPaperScissorsEnv, "independent", {"player_0", "player_1"}),
    ],
)
def test_trains_every_policy_of_a_mapping(
    name: str, env: Any, mapping: str, ids: set[str], backend_name: str
) -> None:
    config = tiny(name, env=env, policy_mapping=mapping, backend=backend_name)
    iterations: list[dict[str, Any]] = []
    with build(name, config) as algorithm:
        before = {pid: e.policy.get_weights() for pid, e in algorithm.policies.items()}
        result = algorithm.train(callback=iterations.append)
        after = {pid: e.policy.get_weights() for pid, e in algorithm.policies.items()}
    assert set(algorithm.policies) == ids
    if name in ("impala", "a3c"):  # a stream may overshoot by the rollouts in flight
        in_flight = 2 * 2 * 2 * 16  # workers x requests in flight x envs x rollout steps
        assert 512 - 128 < result["env_steps"] <= 512 + in_flight
    else:
        assert result["env_steps"] == 512
    assert result["eval_return_mean"] is not None
    last = iterations[-1]
    assert set(last["policies"]) == ids and all(last["policies"][pid]["samples"] > 0 for pid in ids)
    assert set(last["role_return_mean"]) == {"player_0", "player_1"}
    for pid in ids:  # every policy learned
        assert any(not np.array_equal(before[pid][k], after[pid][k]) for k in before[pid])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["ppo", "a3c", "impala"])
def test_a_scripted_opponent_is_played_and_never_trained(name: str, backend_name: str) -> None:
    config = tiny(
        name,
        env=RockPaperScissorsEnv,
        policy_mapping="independent",
        opponents={"player_1": "rock"},
        backend=backend_name,
    )
    with build(name, config) as algorithm:
        metrics = algorithm.train_iter()
    assert set(algorithm.policies) == {"player_0"}
    assert set(metrics["policies"]) == {"player_0"}
    assert metrics["policies"]["player_0"]["samples"] > 0


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["ppo", "a3c", "impala"])
def test_a_self_play_league_is_saved_and_restored(
    name: str, backend_name: str, tmp_path: Path
) -> None:
    config = tiny(
        name,
        self_play=True,
        league_join_min_games=5,
        league_join_win_rate=0.0,  # every round adds a snapshot
        max_env_steps=1024,
        backend=backend_name,
    )
    with build(name, config) as algorithm:
        iterations: list[dict[str, Any]] = []
        algorithm.train(callback=iterations.append)
        path = algorithm.save(tmp_path / "checkpoint")
        league = algorithm.builder.league  # type: ignore[attr-defined]
        saved = {sid: dict(w) for sid, w in league.snapshots.items()}
        rating, results = league.rating, dict(league.results)
    assert len(saved) > 2 and iterations[-1]["league_size"] == len(saved)
    # Episodes against snapshots were played and scored.
    assert sum(sum(r) for r in results.values()) > 0
    restored = build(name, tiny(name, **{**config.__dict__, "max_env_steps": 2048}))
    with restored:
        restored.restore(path)
        again = restored.builder.league  # type: ignore[attr-defined]
        assert list(again.snapshots) == list(saved) and again.rating == rating
        for sid, weights in saved.items():
            for key, value in weights.items():
                np.testing.assert_array_equal(np.asarray(again.snapshots[sid][key]), value)
        metrics = restored.train_iter()  # goes on with the league
        assert metrics["league_size"] >= len(saved)


def test_bad_mappings_fail_before_any_actor_starts() -> None:
    with pytest.raises(PolicyMappingError, match="leaves out role 'player_1'"):
        build("ppo", tiny("ppo", policy_mapping={"player_0": "a"}))
    with pytest.raises(PolicyMappingError, match="names role 'nobody'"):
        build("ppo", tiny("ppo", opponents={"nobody": "random"}))
    with pytest.raises(PolicyMappingError, match="'minmax', not a scripted player"):
        build("ppo", tiny("ppo", opponents={"player_1": "minmax"}))
    with pytest.raises(PolicyMappingError, match="policies_to_train names 'ghost'"):
        build("ppo", tiny("ppo", policies_to_train=("ghost",)))
    with pytest.raises(SpaceError, match="has one role"):
        build("ppo", tiny("ppo", env="CartPole-v1", self_play=True))

    class SingleRoleOnly(PPO):
        multi_agent_builder_class = None

    with pytest.raises(SpaceError, match="trains single-role envs"):
        SingleRoleOnly(tiny("ppo"))


def test_role_input_gives_a_shared_policy_the_role() -> None:
    config = tiny("ppo", env=RockPaperScissorsEnv, role_input=True, backend="inline")
    with build("ppo", config) as algorithm:
        metrics = algorithm.train_iter()
        # The one-hot role adds two input features to the opponent's last action (4).
        first = algorithm.policy.get_weights()
        evaluation = algorithm.evaluate(4)
    assert set(algorithm.policies) == {"default"} and metrics["policies"]["default"]["samples"]
    assert any(w.shape[-1] == 4 + 2 or w.shape[0] == 4 + 2 for w in first.values())
    assert evaluation["episodes"] == 4


def test_a_centralized_critic_reads_what_the_actor_does_not() -> None:
    config = tiny(
        "ppo",
        env=RockPaperScissorsEnv,
        centralized_critic=True,
        role_input=True,
        backend="inline",
    )
    with build("ppo", config) as algorithm:
        metrics = algorithm.train_iter()
        weights = algorithm.policy.get_weights()
    assert metrics["policies"]["default"]["samples"] > 0
    # The actor: the opponent's last action (4) and the role (2). The critic adds both
    # roles' packed observations (2 x (4 + 1)).
    assert weights["policy_torso.0.weight"].shape[1] == 6
    assert weights["value_torso.0.weight"].shape[1] == 6 + 10


def only_alice(role: str, episode: int) -> str:
    """A function mapping that names a policy the run has no spec for (for the test below)."""
    return "alice" if role == "player_0" else "mallory"


def test_roles_with_different_spaces_train_as_different_policies() -> None:
    adversary = {"env": "mpe2:simple_adversary_v3", "env_kwargs": {"max_cycles": 10}}
    with pytest.raises(PolicyMappingError, match="share policy 'default' but not an observation"):
        build("ppo", tiny("ppo", **adversary))
    mapping = {"adversary_0": "adversary", "agent_0": "agent", "agent_1": "agent"}
    config = tiny("ppo", **adversary, policy_mapping=mapping, backend="inline")
    with build("ppo", config) as algorithm:
        metrics = algorithm.train_iter()
    assert set(metrics["policies"]) == {"adversary", "agent"}
    weights = {pid: e.policy.get_weights() for pid, e in algorithm.policies.items()}
    assert weights["adversary"]["policy_torso.0.weight"].shape[1] == 8
    assert weights["agent"]["policy_torso.0.weight"].shape[1] == 10


def test_a_function_mapping_to_a_policy_without_a_spec_fails_before_any_actor() -> None:
    with pytest.raises(PolicyMappingError, match="role 'player_1' to policy 'mallory'"):
        build(
            "ppo",
            tiny("ppo", policy_mapping="test_multi_agent:only_alice", policies=("alice",)),
        )
