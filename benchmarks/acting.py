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

With ``--env`` a pixel env (``MinAtar/Breakout-v1``, ``ALE/Pong-v5``; issue #12's "acting with
a CNN in evaluators"), the same questions for the CNN each env gets by default
(``DQNPolicyConfig()``'s network spec, ``encoder: auto``), each measurement bounded by
``--budget`` seconds rather than a count of calls:

  * act latency of ``NumpyQPolicy`` against ``DQNPolicy`` (same spec and weights, one torch
    thread) at each of ``--batches`` (median µs per ``act``, epsilon 0.1), and of
    ``NumpyActorCriticPolicy`` against ``ActorCriticPolicy`` (``ActorCriticConfig()``) at
    ``--batch``; no SB3 (its CNN is not the same network);
  * the evaluator's start-up and RSS as above (4 envs of ``--env``), and a third mode acting
    through a torch ``DQNPolicy`` (the spaces come from one extra env built first, which its
    seconds include), and the actor's spawn to first answer;
  * with ``--server``: 2 evaluators of 4 envs on the process backend, each with a local numpy
    copy against one ``ServedPolicy``: env steps/s of ``DQNEvaluator.sample()``, timed blocks
    alternating between the two.

No bar: the figures say whether numpy acting stays (the architecture issue's question). The
last line printed is one JSON object with every figure (for CartPole-v1, the default, exactly
the fields it always had).

Usage: python benchmarks/acting.py [--batch 4] [--calls 3000] [--repeats 5]
       python benchmarks/acting.py --env MinAtar/Breakout-v1 [--batches 1 4 16 64]
           [--budget 2] [--repeats 3] [--server]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

# One BLAS thread, as the process backend gives every actor (set before numpy is imported: its
# OpenBLAS reads it once). Left at one thread per core, OpenBLAS made the MinAtar CNN's numpy
# forward pass of 16 rows 90x slower (46 ms against 0.5 ms) on a loaded 2-core machine, its
# threads waiting for each other.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

CARTPOLE = "CartPole-v1"

#: A fresh interpreter: build a 4-env DQN evaluator, take one sample, report seconds and RSS.
#: Modes: "numpy" (its own NumpyQPolicy), "torch" (the same with torch imported),
#: "torch_acting" (acting through a torch DQNPolicy on the env's spaces).
_EVALUATOR_CHILD = """
import sys, time
start = float(sys.argv[1])
mode, env_id = sys.argv[2], sys.argv[3]
if mode != "numpy":
    import torch
    torch.set_num_threads(1)
from rlactors.evaluators import DQNEvaluator, EvaluatorConfig
config = EvaluatorConfig(env_id, num_envs=4, rollout_steps=25)
policy = None
if mode == "torch_acting":
    from rlactors.core import DEFAULT_ROLE
    from rlactors.policies import DQNPolicy
    env = config.env.make()
    spaces = env.observation_space(DEFAULT_ROLE), env.action_space(DEFAULT_ROLE)
    env.close()
    policy = DQNPolicy(*spaces, config.policy, seed=0)
evaluator = DQNEvaluator(config, policy=policy)
evaluator.sample()
seconds = time.time() - start
rss_kib = next(int(line.split()[1]) for line in open("/proc/self/status")
               if line.startswith("VmRSS:"))
print(seconds, rss_kib)
"""


def _median_us(call: Callable[[], Any], calls: int, budget_s: float = math.inf) -> float:
    """Median µs of ``calls`` timed calls after a warm-up of up to 200; with ``budget_s``,
    the warm-up stops after a quarter of it and the timing after all of it (at least 3 each)."""
    deadline = time.perf_counter() + budget_s / 4
    for i in range(min(200, calls)):  # warm up (torch's first calls allocate)
        if i >= 3 and time.perf_counter() > deadline:
            break
        call()
    deadline = time.perf_counter() + budget_s
    samples: list[float] = []
    while len(samples) < calls and (len(samples) < 3 or time.perf_counter() < deadline):
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


def pixel_act_latency(
    env_id: str, batches: list[int], ac_batch: int, calls: int, budget_s: float
) -> dict[str, Any]:
    """The default CNN of ``env_id`` and median µs per ``act``, numpy against torch.

    Returns ``{"network": ..., "q": {batch: {"numpy_us", "torch_us"}}, "actor_critic": {...}}``.
    """
    import torch

    from rlactors.core import DEFAULT_ROLE
    from rlactors.envs import EnvSpec
    from rlactors.policies import (
        ActorCriticConfig,
        ActorCriticPolicy,
        DQNPolicy,
        DQNPolicyConfig,
        NumpyActorCriticPolicy,
        NumpyQPolicy,
    )

    torch.set_num_threads(1)
    env = EnvSpec.of(env_id).resolve().make()
    obs_space, act_space = env.observation_space(DEFAULT_ROLE), env.action_space(DEFAULT_ROLE)
    env.close()
    q_config = DQNPolicyConfig()
    torch_q = DQNPolicy(obs_space, act_space, q_config, seed=0)
    numpy_q = NumpyQPolicy(obs_space, act_space, q_config, seed=0)
    numpy_q.set_weights(torch_q.get_weights())
    for policy in (torch_q, numpy_q):
        policy.set_epsilon(0.1)
    pool = np.stack([obs_space.sample() for _ in range(max(*batches, ac_batch))])
    encoder = numpy_q.spec.encoder
    network = {
        "observation": f"{list(pool.shape[1:])} {pool.dtype.name}",
        "encoder": encoder.kind,
        "convs": [[c.fan_out, c.kernel, c.stride] for c in encoder.convs],
        "features": encoder.features,
        "hidden_sizes": list(q_config.hidden_sizes),
        "dueling": q_config.dueling,
    }
    q: dict[int, dict[str, float]] = {}
    for batch in batches:
        obs = pool[:batch]
        q[batch] = {
            "numpy_us": _median_us(partial(numpy_q.act, obs), calls, budget_s),
            "torch_us": _median_us(partial(torch_q.act, obs), calls, budget_s),
        }
    ac_config = ActorCriticConfig()
    torch_ac = ActorCriticPolicy(obs_space, act_space, ac_config, seed=0)
    numpy_ac = NumpyActorCriticPolicy(obs_space, act_space, ac_config, seed=0)
    numpy_ac.set_weights(torch_ac.get_weights())
    obs = pool[:ac_batch]
    actor_critic = {
        "batch": ac_batch,
        "hidden_sizes": list(ac_config.hidden_sizes),
        "numpy_us": _median_us(lambda: numpy_ac.act_with_info(obs), calls, budget_s),
        "torch_us": _median_us(lambda: torch_ac.act_with_info(obs), calls, budget_s),
    }
    return {"network": network, "q": q, "actor_critic": actor_critic}


def evaluator_startup(mode: str, repeats: int, env_id: str = CARTPOLE) -> dict[str, float]:
    """Median launch-to-first-sample seconds and RSS (MiB) of an evaluator interpreter."""
    seconds, rss = [], []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _EVALUATOR_CHILD, repr(time.time()), mode, env_id],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        ).stdout.split()
        seconds.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
    return {"seconds": statistics.median(seconds), "rss_mib": statistics.median(rss)}


def actor_startup(repeats: int, env_id: str = CARTPOLE) -> float:
    """Median seconds from spawning a DQNEvaluator actor (process backend) to its answer."""
    from rlactors.actors import Runtime, spawn
    from rlactors.envs import EnvSpec
    from rlactors.evaluators import DQNEvaluator, EvaluatorConfig

    config = EvaluatorConfig(EnvSpec.of(env_id), num_envs=4, rollout_steps=25)
    samples = []
    with Runtime("process"):
        for _ in range(repeats):
            start = time.perf_counter()
            ref = spawn(DQNEvaluator, config)
            ref.ask("env_steps_per_sample").result(60)
            samples.append(time.perf_counter() - start)
            ref.stop(timeout=10.0)
    return statistics.median(samples)


def server_sampling(env_id: str, rounds: int, blocks: int) -> dict[str, Any]:
    """Env steps/s of 2 DQNEvaluators of 4 envs each (process backend), local numpy copies
    against one ``ServedPolicy``; the median of ``blocks`` blocks of ``rounds`` rounds each
    (one round: every evaluator's ``sample()`` of 25 steps, gathered), alternating."""
    from rlactors.actors import Runtime, SpawnRequest, gather, spawn_many
    from rlactors.core import DEFAULT_POLICY_ID, DEFAULT_ROLE
    from rlactors.envs import EnvSpec
    from rlactors.evaluators import DQNEvaluator, EvaluatorConfig
    from rlactors.inference import ServedPolicy, ServerConfig
    from rlactors.policies import DQNPolicyConfig, NumpyQPolicy

    evaluators, spec = 2, EnvSpec.of(env_id).resolve()
    config = EvaluatorConfig(spec, num_envs=4, rollout_steps=25, epsilon=0.1)
    env = spec.make()
    obs_space, act_space = env.observation_space(DEFAULT_ROLE), env.action_space(DEFAULT_ROLE)
    env.close()
    weights = NumpyQPolicy(obs_space, act_space, DQNPolicyConfig(), seed=123).get_weights()
    steps_per_round = evaluators * config.env_steps_per_sample
    per_s: dict[str, list[float]] = {"local": [], "server": []}
    with Runtime("process"):
        served = ServedPolicy(
            ServerConfig(), "q", obs_space, act_space, DQNPolicyConfig(), seed=0,
            weights=lambda: weights, name=f"acting-bench-{os.getpid()}",
        )  # fmt: skip
        fleets = {
            "local": spawn_many(
                SpawnRequest(DQNEvaluator, (config,), {"index": i}) for i in range(evaluators)
            ),
            "server": spawn_many(
                SpawnRequest(DQNEvaluator, (config,), {"index": i, "policy": served.client(i, 0.1)})
                for i in range(evaluators)
            ),
        }
        try:
            for ref in fleets["local"]:
                ref.tell("set_weights", {DEFAULT_POLICY_ID: weights})
            for refs in fleets.values():  # warm-up round
                gather([ref.ask("sample") for ref in refs], timeout=120)
            for block in range(blocks):
                for mode in ("local", "server") if block % 2 == 0 else ("server", "local"):
                    start = time.perf_counter()
                    for _ in range(rounds):
                        gather([ref.ask("sample") for ref in fleets[mode]], timeout=120)
                    per_s[mode].append(rounds * steps_per_round / (time.perf_counter() - start))
        finally:
            for refs in fleets.values():
                for ref in refs:
                    ref.stop(timeout=10.0)
            served.stop()
    return {
        "evaluators": evaluators,
        "envs_per_evaluator": config.num_envs,
        "env_steps_per_s": {mode: round(statistics.median(v), 1) for mode, v in per_s.items()},
        "env_steps_per_s_blocks": {mode: [round(x, 1) for x in v] for mode, v in per_s.items()},
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4, help="observations per act call")
    parser.add_argument("--calls", type=int, default=3000, help="timed act calls per system")
    parser.add_argument("--repeats", type=int, default=5, help="start-ups timed per system")
    parser.add_argument("--env", default=CARTPOLE, help="a Gymnasium id (pixel envs: a CNN)")
    parser.add_argument(
        "--batches", type=int, nargs="+", default=[1, 4, 16, 64], help="Q batches (not CartPole)"
    )
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per latency figure")
    parser.add_argument("--server", action="store_true", help="add the policy-server figure")
    parser.add_argument("--rounds", type=int, default=4, help="--server: rounds per block")
    parser.add_argument("--blocks", type=int, default=4, help="--server: blocks per mode")
    args = parser.parse_args()
    if args.env != CARTPOLE:
        pixels(args)
        return
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


def pixels(args: argparse.Namespace) -> None:
    """``main`` for an env other than CartPole: the CNN figures, a table, one JSON line."""
    latency = pixel_act_latency(args.env, args.batches, args.batch, args.calls, args.budget)
    print(f"{args.env}: {latency['network']}")
    print(f"{'act, median us':16} {'numpy':>10} {'torch':>10} {'numpy/torch':>12}  faster")
    rows = [(f"q, batch {b}", f) for b, f in latency["q"].items()]
    ac = latency["actor_critic"]
    rows.append((f"ac, batch {ac['batch']}", ac))
    for label, f in rows:
        over = f["numpy_us"] / f["torch_us"]
        faster = "numpy" if over < 1 else "torch"
        f["numpy_over_torch"] = round(over, 2)
        print(f"{label:16} {f['numpy_us']:10.1f} {f['torch_us']:10.1f} {over:12.2f}  {faster}")
    startup = {
        mode: evaluator_startup(mode, args.repeats, args.env)
        for mode in ("numpy", "torch", "torch_acting")
    }
    for mode, figures in startup.items():
        print(
            f"evaluator start-up ({mode}): {figures['seconds']:.2f} s to the first sample, "
            f"RSS {figures['rss_mib']:.0f} MiB"
        )
    spawn_s = actor_startup(args.repeats, args.env)
    print(f"DQNEvaluator actor, spawn to first answer (process backend): {spawn_s:.3f} s")
    served = server_sampling(args.env, args.rounds, args.blocks) if args.server else None
    if served is not None:
        print(f"2 evaluators x 4 envs, env steps/s: {served['env_steps_per_s']}")
    result = {
        "benchmark": "acting",
        "env": args.env,
        "network": latency["network"],
        "act_latency_us": {"q": latency["q"], "actor_critic": ac},
        "evaluator_startup": startup,
        "actor_spawn_to_first_answer_s": spawn_s,
        "server": served,
    }
    print(json.dumps(result))


if __name__ == "__main__":  # the process backend's actors re-import this file
    main()
