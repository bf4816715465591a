"""Checkpoints: atomic writes, and loading that never unpickles arbitrary objects.

A checkpoint is a directory::

    checkpoint/
      state.pt      torch.save of tensors, numbers, strings, lists and dicts: loaded with
                    torch.load(weights_only=True), which refuses any other object
      config.json   {"format_version", "algorithm", "checkpoint_id", "config"}: for people and
                    for rebuilding the algorithm
      arrays.npz    optional large arrays (a replay buffer), loaded with allow_pickle=False

Every file is written to a temporary name in the same directory and moved into place with
``os.replace``, so a reader never sees a half-written file. ``state.pt`` is written last and is
the authority: the other files carry its ``checkpoint_id``, and a file whose id differs (left by
a crash between two writes) is reported as stale instead of being mixed into the new state.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
STATE_FILE = "state.pt"
CONFIG_FILE = "config.json"
ARRAYS_FILE = "arrays.npz"
_ID_KEY = "__checkpoint_id__"


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete, from another format version, or unsafe."""


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes:
        path: The checkpoint directory.
        algorithm: Registry name of the algorithm that wrote it (e.g. ``"dqn"``).
        config: The algorithm's config as plain JSON values.
        state: Tensors and plain values (the algorithm's ``state`` argument to ``save``).
        arrays: The named arrays, or None when none were saved (or they were stale).
        checkpoint_id: Unique id of this write.
    """

    path: Path
    algorithm: str
    config: dict[str, Any]
    state: dict[str, Any]
    arrays: dict[str, np.ndarray] | None
    checkpoint_id: str


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through ``write(file)`` into a temp file, then ``os.replace`` it into place.

    The temp file is in the same directory (``os.replace`` is atomic only within a file
    system) and is fsync'ed first, so after a crash ``path`` holds the old content or the
    new, never a mix. The temp file is removed if ``write`` raises.

    Returns:
        ``path`` as a :class:`Path`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@functools.cache
def _umask() -> int:
    # The only way to read the umask is to set it; done once, at the first write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of UTF-8 ``text``."""
    data = text.encode("utf-8")

    def write(file: IO[bytes]) -> None:
        file.write(data)

    return atomic_write(path, write)


def save_checkpoint(
    directory: str | Path,
    *,
    algorithm: str,
    config: Mapping[str, Any],
    state: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write a checkpoint directory (see the module docstring); an existing one is replaced.

    Args:
        directory: Where to write (created if needed).
        algorithm: Registry name of the algorithm.
        config: The config as JSON-serializable values.
        state: Tensors, numbers, strings, bools, None, and lists/dicts of those (what
            ``torch.load(weights_only=True)`` accepts); numpy arrays are converted to tensors.
        arrays: Optional named numpy arrays (no object dtype), e.g. a replay buffer's columns.

    Returns:
        The directory.
    """
    import torch  # here, not at the top: the CLI imports this module for evaluate's errors

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    checkpoint_id = uuid.uuid4().hex
    header = {
        "format_version": FORMAT_VERSION,
        "algorithm": algorithm,
        "checkpoint_id": checkpoint_id,
        "config": dict(config),
    }
    # Files other than state.pt first: if we crash before state.pt, their new id marks them
    # stale against the old state.pt, which stays whole.
    if arrays is not None:
        payload: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in arrays.items()}
        payload[_ID_KEY] = np.asarray(checkpoint_id)
        for key, value in payload.items():
            if value.dtype == object:
                raise CheckpointError(f"array {key!r} has dtype object; it would need pickle")

        def write_arrays(file: IO[bytes]) -> None:
            np.savez(file, allow_pickle=False, **payload)

        atomic_write(root / ARRAYS_FILE, write_arrays)
    else:
        (root / ARRAYS_FILE).unlink(missing_ok=True)
    atomic_write_text(root / CONFIG_FILE, json.dumps(header, indent=2, sort_keys=True) + "\n")
    body = {"header": header, "state": _to_tensors(state, torch)}
    atomic_write(root / STATE_FILE, lambda f: torch.save(body, f))
    return root


def load_checkpoint(directory: str | Path, *, arrays: bool = True) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, unpickling no arbitrary object.

    Args:
        directory: The checkpoint directory.
        arrays: Also read ``arrays.npz`` (False: its ``arrays`` are None; for a look at the
            counters without reading a replay buffer of gigabytes).

    Raises:
        CheckpointError: No checkpoint there, a different format version, or a file that does
            not load safely; the message names the file.
    """
    import torch

    root = Path(directory)
    state_path = root / STATE_FILE
    if not state_path.is_file():
        raise CheckpointError(f"no checkpoint at {root} (missing {STATE_FILE})")
    try:
        with state_path.open("rb") as f:
            body = torch.load(io.BytesIO(f.read()), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only raises UnpicklingError on any disallowed object
        raise CheckpointError(f"{state_path} does not load safely: {_why(exc)}") from exc
    if not isinstance(body, dict) or "header" not in body or "state" not in body:
        raise CheckpointError(f"{state_path} is not an rlactors checkpoint")
    header, state = body["header"], body["state"]
    if not isinstance(header, dict):
        raise CheckpointError(f"{state_path} is not an rlactors checkpoint (its header is no dict)")
    _check_version(state_path, header)
    # Tampered with, or written by something else: each key and type checked, so that what
    # reaches restore() is what save_checkpoint wrote (issue #14's fuzzing found a KeyError).
    problem = _header_problem(header)
    if problem is None and not isinstance(state, dict):
        problem = f"its state is a {type(state).__name__}, not a dict"
    if problem is not None:
        raise CheckpointError(f"{state_path} is not an rlactors checkpoint: {problem}")
    checkpoint_id = header["checkpoint_id"]
    return Checkpoint(
        path=root,
        algorithm=header["algorithm"],
        config=dict(header["config"]),
        state=dict(state),
        arrays=_load_arrays(root / ARRAYS_FILE, checkpoint_id) if arrays else None,
        checkpoint_id=checkpoint_id,
    )


def read_checkpoint_config(directory: str | Path) -> tuple[str, dict[str, Any]]:
    """``(algorithm, config)`` from ``config.json``, without importing torch.

    Raises:
        CheckpointError: No readable ``config.json`` in ``directory``, one of another format
            version (the message names both), or one that is not a checkpoint's.
    """
    path = Path(directory) / CONFIG_FILE
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {directory} (missing {CONFIG_FILE})") from None
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(f"{path} is not a checkpoint config: {exc}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a checkpoint config: not a JSON object")
    _check_version(path, header)
    problem = _header_problem(header)
    if problem is not None:
        raise CheckpointError(f"{path} is not a checkpoint config: {problem}")
    return header["algorithm"], dict(header["config"])


def _check_version(path: Path, header: dict[Any, Any]) -> None:
    """Refuse a header of another format version, naming both."""
    version = header.get("format_version")
    if version != FORMAT_VERSION or type(version) is not int:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}; this rlactors reads format "
            f"version {FORMAT_VERSION} (a checkpoint is read by the release that wrote it and "
            "later ones of the same format; see docs/checkpoints.md)"
        )


#: The header's keys and their types, as save_checkpoint writes them.
_HEADER_TYPES: dict[str, type] = {"algorithm": str, "checkpoint_id": str, "config": dict}


def _header_problem(header: dict[Any, Any]) -> str | None:
    for key, kind in _HEADER_TYPES.items():
        if key not in header:
            return f"its header has no {key!r}"
        if not isinstance(header[key], kind):
            return f"its header's {key!r} is a {type(header[key]).__name__}, not a {kind.__name__}"
    return None


def _load_arrays(path: Path, checkpoint_id: str) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:
        raise CheckpointError(f"{path} does not load safely: {_why(exc)}") from exc
    saved_id = str(arrays.pop(_ID_KEY, ""))
    if saved_id != checkpoint_id:
        log.warning("ignoring %s: it belongs to another write (a crash between files?)", path)
        return None
    return arrays


def _to_tensors(value: Any, torch: Any) -> Any:
    """Numpy arrays and scalars as tensors and Python numbers, recursively."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _to_tensors(v, torch) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_tensors(v, torch) for v in value]
    return value


#: How torch's weights_only loader names the object it refused ("GLOBAL posix.system").
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _why(exc: BaseException) -> str:
    """Why a file did not load, in one line: torch's refusal of a pickled object runs to a
    dozen lines that end by suggesting ``weights_only=False``, which is what must not be done
    with a file one does not trust; name the object instead."""
    text = str(exc).strip()
    refused = _REFUSED_GLOBAL.search(text)
    if refused is not None:
        return (
            f"it holds a pickled {refused.group(1)}, and a checkpoint holds only tensors, "
            "numbers, strings, lists and dicts (unpickling anything else could run code)"
        )
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
