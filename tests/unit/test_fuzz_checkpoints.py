"""Fuzzed checkpoint files (issue #14, "trust no file").

A checkpoint directory comes from disk, and disks, people and attackers change files:
truncated and corrupted ``state.pt``, a tampered header (wrong types, missing keys, another
format version), a tampered ``config.json`` or ``eval.json``, and pickles whose unpickling
would run code. The properties: :class:`CheckpointError` (one line, naming the file), or a
checkpoint of the right types; another format version is refused naming both versions; and a
payload is never executed (the marker file it would write never appears).

The example budget is the "ci" profile of tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from rlactors.checkpoint import (
    ARRAYS_FILE,
    CONFIG_FILE,
    FORMAT_VERSION,
    STATE_FILE,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    read_checkpoint_config,
    save_checkpoint,
)
from rlactors.cli.main import EXIT_USAGE, main
from rlactors.metrics.run_dir import CHECKPOINT_DIR, CHECKPOINTS_DIR
from rlactors.run_checkpoints import (
    BEST_DIR,
    BEST_FILE,
    CheckpointSchedule,
    PeriodicCheckpoints,
    latest_checkpoint,
)


def good_state() -> dict[str, Any]:
    return {
        "policies": {"default": {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(3)}},
        "counters": {"env_steps": 1234, "iteration": 7, "time_s": 1.5, "last_eval": None},
        "recent_returns": [1.0, 2.0],
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One whole checkpoint (with arrays) that each example copies and breaks."""
    return save_checkpoint(
        tmp_path_factory.mktemp("template") / "ckpt",
        algorithm="dqn",
        config={"seed": 1, "hidden_sizes": [8]},
        state=good_state(),
        arrays={"obs": np.arange(12, dtype=np.float32).reshape(3, 4)},
    )


@contextlib.contextmanager
def copy_of(template: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(shutil.copytree(template, Path(tmp) / "ckpt"))


def assert_loaded_or_refused(path: Path) -> Checkpoint | None:
    """Load ``path``: a CheckpointError of one line naming the file, or the right types."""
    try:
        loaded = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), str(exc)
        return None
    assert isinstance(loaded.algorithm, str) and isinstance(loaded.checkpoint_id, str)
    assert isinstance(loaded.config, dict) and isinstance(loaded.state, dict)
    return loaded


def test_the_template_loads(template: Path) -> None:
    """Every refusal below is of a broken copy of this whole checkpoint."""
    loaded = load_checkpoint(template)
    assert loaded.algorithm == "dqn" and loaded.state["counters"]["iteration"] == 7
    assert loaded.arrays is not None and loaded.arrays["obs"].shape == (3, 4)


@given(st.data())
def test_a_truncated_state_file_is_refused(template: Path, data: st.DataObject) -> None:
    whole = (template / STATE_FILE).read_bytes()
    cut = data.draw(st.integers(0, len(whole) - 1), label="cut")
    with copy_of(template) as path:
        (path / STATE_FILE).write_bytes(whole[:cut])
        with pytest.raises(CheckpointError, match="does not load safely"):
            load_checkpoint(path)


@given(st.data())
def test_corrupted_bytes_are_refused_or_load_as_a_checkpoint(
    template: Path, data: st.DataObject
) -> None:
    """torch reads its zip without checking every CRC, so a flipped byte inside a tensor's
    data can load (as other numbers); anything else is a CheckpointError."""
    for name in (STATE_FILE, ARRAYS_FILE):
        raw = bytearray((template / name).read_bytes())
        flips = data.draw(
            st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255)), max_size=8),
            label=f"flips of {name}",
        )
        for position, xor in flips:
            raw[position] ^= xor
        with copy_of(template) as path:
            (path / name).write_bytes(bytes(raw))
            assert_loaded_or_refused(path)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6))
    return st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
        max_leaves=5,
    )


GOOD_HEADER = {
    "format_version": FORMAT_VERSION,
    "algorithm": "dqn",
    "checkpoint_id": "abc",
    "config": {"seed": 1},
}


@st.composite
def headers(draw: st.DrawFn) -> Any:
    """A header with any key dropped or replaced by any value, or not a dict at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values())
    header: dict[str, Any] = {}
    for key, good in GOOD_HEADER.items():
        choice = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        if choice == "keep":
            header[key] = good
        elif choice == "replace":
            header[key] = draw(json_values())
    return header


@given(headers(), st.one_of(st.just(good_state()), json_values()))
@example({**GOOD_HEADER, "format_version": 2}, good_state())
@example({**GOOD_HEADER, "format_version": "1"}, good_state())
@example([1, 2], good_state())  # an AttributeError out of header.get
@example({k: v for k, v in GOOD_HEADER.items() if k != "checkpoint_id"}, {})  # a KeyError
@example(GOOD_HEADER, [1, 2])  # the state is no dict
def test_a_tampered_header_is_refused_and_another_version_named(header: Any, state: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        torch.save({"header": header, "state": state}, Path(tmp) / STATE_FILE)
        loaded = assert_loaded_or_refused(Path(tmp))
        version = header.get("format_version") if isinstance(header, dict) else None
        if isinstance(header, dict) and version != FORMAT_VERSION:
            assert loaded is None
            with pytest.raises(CheckpointError) as refused:
                load_checkpoint(tmp)
            message = str(refused.value)
            assert f"format version {version!r}" in message, message
            assert f"reads format version {FORMAT_VERSION}" in message, message
        if loaded is not None:
            assert isinstance(header, dict) and set(header) == set(GOOD_HEADER)
            assert (loaded.algorithm, loaded.checkpoint_id) == (
                header["algorithm"],
                header["checkpoint_id"],
            )
            assert loaded.config == header["config"] and set(loaded.state) == set(state)


@given(st.one_of(headers().map(json.dumps), st.text(max_size=40), st.binary(max_size=40)))
@example(json.dumps({**GOOD_HEADER, "format_version": 99}))
@example("[" * 100_000)  # RecursionError out of json.loads
@example(b"\xff\xfe{")  # not UTF-8
def test_a_tampered_config_json_is_refused_or_read(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / CONFIG_FILE
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        try:
            algorithm, config = read_checkpoint_config(tmp)
        except CheckpointError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc), str(exc)
            try:
                header = json.loads(text)
            except (ValueError, RecursionError):
                header = None
            if isinstance(header, dict) and header.get("format_version") != FORMAT_VERSION:
                assert f"reads format version {FORMAT_VERSION}" in str(exc), str(exc)
            return
        assert isinstance(algorithm, str) and isinstance(config, dict)


# -- pickle payloads ----------------------------------------------------------------------------


class Payload:
    """Unpickling this runs ``call(*args)``: with a safe loader it never happens."""

    def __init__(self, call: Any, args: tuple[Any, ...]) -> None:
        self.call, self.args = call, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.call, self.args)


def payloads(marker: Path) -> list[Payload]:
    """Ways a pickle writes ``marker``: a shell command, a builtin, exec of Python."""
    return [
        Payload(os.system, (f"touch {marker}",)),
        Payload(open, (str(marker), "w")),
        Payload(exec, (f"open({str(marker)!r}, 'w').close()",)),
        Payload(Path.touch, (marker,)),
    ]


def write_zip(path: Path, obj: Any) -> None:
    torch.save(obj, path)


def write_legacy(path: Path, obj: Any) -> None:
    torch.save(obj, path, _use_new_zipfile_serialization=False)


def write_raw_pickle(path: Path, obj: Any) -> None:
    path.write_bytes(pickle.dumps(obj))


WRITERS = [write_zip, write_legacy, write_raw_pickle]
WHERE = ["state", "header", "body", "tensor-sibling"]


def body_with(payload: Payload, where: str) -> Any:
    if where == "body":
        return payload
    if where == "header":
        return {"header": {**GOOD_HEADER, "config": {"x": payload}}, "state": {}}
    if where == "tensor-sibling":
        return {"header": GOOD_HEADER, "state": {"w": torch.ones(2), "p": [payload]}}
    return {"header": GOOD_HEADER, "state": {"payload": payload}}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the raw pickle: refused anyway
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__)
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind", range(4), ids=["os.system", "open", "exec", "Path.touch"])
def test_a_pickle_payload_in_state_pt_is_refused_and_never_run(
    tmp_path: Path, writer: Any, where: str, kind: int
) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "ckpt"
    path.mkdir()
    payload = payloads(marker)[kind]
    writer(path / STATE_FILE, body_with(payload, where))
    assert not marker.exists(), "writing the payload must not run it either"
    with pytest.raises(CheckpointError, match="does not load safely"):
        load_checkpoint(path)
    assert not marker.exists()


def test_the_payload_runs_when_unpickled_unsafely(tmp_path: Path) -> None:
    """The marker test can fail: the same payloads do write it under a plain pickle.load."""
    marker = tmp_path / "pwned"
    for payload in payloads(marker)[1:]:  # not os.system: no shell needed to prove the point
        pickle.loads(pickle.dumps(payload))
        assert marker.exists()
        marker.unlink()


@given(st.data())
def test_a_payload_anywhere_in_a_nested_state_is_refused(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "pwned"
        leaf = st.sampled_from(payloads(marker)) | st.just(torch.zeros(2)) | json_values()
        state = data.draw(
            st.recursive(
                leaf,
                lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=2), c),
                max_leaves=6,
            ).filter(lambda s: "Payload" in repr_types(s)),
            label="state",
        )
        torch.save({"header": GOOD_HEADER, "state": {"s": state}}, Path(tmp) / STATE_FILE)
        with pytest.raises(CheckpointError, match="does not load safely"):
            load_checkpoint(tmp)
        assert not marker.exists()


def repr_types(value: Any) -> str:
    """The type names inside a nested value (to keep only states that hold a payload)."""
    if isinstance(value, dict):
        return " ".join(repr_types(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(repr_types(v) for v in value)
    return type(value).__name__


def test_a_payload_in_arrays_npz_is_refused_and_never_run(template: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with copy_of(template) as path:
        buffer = io.BytesIO()
        evil = np.array(payloads(marker), dtype=object)
        np.savez(buffer, obs=evil, allow_pickle=True)
        (path / ARRAYS_FILE).write_bytes(buffer.getvalue())
        with pytest.raises(CheckpointError, match="does not load safely"):
            load_checkpoint(path)
        assert load_checkpoint(path, arrays=False).state["counters"]["iteration"] == 7
    assert not marker.exists()


def test_rlactors_evaluate_refuses_a_payload_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    (run / CHECKPOINT_DIR).mkdir(parents=True)
    (run / CHECKPOINT_DIR / CONFIG_FILE).write_text(json.dumps(GOOD_HEADER))
    torch.save(body_with(payloads(marker)[0], "state"), run / CHECKPOINT_DIR / STATE_FILE)
    assert main(["evaluate", str(run), "--episodes", "1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("rlactors: error: evaluate: ") and err.count("\n") == 1, err
    assert "does not load safely" in err
    assert not marker.exists()


# -- a run's checkpoints ------------------------------------------------------------------------


@given(st.one_of(json_values().map(lambda v: json.dumps({"eval_return_mean": v})), st.text()))
@example('{"eval_return_mean": NaN}')  # a best that no evaluation could beat
@example('{"eval_return_mean": "12.5"}')  # a ValueError out of PeriodicCheckpoints()
@example('{"eval_return_mean": 1e400}')
@example('{"eval_return_mean": [1]}')
def test_a_tampered_eval_json_never_stops_a_run_and_never_holds_a_nan_best(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        best = Path(tmp) / CHECKPOINTS_DIR / BEST_DIR
        best.mkdir(parents=True)
        (best / BEST_FILE).write_text(text, encoding="utf-8")
        score = PeriodicCheckpoints(tmp, CheckpointSchedule()).best_return
    assert score is None or (isinstance(score, float) and np.isfinite(score))


@pytest.mark.parametrize(
    "state",
    [{}, {"counters": {}}, {"counters": [1]}, {"counters": {"iteration": "x"}}],
    ids=["no counters", "no iteration", "counters a list", "iteration a string"],
)
def test_a_final_checkpoint_without_an_iteration_is_a_checkpoint_error(
    tmp_path: Path, state: dict[str, Any]
) -> None:
    save_checkpoint(tmp_path / CHECKPOINT_DIR, algorithm="dqn", config={}, state=state)
    with pytest.raises(CheckpointError, match="holds no iteration counter"):
        latest_checkpoint(tmp_path)
