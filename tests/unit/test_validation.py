"""check_positive_ints: the integer-field check every config shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rlactors.validation import check_positive_ints


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
