"""Shared fixtures: a runtime per backend, so the same assertions run on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlactors.actors import Runtime

#: Backends the contract suite runs on; the Ray backend joins when it exists.
BACKENDS = ["inline", "process"]


@pytest.fixture(params=BACKENDS)
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A fresh runtime of each backend, shut down after the test."""
    with Runtime(request.param) as rt:
        yield rt
