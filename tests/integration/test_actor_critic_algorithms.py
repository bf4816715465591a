"""A2C, A3C, PPO and IMPALA end to end on every backend, for a few hundred env steps each:
train, record metrics, save, restore into a fresh instance, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlactors.algorithms import get_algorithm
from rlactors.algorithms.greedy_evaluation import _Evaluation
from rlactors.algorithms.loop import TrainingLoop
from rlactors.checkpoint import CheckpointError
from rlactors.core import DEFAULT_POLICY_ID

ALGORITHMS = ["a2c", "a3c", "ppo", "impala"]


def tiny(name: str, **overrides: Any) -> Any:
    """A run of ``name`` that goes through its whole loop in a few hundred env steps."""
    fields: dict[str, Any] = {
        "env": "CartPole-v1",
        "seed": 0,
        "max_env_steps": 640,
        "num_workers": 2,
        "num_envs_per_worker": 2,
        "rollout_steps": 16,
        "hidden_sizes": (16,),
        "eval_episodes": 2,
        "eval_interval_env_steps": 128,
        "eval_trigger_fraction": 0.0,
        **overrides,
    }
    if name in ("a3c", "impala"):
        fields.setdefault("iteration_env_steps", 128)
    if name == "ppo":
        fields.setdefault("num_epochs", 2)
        fields.setdefault("minibatch_size", 32)
    return get_algorithm(name).config_class()(**fields)


def build(name: str, config: Any) -> TrainingLoop:
    algorithm = get_algorithm(name).algorithm_class()(config)
    assert isinstance(algorithm, TrainingLoop)
    return algorithm


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ALGORITHMS)
def test_trains_saves_restores_and_evaluates(name: str, backend_name: str, tmp_path: Path) -> None:
    iterations: list[dict[str, Any]] = []
    config = tiny(name, backend=backend_name, stop_reward=10_000.0)
    with build(name, config) as algorithm:
        result = algorithm.train(callback=iterations.append)
        path = algorithm.save(tmp_path / "checkpoint")
        weights = algorithm.policy.get_weights()
    assert not result["solved"] and iterations
    last = iterations[-1]
    # Asynchronous optimizers may overshoot an iteration by the rollouts in flight, but send
    # none that could take the run past max_env_steps.
    assert 640 - config.env_steps_per_round < last["env_steps"] <= 640
    assert last["learner_steps"] > 0 and last["loss"] is not None
    assert last["worker_restarts"] == 0 and last["learning_rate"] > 0
    assert any(m["eval_return_mean"] is not None for m in iterations)

    restored = get_algorithm(name).algorithm_class().from_checkpoint(path)
    with restored:
        assert restored.env_steps == result["env_steps"]
        assert restored.learner_steps == result["learner_steps"]
        for key, value in restored.policy.get_weights().items():
            assert (value == weights[key]).all(), key
        assert restored.evaluate(episodes=2)["episodes"] == 2
    other = next(n for n in ALGORITHMS if n != name)
    with pytest.raises(CheckpointError, match=f"is a '{name}' checkpoint"):
        build(other, tiny(other)).restore(path)


@pytest.mark.timeout(120)
def test_a_restored_run_continues_training(tmp_path: Path) -> None:
    with build("ppo", tiny("ppo", max_env_steps=256)) as first:
        first.train()
        path = first.save(tmp_path / "checkpoint")
    config = tiny("ppo", max_env_steps=512)
    with build("ppo", config) as second:
        second.restore(path)
        result = second.train()
    assert result["env_steps"] == 512 and result["learner_steps"] > 0


@pytest.mark.timeout(120)
def test_sync_algorithms_reproduce_across_backends() -> None:
    """A2C and PPO gather every evaluator's rollout each round: the same run on any backend."""
    results = []
    for backend in ("inline", "process"):
        with build("ppo", tiny("ppo", backend=backend)) as ppo:
            ppo.train()
            results.append(ppo.policy.get_weights())
    for key, value in results[0].items():
        assert (value == results[1][key]).all(), key


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ALGORITHMS)
def test_normalized_observations_reach_the_evaluators(name: str) -> None:
    with build(name, tiny(name, normalize_observations=True, backend="inline")) as algorithm:
        algorithm.train()
        stats = algorithm.policy.obs_stats
        # Every env step's observation was merged in from the evaluators' rollouts.
        assert stats is not None and stats.count >= algorithm.env_steps


@pytest.mark.timeout(120)
def test_a_killed_evaluator_is_restarted_and_training_goes_on() -> None:
    from rlactors.actors import kill

    iterations: list[dict[str, Any]] = []
    config = tiny("impala", backend="process", max_env_steps=2048, iteration_env_steps=256)
    with build("impala", config) as impala:

        def on_iteration(metrics: dict[str, Any]) -> None:
            iterations.append(metrics)
            if len(iterations) == 1:
                kill(impala._optimizer.group.refs[0])  # SIGKILL its process

        result = impala.train(callback=on_iteration)
        restarts = impala._optimizer.group.restarts if impala._optimizer else 0
    assert result["env_steps"] >= 2048 - 256
    assert restarts >= 1 or iterations[-1]["worker_restarts"] >= 1
    # It had rollouts in flight when it was killed (IMPALA keeps some asked for ahead).
    assert iterations[-1]["lost_rollouts"] >= 1


def test_bad_config_values_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"PPOConfig\.num_epochs"):
        tiny("ppo", num_epochs=0)
    with pytest.raises(ValueError, match=r"IMPALAConfig\.rho_bar"):
        tiny("impala", rho_bar=0.0)
    with pytest.raises(ValueError, match=r"A2CConfig\.gae_lambda"):
        tiny("a2c", gae_lambda=1.5)
    with pytest.raises(ValueError, match="less than one training iteration"):
        tiny("a2c", max_env_steps=10)


@pytest.mark.timeout(60)
def test_a_negative_stop_reward_is_not_gated_by_the_training_mean() -> None:
    """``eval_trigger_fraction`` is a fraction of a positive target: with a target <= 0 (as
    Pendulum's) every due evaluation runs, so a reachable one solves at the first check."""
    config = tiny("ppo", stop_reward=-1000.0, eval_trigger_fraction=0.5)
    with build("ppo", config) as ppo:
        result = ppo.train()
    assert result["solved"] and result["eval_env_steps"] == config.eval_interval_env_steps


@pytest.mark.timeout(120)
def test_evaluates_beside_learning_and_keeps_the_policy_that_solved(backend_name: str) -> None:
    # Any CartPole policy returns 5: the first evaluation solves. It ran on the greedy
    # evaluator actor, on a snapshot, while PPO learned on; the run must end with the
    # evaluated weights (observation statistics included), not later untested ones.
    config = tiny(
        "ppo",
        backend=backend_name,
        stop_reward=5.0,
        max_env_steps=2048,
        normalize_observations=True,
    )
    finished: list[_Evaluation] = []
    with build("ppo", config) as ppo:
        finish = ppo._finish_evaluation

        def spy(evaluation: _Evaluation) -> float | None:
            finished.append(evaluation)
            return finish(evaluation)

        ppo._finish_evaluation = spy  # type: ignore[method-assign]
        result = ppo.train()
        kept = ppo.policy.get_weights()
    assert result["solved"] and result["eval_return_mean"] >= 5.0 and len(finished) == 1
    evaluation = finished[0]
    assert evaluation.env_steps == result["eval_env_steps"] == config.eval_interval_env_steps
    assert evaluation.env_steps < result["env_steps"]  # learning went on meanwhile...
    assert any(k.startswith("obs_stats/") for k in kept)
    for key, value in evaluation.weights[DEFAULT_POLICY_ID].items():  # ...and it is the one kept
        np.testing.assert_array_equal(kept[key], value, err_msg=key)


def test_restore_drops_the_evaluation_in_flight(tmp_path: Path) -> None:
    """Regression: restore() kept an evaluation started before it; collected afterwards, it
    solved and loaded its pre-restore snapshot over the restored weights."""
    config = tiny("ppo", backend="inline", stop_reward=5.0, eval_interval_env_steps=64)
    with build("ppo", config) as ppo:
        path = ppo.save(tmp_path / "start")
        ppo.train_iter()  # an evaluation of this round's snapshot starts, beside learning
        assert ppo._evaluation is not None
        ppo.restore(path)
        restored = ppo.policy.get_weights()
        metrics = ppo.train_iter()
        assert metrics["eval_return_mean"] is None and not metrics["solved"]
        assert ppo._evaluation is not None  # a new one, of a policy learned after the restore
        snapshot = ppo._evaluation.weights[DEFAULT_POLICY_ID]
        assert any(not np.array_equal(snapshot[k], restored[k]) for k in restored)


def test_a_greedy_evaluator_past_its_restart_limit_leaves_evaluations_to_the_learner() -> None:
    from rlactors.actors import RestartLimitError

    class Gone:
        def tell(self, *args: Any) -> None:
            raise RestartLimitError("greedy evaluator: restarted too often")

        def stop(self, timeout: float | None = None) -> None:
            pass

    config = tiny("ppo", backend="inline", stop_reward=5.0, eval_interval_env_steps=64)
    with build("ppo", config) as ppo:
        ppo.train_iter()
        ppo._evaluation = None
        ppo._greedy_evaluator = Gone()  # type: ignore[assignment]
        metrics = ppo.train_iter()  # the due evaluation runs here, and solves
        assert ppo._greedy_evaluator is None
        assert metrics["solved"] and metrics["eval_env_steps"] == metrics["env_steps"]
