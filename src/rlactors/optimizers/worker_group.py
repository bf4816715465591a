"""The worker actors an optimizer owns: spawned supervised, fed the learners' weights.

Every optimizer keeps N sampling actors (DQN's and the actor-critics' evaluators, Ape-X's
workers), restarts one whose process dies (Erlang/OTP style, at most ``max_restarts`` a
minute) and hands the restarted one the weights it missed. This class is that part, once::

    group = evaluator_group(DQNEvaluator, config, learner, 2)   # or WorkerGroup(...) itself
    group.refs[0].ask("sample")        # the actors, by index
    group.broadcast()                  # the learners' current weights to every worker
    group.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from rlactors.actors import (
    ActorDiedError,
    ActorOptions,
    ActorRef,
    RestartPolicy,
    SpawnRequest,
    spawn_many,
)
from rlactors.core import Learner, PolicyWeights, Weights
from rlactors.inference import ServedPolicy

log = logging.getLogger(__name__)

A = TypeVar("A")


class WorkerGroup(Generic[A]):
    """N supervised worker actors of one class, holding the learners' weights.

    Args:
        factory: The workers' class (or factory); each must answer ``set_weights`` with
            ``{policy id: weights}``.
        args: Worker ``i``'s positional arguments (``index=i`` is added as a keyword, so each
            derives its own random streams).
        num_workers: N >= 1.
        weights: The learners' current weights, ``{policy id: weights}``; called on every
            broadcast (the last result is what a restarted worker receives).
        max_restarts: Restarts per worker within a minute before its failure escalates.
        name: Actor names are ``f"{name}-{i}"``.
        request_env_steps: Env steps each worker's request (a rollout, a gradient) takes:
            what an optimizer that keeps requests in flight counts against its
            ``env_step_limit``; None: not known (such optimizers refuse the group).
        server: A policy server the workers act through (``inference="server"``): worker
            ``i`` is built with ``policy=server.client(i)``, and the weights go to the
            server alone, not to each worker. The group stops it with the workers.

    Raises:
        ValueError: ``num_workers`` < 1 or ``max_restarts`` < 0.
    """

    def __init__(
        self,
        factory: Callable[..., A],
        args: Callable[[int], tuple[Any, ...]],
        num_workers: int,
        *,
        weights: Callable[[], PolicyWeights],
        max_restarts: int = 3,
        name: str = "worker",
        request_env_steps: int | None = None,
        server: ServedPolicy | None = None,
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
        self.restarts = 0
        self.request_env_steps = request_env_steps
        #: Requests (rollouts, samples, gradients) lost with a worker that died answering.
        self.lost_requests = 0
        self._get_weights = weights
        self._weights = weights()
        self.server = server
        restart = RestartPolicy.on_failure(max_restarts=max_restarts, within_s=60.0)
        # One batch: the N processes start and build their workers at once (issue #13).
        try:
            self.refs: list[ActorRef[A]] = spawn_many(
                SpawnRequest(
                    factory,
                    args(i),
                    {"index": i} if server is None else {"index": i, "policy": server.client(i)},
                    ActorOptions(name=f"{name}-{i}", restart=restart, on_restart=self._on_restart),
                )
                for i in range(num_workers)
            )
        except BaseException:
            if server is not None:
                server.stop()  # spawned for these workers: no process left behind
            raise
        self.broadcast()

    def __len__(self) -> int:
        return len(self.refs)

    def broadcast(self) -> None:
        """Send the learners' current weights to every worker (fire-and-forget); with a
        server, to the server alone, once."""
        self._weights = self._get_weights()
        self._deliver(self.refs)

    def send_weights(self, index: int) -> None:
        """Send the learners' current weights to worker ``index`` only (A3C)."""
        self._weights = self._get_weights()
        self._deliver(self.refs[index : index + 1])

    def _deliver(self, refs: list[ActorRef[A]]) -> None:
        if self.server is not None:
            # One copy of the weights, in the server (the workers hold none).
            self.server.set_weights(self._weights[self.server.policy_id])
            return
        for ref in refs:
            try:
                ref.tell("set_weights", self._weights)
            except ActorDiedError:
                # Dead and not restarted yet: the restart hook hands the new instance the
                # weights.
                log.debug("%s is down; it gets the weights when it is restarted", ref.name)

    def stop(self) -> None:
        """Stop every worker, then the policy server (best effort: a failure is logged, the
        others still stop)."""
        for ref in self.refs:
            try:
                ref.stop(timeout=10.0)
            except Exception:  # shutting down: report and go on
                log.exception("stopping %s failed", ref.name)
        if self.server is not None:
            self.server.stop()

    def gather(self, method: str, timeout_s: float) -> list[Any]:
        """Ask every worker ``method`` at once and return the answers, in worker order, of
        those that did not die answering (each one that did is counted by :meth:`lost`; its
        supervisor restarts it).

        Raises:
            TimeoutError: A worker did not answer within ``timeout_s``.
        """
        futures = [ref.ask(method) for ref in self.refs]
        answers: list[Any] = []
        for i, future in enumerate(futures):
            try:
                answers.append(future.result(timeout_s))
            except ActorDiedError as exc:
                self.lost(i, method, exc)
        return answers

    def lost(self, index: int, what: str, exc: Exception) -> None:
        """Count and report a request worker ``index`` died answering (its supervisor
        restarts it; whatever it had sampled for the request is lost)."""
        self.lost_requests += 1
        log.warning("%s lost a %s (%s); it is being restarted", self.refs[index].name, what, exc)

    def _on_restart(self, ref: ActorRef[Any]) -> None:
        # Runs in the owner when a worker came back: hand it the weights it missed (with a
        # server it acts through the server's, which it never missed).
        self.restarts += 1
        if self.server is None:
            ref.tell("set_weights", self._weights)


class _EvaluatorConfig(Protocol):
    @property
    def policy_id(self) -> str: ...


C = TypeVar("C", bound=_EvaluatorConfig)


def evaluator_group(
    factory: Callable[[C], A] | Callable[..., A],
    config: C,
    learner: Learner,
    num_workers: int,
    *,
    max_restarts: int = 3,
    name: str = "evaluator",
    request_env_steps: int | None = None,
    server: ServedPolicy | None = None,
) -> WorkerGroup[A]:
    """N supervised evaluators ``factory(config, index=i)`` acting with ``learner``'s weights,
    as policy ``config.policy_id`` (a ``DQNEvaluator`` or ``ActorCriticEvaluator`` and its
    config); see :class:`WorkerGroup` for the arguments and errors."""

    def weights() -> dict[str, Weights]:
        return {config.policy_id: learner.get_weights()}

    return WorkerGroup(
        factory,
        lambda _i: (config,),
        num_workers,
        weights=weights,
        max_restarts=max_restarts,
        name=name,
        request_env_steps=request_env_steps,
        server=server,
    )
