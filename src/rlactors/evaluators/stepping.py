"""Stepping an evaluator's env actors out of lockstep: as they answer, or in two halves.

In lockstep (:meth:`~rlactors.envs.EnvBatch.interact`) every step waits for the slowest of K
envs, and every env waits while the policy acts. :func:`step_each_env` gives each env its
``horizon`` steps in one of two other orders (``EnvActorsConfig.stepping``):

* ``"ready"``: act on whichever envs have answered (EnvPool's "the first batch that is
  ready"), so a slow step holds up only its own env. The order of the policy calls follows
  the order of the answers, so a run is not repeatable from its seed.
* ``"double_buffer"``: two fixed halves (Sample Factory's double-buffered sampling): while the
  policy acts on one half, the other half's envs step. Every policy call acts on a fixed set
  of envs in a fixed order, so a run is repeatable from its seed, as in lockstep.

Either way env ``k``'s ``t``-th step is its own transition, recorded at ``t`` whenever it
came, so each env's trajectory is what lockstep gives it (up to the actions its policy draws).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rlactors.envs import BatchObservation, EnvBatch

#: ``act(envs, states, t)``: the actions to send envs ``envs`` (``[M]`` indices), whose states
#: are ``states`` (``[M, *obs_shape]``), each at its step ``t`` (``[M]``): ``[M, *action]``.
ActFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: ``record(envs, step, t, states, actions)``: envs ``envs`` (``[M]`` indices) answered their
#: step ``t`` (``[M]``), taken in ``states`` with ``actions`` (``[M, ...]``: what ``act`` was
#: given and returned); their rows of ``step`` are the outcome (rewards, ends, next states).
RecordFn = Callable[[np.ndarray, BatchObservation, np.ndarray, np.ndarray, np.ndarray], None]


def step_each_env(
    envs: EnvBatch, horizon: int, order: str, act: ActFn, record: RecordFn
) -> np.ndarray:
    """Step each env of ``envs`` ``horizon`` times in ``order`` (``"ready"`` or
    ``"double_buffer"``, see the module docstring), starting from its current state.

    Returns:
        ``[K, *obs_shape]``: each env's state after its last step (what it acts on next).

    Raises:
        ValueError: ``order`` is neither.
    """
    if order not in ("ready", "double_buffer"):
        raise ValueError(f"step_each_env: order must be ready or double_buffer, got {order!r}")
    k = envs.num_envs
    t = np.zeros(k, dtype=np.int64)  # steps each env has taken
    states = envs.observe().states.copy()  # each env's current state
    first_half = np.arange(k) < (k + 1) // 2
    halves = (first_half, ~first_half)
    turn = 0  # the half double-buffering receives next
    sent: np.ndarray | None = None
    acting = np.ones(k, dtype=bool)  # the first call acts on every env at once
    while True:
        now = np.flatnonzero(acting)
        if now.size:
            actions = act(now, states[now], t[now])
            if sent is None:
                sent = np.zeros((k, *actions.shape[1:]), dtype=actions.dtype)
            sent[now] = actions
            envs.send(sent, only=acting)
        in_flight = envs.stepping
        if not in_flight.any():
            return states
        if order == "ready":
            received = envs.receive(wait="any")
        else:
            if not (in_flight & halves[turn]).any():  # that half took all its steps
                turn = 1 - turn
            received = envs.receive(wait="all", among=halves[turn])
            turn = 1 - turn
        came = np.flatnonzero(received)
        step = envs.observe()
        assert sent is not None  # the first pass acted on every env
        record(came, step, t[came], states[came], sent[came])
        states[came] = step.states[came]
        t[came] += 1
        acting = np.zeros(k, dtype=bool)
        acting[came[t[came] < horizon]] = True
