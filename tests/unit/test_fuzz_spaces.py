"""Fuzzed Gymnasium spaces through the env adapters (issue #14, "trust no file").

Every kind of space (Box of each dtype and of image shape, Discrete with a start,
MultiDiscrete, MultiBinary, Dict, Tuple, nested; and the kinds rlactors cannot observe: Text,
Sequence, Graph) meets :class:`ObservationLayout`, :class:`GymnasiumEnv`, :class:`CheckedEnv`
and :class:`EnvBatch`. The property: a one-line :class:`SpaceError` exactly when the space
cannot be observed, else rows of the declared shape and dtype that hold the observation (the
test decodes each leaf back from its slots).

The example budget is the "ci" profile of tests/conftest.py; ``HYPOTHESIS_PROFILE=dev`` searches
wider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rlactors.envs import CheckedEnv, EnvBatch, EnvCheckError, GymnasiumEnv
from rlactors.envs.observations import DEFAULT_MASK_KEY, ObservationLayout
from rlactors.errors import SpaceError

Path = tuple[str | int, ...]

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16)
#: Discrete starts far from 0 too: ids and offsets that float32 cannot hold exactly (2**24 + 1).
STARTS = st.one_of(st.integers(-100, 100), st.sampled_from([2**24 + 1, -(2**31), 2**40, 2**53]))
SHAPES = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def boxes(draw: st.DrawFn) -> gym.spaces.Box:
    kind = draw(st.sampled_from(["float", "int", "bool", "image"]))
    if kind == "image":
        h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        return gym.spaces.Box(0, 255, (h, w, draw(st.sampled_from([1, 3, 4]))), np.uint8)
    shape = draw(SHAPES)
    if kind == "bool":
        return gym.spaces.Box(0, 1, shape, np.bool_)
    if kind == "int":
        dtype = draw(st.sampled_from(INT_DTYPES))
        info = np.iinfo(dtype)
        low = draw(st.integers(max(int(info.min), -1000), min(int(info.max), 1000)))
        high = draw(st.integers(low, min(int(info.max), low + 1000)))
        return gym.spaces.Box(low, high, shape, dtype)
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    bounds = draw(st.sampled_from(["bounded", "unbounded", "below"]))
    if bounds == "unbounded":
        return gym.spaces.Box(-np.inf, np.inf, shape, dtype)
    low = draw(st.floats(-100, 100, width=16))
    high = np.inf if bounds == "below" else low + draw(st.floats(0, 100, width=16))
    return gym.spaces.Box(low, high, shape, dtype)


@st.composite
def discretes(draw: st.DrawFn) -> gym.spaces.Discrete:
    return gym.spaces.Discrete(draw(st.integers(1, 50)), start=draw(STARTS))


@st.composite
def multi_discretes(draw: st.DrawFn) -> gym.spaces.MultiDiscrete:
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple))
    size = int(np.prod(shape))
    nvec = np.array(draw(st.lists(st.integers(1, 9), min_size=size, max_size=size))).reshape(shape)
    if draw(st.booleans()):
        return gym.spaces.MultiDiscrete(nvec)
    start = np.array(draw(st.lists(STARTS, min_size=size, max_size=size))).reshape(shape)
    return gym.spaces.MultiDiscrete(nvec, start=start)


@st.composite
def multi_binaries(draw: st.DrawFn) -> gym.spaces.MultiBinary:
    if draw(st.booleans()):
        return gym.spaces.MultiBinary(draw(st.integers(1, 8)))
    return gym.spaces.MultiBinary(list(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))))


SUPPORTED_LEAVES = st.one_of(boxes(), discretes(), multi_discretes(), multi_binaries())
#: Kinds with no fixed-size layout: ObservationLayout must refuse them with a SpaceError.
UNSUPPORTED = (gym.spaces.Text, gym.spaces.Sequence, gym.spaces.Graph)
UNSUPPORTED_LEAVES = st.sampled_from(
    [
        gym.spaces.Text(5),
        gym.spaces.Sequence(gym.spaces.Discrete(3)),
        gym.spaces.Graph(gym.spaces.Box(0, 1, (2,), np.float32), None),
    ]
)
#: Dict keys: the default mask key often, so that mask leaves of every kind come up.
KEYS = st.one_of(st.sampled_from(["a", "b", "pos", DEFAULT_MASK_KEY]), st.text("xyz_", max_size=3))


def nested(leaves: st.SearchStrategy[gym.Space[Any]]) -> st.SearchStrategy[gym.Space[Any]]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.dictionaries(KEYS, children, max_size=4).map(gym.spaces.Dict),
            st.lists(children, max_size=4).map(gym.spaces.Tuple),
        ),
        max_leaves=8,
    )


SPACES = nested(st.one_of(SUPPORTED_LEAVES, SUPPORTED_LEAVES, SUPPORTED_LEAVES, UNSUPPORTED_LEAVES))
MASK_KEYS = st.sampled_from([DEFAULT_MASK_KEY, None])


def leaves(space: gym.Space[Any], path: Path = ()) -> Iterator[tuple[Path, gym.Space[Any]]]:
    """Every leaf of ``space`` with its path, in Gymnasium's order."""
    if isinstance(space, gym.spaces.Dict):
        for key, sub in space.spaces.items():
            yield from leaves(sub, (*path, key))
    elif isinstance(space, gym.spaces.Tuple):
        for index, sub in enumerate(space.spaces):
            yield from leaves(sub, (*path, index))
    else:
        yield path, space


def is_valid_mask(space: gym.Space[Any]) -> bool:
    """What rlactors reads as an action mask: MultiBinary(n) or an integer Box(0, 1, (n,))."""
    if len(space.shape or ()) != 1:
        return False
    if isinstance(space, gym.spaces.MultiBinary):
        return True
    return (
        isinstance(space, gym.spaces.Box)
        and np.dtype(space.dtype).kind in "biu"
        and bool(np.all(space.low >= 0) and np.all(space.high <= 1))
    )


def observable(space: gym.Space[Any], mask_key: str | None) -> bool:
    """Whether the layout of ``space`` exists, worked out apart from the code under test."""
    found = list(leaves(space))
    if any(isinstance(leaf, UNSUPPORTED) for _, leaf in found):
        return False
    structured = isinstance(space, gym.spaces.Dict | gym.spaces.Tuple)
    if structured and not found:
        return False
    masks = [leaf for path, leaf in found if path and mask_key is not None and path[-1] == mask_key]
    return structured is False or (len(masks) <= 1 and all(map(is_valid_mask, masks)))


def at(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


def assert_row_holds(layout: ObservationLayout, row: np.ndarray, obs: Any) -> None:
    """Decode every leaf of ``obs`` from ``row``'s slots: a Discrete leaf is its index (value
    minus start) exactly, any other leaf its values as float32."""
    assert row.shape == layout.shape and row.dtype == layout.dtype
    if not layout.packed:
        np.testing.assert_array_equal(row, np.asarray(obs))
        return
    end = 0
    for part in layout.parts:
        assert part.offset == end, "leaves are laid end to end, in order"
        end = part.offset + part.size
        slots = row[part.offset : end]
        value = np.asarray(at(obs, part.path))
        if part.kind in ("discrete", "multidiscrete"):
            index = value.astype(np.int64).reshape(-1) - np.asarray(part.starts, dtype=np.int64)
            assert np.all((index >= 0) & (index < np.asarray(part.nvec)))
            np.testing.assert_array_equal(slots, index.astype(np.float32), err_msg=part.name)
        else:
            expected = value.astype(np.float32).reshape(-1)
            np.testing.assert_array_equal(slots, expected, err_msg=part.name)
    assert end == layout.shape[0]


def test_the_strategies_reach_every_kind_of_space() -> None:
    """The fuzz tests below can only fail where the strategies go: check they go everywhere."""
    kinds: set[str] = set()

    @given(SPACES)
    def collect(space: gym.Space[Any]) -> None:
        kinds.add(type(space).__name__)
        kinds.update(type(leaf).__name__ for _, leaf in leaves(space))

    collect()
    expected = {"Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple"}
    assert expected <= kinds, kinds


@given(SPACES, MASK_KEYS)
@example(gym.spaces.Dict({"id": gym.spaces.Discrete(3, start=2**24 + 1)}), None)
@example(gym.spaces.Tuple([gym.spaces.MultiDiscrete([4, 4], start=[2**40, -(2**31)])]), None)
@example(gym.spaces.Dict({"m": gym.spaces.Dict({DEFAULT_MASK_KEY: gym.spaces.Discrete(2)})}), "m")
@example(gym.spaces.Dict({"a": gym.spaces.Dict(), "b": gym.spaces.Tuple([])}), None)
@example(gym.spaces.Box(0, 255, (84, 84, 3), np.uint8), DEFAULT_MASK_KEY)
@example(
    gym.spaces.Dict({DEFAULT_MASK_KEY: gym.spaces.MultiDiscrete([[2], [2]])}), DEFAULT_MASK_KEY
)
def test_a_layout_exists_exactly_for_observable_spaces_and_its_rows_hold_the_observation(
    space: gym.Space[Any], mask_key: str | None
) -> None:
    try:
        layout = ObservationLayout.of(space, mask_key)
    except SpaceError as exc:
        assert not observable(space, mask_key), f"refused an observable space: {exc}"
        assert str(exc) and "\n" not in str(exc)
        return
    assert observable(space, mask_key), f"accepted {space}"
    space.seed(0)
    observations = [space.sample() for _ in range(3)]
    for obs in observations:
        assert_row_holds(layout, layout.pack(obs), obs)
    rows = layout.pack_many(observations)
    assert rows.shape == (3, *layout.shape) and rows.dtype == layout.dtype
    mask = layout.mask(rows)
    part = layout.mask_part
    if part is None:
        assert mask is None
    else:
        assert mask is not None and mask.shape == (3, part.size) and mask.dtype == np.bool_
        expected = np.stack([np.asarray(at(obs, part.path)).astype(bool) for obs in observations])
        np.testing.assert_array_equal(mask, expected)


class SpaceEnv(gym.Env[Any, Any]):
    """A Gymnasium env that shows samples of any observation space and takes any action."""

    def __init__(self, observation_space: gym.Space[Any], action_space: gym.Space[Any]) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self._t = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        self._t = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        assert self.action_space.contains(action), "CheckedEnv let a bad action through"
        self._t += 1
        return self.observation_space.sample(), 1.0, self._t >= 3, False, {}


ACTION_SPACES = st.one_of(discretes(), boxes(), multi_discretes(), multi_binaries())


@given(SPACES, ACTION_SPACES)
@example(
    gym.spaces.Dict(
        {
            "obs": gym.spaces.Box(0, 255, (6, 6, 3), np.uint8),
            DEFAULT_MASK_KEY: gym.spaces.MultiBinary(4),
        }
    ),
    gym.spaces.Discrete(3, start=-1),
)
@example(
    gym.spaces.Tuple([gym.spaces.Box(0, 0, (), np.int8)]), gym.spaces.Discrete(1)
)  # a valid 0-d leaf, refused
@example(  # a float mask: refused, naming the env (it did not)
    gym.spaces.Dict({DEFAULT_MASK_KEY: gym.spaces.Box(0, 1, (3,), np.float32)}),
    gym.spaces.Discrete(3),
)
def test_envs_of_any_space_are_adapted_checked_and_batched_or_refused_in_one_line(
    observation_space: gym.Space[Any], action_space: gym.Space[Any]
) -> None:
    def make() -> CheckedEnv:
        return CheckedEnv(GymnasiumEnv(SpaceEnv(observation_space, action_space), name="fuzz"))

    try:
        envs = [make(), make()]
    except SpaceError as exc:
        message = str(exc)
        assert message.startswith("fuzz") and "\n" not in message, message
        if observable(observation_space, DEFAULT_MASK_KEY):
            # The one other refusal: a mask whose length is not the number of actions.
            part = ObservationLayout.of(observation_space).mask_part
            assert part is not None and isinstance(action_space, gym.spaces.Discrete), message
            assert part.size != action_space.n, message
        return
    batch = EnvBatch(envs)
    layout = ObservationLayout.of(observation_space, mask_key=None)
    action_space.seed(1)
    try:
        batch.reset(seed=0)
        for _ in range(4):
            step = batch.observe()
            assert step.states.shape == (2, *layout.shape) and step.states.dtype == layout.dtype
            assert step.next_states.shape == step.states.shape
            batch.interact([action_space.sample(), action_space.sample()])
    except EnvCheckError as exc:
        # A sampled mask may forbid every action: the one refusal an env of valid samples earns.
        assert "the action mask allows no action" in str(exc), str(exc)
        return
    assert [e.length for e in batch.pop_episode_stats()] == [3, 3]


ACTIONS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=3),
    st.lists(st.floats(), max_size=4),
)


def is_valid_action(action: Any, space: gym.Space[Any]) -> bool:
    """The oracle: an int in range for Discrete(4); three floats in [0, 1] for the Box."""
    if isinstance(space, gym.spaces.Discrete):
        return isinstance(action, int) and 0 <= action < int(space.n)
    return (
        isinstance(action, list)
        and len(action) == 3
        and all(np.isfinite(a) and 0.0 <= a <= 1.0 for a in action)
    )


@pytest.mark.parametrize("space", [gym.spaces.Box(0, 1, (3,), np.float32), gym.spaces.Discrete(4)])
def test_an_action_of_any_value_is_taken_or_is_an_env_check_error(space: gym.Space[Any]) -> None:
    """The other half of the adapters' contract, on values rather than spaces: whatever a
    policy returns, the env sees only actions of its space."""
    env = CheckedEnv(GymnasiumEnv(SpaceEnv(space, space), name="fuzz"))

    @given(ACTIONS)
    @example(float("nan"))
    @example([0.5, float("inf"), 0.5])
    @example(4)
    def act(action: Any) -> None:
        env.reset(seed=0)
        if is_valid_action(action, space):
            env.interact({env.roles[0]: action})
            assert env.episode_step == 1
            return
        with pytest.raises(EnvCheckError, match="fuzz, role"):
            env.interact({env.roles[0]: action})

    act()
