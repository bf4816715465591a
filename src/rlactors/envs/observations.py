"""How an observation of any Gymnasium space travels as one array: the packed layout.

Everything between an env and a network — :class:`~rlactors.envs.vector.EnvBatch`, sample
batches, replay, weights broadcasts — moves observations as numpy arrays with a batch axis. An
array-valued space (``Box``, ``Discrete``, ``MultiDiscrete``, ``MultiBinary``) travels as it is.
A ``Dict`` or ``Tuple`` observation is *packed*: its leaves, in Gymnasium's order (a Dict's keys
sorted), are flattened and laid end to end in one float32 vector ``[P]``:

* a ``Box`` leaf: its values, flattened (``prod(shape)`` slots);
* a ``Discrete`` leaf: its index ``x - start`` (1 slot; the network one-hots it);
* a ``MultiDiscrete`` leaf: its indices ``x - start`` (one slot per dimension);
* a ``MultiBinary`` leaf: its bits as 0.0 / 1.0.

Why pack rather than keep nested columns (TorchRL's TensorDict, SB3's dict replay buffers): one
array per observation keeps every part of rlactors that moves observations — replay storage and
its shards, n-step accumulators, pickled messages between processes — unchanged and as fast as
for CartPole, and a Discrete part costs one slot rather than a one-hot vector of ``n``. RLlib's
old stack did the same (its ``DictFlatteningPreprocessor``), but one-hot encoded on the env side;
here the network does that, from :attr:`ObservationLayout.parts`.

One leaf may be the **action mask** (by default the Dict key ``"action_mask"``, PettingZoo's
convention): a ``MultiBinary(n)`` or ``Box(0, 1, (n,))`` leaf whose 1s mark the legal actions. It
is packed like any leaf; networks read it with :meth:`ObservationLayout.mask` and leave it out
of their input features.

Usage::

    layout = ObservationLayout.of(env.observation_space(role))
    row = layout.pack(obs.state)                  # [P] float32 (Dict/Tuple), else as it is
    legal = layout.mask(batch_of_rows)            # [B, n] bool, or None without a mask
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import gymnasium as gym
import numpy as np

from rlactors.errors import SpaceError

#: The Dict key of the action mask unless a config names another (PettingZoo's classic games).
DEFAULT_MASK_KEY = "action_mask"

#: A batch of packed rows: a numpy array, or a torch tensor (which this module never imports).
Rows = TypeVar("Rows")

PartKind = Literal["box", "discrete", "multidiscrete", "multibinary", "mask"]


@dataclass(frozen=True)
class ObservationPart:
    """One leaf of an observation space and where it lies in a packed row.

    Attributes:
        path: Keys (Dict) or indices (Tuple) from the root to the leaf; ``()`` for an
            array-valued space.
        kind: How a network reads it: ``box`` (floats, flattened), ``discrete`` (one index,
            one-hot encoded), ``multidiscrete`` (one index per dimension), ``multibinary``
            (bits as floats) or ``mask`` (the action mask: not a network input).
        offset: First slot of the leaf in a packed row (0 for an array-valued space).
        size: Slots it takes in a packed row.
        shape: The leaf's own shape (a Box image keeps ``(H, W, C)`` here).
        nvec: For ``discrete`` and ``multidiscrete``: the number of values of each slot.
        starts: For ``discrete`` and ``multidiscrete``: the space's ``start`` of each slot
            (:meth:`ObservationLayout.pack` subtracts it; an unpacked Discrete observation
            still holds it).
    """

    path: tuple[str | int, ...]
    kind: PartKind
    offset: int
    size: int
    shape: tuple[int, ...]
    nvec: tuple[int, ...] = ()
    starts: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """The path as one string, e.g. ``"position"`` or ``"0"`` (``"obs"`` for the root)."""
        return "/".join(str(p) for p in self.path) or "obs"

    @property
    def features(self) -> int:
        """Width of this leaf as a network input: one-hot widths summed for discrete kinds."""
        if self.kind in ("discrete", "multidiscrete"):
            return int(sum(self.nvec))
        return 0 if self.kind == "mask" else self.size


@dataclass(frozen=True)
class ObservationLayout:
    """The packed layout of an observation space (see the module docstring).

    Attributes:
        space: The env's observation space, as it is.
        parts: Its leaves in packing order.
        packed: True for Dict and Tuple spaces, whose observations :meth:`pack` flattens; False
            for array-valued spaces, whose observations travel unchanged.
        shape: The per-row shape of what travels: ``(P,)`` when packed, else the space's shape.
        dtype: The dtype of what travels: float32 when packed, else the space's dtype.
        mask_key: The Dict key read as the action mask (None: none is).
    """

    space: gym.Space[Any]
    parts: tuple[ObservationPart, ...]
    packed: bool
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    mask_key: str | None

    @classmethod
    def of(
        cls, space: gym.Space[Any], mask_key: str | None = DEFAULT_MASK_KEY
    ) -> ObservationLayout:
        """The layout of ``space``.

        Args:
            space: Any composition of Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple.
            mask_key: The Dict key of the action mask (at any depth; the first one found);
                None for a layout that reads no leaf as a mask (the packing is the same: a
                mask is packed like any leaf, only networks and checks read it).

        Raises:
            SpaceError: A space kind with no fixed-size layout (Text, Graph, Sequence, ...), or
                a mask leaf that is not 0/1 valued of one dimension.
        """
        if not isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
            part = _leaf((), space, 0, mask=False)
            dtype = np.dtype(space.dtype) if space.dtype is not None else np.dtype(np.float32)
            return cls(space, (part,), False, tuple(space.shape or ()), dtype, mask_key)
        parts: list[ObservationPart] = []
        _collect(space, (), parts, mask_key)
        if not parts:
            raise SpaceError(f"observation space {_one_line(space)} has no leaves to observe")
        masks = [p for p in parts if p.kind == "mask"]
        if len(masks) > 1:
            names = [p.name for p in masks]
            raise SpaceError(f"observation space has several action masks {names}; keep one")
        size = parts[-1].offset + parts[-1].size
        return cls(space, tuple(parts), True, (size,), np.dtype(np.float32), mask_key)

    @property
    def mask_part(self) -> ObservationPart | None:
        """The action mask's leaf, if the space has one."""
        return next((p for p in self.parts if p.kind == "mask"), None)

    @property
    def input_parts(self) -> tuple[ObservationPart, ...]:
        """The leaves a network reads (all but the mask)."""
        return tuple(p for p in self.parts if p.kind != "mask")

    def pack(self, obs: Any) -> np.ndarray:
        """One observation as what travels: ``[P]`` float32 when packed, else ``obs`` as is.

        Raises:
            ValueError: A Dict observation lacks a key or a leaf has the wrong size; the
                message names the leaf.
        """
        if not self.packed:
            return np.asarray(obs)
        row = np.empty(self.shape, dtype=np.float32)
        for part in self.parts:
            value = obs
            for key in part.path:
                value = value[key]
            flat = np.asarray(value).reshape(-1)
            if flat.size != part.size:
                raise ValueError(
                    f"observation part {part.name!r} has {flat.size} values, expected "
                    f"{part.size} ({part.shape})"
                )
            if part.kind in ("discrete", "multidiscrete"):
                # The index in integers, then float32: a start past 2**24 (an id, an offset)
                # is not a float32, and subtracting in float32 lost the index (issue #14's
                # fuzzing: Discrete(3, start=2**24 + 1) packed its indices 0, 1, 2 as 0, 2, 4).
                flat = flat.astype(np.int64) - np.asarray(part.starts, dtype=np.int64)
            row[part.offset : part.offset + part.size] = flat.astype(np.float32)
        return row

    def pack_many(self, observations: Sequence[Any]) -> np.ndarray:
        """``[K, *shape]`` rows of :meth:`pack`, of :attr:`dtype`."""
        if not self.packed:
            return np.asarray(observations, dtype=self.dtype)
        return np.stack([self.pack(obs) for obs in observations])

    def mask(self, rows: Rows) -> Rows | None:
        """``[B, n]`` bool legal actions of ``[B, P]`` packed rows (a numpy array or a torch
        tensor: the same slice and comparison serve both interpreters); None without a mask."""
        part = self.mask_part
        if part is None:
            return None
        array: Any = rows
        return cast(Rows, array[:, part.offset : part.offset + part.size] > 0.5)


def copy_state(state: Any) -> Any:
    """A copy of an observation, down to the arrays of a Dict or Tuple one: for adapters that
    hand observations to code that keeps them, while the env may reuse its arrays (a tuple has
    no ``copy``)."""
    if isinstance(state, Mapping):
        return {key: copy_state(value) for key, value in state.items()}
    if isinstance(state, tuple):
        return tuple(copy_state(value) for value in state)
    return state.copy() if isinstance(state, np.ndarray) else state


def _collect(
    space: gym.Space[Any],
    path: tuple[str | int, ...],
    parts: list[ObservationPart],
    mask_key: str | None,
) -> None:
    offset = parts[-1].offset + parts[-1].size if parts else 0
    if isinstance(space, gym.spaces.Dict):
        for key, sub in space.spaces.items():
            _collect(sub, (*path, key), parts, mask_key)
    elif isinstance(space, gym.spaces.Tuple):
        for index, sub in enumerate(space.spaces):
            _collect(sub, (*path, index), parts, mask_key)
    else:
        is_mask = mask_key is not None and bool(path) and path[-1] == mask_key
        parts.append(_leaf(path, space, offset, mask=is_mask))


def _leaf(
    path: tuple[str | int, ...], space: gym.Space[Any], offset: int, *, mask: bool
) -> ObservationPart:
    where = "/".join(str(p) for p in path) or "the observation"
    if mask:
        # An integer Box(0, 1) is PettingZoo's mask; a float Box in [0, 1] is more likely
        # values that a misnamed key points at, so it is refused rather than read as 0/1.
        binary = isinstance(space, gym.spaces.MultiBinary) or (
            isinstance(space, gym.spaces.Box)
            and np.dtype(space.dtype).kind in "biu"
            and bool(np.all(space.low >= 0))
            and bool(np.all(space.high <= 1))
        )
        shape = tuple(space.shape or ())
        if not binary or len(shape) != 1:
            raise SpaceError(
                f"action mask {where!r} must be MultiBinary(n) or an integer Box(0, 1, (n,)), "
                f"got {_one_line(space)}"
            )
        return ObservationPart(path, "mask", offset, shape[0], shape)
    if isinstance(space, gym.spaces.Box):
        shape = tuple(space.shape)
        return ObservationPart(path, "box", offset, int(np.prod(shape)), shape)
    if isinstance(space, gym.spaces.Discrete):
        return ObservationPart(
            path, "discrete", offset, 1, (), (int(space.n),), (int(space.start),)
        )
    if isinstance(space, gym.spaces.MultiDiscrete):
        nvec = tuple(int(n) for n in np.asarray(space.nvec).reshape(-1))
        starts = tuple(int(s) for s in np.asarray(space.start).reshape(-1))
        return ObservationPart(
            path, "multidiscrete", offset, len(nvec), tuple(space.shape), nvec, starts
        )
    if isinstance(space, gym.spaces.MultiBinary):
        shape = tuple(space.shape)
        return ObservationPart(path, "multibinary", offset, int(np.prod(shape)), shape)
    raise SpaceError(
        f"observation {where} has space {_one_line(space)}, which has no fixed-size layout; "
        "rlactors observes Box, Discrete, MultiDiscrete, MultiBinary, and Dict/Tuple of them"
    )


def _one_line(space: gym.Space[Any]) -> str:
    """``str(space)`` on one line: a multi-dimensional MultiDiscrete prints its nvec over
    several, and errors are printed as one line (the CLI's contract)."""
    return " ".join(str(space).split())
