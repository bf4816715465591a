"""Acting in evaluators: numpy on the network spec against torch, and what an evaluator costs.

rlactors' evaluators act with a numpy interpreter of the learner's ``NetworkSpec``
(``NumpyQPolicy``, ``NumpyActorCriticPolicy``) instead of a torch copy of the network. This
measures, in one run on this machine, whether that still pays:

  * act latency on one batch of CartPole observations (median microseconds over many calls,
    the batch an evaluator with ``--num-envs`` envs acts on each step): the numpy policies, the
    torch policies they mirror (same spec and weights, one torch thread), and the peer SB3's
    ``policy.predict`` for a network of the same size where Stable-Baselines3 is installed;
  * an evaluator process's start-up and memory: a fresh interpreter that builds a
    ``DQNEvaluator`` of 4 CartPole envs and takes its first sample, with and without torch
    imported (wall seconds from launch to the sample, and the process's RSS then);
  * an evaluator actor on the process backend (spawn start method, no fork server): seconds
    from ``spawn`` to its first answer.

No bar: the figures say whether numpy acting stays (the architecture issue's question). The
last line printed is one JSON object with every figure.

Usage: python benchmarks/acting.py [--batch 4] [--calls 3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

#: A fresh interpreter: build a 4-env DQN evaluator, take one sample, report seconds and RSS.
_EVALUATOR_CHILD = """
import sys, time
start = float(sys.argv[1])
if sys.argv[2] == "torch":
    import torch
    torch.set_num_threads(1)
from rlactors.evaluators import DQNEvaluator, EvaluatorConfig
evaluator = DQNEvaluator(EvaluatorConfig("CartPole-v1", num_envs=4, rollout_steps=25))
evaluator.sample()
seconds = time.time() - start
rss_kib = next(int(line.split()[1]) for line in open("/proc/self/status")
               if line.startswith("VmRSS:"))
print(seconds, rss_kib)
"""


def _median_us(call: Callable[[], Any], calls: int) -> float:
    for _ in range(min(200, calls)):  # warm up (torch's first calls allocate)
        call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def act_latency(batch: int, calls: int) -> dict[str, float | None]:
    """Median µs per ``act`` on ``batch`` CartPole observations, per system."""
    import torch

    from rlactors.policies import (
        ActorCriticConfig,
        ActorCriticPolicy,
        DQNPolicy,
        DQNPolicyConfig,
        NumpyActorCriticPolicy,
        NumpyQPolicy,
    )

    torch.set_num_threads(1)
    env = gym.make("CartPole-v1")
    obs_space, act_space = env.observation_space, env.action_space
    obs = np.stack([obs_space.sample() for _ in range(batch)]).astype(np.float32)
    q_config = DQNPolicyConfig(hidden_sizes=(128, 128), dueling=True)  # Ape-X's defaults
    torch_q = DQNPolicy(obs_space, act_space, q_config, seed=0)
    numpy_q = NumpyQPolicy(obs_space, act_space, q_config, seed=0)
    numpy_q.set_weights(torch_q.get_weights())
    for policy in (torch_q, numpy_q):
        policy.set_epsilon(0.1)
    ac_config = ActorCriticConfig(hidden_sizes=(64, 64))  # the actor-critics' defaults
    torch_ac = ActorCriticPolicy(obs_space, act_space, ac_config, seed=0)
    numpy_ac = NumpyActorCriticPolicy(obs_space, act_space, ac_config, seed=0)
    numpy_ac.set_weights(torch_ac.get_weights())
    figures: dict[str, float | None] = {
        "numpy_q_us": _median_us(lambda: numpy_q.act(obs), calls),
        "torch_q_us": _median_us(lambda: torch_q.act(obs), calls),
        "numpy_actor_critic_us": _median_us(lambda: numpy_ac.act_with_info(obs), calls),
        "torch_actor_critic_us": _median_us(lambda: torch_ac.act_with_info(obs), calls),
        "sb3_dqn_predict_us": None,
        "sb3_ppo_predict_us": None,
    }
    try:
        from stable_baselines3 import DQN, PPO
    except ImportError:
        return figures
    sb3_dqn = DQN("MlpPolicy", env, policy_kwargs={"net_arch": [128, 128]}, device="cpu")
    sb3_ppo = PPO("MlpPolicy", env, policy_kwargs={"net_arch": [64, 64]}, device="cpu")
    figures["sb3_dqn_predict_us"] = _median_us(lambda: sb3_dqn.predict(obs), calls)
    figures["sb3_ppo_predict_us"] = _median_us(lambda: sb3_ppo.predict(obs), calls)
    return figures


def evaluator_startup(mode: str, repeats: int) -> dict[str, float]:
    """Median launch-to-first-sample seconds and RSS (MiB) of an evaluator interpreter."""
    seconds, rss = [], []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _EVALUATOR_CHILD, repr(time.time()), mode],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        ).stdout.split()
        seconds.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
    return {"seconds": statistics.median(seconds), "rss_mib": statistics.median(rss)}


def actor_startup(repeats: int) -> float:
    """Median seconds from spawning a DQNEvaluator actor (process backend) to its answer."""
    from rlactors.actors import Runtime, spawn
    from rlactors.evaluators import DQNEvaluator, EvaluatorConfig

    config = EvaluatorConfig("CartPole-v1", num_envs=4, rollout_steps=25)
    samples = []
    with Runtime("process"):
        for _ in range(repeats):
            start = time.perf_counter()
            ref = spawn(DQNEvaluator, config)
            ref.ask("env_steps_per_sample").result(60)
            samples.append(time.perf_counter() - start)
            ref.stop(timeout=10.0)
    return statistics.median(samples)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4, help="observations per act call")
    parser.add_argument("--calls", type=int, default=3000, help="timed act calls per system")
    parser.add_argument("--repeats", type=int, default=5, help="start-ups timed per system")
    args = parser.parse_args()
    latency = act_latency(args.batch, args.calls)
    for name, value in latency.items():
        print(f"act, batch {args.batch}: {name:24} {'-' if value is None else f'{value:8.1f}'}")
    numpy_start = evaluator_startup("numpy", args.repeats)
    torch_start = evaluator_startup("torch", args.repeats)
    print(f"evaluator start-up, numpy acting: {numpy_start}")
    print(f"evaluator start-up, torch imported: {torch_start}")
    spawn_s = actor_startup(args.repeats)
    print(f"DQNEvaluator actor, spawn to first answer (process backend): {spawn_s:.3f} s")
    result = {
        "benchmark": "acting",
        "batch": args.batch,
        "act_latency_us": latency,
        "torch_over_numpy_q": _ratio(latency["torch_q_us"], latency["numpy_q_us"]),
        "torch_over_numpy_actor_critic": _ratio(
            latency["torch_actor_critic_us"], latency["numpy_actor_critic_us"]
        ),
        "sb3_over_numpy_q": _ratio(latency["sb3_dqn_predict_us"], latency["numpy_q_us"]),
        "evaluator_startup_numpy": numpy_start,
        "evaluator_startup_torch": torch_start,
        "actor_spawn_to_first_answer_s": spawn_s,
    }
    print(json.dumps(result))


if __name__ == "__main__":  # the process backend's actors re-import this file
    main()
