"""EnvActor's step timeout runs from when the step was sent: K hung env actors observed one
after the other cost one timeout, not K (a regression test: each observe used to wait the
whole step_timeout_s afresh)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

from rlactors.core import DEFAULT_ROLE
from rlactors.envs import EnvSpec
from rlactors.evaluators import env_actors
from rlactors.evaluators.env_actors import READ_GRACE_S, EnvActor, EnvHost


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class HungFuture:
    """A step that never answers: its wait takes the whole timeout, then raises."""

    def __init__(self, clock: Clock, waits: list[float]) -> None:
        self.clock, self.waits = clock, waits

    def result(self, timeout: float | None = None) -> Any:
        assert timeout is not None
        self.waits.append(timeout)
        self.clock.now += timeout
        raise TimeoutError("no answer")


class Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self, timeout: float | None = None) -> Any:
        return self.value


class FakeRef:
    name = "env-fake"

    def __init__(self, clock: Clock, waits: list[float]) -> None:
        self.clock, self.waits = clock, waits

    def ask(self, method: Any, *args: Any) -> Any:
        if method is EnvHost.describe:
            space = gym.spaces.Discrete(2)
            return Done(((DEFAULT_ROLE,), {DEFAULT_ROLE: space}, {DEFAULT_ROLE: space}))
        assert method is EnvHost.step
        return HungFuture(self.clock, self.waits)


def test_hung_env_actors_observed_in_turn_share_one_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, waits = Clock(), []
    monkeypatch.setattr(env_actors.time, "monotonic", clock.monotonic)
    spec = EnvSpec.of("CartPole-v1")
    envs = [
        EnvActor(spec, step_timeout_s=10.0, ref=FakeRef(clock, waits))  # type: ignore[arg-type]
        for _ in range(3)
    ]
    for env in envs:  # as an EnvBatch does: every step sent before any is observed
        env.interact({DEFAULT_ROLE: 0})
    for env in envs:
        with pytest.raises(TimeoutError, match=r"did not answer within 10\.0 s"):
            env.observe(DEFAULT_ROLE)
    # The first waits the timeout; the others, sent at the same time, only the read grace.
    assert waits == [10.0, READ_GRACE_S, READ_GRACE_S]
    assert clock.now == pytest.approx(10.0 + 2 * READ_GRACE_S)
