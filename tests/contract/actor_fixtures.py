"""Actor classes for the contract tests (importable by name in actor processes)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from rlactors.actors import Actor, ActorOptions, ActorRef, SpawnRequest, spawn_many, spawn_with
from rlactors.envs.toy import CorridorEnv

#: The test process: an env "dying" there raises instead (it would end the test run).
MAIN_PID = os.getpid()


class Counter:
    """A wrapped object: every public method is a message."""

    def __init__(self, start: int = 0) -> None:
        self.value = start
        self.log: list[Any] = []

    def add(self, k: int = 1) -> int:
        self.value += k
        return self.value

    def record(self, item: Any) -> None:
        self.log.append(item)

    def get_log(self) -> list[Any]:
        return self.log

    def echo(self, x: Any) -> Any:
        return x

    def pid(self) -> int:
        return os.getpid()

    def sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    def fail(self, message: str) -> None:
        raise ValueError(message)

    def unpicklable_result(self) -> Any:
        return threading.Lock()

    def _private(self) -> None:
        """Not a message."""


class Broken:
    """A constructor that raises."""

    def __init__(self, why: str) -> None:
        raise RuntimeError(f"cannot build: {why}")


class Ponger(Actor):
    """The seed's ping/pong: answers ("ping",) with ("pong",)."""

    def receive(self, sender: Any, message: Any) -> None:
        if message == ("ping",):
            sender.tell(("pong",))


class Silent(Actor):
    """Never answers."""

    def receive(self, sender: Any, message: Any) -> None:
        pass


class Pinger(Actor):
    """Sends n pings on ("start", ponger, n); answers that ask once n pongs came back."""

    def __init__(self) -> None:
        self.pongs = 0
        self.expected = 0
        self.reply_to: Any = None

    def receive(self, sender: Any, message: Any) -> None:
        if message[0] == "start":
            _, ponger, self.expected = message
            self.reply_to = sender
            for _ in range(self.expected):
                ponger.tell(("ping",))
        elif message == ("pong",):
            self.pongs += 1
            if self.pongs == self.expected:
                self.reply_to.tell(self.pongs)


class Parent:
    """Spawns a child from inside itself (colocated unless told otherwise)."""

    def __init__(self, colocate: bool = True) -> None:
        options = ActorOptions(name="child", colocate=colocate)
        self.child: ActorRef[Counter] = spawn_with(options, Counter, 10)

    def pids(self) -> tuple[int, int]:
        return os.getpid(), self.child.ask(Counter.pid).result(timeout=30)

    def child_echo_identity(self) -> bool:
        """True when the child received this very object (no serialization on the way)."""
        lock = threading.Lock()  # cannot be pickled: only a direct call can pass it
        return self.child.ask("echo", lock).result(timeout=30) is lock

    def child_add(self, k: int) -> int:
        return self.child.ask("add", k).result(timeout=30)

    def child_ref(self) -> ActorRef[Counter]:
        return self.child


class EnvActor(Actor):
    """The seed's env actor as a receive loop: interact!, observe, reset!, ping."""

    def __init__(self) -> None:
        self.state = 0

    def receive(self, sender: Any, message: Any) -> None:
        match message:
            case ("interact", action):
                self.state += action
            case ("observe", role):
                sender.tell((role, self.state))
            case ("reset",):
                self.state = 0
            case ("ping",):
                sender.tell("pong")


class Nested:
    """Spawns a grandchild in a process of its own (for the orphan test)."""

    def __init__(self) -> None:
        self.child = spawn_with(ActorOptions(colocate=False), Counter)

    def pids(self) -> list[int]:
        return [os.getpid(), self.child.ask("pid").result(timeout=30)]


class Relay:
    """Holds a ref it did not spawn: calls through a non-owner's ref."""

    def __init__(self, target: ActorRef[Counter]) -> None:
        self.target = target

    def add(self, k: int) -> int:
        return self.target.ask("add", k).result(timeout=30)

    def tell_add(self, k: int) -> None:
        self.target.tell("add", k)

    def stop_target(self) -> None:
        self.target.stop()


class PidRecorder:
    """Writes its process id into ``directory`` when built (to find its process later)."""

    def __init__(self, directory: str, index: int) -> None:
        with open(os.path.join(directory, f"{index}.pid"), "w") as f:
            f.write(str(os.getpid()))

    def pid(self) -> int:
        return os.getpid()


class LateBroken:
    """A constructor that raises after ``delay_s`` (once the rest of its batch is up)."""

    def __init__(self, delay_s: float) -> None:
        time.sleep(delay_s)
        raise RuntimeError("cannot build: late failure")


class Fleet:
    """Spawns ``n`` counters in one batch from inside itself."""

    def __init__(self, n: int, colocate: bool) -> None:
        self.counters = spawn_many(
            SpawnRequest(Counter, (10 * i,), options=ActorOptions(colocate=colocate))
            for i in range(n)
        )

    def pids(self) -> list[int]:
        return [os.getpid()] + [c.ask(Counter.pid).result(timeout=30) for c in self.counters]

    def add_all(self) -> list[int]:
        return [c.ask(Counter.add).result(timeout=30) for c in self.counters]


class Batcher(Actor):
    """Keeps every ask and answers all of them together once its mailbox is idle: each
    answer is how many asks were answered at once (a policy server's batching, bare)."""

    def __init__(self, wait_s: float = 0.0) -> None:
        self.wait_s = wait_s
        self.kept: list[Any] = []
        self.first_kept = 0.0

    def receive(self, sender: Any, message: Any) -> None:
        if not self.kept:
            self.first_kept = time.monotonic()
        self.kept.append(sender)

    def on_idle(self, can_wait: bool) -> float | None:
        if not self.kept:
            return None
        left = self.first_kept + self.wait_s - time.monotonic()
        if can_wait and left > 0:
            return left  # more may come: call again then
        kept, self.kept = self.kept, []
        for sender in kept:
            sender.tell(len(kept))
        return None


class DyingCorridorEnv(CorridorEnv):
    """A corridor whose process dies (``os._exit``) in its ``die_at``-th interact: a
    simulator that takes its process down. Inline, where that would end the test run, it
    raises instead."""

    def __init__(self, die_at: int = 5, hang: bool = False) -> None:
        super().__init__(length=4)
        self.die_at = die_at
        self.hang = hang
        self.interacts = 0

    def interact(self, actions: Any) -> None:
        self.interacts += 1
        if self.interacts == self.die_at:
            if self.hang:
                time.sleep(600)  # a simulator that never answers
            if os.getpid() == MAIN_PID:
                raise RuntimeError("inline: the env's process would have died here")
            os._exit(3)
        super().interact(actions)


class BatcherUser:
    """Spawns a colocated Batcher and asks it from inside its own message: the wait holds
    the process, so only on_idle (told nothing else can come) can answer."""

    def __init__(self) -> None:
        self.batcher = spawn_with(ActorOptions(colocate=True), Batcher, 60.0)

    def ask_twice(self) -> list[int]:
        return [self.batcher.ask(i).result(10.0) for i in range(2)]
