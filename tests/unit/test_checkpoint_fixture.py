"""A checkpoint written by an earlier release loads in this one (issue #14).

``tests/fixtures/checkpoints/dqn-cartpole-v1/`` is a committed checkpoint of a real DQN run
(CartPole-v1, one hidden layer of 8; ``state.pt`` + ``config.json``, a few KB). If the format
changes, these tests fail: bump ``rlactors.checkpoint.FORMAT_VERSION``, keep a reader for the
old format (or say in docs/checkpoints.md that it is no longer read), and only then
regenerate the fixture::

    cd REPO && PYTHONPATH=src python tests/fixtures/checkpoints/make_fixture.py

The same checkpoint, tampered with, must be refused by the algorithm with a
:class:`CheckpointError` rather than a ``KeyError`` from inside ``restore``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rlactors.algorithms.dqn.algorithm import DQN
from rlactors.checkpoint import (
    CONFIG_FILE,
    FORMAT_VERSION,
    STATE_FILE,
    CheckpointError,
    load_checkpoint,
    read_checkpoint_config,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "checkpoints" / "dqn-cartpole-v1"


def test_the_fixture_is_small_and_of_this_format() -> None:
    assert sum(p.stat().st_size for p in FIXTURE.iterdir()) < 64 * 1024
    header = json.loads((FIXTURE / CONFIG_FILE).read_text())
    assert header["format_version"] == FORMAT_VERSION == 1
    assert read_checkpoint_config(FIXTURE)[0] == "dqn"
    checkpoint = load_checkpoint(FIXTURE)
    assert checkpoint.algorithm == "dqn" and checkpoint.checkpoint_id == header["checkpoint_id"]
    counters = checkpoint.state["counters"]
    assert counters["iteration"] >= 1 and counters["env_steps"] >= 64


def test_dqn_restores_from_the_fixture_and_acts_and_evaluates() -> None:
    checkpoint = load_checkpoint(FIXTURE)
    with DQN.from_checkpoint(FIXTURE) as dqn:
        assert dqn.config.hidden_sizes == (8,)
        assert dqn.iteration == checkpoint.state["counters"]["iteration"]
        assert dqn.env_steps == checkpoint.state["counters"]["env_steps"]
        restored = dqn.learner.state_dict()
        saved = checkpoint.state["policies"]["default"]
        assert restored.keys() == saved.keys()
        tensors = [
            (name, value)
            for name, value in _flat(saved)
            if isinstance(value, torch.Tensor) and value.is_floating_point()
        ]
        assert tensors, "the fixture holds the network's weights"
        restored_flat = dict(_flat(restored))
        for name, value in tensors:
            assert torch.equal(restored_flat[name], value), name
        actions = dqn.policy.act(np.zeros((3, 4), dtype=np.float32), explore=False)
        assert actions.shape == (3,) and set(actions.tolist()) <= {0, 1}
        stats = dqn.evaluate(episodes=2)
    assert stats["episodes"] == 2 and 1.0 <= stats["eval_return_mean"] <= 500.0


def _flat(state: object, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(state, dict):
        return [item for k, v in state.items() for item in _flat(v, f"{prefix}{k}/")]
    return [(prefix, state)]


def _tampered(tmp_path: Path, change: object) -> Path:
    path = Path(shutil.copytree(FIXTURE, tmp_path / "ckpt"))
    body = torch.load(path / STATE_FILE, weights_only=True)
    change(body)  # type: ignore[operator]
    torch.save(body, path / STATE_FILE)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda b: b["state"].pop("counters"), "its counters do not read"),
        (lambda b: b["state"]["counters"].pop("env_steps"), "its counters do not read"),
        (lambda b: b["state"]["counters"].update(iteration="seven"), "its counters do not read"),
        (lambda b: b["state"].update(policies=[1]), "holds the policies list"),
        (lambda b: b["state"].pop("policies"), "holds no policies"),
        (lambda b: b["header"].update(algorithm="ppo"), "is a 'ppo' checkpoint, not 'dqn'"),
        (lambda b: b["header"].update(format_version=2), "format version 2"),
        (
            lambda b: b["header"]["config"].update(replay_compression="lz4"),
            "config does not fit this release's DQNConfig: DQNConfig has no field",
        ),
    ],
    ids=[
        "no counters",
        "no env steps",
        "iteration a string",
        "policies a list",
        "no policies",
        "another algorithm",
        "another format",
        "a field of a later release",
    ],
)
def test_dqn_refuses_a_tampered_fixture_with_a_checkpoint_error(
    tmp_path: Path, change: object, message: str
) -> None:
    path = _tampered(tmp_path, change)
    with pytest.raises(CheckpointError, match=message.replace("(", r"\(")):
        DQN.from_checkpoint(path).stop()
