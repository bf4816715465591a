"""Environments: the :class:`~rlactors.core.Env` interface, adapters, checks, batches and toys.

* :class:`EnvSpec` — which env to build (a Gymnasium id, ``module:EnvId``, a factory, an
  ``Env`` subclass; kwargs; wrappers), the same in every process; see :mod:`rlactors.envs.spec`.
* :func:`make_env` — any Gymnasium env id as an :class:`Env` (checked by default).
* :func:`to_gymnasium` — a single-role :class:`Env` back as a ``gymnasium.Env``.
* :func:`from_pettingzoo` — a PettingZoo AEC env as a turn-based :class:`Env`
  (:class:`PettingZooAECEnv`), a parallel one as a simultaneous :class:`Env`
  (:class:`PettingZooParallelEnv`); ids ``pettingzoo:classic/connect_four_v3``,
  ``mpe2:simple_spread_v3``. :func:`to_aec` and :func:`to_parallel` go back.
* :class:`CheckedEnv` — rejects NaN/misshapen observations and out-of-space actions, naming the
  env, role and step.
* :class:`EnvBatch` — K envs in lockstep with autoreset, for batched policy calls; an env that
  crashes is rebuilt, within an :class:`EnvCrashPolicy`.
* :mod:`rlactors.envs.toy` — tiny deterministic envs: single-role, turn-based, simultaneous.
* :mod:`rlactors.envs.toy_structured` — Gymnasium envs with Dict observations and action
  masks, registered (when :mod:`rlactors.envs.gymnasium` is imported, as it is wherever an env
  is made) as ``rlactors/DictMatch-v0``, ``rlactors/MaskedChoice-v0`` and
  ``rlactors/MaskedChoicePZ-v0``.
* :class:`ObservationLayout` — how an observation of any space travels as one array.
* :mod:`rlactors.envs.rendering` — a spec built with a ``render_mode``, and
  :class:`~rlactors.envs.rendering.FrameTap`, which hands on its frames (``rlactors enjoy``).

Nothing here knows about actors: an env becomes one with :func:`rlactors.actors.spawn`.

The names are imported on first use: the algorithm configs import :mod:`rlactors.envs.spec`,
and the CLI reads them to build ``--help`` without gymnasium (~0.2 s to import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlactors.core import DEFAULT_ROLE, Env, Observation
    from rlactors.envs.checks import CheckedEnv
    from rlactors.envs.crashes import EnvCrashPolicy
    from rlactors.envs.errors import EnvCheckError, EnvCrashError, ResetNeededError, UnknownEnvError
    from rlactors.envs.gymnasium import GymnasiumEnv, make_env
    from rlactors.envs.observations import ObservationLayout
    from rlactors.envs.pettingzoo import PettingZooAECEnv, PettingZooParallelEnv, from_pettingzoo
    from rlactors.envs.spec import EnvSpec, Kwargs, WrapperSpec
    from rlactors.envs.to_gymnasium import EnvAsGymnasium, to_gymnasium
    from rlactors.envs.to_pettingzoo import EnvAsAEC, EnvAsParallel, to_aec, to_parallel
    from rlactors.envs.toy import CorridorEnv, CrashingCorridorEnv, NimEnv, RockPaperScissorsEnv
    from rlactors.envs.vector import BatchObservation, EnvBatch

#: Where each public name lives.
_MODULES = {
    "DEFAULT_ROLE": "rlactors.core",
    "Env": "rlactors.core",
    "Observation": "rlactors.core",
    "CheckedEnv": "rlactors.envs.checks",
    "EnvCheckError": "rlactors.envs.errors",
    "EnvCrashError": "rlactors.envs.errors",
    "EnvCrashPolicy": "rlactors.envs.crashes",
    "ResetNeededError": "rlactors.envs.errors",
    "UnknownEnvError": "rlactors.envs.errors",
    "GymnasiumEnv": "rlactors.envs.gymnasium",
    "make_env": "rlactors.envs.gymnasium",
    "ObservationLayout": "rlactors.envs.observations",
    "PettingZooAECEnv": "rlactors.envs.pettingzoo",
    "PettingZooParallelEnv": "rlactors.envs.pettingzoo",
    "from_pettingzoo": "rlactors.envs.pettingzoo",
    "EnvSpec": "rlactors.envs.spec",
    "Kwargs": "rlactors.envs.spec",
    "WrapperSpec": "rlactors.envs.spec",
    "EnvAsGymnasium": "rlactors.envs.to_gymnasium",
    "to_gymnasium": "rlactors.envs.to_gymnasium",
    "EnvAsAEC": "rlactors.envs.to_pettingzoo",
    "EnvAsParallel": "rlactors.envs.to_pettingzoo",
    "to_aec": "rlactors.envs.to_pettingzoo",
    "to_parallel": "rlactors.envs.to_pettingzoo",
    "CorridorEnv": "rlactors.envs.toy",
    "CrashingCorridorEnv": "rlactors.envs.toy",
    "NimEnv": "rlactors.envs.toy",
    "RockPaperScissorsEnv": "rlactors.envs.toy",
    "BatchObservation": "rlactors.envs.vector",
    "EnvBatch": "rlactors.envs.vector",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'rlactors.envs' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_ROLE",
    "BatchObservation",
    "CheckedEnv",
    "CorridorEnv",
    "CrashingCorridorEnv",
    "Env",
    "EnvAsAEC",
    "EnvAsGymnasium",
    "EnvAsParallel",
    "EnvBatch",
    "EnvCheckError",
    "EnvCrashError",
    "EnvCrashPolicy",
    "EnvSpec",
    "GymnasiumEnv",
    "Kwargs",
    "NimEnv",
    "Observation",
    "ObservationLayout",
    "PettingZooAECEnv",
    "PettingZooParallelEnv",
    "ResetNeededError",
    "RockPaperScissorsEnv",
    "UnknownEnvError",
    "WrapperSpec",
    "from_pettingzoo",
    "make_env",
    "to_aec",
    "to_gymnasium",
    "to_parallel",
]
