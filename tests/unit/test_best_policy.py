"""The best-evaluated policy is kept beside the last one, and a solve is confirmed by a larger
greedy evaluation before it counts.

The loop runs a scripted optimizer (no actors) under DQN's policies: each round it fills every
weight with the round's number, so a policy's weights say which round made them; the greedy
evaluations are scripted by that number (a return per round), here or on a scripted greedy
evaluator actor (inline backend). What the user saw: a curve that peaked, collapsed, and kept
the collapsed policy; a "solved" declared on one noisy 20-episode mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from rlactors.actors import ActorRef, spawn
from rlactors.algorithms.builder import PolicyMap
from rlactors.algorithms.dqn.algorithm import DQNBuilder
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.loop import TrainingLoop
from rlactors.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rlactors.cli.commands import _load_run, _summary
from rlactors.cli.main import main
from rlactors.core import DEFAULT_POLICY_ID, EpisodeStats, Optimizer, Weights

#: The greedy mean return of the policy of each round, over eval_episodes: a peak, a collapse.
RETURNS = {1: 10.0, 2: 150.0, 3: 40.0, 4: -119.3, 5: -120.0}


def tag_of(weights: Mapping[str, np.ndarray]) -> int:
    """The round whose weights these are (every array is filled with its number)."""
    values = np.concatenate([np.ravel(v) for v in weights.values()])
    assert np.all(values == values[0]), "weights of mixed rounds"
    return int(values[0])


class RoundOptimizer(Optimizer):
    """100 env steps a round, after which every weight of the policy is the round's number."""

    def __init__(self, policies: PolicyMap) -> None:
        self.policies = policies
        self.env_steps = self.learner_steps = 0

    def step(self, *, last: bool = False) -> dict[str, Any]:
        self.env_steps += 100
        self.learner_steps += 1
        for entry in self.policies.values():
            weights = entry.learner.get_weights()
            entry.learner.set_weights({k: np.full_like(v, self.learner_steps) for k, v in
                                       weights.items()})  # fmt: skip
        return {
            "env_steps": self.env_steps,
            "env_steps_this_step": 100,
            "learner_steps": self.learner_steps,
            "episode_returns": [10.0],
            "episode_lengths": [10],
            "sample_wait_s": 0.0,
            "learn_time_s": 0.0,
            "learners": {DEFAULT_POLICY_ID: {"loss": 0.5}},
            "metrics": {},
        }

    def broadcast_weights(self) -> None:
        pass

    def state_dict(self) -> dict[str, int]:
        return {"env_steps": self.env_steps, "learner_steps": self.learner_steps}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.env_steps = state.get("env_steps", 0)
        self.learner_steps = state.get("learner_steps", 0)

    def stop(self) -> None:
        pass


class ScriptedGreedyEvaluator:
    """A greedy evaluator actor whose episodes return what RETURNS says of its weights."""

    def __init__(self) -> None:
        self.tag = 0

    def set_weights(self, weights: Mapping[str, Weights]) -> None:
        self.tag = tag_of(weights[DEFAULT_POLICY_ID])

    def evaluate(self, episodes: int, seed: int | None = None) -> list[EpisodeStats]:
        return [EpisodeStats(RETURNS[self.tag], 10)] * episodes


class RoundBuilder(DQNBuilder):
    def optimizer(self, policies: PolicyMap, env_steps: int) -> Optimizer:
        return RoundOptimizer(policies)


class Scripted(TrainingLoop):
    """DQN's policies; greedy evaluations in this process scripted by RETURNS and, for the
    confirming one (``final_eval_episodes``), by ``confirming``."""

    name = "dqn"  # DQN's registry entry: `rlactors evaluate` restores real DQN from it
    config_class = DQNConfig
    builder_class = RoundBuilder
    confirming: ClassVar[dict[int, float]] = {}

    def __init__(self, config: DQNConfig) -> None:
        super().__init__(config)
        self.evaluated: list[tuple[int, int]] = []  # (episodes, round of the weights)

    def evaluate(self, episodes: int | None = None) -> dict[str, Any]:
        count = self.config.eval_episodes if episodes is None else episodes
        tag = tag_of(self.policy.get_weights())
        self.evaluated.append((count, tag))
        confirming = count == self.config.final_eval_episodes
        mean = self.confirming[tag] if confirming else RETURNS[tag]
        return {"episodes": count, "eval_return_mean": mean, "eval_return_std": 45.3,
                "eval_return_min": mean, "eval_return_max": mean,
                "eval_length_mean": 10.0}  # fmt: skip


class ScriptedBeside(Scripted):
    """... with its greedy evaluations on an actor, beside learning."""

    def _spawn_greedy_evaluator(self) -> ActorRef[Any]:
        return spawn(ScriptedGreedyEvaluator)


def config(**overrides: Any) -> DQNConfig:
    fields: dict[str, Any] = {
        "hidden_sizes": (8,), "max_env_steps": 400, "eval_episodes": 20,
        "final_eval_episodes": 5, "num_envs_per_evaluator": 1, "rollout_steps": 100,
        "backend": "inline", "stop_reward": 1000.0, "eval_interval_env_steps": 100,
        "eval_trigger_fraction": 0.0,
    }  # fmt: skip
    return DQNConfig(**{**fields, **overrides})


def test_the_best_evaluation_before_a_collapse_is_what_the_checkpoint_keeps_and_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Scripted(config()) as loop:
        result = loop.train()
        assert tag_of(loop.policy.get_weights()) == 4  # the collapsed one, trained last
        path = loop.save_checkpoint(tmp_path / "checkpoint")
    assert not result["solved"] and result["env_steps"] == 400
    assert (result["best_eval_return_mean"], result["best_env_steps"]) == (150.0, 200)
    assert "best policy kept: greedy return 150.0 at 200 env steps" in _summary(result)
    best = load_checkpoint(path).state["best"]
    assert best["env_steps"] == 200 and best["eval_return_mean"] == 150.0
    assert tag_of(best["policies"][DEFAULT_POLICY_ID]) == 2

    with Scripted(config()) as restored:
        restored.restore(path, policy="best")
        assert tag_of(restored.policy.get_weights()) == 2
        assert restored.env_steps == 400  # the counters are the checkpoint's either way
        restored.restore(path)  # "last" by default: what resuming trains on
        assert tag_of(restored.policy.get_weights()) == 4
    # What `rlactors evaluate` loads: real DQN, the best policy unless told otherwise.
    with _load_run(str(path)) as dqn:
        assert tag_of(dqn.policy.get_weights()) == 2
    with _load_run(str(path), policy="last") as dqn:
        assert tag_of(dqn.policy.get_weights()) == 4
    capsys.readouterr()
    assert main(["evaluate", str(path), "--episodes", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "evaluating the best policy: the one at 200 env steps (greedy return 150.0 over 20 "
        "episodes in training)"
    )
    assert lines[1].startswith("greedy return over 2 episodes: mean")
    assert main(["evaluate", str(path), "--episodes", "2", "--policy", "last"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "evaluating the last policy: the one at 400 env steps"
    )


def test_an_evaluation_beside_learning_keeps_the_weights_it_evaluated(tmp_path: Path) -> None:
    # Round 2's policy meets the stop reward over 20 episodes (150 >= 100), but not over the
    # confirming 5: the run goes on, and the best is round 2's, evaluated while round 3 trained.
    ScriptedBeside.confirming = {2: 80.0}
    with ScriptedBeside(config(stop_reward=100.0, max_env_steps=500)) as loop:
        rows = []
        while not loop.done:
            rows.append(loop.train_iter())
            if len(rows) == 3:
                # The answer about round 2 came in at iteration 3: the confirming evaluation
                # borrowed round 2's weights and gave the learner its own back.
                assert (rows[2]["eval_return_mean"], rows[2]["eval_env_steps"]) == (150.0, 200)
                assert rows[2]["final_eval_return_mean"] == 80.0
                assert not rows[2]["solved"] and not rows[2]["done"]
                assert tag_of(loop.policy.get_weights()) == 3
                assert (5, 2) in loop.evaluated
                path = loop.save_checkpoint(tmp_path / "checkpoint")
        assert loop.best_policy is not None and loop.best_policy.env_steps == 200
    assert rows[-1]["env_steps"] == 500 and not rows[-1]["solved"]
    state = load_checkpoint(path).state
    assert tag_of(state["policies"][DEFAULT_POLICY_ID]["online"]) == 3  # the last
    assert tag_of(state["best"]["policies"][DEFAULT_POLICY_ID]) == 2  # the evaluated one


def test_a_20_episode_mean_that_the_confirming_evaluation_does_not_repeat_is_no_solve() -> None:
    Scripted.confirming = {2: 178.2}  # LunarLander: greedy 208.4 over 20, 178.2 over 50
    returns = {1: 50.0, 2: 208.4, 3: 100.0, 4: 90.0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(f"{__name__}.RETURNS", returns)
        with Scripted(config(stop_reward=200.0)) as loop:
            rows = []
            while not loop.done:
                rows.append(loop.train_iter())
            result = loop.result()
    assert [r["env_steps"] for r in rows] == [100, 200, 300, 400]  # trained to its budget
    assert rows[1]["eval_return_mean"] == 208.4 and not rows[1]["solved"]
    assert (rows[1]["final_eval_return_mean"], rows[1]["final_eval_episodes"]) == (178.2, 5)
    assert rows[0]["final_eval_return_mean"] is None  # none ran: 50 is below the stop reward
    assert not result["solved"] and result["final_eval_env_steps"] == 200
    assert "not solved after 400 env steps" in _summary(result)
    assert "not in the confirming evaluation: 178.2 ± 45.3 over 5 episodes" in _summary(result)


def test_a_confirmed_solve_reports_the_confirming_evaluation() -> None:
    Scripted.confirming = {2: 205.0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(f"{__name__}.RETURNS", {1: 50.0, 2: 208.4})
        with Scripted(config(stop_reward=200.0)) as loop:
            result = loop.train()
    assert result["solved"] and result["env_steps"] == 200
    assert (result["final_eval_return_mean"], result["final_eval_return_std"]) == (205.0, 45.3)
    assert "solved after 200 env steps" in _summary(result)
    assert "greedy return 208.4, confirmed: 205.0 ± 45.3 over 5 episodes" in _summary(result)


def test_final_eval_episodes_0_lets_the_evaluation_that_meets_the_stop_reward_decide() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(f"{__name__}.RETURNS", {1: 250.0})
        with Scripted(config(stop_reward=200.0, final_eval_episodes=0)) as loop:
            result = loop.train()
            assert loop.evaluated == [(20, 1)]
    assert result["solved"] and result["final_eval_return_mean"] is None
    with pytest.raises(ValueError, match=r"DQNConfig\.final_eval_episodes must be"):
        config(final_eval_episodes=-1)


def test_a_checkpoint_without_a_best_policy_loads_and_evaluate_says_it_uses_the_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Scripted(config()) as loop:
        loop.train()
        path = loop.save_checkpoint(tmp_path / "new")
    checkpoint = load_checkpoint(path)
    # The layout of earlier releases: no "best", no confirming evaluation in the counters.
    old = {k: v for k, v in checkpoint.state.items() if k != "best"}
    old["counters"] = {k: v for k, v in old["counters"].items() if k != "final_eval"}
    legacy = save_checkpoint(tmp_path / "old", algorithm="dqn", config=checkpoint.config,
                             state=old)  # fmt: skip
    with Scripted(config()) as restored:
        restored.restore(legacy)
        assert restored.best_policy is None and tag_of(restored.policy.get_weights()) == 4
        assert restored.result()["final_eval_return_mean"] is None
        with pytest.raises(CheckpointError, match=r"holds no best policy.*restore its last one"):
            restored.restore(legacy, policy="best")
    capsys.readouterr()
    assert main(["evaluate", str(legacy), "--episodes", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0].startswith(f"{legacy} holds no best policy") and "using the last one" in lines[0]
    )
    assert lines[1] == "evaluating the last policy: the one at 400 env steps"


def test_a_best_policy_of_other_policy_ids_is_refused(tmp_path: Path) -> None:
    with Scripted(config()) as loop:
        loop.train()
        path = loop.save_checkpoint(tmp_path / "new")
    checkpoint = load_checkpoint(path)
    state = dict(checkpoint.state)
    state["best"] = {**state["best"], "policies": {"red": state["best"]["policies"]["default"]}}
    edited = save_checkpoint(tmp_path / "edited", algorithm="dqn", config=checkpoint.config,
                             state=state)  # fmt: skip
    with Scripted(config()) as restored, pytest.raises(CheckpointError, match=r"\['red'\]"):
        restored.restore(edited)
    state["best"] = {**checkpoint.state["best"], "policies": {"default": {"w": "text"}}}
    edited = save_checkpoint(tmp_path / "text", algorithm="dqn", config=checkpoint.config,
                             state=state)  # fmt: skip
    with Scripted(config()) as restored, pytest.raises(CheckpointError, match="not numbers"):
        restored.restore(edited)


def test_a_multi_role_run_keeps_the_best_of_every_policy_id_and_confirms_its_solve(
    tmp_path: Path,
) -> None:
    from rlactors.algorithms import get_algorithm
    from rlactors.envs.toy import RockPaperScissorsEnv

    entry = get_algorithm("a2c")

    def run(stop_reward: float) -> tuple[dict[str, Any], Path, dict[str, Weights]]:
        config = entry.config_class()(
            env=RockPaperScissorsEnv, policy_mapping="independent", backend="inline",
            max_env_steps=256, num_workers=1, num_envs_per_worker=2, rollout_steps=16,
            hidden_sizes=(8,), eval_episodes=4, final_eval_episodes=8,
            eval_interval_env_steps=64, stop_reward=stop_reward,
        )  # fmt: skip
        with entry.algorithm_class()(config) as a2c:
            assert isinstance(a2c, TrainingLoop)
            result = a2c.train()
            last = {pid: e.policy.get_weights() for pid, e in a2c.policies.items()}
            return result, a2c.save_checkpoint(tmp_path / str(stop_reward)), last

    # Both seats learned: every greedy match averages 0, which meets a stop reward of -1 ...
    result, _, _ = run(-1.0)
    assert result["solved"] and result["env_steps"] == 64
    assert (result["final_eval_episodes"], result["final_eval_env_steps"]) == (8, 64)
    # ... and never beats the first (64 env steps) when it is out of reach.
    result, path, last = run(1000.0)
    assert not result["solved"] and result["env_steps"] == 256 and result["best_env_steps"] == 64
    with entry.algorithm_class().from_checkpoint(path, policy="best") as restored:
        assert isinstance(restored, TrainingLoop) and restored.best_policy is not None
        assert sorted(restored.best_policy.weights) == ["player_0", "player_1"]
        for pid, weights in restored.best_policy.weights.items():
            loaded = restored.policies[pid].policy.get_weights()
            assert any(not np.array_equal(last[pid][k], v) for k, v in weights.items())
            for key, value in weights.items():
                np.testing.assert_array_equal(loaded[key], value)
