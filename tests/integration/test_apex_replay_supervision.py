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
        # What the shard held when it was killed, within the rollouts in flight either way:
        # the learner counts a shard's size as of its last answer (rollouts the workers
        # pushed after it are missed, the window the module docstring of async_replay
        # names), and env steps as rollouts are answered, while lost_transitions also counts
        # what workers could not deliver to the dead shard. (A fresh clone once gave 1,147
        # lost of 1,146 env steps counted, another 1,096 lost of 1,097 held.)
        c = apex.config
        in_flight = (
            c.num_workers
            * optimizer.config.rollouts_in_flight_per_worker
            * c.rollout_steps
            * c.num_envs_per_worker
        )
        lost = metrics["lost_transitions"]
        assert held - in_flight <= lost <= metrics["env_steps"] + in_flight
        assert lost > 0
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
    config = tiny(backend="process", max_env_steps=40_000, max_worker_restarts=10)
    with Apex(config) as apex:
        apex.train_iter()
        optimizer = apex._optimizer
        assert optimizer.config.rollouts_in_flight_per_worker >= 1  # some wait at the worker
        # A kill loses a rollout only if worker 0 is still computing one: while learning lags
        # behind the replay ratio none is asked for, and a rollout the learner still counts
        # as in flight may have been answered already (the fresh clone of session 7 once
        # lost nothing). So kill it while one is in flight, and again (at most 5 times) until
        # a kill lands mid-rollout.
        kills = 0
        for _ in range(5):
            for _ in range(50):
                if any(k == "run" and w == 0 for k, w, _ in optimizer._inflight.values()):
                    break
                apex.train_iter()
            else:
                pytest.fail("worker-0 never had a rollout in flight between iterations")
            kill(optimizer.workers.refs[0])
            kills += 1
            apex.train_iter()
            _wait_for(lambda n=kills: optimizer.workers.restarts >= n, "worker-0 restarts")
            metrics = apex.train_iter()
            if metrics["lost_rollouts"] >= 1:
                break
    assert metrics["worker_restarts"] == kills
    assert metrics["lost_rollouts"] >= 1
