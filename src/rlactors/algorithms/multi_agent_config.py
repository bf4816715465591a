"""The fields of an algorithm that trains multi-role envs: the mapping, opponents, self-play.

They matter only when the env has several roles (a PettingZoo game, ``NimEnv``,
``RockPaperScissorsEnv``); a single-role env ignores their defaults and refuses anything else.
Every algorithm's config includes them (the actor-critics' through
:class:`MultiAgentActorCriticConfig`). No torch here: the CLI reads these classes to build
``--help``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from rlactors.algorithms.actor_critic_config import ActorCriticRunConfig
from rlactors.algorithms.base import FieldParser
from rlactors.envs.spec import NO_KWARGS, Kwargs
from rlactors.validation import check_fractions, check_positive_ints


def _json(text: str, field: str) -> Any:
    """``text`` as JSON, or a one-line ``ValueError`` naming ``field``: ValueError covers a
    JSONDecodeError and an integer of more than 4300 digits, RecursionError nesting past the
    parser's limit (as ``envs.spec.parse_kwargs`` found)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise ValueError(f"{field} is not valid JSON ({why})") from None


def parse_policy_mapping(value: Any) -> str | Kwargs:
    """``shared``, ``independent``, ``package.module:function`` or ``{role: policy id}`` (a
    mapping, or its JSON text)."""
    if isinstance(value, Mapping):
        return Kwargs({str(k): v for k, v in value.items()})
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            "policy_mapping must be 'shared', 'independent', 'package.module:function' or a "
            f"JSON object {{role: policy id}}, got {value!r}"
        )
    text = value.strip()
    if text.startswith("{"):
        loaded = _json(text, "policy_mapping")
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ValueError("policy_mapping JSON must be an object {role: policy id}")
        return Kwargs(loaded)
    return text


def parse_opponents(value: Any) -> Kwargs:
    """``{role: scripted player name}`` (a mapping, its JSON text, or ``role=name,...``)."""
    if isinstance(value, str) and value.strip() and not value.strip().startswith("{"):
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
            raise ValueError(f"opponents must read role=player,role=player; got {value!r}")
        return Kwargs({k.strip(): v.strip() for k, v in pairs})
    if isinstance(value, str):
        value = _json(value, "opponents") if value.strip() else {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"opponents must be {{role: player name}}, got {value!r}")
    return Kwargs({str(k): v for k, v in value.items()})


PolicyMappingField = Annotated[
    str | Mapping[str, str], FieldParser(parse_policy_mapping, "MAPPING")
]
OpponentsField = Annotated[Mapping[str, str], FieldParser(parse_opponents, "ROLE=PLAYER")]


@dataclass(frozen=True)
class MultiAgentFields:
    """Fields of an algorithm that trains multi-role envs (see docs/multi_agent.md)."""

    policy_mapping: PolicyMappingField = "shared"
    """Which policy plays which role: ``shared`` (one policy for every role: parameter
    sharing), ``independent`` (one per role, named after it), a JSON object ``{role: policy
    id}``, or ``package.module:function`` taking ``(role, episode)`` (with ``policies``)."""

    policies: tuple[str, ...] = ()
    """The policy ids a function ``policy_mapping`` may return."""

    policies_to_train: tuple[str, ...] = ()
    """The policies that learn (empty: every learned policy); the others act as initialized
    or as restored from a checkpoint."""

    role_input: bool = False
    """Give a shared policy its role as an input (a one-hot ``role`` part of the
    observation), so one network can play each role differently."""

    centralized_critic: bool = False
    """A centralized critic (MAPPO): the value function also reads every role's observation
    (a ``critic`` part added to each observation), the actor only its own. The actor-critics
    (PPO, A2C, A3C, IMPALA); the Q-learners have no critic."""

    opponents: OpponentsField = NO_KWARGS
    """Roles played by scripted players, e.g. ``player_1=random`` (CLI) or ``{"player_1":
    "rock"}``: ``random``, ``minimax`` (tic-tac-toe), ``heuristic`` (Connect Four), ``rock``
    (rock-paper-scissors)."""

    self_play: bool = False
    """Self-play with a league (two-role games, one shared policy): each episode is the
    learner against itself (``self_play_latest_prob``) or against a frozen snapshot."""

    self_play_latest_prob: float = 0.5
    """Probability that a self-play episode is the learner against its latest self."""

    league_sampling: Literal["uniform", "pfsp"] = "pfsp"
    """How a league opponent is drawn: uniformly, or toward the snapshots the learner loses to
    (prioritized fictitious self-play)."""

    league_join_win_rate: float = 0.6
    """A snapshot joins the league once the learner wins this fraction (draws count half) of
    its league games since the last join..."""

    league_join_min_games: int = 200
    """...over at least this many of them."""

    league_max_size: int = 20
    """Snapshots kept in the league (the oldest leaves)."""

    eval_opponent: str | None = None
    """Greedy evaluations play each learned role against this scripted player on every seat
    (``random``, ``minimax``, ``heuristic``); None: the roles are played as in training (the
    scripted ``opponents`` included). Self-play evaluates against ``random`` unless set."""

    def check_multi_agent_fields(self) -> None:
        """Freeze and check these fields; call from ``__post_init__``.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        name = type(self).__name__
        object.__setattr__(self, "policy_mapping", parse_policy_mapping(self.policy_mapping))
        object.__setattr__(self, "opponents", parse_opponents(self.opponents))
        for field in ("policies", "policies_to_train"):
            ids = getattr(self, field)
            if not isinstance(ids, tuple | list) or not all(isinstance(i, str) and i for i in ids):
                raise ValueError(f"{name}.{field} must be a tuple of policy ids, got {ids!r}")
            object.__setattr__(self, field, tuple(ids))
        if self.eval_opponent is not None and not (
            isinstance(self.eval_opponent, str) and self.eval_opponent
        ):
            raise ValueError(
                f"{name}.eval_opponent must name a scripted player or be None, "
                f"got {self.eval_opponent!r}"
            )
        check_fractions(self, "self_play_latest_prob", "league_join_win_rate")
        check_positive_ints(self, "league_join_min_games", "league_max_size")
        if self.league_sampling not in ("uniform", "pfsp"):
            raise ValueError(
                f"{name}.league_sampling must be uniform or pfsp, got {self.league_sampling!r}"
            )
        if self.self_play and self.policy_mapping != "shared":
            raise ValueError(
                f"{name}.self_play trains one shared policy; policy_mapping must be 'shared', "
                f"got {self.policy_mapping!r}"
            )

    @property
    def multi_agent_defaults(self) -> bool:
        """Whether every multi-agent field is at its default (what a single-role env needs)."""
        return (
            self.policy_mapping == "shared"
            and not self.policies
            and not self.policies_to_train
            and not self.role_input
            and not self.centralized_critic
            and not self.opponents
            and not self.self_play
            and self.eval_opponent is None
        )


@dataclass(frozen=True)
class MultiAgentActorCriticConfig(MultiAgentFields, ActorCriticRunConfig):
    """The fields of an actor-critic that trains multi-role envs too (PPO's and A2C's)."""

    def __post_init__(self) -> None:
        """Checks the actor-critic fields, then the multi-agent ones.

        Raises:
            ValueError: A field is out of range; the message names it.
        """
        super().__post_init__()
        self.check_multi_agent_fields()
