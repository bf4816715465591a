"""A multi-role :class:`~rlactors.core.Env` seen as a PettingZoo env (``pip install
'rlactors[multiagent]'``).

The way back out, for code that speaks PettingZoo (its ``api_test``, SuperSuit, other
libraries' trainers)::

    aec = to_aec(NimEnv())                        # any env: agents take turns
    aec.reset(seed=0)
    for agent in aec.agent_iter():
        obs, reward, terminated, truncated, info = aec.last()
        aec.step(None if terminated or truncated else aec.action_space(agent).sample())

    par = to_parallel(RockPaperScissorsEnv())     # simultaneous envs only
    observations, infos = par.reset(seed=0)

:func:`to_aec` takes any env. A simultaneous env's acting roles are asked one after another and
the env interacts once all of them have acted (as PettingZoo's ``parallel_to_aec`` does).
:func:`to_parallel` takes simultaneous envs only: a turn-based env fails at ``reset`` with an
error that says to use :func:`to_aec` (a parallel step would have to invent actions for the
waiting roles, and a policy trained on those learns from moves that never happened).

Rewards: the rlactors convention (``observe(role).reward`` is what ``role`` collected since it
last acted) is PettingZoo's ``last()`` reward; each step's ``rewards`` holds what changed.
When the env has no acting roles left, a role it did not report done is truncated: the episode
ended without a terminal state for it. Observations are copied on the way out, as
:mod:`rlactors.envs.to_gymnasium` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from pettingzoo import AECEnv, ParallelEnv

from rlactors.core import Env
from rlactors.envs.observations import copy_state


def _name_of(env: Env) -> str:
    name = getattr(env, "name", None)
    return name if isinstance(name, str) else type(env).__name__


# PettingZoo ships no type information (no py.typed): mypy sees AECEnv and ParallelEnv as Any.
class EnvAsAEC(AECEnv[str, Any, Any]):  # type: ignore[misc]
    """An :class:`Env` as a PettingZoo ``AECEnv`` (use :func:`to_aec`).

    Args:
        env: Any env; ``close()`` closes it. Its roles are the agents.
    """

    agents: list[str]
    possible_agents: list[str]
    agent_selection: str
    rewards: dict[str, float]
    _cumulative_rewards: dict[str, float]
    terminations: dict[str, bool]
    truncations: dict[str, bool]
    infos: dict[str, dict[str, Any]]
    _actions: dict[str, Any]  # of this round's roles that already stepped
    _pending: list[str]  # this round's acting roles still to step

    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        self.metadata = {"name": _name_of(env), "render_modes": [], "is_parallelizable": False}
        self.possible_agents = list(env.roles)
        # api_test wants the same space object on every call (space seeding relies on it).
        self._obs_spaces = {role: env.observation_space(role) for role in env.roles}
        self._act_spaces = {role: env.action_space(role) for role in env.roles}
        self.agents = []
        self._clear_episode()

    def observation_space(self, agent: str) -> gym.Space[Any]:
        """The env's observation space of ``agent``'s role."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> gym.Space[Any]:
        """The env's action space of ``agent``'s role."""
        return self._act_spaces[agent]

    def observe(self, agent: str) -> Any:
        """A copy of what ``agent``'s role observes now."""
        return copy_state(self.env.observe(agent).state)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Reset the env (``seed`` seeds it; ``options`` is accepted and unused)."""
        self.env.reset(seed)
        self._clear_episode()
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self._read_roles()
        self._select()

    def step(self, action: Any) -> None:
        """Record the selected agent's action; the env interacts once every acting role has
        one. A done agent must step with None, which removes it."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            if action is not None:
                raise ValueError(f"{self}: agent {agent!r} is done; its only action is None")
            for table in self._tables():
                del table[agent]
            self.agents.remove(agent)
            self.rewards = dict.fromkeys(self.agents, 0.0)
            self._select()
            return
        self._cumulative_rewards[agent] = 0.0  # last() counts from the agent's own step
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._actions[agent] = action
        self._pending.remove(agent)
        if not self._pending:
            self.env.interact(self._actions)
            self._actions = {}
            self._read_roles()
        self._select()

    def close(self) -> None:
        """Close the env."""
        self.env.close()

    def _clear_episode(self) -> None:
        self.rewards, self._cumulative_rewards = {}, {}
        self.terminations, self.truncations, self.infos = {}, {}, {}
        self._actions, self._pending = {}, []

    def _tables(self) -> tuple[dict[str, Any], ...]:
        return (
            self.rewards,
            self._cumulative_rewards,
            self.terminations,
            self.truncations,
            self.infos,
        )

    def _read_roles(self) -> None:
        """Observe every live role after an interaction, and start the next round."""
        over = not self.env.acting_roles()
        for agent in self.agents:
            obs = self.env.observe(agent)
            # The reward since the agent last acted, as the change to what last() reports.
            self.rewards[agent] = float(obs.reward) - self._cumulative_rewards[agent]
            self._cumulative_rewards[agent] += self.rewards[agent]
            self.terminations[agent] = bool(obs.terminated)
            self.truncations[agent] = bool(obs.truncated) or (over and not obs.terminated)
            self.infos[agent] = dict(obs.info)
        live = set(self.agents)
        self._pending = [role for role in self.env.acting_roles() if role in live]

    def _select(self) -> None:
        """Done agents first (each must step with None), then this round's acting roles."""
        done = [a for a in self.agents if self.terminations[a] or self.truncations[a]]
        if done:
            self.agent_selection = done[0]
        elif self._pending:
            self.agent_selection = self._pending[0]


class EnvAsParallel(ParallelEnv[str, Any, Any]):  # type: ignore[misc]
    """A simultaneous :class:`Env` as a PettingZoo ``ParallelEnv`` (use :func:`to_parallel`).

    Args:
        env: A simultaneous env (every live role acts at each step); ``close()`` closes it.
    """

    def __init__(self, env: Env) -> None:
        self.env = env
        self.metadata = {"name": _name_of(env), "render_modes": []}
        self.possible_agents = list(env.roles)
        self._obs_spaces = {role: env.observation_space(role) for role in env.roles}
        self._act_spaces = {role: env.action_space(role) for role in env.roles}
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> gym.Space[Any]:
        """The env's observation space of ``agent``'s role."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> gym.Space[Any]:
        """The env's action space of ``agent``'s role."""
        return self._act_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Reset the env (``seed`` seeds it; ``options`` is accepted and unused).

        Raises:
            ValueError: The env is turn-based: use :func:`to_aec`.
        """
        self.env.reset(seed)
        self.agents = list(self.possible_agents)
        self._check_simultaneous()
        observed = {agent: self.env.observe(agent) for agent in self.agents}
        states = {agent: copy_state(obs.state) for agent, obs in observed.items()}
        return states, {agent: dict(obs.info) for agent, obs in observed.items()}

    def step(self, actions: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
        """Apply one action per live agent; agents that are done afterwards leave ``agents``.

        Returns:
            Observations, rewards (of this step), terminations, truncations and infos, each a
            dict over the agents that acted.
        """
        self.env.interact(dict(actions))
        over = not self.env.acting_roles()
        states, rewards, terminations, truncations, infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            obs = self.env.observe(agent)
            states[agent] = copy_state(obs.state)
            rewards[agent] = float(obs.reward)
            terminations[agent] = bool(obs.terminated)
            truncations[agent] = bool(obs.truncated) or (over and not obs.terminated)
            infos[agent] = dict(obs.info)
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        self._check_simultaneous()
        return states, rewards, terminations, truncations, infos

    def close(self) -> None:
        """Close the env."""
        self.env.close()

    def _check_simultaneous(self) -> None:
        acting = self.env.acting_roles()
        if self.agents and set(acting) != set(self.agents):
            raise ValueError(
                f"to_parallel(): {_name_of(self.env)} is turn-based (acting roles "
                f"{list(acting)} of live roles {self.agents}); use to_aec(env)"
            )


def to_aec(env: Env) -> AECEnv[str, Any, Any]:
    """``env`` as a PettingZoo ``AECEnv`` that passes ``pettingzoo.test.api_test``.

    Args:
        env: Any env, turn-based or simultaneous.

    Returns:
        An AEC env whose agents are ``env.roles``.
    """
    return EnvAsAEC(env)


def to_parallel(env: Env) -> ParallelEnv[str, Any, Any]:
    """``env`` as a PettingZoo ``ParallelEnv`` that passes ``pettingzoo.test.parallel_api_test``.

    Args:
        env: A simultaneous env. A turn-based one fails at ``reset()`` (use :func:`to_aec`).

    Returns:
        A parallel env whose agents are ``env.roles``.
    """
    return EnvAsParallel(env)
