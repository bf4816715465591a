"""DQN on CartPole-v1: env steps and seconds to solve, rlactors against Stable-Baselines3.

Solved means a greedy evaluation's mean return over 20 episodes reaches 475, within a budget of
100,000 env steps. Both contenders are held to the same criterion, checked at the same moments:
every 2,048 env steps, after the learning round that ends there (SB3 through a callback at the
start of its next rollout), with the same batched greedy-episode runner and fresh seeds each
time. Seconds are wall time from building the algorithm to the solving evaluation, evaluations
included.

- rlactors: ``DQNConfig`` defaults (RL-Zoo's CartPole hyperparameters plus 3-step returns,
  double-Q and a dueling head), inline backend unless ``--backend process``.
- Stable-Baselines3 (when installed): ``DQN("MlpPolicy")`` with RL-Zoo's tuned CartPole-v1
  hyperparameters: lr 2.3e-3, batch 64, buffer 100,000, learning_starts 1,000, gamma 0.99,
  target_update_interval 10, train_freq 256, gradient_steps 128, exploration_final_eps 0.04,
  net_arch [256, 256], and exploration over 16% of RL-Zoo's 50,000-step run (8,000 steps;
  ``exploration_fraction`` 0.08 of our 100,000-step budget keeps that schedule).

Both learn with one torch thread (rlactors' learner default; small batches gain nothing from
more on this machine). Seeds alternate between the contenders, so load from other processes on a
shared machine falls on both alike.

Usage: ``python benchmarks/dqn_cartpole.py [--seeds 0,1,2,3,4] [--backend inline|process]
[--no-sb3]``. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any

# No torch at the top: the actor-critic benchmarks import this module, and every actor
# process imports the script it was started from (see _cartpole_common.py).
from _sb3_common import RL_ZOO, solve_check

ENV_ID = "CartPole-v1"
STOP_REWARD = 475.0
EVAL_EPISODES = 20
EVAL_INTERVAL_ENV_STEPS = 2048
BUDGET_ENV_STEPS = 100_000
BAR_SEEDS = 4  # of 5 seeds must solve (rlactors)

# RL Zoo's CartPole-v1 entry, its epsilon decaying over as many env steps as in its 50K run.
SB3_ZOO = {
    **{k: v for k, v in RL_ZOO[("DQN", ENV_ID)].items() if k != "n_timesteps"},
    "exploration_fraction": 0.16 * 50_000 / BUDGET_ENV_STEPS,
}


def run_rlactors(seed: int, backend: str) -> dict[str, Any]:
    from rlactors.algorithms.dqn import DQN, DQNConfig

    start = time.perf_counter()
    config = DQNConfig(
        env=ENV_ID,
        seed=seed,
        backend=backend,  # type: ignore[arg-type]
        max_env_steps=BUDGET_ENV_STEPS,
        stop_reward=STOP_REWARD,
        eval_episodes=EVAL_EPISODES,
        eval_interval_env_steps=EVAL_INTERVAL_ENV_STEPS,
    )
    with DQN(config) as dqn:
        result = dqn.train()
    return {
        "seed": seed,
        "solved": result["solved"],
        "env_steps": result["env_steps"],
        "seconds": round(time.perf_counter() - start, 2),
        "eval_return_mean": result["eval_return_mean"],
    }


def run_sb3(seed: int) -> dict[str, Any]:
    from stable_baselines3 import DQN as SB3DQN

    start = time.perf_counter()
    callback = solve_check(
        seed,
        EVAL_INTERVAL_ENV_STEPS,
        env_id=ENV_ID,
        eval_episodes=EVAL_EPISODES,
        stop_reward=STOP_REWARD,
    )
    model = SB3DQN("MlpPolicy", ENV_ID, seed=seed, device="cpu", verbose=0, **SB3_ZOO)
    model.learn(total_timesteps=BUDGET_ENV_STEPS, callback=callback)
    seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "solved": callback.solved_at is not None,
        "env_steps": callback.solved_at if callback.solved_at is not None else model.num_timesteps,
        "seconds": round(seconds, 2),
        "eval_return_mean": callback.last_eval,
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [r for r in runs if r["solved"]]
    return {
        "solved_seeds": len(solved),
        "seeds": len(runs),
        "median_env_steps_to_solve": statistics.median(r["env_steps"] for r in solved)
        if solved
        else None,
        "median_seconds_to_solve": statistics.median(r["seconds"] for r in solved)
        if solved
        else None,
        "per_seed": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated root seeds")
    parser.add_argument("--backend", default="inline", choices=["inline", "process"])
    parser.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    import torch

    torch.set_num_threads(1)
    try:
        import stable_baselines3

        sb3_version: str | None = None if args.no_sb3 else stable_baselines3.__version__
    except ImportError:
        sb3_version = None
        print("stable-baselines3 is not installed: measuring rlactors only")
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for i, seed in enumerate(seeds):
        # Alternate who goes first, so slow phases of a shared machine hit both.
        order = ["rlactors", "sb3"] if i % 2 == 0 else ["sb3", "rlactors"]
        for name in order:
            if name == "rlactors":
                ours.append(run_rlactors(seed, args.backend))
                print(f"rlactors seed {seed}: {ours[-1]}", flush=True)
            elif sb3_version is not None:
                theirs.append(run_sb3(seed))
                print(f"sb3      seed {seed}: {theirs[-1]}", flush=True)
    result: dict[str, Any] = {
        "benchmark": "dqn_cartpole",
        "criterion": f"greedy mean return over {EVAL_EPISODES} episodes >= {STOP_REWARD:g}, "
        f"checked every {EVAL_INTERVAL_ENV_STEPS} env steps, budget {BUDGET_ENV_STEPS}",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        "backend": args.backend,
        "rlactors": summary(ours),
        "sb3": None if sb3_version is None else {"version": sb3_version, **summary(theirs)},
    }
    ours_s = result["rlactors"]["median_seconds_to_solve"]
    sb3_s = result["sb3"]["median_seconds_to_solve"] if result["sb3"] else None
    result["bar_met"] = result["rlactors"]["solved_seeds"] >= min(BAR_SEEDS, len(seeds))
    result["median_seconds_ratio_rlactors_over_sb3"] = (
        round(ours_s / sb3_s, 3) if ours_s is not None and sb3_s else None
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
