"""Multi-agent play: scripted opponents and matches between players.

* :mod:`rlactors.multiagent.opponents` — scripted players (random, tic-tac-toe minimax, a
  Connect Four heuristic, a biased rock-paper-scissors player) and :func:`scripted_player`.
* :mod:`rlactors.multiagent.matches` — :func:`play_games` and :func:`seat_results`.

The names are imported on first use, as in :mod:`rlactors.envs`: a config module of this
package must not pull in gymnasium for the CLI's ``--help``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlactors.multiagent.matches import (
        MatchError,
        MatchResult,
        Player,
        PolicyPlayer,
        RoleRecord,
        play_games,
        seat_results,
    )
    from rlactors.multiagent.opponents import (
        BiasedRockPlayer,
        ConnectFourHeuristic,
        NearestLandmarkPlayer,
        PlayerError,
        RandomPlayer,
        ScriptedPolicy,
        TicTacToeMinimax,
        scripted_player,
    )

#: Where each public name lives.
_MODULES = {
    "MatchError": "rlactors.multiagent.matches",
    "MatchResult": "rlactors.multiagent.matches",
    "Player": "rlactors.multiagent.matches",
    "PolicyPlayer": "rlactors.multiagent.matches",
    "RoleRecord": "rlactors.multiagent.matches",
    "play_games": "rlactors.multiagent.matches",
    "seat_results": "rlactors.multiagent.matches",
    "BiasedRockPlayer": "rlactors.multiagent.opponents",
    "ConnectFourHeuristic": "rlactors.multiagent.opponents",
    "NearestLandmarkPlayer": "rlactors.multiagent.opponents",
    "PlayerError": "rlactors.multiagent.opponents",
    "RandomPlayer": "rlactors.multiagent.opponents",
    "ScriptedPolicy": "rlactors.multiagent.opponents",
    "TicTacToeMinimax": "rlactors.multiagent.opponents",
    "scripted_player": "rlactors.multiagent.opponents",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'rlactors.multiagent' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BiasedRockPlayer",
    "ConnectFourHeuristic",
    "MatchError",
    "MatchResult",
    "NearestLandmarkPlayer",
    "Player",
    "PlayerError",
    "PolicyPlayer",
    "RandomPlayer",
    "RoleRecord",
    "ScriptedPolicy",
    "TicTacToeMinimax",
    "play_games",
    "scripted_player",
    "seat_results",
]
