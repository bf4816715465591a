"""Checks the frozen config dataclasses share, so each states its fields once.

Every message names the field as ``Class.field`` and says the range, so a bad value given on
the command line ends in one line that says what to fix.
"""

from __future__ import annotations

import math


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
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{owner}.{name} must lie in [0, 1], got {value}")


def check_positive_numbers(config: object, *fields: str, none_ok: bool = False) -> None:
    """Raises unless each of ``config``'s ``fields`` is a finite number > 0 (or None, with
    ``none_ok``: the fields whose None means "off", e.g. no gradient clipping).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if value is None and none_ok:
            continue
        if value is None or not (math.isfinite(value) and value > 0):
            allowed = "> 0 or None" if none_ok else "> 0"
            raise ValueError(f"{owner}.{name} must be {allowed}, got {value}")


def check_non_negative_numbers(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is a finite number >= 0 (loss weights).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{owner}.{name} must be >= 0 and finite, got {value}")


def check_layer_widths(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is a tuple of integers >= 1 (hidden
    layer widths; empty is a linear network).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in value):
            raise ValueError(f"{owner}.{name} must be positive integers, got {value!r}")


def _check_ints(config: object, fields: tuple[str, ...], minimum: int) -> None:
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{owner}.{name} must be an integer >= {minimum}, got {value!r}")
