"""Self-play on a PettingZoo game, then matches against scripted players.

PPO plays tic-tac-toe against itself and a league of its past selves (the env is PettingZoo's
``tictactoe_v3``, through the ``pettingzoo:`` id; ``pip install 'rlactors[multiagent]'``).
Afterwards the greedy policy plays each seat against a random player and a perfect one::

    python examples/multi_agent.py                 # ~1 minute on 2 cores
    python examples/multi_agent.py --env-steps 20000

See docs/multi_agent.md for policy mappings, scripted opponents and the league.
"""

from __future__ import annotations

import argparse
from typing import Any

from rlactors.algorithms.ppo.algorithm import PPO
from rlactors.algorithms.ppo.config import PPOConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-steps", type=int, default=300_000)
    args = parser.parse_args()
    config = PPOConfig(
        env="pettingzoo:classic/tictactoe_v3",
        self_play=True,  # the learner against itself and its league of snapshots
        max_env_steps=args.env_steps,
        num_envs_per_worker=8,
        rollout_steps=32,
        num_epochs=4,
        minibatch_size=256,
        learning_rate=3e-4,
        gamma=0.99,
        gae_lambda=0.95,
        entropy_coef=0.05,
        hidden_sizes=(128, 128),
    )

    def progress(metrics: dict[str, Any]) -> None:
        if metrics["iteration"] % 50 == 0:
            print(
                f"{metrics['env_steps']:>8} env steps | league {metrics['league_size']} "
                f"snapshots, rating {metrics['league_rating']:.0f}"
            )

    with PPO(config) as ppo:
        result = ppo.train(callback=progress)
        print(f"trained {result['env_steps']} env steps in {result['time_s']:.0f} s")
        for opponent in ("random", "minimax"):
            seats = ppo.evaluate_against(opponent, 100)["seats"]
            for role, s in seats.items():
                print(
                    f"{role} vs {opponent}: win {s['win']:.0%}, draw {s['draw']:.0%}, "
                    f"loss {s['loss']:.0%}"
                )


if __name__ == "__main__":
    main()
