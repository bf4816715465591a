"""The env fields every algorithm config has, ``env``, ``env_kwargs`` and ``env_wrappers``.

Their types carry a :class:`~rlactors.algorithms.base.FieldParser`, so the CLI reads
``--env mypkg.envs:make_corridor --env-kwargs '{"length": 10}' --env-wrappers FlattenObservation``
and a run's ``config.json`` reads back. The algorithm turns the three into one
:class:`~rlactors.envs.spec.EnvSpec` (:func:`env_spec_of`), resolves it in the caller's process
and hands it to every evaluator, so every process builds the same env. No gymnasium here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from rlactors.algorithms.base import FieldParser
from rlactors.envs.spec import EnvSpec, WrapperSpec, parse_env, parse_kwargs, parse_wrappers

#: What ``env`` may hold: a Gymnasium id, ``"module:EnvId"``, ``"package.module:factory"``, an
#: rlactors ``Env`` or ``gymnasium.Env`` subclass or factory, or an :class:`EnvSpec`.
EnvField = Annotated[str | EnvSpec | Callable[..., Any], FieldParser(parse_env, "ENV")]

#: ``env_kwargs``: keyword arguments of the env (CLI: a JSON object).
EnvKwargsField = Annotated[Mapping[str, Any], FieldParser(parse_kwargs, "JSON")]

#: ``env_wrappers``: Gymnasium wrappers, innermost first (CLI: names, or a JSON list).
EnvWrappersField = Annotated[
    tuple[str | WrapperSpec | Callable[..., Any], ...],
    FieldParser(parse_wrappers, "WRAPPERS"),
]


def check_env_fields(config: Any) -> None:
    """Freeze ``config``'s env fields (a dict becomes :class:`Kwargs`, wrappers become
    :class:`WrapperSpec`) so the frozen config stays hashable; call from ``__post_init__``.

    Raises:
        EnvSpecError: ``env`` is empty or not an env, or a wrapper is not one.
    """
    if isinstance(config.env, str | Mapping):
        object.__setattr__(config, "env", parse_env(config.env))
    elif not isinstance(config.env, EnvSpec):
        EnvSpec(config.env)  # its checks: a callable
    # The parsers, as for a CLI string: from Python a JSON string of kwargs reads as one, and a
    # string of wrappers is their names, not one wrapper per letter (issue #14's fuzzing).
    object.__setattr__(config, "env_kwargs", parse_kwargs(config.env_kwargs))
    wrappers = config.env_wrappers
    if isinstance(wrappers, Iterable) and not isinstance(wrappers, str | Mapping | list | tuple):
        wrappers = list(wrappers)  # a generator, a set
    wrappers = parse_wrappers(wrappers)
    object.__setattr__(config, "env_wrappers", wrappers)


def env_spec_of(config: Any) -> EnvSpec:
    """The one :class:`EnvSpec` of a config's ``env``, ``env_kwargs`` and ``env_wrappers``."""
    return EnvSpec.of(config.env, config.env_kwargs, config.env_wrappers)
