"""The seed design's two actor examples, running on the process backend.

1. An environment wrapped as an actor (the seed's ``@wrap_actor ExampleEnv(configs)``): every
   public method becomes a message.
2. A receive-loop actor (the seed's ``@actor begin ... receive() ... end``): ping/pong between two
   actors, each in its own OS process.

Run: python examples/actors_demo.py
"""

from __future__ import annotations

import os
import time
from typing import Any

from rlactors.actors import Actor, Runtime, gather, spawn
from rlactors.envs import make_env


class Ponger(Actor):
    """Answers every ("ping", i) with ("pong", i)."""

    def receive(self, sender: Any, message: Any) -> None:
        if message[0] == "ping":
            sender.tell(("pong", message[1]))


class Pinger(Actor):
    """On ("start", ponger, n): sends n pings, answers the asker once all n pongs are back."""

    def __init__(self) -> None:
        self.pongs = 0
        self.expected = 0
        self.asker: Any = None

    def receive(self, sender: Any, message: Any) -> None:
        if message[0] == "start":
            _, ponger, self.expected = message
            self.asker = sender
            for i in range(self.expected):
                ponger.tell(("ping", i))
        elif message[0] == "pong":
            self.pongs += 1
            if self.pongs == self.expected:
                self.asker.tell(f"{self.pongs} pongs back in process {os.getpid()}")


def main() -> None:
    with Runtime("process"):
        # 1. The env actor: CartPole in a process of its own.
        env = spawn(make_env, "CartPole-v1")
        env.tell("reset", seed=0)
        steps, total = 0, 0.0
        while True:
            obs = env.ask("observe", "agent").result(timeout=10)
            total += obs.reward
            if obs.terminated or obs.truncated:
                break
            env.tell("interact", {"agent": steps % 2})  # a fixed left-right policy
            steps += 1
        print(f"env actor: a left-right policy kept CartPole up for {steps} steps (return {total})")

        # 2. Ping/pong between two receive-loop actors.
        ponger, pinger = spawn(Ponger), spawn(Pinger)
        t0 = time.perf_counter()
        answer = pinger.ask(("start", ponger, 1000)).result(timeout=30)
        elapsed = time.perf_counter() - t0
        print(f"ping/pong: {answer} ({1000 / elapsed:,.0f} round trips/s between actors)")
        print("pings from the driver:", gather([p.ping() for p in (env, ponger, pinger)]))


if __name__ == "__main__":
    main()
