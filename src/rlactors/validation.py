"""Checks the frozen config dataclasses share, so each states its fields once."""

from __future__ import annotations


def check_positive_ints(config: object, *fields: str) -> None:
    """Raises unless each of ``config``'s ``fields`` is an integer >= 1 (a bool is not).

    Raises:
        ValueError: The first field that is not; the message names it as ``Class.field``.
    """
    owner = type(config).__name__
    for name in fields:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner}.{name} must be an integer >= 1, got {value!r}")
