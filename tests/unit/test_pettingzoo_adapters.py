"""PettingZoo <-> rlactors: ids through EnvSpec, both adapters, both conversions back (checked by
PettingZoo's own api tests), and one-line errors for bad envs, bad callers and missing packages."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.test import api_test, parallel_api_test

from rlactors.core import Env, Observation
from rlactors.envs import (
    CheckedEnv,
    EnvCheckError,
    EnvSpec,
    NimEnv,
    PettingZooAECEnv,
    PettingZooParallelEnv,
    ResetNeededError,
    RockPaperScissorsEnv,
    UnknownEnvError,
    from_pettingzoo,
    to_aec,
    to_parallel,
)
from rlactors.errors import EnvSpecError

# api_test warns about every stylistic choice of the envs it is given; it fails by asserting.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CYCLES = 8  # api_test plays num_agents * CYCLES steps: a few games of each


def _random_action(env: Env, role: str, rng: np.random.Generator) -> Any:
    state = env.observe(role).state
    space = env.action_space(role)
    space.seed(int(rng.integers(2**31)))
    if isinstance(state, Mapping) and "action_mask" in state:
        return space.sample(mask=state["action_mask"])
    return space.sample()


# -- ids through EnvSpec ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_id", "kwargs", "adapter", "roles"),
    [
        ("pettingzoo:classic/connect_four_v3", {}, PettingZooAECEnv, ("player_0", "player_1")),
        ("pettingzoo:classic/tictactoe_v3", {}, PettingZooAECEnv, ("player_1", "player_2")),
        ("pettingzoo:classic/rps_v2", {}, PettingZooParallelEnv, ("player_0", "player_1")),
        ("pettingzoo:classic/rps_v2", {"api": "aec"}, PettingZooAECEnv, ("player_0", "player_1")),
        ("mpe2:simple_spread_v3", {"N": 2}, PettingZooParallelEnv, ("agent_0", "agent_1")),
        ("pettingzoo.classic.tictactoe_v3:env", {}, PettingZooAECEnv, ("player_1", "player_2")),
    ],
)
def test_ids_build_the_adapter_after_pickling(
    env_id: str, kwargs: dict[str, Any], adapter: type[Env], roles: tuple[str, ...]
) -> None:
    spec = EnvSpec(env_id, kwargs=kwargs).resolve()
    for back in (pickle.loads(pickle.dumps(spec)), cloudpickle.loads(cloudpickle.dumps(spec))):
        env = back.make()
        assert isinstance(env, CheckedEnv) and isinstance(env.env, adapter)
        assert env.roles == roles


def test_kwargs_reach_the_factory_and_bad_ones_say_so() -> None:
    spec = EnvSpec("mpe2:simple_spread_v3", kwargs={"N": 4, "max_cycles": 2}).resolve()
    # A run's config.json keeps the id as the user wrote it.
    assert spec.to_json()["env"] == "mpe2:simple_spread_v3" and spec.name == "simple_spread_v3"
    env = spec.make()
    assert len(env.roles) == 4
    env.reset(seed=0)
    for _ in range(2):
        env.interact({role: 0 for role in env.acting_roles()})
    assert all(env.observe(role).truncated for role in env.roles) and not env.acting_roles()
    with pytest.raises(EnvSpecError, match=r"simple_spread_v3.*unexpected keyword.*'colour'"):
        EnvSpec("mpe2:simple_spread_v3", kwargs={"colour": 1}).make()
    with pytest.raises(EnvSpecError, match=r"api='both'.*'aec'.*'parallel'"):
        EnvSpec("pettingzoo:classic/rps_v2", kwargs={"api": "both"}).resolve()
    with pytest.raises(EnvSpecError, match=r"has no parallel_env\(\)"):
        EnvSpec("pettingzoo:classic/tictactoe_v3", kwargs={"api": "parallel"}).resolve()


def test_a_resolved_spec_builds_in_a_fresh_interpreter() -> None:
    spec = EnvSpec("pettingzoo:classic/connect_four_v3").resolve()
    script = (
        "import pickle, sys; env = pickle.loads(sys.stdin.buffer.read()).make(); "
        "env.reset(seed=0); print(env.acting_roles(), env.observe('player_0').state['action_mask'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=pickle.dumps(spec), capture_output=True, timeout=60
    )
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().split() == ["('player_0',)", "[1", "1", "1", "1", "1", "1", "1]"]


@pytest.mark.parametrize(
    ("env_id", "suggestion"),
    [
        ("pettingzoo:classic/connect_four_v9", "'pettingzoo:classic/connect_four_v3'"),
        ("pettingzoo:connect_four_v3", "'pettingzoo:classic/connect_four_v3'"),
        ("mpe2:simple_sprad_v3", "'mpe2:simple_spread_v3'"),
        ("pettingzoo:classic", "did you mean 'pettingzoo:classic/"),  # a family, not an env
    ],
)
def test_an_unknown_env_is_one_line_with_close_matches(env_id: str, suggestion: str) -> None:
    with pytest.raises(UnknownEnvError) as info:
        EnvSpec(env_id).resolve()
    message = str(info.value)
    assert "\n" not in message and f"unknown PettingZoo env id {env_id!r}" in message
    assert suggestion in message
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == message and back.kind == "PettingZoo"


@pytest.mark.parametrize(
    ("missing", "env_id"),
    [
        ("pettingzoo", "pettingzoo:classic/connect_four_v3"),
        ("mpe2", "mpe2:simple_spread_v3"),
        ("pygame", "pettingzoo:classic/tictactoe_v3"),
    ],
)
def test_a_missing_package_names_the_extra(
    missing: str, env_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` fail
    for name in [m for m in sys.modules if m.startswith("pettingzoo.classic.tictactoe")]:
        monkeypatch.delitem(sys.modules, name)  # so that it imports pygame again
    with pytest.raises(EnvSpecError) as info:
        EnvSpec(env_id).resolve()
    message = str(info.value)
    assert "\n" not in message and f"no module named {missing!r}" in message
    assert message.endswith("pip install 'rlactors[multiagent]'")


# -- the AEC adapter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("classic/tictactoe_v3", {}),
        ("classic/connect_four_v3", {}),
        ("classic/rps_v2", {"api": "aec", "max_cycles": 6}),  # a reward every round
    ],
)
def test_aec_rewards_are_what_last_reports_and_done_agents_are_stepped(
    env_id: str, kwargs: dict[str, Any]
) -> None:
    env = EnvSpec(f"pettingzoo:{env_id}", kwargs=kwargs).make(check=False)
    assert isinstance(env, PettingZooAECEnv)
    rng = np.random.default_rng(0)
    for seed in range(3):
        env.reset(seed=seed)
        while env.acting_roles():
            (role,) = env.acting_roles()
            assert role == env.pz_env.agent_selection
            # last() is the selected agent's reward since it last acted: ours, unprivately summed.
            assert env.observe(role).reward == env.pz_env.last()[1]
            env.interact({role: _random_action(env, role, rng)})
        # The adapter stepped every done agent with None: the game is over for PettingZoo too.
        assert env.pz_env.agents == []
        final = [env.observe(role) for role in env.roles]
        assert all(obs.done for obs in final)
        if "rps" not in env_id:  # a board game: won or drawn
            assert sorted(obs.reward for obs in final) in ([-1.0, 1.0], [0.0, 0.0])


def test_a_waiting_role_sees_its_opponents_winning_move() -> None:
    env = EnvSpec("pettingzoo:classic/tictactoe_v3").make()
    env.reset(seed=0)
    # player_1 fills the left column (cells 0, 1, 2) while player_2 plays 3 and 4.
    for role, cell in [("player_1", 0), ("player_2", 3), ("player_1", 1), ("player_2", 4)]:
        # The waiting role's mask is all zeros in PettingZoo classic: CheckedEnv must allow it.
        other = "player_2" if role == "player_1" else "player_1"
        assert not env.observe(other).state["action_mask"].any()
        env.interact({role: cell})
    assert env.observe("player_2").reward == 0.0
    env.interact({"player_1": 2})
    assert env.acting_roles() == ()
    assert env.observe("player_1").reward == 1.0 and env.observe("player_2").reward == -1.0
    assert env.observe("player_2").terminated
    with pytest.raises(ResetNeededError):
        env.interact({"player_2": 5})


def test_aec_refuses_roles_out_of_turn_and_unknown_ones() -> None:
    env = EnvSpec("pettingzoo:classic/tictactoe_v3").make(check=False)
    env.reset(seed=0)
    env.interact({"player_1": 0})
    with pytest.raises(
        ValueError,
        match=r"^classic/tictactoe_v3, episode step 1: role 'player_1' acted out of turn",
    ):
        env.interact({"player_1": 1})
    with pytest.raises(ValueError, match=r"episode step 1: 'nobody' is not a role of this env"):
        env.interact({"nobody": 1})
    with pytest.raises(ValueError, match=r"has no role 'nobody'; its roles are"):
        env.observe("nobody")
    with pytest.raises(ValueError, match=r"has no role 'nobody'"):
        env.action_space("nobody")
    checked = EnvSpec("pettingzoo:classic/tictactoe_v3").make()
    checked.reset(seed=0)
    with pytest.raises(EnvCheckError, match=r"role 'player_2', episode step 0 .*out of turn"):
        checked.interact({"player_2": 0})
    with pytest.raises(ValueError, match=r"has no role 'nobody'"):
        checked.observe("nobody")


class _StubAEC(AECEnv):  # type: ignore[misc]
    """Two agents, one Discrete observation; ``fault`` breaks the AEC API one way."""

    metadata = {"name": "stub_aec_v0"}  # noqa: RUF012 - PettingZoo's convention

    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault
        self.possible_agents = ["a_0", "a_1"]

    def observation_space(self, agent: str) -> gym.Space[Any]:
        return gym.spaces.Discrete(2)

    def action_space(self, agent: str) -> gym.Space[Any]:
        return gym.spaces.Discrete(2)

    def observe(self, agent: str) -> Any:
        return np.int64(0)

    def reset(self, seed: int | None = None, options: Any = None) -> None:
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, self.fault == "stuck")
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = "ghost" if self.fault == "ghost" else "a_0"

    def step(self, action: Any) -> None:
        pass  # "stuck": a done agent that step(None) never removes


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "ghost",
            r"^stub_aec_v0: agent_selection names agent 'ghost', which is not one of its "
            r"possible_agents \['a_0', 'a_1'\]$",
        ),
        ("stuck", r"^stub_aec_v0: agent 'a_0' is done but still selected after its step\(None\)"),
    ],
)
def test_aec_envs_that_break_the_api_fail_in_one_line(fault: str, message: str) -> None:
    env = from_pettingzoo(_StubAEC(fault))
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0)


# -- the parallel adapter -----------------------------------------------------------------------


class _StubParallel(ParallelEnv):  # type: ignore[misc]
    """Two agents: ``quitter`` terminates after its first step, ``stayer`` plays 3 steps.
    Observations count the steps; each step rewards ``action + 1``."""

    metadata = {"name": "stub_parallel_v0"}  # noqa: RUF012 - PettingZoo's convention

    def __init__(self) -> None:
        self.possible_agents = ["quitter_0", "stayer_1"]
        self._space = gym.spaces.Box(0.0, 10.0, (1,), np.float32)

    def observation_space(self, agent: str) -> gym.Space[Any]:
        return self._space

    def action_space(self, agent: str) -> gym.Space[Any]:
        return gym.spaces.Discrete(2)

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[dict[str, Any], ...]:
        self.agents, self.t = list(self.possible_agents), 0
        return {a: np.zeros(1, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        self.t += 1
        obs = {a: np.full(1, self.t, np.float32) for a in actions}
        rewards = {a: float(action) + 1.0 for a, action in actions.items()}
        terminated = {a: a == "quitter_0" or self.t == 3 for a in actions}
        truncated = dict.fromkeys(actions, False)
        self.agents = [a for a in self.agents if not terminated[a]]
        return obs, rewards, terminated, truncated, {a: {"t": self.t} for a in actions}


def test_parallel_roles_leave_when_done_and_keep_what_they_last_saw() -> None:
    env = CheckedEnv(from_pettingzoo(_StubParallel()))
    env.reset(seed=0)
    assert env.acting_roles() == ("quitter_0", "stayer_1")
    env.interact({"quitter_0": 1, "stayer_1": 0})
    quitter = env.observe("quitter_0")
    assert (quitter.state[0], quitter.reward, quitter.terminated, quitter.info) == (
        1.0,
        2.0,
        True,
        {"t": 1},
    )
    assert env.acting_roles() == ("stayer_1",)
    env.interact({"stayer_1": 1})
    quitter = env.observe("quitter_0")
    assert (quitter.state[0], quitter.reward, quitter.terminated) == (1.0, 2.0, True)
    stayer = env.observe("stayer_1")
    assert (stayer.state[0], stayer.reward, stayer.done) == (2.0, 2.0, False)
    with pytest.raises(EnvCheckError, match=r"role 'quitter_0', episode step 2 .*is done"):
        env.interact({"quitter_0": 0, "stayer_1": 0})
    unchecked = from_pettingzoo(_StubParallel())
    unchecked.reset()
    unchecked.interact({"quitter_0": 0, "stayer_1": 0})
    with pytest.raises(
        ValueError, match=r"^stub_parallel_v0, episode step 1: role 'quitter_0' is done"
    ):
        unchecked.interact({"quitter_0": 0, "stayer_1": 0})
    env.interact({"stayer_1": 0})
    assert env.acting_roles() == () and env.observe("stayer_1").terminated


# -- back to PettingZoo ------------------------------------------------------------------------


@pytest.mark.parametrize("make", [NimEnv, RockPaperScissorsEnv], ids=["nim", "rps"])
def test_toy_envs_pass_the_aec_api_test(make: type[Env]) -> None:
    api_test(to_aec(make()), num_cycles=CYCLES)


class _ShapedNim(NimEnv):
    """Nim that also pays every move: +0.5 to the mover and +0.25 to the other (so a waiting
    role's reward since it last acted sums two moves)."""

    def interact(self, actions: Mapping[str, Any]) -> None:
        (mover,) = self.acting_roles()
        super().interact(actions)
        for role in self.roles:
            self._rewards[role] += 0.5 if role == mover else 0.25


def test_to_aec_rewards_are_per_step_and_last_sums_them() -> None:
    api_test(to_aec(_ShapedNim()), num_cycles=CYCLES)  # asserts last() == the rewards' sum
    aec = to_aec(_ShapedNim(pile=7))
    aec.reset(seed=0)
    aec.step(0)  # player_0 takes 1
    assert aec.rewards == {"player_0": 0.5, "player_1": 0.25}
    aec.step(0)  # player_1 takes 1
    assert aec.rewards == {"player_0": 0.25, "player_1": 0.5}
    assert aec.last()[1] == 0.75  # player_0's own move and player_1's


def test_rock_paper_scissors_passes_the_parallel_api_test() -> None:
    parallel_api_test(to_parallel(RockPaperScissorsEnv()), num_cycles=CYCLES)


def test_to_aec_rewards_reach_both_players() -> None:
    aec = to_aec(NimEnv(pile=1))
    aec.reset(seed=0)
    aec.step(0)  # player_0 takes the only token and wins
    assert aec.rewards == {"player_0": 1.0, "player_1": -1.0}
    assert aec.terminations == {"player_0": True, "player_1": True}
    final = dict(aec.rewards)
    for _ in range(2):  # the done agents step with None, each seeing its reward in last()
        _, reward, terminated, _, _ = aec.last()
        assert terminated and reward == final[aec.agent_selection]
        aec.step(None)
    assert aec.agents == []


def test_to_parallel_refuses_a_turn_based_env() -> None:
    with pytest.raises(ValueError, match=r"^to_parallel\(\): NimEnv is turn-based .*use to_aec"):
        to_parallel(NimEnv()).reset(seed=0)


def test_an_env_without_acting_roles_truncates_the_roles_it_left_undone() -> None:
    class Untruncated(RockPaperScissorsEnv):
        def observe(self, role: str) -> Observation:
            return dataclasses.replace(super().observe(role), truncated=False)

    par = to_parallel(Untruncated(rounds=1))
    par.reset(seed=0)
    _, _, terminations, truncations, _ = par.step({"player_0": 0, "player_1": 1})
    assert truncations == {"player_0": True, "player_1": True} and not any(terminations.values())
    assert par.agents == []


@pytest.mark.parametrize("env_id", ["classic/tictactoe_v3", "classic/connect_four_v3"])
def test_aec_round_trip_passes_the_api_test(env_id: str) -> None:
    api_test(to_aec(EnvSpec(f"pettingzoo:{env_id}").make()), num_cycles=CYCLES)


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("pettingzoo:classic/rps_v2", {"num_actions": 5}),
        ("mpe2:simple_spread_v3", {"max_cycles": 5}),
    ],
)
def test_parallel_round_trip_passes_the_parallel_api_test(
    env_id: str, kwargs: dict[str, Any]
) -> None:
    parallel_api_test(to_parallel(EnvSpec(env_id, kwargs=kwargs).make()), num_cycles=CYCLES)


def test_a_round_trip_through_the_parallel_stub_keeps_partial_terminations() -> None:
    parallel_api_test(to_parallel(from_pettingzoo(_StubParallel())), num_cycles=CYCLES)
