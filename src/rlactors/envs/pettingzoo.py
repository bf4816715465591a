"""PettingZoo environments as rlactors envs (needs ``pip install 'rlactors[multiagent]'``).

* An AEC env (``AECEnv``) becomes a turn-based env, :class:`PettingZooAECEnv`:
  :meth:`~PettingZooAECEnv.acting_roles` is ``(agent_selection,)`` while the game runs and
  ``()`` once every agent is done. PettingZoo wants ``step(None)`` for a done agent when it is
  selected; the adapter does that itself, keeping the agent's last observation.
* A parallel env (``ParallelEnv``) becomes a simultaneous env, :class:`PettingZooParallelEnv`:
  every live agent acts at each step.

Roles are ``possible_agents`` (as strings), each with its own spaces. Rewards follow
PettingZoo's AEC convention, the one :mod:`rlactors.envs.toy` documents: ``observe(role).reward``
is what ``role`` collected since it last acted (the reward of the last step, for parallel envs).
The AEC adapter sums the per-step ``env.rewards`` itself rather than reading the private
``_cumulative_rewards`` behind ``last()``: that sum is what ``last()`` returns for the selected
agent (``pettingzoo.test.api_test`` asserts it), and it is defined for every agent at any time.

Env ids (see :class:`~rlactors.envs.spec.EnvSpec`)::

    EnvSpec("pettingzoo:classic/connect_four_v3")      # pettingzoo.classic.connect_four_v3.env()
    EnvSpec("mpe2:simple_spread_v3", kwargs={"N": 2})  # mpe2.simple_spread_v3.parallel_env(N=2)
    EnvSpec("pettingzoo:classic/rps_v2", kwargs={"api": "aec"})   # env() instead

A module's ``parallel_env`` is used when it has one, else its ``env``; the ``api`` kwarg
(``"aec"`` or ``"parallel"``) overrides the choice and is not passed to the factory. A
``"module:factory"`` that returns an ``AECEnv`` or ``ParallelEnv`` is adapted too.

PettingZoo itself is imported only when a PettingZoo env is made or adapted.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import pkgutil
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlactors.core import Env, Observation
from rlactors.envs.errors import (
    ResetNeededError,
    UnknownEnvError,
    check_action_roles,
    unknown_role_error,
)
from rlactors.envs.lookup import call_factory, import_for
from rlactors.errors import EnvSpecError

if TYPE_CHECKING:
    from pettingzoo import AECEnv, ParallelEnv

#: The kwarg that picks a module's ``env`` (``"aec"``) or ``parallel_env`` (``"parallel"``).
API_KWARG = "api"

_FACTORIES = {"aec": "env", "parallel": "parallel_env"}

# PettingZoo 1.27 warns on importing an env module (its registry is the new way); the id names
# the module, so the warning says nothing the user can act on.
_OLD_API_WARNING = "The old environment creation API has been deprecated"


@dataclass(frozen=True)
class PettingZooEntry:
    """A PettingZoo env id looked up (the ``registration`` of its resolved ``EnvSpec``): plain
    strings, so it pickles into any process, which imports the module again to build."""

    env_id: str
    """The id as given, e.g. ``"pettingzoo:classic/connect_four_v3"``."""

    module: str
    """The env's module, e.g. ``"pettingzoo.classic.connect_four_v3"``."""

    @property
    def name(self) -> str:
        """The id without its package, e.g. ``"classic/connect_four_v3"``."""
        return self.env_id.partition(":")[2]

    def make(self, kwargs: Mapping[str, Any]) -> Env:
        """Call the module's factory with ``kwargs`` (less ``api``) and adapt what it returns.

        Raises:
            EnvSpecError: The module cannot be imported, has no factory for ``api``, or the
                kwargs do not fit the factory.
        """
        factory_kwargs = {k: v for k, v in kwargs.items() if k != API_KWARG}
        module = _import_env_module(self.module, f"env {self.env_id!r}")
        factory = getattr(module, _factory_name(module, self.env_id, kwargs.get(API_KWARG)))
        what = f"env {self.env_id!r}"
        try:
            built = call_factory(factory, what, factory_kwargs)
        except TypeError as exc:
            # parallel_env(**kwargs) wrappers pass kwargs on unchecked, as gymnasium.make does;
            # other TypeErrors are the env's own and keep their traceback.
            found = re.search(r"unexpected keyword argument '[^']*'", str(exc))
            if found is None:
                raise
            raise EnvSpecError(f"{what}: got an {found.group(0)} (check env_kwargs)") from None
        return from_pettingzoo(built, name=self.name)


def find_pettingzoo_env(env_id: str, kwargs: Mapping[str, Any]) -> PettingZooEntry:
    """The :class:`PettingZooEntry` of ``"pettingzoo:family/name_vN"`` or ``"mpe2:name_vN"``,
    with the module imported here, so that what fails fails in the caller's process.

    Raises:
        EnvSpecError: The package (or a dependency of the env, such as pygame) is missing:
            the message names the extra to install; ``api`` is not ``"aec"`` or ``"parallel"``,
            or the module has no factory for it.
        UnknownEnvError: No such env module; the message lists close matches.
    """
    package, _, path = env_id.strip().partition(":")
    what = f"env {env_id!r}"
    import_for(package, what)  # a missing package is an install hint, not an unknown env
    module_name = ".".join([package, *path.strip("/").split("/")])
    try:
        found = importlib.util.find_spec(module_name) is not None
    except (ModuleNotFoundError, ValueError):  # a parent package that does not exist
        found = False
    module = _import_env_module(module_name, what) if found and path.strip("/") else None
    if module is None or not any(callable(getattr(module, f, None)) for f in _FACTORIES.values()):
        # No such module, or one that is no env's (a family such as pettingzoo.classic).
        raise UnknownEnvError(env_id.strip(), _close_ids(package, path), kind="PettingZoo")
    _factory_name(module, env_id, kwargs.get(API_KWARG))
    return PettingZooEntry(env_id.strip(), module_name)


def from_pettingzoo(env: AECEnv[Any, Any, Any] | ParallelEnv[Any, Any, Any], **kw: Any) -> Env:
    """A PettingZoo env as an :class:`Env`: :class:`PettingZooAECEnv` for an ``AECEnv``,
    :class:`PettingZooParallelEnv` for a ``ParallelEnv``.

    Args:
        env: The PettingZoo env; the adapter owns it from now on (``close()`` closes it).
        **kw: ``name``, as the adapters take it.

    Raises:
        TypeError: ``env`` is neither.
    """
    adapted = adapt_pettingzoo(env, **kw)
    if adapted is None:
        raise TypeError(f"from_pettingzoo() needs an AECEnv or a ParallelEnv, got {env!r}")
    return adapted


def adapt_pettingzoo(obj: Any, *, name: str | None = None) -> Env | None:
    """``obj`` adapted if it is a PettingZoo env, else None (PettingZoo is not imported: an
    object can only be a PettingZoo env if PettingZoo was imported to make it)."""
    if "pettingzoo" not in sys.modules:
        return None
    from pettingzoo import AECEnv, ParallelEnv

    if isinstance(obj, AECEnv):
        return PettingZooAECEnv(obj, name=name)
    if isinstance(obj, ParallelEnv):
        return PettingZooParallelEnv(obj, name=name)
    return None


class _PettingZooEnv(Env):
    """What both adapters share: roles from ``possible_agents``, cached spaces, role checks."""

    def __init__(self, env: Any, name: str | None) -> None:
        self.pz_env = env
        self.name: str = name or str(env)  # PettingZoo's str() is metadata["name"]
        self._agents: dict[str, Any] = {str(agent): agent for agent in env.possible_agents}
        if len(self._agents) != len(env.possible_agents):
            raise ValueError(f"{self.name}: possible_agents {env.possible_agents} repeat a name")
        self._role_of_agent = {agent: role for role, agent in self._agents.items()}
        self._roles = tuple(self._agents)
        self._obs_spaces: dict[str, gym.Space[Any]] = {
            r: env.observation_space(a) for r, a in self._agents.items()
        }
        self._act_spaces: dict[str, gym.Space[Any]] = {
            r: env.action_space(a) for r, a in self._agents.items()
        }
        self._started = False
        self._episode_step = 0

    @property
    def roles(self) -> tuple[str, ...]:
        """``possible_agents``, as strings."""
        return self._roles

    def observation_space(self, role: str) -> gym.Space[Any]:
        """The observation space of ``role``'s agent."""
        self._check_role(role)
        return self._obs_spaces[role]

    def action_space(self, role: str) -> gym.Space[Any]:
        """The action space of ``role``'s agent."""
        self._check_role(role)
        return self._act_spaces[role]

    def close(self) -> None:
        """Close the PettingZoo env."""
        self.pz_env.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"

    def _check_role(self, role: str) -> None:
        if role not in self._agents:
            raise unknown_role_error(self.name, role, self._roles)

    def _role(self, agent: Any, where: str) -> str:
        """The role of ``agent``, which the env named in ``where``."""
        role = self._role_of_agent.get(agent)
        if role is None:
            raise ValueError(
                f"{self.name}: {where} names agent {agent!r}, which is not one of its "
                f"possible_agents {list(self._agents.values())}"
            )
        return role

    def _begin_interact(self, actions: Mapping[str, Any], done: set[str]) -> tuple[str, ...]:
        if not self._started:
            raise ResetNeededError(f"{self.name}: call reset() before interact()")
        acting = self.acting_roles()
        if not acting:
            raise ResetNeededError(f"{self.name}: the episode ended; call reset() first")
        check_action_roles(
            self.name,
            actions,
            acting,
            roles=self._roles,
            done_roles=done,
            episode_step=self._episode_step,
        )
        return acting


class PettingZooAECEnv(_PettingZooEnv):
    """A PettingZoo ``AECEnv`` as a turn-based :class:`Env` (see the module docstring).

    Args:
        env: The AEC env; this object owns it (``close()`` closes it).
        name: How errors name the env; defaults to PettingZoo's ``metadata["name"]``.

    Raises:
        ValueError: (from any method) The env selected an agent outside ``possible_agents``,
            or a done agent stayed selected after its ``step(None)``.
    """

    def __init__(self, env: AECEnv[Any, Any, Any], *, name: str | None = None) -> None:
        super().__init__(env, name)
        self._rewards = dict.fromkeys(self._roles, 0.0)
        # Agents leave env.agents on their step(None): their last (state, terminated,
        # truncated, info), for observe() to go on answering after they left.
        self._left: dict[str, tuple[Any, bool, bool, dict[str, Any]]] = {}

    def reset(self, seed: int | None = None) -> None:
        """Reset the env (``seed`` seeds it); every role's reward starts at 0.0."""
        self.pz_env.reset(seed=seed)
        self._started, self._episode_step = True, 0
        self._rewards = dict.fromkeys(self._roles, 0.0)
        self._left = {}
        self._step_done_agents()

    def acting_roles(self) -> tuple[str, ...]:
        """The selected agent's role while any agent is live; ``()`` before reset and after."""
        if not self._started or not self.pz_env.agents:
            return ()
        return (self._role(self.pz_env.agent_selection, "agent_selection"),)

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step the selected agent with its action, then step every done agent with None.

        Raises:
            ResetNeededError: Before reset, or after the episode ended.
            ValueError: ``actions`` is not exactly ``{acting role: action}``; the message
                names the env, the role and the episode step.
        """
        (role,) = self._begin_interact(actions, set(self._left) | self._done_roles())
        # A role's reward accumulates from its own move until its next one (last()'s meaning).
        self._rewards[role] = 0.0
        self.pz_env.step(actions[role])
        self._episode_step += 1
        self._collect_rewards()
        self._step_done_agents()

    def observe(self, role: str) -> Observation:
        """``role``'s observation (a Dict observation stays a dict), its reward since it last
        acted, and whether it is done; after it left the game, what it last saw."""
        self._check_role(role)
        if not self._started:
            raise ResetNeededError(f"{self.name}: call reset() before observe()")
        if role in self._left:
            state, terminated, truncated, info = self._left[role]
        else:
            state, terminated, truncated, info = self._live_view(role)
        return Observation(state, self._rewards[role], terminated, truncated, info)

    def _live_view(self, role: str) -> tuple[Any, bool, bool, dict[str, Any]]:
        env, agent = self.pz_env, self._agents[role]
        return (
            _as_state(env.observe(agent)),
            bool(env.terminations.get(agent, False)),
            bool(env.truncations.get(agent, False)),
            dict(env.infos.get(agent, {})),
        )

    def _done_roles(self) -> set[str]:
        env = self.pz_env
        return {
            self._role_of_agent[a]
            for a in env.agents
            if a in self._role_of_agent and (env.terminations.get(a) or env.truncations.get(a))
        }

    def _collect_rewards(self) -> None:
        for agent, reward in self.pz_env.rewards.items():
            self._rewards[self._role(agent, "rewards")] += float(reward)

    def _step_done_agents(self) -> None:
        """Step selected done agents with None (the AEC API's rule) until a live one is
        selected or none is left."""
        env = self.pz_env
        while env.agents:
            agent = env.agent_selection
            role = self._role(agent, "agent_selection")
            if not (env.terminations.get(agent) or env.truncations.get(agent)):
                return
            self._left[role] = self._live_view(role)
            env.step(None)
            self._collect_rewards()
            if env.agents and env.agent_selection == agent and agent in env.agents:
                raise ValueError(
                    f"{self.name}: agent {agent!r} is done but still selected after its "
                    "step(None); the env breaks PettingZoo's AEC API"
                )


class PettingZooParallelEnv(_PettingZooEnv):
    """A PettingZoo ``ParallelEnv`` as a simultaneous :class:`Env` (see the module docstring).

    A role that is done keeps its last observation, reward and flags while the others play on.

    Args:
        env: The parallel env; this object owns it (``close()`` closes it).
        name: How errors name the env; defaults to PettingZoo's ``metadata["name"]``.
    """

    def __init__(self, env: ParallelEnv[Any, Any, Any], *, name: str | None = None) -> None:
        super().__init__(env, name)
        self._last: dict[str, Observation] = {}

    def reset(self, seed: int | None = None) -> None:
        """Reset the env (``seed`` seeds it); rewards start at 0.0."""
        states, infos = self.pz_env.reset(seed=seed)
        self._started, self._episode_step = True, 0
        self._last = {
            role: Observation(_as_state(states[agent]), info=dict(infos.get(agent, {})))
            for role, agent in self._agents.items()
            if agent in states
        }

    def acting_roles(self) -> tuple[str, ...]:
        """The roles of the live agents (``env.agents`` that are not done)."""
        if not self._started:
            return ()
        live = (self._role(agent, "agents") for agent in self.pz_env.agents)
        return tuple(role for role in live if role in self._last and not self._last[role].done)

    def interact(self, actions: Mapping[str, Any]) -> None:
        """Step every live agent at once.

        Raises:
            ResetNeededError: Before reset, or after every agent is done.
            ValueError: ``actions`` does not hold one action per acting role; the message names
                the env, the role and the episode step.
        """
        done = {role for role, obs in self._last.items() if obs.done}
        self._begin_interact(actions, done)
        step = self.pz_env.step({self._agents[role]: action for role, action in actions.items()})
        states, rewards, terminations, truncations, infos = step
        self._episode_step += 1
        for role, agent in self._agents.items():
            if agent in states:  # others (done before) keep what they last saw
                self._last[role] = Observation(
                    _as_state(states[agent]),
                    float(rewards.get(agent, 0.0)),
                    bool(terminations.get(agent, False)),
                    bool(truncations.get(agent, False)),
                    dict(infos.get(agent, {})),
                )

    def observe(self, role: str) -> Observation:
        """``role``'s last observation and the reward of the last step."""
        self._check_role(role)
        if not self._started:
            raise ResetNeededError(f"{self.name}: call reset() before observe()")
        if role not in self._last:
            raise ValueError(f"{self.name}: role {role!r} has not appeared in this episode")
        return self._last[role]


# -- internals ------------------------------------------------------------------------------------


def _as_state(state: Any) -> Any:
    """Array-valued observations as arrays (rps_v2 observes a 0-d one); dicts as given."""
    return state if isinstance(state, Mapping | tuple) else np.asarray(state)


def _import_env_module(module_name: str, what: str) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_OLD_API_WARNING, category=DeprecationWarning)
        return import_for(module_name, what)


def _factory_name(module: Any, env_id: str, api: Any) -> str:
    """``env`` or ``parallel_env``: as ``api`` says, else ``parallel_env`` if there is one."""
    if api is None:
        return "parallel_env" if callable(getattr(module, "parallel_env", None)) else "env"
    if api not in _FACTORIES:
        raise EnvSpecError(
            f"env {env_id!r}: {API_KWARG}={api!r}; it is 'aec' (the module's env()) or "
            "'parallel' (its parallel_env())"
        )
    name = _FACTORIES[api]
    if not callable(getattr(module, name, None)):
        raise EnvSpecError(f"env {env_id!r}: {module.__name__} has no {name}() for {api}={api!r}")
    return name


_VERSIONED = re.compile(r"_v\d+$")


def _close_ids(package: str, path: str) -> list[str]:
    """Ids of ``package``'s env modules close to ``path`` (listed from files, not imported)."""
    root = importlib.import_module(package)
    known: list[str] = []
    for info in pkgutil.iter_modules(root.__path__):
        if _VERSIONED.search(info.name):
            known.append(info.name)
        elif info.ispkg:  # a family: pettingzoo.classic, pettingzoo.butterfly, ...
            sub = importlib.util.find_spec(f"{package}.{info.name}")
            locations = sub.submodule_search_locations if sub is not None else None
            known += [
                f"{info.name}/{m.name}"
                for m in pkgutil.iter_modules(list(locations or []))
                if _VERSIONED.search(m.name)
            ]
    wanted = path.strip("/")
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.6)
    if not close:  # the family left out or wrong: match the name alone
        tail = wanted.rpartition("/")[2]
        close = [k for k in known if k.rpartition("/")[2] == tail]
    return [f"{package}:{match}" for match in close]
