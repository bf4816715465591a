"""CartPole sampling with the policy in the loop: 2 evaluators against one process's raw loop.

Issue #13's sampling bar: 2 evaluators on the process backend, sampling CartPole-v1 with their
policy acting (random initial weights, no learning), reach >= 1.0x the env steps/s of one
process's raw random-action loop (``env.step(env.action_space.sample())`` on
``gymnasium.make("CartPole-v1")``, resetting when an episode ends) measured in the same run.

Systems, each measured in timed blocks of ``--seconds`` that alternate between them
(``--blocks`` rounds, in a rotating order so load from other jobs falls on all alike; the
figure is the median block):

* **raw**: the loop above, in this process: the bar's reference;
* **ppo** (``ActorCriticEvaluator``: what PPO, A2C and IMPALA sample with) and **apex**
  (``DQNEvaluator`` with Ape-X's worker settings: 3-step returns, TD priorities computed by the
  worker, epsilon 0.1): 2 evaluators of ``K`` envs each (``--envs``, every K listed) stepping
  ``--rollout-steps`` steps per ``sample()``, env checks off as in training runs; this process
  keeps 2 ``sample()`` calls in flight per evaluator, so an evaluator never waits for the
  driver;
* **sb3** (if Stable-Baselines3 is installed, ``pip install -e '.[bench]'``): its PPO's
  ``collect_rollouts`` over a ``DummyVecEnv`` of ``2 K`` envs in one process (torch policy, one
  thread), the peer's usual way to sample with its policy in the loop.

Printed: env steps/s of each system per K, and each one's ratio to ``raw``; the bar (>= 1.0x)
for ppo and apex at every K. Last line: one JSON object.

    python benchmarks/sampling.py [--envs 16 64] [--rollout-steps 64] [--seconds 4] [--blocks 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

# One BLAS thread in this process, as the process backend gives every actor (set before numpy
# is imported: its OpenBLAS reads it once).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gymnasium as gym  # noqa: E402

from rlactors.actors import ActorRef, Runtime, SpawnRequest, spawn_many  # noqa: E402
from rlactors.envs import EnvSpec  # noqa: E402
from rlactors.evaluators import DQNEvaluator, EvaluatorConfig  # noqa: E402
from rlactors.evaluators.actor_critic import ActorCriticEvaluator, RolloutConfig  # noqa: E402

ENV_ID = "CartPole-v1"
EVALUATORS = 2
IN_FLIGHT = 2  # sample() calls kept in flight per evaluator

#: A block: run for about the given seconds, return env steps/s.
Block = Callable[[float], float]


def raw_block() -> Block:
    """One process's raw random-action loop."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    env.action_space.seed(0)

    def run(seconds: float) -> float:
        steps, start = 0, time.perf_counter()
        while True:
            for _ in range(1000):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    env.reset()
            steps += 1000
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return steps / elapsed

    return run


@contextmanager
def evaluators_block(kind: str, k: int, rollout_steps: int) -> Iterator[Block]:
    """2 evaluators of ``k`` envs each on the process backend, sampling without pause."""
    spec = EnvSpec.of(ENV_ID).resolve()
    if kind == "ppo":
        config: Any = RolloutConfig(spec, num_envs=k, rollout_steps=rollout_steps, check_env=False)
        cls: type = ActorCriticEvaluator
    else:
        config = EvaluatorConfig(
            spec, num_envs=k, rollout_steps=rollout_steps, n_step=3, epsilon=0.1,
            compute_priorities=True, check_env=False,
        )  # fmt: skip
        cls = DQNEvaluator
    steps_per_sample = k * rollout_steps
    refs: list[ActorRef[Any]] = spawn_many(
        SpawnRequest(cls, (config,), {"index": i}) for i in range(EVALUATORS)
    )
    try:
        for ref in refs:
            ref.ask("sample").result(timeout=120)  # warm-up: the envs' first steps

        def run(seconds: float) -> float:
            in_flight = {ref: [ref.ask("sample") for _ in range(IN_FLIGHT)] for ref in refs}
            steps, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                for ref, futures in in_flight.items():
                    futures.pop(0).result(timeout=120)
                    steps += steps_per_sample
                    futures.append(ref.ask("sample"))
            elapsed = time.perf_counter() - start
            for futures in in_flight.values():  # drained outside the timed window
                for future in futures:
                    future.result(timeout=120)
            return steps / elapsed

        yield run
    finally:
        for ref in refs:
            ref.stop(timeout=10.0)


def sb3_block(k: int, rollout_steps: int) -> Block | None:
    """SB3 PPO's collect_rollouts over a DummyVecEnv of ``2 k`` envs, or None without SB3."""
    try:
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError:
        return None
    torch.set_num_threads(1)
    envs = make_vec_env(ENV_ID, n_envs=EVALUATORS * k, seed=0)
    model = PPO("MlpPolicy", envs, n_steps=rollout_steps, device="cpu", seed=0)
    # What PPO.learn() sets up before its first rollout (the callback: an empty list).
    _, callback = model._setup_learn(total_timesteps=10**9, callback=None)
    steps_per_rollout = EVALUATORS * k * rollout_steps

    def run(seconds: float) -> float:
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.collect_rollouts(envs, callback, model.rollout_buffer, rollout_steps)
            steps += steps_per_rollout
        return steps / (time.perf_counter() - start)

    return run


def measure(ks: list[int], rollout_steps: int, seconds: float, blocks: int) -> dict[str, Any]:
    """Median env steps/s per system and K, blocks interleaved."""
    rates: dict[str, dict[int, list[float]]] = {}
    with Runtime("process"), ExitStack() as stack:
        systems: dict[tuple[str, int], Block] = {}
        for k in ks:
            systems[("raw", k)] = raw_block()
            for kind in ("ppo", "apex"):
                systems[(kind, k)] = stack.enter_context(evaluators_block(kind, k, rollout_steps))
            peer = sb3_block(k, rollout_steps)
            if peer is not None:
                systems[("sb3", k)] = peer
        keys = list(systems)
        for block in range(blocks):
            shift = block % len(keys)
            for key in keys[shift:] + keys[:shift]:
                name, k = key
                rates.setdefault(name, {}).setdefault(k, []).append(systems[key](seconds))
    return {
        name: {
            str(k): {
                "env_steps_per_s": statistics.median(values),
                "blocks": [round(v) for v in values],
            }
            for k, values in per_k.items()
        }
        for name, per_k in rates.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[16, 64], help="K per evaluator")
    parser.add_argument("--rollout-steps", type=int, default=64, help="steps per sample()")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per timed block")
    parser.add_argument("--blocks", type=int, default=3, help="timed blocks per system")
    args = parser.parse_args()
    results = measure(args.envs, args.rollout_steps, args.seconds, args.blocks)
    print(
        f"{ENV_ID}, policy in the loop, no learning; {EVALUATORS} evaluators of K envs, "
        f"{args.rollout_steps} steps per sample(); env steps/s (x raw loop, median of "
        f"{args.blocks} blocks of {args.seconds} s)"
    )
    names = list(results)
    print(f"{'K':>4}  " + "  ".join(f"{name:>18}" for name in names))
    bar: dict[str, dict[str, Any]] = {}
    for k in map(str, args.envs):
        raw = results["raw"][k]["env_steps_per_s"]
        cells = []
        for name in names:
            entry = results[name][k]
            entry["ratio_to_raw"] = entry["env_steps_per_s"] / raw
            cells.append(f"{entry['env_steps_per_s']:>10,.0f} ({entry['ratio_to_raw']:4.2f}x)")
            if name in ("ppo", "apex"):
                bar.setdefault(name, {})[k] = entry["ratio_to_raw"] >= 1.0
        print(f"{k:>4}  " + "  ".join(cells))
    for name, per_k in bar.items():
        met = ", ".join(f"K={k} {'met' if ok else 'NOT met'}" for k, ok in per_k.items())
        print(f"bar (>= 1.0x the raw loop), {name}: {met}")
    print(
        json.dumps(
            {
                "benchmark": "sampling",
                "env": ENV_ID,
                "evaluators": EVALUATORS,
                "rollout_steps": args.rollout_steps,
                "seconds": args.seconds,
                "blocks": args.blocks,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "results": results,
                "bar_met": bar,
            }
        )
    )


if __name__ == "__main__":
    main()
