"""EnvSpec: which env to build, however the user named it, built the same in every process.

An env may be given as

* a Gymnasium id, ``"CartPole-v1"``, or ``"module:EnvId"`` (``module`` is imported first, as
  ``gymnasium.make`` does, e.g. ``"mypkg.envs:Corridor-v0"``); ``ALE/`` and ``MinAtar/`` ids
  import their package when asked for, and ``ALE/`` ones get the standard Atari preprocessing
  (:mod:`rlactors.envs.atari`);
* a PettingZoo env, ``"pettingzoo:classic/connect_four_v3"`` or ``"mpe2:simple_spread_v3"``
  (the module ``pettingzoo.classic.connect_four_v3``; see :mod:`rlactors.envs.pettingzoo`);
* an importable factory ``"package.module:function"`` (or a class), called with ``kwargs``
  (a factory that returns a PettingZoo ``AECEnv`` or ``ParallelEnv`` is adapted);
* an rlactors :class:`~rlactors.core.Env` subclass or factory, or a ``gymnasium.Env`` subclass
  or factory, passed as the object itself (from Python; no registration needed);

with Gymnasium wrappers applied in order, each by name (``"FlattenObservation"``, a class of
``gymnasium.wrappers``), by ``"package.module:name"`` or as a callable ``env -> env``, with
keyword arguments of its own. This is Gymnasium's ``make`` / ``register`` vocabulary plus RL
Zoo's ``env_kwargs`` and ``env_wrapper`` hyperparameters.

:meth:`EnvSpec.resolve` runs once, in the caller's process: every import happens there (and
fails there, with one line that says what to install or fix), and a Gymnasium id is looked up in
the caller's registry and its registration travels with the spec, entry point included. An id
registered under ``if __name__ == "__main__":`` therefore builds in actor processes too, which
never run that block: actor specs are pickled with cloudpickle, which sends classes and
functions of the user's script by value. Usage::

    spec = EnvSpec("mypkg.envs:make_corridor", kwargs={"length": 10}).resolve()
    env = spec.make()                                  # an rlactors Env, checked
    spawn(DQNEvaluator, EvaluatorConfig(spec, ...))    # builds the same env in its process

Nothing imports gymnasium at this module's top: the algorithm configs name these types, and the
CLI reads them to build ``--help`` without paying gymnasium's ~0.2 s import.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlactors.envs.lookup import (
    attribute_of,
    call_factory,
    find_registration,
    import_for,
    is_pettingzoo_id,
    load_wrapper,
    missing_dependency,
    require_registration,
)
from rlactors.errors import EnvSpecError
from rlactors.validation import shown as _shown

if TYPE_CHECKING:
    import gymnasium as gym

    from rlactors.core import Env


class Kwargs(Mapping[str, Any]):
    """Keyword arguments a frozen config can hold: read-only, hashable, picklable, in name order.

    Args:
        items: A mapping or ``(name, value)`` pairs; names must be strings.

    Raises:
        EnvSpecError: A name is not a string.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        try:
            data = dict(items)
        except (TypeError, ValueError):
            raise EnvSpecError(
                f"keyword arguments must be a mapping of names to values, got {_shown(items)}"
            ) from None
        for key in data:
            if not isinstance(key, str):
                raise EnvSpecError(f"keyword argument names must be strings, got {key!r}")
        self._items = dict(sorted(data.items()))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        # JSON values (lists, dicts) are not hashable themselves; their frozen form is.
        return hash(_frozen(self._items))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._items == dict(other)

    def __repr__(self) -> str:
        return f"Kwargs({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Kwargs, (self._items,))


#: No keyword arguments (a default that frozen dataclasses may share).
NO_KWARGS = Kwargs()


@dataclass(frozen=True)
class WrapperSpec:
    """One wrapper around a ``gymnasium.Env``: ``wrapper(env, **kwargs)``."""

    wrapper: str | Callable[..., Any]
    """A class of ``gymnasium.wrappers`` by name (``"TimeLimit"``), ``"package.module:name"``, or
    a callable taking the env (plus ``kwargs``) and returning the wrapped env."""

    kwargs: Mapping[str, Any] = NO_KWARGS
    """Keyword arguments of the wrapper, e.g. ``{"max_episode_steps": 50}``."""

    def __post_init__(self) -> None:
        """Freezes ``kwargs``.

        Raises:
            EnvSpecError: ``wrapper`` is neither a non-empty string nor callable.
        """
        if not (callable(self.wrapper) or (isinstance(self.wrapper, str) and self.wrapper)):
            raise EnvSpecError(
                "a wrapper is a gymnasium.wrappers name ('FlattenObservation'), "
                f"'package.module:name' or a callable env -> env, got {self.wrapper!r}"
            )
        object.__setattr__(self, "kwargs", Kwargs(self.kwargs))

    @classmethod
    def of(cls, value: Any) -> WrapperSpec:
        """A wrapper as the user gave it: a name, a callable, a :class:`WrapperSpec`, or RL Zoo's
        one-entry mapping ``{name: kwargs}``.

        Raises:
            EnvSpecError: ``value`` is none of those.
        """
        if isinstance(value, WrapperSpec):
            return value
        if isinstance(value, Mapping):
            if len(value) != 1:
                raise EnvSpecError(
                    'a wrapper with arguments is one {"name": {kwargs}} entry, e.g. '
                    f'{{"TimeLimit": {{"max_episode_steps": 50}}}}; got {dict(value)!r}'
                )
            ((name, kwargs),) = value.items()
            if not isinstance(kwargs, Mapping):
                raise EnvSpecError(f"the arguments of wrapper {name!r} must be a mapping")
            return cls(name, kwargs)
        return cls(value)

    @property
    def name(self) -> str:
        """The wrapper's short name, e.g. ``"TimeLimit"``."""
        return _short_name(self.wrapper)

    def resolve(self) -> WrapperSpec:
        """The wrapper loaded (a callable), so every process applies the same one.

        Raises:
            EnvSpecError: A name that ``gymnasium.wrappers`` does not have, or a
                ``module:name`` that cannot be imported.
        """
        if callable(self.wrapper):
            return self
        return dataclasses.replace(self, wrapper=load_wrapper(self.wrapper))

    def apply(self, env: gym.Env[Any, Any]) -> gym.Env[Any, Any]:
        """``env`` wrapped."""
        wrapper = self.resolve().wrapper
        assert callable(wrapper)
        wrapped: gym.Env[Any, Any] = call_factory(wrapper, f"wrapper {self.name}", self.kwargs, env)
        return wrapped

    def to_json(self) -> Any:
        """The name, or ``{name: kwargs}`` with arguments (a callable as ``module:qualname``)."""
        name = _json_name(self.wrapper)
        return {name: dict(self.kwargs)} if self.kwargs else name


@dataclass(frozen=True)
class EnvSpec:
    """What env to build: the source, its keyword arguments and its wrappers; see the module
    docstring. Frozen, hashable and picklable, so it crosses into actors inside their configs.
    """

    env: str | Callable[..., Any]
    """A Gymnasium id, ``"module:EnvId"``, ``"package.module:factory"``, or an rlactors ``Env``
    / ``gymnasium.Env`` subclass or factory."""

    kwargs: Mapping[str, Any] = NO_KWARGS
    """Keyword arguments of the factory (or of ``gymnasium.make``, for an id)."""

    wrappers: tuple[WrapperSpec, ...] = ()
    """Gymnasium wrappers, innermost first."""

    registration: Any = field(default=None, compare=False, repr=False)
    """For a Gymnasium id, set by :meth:`resolve`: the caller's ``gymnasium.envs.registration.
    EnvSpec`` of that id, which :meth:`make` builds from instead of the local registry; for a
    PettingZoo id, its :class:`~rlactors.envs.pettingzoo.PettingZooEntry`."""

    def __post_init__(self) -> None:
        """Freezes ``kwargs`` and ``wrappers``.

        Raises:
            EnvSpecError: ``env`` is neither a non-empty string nor callable.
        """
        if not (callable(self.env) or (isinstance(self.env, str) and self.env.strip())):
            raise EnvSpecError(
                "env must be a Gymnasium id ('CartPole-v1'), 'package.module:factory', or an "
                f"Env subclass or factory; got {self.env!r}"
            )
        object.__setattr__(self, "kwargs", Kwargs(self.kwargs))
        object.__setattr__(self, "wrappers", tuple(WrapperSpec.of(w) for w in self.wrappers))

    @classmethod
    def of(
        cls,
        env: str | Callable[..., Any] | EnvSpec | Mapping[str, Any],
        kwargs: Mapping[str, Any] | None = None,
        wrappers: Iterable[Any] = (),
    ) -> EnvSpec:
        """The spec of what the user gave; ``kwargs`` and ``wrappers`` add to a given spec's
        (``kwargs`` win over its own, ``wrappers`` go outside its own).

        Args:
            env: Anything :attr:`env` may be, an :class:`EnvSpec`, or the dict
                :meth:`to_json` wrote.
            kwargs: Keyword arguments of the env.
            wrappers: Anything :meth:`WrapperSpec.of` takes.
        """
        if isinstance(env, Mapping):
            # What to_json wrote, read back from a config.json that may have been edited: a
            # missing "env" or a string of wrappers was a KeyError or one wrapper per letter.
            if "env" not in env:
                raise EnvSpecError(
                    'an env given as a mapping is {"env": ..., "kwargs": {...}, "wrappers": '
                    f"[...]}}; {_shown(dict(env))} has no 'env'"
                )
            own = parse_kwargs(env.get("kwargs", {}))
            return cls.of(
                env["env"], {**own, **(kwargs or {})}, parse_wrappers(env.get("wrappers", ()))
            ).with_wrappers(wrappers)
        if isinstance(env, EnvSpec):
            merged = {**env.kwargs, **(kwargs or {})}
            return dataclasses.replace(env, kwargs=Kwargs(merged)).with_wrappers(wrappers)
        return cls(env, Kwargs(kwargs or {}), tuple(WrapperSpec.of(w) for w in wrappers))

    def with_wrappers(self, wrappers: Iterable[Any]) -> EnvSpec:
        """This spec with ``wrappers`` applied outside its own."""
        extra = tuple(WrapperSpec.of(w) for w in wrappers)
        return dataclasses.replace(self, wrappers=self.wrappers + extra) if extra else self

    @property
    def name(self) -> str:
        """A short name for logs and run directories: the id without its module
        (``"ALE/Pong-v5"``), or the factory's name (``"make_corridor"``); a factory with a
        ``spec_name(kwargs)`` (an env wrapper that takes the spec it wraps) names itself."""
        naming = getattr(self.env, "spec_name", None)
        if callable(naming):
            return str(naming(self.kwargs))
        return _short_name(self.env)

    def resolve(self) -> EnvSpec:
        """This spec with everything it names imported and looked up here, in the caller's
        process; build from the result in any process.

        Raises:
            UnknownEnvError: A Gymnasium id that is not registered.
            EnvSpecError: A module that cannot be imported (the message says what failed and,
                for a missing package, what to install), or a ``module:name`` that is neither
                a registered id nor an attribute of the module.
        """
        wrappers = tuple(w.resolve() for w in self.wrappers)
        if callable(self.env):
            return dataclasses.replace(self, wrappers=wrappers)
        if self.registration is not None:
            return dataclasses.replace(self, wrappers=wrappers)
        if is_pettingzoo_id(self.env):
            from rlactors.envs.pettingzoo import find_pettingzoo_env

            entry = find_pettingzoo_env(self.env, self.kwargs)
            return dataclasses.replace(self, wrappers=wrappers, registration=entry)
        module_name, sep, rest = self.env.strip().rpartition(":")
        if sep:
            module = import_for(module_name, f"env {self.env!r}")
            registration = find_registration(rest)
            if registration is None:
                factory = attribute_of(module, module_name, rest, f"env {self.env!r}")
                if not callable(factory):
                    raise EnvSpecError(
                        f"env {self.env!r}: {module_name}.{rest} is a "
                        f"{type(factory).__name__}, not an env factory or class"
                    )
                return dataclasses.replace(self, env=factory, wrappers=wrappers)
        else:
            registration = require_registration(rest)
        return dataclasses.replace(self, wrappers=wrappers, registration=registration)

    def make(self, *, check: bool = True, mask_key: str | None = None) -> Env:
        """Build the env (resolving first, if :meth:`resolve` was not called).

        Args:
            check: Wrap it in :class:`~rlactors.envs.checks.CheckedEnv`, which rejects
                non-finite or misshapen observations and out-of-space actions.
            mask_key: The Dict observation key the checks read as the action mask (None:
                ``action_mask``, the default of every policy config).

        Returns:
            An rlactors :class:`~rlactors.core.Env`; a ``gymnasium.Env`` is adapted by
            :class:`~rlactors.envs.gymnasium.GymnasiumEnv`, after the wrappers.

        Raises:
            EnvSpecError: As :meth:`resolve`; a dependency of the env is not installed (the
                message names the package or extra); the kwargs do not fit the factory; the
                factory returned something that is not an env.
        """
        from rlactors.core import Env
        from rlactors.envs.checks import CheckedEnv
        from rlactors.envs.gymnasium import GymnasiumEnv
        from rlactors.envs.observations import DEFAULT_MASK_KEY
        from rlactors.envs.to_gymnasium import to_gymnasium

        spec = self if callable(self.env) or self.registration is not None else self.resolve()
        built = spec._build()
        if spec.wrappers:
            if isinstance(built, Env):
                built = to_gymnasium(built)
            for wrapper in spec.wrappers:
                built = wrapper.apply(built)
        env: Env = built if isinstance(built, Env) else GymnasiumEnv(built, name=self.name)
        if not check:
            return env
        return CheckedEnv(env, name=self.name, mask_key=mask_key or DEFAULT_MASK_KEY)

    def to_json(self) -> Any:
        """JSON for a run's ``config.json``: the source alone when there is nothing else (a
        callable as ``module:qualname``), else ``{"env", "kwargs", "wrappers"}``."""
        env = _json_name(self.env)
        if not self.kwargs and not self.wrappers:
            return env
        return {
            "env": env,
            "kwargs": dict(self.kwargs),
            "wrappers": [w.to_json() for w in self.wrappers],
        }

    def _build(self) -> Any:
        """The env itself: an rlactors ``Env`` or a ``gymnasium.Env``, before any wrapper."""
        import gymnasium as gym

        try:
            return self._build_unchecked()
        except gym.error.DependencyNotInstalled as exc:
            raise EnvSpecError(missing_dependency(self.name, str(exc))) from None

    def _build_unchecked(self) -> Any:
        import gymnasium as gym

        from rlactors.core import Env
        from rlactors.envs.atari import is_atari, make_atari
        from rlactors.envs.pettingzoo import PettingZooEntry, adapt_pettingzoo

        if callable(self.env):
            built = call_factory(self.env, f"env {self.name}", self.kwargs)
            if isinstance(built, Env | gym.Env):
                return built
            adapted = adapt_pettingzoo(built, name=self.name)
            if adapted is None:
                raise EnvSpecError(
                    f"env {self.name} returned a {type(built).__name__}; an env factory must "
                    "return an rlactors Env, a gymnasium.Env or a PettingZoo env"
                )
            return adapted
        if isinstance(self.registration, PettingZooEntry):
            return self.registration.make(self.kwargs)
        module_name, sep, _ = self.env.strip().rpartition(":")
        if sep:  # as gymnasium.make does: the module may do more than register the id
            import_for(module_name, f"env {self.env!r}")
        try:
            if is_atari(self.registration):
                return make_atari(self.registration, self.kwargs)
            return gym.make(self.registration, **self.kwargs)
        except TypeError as exc:
            # A kwarg the env does not take (gymnasium.make passes them on unchecked); other
            # TypeErrors are the env's own and keep their traceback.
            if "unexpected keyword argument" not in str(exc):
                raise
            found = re.search(r"unexpected keyword argument '[^']*'", str(exc))
            what = found.group(0) if found else str(exc).strip().splitlines()[0]
            raise EnvSpecError(f"env {self.name}: got an {what} (check env_kwargs)") from None


def parse_env(value: Any) -> Any:
    """An ``env`` config value from the CLI (a string) or a run's ``config.json`` (a string,
    or the dict :meth:`EnvSpec.to_json` wrote); other values pass unchanged.

    Raises:
        EnvSpecError: An empty string.
    """
    if isinstance(value, Mapping):
        return EnvSpec.of(value)
    if isinstance(value, str):
        return EnvSpec(value).env  # the checks of EnvSpec, the string the user gave
    return value


def parse_kwargs(value: Any) -> Kwargs:
    """``env_kwargs`` from the CLI (a JSON object) or a run's ``config.json`` (a dict).

    Raises:
        EnvSpecError: Not JSON, or not an object.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            # ValueError: JSONDecodeError, or an integer of more than 4300 digits; RecursionError:
            # nesting past the parser's limit ([[[[...]]]]).
            raise EnvSpecError(
                "env kwargs must be a JSON object such as '{\"size\": 8}'; "
                f"{_shown(value)} is not JSON ({exc})"
            ) from None
    if not isinstance(value, Mapping):
        raise EnvSpecError(
            "env kwargs must be a JSON object such as '{\"size\": 8}', got "
            f"{type(value).__name__} {_shown(value)}"
        )
    return Kwargs(value)


def parse_wrappers(value: Any) -> tuple[WrapperSpec, ...]:
    """``env_wrappers`` from the CLI or a run's ``config.json``: comma-separated names
    (``FlattenObservation,ClipReward``), or a JSON list whose items are names or
    ``{"name": {kwargs}}`` (``'[{"TimeLimit": {"max_episode_steps": 50}}]'``).

    Raises:
        EnvSpecError: Bad JSON, or an item that is not a wrapper.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:  # as in parse_kwargs
                raise EnvSpecError(f"env wrappers: {_shown(text)} is not JSON ({exc})") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list | tuple):
        raise EnvSpecError(f"env wrappers must be a list, got {_shown(value)}")
    return tuple(WrapperSpec.of(item) for item in value)


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a class or function, the form :meth:`EnvSpec.resolve` loads."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}:{qualname}"


# -- internals ------------------------------------------------------------------------------------


def _short_name(source: str | Callable[..., Any]) -> str:
    if isinstance(source, str):
        return source.strip().rpartition(":")[2]
    name = getattr(source, "__name__", None)
    return name if isinstance(name, str) else type(source).__name__


def _json_name(source: str | Callable[..., Any]) -> str:
    return source if isinstance(source, str) else qualified_name(source)


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple((k, _frozen(v)) for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value
