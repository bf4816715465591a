"""Fuzzed command-line flags and config values (issue #14, "trust no file").

Three layers, each with the property that a bad value is one clear line and never a traceback:

* :func:`coerce_value`, which reads every flag and every ``config.json`` value: the field's
  type, or a ``ValueError`` naming the field;
* ``rlactors train ALGORITHM --field VALUE`` through :func:`main` (the parse, the config's
  checks and the checkpoint schedule; training itself is stubbed out): exit status 0, or 2
  with one ``rlactors: error:`` line on stderr;
* every field of every algorithm's frozen config from Python: it constructs (and then is
  hashable and reads back from its JSON), or raises ``ValueError`` naming the field.

The example budget is the "ci" profile of tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import typing
from typing import Any, Literal
from unittest import mock

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rlactors.algorithms import (
    algorithm_names,
    coerce_value,
    config_fields,
    config_from_dict,
    config_to_dict,
    get_algorithm,
)
from rlactors.cli import commands, runs
from rlactors.cli.args import TrainArgs, flag
from rlactors.cli.main import EXIT_USAGE, main
from rlactors.envs.spec import EnvSpec, Kwargs, WrapperSpec, parse_env, parse_kwargs, parse_wrappers
from rlactors.errors import EnvSpecError, UserError

#: Strings a user (or a cat on the keyboard) types: numbers out of range, non-finite, huge,
#: malformed JSON, nesting deeper than the JSON parser's recursion limit, unicode digits.
NASTY = st.sampled_from(
    [
        "nan", "inf", "-inf", "1e400", "-1e400", "1e5", "100_000", "0", "-1", "-0", "1.5",
        "none", "null", "true", "off", "", " ", "9" * 400, "9" * 5000, "0x10", "²", "٣",
        "256,256", ",,", "8, 8", "[1", "{", "[" * 100_000, '{"a": NaN}', '{"a": 1e400}',
        '["TimeLimit"]', '[{"TimeLimit": {"max_episode_steps": 5}}]', "{}", "[]", '"x"',
        "CartPole-v1", "a:b", ":", "\n", "x\ny", "30s", "1e400s", "0s", "00", "5min",
    ]
)  # fmt: skip
TEXT = st.one_of(NASTY, st.text(max_size=12), st.integers().map(str), st.floats().map(repr))


def json_values() -> st.SearchStrategy[Any]:
    """What ``json.loads`` can hand :func:`coerce_value` from an edited ``config.json``."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**308),  # a JSON integer no float holds
        st.floats(),
        st.text(max_size=6),
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=6,
    )


ANNOTATIONS: list[Any] = [
    int,
    float,
    bool,
    str,
    int | None,
    float | None,
    tuple[int, ...],
    Literal["auto", "flat"],
]


def fits(annotation: Any, value: Any) -> bool:
    """Whether ``value`` is of the type ``annotation`` names (bool is no int or float)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return value in typing.get_args(annotation)
    if origin is tuple:
        return isinstance(value, tuple) and all(fits(int, v) for v in value)
    if type(None) in typing.get_args(annotation):
        inner = next(a for a in typing.get_args(annotation) if a is not type(None))
        return value is None or fits(inner, value)
    if annotation in (int, float):
        return isinstance(value, annotation) and not isinstance(value, bool)
    return isinstance(value, annotation)


@given(st.sampled_from(ANNOTATIONS), st.one_of(TEXT, json_values()))
@example(int, "1e400")  # int(inf): an OverflowError out of coerce_value
@example(int, 10**400)  # float(10**400): ditto, from a config.json
@example(float, 10**400)
@example(int, float("inf"))
@example(tuple[int, ...], "8,1e400")
def test_a_value_is_its_fields_type_or_a_value_error_naming_the_field(
    annotation: Any, value: Any
) -> None:
    try:
        result = coerce_value(annotation, value, "the_field")
    except ValueError as exc:
        assert "the_field" in str(exc) and "\n" not in str(exc), str(exc)
        return
    assert fits(annotation, result), (annotation, value, result)


def test_huge_integers_read_exactly() -> None:
    """The other side of the overflow fix: an integer past 1e308 is still an integer."""
    assert coerce_value(int, 10**400, "seed") == 10**400
    assert coerce_value(int, "1e5", "seed") == 100_000
    assert coerce_value(int, 3.0, "seed") == 3
    with pytest.raises(ValueError, match="seed must be an integer"):
        coerce_value(int, 3.5, "seed")


#: Every flag of every algorithm's ``train`` (its config fields and the run options).
FLAGS = sorted(
    {
        (name, flag(field.name))
        for name in algorithm_names()
        for field in config_fields(get_algorithm(name).config_class())
    }
) + [(name, opt) for name in ("dqn", "ppo") for opt in ("--checkpoint-every", "--keep-checkpoints")]


def _configure_only(args: TrainArgs) -> int:
    """What ``commands.train`` does before it builds the algorithm: config and schedule."""
    entry = get_algorithm(args.algorithm)
    runs.fresh_config(entry, args)
    runs.schedule_of(args, entry)
    return 0


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` with training stubbed out; its status and stderr."""
    err = io.StringIO()
    with mock.patch.object(commands, "train", _configure_only), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, err.getvalue()


@given(st.sampled_from(FLAGS), TEXT, st.booleans())
@example(("dqn", "--max-env-steps"), "1e400", True)
@example(("dqn", "--gamma"), "nan", True)
@example(("ppo", "--keep-checkpoints"), "1e400", True)  # OverflowError through argparse
@example(("dqn", "--checkpoint-every"), "9" * 400 + "s", True)  # inf seconds, after the parse
@example(("dqn", "--checkpoint-every"), "00", True)  # 0 iterations, after the parse
@example(("dqn", "--env-kwargs"), "[" * 100_000, True)  # RecursionError out of json.loads
@example(("dqn", "--env-wrappers"), "[" * 100_000, True)
@example(("ppo", "--hidden-sizes"), "8,-1", False)
def test_any_flag_value_parses_or_exits_2_with_one_line(
    algorithm_flag: tuple[str, str], value: str, joined: bool
) -> None:
    algorithm, option = algorithm_flag
    given_as = [f"{option}={value}"] if joined else [option, value]
    status, err = run_cli(["train", algorithm, "-q", *given_as])
    if status == 0:
        assert err == ""
        return
    assert status == EXIT_USAGE
    assert err.startswith("rlactors: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_the_cli_stub_does_refuse_and_accept() -> None:
    """The property above holds trivially if nothing is ever refused, or nothing accepted."""
    assert run_cli(["train", "dqn", "--gamma", "0.9"]) == (0, "")
    status, err = run_cli(["train", "dqn", "--gamma", "2"])
    assert status == EXIT_USAGE and "DQNConfig.gamma must lie in [0, 1], got 2.0" in err


#: Python values a script might pass to a config (numpy scalars from a sweep included).
PY_VALUES = st.one_of(
    json_values(),
    st.floats().map(np.float32),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.lists(st.integers(-2, 300), max_size=3).map(tuple),
    st.sampled_from(["inline", "process", "ray", "auto", "cnn", "tanh", "linear", "false"]),
)
FIELDS = [
    (name, field.name)
    for name in algorithm_names()
    for field in config_fields(get_algorithm(name).config_class())
]


@given(st.sampled_from(FIELDS), PY_VALUES)
@example(("dqn", "hidden_sizes"), 8)  # TypeError: 'int' object is not iterable
@example(("dqn", "hidden_sizes"), [8])  # a list: an unhashable frozen config
@example(("dqn", "gamma"), "0.9")  # TypeError out of math.isfinite
@example(("ppo", "gae_lambda"), "0.9")
@example(("dqn", "stop_reward"), "475")
@example(("dqn", "learning_rate"), 10**400)  # OverflowError out of math.isfinite
@example(("dqn", "seed"), 10**5000)  # its repr is refused past 4300 digits
@example(("dqn", "dueling"), "false")  # truthy: silently True
@example(("dqn", "encoder"), "cnnn")  # not a choice, and nothing checked it
@example(("dqn", "env_wrappers"), "FlattenObservation")  # one wrapper per letter
@example(("dqn", "env_kwargs"), "not json")
@example(("dqn", "env"), {"kwargs": {}})  # a KeyError out of EnvSpec.of
@example(("ppo", "rollout_steps"), 10**6)  # one iteration past the budget
@example(("impala", "rho_bar"), np.float32(1.0))  # config.json could not be written
@example(("impala", "rho_bar"), float("inf"))
def test_any_config_value_constructs_or_is_a_value_error_naming_the_field(
    field: tuple[str, str], value: Any
) -> None:
    algorithm, name = field
    cls = get_algorithm(algorithm).config_class()
    try:
        config = cls(**{name: value})
    except (ValueError, UserError) as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 1000, message
        if name in ("env", "env_kwargs", "env_wrappers"):  # the env spec's own errors
            assert isinstance(exc, EnvSpecError), message
        else:
            assert name in message, message
        return
    hash(config)  # frozen configs are hashable (they cross into actors as spec keys)
    written = json.dumps(config_to_dict(config))  # what config.json holds
    again = config_from_dict(cls, json.loads(written))
    assert json.dumps(config_to_dict(again)) == written


@given(st.one_of(TEXT, json_values()))
@example({"env": "CartPole-v1", "kwargs": [1, 2]})
@example({"wrappers": []})
@example("9" * 5000)  # json.loads: a ValueError that is no JSONDecodeError
def test_env_values_from_a_config_json_are_specs_or_env_spec_errors(value: Any) -> None:
    try:
        kwargs = parse_kwargs(value)
    except EnvSpecError as exc:
        assert "\n" not in str(exc), str(exc)
    else:
        assert isinstance(kwargs, Kwargs) and all(isinstance(k, str) for k in kwargs)
    try:
        wrappers = parse_wrappers(value)
    except EnvSpecError as exc:
        assert "\n" not in str(exc), str(exc)
    else:
        assert all(isinstance(w, WrapperSpec) for w in wrappers)
    if isinstance(value, dict):
        try:
            spec = parse_env(value)
        except EnvSpecError as exc:
            assert "\n" not in str(exc), str(exc)
        else:
            assert isinstance(spec, EnvSpec)


def test_a_string_of_wrappers_is_their_names_not_one_wrapper_per_letter() -> None:
    """From Python and from an edited config.json, as on the command line."""
    names = ["FlattenObservation", "ClipReward"]
    spec = EnvSpec.of({"env": "CartPole-v1", "wrappers": "FlattenObservation,ClipReward"})
    assert [w.name for w in spec.wrappers] == names
    config = get_algorithm("dqn").config_class()(env_wrappers="FlattenObservation,ClipReward")
    assert [w.name for w in config.env_wrappers] == names
