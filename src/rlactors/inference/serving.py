"""ServedPolicy: a supervised policy server for one policy id, and its evaluators' clients.

What an optimizer holds in place of N policy copies (``inference="server"``): it spawns the
server before the evaluators, hands each evaluator a client (:meth:`ServedPolicy.client`),
sends the learner's weights to the server alone (:meth:`ServedPolicy.set_weights`), and
gives a restarted server the weights it lost::

    served = ServedPolicy(ServerConfig(), "q", obs_space, act_space, DQNPolicyConfig(),
                          seed=config.seed, weights=lambda: learner.get_weights())
    spawn(DQNEvaluator, config, index=i, policy=served.client(i, epsilon=0.1))
    served.set_weights(learner.get_weights())
    served.stats()   # the batches it formed
    served.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.actors import ActorDiedError, ActorOptions, ActorRef, RestartPolicy, spawn_with
from rlactors.core import DEFAULT_POLICY_ID, Weights
from rlactors.inference.clients import ActorCriticServerClient, QServerClient
from rlactors.inference.config import ServerConfig
from rlactors.inference.server import PolicyServer
from rlactors.policies.actor_critic_config import ActorCriticConfig
from rlactors.policies.dqn_config import DQNPolicyConfig
from rlactors.seeding import POLICY_STREAM, SERVER_STREAM, derive_seed

log = logging.getLogger(__name__)


class ServedPolicy:
    """A :class:`~rlactors.inference.PolicyServer` spawned supervised, with its clients.

    Args:
        config: When the server answers.
        kind: ``"q"`` or ``"actor_critic"`` (see :class:`~rlactors.inference.PolicyServer`).
        observation_space: One env's observation space.
        action_space: One env's action space.
        policy_config: The network; must match the learner's.
        seed: The evaluators' config seed: the server and each client derive theirs from it
            as the evaluators' local copies would (:data:`~rlactors.seeding.SERVER_STREAM`,
            ``(index, POLICY_STREAM)``).
        weights: The learner's current weights, loaded into the new server; a restarted one
            is given the weights last sent (:meth:`set_weights`).
        policy_id: The served policy's id.
        name: The server actor's name.
        max_restarts: Restarts within a minute before a failure escalates.
    """

    def __init__(
        self,
        config: ServerConfig,
        kind: str,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        policy_config: DQNPolicyConfig | ActorCriticConfig,
        *,
        seed: int,
        weights: Callable[[], Mapping[str, np.ndarray]],
        policy_id: str = DEFAULT_POLICY_ID,
        name: str = "policy-server",
        max_restarts: int = 3,
    ) -> None:
        self.kind = kind
        self.policy_id = policy_id
        self.restarts = 0
        self._seed = seed
        # The weights last sent: what a restarted server is given (the watcher thread that
        # restarts it must not read a learner in the middle of a step).
        self._sent = dict(weights())
        options = ActorOptions(
            name=name,
            restart=RestartPolicy.on_failure(max_restarts=max_restarts, within_s=60.0),
            on_restart=self._on_restart,
        )
        self.ref: ActorRef[PolicyServer] = spawn_with(
            options,
            PolicyServer,
            config,
            kind,
            observation_space,
            action_space,
            policy_config,
            derive_seed(seed, SERVER_STREAM),
            policy_id,
        )
        self.set_weights(self._sent)

    def client(self, index: int, epsilon: float = 0.0) -> QServerClient | ActorCriticServerClient:
        """Evaluator ``index``'s client (``epsilon``: a Q client's initial exploration)."""
        if self.kind == "q":
            seed = derive_seed(self._seed, index, POLICY_STREAM)
            return QServerClient(
                self.ref, client_id=index, seed=seed, epsilon=epsilon, policy_id=self.policy_id
            )
        return ActorCriticServerClient(self.ref, client_id=index, policy_id=self.policy_id)

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Load the learner's weights into the server (fire-and-forget)."""
        self._sent = dict(weights)
        try:
            self.ref.tell(("set_weights", self.policy_id, dict(weights)))
        except ActorDiedError:
            log.debug("%s is down; it gets the weights when it is restarted", self.ref.name)

    def get_weights(self) -> Weights:
        """The weights the server acts with."""
        weights: Weights = self.ref.ask(("get_weights", self.policy_id)).result(60.0)
        return weights

    def stats(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """The server's counters (:meth:`PolicyServer.stats`), plus ``restarts``."""
        stats: dict[str, Any] = self.ref.ask(("stats", self.policy_id)).result(timeout_s)
        return {**stats, "restarts": self.restarts}

    def stop(self) -> None:
        """Stop the server (best effort: a failure is logged)."""
        try:
            self.ref.stop(timeout=10.0)
        except Exception:  # shutting down: report and go on
            log.exception("stopping %s failed", self.ref.name)

    def _on_restart(self, ref: ActorRef[Any]) -> None:
        self.restarts += 1
        ref.tell(("set_weights", self.policy_id, self._sent))
