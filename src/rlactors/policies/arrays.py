"""Checks of named weight arrays, in numpy only (the numpy policies' processes have no torch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def check_keys(given: set[str], expected: set[str], prefix: str) -> None:
    """Raises ``ValueError`` naming the missing and unexpected keys, if any."""
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise ValueError(f"{prefix}missing keys {missing}, unexpected keys {unexpected}")


def checked_float32_arrays(
    current: Mapping[str, np.ndarray], given: Mapping[str, Any], what: str
) -> dict[str, np.ndarray]:
    """``given`` as float32 copies, once its keys and shapes are those of ``current``.

    Raises:
        ValueError: A key is missing or unexpected, or a shape differs; the message names it.
    """
    check_keys(set(given), set(current), f"{what}: ")
    loaded = {key: np.array(given[key], dtype=np.float32) for key in current}
    for key, value in current.items():
        if loaded[key].shape != value.shape:
            raise ValueError(
                f"{what}: {key!r} has shape {loaded[key].shape}, expected {value.shape}"
            )
    return loaded
