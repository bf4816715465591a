"""What an evaluator acts through when a :class:`~rlactors.inference.PolicyServer` acts for it.

Each client satisfies the protocol its evaluator calls (:mod:`rlactors.evaluators.acting`):
:class:`QServerClient` is a :class:`~rlactors.evaluators.acting.QActing`,
:class:`ActorCriticServerClient` an :class:`~rlactors.evaluators.acting.ActorCriticActing`.
A client is a plain picklable object (the server's ref and a few numbers), so it travels to
the evaluator inside its spawn arguments::

    client = QServerClient(server, client_id=i, seed=derive_seed(seed, i, POLICY_STREAM))
    spawn(DQNEvaluator, config, index=i, policy=client)

A Q client asks for Q-values and explores itself, with the evaluator's own epsilon and the
random stream its local policy copy would use, so on the inline backend a run acts exactly
as it does with local copies (the tests compare them). An actor-critic client asks for the
sampled actions, their log-probs and values: the server samples.

A request the server lost because its process died (and was restarted by its supervisor) is
sent again, up to ``retries`` times, so a server restart costs an evaluator a wait, not its
rollout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from rlactors.actors import ActorDiedError, ActorRef
from rlactors.core import DEFAULT_POLICY_ID, SampleBatch, Weights
from rlactors.envs.observations import ObservationLayout
from rlactors.inference.server import ServedSpaces
from rlactors.policies.actor_critic_config import ActionInfo, clip_to_space
from rlactors.policies.dqn_config import EpsilonGreedy
from rlactors.seeding import POLICY_ACT_STREAM, seed_sequence

#: Seconds a client waits for one answer before it gives up (TimeoutError).
DEFAULT_TIMEOUT_S = 60.0


class _ServerClient:
    """What both clients share: the server, who asks, and a lazy ``describe``."""

    def __init__(
        self,
        server: ActorRef[Any],
        *,
        client_id: int,
        policy_id: str = DEFAULT_POLICY_ID,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = 3,
    ) -> None:
        self.server = server
        self.client_id = client_id
        self.policy_id = policy_id
        self.timeout_s = timeout_s
        self.retries = retries
        self._spaces: ServedSpaces | None = None

    @property
    def spaces(self) -> ServedSpaces:
        """The served policy's spaces and layout (asked once)."""
        if self._spaces is None:
            self._spaces = self._ask("describe")
        return self._spaces

    def get_weights(self) -> Weights:
        """The weights the server acts with (an ask)."""
        weights: Weights = self._ask("get_weights")
        return weights

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Send the server new weights (a tell: every client of the server acts with them).

        An optimizer with a server sends weights to it once, not through each client."""
        self.server.tell(("set_weights", self.policy_id, dict(weights)))

    def _ask(self, what: str, *args: Any) -> Any:
        attempt = 0
        while True:
            try:
                return self.server.ask((what, self.policy_id, *args)).result(self.timeout_s)
            except ActorDiedError:
                if attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(0.05 * attempt)  # its supervisor is restarting it

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_spaces": None}  # asked again where it lands


class QServerClient(EpsilonGreedy, _ServerClient):
    """Epsilon-greedy acting with a served Q-network (a
    :class:`~rlactors.evaluators.acting.QActing`).

    Args:
        server: A :class:`~rlactors.inference.PolicyServer` of kind ``q``.
        client_id: Who asks (the evaluator's index): the server waits for no client it has
            not heard from.
        seed: Seeds exploration, on the stream a local ``NumpyQPolicy(seed=seed)`` uses.
        epsilon: Initial exploration probability.
        policy_id: The served policy's id.
        timeout_s: Seconds to wait for one answer.
        retries: Times a request lost with the server's process is sent again.
    """

    def __init__(
        self,
        server: ActorRef[Any],
        *,
        client_id: int,
        seed: int,
        epsilon: float = 0.0,
        policy_id: str = DEFAULT_POLICY_ID,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = 3,
    ) -> None:
        super().__init__(
            server, client_id=client_id, policy_id=policy_id, timeout_s=timeout_s, retries=retries
        )
        self.epsilon = epsilon
        self._rng = np.random.default_rng(seed_sequence(seed, POLICY_ACT_STREAM))

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """``[B, *obs_shape]`` observations -> ``[B, A]`` float32 Q-values, from the server."""
        q: np.ndarray = self._ask("q_values", self.client_id, np.asarray(obs))
        return q

    def _acting_layout(self) -> tuple[ObservationLayout, int]:
        spaces = self.spaces
        return spaces.layout, int(getattr(spaces.action_space, "start", 0))

    def compute_td_error(self, batch: SampleBatch) -> np.ndarray:
        """``[B]`` TD errors of n-step transitions by the served network (Ape-X's initial
        priorities; see ``NumpyQPolicy.compute_td_error``)."""
        td_error: np.ndarray = self._ask("td_error", batch)
        return td_error


class ActorCriticServerClient(_ServerClient):
    """Acting with a served actor-critic (an
    :class:`~rlactors.evaluators.acting.ActorCriticActing`); the server samples.

    Args:
        server: A :class:`~rlactors.inference.PolicyServer` of kind ``actor_critic``.
        client_id: Who asks (the evaluator's index).
        policy_id: The served policy's id.
        timeout_s: Seconds to wait for one answer.
        retries: Times a request lost with the server's process is sent again.
    """

    def act(self, obs: np.ndarray, *, explore: bool = True) -> np.ndarray:
        """Actions for the env (clipped to a Box), ``[B, *obs_shape]`` -> ``[B, ...]``."""
        actions: np.ndarray = self._ask("act", self.client_id, np.asarray(obs), explore)
        return actions

    def act_with_info(self, obs: np.ndarray, *, explore: bool = True) -> ActionInfo:
        """Sampled (unclipped) actions with their log-probs and the critic's values."""
        info: ActionInfo = self._ask("act_with_info", self.client_id, np.asarray(obs), explore)
        return info

    def value(self, obs: np.ndarray) -> np.ndarray:
        """``[B]`` float32 critic values."""
        values: np.ndarray = self._ask("value", self.client_id, np.asarray(obs))
        return values

    def clip_actions(self, actions: np.ndarray) -> np.ndarray:
        """Sampled actions as the env takes them (Box actions clipped to the space)."""
        return clip_to_space(actions, self.spaces.action_space)
