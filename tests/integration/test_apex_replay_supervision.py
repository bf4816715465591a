"""Ape-X's replay shards are supervised: one whose process dies comes back empty, what it held
is counted as lost, and the learner samples the other shards until it has refilled."""

from __future__ import annotations

import time

import pytest
from test_apex import tiny

from rlactors.actors import RestartLimitError, kill
from rlactors.algorithms.apex.algorithm import Apex


def _wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.timeout(180)
def test_a_killed_replay_shard_is_restarted_empty_and_its_loss_counted() -> None:
    config = tiny(backend="process", num_replay_shards=2, max_env_steps=20_000)
    with Apex(config) as apex:
        apex.train_iter()
        metrics = apex.train_iter()
        optimizer = apex._optimizer
        assert metrics["learner_steps"] > 0, "learning must be under way before the kill"
        held = optimizer.shards[0].ask("size").result(30.0)
        assert held > 0
        learner_steps = metrics["learner_steps"]
        kill(optimizer.shards[0])
        for _ in range(4):
            metrics = apex.train_iter()
        assert metrics["replay_restarts"] == 1
        # At least what the shard held when it was killed (more may have reached it before
        # its death was noticed); never more than the env steps taken: lost_transitions also
        # counts what workers sampled but could not deliver to the dead shard, which
        # inserted_transitions does not (a loaded machine once gave 1,147 lost of 1,146
        # inserted, so that bound was wrong).
        assert held <= metrics["lost_transitions"] <= metrics["env_steps"]
        assert metrics["learner_steps"] > learner_steps  # learning went on
        _wait_for(lambda: optimizer.shards[0].ask("size").result(30.0) > 0, "shard 0 refills")
        # The counters travel with checkpoints, so a resumed run reports the same totals.
        state = optimizer.state_dict()
        assert state["replay_restarts"] == 1
        assert state["lost_transitions"] == metrics["lost_transitions"]


@pytest.mark.timeout(180)
def test_a_replay_shard_past_its_restart_limit_ends_the_run() -> None:
    config = tiny(backend="process", max_replay_restarts=0, max_env_steps=20_000)
    with Apex(config) as apex:
        apex.train_iter()
        kill(apex._optimizer.shards[0])
        with pytest.raises(RestartLimitError, match="replay-0"):
            for _ in range(20):
                apex.train_iter()


@pytest.mark.timeout(180)
def test_the_rollouts_of_a_killed_worker_are_counted_as_lost() -> None:
    config = tiny(backend="process", max_env_steps=20_000)
    with Apex(config) as apex:
        apex.train_iter()
        optimizer = apex._optimizer
        assert optimizer.config.rollouts_in_flight_per_worker >= 1  # some wait at the worker
        kill(optimizer.workers.refs[0])
        metrics = apex.train_iter()
        _wait_for(lambda: optimizer.workers.restarts >= 1, "worker-0 restarts")
        metrics = apex.train_iter()
    assert metrics["worker_restarts"] == 1
    assert metrics["lost_rollouts"] >= 1
