"""Frugal replay: frame stacks stored a frame at a time give back exactly what the naive layout
does, row by row, over episodes of several interleaved env streams, n-step rows, crashes and
many wraparounds of the buffer; checkpoints of either layout load into either buffer."""

from __future__ import annotations

import io
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import FrameStackObservation, TimeLimit

from rlactors.core import SampleBatch
from rlactors.replay import CircularStorage, NStepAccumulator, PrioritizedSampler, ReplayBuffer
from rlactors.replay.frame_pool import FramePool
from rlactors.replay.frame_storage import FRAME_POOL_KEY, FrameStackStorage, is_frame_stack
from rlactors.replay.shard import ReplayShard

STACK = 4
FRAME = (6, 8)


class FrameEnv(gym.Env[np.ndarray, int]):
    """Episodes of 1 to 12 steps (terminated), frames drawn from a few patterns so that equal
    frames recur within and across episodes and envs."""

    observation_space = gym.spaces.Box(0, 255, FRAME, dtype=np.uint8)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._patterns = np.random.default_rng(99).integers(0, 256, (6, *FRAME), dtype=np.uint8)
        self._left = 0

    def _frame(self) -> np.ndarray:
        if self._rng.random() < 0.3:
            return self._patterns[self._rng.integers(len(self._patterns))].copy()
        return self._rng.integers(0, 256, FRAME, dtype=np.uint8)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._left = int(self._rng.integers(1, 13))
        return self._frame(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._left -= 1
        return self._frame(), float(self._rng.normal()), self._left <= 0, False, {}


def streams(num_envs: int, steps: int, n: int, seed: int) -> list[SampleBatch]:
    """Rollouts of 5 lockstep steps of ``num_envs`` frame-stacked envs (reset and zero
    padding, time limits), rows of the envs interleaved per step as DQNEvaluator builds them;
    now and then an env 'crashes' (its pending steps end as a truncation)."""
    rng = np.random.default_rng(seed)
    envs = [
        FrameStackObservation(
            TimeLimit(FrameEnv(seed * 10 + i), max_episode_steps=9),
            STACK,
            padding_type="reset" if i % 2 == 0 else "zero",
        )
        for i in range(num_envs)
    ]
    accumulators = [NStepAccumulator(n, 0.9) for _ in envs]
    states = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    rollouts, pieces = [], []
    for step in range(steps):
        for i, (env, acc) in enumerate(zip(envs, accumulators, strict=True)):
            action = int(rng.integers(2))
            next_state, reward, terminated, truncated, _ = env.step(action)
            if rng.random() < 0.02:
                out = acc.truncate(states[i])
                next_state, _ = env.reset()
            else:
                out = acc.add(states[i], action, reward, next_state, terminated, truncated)
                if terminated or truncated:
                    next_state, _ = env.reset()
            states[i] = next_state
            if len(out):
                pieces.append(out)
        if step % 5 == 4:
            rollouts.append(SampleBatch.concat(pieces))
            pieces = []
    return [r for r in rollouts if len(r)]


def check_references(storage: FrameStackStorage) -> None:
    """Every stored row's frames are held, each referenced exactly once per use, no others."""
    size = len(storage)
    slots = storage._rows.get(np.arange(size))
    used = np.concatenate([slots[c].reshape(-1) for c in storage.frame_columns])
    refs = storage.pool.references()
    np.testing.assert_array_equal(refs, np.bincount(used, minlength=refs.shape[0]))
    assert len(storage.pool) == np.unique(used).shape[0]


def assert_same(a: SampleBatch, b: SampleBatch) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("n", [1, 3])
def test_frugal_replay_samples_exactly_what_naive_replay_does(n: int) -> None:
    rollouts = streams(num_envs=3, steps=150, n=n, seed=n)
    assert sum(len(r) for r in rollouts) > 10 * 37  # the buffer wraps around many times
    frugal = ReplayBuffer(37, PrioritizedSampler(alpha=0.6))
    naive = ReplayBuffer(37, PrioritizedSampler(alpha=0.6), store_frames_once=False)
    rng = np.random.default_rng(0)
    rng_f, rng_n = np.random.default_rng(1), np.random.default_rng(1)
    for rollout in rollouts:
        priorities = rng.random(len(rollout))
        np.testing.assert_array_equal(
            frugal.add(rollout, priorities), naive.add(rollout, priorities)
        )
        assert isinstance(frugal.storage, FrameStackStorage)
        assert isinstance(naive.storage, CircularStorage)
        everything = np.arange(len(naive))
        assert_same(frugal.storage.get(everything), naive.storage.get(everything))
        check_references(frugal.storage)
        f, s = frugal.sample(16, rng_f, beta=0.4), naive.sample(16, rng_n, beta=0.4)
        assert_same(f.batch, s.batch)
        np.testing.assert_array_equal(f.ids, s.ids)
        np.testing.assert_array_equal(f.weights, s.weights)
        new = rng.random(16) * 3
        assert frugal.update_priorities(f.ids, new) == naive.update_priorities(s.ids, new)
    # About one frame a row: a stack shares 3 frames with the next, next_obs with a later obs.
    frames_per_row = len(frugal.storage.pool) / len(frugal)
    assert frames_per_row < 2.0, frames_per_row


def test_an_update_for_rows_overwritten_since_is_dropped_as_naive_replay_drops_it() -> None:
    rollouts = streams(num_envs=2, steps=60, n=3, seed=7)
    frugal, naive = (
        ReplayBuffer(20, PrioritizedSampler(), store_frames_once=once) for once in (True, False)
    )
    frugal.add(rollouts[0])
    naive.add(rollouts[0])
    ids = frugal.sample(8, np.random.default_rng(0)).ids
    for rollout in rollouts[1:]:
        frugal.add(rollout)
        naive.add(rollout)
    assert frugal.update_priorities(ids, np.ones(8)) == naive.update_priorities(ids, np.ones(8))
    check_references(frugal.storage)


def test_equal_frames_are_stored_once_and_freed_with_their_last_row() -> None:
    storage = FrameStackStorage(3, ("obs", "next_obs"), (STACK, *FRAME), np.uint8)
    frame = np.full(FRAME, 7, dtype=np.uint8)
    stack = np.stack([frame] * STACK)[None]
    other = (stack + 1).astype(np.uint8)
    storage.add({"obs": stack, "next_obs": stack, "actions": np.zeros(1)})
    assert len(storage.pool) == 1  # 8 equal frames, one stored
    storage.add({"obs": other, "next_obs": stack, "actions": np.zeros(1)})
    assert len(storage.pool) == 2
    for _ in range(3):  # rows 0 and 1 evicted: frame 7 still needed by the new rows
        storage.add({"obs": other, "next_obs": other, "actions": np.zeros(1)})
    assert len(storage.pool) == 1
    np.testing.assert_array_equal(storage.get([0, 1, 2])["next_obs"], np.repeat(other, 3, axis=0))
    check_references(storage)


def test_a_fingerprint_collision_costs_a_frame_never_a_wrong_one() -> None:
    pool = FramePool(FRAME, np.uint8, chunk_frames=4)
    pool._multipliers[:] = 0  # every frame collides with every other
    frames = np.random.default_rng(0).integers(0, 256, (10, *FRAME), dtype=np.uint8)
    frames[5] = frames[0]
    slots = pool.intern(frames)
    np.testing.assert_array_equal(pool.gather(slots), frames)
    assert len(pool) == 9 and slots[5] == slots[0]  # equal bytes: shared; the others: not
    # Frame 7 alone: the index holds its fingerprint (frame 0's slot), the bytes differ.
    again = np.concatenate([pool.intern(frames[[0]]), pool.intern(frames[[7]])])
    np.testing.assert_array_equal(pool.gather(again), frames[[0, 7]])
    assert again[0] == slots[0] and again[1] != slots[7]  # only frame 0 is indexed
    pool.release(np.concatenate([slots, again]))
    assert len(pool) == 0


def test_more_rows_than_capacity_in_one_add_keeps_the_newest_as_naive_does() -> None:
    rollout = SampleBatch.concat(streams(num_envs=2, steps=40, n=3, seed=3))
    frugal, naive = (ReplayBuffer(10, store_frames_once=once) for once in (True, False))
    frugal.add(rollout.take(slice(0, 4)))
    naive.add(rollout.take(slice(0, 4)))
    frugal.add(rollout)
    naive.add(rollout)
    assert_same(frugal.storage.get(np.arange(10)), naive.storage.get(np.arange(10)))
    check_references(frugal.storage)  # type: ignore[arg-type]


@pytest.mark.parametrize("saved_once", [True, False])
@pytest.mark.parametrize("loaded_once", [True, False])
def test_either_layout_loads_into_either_buffer_through_npz(
    saved_once: bool, loaded_once: bool
) -> None:
    rollouts = streams(num_envs=3, steps=40, n=3, seed=5)
    saved = ReplayBuffer(30, PrioritizedSampler(), store_frames_once=saved_once)
    for rollout in rollouts:
        saved.add(rollout, np.arange(len(rollout), dtype=np.float64))
    state = saved.state_dict()
    assert all(isinstance(v, int) or v.dtype != object for v in state.values())
    assert (FRAME_POOL_KEY in state) == saved_once
    file = io.BytesIO()
    np.savez(file, **state)  # type: ignore[arg-type]
    file.seek(0)
    with np.load(file, allow_pickle=False) as arrays:
        loaded = ReplayBuffer(30, PrioritizedSampler(), store_frames_once=loaded_once)
        loaded.load_state_dict(dict(arrays))
    assert isinstance(loaded.storage, FrameStackStorage if loaded_once else CircularStorage)
    if loaded_once:
        check_references(loaded.storage)  # type: ignore[arg-type]
    a = loaded.sample(32, np.random.default_rng(2))
    b = saved.sample(32, np.random.default_rng(2))
    assert_same(a.batch, b.batch)
    np.testing.assert_array_equal(a.weights, b.weights)
    more = rollouts[0]
    np.testing.assert_array_equal(loaded.add(more), saved.add(more))
    assert_same(loaded.storage.get(np.arange(30)), saved.storage.get(np.arange(30)))


def test_other_observations_keep_the_naive_layout() -> None:
    n = 5
    for obs in (
        np.zeros((n, 4), dtype=np.float32),  # CartPole
        np.zeros((n, 10, 10, 4), dtype=bool),  # MinAtar, channels last
        np.zeros((n, 4, 84, 84), dtype=np.float32),  # a stack, but not of images' dtypes
        np.zeros((n, 84, 84), dtype=np.uint8),  # one frame, no stack axis
    ):
        buffer = ReplayBuffer(10)
        buffer.add({"obs": obs, "next_obs": obs, "actions": np.zeros(n)})
        assert isinstance(buffer.storage, CircularStorage), obs.shape
        assert sorted(buffer.state_dict()) == [
            "capacity",
            "column/actions",
            "column/next_obs",
            "column/obs",
            "num_added",
        ]


def test_is_frame_stack() -> None:
    assert is_frame_stack((4, 84, 84), np.uint8) and is_frame_stack((1, 10, 12), bool)
    assert not is_frame_stack((84, 84, 4), np.uint8)  # channels last
    assert not is_frame_stack((10, 10, 4), bool)  # MinAtar
    assert not is_frame_stack((4, 84, 84), np.float32)
    assert not is_frame_stack((84, 84), np.uint8)


def test_a_later_stack_of_another_shape_is_one_line_naming_the_column() -> None:
    buffer = ReplayBuffer(10)
    stacks = np.zeros((2, STACK, *FRAME), dtype=np.uint8)
    buffer.add({"obs": stacks, "next_obs": stacks})
    with pytest.raises(ValueError, match=r"^add: column 'next_obs' has per-row shape \(3, 6, 8\)"):
        buffer.add({"obs": stacks, "next_obs": stacks[:, :3]})
    with pytest.raises(ValueError, match="column 'obs' has dtype float32"):
        buffer.add({"obs": stacks.astype(np.float32), "next_obs": stacks})
    with pytest.raises(ValueError, match="missing"):
        buffer.add({"obs": stacks})
    assert len(buffer) == 2
    check_references(buffer.storage)  # type: ignore[arg-type]


def test_a_shard_samples_whole_stacks() -> None:
    rollouts = streams(num_envs=2, steps=30, n=3, seed=11)
    frugal = ReplayShard(25, seed=4)
    naive = ReplayShard(25, seed=4, store_frames_once=False)
    for rollout in rollouts:
        priorities = np.ones(len(rollout))
        frugal.add(rollout.columns, priorities)
        naive.add(rollout.columns, priorities)
    (a, _, _), (b, _, _) = frugal.sample(8, 0.4), naive.sample(8, 0.4)
    assert_same(SampleBatch(a), SampleBatch(b))
    assert a["obs"].shape == (8, STACK, *FRAME) and a["obs"].dtype == np.uint8


@pytest.mark.parametrize("once", [True, False])
def test_the_sync_dqn_path_stores_frames_once_unless_told_not_to(once: bool) -> None:
    from rlactors.optimizers.sync_replay import SyncReplayConfig, replay_buffer

    buffer = replay_buffer(SyncReplayConfig(buffer_capacity_transitions=8, store_frames_once=once))
    buffer.add(streams(num_envs=1, steps=10, n=3, seed=1)[0])
    assert isinstance(buffer.storage, FrameStackStorage if once else CircularStorage)


def stacked_frame_env(seed: int = 0) -> gym.Env[Any, Any]:
    """FrameEnv's frames stacked by 4, as an env spec's factory."""
    return FrameStackObservation(FrameEnv(seed), STACK)


def test_what_dqn_evaluators_send_to_a_shard_comes_back_whole_and_as_naive_replay_gives_it() -> (
    None
):
    from rlactors.envs import EnvSpec
    from rlactors.evaluators import PRIORITIES, DQNEvaluator, EvaluatorConfig
    from rlactors.policies import DQNPolicyConfig

    config = EvaluatorConfig(
        EnvSpec(stacked_frame_env),
        num_envs=3,
        rollout_steps=16,
        n_step=3,
        epsilon=1.0,
        compute_priorities=True,
        policy=DQNPolicyConfig(hidden_sizes=(8,), encoder="flat"),
    )
    evaluators = [DQNEvaluator(config, index=i) for i in range(2)]  # two Ape-X workers
    frugal = ReplayShard(60, seed=4)
    naive = ReplayShard(60, seed=4, store_frames_once=False)
    for _ in range(3):
        for evaluator in evaluators:
            columns = evaluator.sample()[0].columns
            priorities = columns.pop(PRIORITIES)
            frugal.add(columns, priorities)
            naive.add(columns, priorities)
    assert frugal.buffer.num_added > 60  # wrapped around
    assert isinstance(frugal.buffer.storage, FrameStackStorage)
    a, b = frugal.sample_batches(2, 16, 0.4), naive.sample_batches(2, 16, 0.4)
    for (cols_a, ids_a, w_a), (cols_b, ids_b, w_b) in zip(a[0], b[0], strict=True):
        assert_same(SampleBatch(cols_a), SampleBatch(cols_b))
        np.testing.assert_array_equal(ids_a, ids_b)
        np.testing.assert_array_equal(w_a, w_b)
    for evaluator in evaluators:
        evaluator.close()
