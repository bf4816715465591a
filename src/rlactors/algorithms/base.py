"""What every algorithm provides, and the typed-field helpers its config dataclass gets for free.

An algorithm is a frozen config dataclass plus a class composing evaluators, an optimizer and a
learner. The helpers here read a config's fields, types and per-field docstrings, so the CLI
flags (``--learning-rate 1e-3``) and the JSON written to a run directory come from the
dataclass itself, never from a second list that could drift. No torch here: the CLI imports
this module to build ``--help``.
"""

from __future__ import annotations

import abc
import ast
import dataclasses
import difflib
import inspect
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, Union

from rlactors.validation import shown

if TYPE_CHECKING:
    from rlactors.envs.spec import EnvSpec

C = TypeVar("C")

#: Called with each iteration's metrics (see :meth:`Algorithm.train_iter`).
Callback = Callable[[dict[str, Any]], None]


class UnknownConfigFieldError(ValueError):
    """A config field name that does not exist; the message lists close matches or all fields.

    Attributes:
        name: The unknown name.
        close_matches: Existing field names that look like it, best first (maybe empty).
    """

    def __init__(self, config_name: str, name: str, known: list[str]) -> None:
        self.name = name
        self.close_matches = tuple(difflib.get_close_matches(name, known, n=3, cutoff=0.6))
        if self.close_matches:
            hint = "did you mean " + " or ".join(self.close_matches) + "?"
        else:
            hint = "fields are: " + ", ".join(known)
        super().__init__(f"{config_name} has no field {name!r}; {hint}")


@dataclasses.dataclass(frozen=True)
class FieldParser:
    """How :func:`coerce_value` reads a field of a type it does not know, from a CLI string or
    from JSON: the field is annotated ``Annotated[T, FieldParser(parse, "METAVAR")]``.

    Attributes:
        parse: Takes the CLI string or the JSON value, returns the field's value; raises
            ``ValueError`` with a one-line message.
        metavar: How ``--help`` names the value, e.g. ``"ENV"``.
    """

    parse: Callable[[Any], Any]
    metavar: str


def field_parser(annotation: Any) -> FieldParser | None:
    """The :class:`FieldParser` of an ``Annotated`` field type, or None."""
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, FieldParser):
                return meta
    return None


@dataclasses.dataclass(frozen=True)
class ConfigField:
    """One field of a config dataclass, with its resolved type and its docstring.

    Attributes:
        name: The attribute name, e.g. ``"max_env_steps"``.
        annotation: The resolved type, e.g. ``int`` or ``float | None``.
        default: The default value (:data:`dataclasses.MISSING` if required).
        doc: The string literal following the field in the class body ("" if none).
    """

    name: str
    annotation: Any
    default: Any
    doc: str

    @property
    def required(self) -> bool:
        """The field has no default."""
        return self.default is dataclasses.MISSING


def config_fields(cls: type[Any]) -> list[ConfigField]:
    """The fields of config dataclass ``cls``, in definition order.

    Raises:
        TypeError: ``cls`` is not a dataclass.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls, include_extras=True)  # keep FieldParser annotations
    docs = field_docs(cls)
    result = []
    for f in dataclasses.fields(cls):
        default: Any = f.default
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        result.append(ConfigField(f.name, hints[f.name], default, docs.get(f.name, "")))
    return result


def field_docs(cls: type[Any]) -> dict[str, str]:
    """Attribute docstrings (a string literal right after ``name: type = default``) of ``cls``
    and its base classes (a subclass's own docstring wins, so a config that overrides a
    default can say why).

    Classes whose source is not available (e.g. built in a REPL) contribute nothing.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is not object:
            docs.update(_own_field_docs(klass))
    return docs


def _own_field_docs(cls: type[Any]) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0]
    if not isinstance(body, ast.ClassDef):
        return {}
    docs: dict[str, str] = {}
    for node, following in zip(body.body, body.body[1:], strict=False):
        is_doc = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and is_doc:
            assert isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            docs[node.target.id] = inspect.cleandoc(str(following.value.value))
    return docs


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config as JSON-ready values: tuples become lists, mappings dicts, values with a
    ``to_json()`` method (env specs) what it returns, and classes and functions their
    ``module:qualname``."""
    return {f.name: _to_json(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
    """Build ``cls`` from :func:`config_to_dict` output (missing fields keep their defaults).

    Raises:
        UnknownConfigFieldError: A key is not a field of ``cls``.
        ValueError: A value does not fit its field's type, or ``__post_init__`` rejects it.
    """
    fields = {f.name: f for f in config_fields(cls)}
    kwargs: dict[str, Any] = {}
    if "env_id" in data and "env" in fields and "env" not in data:
        # Run directories written before the env field took every kind of env named it env_id.
        data = {("env" if k == "env_id" else k): v for k, v in data.items()}
    for name, value in data.items():
        if name not in fields:
            raise UnknownConfigFieldError(cls.__name__, name, list(fields))
        kwargs[name] = coerce_value(fields[name].annotation, value, name)
    return cls(**kwargs)


def coerce_value(annotation: Any, value: Any, name: str = "value") -> Any:
    """``value`` (as JSON or a CLI string gives it) converted to ``annotation``.

    Handles ``int``, ``float``, ``str``, ``bool``, ``Literal[...]``, ``tuple[T, ...]``,
    ``X | None`` and ``Annotated[T, FieldParser(...)]`` (the parser decides). Strings are
    parsed: ``"none"`` for None, ``"true"``/``"false"`` for bools, ``"256,256"`` for tuples.

    Raises:
        ValueError: The value does not fit; the message names the field and the expected type.
    """
    parser = field_parser(annotation)
    if parser is not None:
        return parser.parse(value)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        is_none = value is None or (
            isinstance(value, str) and value.strip().lower() in ("none", "null")
        )
        if is_none and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return coerce_value(inner[0], value, name)
        raise ValueError(f"{name}: unsupported type {annotation}")
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin is tuple:
        items: list[Any]
        if isinstance(value, str):
            items = [part for part in value.replace(" ", ",").split(",") if part]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise ValueError(f"{name} must be a comma-separated list, got {value!r}")
        return tuple(coerce_value(args[0], item, name) for item in items)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{name} must be true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        try:
            # "1e5" and "100_000" are natural ways to write a step budget.
            number: Any = value
            if isinstance(value, str):
                number = float(value) if "e" in value.lower() else int(value)
            result = int(number)
            # Compared as numbers, not as floats: a JSON integer past 1e308 is no float.
            exact = result == number
        except (TypeError, ValueError, OverflowError):
            # OverflowError: "1e400" and a JSON 1e400 are inf, which no int holds.
            raise ValueError(f"{name} must be an integer, got {shown(value)}") from None
        if not exact:
            raise ValueError(f"{name} must be an integer, got {shown(value)}")
        return result
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int past 1e308
            raise ValueError(f"{name} must be a number, got {shown(value)}") from None
    if annotation is str:
        try:
            return str(value)
        except ValueError:  # an int of more than 4300 digits
            raise ValueError(f"{name} must be a string, got {shown(value)}") from None
    raise ValueError(f"{name}: unsupported field type {annotation}")


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    to_json = getattr(value, "to_json", None)
    if callable(to_json) and not isinstance(value, type):
        return to_json()
    if callable(value):  # an env class or factory given from Python
        return f"{value.__module__}:{value.__qualname__}"
    return value


class Algorithm(abc.ABC):
    """An algorithm: a config plus ``train`` / ``train_iter`` / ``evaluate`` / ``save`` /
    ``restore``. Use it as a context manager (or call :meth:`stop`) to release its actors.
    """

    #: The registry name, e.g. ``"dqn"``.
    name: ClassVar[str]

    config: Any
    #: The env it trains on, as every process builds it (set by the constructor).
    env_spec: EnvSpec

    def __init__(self, config: Any) -> None:
        self.config = config

    @abc.abstractmethod
    def train_iter(self) -> dict[str, Any]:
        """One iteration (one optimizer step, maybe an evaluation); returns its metrics,
        including ``env_steps``, ``episode_return_mean`` and ``done`` (the run is over)."""

    @abc.abstractmethod
    def train(self, callback: Callback | None = None) -> dict[str, Any]:
        """Iterate until the budget is spent or the stop criterion holds; the final result."""

    @abc.abstractmethod
    def evaluate(self, episodes: int | None = None) -> dict[str, Any]:
        """Greedy episodes with the current policy; their statistics."""

    @abc.abstractmethod
    def save(self, path: str | Path) -> Path:
        """Write the run directory (config, metrics, curve, final checkpoint); returns its
        path."""

    @abc.abstractmethod
    def restore(self, path: str | Path) -> None:
        """Load a checkpoint written by :meth:`save`."""

    @classmethod
    @abc.abstractmethod
    def from_checkpoint(cls, path: str | Path) -> Algorithm:
        """A new instance with the checkpoint's config and state."""

    def stop(self) -> None:  # noqa: B027 - nothing to release by default
        """Stop the actors this algorithm started (idempotent)."""

    def __enter__(self) -> Algorithm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
