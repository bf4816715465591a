"""Acting on whichever env actors are ready vs lockstep, with envs whose step times vary.

Issue #13: an evaluator "steps [its env actors] asynchronously and acts on whichever are
ready". With ``env_stepping="lockstep"`` every step waits for the slowest of its K envs; with
``"ready"`` it acts on the envs that answered and sends them their next actions while the
others still step, so a slow step holds up only its own env. The env is
``rlactors.envs.toy:SlowEnv`` with each step's time drawn uniformly from
``[--step-ms LOW HIGH]`` (a simulator whose steps take unequal times), each env in a process
of its own; the evaluators act with their policy (random initial weights, no learning). In
the same run, in timed blocks that alternate between them (the median of ``--blocks``):

* **lockstep**, **ready** and **double_buffer**: PPO's evaluator
  (``ActorCriticEvaluator.rollout``, 32 steps per env per call, its policy of ``--hidden``
  sizes) on K env actors, the process backend;
* **ready (Ape-X)**: Ape-X's worker (``DQNEvaluator.sample``: 3-step rows, TD priorities);
* **gymnasium**: ``gymnasium.vector.AsyncVectorEnv`` of the same env, random actions (its
  step waits for all K: lockstep);
* **sb3**: Stable-Baselines3's ``SubprocVecEnv``, random actions, if installed.

Printed per K: env steps/s of each, over the ideal ``K / mean step time`` (what K envs that
never wait for one another, nor for the policy, would reach). Last line: one JSON object.
Double-buffering pays where acting takes about as long as a step: ``--step-ms 4 4 --hidden
1024 1024`` (steps of 4 ms, a forward pass of some ms) shows it.

    python benchmarks/env_stepping.py [--envs 4 16] [--step-ms 1 9] [--hidden 64 64]
        [--seconds 4] [--blocks 3]
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

import numpy as np

from rlactors.actors import Runtime
from rlactors.envs import EnvSpec
from rlactors.envs.to_gymnasium import to_gymnasium
from rlactors.envs.toy import SlowEnv
from rlactors.evaluators import DQNEvaluator, EnvActorsConfig, EvaluatorConfig
from rlactors.evaluators.actor_critic import ActorCriticEvaluator, RolloutConfig
from rlactors.policies import ActorCriticConfig, DQNPolicyConfig

ROLLOUT_STEPS = 32

#: A block: run for about the given seconds, return env steps/s.
Block = Callable[[float], float]


def _timed(step: Callable[[], int], seconds: float) -> float:
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        steps += step()
    return steps / (time.perf_counter() - start)


@contextmanager
def evaluator_block(kind: str, k: int, spec: EnvSpec, hidden: tuple[int, ...]) -> Iterator[Block]:
    """PPO's or Ape-X's evaluator on K env actors, stepped in ``kind``'s way."""
    stepping = "ready" if kind == "ready (Ape-X)" else kind
    actors = EnvActorsConfig("process", stepping=stepping)  # type: ignore[arg-type]
    evaluator: Any
    if kind == "ready (Ape-X)":
        config = EvaluatorConfig(
            spec, num_envs=k, rollout_steps=ROLLOUT_STEPS, n_step=3, epsilon=0.1,
            compute_priorities=True, check_env=False, env_actors=actors,
            policy=DQNPolicyConfig(hidden_sizes=hidden),
        )  # fmt: skip
        evaluator = DQNEvaluator(config)
        step: Callable[[], Any] = evaluator.sample
    else:
        rollout = RolloutConfig(
            spec, num_envs=k, rollout_steps=ROLLOUT_STEPS, check_env=False, env_actors=actors,
            policy=ActorCriticConfig(hidden_sizes=hidden),
        )  # fmt: skip
        evaluator = ActorCriticEvaluator(rollout)
        step = evaluator.rollout
    try:
        step()  # warm-up
        yield lambda seconds: _timed(lambda: (step(), k * ROLLOUT_STEPS)[1], seconds)
    finally:
        evaluator.close()


def _uneven_gym_env(low: float, high: float) -> Callable[[], Any]:
    """A factory of the uneven SlowEnv as a Gymnasium env, for the peers' vector envs."""

    def make() -> Any:
        return to_gymnasium(SlowEnv(step_ms=low, step_ms_max=high))

    return make


@contextmanager
def gymnasium_block(k: int, low: float, high: float) -> Iterator[Block]:
    import gymnasium as gym

    envs = gym.vector.AsyncVectorEnv([_uneven_gym_env(low, high) for _ in range(k)])
    envs.reset(seed=0)
    try:
        yield lambda seconds: _timed(lambda: (envs.step(envs.action_space.sample()), k)[1], seconds)
    finally:
        envs.close()


@contextmanager
def sb3_block(k: int, low: float, high: float) -> Iterator[Block]:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    envs = SubprocVecEnv([_uneven_gym_env(low, high) for _ in range(k)], start_method="forkserver")
    envs.seed(0)
    envs.reset()
    rng = np.random.default_rng(0)
    try:
        yield lambda seconds: _timed(lambda: (envs.step(rng.integers(0, 2, k)), k)[1], seconds)
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--step-ms", type=float, nargs=2, default=[1.0, 9.0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    low, high = args.step_ms
    spec = EnvSpec.of(SlowEnv, {"step_ms": low, "step_ms_max": high})
    try:
        import stable_baselines3  # noqa: F401

        has_sb3 = True
    except ImportError:
        has_sb3 = False
    systems = ["lockstep", "ready", "double_buffer", "ready (Ape-X)", "gymnasium"]
    systems += ["sb3"] if has_sb3 else []
    hidden = tuple(args.hidden)
    results: dict[str, dict[str, Any]] = {s: {} for s in systems}
    with Runtime("process"):
        for k in args.envs:
            ideal = k / ((low + high) / 2 / 1000.0)
            with ExitStack() as stack:
                blocks: dict[str, Block] = {}
                for system in systems:
                    if system == "gymnasium":
                        blocks[system] = stack.enter_context(gymnasium_block(k, low, high))
                    elif system == "sb3":
                        blocks[system] = stack.enter_context(sb3_block(k, low, high))
                    else:
                        blocks[system] = stack.enter_context(
                            evaluator_block(system, k, spec, hidden)
                        )
                rates: dict[str, list[float]] = {s: [] for s in systems}
                for b in range(args.blocks):
                    order = systems[b % len(systems) :] + systems[: b % len(systems)]
                    for system in order:
                        rates[system].append(blocks[system](args.seconds))
            for system in systems:
                rate = statistics.median(rates[system])
                results[system][str(k)] = {
                    "env_steps_per_s": rate,
                    "blocks": [round(r) for r in rates[system]],
                    "of_ideal": rate / ideal,
                }
            print(
                f"K={k} (ideal {ideal:,.0f} env steps/s): "
                + "; ".join(
                    f"{s} {results[s][str(k)]['env_steps_per_s']:,.0f} "
                    f"({results[s][str(k)]['of_ideal']:.2f})"
                    for s in systems
                ),
                flush=True,
            )
    ratio = {
        mode: {
            str(k): results[mode][str(k)]["env_steps_per_s"]
            / results["lockstep"][str(k)]["env_steps_per_s"]
            for k in args.envs
        }
        for mode in ("ready", "double_buffer")
    }
    for mode, by_k in ratio.items():
        ratios = ", ".join(f"K={k} {r:.2f}x" for k, r in by_k.items())
        print(f"{mode} / lockstep (PPO's evaluator): {ratios}")
    print(
        json.dumps(
            {
                "benchmark": "env_stepping",
                "step_ms": [low, high],
                "hidden": list(hidden),
                "rollout_steps": ROLLOUT_STEPS,
                "seconds": args.seconds,
                "blocks": args.blocks,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "results": results,
                "over_lockstep": ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
