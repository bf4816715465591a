"""EnvSpec: every way to name an env builds it, resolves in the caller, and fails in one line."""

from __future__ import annotations

import pickle
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest

from rlactors.core import DEFAULT_ROLE, Env
from rlactors.envs import CheckedEnv, CorridorEnv, EnvSpec, Kwargs, UnknownEnvError, WrapperSpec
from rlactors.envs.spec import parse_kwargs, parse_wrappers
from rlactors.errors import EnvSpecError, UserError


@pytest.fixture
def mypkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package ``mypkg_<n>`` on sys.path with a factory and a module that registers an id."""
    name = f"mypkg_{abs(hash(tmp_path)) % 10**8}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "envs.py").write_text(
        textwrap.dedent(
            """
            import gymnasium as gym
            from rlactors.envs.toy import CorridorEnv

            def make_corridor(length=6):
                return CorridorEnv(length=length)

            def make_cartpole():
                return gym.make("CartPole-v1")

            def make_number():
                return 3

            gym.register(
                __name__.split(".")[0] + "Cliff-v0",
                entry_point="gymnasium.envs.toy_text:CliffWalkingEnv",
            )
            """
        )
    )
    (package / "broken.py").write_text("raise RuntimeError('no config file found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    gym.registry.pop(f"{name}Cliff-v0", None)


def _first_obs(env: Env) -> Any:
    env.reset(seed=0)
    return env.observe(DEFAULT_ROLE).state


def test_a_gymnasium_id_builds_a_checked_env() -> None:
    env = EnvSpec("CartPole-v1").make()
    assert isinstance(env, CheckedEnv) and _first_obs(env).shape == (4,)
    assert not isinstance(EnvSpec("CartPole-v1").make(check=False), CheckedEnv)


def test_gymnasium_kwargs_reach_gym_make() -> None:
    env = EnvSpec("CartPole-v1", kwargs={"max_episode_steps": 2}).make()
    env.reset(seed=0)
    env.interact({DEFAULT_ROLE: 0})
    env.interact({DEFAULT_ROLE: 0})
    assert env.observe(DEFAULT_ROLE).truncated


def test_a_factory_path_with_kwargs(mypkg: str) -> None:
    spec = EnvSpec(f"{mypkg}.envs:make_corridor", kwargs={"length": 4}).resolve()
    assert spec.name == "make_corridor"
    assert _first_obs(spec.make()).shape == (4,)
    # A factory returning a gymnasium.Env is adapted.
    assert _first_obs(EnvSpec(f"{mypkg}.envs:make_cartpole").make()).shape == (4,)


def test_module_colon_env_id_imports_the_module_first(mypkg: str) -> None:
    spec = EnvSpec(f"{mypkg}.envs:{mypkg}Cliff-v0").resolve()
    assert spec.name == f"{mypkg}Cliff-v0" and spec.registration is not None
    assert spec.make().observation_space(DEFAULT_ROLE) == gym.spaces.Discrete(48)


def test_classes_and_functions_from_python() -> None:
    assert EnvSpec(CorridorEnv, kwargs={"length": 3}).make().observation_space(
        DEFAULT_ROLE
    ) == gym.spaces.Box(0.0, 1.0, (3,), np.float32)
    assert EnvSpec(CorridorEnv).name == "CorridorEnv"

    def make() -> gym.Env[Any, Any]:
        return gym.make("CartPole-v1")

    assert EnvSpec(make).name == "make" and _first_obs(EnvSpec(make).make()).shape == (4,)


def test_wrappers_by_name_with_kwargs_and_by_callable() -> None:
    spec = EnvSpec(
        "CartPole-v1",
        wrappers=(
            {"TimeLimit": {"max_episode_steps": 1}},
            lambda env: gym.wrappers.TransformReward(env, lambda r: 2 * r),
        ),
    )
    env = spec.make()
    env.reset(seed=0)
    env.interact({DEFAULT_ROLE: 0})
    obs = env.observe(DEFAULT_ROLE)
    assert obs.truncated and obs.reward == 2.0


def test_wrappers_apply_to_an_rlactors_env_too() -> None:
    env = EnvSpec(CorridorEnv, wrappers=("FlattenObservation",)).make()
    assert _first_obs(env).shape == (6,)


def test_specs_are_frozen_hashable_and_cross_processes_by_value() -> None:
    spec = EnvSpec("CartPole-v1", kwargs={"a": [1, 2]}, wrappers=("FlattenObservation",))
    assert spec == EnvSpec("CartPole-v1", {"a": [1, 2]}, (WrapperSpec("FlattenObservation"),))
    assert hash(spec) == hash(EnvSpec("CartPole-v1", {"a": [1, 2]}, ("FlattenObservation",)))
    resolved = spec.resolve()
    assert pickle.loads(cloudpickle.dumps(resolved)) == resolved
    assert isinstance(spec.kwargs, Kwargs) and dict(spec.kwargs) == {"a": [1, 2]}


def test_of_merges_kwargs_and_wrappers_into_a_given_spec() -> None:
    base = EnvSpec("CartPole-v1", kwargs={"a": 1, "b": 2}, wrappers=("TimeLimit",))
    merged = EnvSpec.of(base, {"b": 3}, ["FlattenObservation"])
    assert dict(merged.kwargs) == {"a": 1, "b": 3}
    assert [w.name for w in merged.wrappers] == ["TimeLimit", "FlattenObservation"]
    assert EnvSpec.of(merged.to_json()) == merged


def test_an_id_registered_with_a_main_entry_point_ships_the_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What `gym.register("GoRight2-v0", entry_point="__main__:GoRight")` in a script does: an
    # actor process's __main__ is not the script, so the class itself must travel.
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "GoRight", CorridorEnv, raising=False)
    gym.register("TestMainEntry-v0", entry_point="__main__:GoRight")
    try:
        spec = EnvSpec("TestMainEntry-v0").resolve()
        assert spec.registration.entry_point is CorridorEnv
        copy = pickle.loads(cloudpickle.dumps(spec))
        assert copy.registration.entry_point is CorridorEnv
    finally:
        del gym.registry["TestMainEntry-v0"]


def test_unknown_ids_are_env_spec_errors_with_close_matches() -> None:
    with pytest.raises(UnknownEnvError, match="did you mean 'CartPole-v1'") as info:
        EnvSpec("CartPol-v1").resolve()
    assert isinstance(info.value, EnvSpecError) and isinstance(info.value, UserError)
    assert isinstance(info.value, ValueError)  # what callers caught before


def test_unknown_ids_without_a_match_say_why_a_script_registration_does_not_reach_actors() -> None:
    # Far from every id, ale-py's too: once an ALE/ id was asked for in this process, ale-py's
    # unnamespaced ids (Gopher-v0, ...) are registered and close to many a short name.
    with pytest.raises(UnknownEnvError, match="exists only in that script's process"):
        EnvSpec("MyScriptOnlyEnv-v0").resolve()


def test_factories_that_cannot_be_imported_say_what_failed(mypkg: str) -> None:
    with pytest.raises(EnvSpecError, match="no module named 'nopkg'; is it installed, or its"):
        EnvSpec("nopkg.envs:make").resolve()
    with pytest.raises(EnvSpecError, match=rf"importing {mypkg}.broken failed: RuntimeError: no"):
        EnvSpec(f"{mypkg}.broken:make").resolve()
    with pytest.raises(EnvSpecError, match=r"has no 'make_coridor'.*did you mean make_corridor"):
        EnvSpec(f"{mypkg}.envs:make_coridor").resolve()
    with pytest.raises(EnvSpecError, match="returned a int; an env factory must return"):
        EnvSpec(f"{mypkg}.envs:make_number").make()


def test_kwargs_that_do_not_fit_the_factory_are_named() -> None:
    with pytest.raises(EnvSpecError, match=r"unexpected keyword argument 'lenght'.*length"):
        EnvSpec(CorridorEnv, kwargs={"lenght": 3}).make()


def test_bad_wrappers_and_bad_specs() -> None:
    with pytest.raises(EnvSpecError, match="did you mean FlattenObservation"):
        EnvSpec("CartPole-v1", wrappers=("FlattenObservatio",)).resolve()
    with pytest.raises(EnvSpecError, match="env must be a Gymnasium id"):
        EnvSpec("")
    with pytest.raises(EnvSpecError, match="one"):
        WrapperSpec.of({"TimeLimit": {}, "FlattenObservation": {}})


def test_cli_parsers() -> None:
    assert dict(parse_kwargs('{"size": 8}')) == {"size": 8}
    with pytest.raises(EnvSpecError, match="must be a JSON object"):
        parse_kwargs('{"size": 8')
    with pytest.raises(EnvSpecError, match="must be a JSON object"):
        parse_kwargs("[1]")
    assert parse_wrappers("FlattenObservation, TimeLimit") == (
        WrapperSpec("FlattenObservation"),
        WrapperSpec("TimeLimit"),
    )
    assert parse_wrappers('[{"TimeLimit": {"max_episode_steps": 5}}]') == (
        WrapperSpec("TimeLimit", {"max_episode_steps": 5}),
    )
