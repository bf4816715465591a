"""Verify a shipped preset: train ``rlactors train ALGO --env ENV`` (the preset, no other
hyperparameter flag) on N seeds, and Stable-Baselines3 beside it in the same run.

Each seed is a fresh ``python -m rlactors.cli.main train ALGO --env ENV --seed S --run-dir
DIR --overwrite --quiet`` process, run one after another (the machines are shared: run it under
``nice -n 10``). Solved is what the run itself reports: a greedy evaluation's mean return over
the preset's ``eval_episodes`` reached its ``stop_reward``, and so did the confirming
evaluation of the same policy (``final_eval_episodes``), within its ``max_env_steps``. Per seed
it prints solved, the greedy return of the last evaluation and of the last confirming one, the
env steps and the wall time from launch to exit (start-up and shutdown included).

The peer (skipped with ``--no-peer``, or when SB3 is not installed): per seed, SB3 trains in a
fresh process too (this script with ``--sb3-child``, one torch thread), rlactors first on even
seeds and SB3 first on odd ones, so load from other jobs falls on both alike. Its algorithm is
SB3's of the same name (dqn, ppo, a2c), else the closest (apex: DQN; a3c and impala: A2C; the
output says so). Its hyperparameters are RL Zoo's tuned ones for that algorithm and env
(:data:`RL_ZOO`), else SB3's defaults (said so). It is held to the preset's criterion, read
from the preset: a greedy check over ``eval_episodes`` every ``eval_interval_env_steps`` (after
the rollout that ends there, once the training mean reaches ``eval_trigger_fraction`` of a
positive ``stop_reward``, as rlactors gates it), on separate envs with rlactors' episode runner
and evaluation seeds; a check that meets ``stop_reward`` is confirmed over
``final_eval_episodes``; solved stops it; ``max_env_steps`` is its budget. Its wall time is
launch to exit, as rlactors'.

The last line printed is one JSON object with every figure: the rlactors ones at the top level,
the peer's under ``peer`` (same per-seed figures and medians), and ``ratio_median_wall_s`` and
``ratio_median_env_steps`` (rlactors / peer, medians over the seeds both solved; null if none).

Usage: ``nice -n 10 python benchmarks/presets.py ppo LunarLander-v3 [--seeds 3]
[--first-seed 0] [--keep-runs DIR] [--no-peer]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _sb3_common import RL_ZOO, linear, solve_check

from rlactors.algorithms import get_algorithm
from rlactors.cli.presets import merge_config

#: rlactors' algorithm -> SB3's of the same name, or the closest where SB3 has none: Ape-X is
#: distributed DQN, A3C asynchronous A2C, IMPALA an off-policy-corrected A2C.
PEERS = {"dqn": "DQN", "ppo": "PPO", "a2c": "A2C", "apex": "DQN", "a3c": "A2C", "impala": "A2C"}


#: Keys of an RL Zoo entry that say how to build the env or how long RL Zoo ran, not keyword
#: arguments of the SB3 algorithm.
ZOO_ONLY_KEYS = ("n_timesteps", "n_envs", "normalize")

#: Prefix of the SB3 child's result line on its stdout.
RESULT_TAG = "PRESETS_PEER_RESULT "
#: A peer child that has not exited in this long is killed (a hung run, not a slow one: the
#: longest presets take ~10 minutes here).
CHILD_TIMEOUT_S = 4 * 3600


@dataclasses.dataclass(frozen=True)
class Criterion:
    """The preset's solved criterion, which the peer is held to (the run's config fields).

    Attributes:
        stop_reward: Solved when a greedy mean return reaches it (None: the preset has none).
        eval_episodes: Greedy episodes per check.
        final_eval_episodes: Episodes of the confirming evaluation (0: none).
        eval_interval_env_steps: A check at the first round boundary at or after each multiple.
        max_env_steps: The budget, in env steps.
        eval_trigger_fraction: Checks wait until the training mean of the latest
            ``return_window_episodes`` episodes reaches this fraction of a positive
            ``stop_reward`` (0: no gate).
        return_window_episodes: See ``eval_trigger_fraction``.
    """

    stop_reward: float | None
    eval_episodes: int
    final_eval_episodes: int
    eval_interval_env_steps: int
    max_env_steps: int
    eval_trigger_fraction: float
    return_window_episodes: int

    @property
    def gate(self) -> tuple[int, float] | None:
        """:func:`_sb3_common.solve_check`'s gate: rlactors gates only a positive target."""
        if self.stop_reward is None or self.stop_reward <= 0 or self.eval_trigger_fraction <= 0:
            return None
        return self.return_window_episodes, self.eval_trigger_fraction * self.stop_reward


def preset_criterion(algorithm: str, env_id: str) -> Criterion:
    """The criterion of ``rlactors train ALGO --env ENV``: the defaults with the preset's fields
    (``rlactors.cli.presets.merge_config``, as the CLI merges them)."""
    config_class = get_algorithm(algorithm).config_class()
    merged = merge_config(algorithm, config_class, {"env": env_id})
    config = config_class(**merged.values)
    return Criterion(**{f.name: getattr(config, f.name) for f in dataclasses.fields(Criterion)})


def peer_of(algorithm: str) -> tuple[str, str] | None:
    """``(SB3 class name, label)``, e.g. ``("DQN", "sb3 DQN (closest to apex)")``; None if
    SB3 has nothing close."""
    sb3_algorithm = PEERS.get(algorithm)
    if sb3_algorithm is None:
        return None
    same = sb3_algorithm.lower() == algorithm
    return sb3_algorithm, f"sb3 {sb3_algorithm}" + ("" if same else f" (closest to {algorithm})")


def zoo_entry(sb3_algorithm: str, env_id: str) -> tuple[dict[str, Any], str]:
    """``(hyperparameters, where they come from)``: RL Zoo's entry, else none (SB3's defaults)."""
    entry = RL_ZOO.get((sb3_algorithm, env_id))
    zoo_file = f"hyperparams/{sb3_algorithm.lower()}.yml"
    if entry is None:
        return {}, f"SB3's defaults (RL Zoo's {zoo_file} has no {env_id})"
    return dict(entry), f"RL Zoo's {zoo_file}, {env_id}"


def schedule(value: Any) -> Any:
    """RL Zoo's ``lin_X`` as SB3's schedule (linear from X to 0 over ``learn``'s budget); any
    other value as it is."""
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return linear(float(value[len("lin_") :]))
        except ValueError:
            raise ValueError(f"RL Zoo schedule {value!r}: expected lin_<number>") from None
    return value


def sb3_arguments(entry: dict[str, Any], budget: int) -> dict[str, Any]:
    """The SB3 algorithm's keyword arguments for an RL Zoo entry trained for ``budget`` steps.

    ``lin_X`` schedules decay over ``budget`` (SB3 counts progress over ``learn``'s
    ``total_timesteps``). DQN's ``exploration_fraction`` is rescaled so that epsilon decays
    over as many env steps as in RL Zoo's ``n_timesteps``-step run (it is a fraction of
    ``total_timesteps`` too, and the budget is longer than RL Zoo's run).
    """
    arguments = {k: schedule(v) for k, v in entry.items() if k not in ZOO_ONLY_KEYS}
    if "exploration_fraction" in arguments and "n_timesteps" in entry:
        steps = arguments["exploration_fraction"] * entry["n_timesteps"]
        arguments["exploration_fraction"] = min(1.0, steps / budget)
    return arguments


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Seeds, seeds solved, and the median wall time and env steps of those that solved."""
    solved = [r for r in runs if r["solved"]]
    return {
        "seeds": len(runs),
        "solved": len(solved),
        "median_wall_s_solved": statistics.median(r["wall_s"] for r in solved) if solved else None,
        "median_env_steps_solved": (
            statistics.median(r["env_steps"] for r in solved) if solved else None
        ),
    }


def ratio_both_solved(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: str
) -> float | None:
    """Median ``key`` of ours / of theirs, over the seeds both solved (None if there are none)."""
    solved = {r["seed"]: r for r in theirs if r["solved"]}
    pairs = [(r[key], solved[r["seed"]][key]) for r in ours if r["solved"] and r["seed"] in solved]
    if not pairs:
        return None
    denominator = statistics.median(b for _, b in pairs)
    return round(statistics.median(a for a, _ in pairs) / denominator, 3) if denominator else None


# -- rlactors: the CLI in a fresh process ----------------------------------------------------------


def run_seed(algorithm: str, env_id: str, seed: int, run_dir: Path) -> dict[str, Any]:
    """Train one seed in a fresh process; its figures, read from the run's ``metrics.jsonl``."""
    command = [
        sys.executable,
        "-m",
        "rlactors.cli.main",
        "train",
        algorithm,
        "--env",
        env_id,
        "--seed",
        str(seed),
        "--run-dir",
        str(run_dir),
        "--overwrite",  # a rerun into the same --keep-runs directory replaces the last one
        "--quiet",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - started
    first_line = (done.stdout.splitlines() or [""])[0]
    metrics = run_dir / "metrics.jsonl"
    # A run refused before it started (exit 2: a bad preset, a missing Box2D) wrote none.
    lines = metrics.read_text().splitlines() if metrics.is_file() else []
    rows = [json.loads(line) for line in lines]
    evaluated = [row for row in rows if row.get("eval_return_mean") is not None]
    confirmed = [row for row in rows if row.get("final_eval_return_mean") is not None]
    last = rows[-1] if rows else {}
    return {
        "seed": seed,
        "exit_status": done.returncode,
        "solved": done.returncode == 0 and bool(last.get("solved")),
        "greedy_return": evaluated[-1]["eval_return_mean"] if evaluated else None,
        "confirmed_return": confirmed[-1]["final_eval_return_mean"] if confirmed else None,
        "confirmed_episodes": confirmed[-1]["final_eval_episodes"] if confirmed else None,
        "env_steps": last.get("env_steps"),
        "wall_s": round(wall_s, 1),
        "first_line": first_line,
        "stderr_tail": done.stderr.strip().splitlines()[-1:] if done.returncode else [],
    }


# -- the peer: SB3 in a fresh process (this script with --sb3-child) -------------------------------


def run_peer_seed(algorithm: str, env_id: str, seed: int) -> dict[str, Any]:
    """Train SB3 on one seed in a fresh process; its figures, from the child's result line."""
    command = [sys.executable, os.path.abspath(__file__), algorithm, env_id]
    command += ["--sb3-child", str(seed)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=CHILD_TIMEOUT_S
        )
        stdout, stderr, status = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        stdout, stderr, status = str(exc.stdout or ""), f"killed after {CHILD_TIMEOUT_S} s", -9
    wall_s = time.perf_counter() - started
    results = [line for line in stdout.splitlines() if line.startswith(RESULT_TAG)]
    run = json.loads(results[-1][len(RESULT_TAG) :]) if results else {}
    return {
        "seed": seed,
        "exit_status": status,
        "solved": status == 0 and bool(run.get("solved")),
        "greedy_return": run.get("greedy_return"),
        "confirmed_return": run.get("confirmed_return"),
        "confirmed_episodes": run.get("confirmed_episodes"),
        "env_steps": run.get("env_steps"),
        "wall_s": round(wall_s, 1),
        "evaluations": run.get("evaluations", []),
        "stderr_tail": stderr.strip().splitlines()[-1:] if status else [],
    }


def sb3_child(algorithm: str, env_id: str, seed: int) -> None:
    """Train SB3 until solved (by the preset's criterion) or out of budget; print the result."""
    criterion = preset_criterion(algorithm, env_id)
    peer = peer_of(algorithm)
    assert peer is not None and criterion.stop_reward is not None  # the parent checked both
    import stable_baselines3
    import torch
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)  # every learner on one thread, as rlactors'
    entry, _ = zoo_entry(peer[0], env_id)
    venv = make_vec_env(env_id, n_envs=entry.get("n_envs", 1), seed=seed)
    if entry.get("normalize"):
        # RL Zoo's normalize: true, with the entry's gamma for the reward statistics.
        venv = VecNormalize(venv, gamma=entry.get("gamma", 0.99))
    callback = solve_check(
        seed,
        criterion.eval_interval_env_steps,
        env_id=env_id,
        eval_episodes=criterion.eval_episodes,
        stop_reward=criterion.stop_reward,
        gate=criterion.gate,
        final_eval_episodes=criterion.final_eval_episodes,
    )
    algorithm_class: Callable[..., Any] = getattr(stable_baselines3, peer[0])
    model = algorithm_class(
        "MlpPolicy",
        venv,
        seed=seed,
        device="cpu",
        verbose=0,
        **sb3_arguments(entry, criterion.max_env_steps),
    )
    model.learn(total_timesteps=criterion.max_env_steps, callback=callback)
    confirmed = callback.last_confirmed is not None
    run = {
        "solved": callback.solved_at is not None,
        "greedy_return": callback.last_eval,
        "confirmed_return": callback.last_confirmed,
        "confirmed_episodes": criterion.final_eval_episodes if confirmed else None,
        "env_steps": model.num_timesteps if callback.solved_at is None else callback.solved_at,
        "evaluations": callback.evaluations,
    }
    print(RESULT_TAG + json.dumps(run), flush=True)


# -- the parent ------------------------------------------------------------------------------------


def seed_line(system: str, result: dict[str, Any]) -> str:
    """One seed's figures, one line."""
    greedy, confirmed = result["greedy_return"], result["confirmed_return"]
    return (
        f"{system} seed {result['seed']}: {'solved' if result['solved'] else 'NOT solved'}, "
        f"greedy return {'-' if greedy is None else format(greedy, '.1f')} (confirmed: "
        f"{'-' if confirmed is None else format(confirmed, '.1f')} over "
        f"{result['confirmed_episodes'] or '-'} episodes), {result['env_steps']} env steps, "
        f"{result['wall_s']:.1f} s wall (exit {result['exit_status']})"
    )


def sb3_version_or_note(
    algorithm: str, criterion: Criterion, no_peer: bool
) -> tuple[str | None, str]:
    """SB3's version if the peer runs (else None), and the line that says why or why not."""
    peer = peer_of(algorithm)
    if no_peer:
        return None, "peer: skipped (--no-peer)"
    if peer is None:
        return None, f"peer: none (SB3 has nothing close to {algorithm})"
    if criterion.stop_reward is None:
        return None, "peer: not run (the preset has no stop_reward to hold it to)"
    try:
        import stable_baselines3
    except ImportError:
        return None, "peer: stable-baselines3 is not installed: measuring rlactors only"
    return stable_baselines3.__version__, f"peer: {peer[1]}, SB3 {stable_baselines3.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("algorithm")
    parser.add_argument("env_id")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds (default: 3)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--keep-runs", type=Path, default=None, help="write the runs here")
    parser.add_argument("--no-peer", action="store_true", help="skip Stable-Baselines3")
    parser.add_argument("--sb3-child", type=int, metavar="SEED", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_child is not None:
        sb3_child(args.algorithm, args.env_id, args.sb3_child)
        return
    criterion = preset_criterion(args.algorithm, args.env_id)
    sb3_version, note = sb3_version_or_note(args.algorithm, criterion, args.no_peer)
    peer = peer_of(args.algorithm) if sb3_version is not None else None
    entry, source = zoo_entry(peer[0], args.env_id) if peer is not None else ({}, "")
    print(note + (f"; hyperparameters: {source}: {entry}" if peer is not None else ""), flush=True)
    root = args.keep_runs or Path(tempfile.mkdtemp(prefix="rlactors-presets-"))
    results: list[dict[str, Any]] = []
    peer_results: list[dict[str, Any]] = []
    for i, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds)):
        systems = ["rlactors"] + (["sb3"] if peer is not None else [])
        # Alternate who goes first, so slow phases of a shared machine hit both.
        for system in systems if i % 2 == 0 else systems[::-1]:
            if system == "rlactors":
                run_dir = root / f"{args.algorithm}-{args.env_id}-seed{seed}"
                result = run_seed(args.algorithm, args.env_id, seed, run_dir)
                results.append(result)
                if seed == args.first_seed:
                    print(result["first_line"], flush=True)
                print(seed_line("rlactors", result), flush=True)
            else:
                assert peer is not None
                peer_results.append(run_peer_seed(args.algorithm, args.env_id, seed))
                print(seed_line(peer[1], peer_results[-1]), flush=True)
    summary_json: dict[str, Any] = {
        "algorithm": args.algorithm,
        "env": args.env_id,
        **summary(results),
        "cpus": os.cpu_count(),
        "runs": results,
        "criterion": dataclasses.asdict(criterion),
        "peer": None,
        "peer_note": note,
        "ratio_median_wall_s": None,
        "ratio_median_env_steps": None,
    }
    if peer is not None:
        summary_json["peer"] = {
            "name": peer[1],
            "algorithm": peer[0],
            "version": sb3_version,
            "hyperparameters": entry,
            "hyperparameters_source": source,
            # What SB3 was given: the lin_ schedules over the budget, exploration rescaled.
            "sb3_arguments": {
                k: entry[k] if callable(v) else v
                for k, v in sb3_arguments(entry, criterion.max_env_steps).items()
            },
            "torch_threads": 1,
            **summary(peer_results),
            "runs": peer_results,
        }
        summary_json["ratio_median_wall_s"] = ratio_both_solved(results, peer_results, "wall_s")
        summary_json["ratio_median_env_steps"] = ratio_both_solved(
            results, peer_results, "env_steps"
        )
    print(json.dumps(summary_json))


if __name__ == "__main__":
    main()
