"""The inline backend runs the same program the same way every time."""

from __future__ import annotations

from typing import Any

from rlactors.actors import Actor, Runtime, gather, spawn


class Recorder(Actor):
    """Logs every message it gets and forwards some to its peers."""

    def __init__(self, name: str, log: Any) -> None:
        self.name = name
        self.log = log
        self.peers: list[Any] = []

    def receive(self, sender: Any, message: Any) -> None:
        kind = message[0]
        if kind == "peers":
            self.peers = message[1]
        elif kind == "hop":
            self.log.tell("record", (self.name, message[1]))
            if message[1] > 0:
                for peer in self.peers:
                    peer.tell(("hop", message[1] - 1))
        elif kind == "sync":
            sender.tell(self.name)


class Log:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def record(self, item: Any) -> None:
        self.items.append(item)

    def get(self) -> list[Any]:
        return self.items


def _run() -> list[Any]:
    with Runtime("inline"):
        log = spawn(Log)
        actors = [spawn(Recorder, f"r{i}", log) for i in range(3)]
        for a in actors:
            a.tell(("peers", [b for b in actors if b is not a]))
        actors[0].tell(("hop", 4))  # 1 + 2 + 4 + 8 + 16 = 31 records
        actors[2].tell(("hop", 3))  # 15 more
        gather([a.ask(("sync",)) for a in actors])
        for _ in range(100):  # each ask runs what was queued before it
            items: list[Any] = log.ask("get").result()
            if len(items) == 46:
                break
        return items


def test_two_runs_give_the_same_message_order() -> None:
    first, second = _run(), _run()
    assert len(first) == 46
    assert first == second


class Slow:
    """A message that takes longer than the waits below allow."""

    def __init__(self) -> None:
        self.weights = 0

    def set_weights(self, weights: int) -> None:
        import time

        time.sleep(0.005)
        self.weights = weights

    def evaluate(self) -> int:
        return self.weights


def test_a_short_timed_wait_runs_the_messages_already_sent_however_slow() -> None:
    # Regression: a greedy evaluator's answer was collected an iteration later on a loaded
    # machine, because a 0.1 ms wait stopped after the first queued message (set_weights).
    from rlactors.actors import wait_any

    with Runtime("inline"):
        evaluator = spawn(Slow)
        evaluator.tell("set_weights", 7)
        answer = evaluator.ask("evaluate")
        done, _ = wait_any([answer], timeout=1e-4)
        assert done == [answer] and answer.result() == 7
