"""PolicyServer: the seed's ``a = ev.policy_actor(s)``, one actor acting for many evaluators.

Each evaluator holds a client (:mod:`rlactors.inference.clients`) in place of its own policy
copy and asks the server for every step's actions. The server keeps the requests it receives
and answers them together, one forward pass for all of them, when its batch is full, when
every evaluator that uses it is waiting, or when its mailbox is empty (within
``max_wait_ms``; see :class:`~rlactors.inference.ServerConfig`). The learner's weights are
loaded in one place, and an evaluator process holds no network.

It is a receive loop (the seed's second form of actor), because an answer leaves after the
message that asked for it: it keeps each asker's ``sender`` and answers from a later message,
or from ``on_idle``, which the runtime calls once its mailbox is empty (so the inline backend,
where the asker waits in the same thread, never deadlocks).

Messages, each a tuple ``(kind, policy_id, ...)``; ``obs`` is ``[B, *obs_shape]``:

* ``("q_values", pid, client, obs)`` -> ``[B, A]`` float32 (DQN, Ape-X; the client explores);
* ``("act", pid, client, obs, explore)`` -> ``[B, ...]`` actions (actor-critics);
* ``("act_with_info", pid, client, obs, explore)`` -> :class:`~rlactors.policies.ActionInfo`;
* ``("value", pid, client, obs)`` -> ``[B]`` float32 critic values;
* ``("td_error", pid, batch)`` -> ``[B]`` TD errors (Ape-X's priorities), answered at once;
* ``("describe", pid)`` -> :class:`ServedSpaces`; ``("get_weights", pid)`` -> weights;
* ``("set_weights", pid, weights)`` (a tell); ``("stats", pid)`` -> :meth:`PolicyServer.stats`.

``client`` names the asker (its evaluator's index): a batch closes as soon as the clients of
the last batch are all back, so evaluators stepping in lockstep are acted on together and one
acting alone waits at most once. A request for another policy id than the server's, or with
observations of the wrong shape, fails that request alone, naming what was wrong.

Usage (the algorithms do this with ``--inference server``)::

    server = spawn(PolicyServer, ServerConfig(), "q", obs_space, act_space, DQNPolicyConfig(),
                   seed=0)
    q = server.ask(("q_values", "default", 0, obs)).result()
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from rlactors.actors import Actor, ReplyTo
from rlactors.core import DEFAULT_POLICY_ID, SampleBatch
from rlactors.envs.observations import ObservationLayout
from rlactors.inference.config import ServerConfig
from rlactors.policies.actor_critic_config import ActionInfo, ActorCriticConfig
from rlactors.policies.dqn_config import DQNPolicyConfig
from rlactors.policies.numpy_actor_critic import NumpyActorCriticPolicy
from rlactors.policies.numpy_q import NumpyQPolicy

#: The policies a server can hold: ``q`` (a DQN's Q-network) or ``actor_critic``.
POLICY_KINDS = ("q", "actor_critic")

#: Requests answered in batches, and the policy kind each needs.
_BATCHED = {"q_values": "q", "act": "actor_critic", "act_with_info": "actor_critic",
            "value": "actor_critic"}  # fmt: skip
#: Requests answered at once.
_IMMEDIATE = ("td_error", "describe", "get_weights", "set_weights", "stats")


class ServedSpaces(NamedTuple):
    """What a client needs to know of the served policy (``("describe", pid)``'s answer)."""

    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]
    layout: ObservationLayout
    """The observations' packed layout (a client reads action masks with it)."""


class _Pending(NamedTuple):
    sender: ReplyTo
    rows: int


class PolicyServer(Actor):
    """Acts for many evaluators in batches (module docstring).

    Args:
        config: When to answer (batch size, wait).
        kind: ``"q"`` (a :class:`~rlactors.policies.NumpyQPolicy`) or ``"actor_critic"``
            (a :class:`~rlactors.policies.NumpyActorCriticPolicy`).
        observation_space: One env's observation space.
        action_space: One env's action space.
        policy_config: The network (``DQNPolicyConfig`` for ``q``, ``ActorCriticConfig``
            for ``actor_critic``); must match the learner's, so its weights fit.
        seed: Seeds the initial weights and, for ``actor_critic``, the action sampling.
        policy_id: The id of the one policy it serves.

    Raises:
        ValueError: ``kind`` is not one of :data:`POLICY_KINDS`, or ``policy_config`` is not
            of its kind.
        SpaceError: The spaces do not suit the policy.
    """

    def __init__(
        self,
        config: ServerConfig,
        kind: str,
        observation_space: gym.Space[Any],
        action_space: gym.Space[Any],
        policy_config: DQNPolicyConfig | ActorCriticConfig,
        seed: int,
        policy_id: str = DEFAULT_POLICY_ID,
    ) -> None:
        self.config = config
        self.kind = kind
        self.policy_id = policy_id
        self._max_wait_s = config.max_wait_ms / 1000.0
        self._policy: NumpyQPolicy | NumpyActorCriticPolicy
        if kind == "q" and isinstance(policy_config, DQNPolicyConfig):
            self._policy = NumpyQPolicy(observation_space, action_space, policy_config, seed)
            layout = self._policy.spec.encoder.layout
        elif kind == "actor_critic" and isinstance(policy_config, ActorCriticConfig):
            self._policy = NumpyActorCriticPolicy(
                observation_space, action_space, policy_config, seed
            )
            layout = self._policy.spec.encoder.layout
        else:
            raise ValueError(
                f"PolicyServer: kind must be one of {POLICY_KINDS} with a DQNPolicyConfig "
                f"(q) or an ActorCriticConfig (actor_critic), got {kind!r} with "
                f"{type(policy_config).__name__}"
            )
        self._spaces = ServedSpaces(observation_space, action_space, layout)
        self._obs_shape = tuple(layout.shape)
        # Kept requests: (kind, explore) -> [(sender, rows)], with their observations.
        self._pending: dict[tuple[str, bool], list[_Pending]] = {}
        self._pending_obs: dict[tuple[str, bool], list[np.ndarray]] = {}
        self._pending_rows = 0
        self._oldest = 0.0  # monotonic time of the oldest kept request
        self._clients: set[Any] = set()  # every client heard from
        self._waiting: set[Any] = set()  # clients with a kept request
        self._expected: set[Any] = set()  # the clients of the last batch
        # Counters for stats().
        self._requests = 0
        self._batches = 0
        self._rows = 0
        self._max_rows = 0
        self._forward_s = 0.0
        self._histogram: dict[int, int] = {}  # batch rows, rounded down to a power of 2 -> count

    # -- the receive loop -----------------------------------------------------------------------

    def receive(self, sender: Any, message: Any) -> None:
        """Handle one request (module docstring); raises for a malformed one, which fails
        that request alone."""
        if not isinstance(message, tuple) or len(message) < 2 or not isinstance(message[0], str):
            raise ValueError(
                f"PolicyServer {self.policy_id!r}: a request is a tuple (kind, policy_id, ...), "
                f"got {_short(message)}"
            )
        what, policy_id = message[0], message[1]
        if policy_id != self.policy_id:
            raise KeyError(
                f"PolicyServer serves policy {self.policy_id!r} only; asked {what!r} for "
                f"policy {policy_id!r}"
            )
        if what in _BATCHED:
            self._keep(sender, what, message)
        elif what in _IMMEDIATE:
            self._answer_now(sender, what, message)
        else:
            known = sorted([*_BATCHED, *_IMMEDIATE])
            raise ValueError(f"PolicyServer: unknown request {what!r}; the requests are {known}")

    def on_idle(self, can_wait: bool) -> float | None:
        """The mailbox is empty: answer what is kept, unless more may come and the oldest
        request may still wait (then: the seconds it may)."""
        if not self._pending:
            return None
        if can_wait and self._max_wait_s > 0:
            left = self._oldest + self._max_wait_s - time.monotonic()
            if left > 0:
                return left
        self._flush()
        return None

    # -- answers --------------------------------------------------------------------------------

    def _keep(self, sender: Any, what: str, message: tuple[Any, ...]) -> None:
        need = _BATCHED[what]
        if need != self.kind:
            raise ValueError(
                f"PolicyServer {self.policy_id!r} holds a {self.kind} policy and cannot answer "
                f"{what!r} (a {need} policy's request)"
            )
        arity = 5 if what in ("act", "act_with_info") else 4
        if len(message) != arity:
            raise ValueError(
                f"PolicyServer: {what!r} takes {arity} items (kind, policy_id, client, obs"
                f"{', explore' if arity == 5 else ''}), got {len(message)}"
            )
        client, obs = message[2], np.asarray(message[3])
        if not isinstance(client, (int, str)):
            raise ValueError(
                f"PolicyServer: the client of {what!r} is an int or str (its evaluator's "
                f"index), got {_short(client)}"
            )
        if obs.ndim == 0 or len(obs) == 0:
            raise ValueError(
                f"PolicyServer {self.policy_id!r}: client {client!r} sent no observations for "
                f"{what!r} (shape {obs.shape}); a request holds [B >= 1, *{self._obs_shape}]"
            )
        if obs.ndim != len(self._obs_shape) + 1 or obs.shape[1:] != self._obs_shape:
            raise ValueError(
                f"PolicyServer {self.policy_id!r}: client {client!r} sent observations of "
                f"shape {obs.shape} for {what!r}; they must be [B, *{self._obs_shape}]"
            )
        if not isinstance(sender, ReplyTo):
            raise ValueError(f"PolicyServer: {what!r} is an ask (its answer is the point)")
        key = (what, bool(message[4]) if arity == 5 else False)
        if not self._pending_rows:
            self._oldest = time.monotonic()
        self._pending.setdefault(key, []).append(_Pending(sender, len(obs)))
        self._pending_obs.setdefault(key, []).append(obs)
        self._pending_rows += len(obs)
        self._requests += 1
        self._clients.add(client)
        self._waiting.add(client)
        # The last batch's clients are back: nobody else is likely to come soon (a client
        # that stopped asking, to push its rollout or run an evaluation, drops out of the
        # expected set after one wait, so an evaluator acting alone is not made to wait).
        if self._pending_rows >= self.config.max_batch_rows or self._waiting >= self._expected:
            self._flush()

    def _flush(self) -> None:
        """Answer every kept request: one forward pass per kind of request."""
        pending, observations = self._pending, self._pending_obs
        self._pending, self._pending_obs = {}, {}
        self._pending_rows = 0
        self._expected, self._waiting = self._waiting, set()
        for key, requests in pending.items():
            try:
                obs = observations[key]
                batch = obs[0] if len(obs) == 1 else np.concatenate(obs)
                start = time.perf_counter()
                out = self._compute(key, batch)
                self._forward_s += time.perf_counter() - start
                self._count_batch(len(batch))
                at = 0
                for request in requests:
                    request.sender.tell(_rows(out, at, at + request.rows))
                    at += request.rows
            except Exception as exc:  # every asker not answered yet learns why
                for request in requests:
                    request.sender.fail(exc)  # a no-op for those answered already

    def _compute(self, key: tuple[str, bool], obs: np.ndarray) -> Any:
        what, explore = key
        policy = self._policy
        if isinstance(policy, NumpyQPolicy):
            return policy.q_values(obs)
        if what == "act":
            return policy.act(obs, explore=explore)
        if what == "act_with_info":
            return policy.act_with_info(obs, explore=explore)
        return policy.value(obs)

    def _answer_now(self, sender: Any, what: str, message: tuple[Any, ...]) -> None:
        policy = self._policy
        result: Any = None
        if what == "set_weights":
            weights = message[2] if len(message) == 3 else None
            if not isinstance(weights, Mapping):
                raise ValueError(
                    'PolicyServer: set_weights takes ("set_weights", policy_id, weights), '
                    f"weights a mapping of named arrays, got {_short(message)}"
                )
            policy.set_weights(weights)
        elif what == "td_error":
            if not isinstance(policy, NumpyQPolicy):
                raise ValueError(
                    f"PolicyServer {self.policy_id!r} holds a {self.kind} policy: no TD errors"
                )
            batch = message[2] if len(message) == 3 else None
            if not isinstance(batch, SampleBatch):
                raise ValueError(
                    f'PolicyServer: td_error takes ("td_error", policy_id, SampleBatch), '
                    f"got {_short(message)}"
                )
            result = policy.compute_td_error(batch)
        elif what == "describe":
            result = self._spaces
        elif what == "get_weights":
            result = policy.get_weights()
        else:
            result = self.stats()
        if isinstance(sender, ReplyTo):
            sender.tell(result)

    def _count_batch(self, rows: int) -> None:
        self._batches += 1
        self._rows += rows
        self._max_rows = max(self._max_rows, rows)
        bucket = 1 << (rows.bit_length() - 1)
        self._histogram[bucket] = self._histogram.get(bucket, 0) + 1

    def stats(self) -> dict[str, Any]:
        """Counters since construction: ``requests``, ``batches`` (forward passes), ``rows``
        (observations acted on), ``rows_per_batch`` and ``requests_per_batch`` (means),
        ``largest_batch_rows``, ``forward_s`` (seconds in forward passes), ``clients`` (evaluators
        heard from) and ``batch_rows`` (``{"4-7": batches of 4 to 7 rows, ...}``)."""
        batches = max(self._batches, 1)
        return {
            "requests": self._requests,
            "batches": self._batches,
            "rows": self._rows,
            "rows_per_batch": self._rows / batches,
            "requests_per_batch": self._requests / batches,
            "largest_batch_rows": self._max_rows,
            "forward_s": self._forward_s,
            "clients": len(self._clients),
            "batch_rows": {_bucket(b): n for b, n in sorted(self._histogram.items())},
        }


def _bucket(low: int) -> str:
    """A power-of-two bucket's name: ``"1"``, ``"2-3"``, ``"4-7"``, ..."""
    return f"{low}-{2 * low - 1}" if low > 1 else "1"


def _rows(out: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of a forward pass's answer (an array or an ActionInfo)."""
    if isinstance(out, ActionInfo):
        return ActionInfo(*(field[start:stop] for field in out))
    return out[start:stop]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
