"""Algorithms, by name: each is a frozen config dataclass plus a class that composes the parts.

The registry maps a name to both, as import paths, so that naming an algorithm (``rlactors
train dqn --help``) imports its config but not torch, and to the action spaces it handles, so
that a run on an env it cannot handle fails before any actor starts, naming one that can
(:func:`check_action_space`). Add one with :func:`register`::

    register("apex", "rlactors.algorithms.apex.config:ApexConfig",
             "rlactors.algorithms.apex.algorithm:Apex", "Ape-X DQN (Horgan et al., 2018)",
             action_spaces=("Discrete",))
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any

from rlactors.algorithms.base import (
    Algorithm,
    Callback,
    ConfigField,
    FieldParser,
    UnknownConfigFieldError,
    coerce_value,
    config_fields,
    config_from_dict,
    config_to_dict,
)
from rlactors.errors import SpaceError


class UnknownAlgorithmError(ValueError):
    """An algorithm name that is not registered; the message lists what is."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        super().__init__(f"unknown algorithm {name!r}; {hint}available: {', '.join(known)}")


@dataclass(frozen=True)
class AlgorithmEntry:
    """A registered algorithm: where its config and algorithm classes live.

    Attributes:
        name: Registry name (``"dqn"``).
        config_path: ``"module:ConfigClass"``.
        algorithm_path: ``"module:AlgorithmClass"``.
        description: One line for ``--help``.
        action_spaces: Names of the ``gymnasium.spaces`` classes of the action spaces it
            handles (``("Discrete", "Box")``); a subclass of one counts as it.
    """

    name: str
    config_path: str
    algorithm_path: str
    description: str = ""
    action_spaces: tuple[str, ...] = ()

    def accepts(self, action_space: Any) -> bool:
        """Whether this algorithm handles ``action_space`` (a ``gymnasium.spaces.Space``)."""
        kinds = {klass.__name__ for klass in type(action_space).__mro__}
        return not kinds.isdisjoint(self.action_spaces)

    def config_class(self) -> type[Any]:
        """Import and return the config dataclass."""
        cls: type[Any] = _load(self.config_path)
        return cls

    def algorithm_class(self) -> type[Algorithm]:
        """Import and return the algorithm class (this imports torch, for most)."""
        cls: type[Algorithm] = _load(self.algorithm_path)
        return cls


_REGISTRY: dict[str, AlgorithmEntry] = {}


#: The order in which :func:`check_action_space` suggests another algorithm: PPO first, as the
#: one whose defaults are the most forgiving on an env nobody tuned them for (RL Zoo's choice
#: of default too); unlisted names come after these, alphabetically.
SUGGESTION_ORDER = ("ppo", "dqn", "apex", "a2c", "impala", "a3c")


def register(
    name: str,
    config_path: str,
    algorithm_path: str,
    description: str = "",
    *,
    action_spaces: tuple[str, ...],
) -> None:
    """Register an algorithm under ``name`` (replacing an entry of that name); see
    :class:`AlgorithmEntry` for the arguments."""
    _REGISTRY[name] = AlgorithmEntry(name, config_path, algorithm_path, description, action_spaces)


def check_action_space(algorithm: str, env_name: str, action_space: Any) -> None:
    """Raise unless the registered ``algorithm`` handles ``action_space``.

    Raises:
        UnknownAlgorithmError: ``algorithm`` is not registered.
        SpaceError: It does not; one line, e.g. ``dqn needs Discrete actions; Pendulum-v1 has
            Box(-2.0, 2.0, (1,), float32); try ppo``.
    """
    entry = get_algorithm(algorithm)
    if entry.accepts(action_space):
        return
    ranked = sorted(
        _REGISTRY,
        key=lambda n: (SUGGESTION_ORDER.index(n) if n in SUGGESTION_ORDER else len(_REGISTRY), n),
    )
    takers = [n for n in ranked if _REGISTRY[n].accepts(action_space)]
    hint = f"try {takers[0]}" if takers else "no registered algorithm handles it"
    needs = " or ".join(entry.action_spaces)
    raise SpaceError(f"{algorithm} needs {needs} actions; {env_name} has {action_space}; {hint}")


def get_algorithm(name: str) -> AlgorithmEntry:
    """The entry registered as ``name``.

    Raises:
        UnknownAlgorithmError: No such name; the message lists close matches and all names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownAlgorithmError(name, algorithm_names()) from None


def algorithm_names() -> list[str]:
    """Registered names, sorted."""
    return sorted(_REGISTRY)


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


register(
    "dqn",
    "rlactors.algorithms.dqn.config:DQNConfig",
    "rlactors.algorithms.dqn.algorithm:DQN",
    "DQN with n-step returns, double-Q, dueling, optional prioritized replay",
    action_spaces=("Discrete",),
)
register(
    "apex",
    "rlactors.algorithms.apex.config:ApexConfig",
    "rlactors.algorithms.apex.algorithm:Apex",
    "Ape-X DQN: distributed prioritized experience replay (Horgan et al., 2018)",
    action_spaces=("Discrete",),
)

register(
    "a2c",
    "rlactors.algorithms.a2c.config:A2CConfig",
    "rlactors.algorithms.a2c.algorithm:A2C",
    "A2C: synchronous advantage actor-critic (Mnih et al., 2016)",
    action_spaces=("Discrete", "Box"),
)
register(
    "a3c",
    "rlactors.algorithms.a3c.config:A3CConfig",
    "rlactors.algorithms.a3c.algorithm:A3C",
    "A3C: asynchronous gradients from actor-critic workers (Mnih et al., 2016)",
    action_spaces=("Discrete", "Box"),
)
register(
    "ppo",
    "rlactors.algorithms.ppo.config:PPOConfig",
    "rlactors.algorithms.ppo.algorithm:PPO",
    "PPO: clipped surrogate objective, epochs of minibatches (Schulman et al., 2017)",
    action_spaces=("Discrete", "Box"),
)
register(
    "impala",
    "rlactors.algorithms.impala.config:IMPALAConfig",
    "rlactors.algorithms.impala.algorithm:IMPALA",
    "IMPALA: streamed trajectories, V-trace off-policy correction (Espeholt et al., 2018)",
    action_spaces=("Discrete", "Box"),
)

__all__ = [
    "Algorithm",
    "AlgorithmEntry",
    "Callback",
    "ConfigField",
    "FieldParser",
    "UnknownAlgorithmError",
    "UnknownConfigFieldError",
    "SUGGESTION_ORDER",
    "algorithm_names",
    "check_action_space",
    "coerce_value",
    "config_fields",
    "config_from_dict",
    "config_to_dict",
    "get_algorithm",
    "register",
]
