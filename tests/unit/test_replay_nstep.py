"""NStepAccumulator against returns worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rlactors.core import SampleBatch
from rlactors.replay import NStepAccumulator

COLUMNS = ["obs", "actions", "rewards", "next_obs", "discounts"]


def run_episode(
    acc: NStepAccumulator,
    rewards: list[float],
    terminated: bool = False,
    truncated: bool = False,
) -> list[SampleBatch]:
    """Feed s_t = [t, -t], a_t = t, r_t = rewards[t]; the last step ends the episode as told."""
    out = []
    for t, r in enumerate(rewards):
        last = t == len(rewards) - 1
        out.append(
            acc.add(
                obs=np.array([t, -t], dtype=np.float32),
                action=t,
                reward=r,
                next_obs=np.array([t + 1, -(t + 1)], dtype=np.float32),
                terminated=terminated and last,
                truncated=truncated and last,
            )
        )
    return out


def test_mid_episode_emits_one_row_per_step_once_n_are_pending() -> None:
    acc = NStepAccumulator(n=3, gamma=0.9)
    out = run_episode(acc, [1.0, 2.0, 3.0, 4.0])
    assert [len(b) for b in out] == [0, 0, 1, 1]
    assert list(out[0]) == COLUMNS and out[0]["obs"].shape == (0, 2)
    # Row from t=0: 1 + 0.9*2 + 0.81*3 = 5.23, bootstrap from s_3 with 0.9**3 = 0.729.
    np.testing.assert_allclose(out[2]["rewards"], [5.23], rtol=1e-6)
    np.testing.assert_array_equal(out[2]["obs"], [[0, 0]])
    np.testing.assert_array_equal(out[2]["actions"], [0])
    np.testing.assert_array_equal(out[2]["next_obs"], [[3, -3]])
    np.testing.assert_allclose(out[2]["discounts"], [0.729], rtol=1e-6)
    # Row from t=1: 2 + 0.9*3 + 0.81*4 = 7.94, next s_4.
    np.testing.assert_allclose(out[3]["rewards"], [7.94], rtol=1e-6)
    np.testing.assert_array_equal(out[3]["next_obs"], [[4, -4]])
    assert len(acc) == 2
    assert out[3]["rewards"].dtype == np.float32 and out[3]["discounts"].dtype == np.float32


def test_terminated_flushes_everything_without_bootstrap() -> None:
    acc = NStepAccumulator(n=3, gamma=0.9)
    out = run_episode(acc, [1.0, 2.0, 3.0, 4.0, 5.0], terminated=True)
    last = out[-1]
    # Pending at the end: t=2 (3 steps), t=3 (2 steps), t=4 (1 step); all bootstrap from s_5.
    np.testing.assert_array_equal(last["obs"][:, 0], [2, 3, 4])
    np.testing.assert_allclose(last["rewards"], [3 + 3.6 + 4.05, 4 + 4.5, 5.0], rtol=1e-6)
    np.testing.assert_array_equal(last["discounts"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(last["next_obs"], [[5, -5]] * 3)
    assert len(acc) == 0
    # 5 steps in, 5 transitions out, each step exactly once.
    all_obs = np.concatenate([b["obs"][:, 0] for b in out])
    np.testing.assert_array_equal(all_obs, [0, 1, 2, 3, 4])


def test_truncated_flushes_everything_with_bootstrap() -> None:
    acc = NStepAccumulator(n=3, gamma=0.9)
    last = run_episode(acc, [1.0, 2.0, 3.0, 4.0, 5.0], truncated=True)[-1]
    np.testing.assert_allclose(last["rewards"], [10.65, 8.5, 5.0], rtol=1e-6)
    # gamma**m with m the steps each row actually spans: 3, 2, 1.
    np.testing.assert_allclose(last["discounts"], [0.729, 0.81, 0.9], rtol=1e-6)
    np.testing.assert_array_equal(last["next_obs"], [[5, -5]] * 3)


@pytest.mark.parametrize(
    ("terminated", "truncated", "discounts"),
    [(True, False, [0.0, 0.0]), (False, True, [0.81, 0.9]), (True, True, [0.0, 0.0])],
)
def test_episode_shorter_than_n(terminated: bool, truncated: bool, discounts: list[float]) -> None:
    acc = NStepAccumulator(n=3, gamma=0.9)
    out = run_episode(acc, [1.0, 2.0], terminated=terminated, truncated=truncated)
    assert len(out[0]) == 0
    # t=0: 1 + 0.9*2 = 2.8; t=1: 2.
    np.testing.assert_allclose(out[1]["rewards"], [2.8, 2.0], rtol=1e-6)
    np.testing.assert_allclose(out[1]["discounts"], discounts, rtol=1e-6)
    np.testing.assert_array_equal(out[1]["next_obs"], [[2, -2]] * 2)


def test_next_episode_starts_clean() -> None:
    acc = NStepAccumulator(n=2, gamma=0.5)
    run_episode(acc, [1.0, 1.0, 1.0], terminated=True)
    out = run_episode(acc, [2.0, 4.0])
    # Only the new episode's rewards: 2 + 0.5*4 = 4, discount 0.25.
    np.testing.assert_allclose(out[1]["rewards"], [4.0])
    np.testing.assert_allclose(out[1]["discounts"], [0.25])
    np.testing.assert_array_equal(out[1]["obs"], [[0, 0]])


def test_one_step_transitions() -> None:
    acc = NStepAccumulator(n=1, gamma=0.99)
    out = run_episode(acc, [1.0, 2.0, 3.0], terminated=True)
    assert [len(b) for b in out] == [1, 1, 1]
    batch = SampleBatch.concat(out)
    np.testing.assert_allclose(batch["rewards"], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(batch["discounts"], [0.99, 0.99, 0.0], rtol=1e-6)


def test_stored_obs_are_copies() -> None:
    acc = NStepAccumulator(n=2, gamma=1.0)
    shared = np.zeros(2)
    acc.add(shared, 0, 1.0, shared, False, False)
    shared[:] = 7.0  # an env writing into the buffer it returned last step
    out = acc.add(shared, 1, 1.0, shared, False, False)
    np.testing.assert_array_equal(out["obs"], [[0.0, 0.0]])


def test_parallel_streams_are_independent() -> None:
    accs = [NStepAccumulator(n=2, gamma=0.5) for _ in range(2)]
    outs = []
    for t in range(2):
        for k, acc in enumerate(accs):
            outs.append(acc.add([k], t, float(10 * k + t), [k], False, False))
    batch = SampleBatch.concat(outs)
    # Stream k has r_0 = 10k, r_1 = 10k + 1: r_0 + 0.5 r_1 = 15k + 0.5.
    np.testing.assert_allclose(batch["rewards"], [0.5, 15.5])
    np.testing.assert_array_equal(batch["obs"], [[0], [1]])


def test_clear_drops_pending() -> None:
    acc = NStepAccumulator(n=3, gamma=0.9)
    run_episode(acc, [1.0, 2.0])
    assert len(acc) == 2
    acc.clear()
    assert len(acc) == 0


@pytest.mark.parametrize(("n", "gamma"), [(0, 0.9), (-1, 0.9), (2.0, 0.9), (3, 1.5), (3, -0.1)])
def test_bad_arguments(n: int, gamma: float) -> None:
    with pytest.raises(ValueError, match="NStepAccumulator"):
        NStepAccumulator(n=n, gamma=gamma)


def test_truncate_flushes_pending_steps_bootstrapping_from_the_given_state() -> None:
    """An env that crashed after s_2: its steps s_0, s_1 end as a truncation at s_2."""
    acc = NStepAccumulator(3, 0.5)
    assert len(run_episode(acc, [1.0, 2.0])[-1]) == 0  # neither step has its 3 yet
    out = acc.truncate(np.array([2, -2], dtype=np.float32))
    np.testing.assert_array_equal(out["obs"], [[0, 0], [1, -1]])
    np.testing.assert_array_equal(out["actions"], [0, 1])
    # s_0: 1 + 0.5 * 2 = 2 over 2 steps, discount 0.5**2; s_1: 2 over 1 step, discount 0.5.
    np.testing.assert_allclose(out["rewards"], [2.0, 2.0])
    np.testing.assert_allclose(out["discounts"], [0.25, 0.5])
    np.testing.assert_array_equal(out["next_obs"], [[2, -2], [2, -2]])
    assert len(acc) == 0 and len(acc.truncate(np.zeros(2))) == 0
    # The next episode starts clean.
    (first,) = run_episode(acc, [4.0], terminated=True)
    np.testing.assert_allclose(first["rewards"], [4.0])
    np.testing.assert_array_equal(first["obs"], [[0, 0]])
