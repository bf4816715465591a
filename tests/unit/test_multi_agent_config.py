"""The multi-agent config fields' parsers: one-line errors for any bad JSON."""

from __future__ import annotations

import pytest

from rlactors.algorithms.multi_agent_config import parse_opponents, parse_policy_mapping


@pytest.mark.parametrize(
    "text",
    [
        '{"player_0": ',  # cut short
        "{" * 100_000 + "}" * 100_000,  # nested past the parser's recursion limit
        '{"player_0": ' + "1" * 5000 + "}",  # an int of more than 4300 digits
    ],
)
def test_bad_json_is_a_one_line_value_error_naming_the_field(text: str) -> None:
    with pytest.raises(ValueError, match=r"^policy_mapping is not valid JSON") as excinfo:
        parse_policy_mapping(text)
    assert "\n" not in str(excinfo.value)
    with pytest.raises(ValueError, match=r"^opponents is not valid JSON"):
        parse_opponents(text)


def test_the_three_forms_parse() -> None:
    assert parse_policy_mapping(" shared ") == "shared"
    assert dict(parse_policy_mapping('{"a": "x"}')) == {"a": "x"}
    assert dict(parse_opponents("player_1=rock, player_0 = random")) == {
        "player_1": "rock",
        "player_0": "random",
    }
    assert dict(parse_opponents('{"player_1": "rock"}')) == {"player_1": "rock"}
