"""The self-play league: frozen snapshots of the learning policy, and who plays whom.

Self-play against only the latest policy cycles (rock beats scissors beats paper, forgotten and
relearned); a league of past snapshots keeps the learner honest against what it once was
(Vinyals et al., 2019, AlphaStar's league; OpenAI Five played 20% of its games against past
selves). Here:

* each episode's opponent is the latest policy with probability ``latest_prob``, else a
  snapshot drawn from the league: ``uniform``, or ``pfsp`` (prioritized fictitious self-play,
  AlphaStar's): weighted by ``(1 - p_win)^2``, toward the snapshots the learner loses to;
* a snapshot of the learner joins when its win rate against the league, over at least
  ``join_min_games`` league games since the last join, reaches ``join_win_rate`` (the first
  snapshot, the initial policy, joins at the start); past ``max_size`` the oldest leaves;
* the learner has an Elo rating: each snapshot keeps the rating the learner had when it
  joined, and every league game moves the learner's (K = 16, a draw counts half);
* the league's snapshots, results and ratings are part of a checkpoint, so a restored run
  goes on with the same league (ray#40183, #34778: RLlib's policies added at run time were
  lost on restore).

Outcomes are read from each episode's returns: the learner's seat won if its return is above
the opponent's, drew if equal, lost if below (zero-sum games; a general-sum game's "win" is
the higher return).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlactors.core import EpisodeStats, Weights
from rlactors.multiagent.mapping import LEAGUE_PREFIX

#: The Elo K-factor: rating points a single game can move.
ELO_K = 16.0
#: The rating of the first snapshot, and of the learner at the start.
ELO_START = 1000.0

Outcome = Literal["win", "draw", "loss"]


@dataclass(frozen=True)
class LeagueConfig:
    """How the self-play league grows and is sampled."""

    latest_prob: float = 0.5
    """Probability that an episode is the learner against its latest self (else a snapshot)."""

    sampling: Literal["uniform", "pfsp"] = "pfsp"
    """How a snapshot opponent is drawn: uniformly, or toward those the learner loses to."""

    join_win_rate: float = 0.6
    """A snapshot of the learner joins once it wins this fraction of its league games (a draw
    counts half) since the last join."""

    join_min_games: int = 200
    """...over at least this many league games."""

    max_size: int = 20
    """Snapshots kept; past this the oldest leaves."""

    def __post_init__(self) -> None:
        for name in ("latest_prob", "join_win_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"LeagueConfig.{name} must lie in [0, 1], got {value}")
        if self.sampling not in ("uniform", "pfsp"):
            raise ValueError(
                f"LeagueConfig.sampling must be uniform or pfsp, got {self.sampling!r}"
            )
        for name in ("join_min_games", "max_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"LeagueConfig.{name} must be >= 1, got {getattr(self, name)}")


class League:
    """Snapshots of one learned policy and the learner's record against them.

    Args:
        config: See :class:`LeagueConfig`.
        learner_id: The learned policy's id.
    """

    def __init__(self, config: LeagueConfig, learner_id: str) -> None:
        self.config = config
        self.learner_id = learner_id
        #: ``{snapshot id: weights}``, oldest first.
        self.snapshots: dict[str, Weights] = {}
        #: ``{snapshot id: [wins, draws, losses]}`` of the learner against it, all time.
        self.results: dict[str, list[int]] = {}
        #: ``{snapshot id: the env steps at which it joined}``.
        self.joined_at: dict[str, int] = {}
        self.snapshot_ratings: dict[str, float] = {}
        self.rating = ELO_START
        self._joins = 0
        # League games since the last join: 1.0 win, 0.5 draw, 0.0 loss.
        self._since_join: list[float] = []
        # Recent scores per snapshot, for PFSP's win-rate estimate.
        self._recent: dict[str, deque[float]] = {}

    # -- growth -----------------------------------------------------------------------------------

    def add(self, weights: Weights, env_steps: int) -> str:
        """Freeze ``weights`` as a new snapshot; returns its id (the oldest may leave)."""
        self._joins += 1
        sid = f"{LEAGUE_PREFIX}{self._joins}"
        self.snapshots[sid] = {k: np.array(v, copy=True) for k, v in weights.items()}
        self.results[sid] = [0, 0, 0]
        self.joined_at[sid] = env_steps
        self.snapshot_ratings[sid] = self.rating
        self._recent[sid] = deque(maxlen=100)
        self._since_join = []
        while len(self.snapshots) > self.config.max_size:
            oldest = next(iter(self.snapshots))
            for table in (self.snapshots, self.joined_at, self.snapshot_ratings, self._recent):
                table.pop(oldest, None)
        return sid

    def ready_to_join(self) -> bool:
        """Whether the learner has beaten the league often enough for a new snapshot."""
        games = self._since_join
        return not self.snapshots or (
            len(games) >= self.config.join_min_games
            and float(np.mean(games)) >= self.config.join_win_rate
        )

    # -- results ----------------------------------------------------------------------------------

    def record(self, episode: EpisodeStats) -> tuple[str, Outcome] | None:
        """Count an episode if it was the learner against a snapshot; returns
        ``(snapshot id, outcome)`` or None (self-play, or an episode without roles)."""
        if episode.policy_ids is None or episode.role_returns is None:
            return None
        mine = [r for r, p in episode.policy_ids.items() if p == self.learner_id]
        theirs = [r for r, p in episode.policy_ids.items() if p.startswith(LEAGUE_PREFIX)]
        if not mine or not theirs:
            return None
        opponent = episode.policy_ids[theirs[0]]
        my_return = float(np.mean([episode.role_returns[r] for r in mine]))
        their_return = float(np.mean([episode.role_returns[r] for r in theirs]))
        outcome: Outcome = (
            "win" if my_return > their_return else "loss" if my_return < their_return else "draw"
        )
        score = {"win": 1.0, "draw": 0.5, "loss": 0.0}[outcome]
        counts = self.results.setdefault(opponent, [0, 0, 0])
        counts[("win", "draw", "loss").index(outcome)] += 1
        self._since_join.append(score)
        if opponent in self._recent:
            self._recent[opponent].append(score)
        rated = self.snapshot_ratings.get(opponent)
        if rated is not None:
            expected = 1.0 / (1.0 + 10.0 ** ((rated - self.rating) / 400.0))
            self.rating += ELO_K * (score - expected)
        return opponent, outcome

    def probabilities(self) -> dict[str, float]:
        """``{snapshot id: probability of being drawn}`` ({} for an empty league)."""
        ids = list(self.snapshots)
        if not ids:
            return {}
        if self.config.sampling == "uniform":
            weights = np.ones(len(ids))
        else:
            # A prior of one draw keeps a new snapshot's estimate at 0.5, not 0 or 1.
            win = np.array(
                [(sum(self._recent[i]) + 0.5) / (len(self._recent[i]) + 1.0) for i in ids]
            )
            weights = (1.0 - win) ** 2 + 1e-3
        p = weights / weights.sum()
        return {sid: float(x) for sid, x in zip(ids, p, strict=True)}

    def metrics(self) -> dict[str, Any]:
        """``league_size``, ``league_rating`` (the learner's Elo), ``league_win_rate`` (since
        the last join, None before a league game) and ``league_results`` (``{snapshot id:
        {"win": n, "draw": n, "loss": n}}``)."""
        games = self._since_join
        return {
            "league_size": len(self.snapshots),
            "league_rating": self.rating,
            "league_win_rate": float(np.mean(games)) if games else None,
            "league_results": {
                sid: dict(zip(("win", "draw", "loss"), counts, strict=True))
                for sid, counts in self.results.items()
            },
        }

    # -- checkpoints ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything, as arrays, numbers, strings, lists and dicts (a checkpoint's state)."""
        return {
            "learner_id": self.learner_id,
            "snapshots": {sid: dict(w) for sid, w in self.snapshots.items()},
            "order": list(self.snapshots),
            "results": {sid: list(c) for sid, c in self.results.items()},
            "joined_at": dict(self.joined_at),
            "snapshot_ratings": dict(self.snapshot_ratings),
            "rating": self.rating,
            "joins": self._joins,
            "since_join": list(self._since_join),
            "recent": {sid: list(d) for sid, d in self._recent.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (arrays may come back as torch tensors).

        Raises:
            ValueError: The state is of another learner's league.
        """
        if state["learner_id"] != self.learner_id:
            raise ValueError(
                f"the checkpoint's league is of policy {state['learner_id']!r}, "
                f"this run's learner is {self.learner_id!r}"
            )
        self.snapshots = {
            str(sid): {k: np.asarray(v) for k, v in state["snapshots"][sid].items()}
            for sid in state["order"]
        }
        self.results = {str(s): [int(x) for x in c] for s, c in state["results"].items()}
        self.joined_at = {str(s): int(n) for s, n in state["joined_at"].items()}
        self.snapshot_ratings = {str(s): float(r) for s, r in state["snapshot_ratings"].items()}
        self.rating = float(state["rating"])
        self._joins = int(state["joins"])
        self._since_join = [float(x) for x in state["since_join"]]
        self._recent = {
            str(s): deque((float(x) for x in d), maxlen=100) for s, d in state["recent"].items()
        }
