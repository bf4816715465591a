"""Checkpoints: round trips, atomic replacement, stale side files, and refusing to unpickle."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from rlactors.checkpoint import (
    ARRAYS_FILE,
    CONFIG_FILE,
    STATE_FILE,
    CheckpointError,
    atomic_write,
    atomic_write_text,
    load_checkpoint,
    read_checkpoint_config,
    save_checkpoint,
)


class Boom:
    """Unpickling this would run code: a safe loader must refuse it."""

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, ("echo pwned",))


def state() -> dict[str, object]:
    return {
        "policy": {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(3)},
        "counters": {"env_steps": 1234, "time_s": 1.5, "solved": False, "last": None},
        "recent": [1.0, 2.0],
        "array": np.ones((2, 2), dtype=np.float32),
        "scalar": np.int64(7),
    }


def test_round_trip_of_state_config_and_arrays(tmp_path: Path) -> None:
    arrays = {"column/obs": np.arange(12, dtype=np.float32).reshape(3, 4), "n": np.asarray(3)}
    config = {"seed": 1, "h": [8]}
    path = save_checkpoint(
        tmp_path / "ckpt", algorithm="dqn", config=config, state=state(), arrays=arrays
    )
    loaded = load_checkpoint(path)
    assert loaded.algorithm == "dqn" and loaded.config == {"seed": 1, "h": [8]}
    assert torch.equal(loaded.state["policy"]["w"], torch.arange(6.0).reshape(2, 3))
    counters = {"env_steps": 1234, "time_s": 1.5, "solved": False, "last": None}
    assert loaded.state["counters"] == counters
    assert loaded.state["recent"] == [1.0, 2.0]
    assert torch.equal(loaded.state["array"], torch.ones(2, 2))  # numpy arrays become tensors
    assert loaded.state["scalar"] == 7
    assert loaded.arrays is not None
    np.testing.assert_array_equal(loaded.arrays["column/obs"], arrays["column/obs"])
    assert int(loaded.arrays["n"]) == 3
    assert read_checkpoint_config(path) == ("dqn", {"seed": 1, "h": [8]})


def test_saving_again_replaces_and_drops_old_arrays(tmp_path: Path) -> None:
    path = tmp_path / "ckpt"
    save_checkpoint(path, algorithm="dqn", config={}, state={"x": 1}, arrays={"a": np.zeros(2)})
    save_checkpoint(path, algorithm="dqn", config={}, state={"x": 2})
    loaded = load_checkpoint(path)
    assert loaded.state == {"x": 2} and loaded.arrays is None
    assert not (path / ARRAYS_FILE).exists()
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_FILE, STATE_FILE]  # no temp files


def test_arrays_of_another_write_are_ignored(tmp_path: Path) -> None:
    """A crash after arrays.npz but before state.pt leaves arrays that do not belong."""
    first = tmp_path / "first"
    second = tmp_path / "second"
    save_checkpoint(first, algorithm="dqn", config={}, state={}, arrays={"a": np.ones(2)})
    save_checkpoint(second, algorithm="dqn", config={}, state={}, arrays={"a": np.zeros(2)})
    os.replace(second / ARRAYS_FILE, first / ARRAYS_FILE)
    assert load_checkpoint(first).arrays is None


def test_state_with_arbitrary_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil"
    path.mkdir()
    header = {"format_version": 1, "algorithm": "dqn", "checkpoint_id": "x", "config": {}}
    torch.save({"header": header, "state": {"payload": Boom()}}, path / STATE_FILE)
    with pytest.raises(CheckpointError, match="does not load safely"):
        load_checkpoint(path)


def test_arrays_with_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c", algorithm="dqn", config={}, state={}, arrays={})
    buffer = io.BytesIO()
    np.savez(buffer, evil=np.array([Boom()], dtype=object), allow_pickle=True)
    (path / ARRAYS_FILE).write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="does not load safely"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="dtype object"):
        save_checkpoint(path, algorithm="dqn", config={}, state={}, arrays={"o": np.array([{}])})


def test_missing_or_foreign_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint_config(tmp_path)
    torch.save({"header": {"format_version": 99}, "state": {}}, tmp_path / STATE_FILE)
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path)
    torch.save([1, 2], tmp_path / STATE_FILE)
    with pytest.raises(CheckpointError, match="not an rlactors checkpoint"):
        load_checkpoint(tmp_path)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")

    def failing(file: object) -> None:
        assert hasattr(file, "write")
        file.write(b"half")  # type: ignore[attr-defined]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, failing)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_atomic_write_gives_files_the_usual_permissions(tmp_path: Path) -> None:
    """Not mkstemp's private 0600: other tools (and users) read run directories."""
    mask = os.umask(0o022)
    os.umask(mask)
    path = atomic_write_text(tmp_path / "f.json", "{}")
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
