"""Ray-backend guarantees with no inline or process counterpart: loopback, Ray's scheduler,
refs held by actors that do not own them."""

from __future__ import annotations

import gc
import os
import sys
import time

import pytest
from actor_fixtures import Counter, Relay
from listeners import listeners

from rlactors.actors import (
    ActorDiedError,
    ActorOptions,
    ActorSpawnError,
    ActorStoppedError,
    RestartPolicy,
    Runtime,
    kill,
    spawn,
    spawn_with,
)

ray = pytest.importorskip("ray")

TIMEOUT = 30.0


def test_local_ray_listens_on_loopback_only(ray_session: Runtime) -> None:
    with Runtime("ray"):
        counter = spawn(Counter)  # a worker process of its own, listening too
        assert counter.ask("add").result(TIMEOUT) == 1
        found = listeners(os.getpid())
    commands = " ".join(s.command for s in found)
    # The check must see Ray's services to mean anything: the GCS and the raylet listen.
    assert "gcs_server" in commands and "raylet" in commands, found
    public = [s for s in found if not s.loopback]
    assert not public, f"listening beyond loopback: {public}"


def test_handles_do_not_accumulate(ray_session: Runtime) -> None:
    from rlactors.actors.backends.ray import handle as ray_handle

    gc.collect()
    before = len(ray_handle._handles)
    with Runtime("ray"):
        counters = [spawn(Counter) for _ in range(5)]
        assert [c.ask("add").result(TIMEOUT) for c in counters] == [1] * 5
        assert len(ray_handle._handles) == before + 5
        for c in counters:
            c.stop()
    del counters, c
    gc.collect()
    # Regression: every spawned actor's handle stayed in a module dict forever.
    assert len(ray_handle._handles) == before


def test_a_stop_by_a_non_owner_ends_the_actor_for_good(ray_session: Runtime) -> None:
    with Runtime("ray"):
        restartable = ActorOptions(restart=RestartPolicy.on_failure(max_restarts=3))
        counter = spawn_with(restartable, Counter)
        relay = spawn(Relay, counter)
        relay.ask("stop_target").result(TIMEOUT)
        # The owner sees a stop, not a death: no restart, and its ref says "stopped".
        deadline = time.monotonic() + TIMEOUT
        while True:
            with pytest.raises((ActorStoppedError, ActorDiedError)) as info:
                counter.ask("add").result(TIMEOUT)
            if info.type is ActorStoppedError:
                break
            assert time.monotonic() < deadline, "the owner never learned of the stop"
            time.sleep(0.05)
        # ...and frees its Ray actor (it once stayed up, empty, until the runtime shut down).
        ray_actor = counter._handle.ray_actor  # type: ignore[attr-defined]
        while True:
            try:
                ray.get(ray_actor.ready.remote(), timeout=TIMEOUT)
            except ray.exceptions.RayActorError:
                break
            assert time.monotonic() < deadline, "the stopped actor's Ray actor lives on"
            time.sleep(0.05)


def test_a_ref_held_by_another_actor_reaches_the_restarted_actor(ray_session: Runtime) -> None:
    with Runtime("ray"):
        restartable = ActorOptions(restart=RestartPolicy.on_failure(max_restarts=3))
        counter = spawn_with(restartable, Counter, 100)
        relay = spawn(Relay, counter)
        assert relay.ask("add", 1).result(TIMEOUT) == 101
        kill(counter)
        # The relay's ref finds the rebuilt actor (start=100 again) by its Ray name.
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                value = relay.ask("add", 1).result(TIMEOUT)
            except ActorDiedError:
                assert time.monotonic() < deadline, "the relay never reached the new actor"
                time.sleep(0.05)
                continue
            if value == 101:
                break
            assert value == 102 and time.monotonic() < deadline  # the old actor, before the kill
        relay.ask("tell_add", 5).result(TIMEOUT)
        # The relay's ask follows its tell (one sender's messages arrive in order); the
        # driver's ask alone could overtake the tell (seen once: 101).
        assert relay.ask("add", 0).result(TIMEOUT) == 106
        assert counter.ask("add", 0).result(TIMEOUT) == 106


def test_resources_reach_rays_scheduler(ray_session: Runtime) -> None:
    cpus = ray.cluster_resources()["CPU"]
    with Runtime("ray", actor_options={"pinned-*": {"num_cpus": 0.5}}):
        holder = spawn_with(ActorOptions(name="holder", resources={"num_cpus": 0.25}), Counter)
        pinned = spawn_with(ActorOptions(name="pinned-1"), Counter)
        gather = [holder.ping(), pinned.ping()]
        assert [f.result(TIMEOUT) for f in gather] == ["pong", "pong"]
        assert ray.available_resources().get("CPU", 0.0) == pytest.approx(cpus - 0.75)
        # A resource no node has: a clear error within the spawn timeout, not a hang.
    with Runtime("ray", spawn_timeout_s=2.0):
        t0 = time.monotonic()
        with pytest.raises(ActorSpawnError, match="resources"):
            spawn_with(ActorOptions(resources={"no_such_accelerator": 1}), Counter)
        assert time.monotonic() - t0 < 15.0


class Point:
    """A class of the driver's script (as if defined in __main__, see below)."""

    def __init__(self, x: int) -> None:
        self.x = x


def test_objects_of_the_drivers_script_reach_an_actor(
    ray_session: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: plain pickle sent them by reference to __main__, which Ray workers lack.
    monkeypatch.setattr(Point, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "Point", Point, raising=False)
    with Runtime("ray"):
        counter = spawn(Counter)
        back = counter.ask("echo", [Point(3)]).result(TIMEOUT)
        assert type(back[0]).__name__ == "Point" and back[0].x == 3


def test_an_actor_unreachable_for_too_long_is_handled_as_dead() -> None:
    """Regression (a CI flake): the supervisor watched an actor Ray called unreachable again and
    again, with no bound, so a killed actor could stay unrestarted and its restart limit never
    be reached. Unreachable for ``_UNAVAILABLE_LIMIT_S``, it is now handled as dead."""
    from rlactors.actors.backends.ray import supervision

    root = supervision._Root.__new__(supervision._Root)
    root.unavailable_since, root.unavailable_last = None, 0.0
    limit = supervision._UNAVAILABLE_LIMIT_S
    reports = [100.0 + 0.3 * i for i in range(int(limit / 0.3) + 2)]  # one spell, ~0.3 s apart
    assert all(root.still_unavailable(t) for t in reports if t < 100.0 + limit)
    assert not root.still_unavailable(reports[-1])  # too long: dead
    # Blips far apart are separate spells: they never add up to the limit.
    root.unavailable_since, root.unavailable_last = None, 0.0
    assert all(root.still_unavailable(200.0 + 60.0 * i) for i in range(5))


def test_a_kill_during_a_restart_waits_for_the_new_instance(ray_session: Runtime) -> None:
    """Regression (a fresh-clone CI run): while its owner restarted an actor, the handle had no
    Ray actor until the new one was ready, and kill() raised "not a live Ray actor owned here"
    instead of killing the instance a message sent then would reach."""
    import threading

    with Runtime("ray"):
        counter = spawn(Counter)
        counter.ping().result(TIMEOUT)
        handle = counter._handle  # type: ignore[attr-defined]
        new_instance = handle.ray_actor
        handle.ready.clear()  # what _on_death does before starting the new instance...
        handle.ray_actor = None

        def ready() -> None:  # ...and what _start does once it is ready
            handle.ray_actor = new_instance
            handle.ready.set()

        threading.Timer(0.3, ready).start()
        kill(counter)  # waits for the "restart", then kills that instance
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(new_instance.ready.remote(), timeout=TIMEOUT)
