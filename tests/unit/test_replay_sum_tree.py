"""SumTree against brute force (prefix sums with np.cumsum / np.searchsorted)."""

from __future__ import annotations

import numpy as np
import pytest

from rlactors.replay import SumTree


# Up to 2**10 leaves `find` is one binary search over all of them; beyond, it walks the rest.
@pytest.mark.parametrize("capacity", [1, 2, 13, 64, 1000, 1024, 1025, 5000])
def test_matches_brute_force_prefix_sums(capacity: int) -> None:
    rng = np.random.default_rng(capacity)
    tree = SumTree(capacity)
    expected = np.zeros(capacity)
    for _ in range(20):
        # Integer-valued leaves (some 0) keep every sum exact, so the comparison can be exact.
        idx = rng.choice(capacity, size=min(capacity, 7 + capacity // 50), replace=False)
        values = rng.integers(0, 5, size=idx.shape[0]).astype(np.float64)
        tree.update(idx, values)
        expected[idx] = values
        np.testing.assert_array_equal(tree.values(), expected)
        np.testing.assert_array_equal(tree.get(idx), values)
        assert tree.total == expected.sum()
        if expected.sum() == 0:
            continue
        u = rng.random(200) * expected.sum()
        # Also the exact boundaries between leaves, where "go left or right" is decided.
        u = np.concatenate([u, np.cumsum(expected)[:-1], [0.0]])
        u = u[u < expected.sum()]
        want = np.searchsorted(np.cumsum(expected), u, side="right")
        np.testing.assert_array_equal(tree.find(u), want)
        assert (expected[tree.find(u)] > 0).all(), "a zero-valued leaf was chosen"


def test_internal_nodes_are_sums_of_children() -> None:
    rng = np.random.default_rng(0)
    tree = SumTree(100)
    tree.update(np.arange(100), rng.random(100))
    tree.update(rng.integers(0, 100, 30), rng.random(30))
    nodes = tree._tree
    half = len(nodes) // 2
    np.testing.assert_allclose(nodes[1:half], nodes[2 : 2 * half : 2] + nodes[3 : 2 * half : 2])


def test_repeated_index_keeps_last_value_and_consistent_sums() -> None:
    tree = SumTree(8)
    tree.update([2, 5, 2], [1.0, 4.0, 3.0])
    assert tree.get([2])[0] == 3.0
    assert tree.total == 7.0


def test_set_all_rebuilds_like_updates() -> None:
    values = np.arange(11, dtype=np.float64)
    a, b = SumTree(16), SumTree(16)
    a.set_all(values)
    b.update(np.arange(11), values)
    np.testing.assert_array_equal(a._tree, b._tree)


def test_rounding_past_total_lands_on_last_leaf_in_range() -> None:
    tree = SumTree(5)  # 8 leaves internally, the last 3 are padding
    tree.update(np.arange(5), np.ones(5))
    assert tree.find([5.0, 1e9])[0] == 4


@pytest.mark.parametrize("capacity", [0, -3, 2.5, "8"])
def test_bad_capacity(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        SumTree(capacity)  # type: ignore[arg-type]


def test_bad_updates() -> None:
    tree = SumTree(4)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\)"):
        tree.update([4], [1.0])
    with pytest.raises(ValueError, match="indices must be integers"):
        tree.update([1.0], [1.0])
    with pytest.raises(ValueError, match="2 indices but 1 values"):
        tree.update([0, 1], [1.0])
    for bad in (np.nan, np.inf, -1.0):
        with pytest.raises(ValueError, match="finite and non-negative"):
            tree.update([0], [bad])
    assert tree.total == 0.0


@pytest.mark.parametrize(("start", "n"), [(0, 1), (0, 16), (3, 5), (15, 1), (7, 9)])
def test_range_write_equals_scatter_write(start: int, n: int) -> None:
    rng = np.random.default_rng(start * 100 + n)
    base = rng.random(16)
    values = rng.random(n)
    a, b = SumTree(16), SumTree(16)
    a.set_all(base)
    b.set_all(base)
    a._write_range(start, values)
    b._write(np.arange(start, start + n), values)
    np.testing.assert_array_equal(a._tree, b._tree)
