"""Environments: the :class:`~rlactors.core.Env` interface, adapters, checks, batches and toys.

* :func:`make_env` — any Gymnasium env id as an :class:`Env` (checked by default).
* :func:`to_gymnasium` — a single-role :class:`Env` back as a ``gymnasium.Env``.
* :class:`CheckedEnv` — rejects NaN/misshapen observations and out-of-space actions, naming the
  env, role and step.
* :class:`EnvBatch` — K envs in lockstep with autoreset, for batched policy calls.
* :mod:`rlactors.envs.toy` — tiny deterministic envs: single-role, turn-based, simultaneous.

Nothing here knows about actors: an env becomes one with :func:`rlactors.actors.spawn`.
"""

from rlactors.core import DEFAULT_ROLE, Env, Observation
from rlactors.envs.checks import CheckedEnv
from rlactors.envs.errors import EnvCheckError, ResetNeededError, UnknownEnvError
from rlactors.envs.gymnasium import GymnasiumEnv, make_env
from rlactors.envs.to_gymnasium import EnvAsGymnasium, to_gymnasium
from rlactors.envs.toy import CorridorEnv, NimEnv, RockPaperScissorsEnv
from rlactors.envs.vector import BatchObservation, EnvBatch

__all__ = [
    "DEFAULT_ROLE",
    "BatchObservation",
    "CheckedEnv",
    "CorridorEnv",
    "Env",
    "EnvAsGymnasium",
    "EnvBatch",
    "EnvCheckError",
    "GymnasiumEnv",
    "NimEnv",
    "Observation",
    "ResetNeededError",
    "RockPaperScissorsEnv",
    "UnknownEnvError",
    "make_env",
    "to_gymnasium",
]
