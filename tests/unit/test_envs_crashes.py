"""EnvBatch's crash recovery: a crashed env is rebuilt, its episode dropped, its step marked."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest

from rlactors.core import EpisodeStats
from rlactors.envs import (
    CheckedEnv,
    CorridorEnv,
    CrashingCorridorEnv,
    EnvBatch,
    EnvCheckError,
    EnvCrashError,
    EnvCrashPolicy,
)
from rlactors.envs.toy import SimulatedCrash
from rlactors.errors import UserError
from rlactors.evaluators import run_episodes

RIGHT, LEFT = 1, 0
LENIENT = EnvCrashPolicy(max_crashes=100, within_s=3600.0)


def one_hot(position: int, length: int = 4) -> list[float]:
    return [1.0 if i == position else 0.0 for i in range(length)]


def test_a_crash_in_interact_rebuilds_the_env_and_marks_its_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crashing = CrashingCorridorEnv(4, crash_interacts={2})
    batch = EnvBatch(
        [crashing, CorridorEnv(4)], rebuild=lambda: CorridorEnv(4), crash_policy=LENIENT
    )
    batch.reset(seed=0)
    batch.interact([RIGHT, RIGHT])
    with caplog.at_level(logging.WARNING, logger="rlactors.envs"):
        batch.interact([RIGHT, RIGHT])  # env 0 crashes in its 2nd interact, at cell 1
    after = batch.observe()
    assert after.crashed.tolist() == [True, False]
    np.testing.assert_array_equal(after.states[0], one_hot(0))  # the fresh env's first state
    np.testing.assert_array_equal(after.next_states[0], one_hot(1))  # the last good state
    assert after.rewards[0] == 0.0 and after.truncated[0] and not after.terminated[0]
    assert after.infos[0] == {}
    np.testing.assert_array_equal(after.states[1], one_hot(2))  # env 1 went on as usual
    assert batch.crashes == 1 and crashing.closed
    assert batch.envs[0] is not crashing and type(batch.envs[0]) is CorridorEnv
    (record,) = caplog.records
    assert "index 0" in record.getMessage() and "SimulatedCrash" in record.getMessage()
    assert "simulated crash in interact #2" in record.getMessage()
    # The next interact is an ordinary one.
    batch.interact([RIGHT, RIGHT])
    assert not batch.observe().crashed.any()


def test_the_crashed_episode_is_dropped_and_the_fresh_one_counted_from_zero() -> None:
    batch = EnvBatch(
        [CrashingCorridorEnv(4, crash_interacts={2}), CorridorEnv(4)],
        rebuild=lambda: CorridorEnv(4),
        crash_policy=LENIENT,
    )
    batch.reset(seed=0)
    for _ in range(5):
        batch.interact([RIGHT, RIGHT])
    # env 1 reached the goal at interact 3; env 0's fresh episode at interact 5 in 3 steps.
    # Its crashed episode (1 step, then the lost one) is not reported.
    assert batch.pop_episode_stats() == [EpisodeStats(1.0, 3), EpisodeStats(1.0, 3)]


def test_a_crash_in_observe_is_a_crash_of_that_step() -> None:
    # observe #1 is in reset(); #2 follows the first interact.
    batch = EnvBatch(
        [CrashingCorridorEnv(4, crash_observes={2})],
        rebuild=lambda: CorridorEnv(4),
        crash_policy=LENIENT,
    )
    batch.reset(seed=0)
    batch.interact([RIGHT])
    after = batch.observe()
    assert after.crashed.tolist() == [True] and after.truncated.tolist() == [True]
    np.testing.assert_array_equal(after.next_states[0], one_hot(0))
    assert batch.crashes == 1


def test_a_crash_in_reset_rebuilds_the_env_before_the_first_step() -> None:
    batch = EnvBatch(
        [CorridorEnv(4), CrashingCorridorEnv(4, crash_resets={1})],
        rebuild=lambda: CorridorEnv(4),
        crash_policy=LENIENT,
    )
    batch.reset(seed=0)
    step = batch.observe()
    np.testing.assert_array_equal(step.states, [one_hot(0), one_hot(0)])
    assert not step.crashed.any() and not step.done.any()  # no step was lost
    assert batch.crashes == 1 and type(batch.envs[1]) is CorridorEnv


def test_a_crash_in_the_autoreset_keeps_the_finished_episode() -> None:
    # reset #1 is the batch's; #2 the autoreset after the goal.
    batch = EnvBatch(
        [CrashingCorridorEnv(3, crash_resets={2})],
        rebuild=lambda: CorridorEnv(3),
        crash_policy=LENIENT,
    )
    batch.reset(seed=0)
    batch.interact([RIGHT])
    batch.interact([RIGHT])  # the goal; the autoreset crashes
    after = batch.observe()
    assert after.terminated.tolist() == [True] and after.rewards.tolist() == [1.0]
    assert not after.crashed.any()  # the step itself was not lost
    np.testing.assert_array_equal(after.next_states[0], one_hot(2, 3))
    np.testing.assert_array_equal(after.states[0], one_hot(0, 3))
    assert batch.pop_episode_stats() == [EpisodeStats(1.0, 2)]
    assert batch.crashes == 1


def test_more_crashes_than_the_policy_allows_end_in_one_line_naming_the_env() -> None:
    def always_crashing() -> CrashingCorridorEnv:
        return CrashingCorridorEnv(4, crash_every_interacts=1)

    batch = EnvBatch(
        [always_crashing()],
        rebuild=always_crashing,
        crash_policy=EnvCrashPolicy(max_crashes=2, within_s=3600.0),
        name="corridor",
    )
    batch.reset(seed=0)
    batch.interact([RIGHT])
    batch.interact([RIGHT])
    assert batch.crashes == 2
    with pytest.raises(EnvCrashError) as caught:
        batch.interact([RIGHT])
    message = str(caught.value)
    assert message == (
        "env corridor crashed 3 times within 3600 s (last: SimulatedCrash: "
        "CrashingCorridorEnv: simulated crash in interact #1)"
    )
    assert isinstance(caught.value, UserError) and "\n" not in message
    copy = pickle.loads(pickle.dumps(caught.value))  # it crosses from actors to the driver
    assert str(copy) == message and copy.crashes == 3


def test_max_crashes_zero_makes_the_first_crash_fatal() -> None:
    batch = EnvBatch(
        [CrashingCorridorEnv(4, crash_interacts={1})],
        rebuild=lambda: CorridorEnv(4),
        crash_policy=EnvCrashPolicy(max_crashes=0),
    )
    batch.reset()
    with pytest.raises(EnvCrashError, match="crashed 1 times within 60 s"):
        batch.interact([RIGHT])


def test_crashes_outside_the_window_are_survived() -> None:
    batch = EnvBatch(
        [CrashingCorridorEnv(4, crash_every_interacts=2)],
        rebuild=lambda: CrashingCorridorEnv(4, crash_every_interacts=2),
        crash_policy=EnvCrashPolicy(max_crashes=1, within_s=1e-9),  # no two crashes count
    )
    batch.reset()
    for _ in range(10):
        batch.interact([RIGHT])
    assert batch.crashes == 5


def test_a_rebuild_that_always_crashes_ends_even_with_a_tiny_window() -> None:
    """The consecutive crashes of one rebuild count too: else a factory whose envs crash more
    slowly than the window would be retried forever."""
    batch = EnvBatch(
        [CrashingCorridorEnv(4, crash_interacts={1})],
        rebuild=lambda: CrashingCorridorEnv(4, crash_resets={1}),
        crash_policy=EnvCrashPolicy(max_crashes=3, within_s=1e-9),
        name="corridor",
    )
    batch.reset()
    head = r"^env corridor crashed 4 times within [0-9.e-]+ s "
    tail = r"\(last: SimulatedCrash: CrashingCorridorEnv: simulated crash in reset #1\)$"
    with pytest.raises(EnvCrashError, match=head + tail):
        batch.interact([RIGHT])


def test_without_a_factory_the_envs_exception_propagates() -> None:
    batch = EnvBatch([CrashingCorridorEnv(4, crash_interacts={1})])
    batch.reset()
    with pytest.raises(SimulatedCrash, match="interact #1"):
        batch.interact([RIGHT])


def test_a_failed_check_is_no_crash() -> None:
    batch = EnvBatch([CheckedEnv(CorridorEnv(3))], rebuild=lambda: CheckedEnv(CorridorEnv(3)))
    batch.reset()
    with pytest.raises(EnvCheckError):
        batch.interact([7])
    assert batch.crashes == 0


def test_a_factory_of_another_env_is_refused() -> None:
    batch = EnvBatch([CrashingCorridorEnv(4, crash_interacts={1})], rebuild=lambda: CorridorEnv(5))
    batch.reset()
    with pytest.raises(ValueError, match="differs from the batch's envs"):
        batch.interact([RIGHT])


class SeedRecorder(CorridorEnv):
    """A corridor that crashes in its first interact and remembers the seeds it was reset with."""

    def __init__(self, seeds: list[int | None]) -> None:
        super().__init__(4)
        self.seeds = seeds

    def reset(self, seed: int | None = None) -> None:
        self.seeds.append(seed)
        super().reset(seed)

    def interact(self, actions: object) -> None:
        raise SimulatedCrash("boom")


def crash_seeds(seed: int | None) -> list[int | None]:
    seeds: list[int | None] = []
    batch = EnvBatch(
        [SeedRecorder(seeds), SeedRecorder(seeds)],
        rebuild=lambda: SeedRecorder(seeds),
        crash_policy=LENIENT,
    )
    batch.reset(seed)
    batch.interact([RIGHT, RIGHT])
    batch.interact([RIGHT, RIGHT])
    return seeds  # 2 resets, then 2 rebuilds of each env, in env order per interact


def test_rebuilt_envs_continue_a_derived_seed_stream() -> None:
    seeds = crash_seeds(7)
    assert seeds == crash_seeds(7)  # reproducible
    assert len(set(seeds)) == 6  # every reset and rebuild got a seed of its own
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    assert set(seeds).isdisjoint(crash_seeds(8))
    assert crash_seeds(None) == [None] * 6  # unseeded batches stay unseeded


def test_run_episodes_runs_a_crashed_episode_again() -> None:
    envs = EnvBatch(
        [CrashingCorridorEnv(3, crash_interacts={1}), CorridorEnv(3)],
        rebuild=lambda: CorridorEnv(3),
        crash_policy=LENIENT,
    )
    stats = run_episodes(envs, lambda obs: np.ones(len(obs), dtype=np.int64), seed=0)
    assert stats == [EpisodeStats(1.0, 2), EpisodeStats(1.0, 2)]
    assert envs.crashes == 1


@pytest.mark.parametrize(("max_crashes", "within_s"), [(-1, 1.0), (1, 0.0), (1, float("inf"))])
def test_the_policy_is_validated(max_crashes: int, within_s: float) -> None:
    with pytest.raises(ValueError, match="EnvCrashPolicy"):
        EnvCrashPolicy(max_crashes=max_crashes, within_s=within_s)
