"""VectorNStepAccumulator gives exactly what K NStepAccumulators give, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from rlactors.core import SampleBatch
from rlactors.replay import NStepAccumulator, VectorNStepAccumulator

COLUMNS = ["obs", "actions", "rewards", "next_obs", "discounts"]


def random_steps(seed: int, k: int, steps: int, lose: bool) -> list[dict[str, np.ndarray]]:
    """Lockstep steps of k envs with episode ends every few steps and, if `lose`, lost steps
    (an env crash: its row is no transition and its next_obs is the state before it)."""
    rng = np.random.default_rng(seed)
    state = rng.normal(size=(k, 3)).astype(np.float32)
    out = []
    for _ in range(steps):
        terminated = rng.random(k) < 0.12
        truncated = rng.random(k) < 0.08
        lost = rng.random(k) < 0.07 if lose else np.zeros(k, dtype=bool)
        next_state = rng.normal(size=(k, 3)).astype(np.float32)
        next_state[lost] = state[lost]
        out.append(
            {
                "obs": state,
                "actions": rng.integers(0, 4, size=k),
                "rewards": np.where(lost, 0.0, rng.normal(size=k)),
                "next_obs": next_state,
                "terminated": terminated & ~lost,
                "truncated": truncated | lost,
                "lost": lost,
            }
        )
        # Ended episodes start again from a fresh state, as an EnvBatch autoresets.
        state = np.where(
            (terminated | truncated | lost)[:, None], rng.normal(size=(k, 3)), next_state
        )
        state = state.astype(np.float32)
    return out


def scalar_rows(
    accumulators: list[NStepAccumulator], step: dict[str, np.ndarray]
) -> list[SampleBatch]:
    """What DQNEvaluator did before: one NStepAccumulator per env, in env order."""
    pieces = []
    for i, acc in enumerate(accumulators):
        if step["lost"][i]:
            pieces.append(acc.truncate(step["next_obs"][i]))
        else:
            pieces.append(
                acc.add(
                    step["obs"][i], step["actions"][i], step["rewards"][i], step["next_obs"][i],
                    bool(step["terminated"][i]), bool(step["truncated"][i]),
                )
            )  # fmt: skip
    return pieces


def assert_same(expected: SampleBatch, got: SampleBatch) -> None:
    assert len(got) == len(expected)
    if not len(expected):
        assert list(got) == []
        return
    assert list(got) == COLUMNS
    for column in ("obs", "actions", "next_obs", "discounts"):
        np.testing.assert_array_equal(got[column], expected[column], err_msg=column)
        assert got[column].dtype == expected[column].dtype, column
    np.testing.assert_allclose(got["rewards"], expected["rewards"], rtol=1e-6)
    assert got["rewards"].dtype == np.float32


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("lose", [False, True])
@pytest.mark.parametrize("flush_every", [1, 2, 7])
def test_rows_and_order_match_one_scalar_accumulator_per_env(
    n: int, lose: bool, flush_every: int
) -> None:
    k = 4
    steps = random_steps(seed=n * 10 + lose, k=k, steps=60, lose=lose)
    scalars = [NStepAccumulator(n, 0.9) for _ in range(k)]
    vector = VectorNStepAccumulator(n, 0.9, k)
    pieces: list[SampleBatch] = []
    for t, step in enumerate(steps):
        pieces += scalar_rows(scalars, step)
        vector.add(**step)
        if (t + 1) % flush_every == 0:
            assert_same(SampleBatch.concat(pieces), vector.flush())
            pieces = []
            assert len(vector) == sum(len(a) for a in scalars)
    assert_same(SampleBatch.concat(pieces), vector.flush())


def test_mid_episode_rows_by_hand() -> None:
    # Two envs, n = 2, gamma 0.5; env 1 terminates at its second step.
    acc = VectorNStepAccumulator(2, 0.5, 2)
    obs = [np.array([[0.0], [10.0]]), np.array([[1.0], [11.0]]), np.array([[2.0], [20.0]])]
    acc.add(obs[0], np.array([0, 0]), [1.0, 2.0], obs[1], [False, False], [False, False])
    assert len(acc.flush()) == 0 and len(acc) == 2
    acc.add(
        obs[1],
        np.array([1, 1]),
        [3.0, 4.0],
        np.array([[2.0], [12.0]]),
        [False, True],
        [False, False],
    )
    batch = acc.flush()
    # Emitted at step 1: env 0's row from step 0 (1 + 0.5 * 3, bootstrap 0.25 from s_2), then
    # env 1's two rows, oldest first (2 + 0.5 * 4 and 4, both terminal).
    np.testing.assert_array_equal(batch["obs"][:, 0], [0.0, 10.0, 11.0])
    np.testing.assert_allclose(batch["rewards"], [2.5, 4.0, 4.0])
    np.testing.assert_allclose(batch["discounts"], [0.25, 0.0, 0.0])
    np.testing.assert_array_equal(batch["next_obs"][:, 0], [2.0, 12.0, 12.0])
    assert len(acc) == 1  # env 0's step 1 waits for its second step


def test_bad_input_names_the_column() -> None:
    acc = VectorNStepAccumulator(3, 0.99, 2)
    with pytest.raises(ValueError, match="rewards has shape \\(3,\\), expected 2 rows"):
        acc.add(
            np.zeros((2, 1)),
            np.zeros(2),
            [0.0, 0.0, 0.0],
            np.zeros((2, 1)),
            [False] * 2,
            [False] * 2,
        )
    with pytest.raises(ValueError, match="num_envs must be an integer >= 1"):
        VectorNStepAccumulator(3, 0.99, 0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        VectorNStepAccumulator(0, 0.99, 2)
    assert len(acc.flush()) == 0
