"""A custom env, defined in this script, trained with PPO and with DQN on actor processes.

No registration: the config takes the env class itself (or any function returning an env), and
``env_kwargs`` go to its constructor. The class travels to every actor process by value, so each
builds the same env. The same works with an rlactors ``Env`` subclass, a Gymnasium id, or
``"package.module:factory"`` (see docs/envs.md).

Run: python examples/custom_env.py
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlactors.algorithms.dqn.algorithm import DQN
from rlactors.algorithms.dqn.config import DQNConfig
from rlactors.algorithms.ppo.algorithm import PPO
from rlactors.algorithms.ppo.config import PPOConfig


class GoRight(gym.Env[np.ndarray, int]):
    """Walk from cell 0 to the last cell of a corridor: +1 there, and the episode ends.

    Observation: the position, one-hot. Actions: 0 left, 1 right. At most ``2 * length`` steps.
    """

    def __init__(self, length: int = 6) -> None:
        self.length = length
        self.observation_space = gym.spaces.Box(0.0, 1.0, (length,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position, self.steps = 0, 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position = max(0, self.position + (1 if action == 1 else -1))
        self.steps += 1
        at_goal = self.position == self.length - 1
        return self._obs(), float(at_goal), at_goal, self.steps >= 2 * self.length, {}

    def _obs(self) -> np.ndarray:
        return np.eye(self.length, dtype=np.float32)[self.position]


def main() -> None:
    # Solved: all 20 greedy episodes reach the goal (return 1.0). Seconds, on 2 cores.
    ppo = PPOConfig(
        env=GoRight,  # the class itself; or a function returning an env
        env_kwargs={"length": 6},  # its constructor's arguments
        backend="process",
        stop_reward=1.0,
        max_env_steps=50_000,
        eval_interval_env_steps=1024,
    )
    with PPO(ppo) as algorithm:
        report("ppo", algorithm.train())
    dqn = DQNConfig(
        env=GoRight,
        env_kwargs={"length": 6},
        backend="process",
        stop_reward=1.0,
        max_env_steps=20_000,
        eval_interval_env_steps=512,
        learning_starts_env_steps=256,
    )
    with DQN(dqn) as algorithm:
        report("dqn", algorithm.train())


def report(name: str, result: dict[str, Any]) -> None:
    print(
        f"{name}: solved {result['solved']}, greedy return {result['eval_return_mean']} "
        f"after {result['env_steps']} env steps"
    )


if __name__ == "__main__":  # actor processes import this file: train only when run
    main()
