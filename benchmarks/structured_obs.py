"""Structured observations and action masks: DQN, Ape-X and PPO on four small envs, 5 seeds.

The bars of the architecture issue (one seed each is a learning test in
``tests/learning/test_structured_observations.py``; this runs five):

* ``Blackjack-v1`` (Tuple of Discretes): greedy mean return >= -0.10 over 10,000 episodes
  (random play is about -0.40, basic strategy about -0.05);
* ``rlactors/DictMatch-v0`` (Dict; the reward needs its Box and its Discrete part): greedy
  mean return >= 8 of a possible 10, where a policy that sees one part only expects 0;
* ``FrozenLake-v1`` with ``is_slippery=False`` (Discrete observation): success rate >= 0.95
  over 100 greedy episodes;
* ``rlactors/MaskedChoice-v0`` and ``rlactors/MaskedChoicePZ-v0`` (Dict with an action mask;
  an illegal action costs -100 and ends the episode): 0 illegal actions in 10,000 training
  env steps, exploration included, and none in 100 greedy episodes.

Each run trains in this process with the learning tests' settings and a fixed budget (no early
stop for Blackjack; the others stop at their bar). Peers, in the same run, where installed:
Stable-Baselines3's DQN and PPO (``MultiInputPolicy`` for Dict observations; SB3 has no Tuple
observations, so no Blackjack) on the same budgets, and sb3-contrib's ``MaskablePPO`` on the
masked env. Their greedy returns are measured with the same episode counts.

Usage: ``python benchmarks/structured_obs.py [--seeds 0 1 2 3 4] [--tasks ...] [--peer-seeds N]``.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Task:
    """One env, its budget, what each algorithm changes from its defaults, and the bar."""

    env: str
    budget_env_steps: int
    eval_episodes: int
    bar: float
    stop_reward: float | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)


SMALL = {
    "dqn": {"hidden_sizes": (64, 64), "exploration_fraction": 0.5},
    "apex": {"replay_ratio": 8.0},
    # ReLU: tanh units with orthogonal init plateaued at ~6.7 on DictMatch's colour-by-sign
    # rule; raw advantages: normalized ones, all noise before the first FrozenLake success,
    # drove the policy deterministic (to a wall) before it ever found the goal.
    "ppo": {
        "backend": "inline",
        "activation": "relu",
        "normalize_advantages": False,
        "entropy_coef": 0.01,
    },
}
BLACKJACK = {
    "dqn": {"n_step": 1, "gamma": 1.0, "hidden_sizes": (64, 64), "exploration_fraction": 0.3,
            "learning_rate": 1e-3},
    "apex": {"n_step": 1, "gamma": 1.0, "replay_ratio": 8.0, "learning_rate": 1e-3},
    "ppo": {"gamma": 1.0, "backend": "inline"},
}  # fmt: skip
BLACKJACK_BUDGETS = {"dqn": 20_000, "apex": 30_000, "ppo": 50_000}

TASKS = {
    "blackjack": Task("Blackjack-v1", 50_000, 10_000, -0.10, fields=BLACKJACK),
    "dict_match": Task("rlactors/DictMatch-v0", 50_000, 100, 8.0, 9.0, fields=SMALL),
    "frozen_lake": Task(
        "FrozenLake-v1", 50_000, 100, 0.95, 1.0, {"is_slippery": False}, fields=SMALL
    ),
    "masked": Task("rlactors/MaskedChoice-v0", 10_000, 100, 0.0, fields=SMALL),
    "masked_pz": Task("rlactors/MaskedChoicePZ-v0", 10_000, 100, 0.0, fields=SMALL),
}
MASKED = ("masked", "masked_pz")


def run_rlactors(name: str, task: Task, algorithm: str, seed: int) -> dict[str, Any]:
    from rlactors.algorithms import get_algorithm

    entry = get_algorithm(algorithm)
    budget = BLACKJACK_BUDGETS[algorithm] if name == "blackjack" else task.budget_env_steps
    config = entry.config_class()(
        env=task.env,
        env_kwargs=task.env_kwargs,
        seed=seed,
        max_env_steps=budget,
        stop_reward=task.stop_reward,
        **task.fields[algorithm],
    )
    returns: list[float] = []
    start = time.perf_counter()
    with entry.algorithm_class()(config) as algo:
        result = algo.train(callback=lambda m: returns.extend(m["episode_returns"]))
        train_s = time.perf_counter() - start
        evaluation = algo.evaluate(task.eval_episodes)
    row = {
        "env_steps": result["env_steps"],
        "train_s": round(train_s, 2),
        "greedy_mean": evaluation["eval_return_mean"],
        "greedy_min": evaluation["eval_return_min"],
    }
    if name in MASKED:
        row["illegal_in_training"] = int((np.asarray(returns) < 0).sum())
        row["training_episodes"] = len(returns)
    row["passed"] = passed(name, task, row)
    return row


def passed(name: str, task: Task, row: dict[str, Any]) -> bool:
    if name in MASKED:
        return row.get("illegal_in_training", 0) == 0 and row["greedy_min"] >= 0.0
    return bool(row["greedy_mean"] >= task.bar)


def sb3_peers() -> dict[str, Callable[..., Any]]:
    peers: dict[str, Callable[..., Any]] = {}
    if importlib.util.find_spec("stable_baselines3") is not None:
        from stable_baselines3 import DQN, PPO

        peers["sb3_dqn"] = DQN
        peers["sb3_ppo"] = PPO
    if importlib.util.find_spec("sb3_contrib") is not None:
        from sb3_contrib import MaskablePPO

        peers["sb3_maskable_ppo"] = MaskablePPO
    return peers


def run_sb3(name: str, task: Task, peer: str, cls: Any, seed: int) -> dict[str, Any] | None:
    import gymnasium as gym
    import torch

    import rlactors.envs.gymnasium  # noqa: F401 - registers the rlactors/ ids

    if name == "blackjack":
        return None  # SB3 has no Tuple observation spaces
    if (peer == "sb3_maskable_ppo") != (name in MASKED):
        return None
    torch.set_num_threads(1)
    env = gym.make(task.env, **task.env_kwargs)
    dict_obs = isinstance(env.observation_space, gym.spaces.Dict)
    policy = "MultiInputPolicy" if dict_obs else "MlpPolicy"
    kwargs: dict[str, Any] = {"seed": seed, "verbose": 0}
    if peer == "sb3_dqn":
        kwargs |= {"exploration_fraction": 0.5, "learning_starts": 1000}
    model = cls(policy, env, **kwargs)
    start = time.perf_counter()
    model.learn(total_timesteps=task.budget_env_steps)
    train_s = time.perf_counter() - start
    returns = []
    for episode in range(task.eval_episodes):
        obs, _ = env.reset(seed=10_000 + episode)
        done, total = False, 0.0
        while not done:
            masks = {"action_masks": obs["action_mask"]} if peer == "sb3_maskable_ppo" else {}
            action, _ = model.predict(obs, deterministic=True, **masks)
            # predict gives a 0-d array; FrozenLake indexes a dict with the action.
            obs, reward, terminated, truncated, _ = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    row = {
        "env_steps": task.budget_env_steps,
        "train_s": round(train_s, 2),
        "greedy_mean": float(np.mean(returns)),
        "greedy_min": float(np.min(returns)),
    }
    row["passed"] = passed(name, task, row) if name not in MASKED else row["greedy_min"] >= 0
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--algorithms", nargs="+", default=["dqn", "apex", "ppo"])
    parser.add_argument(
        "--peer-seeds",
        type=int,
        default=None,
        help="run the peers on the first N seeds only (SB3 on these budgets takes ~1 min a run)",
    )
    args = parser.parse_args()
    torch_threads_one()
    peers = sb3_peers()
    figures: dict[str, Any] = {"seeds": args.seeds, "peers": sorted(peers), "tasks": {}}
    for name in args.tasks:
        task = TASKS[name]
        per_system: dict[str, list[dict[str, Any]]] = {}
        for seed in args.seeds:
            for algorithm in args.algorithms:
                row = run_rlactors(name, task, algorithm, seed)
                per_system.setdefault(algorithm, []).append(row)
                print(f"{name:12s} {algorithm:16s} seed {seed}: {row}", flush=True)
            if args.peer_seeds is not None and args.seeds.index(seed) >= args.peer_seeds:
                continue
            for peer, cls in peers.items():
                peer_row = run_sb3(name, task, peer, cls, seed)
                if peer_row is not None:
                    per_system.setdefault(peer, []).append(peer_row)
                    print(f"{name:12s} {peer:16s} seed {seed}: {peer_row}", flush=True)
        summary = {
            system: {
                "passed": sum(r["passed"] for r in rows),
                "runs": len(rows),
                "greedy_mean_median": float(np.median([r["greedy_mean"] for r in rows])),
                "train_s_median": float(np.median([r["train_s"] for r in rows])),
                "rows": rows,
            }
            for system, rows in per_system.items()
        }
        figures["tasks"][name] = {"env": task.env, "bar": task.bar, "systems": summary}
        for system, s in summary.items():
            print(
                f"== {name}: {system} passed {s['passed']}/{s['runs']}, median greedy "
                f"{s['greedy_mean_median']:.3f}, median train {s['train_s_median']:.1f} s",
                flush=True,
            )
    print(json.dumps(figures))


def torch_threads_one() -> None:
    import torch

    torch.set_num_threads(1)


if __name__ == "__main__":  # actor processes re-import this file
    main()
