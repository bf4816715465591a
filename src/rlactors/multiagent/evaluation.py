"""Greedy evaluation of a multi-role run: matches of its learned policies.

Two ways, chosen by the run's ``eval_opponent``:

* **Against a scripted opponent** (``random``, ``minimax``, ``heuristic``; self-play runs use
  ``random`` unless told otherwise): each learned role is played by its policy, greedily,
  against the opponent on every other seat, ``episodes`` games per seat. The mean return is
  over seats; each seat's win/draw/loss fractions are reported too (``seats``).
* **As trained**: every role played by its mapped policy (greedy) or its scripted
  ``opponents``; the mean return is over the learned roles (for a cooperative env such as MPE's
  ``simple_spread``, the mean per-agent return).

League snapshots never play in an evaluation: it measures the learned policies, not the league.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Policy
from rlactors.envs.spec import EnvSpec
from rlactors.multiagent.mapping import RoleMapping, is_learned
from rlactors.multiagent.matches import Player, PolicyPlayer, play_games
from rlactors.multiagent.opponents import scripted_player
from rlactors.seeding import derive_seed


def evaluate_policies(
    spec: EnvSpec,
    spaces: Mapping[str, tuple[gym.Space[Any], gym.Space[Any]]],
    mapping: RoleMapping,
    policies: Mapping[str, Policy],
    episodes: int,
    seed: int,
    *,
    opponent: str | Callable[[str, int], Player] | None = None,
    mask_key: str = "action_mask",
) -> dict[str, Any]:
    """Greedy matches of ``policies``; see the module docstring.

    Args:
        spec: The env.
        spaces: ``{role: (observation space, action space)}`` of the env, in its role order
            (the builder's :class:`~rlactors.algorithms.multi_agent.MultiAgentEnvInfo`).
        mapping: The run's roles -> policy ids (and its scripted opponents).
        policies: The learned policies by id.
        episodes: Games per seat (against an opponent) or in all (as trained).
        seed: Root seed of the games' env seeds and the scripts' draws.
        opponent: Who plays every seat but the learner's: a scripted player's name, or
            ``make(role, seed) -> Player`` (another run's policies, say); None: as trained.
        mask_key: The action-mask key the env checks read.

    Returns:
        ``episodes``, ``eval_return_mean``, ``eval_return_std``, ``eval_return_min``,
        ``eval_return_max``, ``eval_length_mean``, ``role_returns`` (``{role: mean}``) and, with
        an opponent, ``opponent`` and ``seats`` (``{role: {"win", "draw", "loss"}}``).
    """
    roles = tuple(spaces)

    def make_env() -> Any:
        return spec.make(mask_key=mask_key)

    assignment = mapping.assignment(0)

    def player(role: str, n: int) -> Player:
        pid = assignment[role]
        if is_learned(pid):
            return PolicyPlayer(policies[pid], spaces[role][0], greedy=True)
        return scripted_player(mapping.opponents[role], spaces[role][1], derive_seed(seed, 7, n))

    returns: list[float] = []
    lengths: list[int] = []
    role_returns: dict[str, float] = {}
    out: dict[str, Any] = {"episodes": episodes}
    if opponent is None:
        players = {r: player(r, n) for n, r in enumerate(roles)}
        result = play_games(make_env, players, episodes, seed)
        learned = [r for r in roles if is_learned(assignment[r])]
        per_game = np.mean([result.returns[r] for r in learned], axis=0)
        returns, lengths = list(per_game), list(result.lengths)
        role_returns = {r: float(np.mean(result.returns[r])) for r in roles}
    else:
        name = opponent

        def rival(role: str, seed: int) -> Player:
            assert isinstance(name, str)
            return scripted_player(name, spaces[role][1], seed)

        make_rival = rival if isinstance(opponent, str) else opponent
        seats: dict[str, dict[str, float]] = {}
        for n, seat in enumerate(r for r in roles if is_learned(assignment[r])):
            players = {
                r: player(r, n) if r == seat else make_rival(r, derive_seed(seed, 8, n, i))
                for i, r in enumerate(roles)
            }
            result = play_games(make_env, players, episodes, derive_seed(seed, n))
            returns += list(result.returns[seat])
            lengths += list(result.lengths)
            role_returns[seat] = float(np.mean(result.returns[seat]))
            seats[seat] = result.record(seat).fractions()
        out.update(opponent=opponent if isinstance(opponent, str) else "policy", seats=seats)
    values = np.asarray(returns, np.float64)
    out.update(
        eval_return_mean=float(values.mean()),
        eval_return_std=float(values.std()),
        eval_return_min=float(values.min()),
        eval_return_max=float(values.max()),
        eval_length_mean=float(np.mean(lengths)),
        role_returns=role_returns,
    )
    return out
