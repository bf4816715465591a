"""ReplayBuffer with uniform and prioritized samplers: sampling, IS weights, FIFO, stale updates,
checkpoint state and bad input."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest

from rlactors.core import SampleBatch
from rlactors.replay import (
    CircularStorage,
    PrioritizedSampler,
    ReplayBuffer,
    UniformSampler,
)


def rows(start: int, n: int) -> SampleBatch:
    """n CartPole-like transitions whose obs[:, 0] is their position in the stream."""
    t = np.arange(start, start + n)
    return SampleBatch(
        obs=np.stack([t, t, t, t], axis=1).astype(np.float32),
        actions=(t % 2).astype(np.int64),
        rewards=np.ones(n, dtype=np.float32),
        next_obs=np.stack([t + 1] * 4, axis=1).astype(np.float32),
        discounts=np.full(n, 0.99, dtype=np.float32),
    )


def prioritized(capacity: int, alpha: float = 1.0, eps: float = 1e-9) -> ReplayBuffer:
    return ReplayBuffer(capacity, PrioritizedSampler(alpha=alpha, eps=eps))


# --- sampling ---------------------------------------------------------------------------------


def test_uniform_sample_returns_rows_and_their_ids() -> None:
    buf = ReplayBuffer(10)
    ids = buf.add(rows(0, 6))
    np.testing.assert_array_equal(ids, np.arange(6))
    batch, sampled, weights = buf.sample(32, np.random.default_rng(0))
    assert len(batch) == 32 and set(batch) == {"obs", "actions", "rewards", "next_obs", "discounts"}
    np.testing.assert_array_equal(batch["obs"][:, 0], sampled)
    assert sampled.min() >= 0 and sampled.max() < 6
    np.testing.assert_array_equal(weights, np.ones(32, dtype=np.float32))
    assert weights.dtype == np.float32


def test_same_seed_same_sample() -> None:
    buf = prioritized(100, alpha=0.6)
    buf.add(rows(0, 100), priorities=np.linspace(0.1, 5.0, 100))
    a = buf.sample(16, np.random.default_rng(3), beta=0.5)
    b = buf.sample(16, np.random.default_rng(3), beta=0.5)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.weights, b.weights)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
def test_prioritized_frequencies_follow_priority_to_the_alpha(alpha: float) -> None:
    buf = prioritized(4, alpha=alpha)
    buf.add(rows(0, 4), priorities=[1.0, 2.0, 3.0, 4.0])
    rng = np.random.default_rng(0)
    counts = np.zeros(4)
    for _ in range(200):
        counts += np.bincount(buf.sample(50, rng).ids, minlength=4)
    expected = np.array([1.0, 2.0, 3.0, 4.0]) ** alpha
    expected /= expected.sum()
    # 10,000 draws; stratification makes the counts tighter than multinomial noise (~0.005).
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.01)


def test_stratified_sampling_covers_equal_priorities_exactly() -> None:
    buf = prioritized(8)
    buf.add(rows(0, 8))  # all at the running max priority
    for seed in range(5):
        ids = buf.sample(8, np.random.default_rng(seed)).ids
        # One draw per segment of [0, total): with equal priorities, segment k is row k.
        np.testing.assert_array_equal(ids, np.arange(8))


@pytest.mark.parametrize("capacity", [1000, 5000])
def test_sampling_never_picks_empty_slots(capacity: int) -> None:
    buf = prioritized(capacity)
    buf.add(rows(0, 3))
    ids = buf.sample(4096, np.random.default_rng(0)).ids
    assert set(ids.tolist()) <= {0, 1, 2}


# --- importance-sampling weights ----------------------------------------------------------------


def test_is_weights_by_hand() -> None:
    buf = prioritized(2, alpha=1.0)
    buf.add(rows(0, 2), priorities=[1.0, 4.0])
    # P = [0.2, 0.8]; w = (N P)**-beta = [0.4**-0.5, 1.6**-0.5] = [1.5811, 0.7906];
    # normalized by the batch max: [1.0, 0.5]. Ten strata of width 0.5: the first is surely row 0.
    sample = buf.sample(10, np.random.default_rng(0), beta=0.5)
    assert {0, 1} <= set(sample.ids.tolist())
    expected = np.where(sample.ids == 0, 1.0, 0.5)
    np.testing.assert_allclose(sample.weights, expected, rtol=1e-6)
    # beta = 1: (1/4)**1 -> 0.25 for row 1.
    sample = buf.sample(10, np.random.default_rng(0), beta=1.0)
    np.testing.assert_allclose(sample.weights, np.where(sample.ids == 0, 1.0, 0.25), rtol=1e-6)
    # beta = 0: no correction.
    np.testing.assert_array_equal(buf.sample(10, np.random.default_rng(0), beta=0.0).weights, 1.0)


def test_is_weights_normalized_by_batch_max_not_buffer_max() -> None:
    buf = prioritized(3, alpha=1.0)
    buf.add(rows(0, 3), priorities=[1e-3, 4.0, 4.0])
    # Strata of width 1/3 of 8.001: row 0's sliver [0, 0.001) is far from the draws below.
    rng = np.random.default_rng(1)
    for _ in range(20):
        sample = buf.sample(2, rng, beta=1.0)
        if 0 not in sample.ids:
            np.testing.assert_array_equal(sample.weights, [1.0, 1.0])


def test_new_rows_get_the_running_max_priority() -> None:
    sampler = PrioritizedSampler(alpha=0.5, eps=1e-6)
    buf = ReplayBuffer(8, sampler)
    buf.add(rows(0, 1))
    np.testing.assert_allclose(sampler.priorities([0]), [1.0])  # the initial max
    buf.add(rows(1, 1), priorities=[9.0])
    buf.add(rows(2, 1))
    np.testing.assert_allclose(sampler.priorities([1, 2]), [3.0, 3.0], rtol=1e-6)  # 9**0.5
    buf.update_priorities([2], [0.0])
    # A priority of 0 becomes eps: still sampleable.
    np.testing.assert_allclose(sampler.priorities([2]), [1e-3], rtol=1e-3)
    assert sampler.max_priority == pytest.approx(9.0)


def test_tree_matches_priorities_after_wrapping_adds() -> None:
    sampler = PrioritizedSampler(alpha=1.0, eps=1e-9)
    buf = ReplayBuffer(10, sampler)
    expected = np.zeros(10)
    for start, n in [(0, 4), (4, 4), (8, 4), (12, 1), (13, 9), (22, 3)]:
        prio = np.arange(start, start + n, dtype=np.float64) + 1.0
        buf.add(rows(start, n), priorities=prio)
        expected[np.arange(start, start + n) % 10] = prio
        np.testing.assert_allclose(
            sampler.priorities(np.arange(10))[: len(buf)], expected[: len(buf)]
        )
        assert sampler._tree.total == pytest.approx(expected.sum())


# --- FIFO eviction and stale priority updates -----------------------------------------------------


def test_fifo_eviction_at_capacity() -> None:
    buf = ReplayBuffer(3)
    np.testing.assert_array_equal(buf.add(rows(0, 2)), [0, 1])
    np.testing.assert_array_equal(buf.add(rows(2, 3)), [2, 3, 4])
    assert len(buf) == 3 and buf.num_added == 5
    sample = buf.sample(64, np.random.default_rng(0))
    assert set(sample.ids.tolist()) == {2, 3, 4}
    np.testing.assert_array_equal(sample.batch["obs"][:, 0], sample.ids)


def test_add_more_than_capacity_in_one_call_keeps_the_newest() -> None:
    buf = prioritized(4)
    ids = buf.add(rows(0, 10), priorities=np.arange(10.0))
    np.testing.assert_array_equal(ids, np.arange(10))
    sample = buf.sample(64, np.random.default_rng(0))
    assert set(sample.ids.tolist()) <= {6, 7, 8, 9}
    np.testing.assert_array_equal(sample.batch["obs"][:, 0], sample.ids)
    assert buf.update_priorities(ids, np.ones(10)) == 4


def test_update_for_an_overwritten_row_is_ignored() -> None:
    sampler = PrioritizedSampler(alpha=1.0, eps=1e-9)
    buf = ReplayBuffer(2, sampler)
    buf.add(rows(0, 2), priorities=[1.0, 1.0])
    sampled = buf.sample(2, np.random.default_rng(0)).ids  # ids 0 and 1
    np.testing.assert_array_equal(sampled, [0, 1])
    buf.add(rows(2, 1), priorities=[5.0])  # id 2 takes slot 0, evicting id 0
    applied = buf.update_priorities(sampled, [100.0, 7.0])
    assert applied == 1
    # Slot 0 (now id 2) keeps its own priority 5; slot 1 (still id 1) got 7.
    np.testing.assert_allclose(sampler.priorities([0, 1]), [5.0, 7.0])
    # The max priority did not pick up the dropped 100 either.
    assert sampler.max_priority == pytest.approx(7.0)


def test_update_after_wrapping_many_times() -> None:
    sampler = PrioritizedSampler(alpha=1.0, eps=1e-9)
    buf = ReplayBuffer(3, sampler)
    buf.add(rows(0, 3))
    ids = buf.sample(6, np.random.default_rng(0)).ids
    buf.add(rows(3, 7))  # ten rows in: ids 7, 8, 9 live in slots 1, 2, 0
    assert buf.update_priorities(ids, np.full(6, 2.0)) == 0
    sample = buf.sample(30, np.random.default_rng(1))
    np.testing.assert_array_equal(sample.batch["obs"][:, 0], sample.ids)
    assert buf.update_priorities(sample.ids, np.full(30, 2.0)) == 30


def test_update_with_ids_never_handed_out_raises() -> None:
    buf = prioritized(4)
    buf.add(rows(0, 2))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\)"):
        buf.update_priorities([2], [1.0])
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\)"):
        buf.update_priorities([-1], [1.0])
    with pytest.raises(ValueError, match="ids must be integers"):
        buf.update_priorities([0.5], [1.0])


@pytest.mark.parametrize(
    ("bad", "problem"), [(np.nan, "NaN"), (np.inf, "infinite"), (-0.5, "negative")]
)
def test_bad_priorities_raise_naming_the_problem(bad: float, problem: str) -> None:
    buf = prioritized(4)
    ids = buf.add(rows(0, 2))
    with pytest.raises(ValueError, match=problem):
        buf.update_priorities(ids, [1.0, bad])
    with pytest.raises(ValueError, match=problem):
        buf.add(rows(2, 2), priorities=[bad, 1.0])
    assert len(buf) == 2, "a rejected add must not write anything"
    with pytest.raises(ValueError, match=problem):
        ReplayBuffer(4).add(rows(0, 1), priorities=[bad])  # uniform buffers check them too


def test_priority_count_must_match() -> None:
    buf = prioritized(4)
    ids = buf.add(rows(0, 2))
    with pytest.raises(ValueError, match="expected 2 priorities"):
        buf.update_priorities(ids, [1.0])
    with pytest.raises(ValueError, match="expected 3 priorities"):
        buf.add(rows(0, 3), priorities=[1.0])


# --- checkpoint state --------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: ReplayBuffer(5), lambda: prioritized(5, alpha=0.6)])
def test_state_dict_round_trip_through_npz(make: Callable[[], ReplayBuffer]) -> None:
    buf = make()
    buf.add(rows(0, 4), priorities=[1.0, 2.0, 3.0, 4.0])
    buf.add(rows(4, 3))  # wraps: 7 rows through 5 slots
    ids = buf.sample(4, np.random.default_rng(0)).ids
    buf.update_priorities(ids, [0.5, 6.0, 0.1, 2.0])
    state = buf.state_dict()
    assert all(isinstance(v, (int, np.ndarray)) for v in state.values())
    assert not any(isinstance(v, np.ndarray) and v.dtype == object for v in state.values())
    file = io.BytesIO()
    np.savez(file, **state)  # type: ignore[arg-type]  # numpy stubs: **kwds typed too narrowly
    file.seek(0)
    with np.load(file, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files}

    restored = make()
    restored.load_state_dict(loaded)
    assert len(restored) == len(buf) == 5 and restored.num_added == 7
    for original in (buf, restored):
        original.add(rows(7, 2))
    a = buf.sample(16, np.random.default_rng(9), beta=0.7)
    b = restored.sample(16, np.random.default_rng(9), beta=0.7)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.weights, b.weights)
    for key in a.batch:
        np.testing.assert_array_equal(a.batch[key], b.batch[key])
        assert a.batch[key].dtype == b.batch[key].dtype


def test_state_dict_is_a_copy() -> None:
    buf = ReplayBuffer(3)
    buf.add(rows(0, 3))
    state = buf.state_dict()
    buf.add(rows(3, 3))
    assert isinstance(state["column/obs"], np.ndarray)
    np.testing.assert_array_equal(state["column/obs"][:, 0], [0, 1, 2])


def test_empty_buffer_state_round_trip() -> None:
    buf = prioritized(4)
    restored = prioritized(4)
    restored.load_state_dict(buf.state_dict())
    assert len(restored) == 0
    restored.add(rows(0, 1))
    assert len(restored) == 1


def test_load_state_dict_rejects_mismatches() -> None:
    buf = prioritized(4, alpha=0.6)
    buf.add(rows(0, 2))
    state = buf.state_dict()
    with pytest.raises(ValueError, match="capacity 4"):
        prioritized(5, alpha=0.6).load_state_dict(state)
    with pytest.raises(ValueError, match=r"alpha=0\.6"):
        prioritized(4, alpha=0.7).load_state_dict(state)
    with pytest.raises(ValueError, match="missing key 'leaves'"):
        prioritized(4, alpha=0.6).load_state_dict(ReplayBuffer(4).state_dict())
    with pytest.raises(ValueError, match="unknown keys"):
        prioritized(4, alpha=0.6).load_state_dict({**state, "typo": 1})


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True])
def test_bad_capacity(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        ReplayBuffer(capacity)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        CircularStorage(capacity)  # type: ignore[arg-type]


def test_sample_from_empty_buffer() -> None:
    for buf in (ReplayBuffer(4), prioritized(4)):
        with pytest.raises(ValueError, match="empty"):
            buf.sample(1, np.random.default_rng(0))


@pytest.mark.parametrize("batch_size", [0, -2])
def test_bad_batch_size(batch_size: int) -> None:
    buf = ReplayBuffer(4)
    buf.add(rows(0, 2))
    with pytest.raises(ValueError, match="batch_size must be > 0"):
        buf.sample(batch_size, np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        buf.sample(2.0, np.random.default_rng(0))  # type: ignore[arg-type]


def test_bad_beta_and_sampler_arguments() -> None:
    buf = prioritized(4)
    buf.add(rows(0, 2))
    with pytest.raises(ValueError, match="beta must lie in"):
        buf.sample(2, np.random.default_rng(0), beta=1.5)
    with pytest.raises(ValueError, match="alpha must be finite and >= 0"):
        PrioritizedSampler(alpha=-0.1)
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        PrioritizedSampler(eps=0.0)


def test_columns_must_match_the_first_add() -> None:
    buf = ReplayBuffer(8)
    buf.add(rows(0, 2))
    first = rows(2, 2).columns
    with pytest.raises(ValueError, match=r"missing \['discounts'\], unexpected \['extra'\]"):
        buf.add({**{k: v for k, v in first.items() if k != "discounts"}, "extra": np.zeros(2)})
    with pytest.raises(ValueError, match=r"'obs' has per-row shape \(5,\).*first add had \(4,\)"):
        buf.add({**first, "obs": np.zeros((2, 5), dtype=np.float32)})
    with pytest.raises(ValueError, match="'actions' has dtype float64"):
        buf.add({**first, "actions": np.zeros(2)})
    with pytest.raises(ValueError, match="columns differ in length"):
        buf.add({**first, "rewards": np.zeros(3, dtype=np.float32)})
    with pytest.raises(ValueError, match="'rewards' is a scalar"):
        buf.add({**first, "rewards": np.float32(1.0)})
    with pytest.raises(ValueError, match="expected a SampleBatch or a dict"):
        buf.add([1, 2, 3])  # type: ignore[arg-type]
    assert len(buf) == 2
    # Safe casts are fine: float64 rewards into the float32 column, Python ints for actions.
    buf.add({**first, "rewards": np.ones(2), "actions": [0, 1]})
    assert len(buf) == 4
    assert buf.sample(4, np.random.default_rng(0)).batch["rewards"].dtype == np.float32


def test_empty_adds_are_no_ops() -> None:
    buf = ReplayBuffer(4)
    assert buf.add(SampleBatch()).shape == (0,)
    assert buf.add(rows(0, 0)).shape == (0,)
    assert len(buf) == 0 and buf.num_added == 0
    buf.add(rows(0, 1))
    assert len(buf) == 1


def test_uniform_sampler_ignores_priorities() -> None:
    buf = ReplayBuffer(4, UniformSampler())
    ids = buf.add(rows(0, 4), priorities=[1.0, 2.0, 3.0, 4.0])
    assert buf.update_priorities(ids, [0.0, 0.0, 0.0, 0.0]) == 4


def test_a_shard_holding_less_than_a_batch_answers_no_batches_and_its_size() -> None:
    """A shard restarted empty must not answer a batch of a few rows repeated (or raise):
    the learner samples the other shards until it has refilled."""
    from rlactors.replay.shard import ReplayShard

    shard = ReplayShard(100, seed=0)
    me = shard.incarnation
    columns = {"obs": np.zeros((3, 2), np.float32), "actions": np.zeros(3, np.int64)}
    assert shard.sample_batches(2, 4, 0.4) == ([], 0, me)
    shard.add(columns, np.ones(3))
    assert shard.sample_batches(2, 4, 0.4) == ([], 3, me)
    shard.add(columns, np.ones(3))
    batches, size, incarnation = shard.sample_batches(2, 4, 0.4)
    assert size == 6 and len(batches) == 2 and incarnation == me
    assert all(len(ids) == 4 for _, ids, _ in batches)


def test_a_restarted_shard_ignores_priority_updates_for_the_rows_of_the_one_before() -> None:
    """Regression: the learner's new priorities for rows of a shard that died reached its
    restarted (empty) successor, which raised 'ids must lie in [0, 0)' and ended the run."""
    from rlactors.replay.shard import ReplayShard

    old, new = ReplayShard(100, seed=0), ReplayShard(100, seed=0)
    assert old.incarnation != new.incarnation  # the same seed: a restart rebuilds from its spec
    stale = (old.incarnation, np.array([8, 40]), np.array([1.0, 2.0]))
    assert new.update_priorities(*stale) == 0
    assert new.sample_batches(1, 4, 0.4, stale) == ([], 0, new.incarnation)
    columns = {"obs": np.zeros((3, 2), np.float32), "actions": np.zeros(3, np.int64)}
    new.add(columns, np.ones(3))
    assert new.update_priorities(new.incarnation, np.array([0, 2]), np.array([5.0, 5.0])) == 2
