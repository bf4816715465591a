"""Which policy plays which role: the seed's roles, mapped to a run's policies by id.

A multi-role env's roles are played by policies held by id (RLlib's ``policy_mapping_fn``).
A :class:`RoleMapping` says, per episode, which policy plays each role. Policy ids are of
three kinds:

* a **learned** policy (a ``PolicyEntry`` of the run: it has a learner, and its experience
  comes back in the rollouts): ``"default"`` when every role shares one policy, the role's
  own name with ``independent`` policies, or whatever ids a static mapping names;
* a **scripted** player, ``"scripted:<name>"`` (``random``, ``minimax``, ``heuristic``,
  ``rock``; see :mod:`rlactors.multiagent.opponents`): fixed, never trained;
* a **league snapshot**, ``"league:<n>"``: a frozen copy of the learned policy that joined the
  self-play league (:mod:`rlactors.multiagent.league`).

The mapping is made from plain values (it pickles to every evaluator):

* ``"shared"``: every role plays the one policy ``"default"`` (parameter sharing);
* ``"independent"``: every role has a policy of its own, named after the role;
* a mapping ``{role: policy id}``: any grouping, e.g. ``{"adversary_0": "adversary",
  "agent_0": "agent", "agent_1": "agent"}``;
* ``"package.module:function"``: ``function(role, episode) -> policy id``, called at the start
  of every episode (``episode`` counts the evaluator's episodes; with ``policies`` naming
  every id it may return).

``opponents`` overrides roles with scripted players (``{"player_1": "rock"}``): those roles
are played by the script, whatever the mapping says.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlactors.core import DEFAULT_POLICY_ID

#: The prefix of scripted players' policy ids.
SCRIPTED_PREFIX = "scripted:"
#: The prefix of league snapshots' policy ids.
LEAGUE_PREFIX = "league:"

#: What ``policy_mapping`` may be (see the module docstring).
MappingSource = str | Mapping[str, str]


def scripted_id(name: str) -> str:
    """The policy id of scripted player ``name``."""
    return f"{SCRIPTED_PREFIX}{name}"


def is_learned(policy_id: str) -> bool:
    """Whether ``policy_id`` names a learned policy (not a script, not a league snapshot)."""
    return not policy_id.startswith((SCRIPTED_PREFIX, LEAGUE_PREFIX))


class PolicyMappingError(ValueError):
    """A role mapping that cannot work: a role left out, an unknown policy id, or roles that
    share a policy but not a space. Raised before any actor starts."""


@dataclass(frozen=True)
class RoleMapping:
    """Roles -> policy ids, per episode; see the module docstring.

    Args:
        roles: The env's roles, in its order.
        source: ``"shared"``, ``"independent"``, ``{role: policy id}`` or
            ``"package.module:function"``.
        opponents: ``{role: scripted player name}``: roles played by a script.
        policies: The learned policy ids a function mapping may return (ignored otherwise:
            the other forms say which ids they use).

    Raises:
        PolicyMappingError: A role the mapping leaves out or does not know, an opponent for a
            role the env does not have, a function that cannot be imported, or a function
            mapping without ``policies``.
    """

    roles: tuple[str, ...]
    source: MappingSource = "shared"
    opponents: Mapping[str, str] = field(default_factory=dict)
    policies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "opponents", dict(self.opponents))
        for role in self.opponents:
            if role not in self.roles:
                raise PolicyMappingError(
                    f"opponents names role {role!r}, which the env does not have "
                    f"(roles: {', '.join(self.roles)})"
                )
        source = self.source
        if isinstance(source, Mapping):
            object.__setattr__(self, "source", dict(source))
            unknown = [r for r in source if r not in self.roles]
            if unknown:
                raise PolicyMappingError(
                    f"policy_mapping names role {unknown[0]!r}, which the env does not have "
                    f"(roles: {', '.join(self.roles)})"
                )
            missing = [r for r in self.roles if r not in source and r not in self.opponents]
            if missing:
                raise PolicyMappingError(
                    f"policy_mapping leaves out role {missing[0]!r}: map every role to a "
                    f"policy id (roles: {', '.join(self.roles)})"
                )
            for role, pid in source.items():
                if not isinstance(pid, str) or not pid or not is_learned(pid):
                    raise PolicyMappingError(
                        f"policy_mapping maps role {role!r} to {pid!r}: a learned policy id "
                        f"is a non-empty string without the {SCRIPTED_PREFIX!r} or "
                        f"{LEAGUE_PREFIX!r} prefix (scripted players go in opponents)"
                    )
        elif source not in ("shared", "independent"):
            if ":" not in source:
                raise PolicyMappingError(
                    f"policy_mapping must be 'shared', 'independent', a JSON object "
                    f"{{role: policy id}} or 'package.module:function'; got {source!r}"
                )
            if not self.policies:
                raise PolicyMappingError(
                    f"policy_mapping {source!r} is a function: name the policy ids it may "
                    "return in policies"
                )
            self._function()  # fails now, in the caller's process, if it cannot be imported
            for role in self.roles:
                if role not in self.opponents:
                    self.policy_id(role, 0)  # an id without a spec fails before any actor

    # -- queries ----------------------------------------------------------------------------------

    def policy_id(self, role: str, episode: int) -> str:
        """The policy that plays ``role`` in episode ``episode``.

        Raises:
            PolicyMappingError: A function mapping returned an id not in ``policies``.
        """
        if role in self.opponents:
            return scripted_id(self.opponents[role])
        source = self.source
        if source == "shared":
            return DEFAULT_POLICY_ID
        if source == "independent":
            return role
        if isinstance(source, Mapping):
            return source[role]
        pid = self._function()(role, episode)
        if pid not in self.policies:
            raise PolicyMappingError(
                f"policy_mapping {source!r} mapped role {role!r} to policy {pid!r}, which "
                f"has no spec (policies: {', '.join(self.policies)})"
            )
        return str(pid)

    def assignment(self, episode: int) -> dict[str, str]:
        """``{role: policy id}`` for episode ``episode``."""
        return {role: self.policy_id(role, episode) for role in self.roles}

    def learned_ids(self) -> tuple[str, ...]:
        """Every learned policy id the mapping may use, in first-use order."""
        if isinstance(self.source, str) and self.source not in ("shared", "independent"):
            return self.policies
        ids = [self.policy_id(role, 0) for role in self.roles]
        return tuple(dict.fromkeys(pid for pid in ids if is_learned(pid)))

    def roles_of(self, policy_id: str) -> tuple[str, ...]:
        """The roles a learned policy may play (every role a function mapping could give it)."""
        if isinstance(self.source, str) and self.source not in ("shared", "independent"):
            return tuple(r for r in self.roles if r not in self.opponents)
        return tuple(r for r in self.roles if self.policy_id(r, 0) == policy_id)

    def _function(self) -> Callable[[str, int], str]:
        assert isinstance(self.source, str)
        module_name, _, name = self.source.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError) as exc:
            raise PolicyMappingError(
                f"policy_mapping {self.source!r} cannot be imported: {exc}"
            ) from None
        if not callable(function):
            raise PolicyMappingError(f"policy_mapping {self.source!r} is not a function")
        return function  # type: ignore[no-any-return]


def check_shared_spaces(
    mapping: RoleMapping,
    spaces: Mapping[str, tuple[Any, Any]],
    env_name: str,
) -> dict[str, tuple[Any, Any]]:
    """Each learned policy's ``(observation space, action space)``: those of its roles, which
    must all have the same.

    Args:
        mapping: The run's mapping.
        spaces: ``{role: (observation space, action space)}`` of the env.
        env_name: For the message.

    Raises:
        PolicyMappingError: Two roles share a policy but not a space; a policy plays no role.
    """
    out: dict[str, tuple[Any, Any]] = {}
    for pid in mapping.learned_ids():
        roles: Sequence[str] = mapping.roles_of(pid)
        if not roles:
            raise PolicyMappingError(f"policy {pid!r} plays no role of {env_name}")
        first = spaces[roles[0]]
        for role in roles[1:]:
            if spaces[role] != first:
                which = "observation" if spaces[role][0] != first[0] else "action"
                raise PolicyMappingError(
                    f"roles {roles[0]!r} and {role!r} of {env_name} share policy {pid!r} but "
                    f"not an {which} space ({first[0 if which == 'observation' else 1]} vs "
                    f"{spaces[role][0 if which == 'observation' else 1]}); map them to "
                    "different policies (policy_mapping='independent', or a {role: id} object)"
                )
        out[pid] = first
    return out
