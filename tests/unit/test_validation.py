"""check_positive_ints: the integer-field check every config shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rlactors.validation import (
    check_fractions,
    check_layer_widths,
    check_non_negative_ints,
    check_non_negative_numbers,
    check_positive_ints,
    check_positive_numbers,
)


@dataclass
class Fields:
    count: Any = 1
    size: Any = 2


def test_integers_of_at_least_one_pass() -> None:
    check_positive_ints(Fields(1, 10**9), "count", "size")


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "2", None])
def test_anything_else_is_named_with_its_class_and_value(bad: Any) -> None:
    with pytest.raises(ValueError, match=rf"^Fields\.size must be an integer >= 1, got {bad!r}$"):
        check_positive_ints(Fields(size=bad), "count", "size")


@dataclass
class Numbers:
    rate: Any = 0.5
    steps: Any = 0
    clip: Any = None
    widths: Any = (4, 4)


@pytest.mark.parametrize(
    ("check", "field", "bad", "message"),
    [
        (check_fractions, "rate", 1.5, r"^Numbers\.rate must lie in \[0, 1\], got 1\.5$"),
        (check_positive_numbers, "rate", 0.0, r"^Numbers\.rate must be > 0, got 0\.0$"),
        (check_non_negative_numbers, "rate", -1.0, r"^Numbers\.rate must be >= 0 and finite"),
        (check_non_negative_ints, "steps", -1, r"^Numbers\.steps must be an integer >= 0, got -1$"),
        (check_layer_widths, "widths", (4, 0), r"^Numbers\.widths must be positive integers"),
        (check_layer_widths, "widths", (True,), r"^Numbers\.widths must be positive integers"),
    ],
)
def test_number_checks_name_the_field(check: Any, field: str, bad: Any, message: str) -> None:
    check(Numbers())  # the defaults pass (no fields named: nothing checked)
    check(Numbers(), field)
    with pytest.raises(ValueError, match=message):
        check(Numbers(**{field: bad}), field)


def test_none_passes_only_where_it_means_off() -> None:
    check_positive_numbers(Numbers(), "clip", none_ok=True)
    with pytest.raises(ValueError, match=r"^Numbers\.clip must be > 0, got None$"):
        check_positive_numbers(Numbers(), "clip")
    with pytest.raises(ValueError, match=r"must be > 0 or None, got 0\.0$"):
        check_positive_numbers(Numbers(clip=0.0), "clip", none_ok=True)
