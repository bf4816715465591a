"""Environments: the :class:`~rlactors.core.Env` interface, adapters, checks, batches and toys.

* :func:`make_env` — any Gymnasium env id as an :class:`Env` (checked by default).
* :func:`to_gymnasium` — a single-role :class:`Env` back as a ``gymnasium.Env``.
* :class:`CheckedEnv` — rejects NaN/misshapen observations and out-of-space actions, naming the
  env, role and step.
* :class:`EnvBatch` — K envs in lockstep with autoreset, for batched policy calls.
* :mod:`rlactors.envs.toy` — tiny deterministic envs: single-role, turn-based, simultaneous.
* :mod:`rlactors.envs.toy_structured` — Gymnasium envs with Dict observations and action
  masks, registered here as ``rlactors/DictMatch-v0``, ``rlactors/MaskedChoice-v0`` and
  ``rlactors/MaskedChoicePZ-v0``.
* :class:`ObservationLayout` — how an observation of any space travels as one array.

Nothing here knows about actors: an env becomes one with :func:`rlactors.actors.spawn`.
"""

from rlactors.core import DEFAULT_ROLE, Env, Observation
from rlactors.envs.checks import CheckedEnv
from rlactors.envs.errors import EnvCheckError, ResetNeededError, UnknownEnvError
from rlactors.envs.gymnasium import GymnasiumEnv, make_env
from rlactors.envs.observations import ObservationLayout
from rlactors.envs.to_gymnasium import EnvAsGymnasium, to_gymnasium
from rlactors.envs.toy import CorridorEnv, NimEnv, RockPaperScissorsEnv
from rlactors.envs.toy_structured import register as _register_structured_toys
from rlactors.envs.vector import BatchObservation, EnvBatch

# Every process that makes envs imports this package, so the ids work in every actor.
_register_structured_toys()

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
    "ObservationLayout",
    "ResetNeededError",
    "RockPaperScissorsEnv",
    "UnknownEnvError",
    "make_env",
    "to_gymnasium",
]
