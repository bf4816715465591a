"""Loading named arrays into a torch module, checked before anything changes.

Policies exchange weights as ``{name: array}`` mappings (never pickled modules); these helpers
load such a mapping into a module so that a wrong key or shape raises a clear error and leaves
the module as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from rlactors.policies.arrays import check_keys


def load_module_arrays(module: torch.nn.Module, arrays: Mapping[str, Any], what: str) -> None:
    """Copies ``arrays`` into ``module``'s state dict (casting dtypes, e.g. float64 to float32).

    Args:
        module: The module to load into.
        arrays: ``{state_dict key: array or tensor}``, exactly the module's keys.
        what: How error messages name the input, e.g. ``"weights"``.

    Raises:
        ValueError: A key is missing or unexpected, or a shape differs; nothing is changed.
    """
    copy_into(module.state_dict(), arrays, what)


def copy_into(targets: Mapping[str, torch.Tensor], arrays: Mapping[str, Any], what: str) -> None:
    """Copies ``arrays[key]`` into each tensor ``targets[key]`` in place (casting dtypes), once
    every key and shape is checked.

    Raises:
        ValueError: A key is missing or unexpected, or a shape differs; nothing is changed.
    """
    check_keys(set(arrays), set(targets), f"{what}: ")
    # Convert and check every entry before copying any, so a bad input leaves the targets intact.
    loaded = {key: torch.as_tensor(arrays[key]) for key in targets}
    for key, value in targets.items():
        if loaded[key].shape != value.shape:
            raise ValueError(
                f"{what}: {key!r} has shape {tuple(loaded[key].shape)}, "
                f"expected {tuple(value.shape)}"
            )
    with torch.no_grad():
        for key, value in targets.items():
            value.copy_(loaded[key])
