"""AsyncReplayOptimizer's flow control, on the inline backend (deterministic message order)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlactors.actors import Runtime
from rlactors.core import SampleBatch
from rlactors.evaluators import EvaluatorConfig
from rlactors.learners import DQNLearner, DQNLearnerConfig
from rlactors.optimizers.async_replay import AsyncReplayConfig, AsyncReplayOptimizer
from rlactors.policies import DQNPolicy, DQNPolicyConfig

POLICY = DQNPolicyConfig(hidden_sizes=(16,))
#: 2 envs x 25 steps: one rollout is 50 env steps.
EVALUATOR = EvaluatorConfig(
    env="CartPole-v1", num_envs=2, rollout_steps=25, n_step=3, seed=0, policy=POLICY
)
CONFIG = AsyncReplayConfig(
    num_workers=2, batch_size=32, replay_ratio=8.0, learning_starts_transitions=200
)


@pytest.fixture
def optimizer() -> Iterator[AsyncReplayOptimizer]:
    obs = gym.spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
    learner = DQNLearner(DQNPolicy(obs, gym.spaces.Discrete(2), POLICY, seed=0), DQNLearnerConfig())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as Ape-X's learner: small tensors, and the machine is shared
    with Runtime("inline"):
        opt = AsyncReplayOptimizer(CONFIG, EVALUATOR, learner, iteration_env_steps=1000)
        yield opt
        opt.stop()
    torch.set_num_threads(threads)


def in_flight(opt: AsyncReplayOptimizer, kind: str) -> int:
    return sum(1 for k, _, _ in opt._inflight.values() if k == kind)


def test_the_next_samples_are_requested_before_learning_and_in_few_messages(
    optimizer: AsyncReplayOptimizer,
) -> None:
    # The shard must prepare the next batches while the learner learns; requesting them only
    # once the learner had used up every batch in hand left it waiting a round trip each time.
    seen: list[int] = []
    learn = optimizer.learner.learn

    def spy(batch: SampleBatch) -> dict[str, Any]:
        seen.append(in_flight(optimizer, "sample"))
        return learn(batch)

    requests: list[tuple[Any, ...]] = []

    class CountingRef:
        def __init__(self, ref: Any) -> None:
            self.ref = ref

        def ask(self, method: str, *args: Any) -> Any:
            if method == "sample_batches":  # not the replay size a step reports
                requests.append(args)
            return self.ref.ask(method, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.ref, name)

    optimizer.learner.learn = spy  # type: ignore[method-assign]
    optimizer.shards = [CountingRef(optimizer.shards[0])]  # type: ignore[list-item]
    optimizer.step()
    assert len(seen) > 20
    # The request whose batches are being learned on is replaced already: a learner that
    # topped up only before waiting would find one request fewer in flight.
    full = CONFIG.sample_requests_in_flight_per_shard
    assert sum(n == full for n in seen) >= 0.9 * len(seen)
    # Several batches per request (the default asks for 4), and the new priorities ride along:
    # no message of their own.
    per_request = CONFIG.batches_per_sample_request
    assert per_request > 1
    assert sum(args[0] == per_request for args in requests) >= 0.8 * len(requests)
    assert len(requests) <= len(seen) / per_request + full + 2
    assert sum(args[-1] is not None for args in requests) >= len(requests) - full - 1


def test_rollouts_keep_going_while_learning_lags_less_than_a_rollout_per_worker(
    optimizer: AsyncReplayOptimizer,
) -> None:
    per_rollout = CONFIG.replay_ratio * EVALUATOR.env_steps_per_sample  # samples owed: 400
    batches = CONFIG.sample_requests_in_flight_per_shard * CONFIG.batches_per_sample_request
    optimizer.inserted = 1000
    # Behind by less than one rollout per worker (800 samples) once the prefetch is asked for:
    # every worker keeps sampling.
    optimizer._requested_samples = int(
        CONFIG.replay_ratio * 1000 - 1.5 * per_rollout - batches * CONFIG.batch_size
    )
    optimizer._top_up()
    assert in_flight(optimizer, "sample") == CONFIG.sample_requests_in_flight_per_shard
    assert in_flight(optimizer, "run") == CONFIG.num_workers * CONFIG.rollouts_in_flight_per_worker
    optimizer._inflight.clear()
    # Behind by more (with samples in flight): new rollouts wait for the learner.
    optimizer._requested_samples = int(
        CONFIG.replay_ratio * 1000 - 3 * per_rollout - batches * CONFIG.batch_size
    )
    optimizer._top_up()
    assert in_flight(optimizer, "sample") == CONFIG.sample_requests_in_flight_per_shard
    assert in_flight(optimizer, "run") == 0


def test_priorities_for_a_shard_that_just_died_are_dropped_not_raised(
    optimizer: AsyncReplayOptimizer,
) -> None:
    """Regression (chaos benchmark): the learner's end-of-iteration priority updates to a
    replay shard whose process had just died raised ActorDiedError ('Broken pipe') out of the
    learner's loop and ended the run; the rows they were for died with the shard."""
    from rlactors.actors import ActorDiedError

    class DeadShard:
        name = "replay-0"

        def tell(self, method: str, *args: Any) -> None:
            raise ActorDiedError(f"replay-0.{method}: the connection to its process broke")

    optimizer.shards = [DeadShard()]  # type: ignore[list-item]
    optimizer._priorities[0] = [("some-incarnation", np.arange(3), np.ones(3))]
    optimizer._send_priorities()
    assert optimizer._priorities[0] == []


def test_no_rollout_is_sent_that_could_take_the_run_past_its_env_step_limit(
    optimizer: AsyncReplayOptimizer,
) -> None:
    # Rollouts of 50 env steps; 530 leaves room for ten of them. The round (1000 env steps)
    # ends short, at the limit, and says so; the next one fits nothing and ends at once.
    optimizer.env_step_limit = 530
    stats = optimizer.step()
    assert stats["env_steps"] == 500 and stats["env_step_limit_met"]
    assert in_flight(optimizer, "run") == 0
    again = optimizer.step()
    assert again["env_steps_this_step"] == 0 and again["env_step_limit_met"]
    optimizer.env_step_limit = None  # no limit: a whole round
    stats = optimizer.step()
    assert stats["env_steps_this_step"] >= 1000 and not stats["env_step_limit_met"]
