"""Shared fixtures: a runtime per backend, so the same assertions run on every backend."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from rlactors.actors import Runtime

#: Backends the contract suite runs on. Ray is part of the dev install (``make install``); an
#: install without it skips the Ray cases instead of failing them.
BACKENDS = ["inline", "process", "ray"]
HAVE_RAY = importlib.util.find_spec("ray") is not None

# The fuzz tests' example budget (tests/unit/test_fuzz_*.py). "ci", the default, is fixed and
# deterministic: the same examples every run, no example database written into the tree, and
# all fuzz tests together well under a minute on a 2-core machine. HYPOTHESIS_PROFILE=dev
# searches wider and randomly, for a session of bug hunting. hypothesis is a dev dependency;
# without it only the fuzz modules fail to import, not the whole suite.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - a plain install; CI installs the dev extra
    pass
else:
    # deadline=None: a first example pays imports (torch, gymnasium) that are not slowness.
    settings.register_profile(
        "ci",
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile("dev", max_examples=1000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """CI must test the Ray backend, not skip it."""
    if os.environ.get("CI") and not HAVE_RAY:
        raise pytest.UsageError("ray is not installed: CI installs it with `make install`")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Runtime]:
    """One local Ray instance (loopback only) for the whole test session.

    Starting Ray takes seconds, so every ``Runtime("ray")`` of the session joins this one
    instead of starting its own; each still stops the actors it spawned.
    """
    if not HAVE_RAY:
        pytest.skip("ray is not installed (pip install -e '.[dev,ray]')")
    rt = Runtime("ray")  # not entered: it must not become the current runtime of other tests
    yield rt
    rt.shutdown()


@pytest.fixture(params=BACKENDS)
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A fresh runtime of each backend, shut down after the test."""
    if request.param == "ray":
        request.getfixturevalue("ray_session")
    with Runtime(request.param) as rt:
        yield rt


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each backend's name, for tests that build their own runtime (an algorithm's); on Ray,
    that runtime joins the session's Ray instance."""
    name: str = request.param
    if name == "ray":
        request.getfixturevalue("ray_session")
    return name
