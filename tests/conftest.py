"""Shared fixtures: a runtime per backend, so the same assertions run on every backend."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from rlactors.actors import Runtime

#: Backends the contract suite runs on. Ray's joins on request (RLACTORS_TEST_RAY=1) with Ray
#: installed: its local instance still binds the machine's network address, not loopback
#: (see the Ray backend issue), so it is not run by default.
BACKENDS = ["inline", "process"]
if os.environ.get("RLACTORS_TEST_RAY") == "1" and importlib.util.find_spec("ray") is not None:
    BACKENDS.append("ray")


@pytest.fixture(params=BACKENDS)
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A fresh runtime of each backend, shut down after the test."""
    with Runtime(request.param) as rt:
        yield rt


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each backend's name, for tests that build their own runtime (an algorithm's)."""
    name: str = request.param
    return name
