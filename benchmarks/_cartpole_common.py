"""What the actor-critic CartPole-v1 benchmarks share: the runs, the solve check, the report.

``{a2c,a3c,ppo,impala}_cartpole.py`` each time one rlactors algorithm (and, where the script
names one, a Stable-Baselines3 peer) solving CartPole-v1, the way ``apex_cartpole.py`` times
Ape-X:

- Solved means a greedy evaluation's mean return over 20 episodes reaches 475 (``STOP_REWARD``,
  ``EVAL_EPISODES`` of ``dqn_cartpole.py``) within the script's budget of env steps.
- Checks come at the same moments for every contender: the first learning-round boundary at or
  after each multiple of 4,096 env steps (``eval_interval_env_steps``' default), and only once
  the mean training return of the latest 20 episodes reaches half of 475 (rlactors'
  ``eval_trigger_fraction`` and ``return_window_episodes`` defaults; SB3 gets the same gate, or
  its greedy checks would start earlier and cost it time ours skips). rlactors checks with its
  own ``stop_reward`` mechanism; SB3 through ``_sb3_common.solve_check``, a callback at the
  start of each rollout (after the learning on the previous one), with the same batched
  greedy-episode runner and the same evaluation seeds (``derive_seed(seed, GREEDY_EVAL_STREAM,
  n)`` for the n-th evaluation, from ``rlactors.seeding``).
- rlactors runs each check on a greedy evaluator actor, on a snapshot of the weights, while it
  learns on (as Ape-X does; SB3's callback stops training meanwhile). Its ``env_steps`` are the
  count when the solving answer was read, so they include the rounds learned meanwhile
  (``eval_env_steps``: those of the snapshot that solved, the policy the run keeps).
- Every run is a fresh ``python`` process (the script in ``--child`` mode, launched by
  ``apex_cartpole.launch``), timed from just before launch to the line it prints right after
  the solving evaluation (before shutting down): interpreter start-up, imports, building envs,
  actors and networks, learning and evaluations all count. The child reports its split:
  ``startup_s`` (launch to its first line: the interpreter and the benchmark modules, whose top
  level imports no torch, because every actor process imports the script it was started from),
  ``import_s`` (the algorithm's modules, or SB3 and torch; rlactors imports torch when it
  builds the algorithm, inside ``in_process_seconds``),
  ``in_process_seconds`` (building the algorithm to solving), and the parent ``exit_s``
  (shutting down after the result line, not counted).
- Every learner uses one torch thread. Seeds alternate which contender goes first, so load from
  other processes on a shared machine falls on both alike. Medians are over the seeds that
  solved (as in ``dqn_cartpole.py``), with ``median_seconds_unsolved_as_never`` beside them.

A script calls :func:`main` with its algorithm, budget and optional :class:`Peer`; the last
line it prints is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _sb3_common import solve_check
from apex_cartpole import launch, median_unsolved_as_never, ratio, reporter
from dqn_cartpole import BAR_SEEDS, ENV_ID, EVAL_EPISODES, STOP_REWARD, summary

from rlactors.algorithms import config_to_dict, get_algorithm
from rlactors.algorithms.actor_critic_config import ActorCriticRunConfig

#: Prefix of a child's result line on its stdout.
RESULT_TAG = "AC_CARTPOLE_RESULT "
NUM_WORKERS = 2
#: rlactors' defaults, which SB3's checks copy.
EVAL_INTERVAL_ENV_STEPS = ActorCriticRunConfig.eval_interval_env_steps
EVAL_TRIGGER_FRACTION = ActorCriticRunConfig.eval_trigger_fraction
RETURN_WINDOW_EPISODES = ActorCriticRunConfig.return_window_episodes

#: ``report(imported, run)``: the child's result line (``apex_cartpole.reporter``).
Report = Callable[[float, dict[str, Any]], None]


@dataclass(frozen=True)
class Peer:
    """A Stable-Baselines3 contender.

    Attributes:
        run: ``run(seed, report)`` in the child: import SB3, train with :func:`run_sb3`.
        algorithm: SB3's class name, e.g. ``"PPO"``.
        hyperparameters: What it trains with, for the report (RL-Zoo's spelling).
    """

    run: Callable[[int, Report], None]
    algorithm: str
    hyperparameters: dict[str, Any]


def rlactors_config(algo: str, seed: int, backend: str, budget: int) -> Any:
    """The config every rlactors run uses: the algorithm's defaults with the run's fields."""
    return get_algorithm(algo).config_class()(
        env=ENV_ID,
        seed=seed,
        backend=backend,
        num_workers=NUM_WORKERS,
        max_env_steps=budget,
        stop_reward=STOP_REWARD,
        eval_episodes=EVAL_EPISODES,
    )


# -- the child: one training run in a fresh process ------------------------------------------------


def run_rlactors(algo: str, seed: int, backend: str, budget: int, report: Report) -> None:
    """``algo`` until solved or out of budget; ``report`` is called before shutting down."""
    algorithm_class = get_algorithm(algo).algorithm_class()  # imports torch and the parts
    imported = time.time()
    start = time.perf_counter()
    config = rlactors_config(algo, seed, backend, budget)
    evals: list[tuple[int, float]] = []

    def on_iteration(metrics: dict[str, Any]) -> None:
        if metrics["eval_return_mean"] is not None:
            evals.append((metrics["env_steps"], round(metrics["eval_return_mean"], 1)))

    with algorithm_class(config) as algorithm:
        result = algorithm.train(callback=on_iteration)
        report(
            imported,
            {
                "seed": seed,
                "solved": result["solved"],
                "env_steps": result["env_steps"],
                "eval_env_steps": result["eval_env_steps"],
                "seconds": round(time.perf_counter() - start, 2),
                "eval_return_mean": result["eval_return_mean"],
                "training_time_s": round(result["time_s"], 2),
                "learner_steps": result["learner_steps"],
                "evaluations": evals,
            },
        )


def run_sb3(
    seed: int, budget: int, build: Callable[[], Any], imported: float, report: Report
) -> None:
    """Train the SB3 model ``build()`` returns until solved or out of budget; report it."""
    start = time.perf_counter()
    callback = solve_check(
        seed,
        EVAL_INTERVAL_ENV_STEPS,
        env_id=ENV_ID,
        eval_episodes=EVAL_EPISODES,
        stop_reward=STOP_REWARD,
        gate=(RETURN_WINDOW_EPISODES, EVAL_TRIGGER_FRACTION * STOP_REWARD),
    )
    model = build()
    model.learn(total_timesteps=budget, callback=callback)
    report(
        imported,
        {
            "seed": seed,
            "solved": callback.solved_at is not None,
            "env_steps": callback.solved_at
            if callback.solved_at is not None
            else model.num_timesteps,
            "seconds": round(time.perf_counter() - start, 2),
            "eval_return_mean": callback.last_eval,
            "evaluations": callback.evaluations,
        },
    )


# -- the parent: launch, time, compare -------------------------------------------------------------


def main(
    algo: str,
    doc: str,
    script: str,
    budget: int,
    *,
    peer: Peer | None = None,
    speed_bar: float | None = None,
    default_seeds: int = 5,
) -> None:
    """The whole benchmark of ``algo_cartpole.py`` (parent, or child with ``--child``).

    Args:
        algo: rlactors' registry name (``"ppo"``).
        doc: The script's docstring (its first paragraph is ``--help``'s description).
        script: The script's path (children run it with ``--child``).
        budget: Env steps within which a seed must solve.
        peer: The SB3 contender, if any (``--no-sb3`` skips it).
        speed_bar: If set, a bar: rlactors' median seconds to solve <= this x the peer's.
        default_seeds: Seeds 0, 1, ... run without ``--seeds``. The solve bar scales with
            them: 4 of 5 is 80%, so 16 of 20.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(default_seeds)))
    parser.add_argument(
        "--backend", default="process", help="rlactors' backend (inline, process, ray)"
    )
    if peer is not None:
        parser.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3")
    parser.add_argument("--child", choices=["rlactors", "sb3"], help=argparse.SUPPRESS)
    parser.add_argument("--launched-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        report = reporter(args.launched_at, RESULT_TAG)
        if args.child == "rlactors":
            # Its learner is on one torch thread by its config (learner_torch_threads=1), and
            # building it imports torch: the process backend's fork server starts first and
            # does its imports meanwhile.
            run_rlactors(algo, args.seeds[0], args.backend, budget, report)
        else:
            import torch

            torch.set_num_threads(1)  # every learner on one thread, as rlactors'
            assert peer is not None
            peer.run(args.seeds[0], report)
        return

    import torch

    sb3_version: str | None = None
    if peer is not None and not args.no_sb3:
        try:
            import stable_baselines3

            sb3_version = stable_baselines3.__version__
        except ImportError:
            print("stable-baselines3 is not installed: measuring rlactors only")
    systems = ["rlactors"] + (["sb3"] if sb3_version is not None else [])
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    for i, seed in enumerate(args.seeds):
        # Alternate who goes first, so slow phases of a shared machine hit both.
        for system in systems if i % 2 == 0 else systems[::-1]:
            runs[system].append(launch(system, seed, args.backend, script=script, tag=RESULT_TAG))
            print(f"{system:8} seed {seed}: {runs[system][-1]}", flush=True)

    def figures(system: str) -> dict[str, Any]:
        return {
            **summary(runs[system]),
            "median_seconds_unsolved_as_never": median_unsolved_as_never(runs[system]),
        }

    ours = figures("rlactors")
    # config_to_dict, not dataclasses.asdict: the env fields hold specs and kwargs mappings
    # that only it writes as JSON (asdict's output made the final json.dumps fail).
    config = config_to_dict(rlactors_config(algo, 0, args.backend, budget))
    del config["seed"]
    result: dict[str, Any] = {
        "benchmark": f"{algo}_cartpole",
        "criterion": f"greedy mean return over {EVAL_EPISODES} episodes >= {STOP_REWARD:g}, "
        f"budget {budget} env steps, checked every {EVAL_INTERVAL_ENV_STEPS} env steps once the "
        f"training mean of {RETURN_WINDOW_EPISODES} episodes >= "
        f"{EVAL_TRIGGER_FRACTION * STOP_REWARD:g}; seconds from launching a fresh process to "
        "its solved report",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch_threads": 1,
            "torch": torch.__version__,
        },
        "backend": args.backend,
        "rlactors": {"algorithm": algo, "config": config, **ours},
        "sb3": None,
    }
    need = math.ceil(BAR_SEEDS / 5 * len(args.seeds))  # the 4 of 5, as a fraction
    bars: dict[str, bool | None] = {
        f"{algo}_solves_{need}_of_{len(args.seeds)}_seeds": ours["solved_seeds"] >= need
    }
    if peer is not None and sb3_version is not None:
        theirs = figures("sb3")
        result["sb3"] = {
            "version": sb3_version,
            "algorithm": peer.algorithm,
            "hyperparameters": peer.hyperparameters,
            **theirs,
        }
        ours_s, sb3_s = ours["median_seconds_to_solve"], theirs["median_seconds_to_solve"]
        result["median_seconds_ratio_rlactors_over_sb3"] = ratio(ours_s, sb3_s)
        result["median_env_steps_ratio_rlactors_over_sb3"] = ratio(
            ours["median_env_steps_to_solve"], theirs["median_env_steps_to_solve"]
        )
        if speed_bar is not None:
            bars[f"{algo}_median_seconds_le_{speed_bar:g}x_sb3"] = (
                ours_s is not None and sb3_s is not None and ours_s <= speed_bar * sb3_s
            )
    elif speed_bar is not None:
        bars[f"{algo}_median_seconds_le_{speed_bar:g}x_sb3"] = None  # SB3 did not run
    for name, met in bars.items():
        print(f"bar {name}: {'not measured' if met is None else 'met' if met else 'NOT met'}")
    result["bars"] = bars
    result["bars_met"] = all(met is True for met in bars.values())
    print(json.dumps(result))
