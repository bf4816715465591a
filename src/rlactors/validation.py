"""Checks the frozen config dataclasses share, so each states its fields once.

Every message names the field as ``Class.field`` and says the range, so a bad value given on
the command line ends in one line that says what to fix. A value of the wrong type (a string
for a number, ``8`` for a tuple of widths, ``"false"`` for a bool: easy from Python or an
edited ``config.json``) is a ``ValueError`` naming the field too, never a ``TypeError`` from
deep inside a comparison (issue #14's fuzzing found those). A number that passes is held as
a Python float (an int, a numpy float32), and widths as a tuple, so that the frozen config
stays hashable and writes the JSON it reads back.
"""

from __future__ import annotations

import functools
import math
import numbers
import typing
from collections.abc import Hashable
from typing import Any, Literal, cast


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters (a pasted blob, or an
    integer of thousands of digits, whose repr Python refuses past 4300 digits)."""
    try:
        text = repr(value)
    except ValueError:  # int's string conversion limit
        return f"an integer of {value.bit_length()} bits"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_real(value: Any) -> bool:
    """A real number (Python or numpy, int or float) that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A real number (not a bool) that is finite; an int past 1e308 is not."""
    try:
        return is_real(value) and math.isfinite(value)
    except OverflowError:  # an int past 1e308 is no float
        return False


def check_positive_ints(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is an integer >= 1 (a bool is not).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    _check_ints(config, fields, 1)


def check_non_negative_ints(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is an integer >= 0 (a bool is not).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    _check_ints(config, fields, 0)


def check_fractions(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is a number in ``[0, 1]``.

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if not (is_finite_number(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{owner}.{name} must lie in [0, 1], got {shown(value)}")
        _store_float(config, name, value)


def check_positive_numbers(
    config: object, *fields: str, none_ok: bool = False, inf_ok: bool = False
) -> None:
    """Raises unless each of ``config``'s ``fields`` is a finite number > 0 (or None, with
    ``none_ok``: the fields whose None means "off", e.g. no gradient clipping; or inf, with
    ``inf_ok``: a clipping threshold that may be "never", e.g. V-trace's rho_bar).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if value is None and none_ok:
            continue
        finite = is_finite_number(value)
        if not ((finite or (inf_ok and is_real(value) and value == math.inf)) and value > 0):
            allowed = "> 0 or None" if none_ok else "> 0"
            raise ValueError(f"{owner}.{name} must be {allowed}, got {shown(value)}")
        _store_float(config, name, value)


def check_non_negative_numbers(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is a finite number >= 0 (loss weights).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if not (is_finite_number(value) and value >= 0):
            raise ValueError(f"{owner}.{name} must be >= 0 and finite, got {shown(value)}")
        _store_float(config, name, value)


def check_finite_numbers(config: object, *fields: str, none_ok: bool = False) -> None:
    """Raises unless each of ``config``'s ``fields`` is a finite number (or None, with
    ``none_ok``: a reward target that may be left unset).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if not ((value is None and none_ok) or is_finite_number(value)):
            allowed = "finite or None" if none_ok else "finite"
            raise ValueError(f"{owner}.{name} must be {allowed}, got {shown(value)}")
        _store_float(config, name, value)


def check_layer_widths(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is a tuple of integers >= 1 (hidden
    layer widths; empty is a linear network). A list is frozen into a tuple (the config
    stays hashable).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        ok = isinstance(value, tuple | list) and all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in value
        )
        if not ok:
            raise ValueError(
                f"{owner}.{name} must be positive integers (a tuple), got {shown(value)}"
            )
        object.__setattr__(config, name, tuple(value))


def check_field_types(config: object) -> None:
    """Raises unless every ``bool`` field of the dataclass ``config`` holds a bool and every
    ``Literal`` field one of its choices: neither is checked by anything else, and
    ``dueling="false"`` is truthy.

    Raises:
        ValueError: The first field that does not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name, kind, choices in _typed_fields(cast(Hashable, type(config))):
        value = getattr(config, name)
        if kind == "bool" and not isinstance(value, bool):
            raise ValueError(f"{owner}.{name} must be True or False, got {shown(value)}")
        if kind == "literal" and not (isinstance(value, str | int) and value in choices):
            options = ", ".join(map(repr, choices))
            raise ValueError(f"{owner}.{name} must be one of {options}, got {shown(value)}")


@functools.cache
def _typed_fields(cls: Any) -> tuple[tuple[str, str, tuple[Any, ...]], ...]:
    """``(name, "bool" | "literal", choices)`` of ``cls``'s bool and Literal fields (once per
    class: resolving the string annotations costs ~0.1 ms)."""
    hints = typing.get_type_hints(cls)
    found = []
    for name in getattr(cls, "__dataclass_fields__", {}):
        hint = hints.get(name)
        if hint is bool:
            found.append((name, "bool", ()))
        elif typing.get_origin(hint) is Literal:
            found.append((name, "literal", typing.get_args(hint)))
    return tuple(found)


#: Integers a config holds fit in 64 bits: counters and seeds become int64 in numpy and torch,
#: and JSON writes no integer of more than 4300 digits (config.json could not be written).
MAX_INT = 2**63 - 1


def _check_ints(config: object, fields: tuple[str, ...], minimum: int) -> None:
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{owner}.{name} must be an integer >= {minimum}, got {shown(value)}")
        if value > MAX_INT:
            raise ValueError(f"{owner}.{name} must be an integer < 2**63, got {shown(value)}")


def _store_float(config: object, name: str, value: Any) -> None:
    """Hold a checked number as a Python float: an int or a numpy float32 given from Python
    is then written to config.json as the float it reads back as (json cannot write a
    float32 at all)."""
    if value is not None and type(value) is not float:
        object.__setattr__(config, name, float(value))
