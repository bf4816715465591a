"""Matches between players: whole episodes of a multi-role env, scored per role and per seat.

:func:`play_games` plays episodes of any :class:`~rlactors.core.Env` (turn-based or
simultaneous), asking each acting role's :data:`Player` for its action; :func:`seat_results`
plays a learner on each seat of a two-player game against one opponent, the figures that
``rlactors evaluate --opponent`` prints. Episodes run one env at a time, one action per call:
a match is for scoring, and the clarity is worth more than batching (minimax against random,
through a minimal PettingZoo adapter, played 1,000 tic-tac-toe games in 0.6 s on a 2-core
machine).

Scoring: a role's episode return is the sum of the rewards it observed, read under the
:mod:`~rlactors.envs.toy` convention (``observe(role).reward`` is what ``role`` collected since
it last acted): before each of its actions and once at the episode's end, so every reward counts
once. A game is a win for a role whose return is positive, a loss for a negative one, a draw for
zero. That reading is right for zero-sum games (tic-tac-toe, Connect Four, Nim, a match of
rock-paper-scissors rounds), where one role's win is another's loss; in other games the counts
are only the signs of the returns.

Usage::

    result = play_games(lambda: NimEnv(), {"player_0": a, "player_1": b}, games=100, seed=0)
    result.record("player_0").wins
    seat_results(make_env, PolicyPlayer(policy, space), TicTacToeMinimax(seed=1), 100, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.core import Env, Policy
from rlactors.envs.observations import ObservationLayout
from rlactors.errors import UserError
from rlactors.multiagent.opponents import ScriptedPolicy
from rlactors.seeding import derive_seed

#: Anything that plays a role: scripted players, and learned policies in a
#: :class:`PolicyPlayer`.
Player = ScriptedPolicy

#: Interactions after which an episode is taken to be one that never ends.
DEFAULT_MAX_INTERACTIONS = 10_000


class MatchError(UserError, RuntimeError):
    """A match that cannot be played: a role without a player, a player's answer of the wrong
    length, an episode past its step cap (a :class:`~rlactors.errors.UserError`: the CLI prints
    it as one line)."""


class PolicyPlayer:
    """A learned policy as a :data:`Player`: it packs raw states into rows and acts on them.

    Args:
        policy: Any rlactors policy; its ``act`` takes ``[B, *obs_shape]`` packed rows (see
            :class:`~rlactors.envs.observations.ObservationLayout`).
        observation_space: The observation space of the role it plays (Dict observations,
            with their action masks, are packed by it).
        greedy: Act with ``explore=False`` (the default: a match measures what was learned);
            False samples with the policy's exploration.
    """

    def __init__(
        self, policy: Policy, observation_space: gym.Space[Any], greedy: bool = True
    ) -> None:
        self.policy = policy
        self.layout = ObservationLayout.of(observation_space)
        self.greedy = greedy

    def act_states(self, states: Sequence[Any]) -> np.ndarray:
        """``[B]`` actions of the policy for ``B`` raw states."""
        rows = self.layout.pack_many(states)  # [B, *obs_shape]
        return np.asarray(self.policy.act(rows, explore=not self.greedy))


@dataclass(frozen=True)
class RoleRecord:
    """One role's results over a match.

    Attributes:
        wins: Games its return was positive.
        draws: Games its return was zero.
        losses: Games its return was negative.
        mean_return: Its mean episode return (undiscounted).
    """

    wins: int
    draws: int
    losses: int
    mean_return: float

    def fractions(self) -> dict[str, float]:
        """``{"win": .., "draw": .., "loss": ..}``: the counts over the games played."""
        games = self.wins + self.draws + self.losses
        return {
            "win": self.wins / games,
            "draw": self.draws / games,
            "loss": self.losses / games,
        }


@dataclass(frozen=True)
class MatchResult:
    """What :func:`play_games` measured.

    Attributes:
        returns: Per role, its return in each game: ``[games]`` float64.
        lengths: Interactions in each game (in a turn-based game, moves): ``[games]`` int64.
    """

    returns: Mapping[str, np.ndarray]
    lengths: np.ndarray

    @property
    def games(self) -> int:
        """Games played."""
        return len(self.lengths)

    def record(self, role: str) -> RoleRecord:
        """Wins, draws and losses of ``role`` by the sign of its returns, and its mean return."""
        returns = self.returns[role]
        return RoleRecord(
            wins=int((returns > 0).sum()),
            draws=int((returns == 0).sum()),
            losses=int((returns < 0).sum()),
            mean_return=float(returns.mean()),
        )


def play_games(
    make_env: Callable[[], Env],
    players: Mapping[str, Player],
    games: int,
    seed: int,
    *,
    max_interactions: int = DEFAULT_MAX_INTERACTIONS,
) -> MatchResult:
    """Play ``games`` episodes, each role acted by its player.

    One env is made and reset for each game with ``derive_seed(seed, game)``; the players
    draw from their own generators, so seeded players on a seeded env replay the same match.

    Args:
        make_env: Makes the env (called once; the env is closed at the end).
        players: One player per role of the env (one object may play several roles).
        games: Episodes to play, at least 1.
        seed: Root of the envs' reset seeds.
        max_interactions: An episode that has not ended after this many interactions is an
            error (a game that never ends, or players that keep it from ending).

    Returns:
        Every role's returns and every game's length.

    Raises:
        MatchError: A role without a player (or a player for no role), a player that answered
            a number of actions other than one, or an episode past ``max_interactions``.
    """
    if games < 1:
        raise ValueError(f"play_games needs games >= 1, got {games}")
    env = make_env()
    try:
        name = getattr(env, "name", type(env).__name__)
        if set(players) != set(env.roles):
            raise MatchError(
                f"{name} has roles {list(env.roles)}, players were given for {sorted(players)}"
            )
        returns = {role: np.zeros(games) for role in env.roles}
        lengths = np.zeros(games, dtype=np.int64)
        for game in range(games):
            env.reset(seed=derive_seed(seed, game))
            episode_returns, lengths[game] = _play_episode(env, name, players, max_interactions)
            for role, value in episode_returns.items():
                returns[role][game] = value
    finally:
        env.close()
    return MatchResult(returns, lengths)


def _play_episode(
    env: Env, name: str, players: Mapping[str, Player], max_interactions: int
) -> tuple[dict[str, float], int]:
    """One episode from a reset env: each role's return, and the interactions it took."""
    returns = dict.fromkeys(env.roles, 0.0)
    interactions = 0
    while acting := env.acting_roles():
        if interactions == max_interactions:
            raise MatchError(
                f"{name}: the episode did not end within {max_interactions} interactions; "
                "does the env end its episodes (pass max_interactions for longer ones)?"
            )
        actions = {}
        for role in acting:
            obs = env.observe(role)
            returns[role] += obs.reward  # collected since role last acted: counted once
            answer = np.asarray(players[role].act_states([obs.state]))
            if len(answer) != 1:
                raise MatchError(
                    f"{name}: the player of {role!r} answered {len(answer)} actions for 1 state"
                )
            actions[role] = answer[0]
        env.interact(actions)
        interactions += 1
    for role in env.roles:  # what each role collected since its last action
        returns[role] += env.observe(role).reward
    return returns, interactions


def seat_results(
    make_env: Callable[[], Env],
    learner: Player,
    opponent: Player,
    games_per_seat: int,
    seed: int,
    *,
    max_interactions: int = DEFAULT_MAX_INTERACTIONS,
) -> dict[str, dict[str, float]]:
    """The learner's win, draw and loss fractions on each seat of a two-player game.

    The first seat is the env's ``roles[0]``, the one that moves first in a turn-based game;
    the opponent plays the other seat. The seats' games are seeded ``derive_seed(seed, 0)``
    and ``derive_seed(seed, 1)`` (see :func:`play_games`).

    Args:
        make_env: Makes the env, which must have exactly two roles.
        learner: The player measured.
        opponent: The player it meets.
        games_per_seat: Games on each seat.
        seed: Root seed of both seats' matches.
        max_interactions: As :func:`play_games`'s.

    Returns:
        ``{"first": {"win": .., "draw": .., "loss": ..}, "second": {...}}``: fractions of
        ``games_per_seat``, the last JSON line of ``rlactors evaluate --opponent``.

    Raises:
        MatchError: The env does not have two roles, or as :func:`play_games`.
    """
    env = make_env()
    roles, name = env.roles, getattr(env, "name", type(env).__name__)
    env.close()
    if len(roles) != 2:
        raise MatchError(f"{name} has roles {list(roles)}; seats are for two-player games")
    results = {}
    for index, (seat, role) in enumerate(zip(("first", "second"), roles, strict=True)):
        players = {r: learner if r == role else opponent for r in roles}
        match_seed = derive_seed(seed, index)
        match = play_games(
            make_env, players, games_per_seat, match_seed, max_interactions=max_interactions
        )
        results[seat] = match.record(role).fractions()
    return results
